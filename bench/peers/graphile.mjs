// graphile-worker on the same PostgreSQL as Nanopost's queue, same workloads as
// crates/jobs/examples/bench.rs. One run of every figure; prints one JSON line.
//
//   node bench/peers/graphile.mjs
//
// NANOPOST_TEST_PG_URL: the server (default postgres://postgres@127.0.0.1:5432/postgres). Each
// figure uses a fresh database, dropped afterwards. NANOPOST_BENCH_FIGURES limits the figures.
//
// Configurations (the choice is documented in bench/results/jobs.md):
// - "step": concurrency 24, everything else default (one job fetched per query, one
//   completion per query) -- the reference configuration of PERFORMANCE.md;
// - "batched": graphile-worker's own batching (LocalQueue fetching 100 jobs per query, like
//   our batched runtime's claims of 100; completions batched with completeJobBatchDelay 0),
//   concurrency 24; "batched_large": the same with LocalQueue 1000 (faster still here);
// - lateness: the reference configuration (pollInterval 2000 ms, the default: jobs due in
//   the future are found by polling), and "tuned" with pollInterval 10 ms.
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import pg from "pg";
import { Logger, run, runMigrations } from "graphile-worker";
import {
  BURST_JOBS, STEADY_JOBS, STEADY_SPACING_MS, THROUGHPUT_JOBS,
  dueTimes, latenessFigures, report, sleep, until, wall, wanted,
} from "./common.mjs";

const version = createRequire(import.meta.url)("graphile-worker/package.json").version;
const ADMIN = process.env.NANOPOST_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const CONCURRENCY = 24;
/** LocalQueue sizes: the same batch as our batched runtime (100), and a large one (1000). */
const BATCH = 100;
const LARGE_BATCH = 1000;
const TUNED_POLL_MS = 10;
const silent = new Logger(() => () => {});

const CONFIGS = {
  step: { concurrency: CONCURRENCY },
  batched: {
    concurrency: CONCURRENCY,
    localQueue: { size: BATCH },
    completeJobBatchDelay: 0,
    failJobBatchDelay: 0,
  },
  batched_large: {
    concurrency: CONCURRENCY,
    localQueue: { size: LARGE_BATCH },
    completeJobBatchDelay: 0,
    failJobBatchDelay: 0,
  },
  late: { concurrency: CONCURRENCY },
  late_tuned: { concurrency: CONCURRENCY, pollInterval: TUNED_POLL_MS },
};

/** A fresh database with graphile-worker's schema; `drop()` removes it. */
async function freshDatabase() {
  const name = `gw_bench_${randomUUID().replaceAll("-", "")}`;
  const admin = new pg.Client({ connectionString: ADMIN });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(ADMIN);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.href, max: CONCURRENCY + 2 });
  // `drop database ... with (force)` ends the pool's idle connections; that is expected.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  await runMigrations({ pgPool: pool, logger: silent });
  return {
    pool,
    async drop() {
      await pool.end();
      await admin.query(`drop database ${name} with (force)`);
      await admin.end();
    },
  };
}

/** Starts a worker with `config`; `taskList` maps task names to handlers. */
function startWorker(pool, config, taskList) {
  const { concurrency, ...worker } = config;
  return run({
    pgPool: pool,
    concurrency,
    noHandleSignals: true,
    logger: silent,
    taskList,
    preset: { worker: { concurrentJobs: concurrency, maxPoolSize: concurrency + 2, ...worker } },
  });
}

async function remaining(pool) {
  const { rows } = await pool.query("select count(*)::int as n from graphile_worker._private_jobs");
  return rows[0].n;
}

/** Jobs/s: THROUGHPUT_JOBS pre-enqueued no-op jobs, from worker start until all are completed. */
async function throughput(config) {
  const db = await freshDatabase();
  try {
    await db.pool.query(
      `select count(*) from graphile_worker.add_jobs(array(
         select row('noop', json_build_object('i', i), null, null, null, null, null, null)::graphile_worker.job_spec
         from generate_series(1, $1::int) i))`,
      [THROUGHPUT_JOBS],
    );
    let ran = 0;
    const started = wall();
    const runner = await startWorker(db.pool, config, { noop: async () => { ran += 1; } });
    await until(() => ran, THROUGHPUT_JOBS, 300_000);
    // Completions may still be in flight (or batched): done when the table is empty.
    while ((await remaining(db.pool)) > 0) await sleep(1);
    const elapsed = wall() - started;
    await runner.stop();
    await runner.promise;
    return THROUGHPUT_JOBS / (elapsed / 1000);
  } finally {
    await db.drop();
  }
}

/** Lateness (ms) of `n` jobs due `spacingMs` apart from `leadMs` ahead: handler start − due. */
async function lateness(config, n, spacingMs, leadMs) {
  const db = await freshDatabase();
  try {
    const due = dueTimes(n, leadMs, spacingMs);
    for (let i = 0; i < n; i += 1000) {
      await db.pool.query(
        `select count(*) from graphile_worker.add_jobs(array(
           select row('timed', json_build_object('due', d), null, to_timestamp(d / 1000.0), null, null, null, null)::graphile_worker.job_spec
           from unnest($1::float8[]) d))`,
        [due.slice(i, i + 1000)],
      );
    }
    if (wall() >= due[0]) throw new Error("enqueueing took longer than the lead; raise it");
    const samples = [];
    const runner = await startWorker(db.pool, config, {
      timed: async (payload) => { samples.push(wall() - payload.due); },
    });
    await until(() => samples.length, n, leadMs + n * spacingMs + 60_000);
    await runner.stop();
    await runner.promise;
    return samples;
  } finally {
    await db.drop();
  }
}

const figures = {};
if (wanted("throughput")) {
  figures.jobs_s_step = await throughput(CONFIGS.step);
  figures.jobs_s_batched = await throughput(CONFIGS.batched);
  figures.jobs_s_batched_large = await throughput(CONFIGS.batched_large);
}
if (wanted("lateness")) {
  for (const [suffix, config] of [["", CONFIGS.late], ["_tuned", CONFIGS.late_tuned]]) {
    latenessFigures(figures, `steady${suffix}`, await lateness(config, STEADY_JOBS, STEADY_SPACING_MS, 1000), STEADY_JOBS);
    latenessFigures(figures, `burst${suffix}`, await lateness(config, BURST_JOBS, 1000 / BURST_JOBS, 3000), BURST_JOBS);
  }
}
report("graphile-worker", version, CONFIGS, figures);
process.exit(0);
