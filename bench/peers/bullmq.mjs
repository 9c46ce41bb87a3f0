// BullMQ on the same Redis as Nanopost's queue, same workloads as crates/jobs/examples/bench.rs.
// One run of every figure; prints one JSON line.
//
//   node bench/peers/bullmq.mjs
//
// NANOPOST_TEST_REDIS_URL: the server (default redis://127.0.0.1:6379/). Each figure uses a
// fresh key prefix whose keys are removed afterwards. NANOPOST_BENCH_FIGURES limits the figures.
//
// Configurations (the choice is documented in bench/results/jobs.md):
// - "step": one Worker, concurrency 50 -- the reference configuration of PERFORMANCE.md;
// - "batched": open-source BullMQ has no batched fetch or completion (batches are a BullMQ Pro
//   feature); its worker already fetches the next job in the same script call that completes
//   the previous one. The nearest equivalent of our batched runtime is therefore the same
//   number of jobs in flight as ours (100): one Worker, concurrency 100.
// - lateness: the reference configuration (concurrency 50).
// Every job is added with removeOnComplete: true (like our queue, which deletes finished jobs;
// it is also BullMQ's cheapest setting).
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { Queue, Worker } from "bullmq";
import IORedis from "ioredis";
import {
  BURST_JOBS, STEADY_JOBS, STEADY_SPACING_MS, THROUGHPUT_JOBS,
  dueTimes, latenessFigures, report, until, wall, wanted,
} from "./common.mjs";

const version = createRequire(import.meta.url)("bullmq/package.json").version;
const URL_ = process.env.NANOPOST_TEST_REDIS_URL ?? "redis://127.0.0.1:6379/";
const CONFIGS = {
  step: { concurrency: 50 },
  batched: { concurrency: Number(process.env.BULLMQ_BATCHED_CONCURRENCY ?? 100) },
  late: { concurrency: 50 },
};
const QUEUE = "bench";

function connection() {
  return new IORedis(URL_, { maxRetriesPerRequest: null });
}

/** A queue under a fresh key prefix; `cleanup()` closes everything and removes its keys. */
async function freshQueue() {
  const prefix = `bullmq-bench-${randomUUID()}`;
  const queue = new Queue(QUEUE, { connection: connection(), prefix });
  await queue.waitUntilReady();
  return {
    queue,
    prefix,
    async cleanup() {
      await queue.close();
      const redis = connection();
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
        if (keys.length > 0) await redis.unlink(...keys);
        cursor = next;
      } while (cursor !== "0");
      await redis.quit();
    },
  };
}

/** A ready, not yet running Worker; count its completions with the `completed` event. */
async function makeWorker(prefix, config, processor) {
  const worker = new Worker(QUEUE, processor, {
    connection: connection(),
    prefix,
    autorun: false,
    concurrency: config.concurrency,
  });
  worker.on("error", (e) => process.stderr.write(`bullmq worker: ${e}\n`));
  await worker.waitUntilReady();
  return worker;
}

async function addAll(queue, jobs) {
  for (let i = 0; i < jobs.length; i += 1000) {
    await queue.addBulk(jobs.slice(i, i + 1000));
  }
}

/** Jobs/s: THROUGHPUT_JOBS pre-enqueued no-op jobs, from worker start until all are completed. */
async function throughput(config) {
  const q = await freshQueue();
  try {
    await addAll(
      q.queue,
      Array.from({ length: THROUGHPUT_JOBS }, (_, i) => ({ name: "noop", data: { i }, opts: { removeOnComplete: true } })),
    );
    const worker = await makeWorker(q.prefix, config, async () => {});
    let completed = 0;
    worker.on("completed", () => { completed += 1; });
    const started = wall();
    const running = worker.run();
    await until(() => completed, THROUGHPUT_JOBS, 300_000);
    const elapsed = wall() - started;
    await worker.close();
    await running;
    return THROUGHPUT_JOBS / (elapsed / 1000);
  } finally {
    await q.cleanup();
  }
}

/** Lateness (ms) of `n` delayed jobs due `spacingMs` apart from `leadMs` ahead: handler start − due. */
async function lateness(config, n, spacingMs, leadMs) {
  const q = await freshQueue();
  try {
    // BullMQ's due time is the job's timestamp + delay, in whole milliseconds.
    const timestamp = Date.now();
    const jobs = dueTimes(n, leadMs, spacingMs).map((d) => {
      const delay = Math.round(d - timestamp);
      return { name: "timed", data: { due: timestamp + delay }, opts: { timestamp, delay, removeOnComplete: true } };
    });
    await addAll(q.queue, jobs);
    if (Date.now() >= jobs[0].data.due) throw new Error("enqueueing took longer than the lead; raise it");
    const samples = [];
    const worker = await makeWorker(q.prefix, config, async (job) => { samples.push(wall() - job.data.due); });
    const running = worker.run();
    await until(() => samples.length, n, leadMs + n * spacingMs + 60_000);
    await worker.close();
    await running;
    return samples;
  } finally {
    await q.cleanup();
  }
}

const figures = {};
if (wanted("throughput")) {
  figures.jobs_s_step = await throughput(CONFIGS.step);
  figures.jobs_s_batched = await throughput(CONFIGS.batched);
}
if (wanted("lateness")) {
  latenessFigures(figures, "steady", await lateness(CONFIGS.late, STEADY_JOBS, STEADY_SPACING_MS, 1000), STEADY_JOBS);
  latenessFigures(figures, "burst", await lateness(CONFIGS.late, BURST_JOBS, 1000 / BURST_JOBS, 3000), BURST_JOBS);
}
report("bullmq", version, CONFIGS, figures);
process.exit(0);
