// Turns the JSON lines of bench/jobs.sh's runs (Nanopost's bench example and the peer scripts)
// into markdown: one row per implementation and figure, median (min – max) over the runs, then
// the targets of PERFORMANCE.md with the ratios taken run by run (ours ÷ peer in the same run).
// No dependencies: runs with plain `node` even when the peers were skipped.
//
//   node bench/peers/report.mjs RUNS.jsonl
import { readFileSync } from "node:fs";

const lines = readFileSync(process.argv[2], "utf8").split("\n").filter((l) => l.trim().startsWith("{"));
const records = lines.map((l) => JSON.parse(l));
const runsWanted = Number(process.env.RUNS ?? 0);

/** Rows in table order: [key, label, figure]; `key` selects the records. */
const SUBJECTS = [
  ["machine", "This machine (PERFORMANCE.md's reference workloads)"],
  ["nanopost:SQLite", "SQLite"],
  ["nanopost:PostgreSQL", "PostgreSQL"],
  ["graphile-worker", "graphile-worker (same PostgreSQL)"],
  ["nanopost:Redis", "Redis"],
  ["bullmq", "BullMQ (same Redis)"],
];
const FIGURES = {
  machine: {
    sqlite_commits_s: "SQLite single-row commits/s, WAL, synchronous=NORMAL (PERFORMANCE.md: 49k to 62k)",
    sqlite_jobs_s_3tx: "SQLite minimal queue, jobs/s: insert, claim, complete in 3 transactions, Python (PERFORMANCE.md: 16k to 18k)",
    pg_jobs_s_1: "PostgreSQL SKIP LOCKED queue, claim + complete one by one, pgbench, jobs/s (PERFORMANCE.md: 2.6k)",
    pg_jobs_s_50: "PostgreSQL SKIP LOCKED queue, 50 per statement, pgbench, jobs/s (PERFORMANCE.md: about 57k)",
    redis_ops_s: "Redis SET/GET ops/s, 50 clients, no pipelining (PERFORMANCE.md: 110k to 125k)",
  },
  nanopost: {
    jobs_s_step: "no-op jobs/s, one transaction per step (claim 1, complete 1, 16 workers)",
    jobs_s_batched: "no-op jobs/s, batched (claims and completions of up to 100, 100 workers)",
  },
  "graphile-worker": {
    jobs_s_step: "no-op jobs/s, concurrency 24, defaults (one job per fetch, one completion per query)",
    jobs_s_batched: "no-op jobs/s, concurrency 24, LocalQueue size 100, completeJobBatchDelay 0",
    jobs_s_batched_large: "no-op jobs/s, concurrency 24, LocalQueue size 1000, completeJobBatchDelay 0",
  },
  bullmq: {
    jobs_s_step: "no-op jobs/s, one Worker, concurrency 50",
    jobs_s_batched: "no-op jobs/s, one Worker, concurrency 100 (open-source BullMQ has no batching)",
  },
};
const LATENESS = [
  ["steady", "lateness ms, 100 due per second (1,000 jobs)"],
  ["burst", "lateness ms, burst of 10,000 due in one second"],
  ["steady_tuned", "lateness ms, 100 due per second, pollInterval 10 ms (default 2,000)"],
  ["burst_tuned", "lateness ms, burst of 10,000, pollInterval 10 ms"],
];
const LATENESS_DEFAULT_NOTE = {
  "graphile-worker": " (concurrency 24, default pollInterval 2,000 ms)",
  bullmq: " (concurrency 50)",
};

const keyOf = (r) => (r.impl === "nanopost" ? `nanopost:${r.backend}` : r.impl);
const recordsOf = (key) => records.filter((r) => keyOf(r) === key);
const values = (key, figure) => recordsOf(key).map((r) => r.figures[figure]).filter((v) => typeof v === "number");

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
function fmt(x, decimals) {
  // Small ratios (ours ÷ a peer's lateness) keep two significant digits instead of rounding to 0.00.
  const d = x !== 0 && Math.abs(x) < 0.1 && decimals > 0 ? Math.max(decimals, 1 - Math.floor(Math.log10(Math.abs(x)))) : decimals;
  return x.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
}
/** "median (min – max)", with "[n runs]" when fewer runs than asked for succeeded. */
function summary(v, decimals) {
  const s = [...v].sort((a, b) => a - b);
  const n = runsWanted && s.length < runsWanted ? ` [${s.length} runs]` : "";
  return `${fmt(median(s), decimals)} (${fmt(s[0], decimals)} – ${fmt(s[s.length - 1], decimals)})${n}`;
}

// --- figures ---------------------------------------------------------------------------------
const out = [];
const runs = Math.max(0, ...SUBJECTS.map(([k]) => recordsOf(k).length));
out.push(`| backend | figure | median (min – max) over ${runs} runs |`, "|---|---|---|");
const versionOf = (key) => recordsOf(key)[0]?.version;
for (const [key, label] of SUBJECTS) {
  if (recordsOf(key).length === 0) continue;
  const impl = key.split(":")[0];
  const name = versionOf(key) ? label.replace(" (", ` ${versionOf(key)} (`) : label;
  for (const [figure, text] of Object.entries(FIGURES[impl])) {
    const v = values(key, figure);
    if (v.length > 0) out.push(`| ${name} | ${text} | ${summary(v, 0)} |`);
  }
  for (const [figure, text] of impl === "machine" ? [] : LATENESS) {
    const cells = ["p50", "p99", "p999", "max"]
      .map((p) => [p, values(key, `late_${figure}_${p}`)])
      .filter(([, v]) => v.length > 0)
      .map(([p, v]) => `${p === "p999" ? "p99.9" : p} ${summary(v, 1)}`);
    const note = figure.endsWith("_tuned") ? "" : (LATENESS_DEFAULT_NOTE[impl] ?? "");
    if (cells.length > 0) out.push(`| ${name} | ${text}${note} | ${cells.join("; ")} |`);
  }
}

// --- targets and ratios ----------------------------------------------------------------------
/** Per-run ratios a ÷ b, pairing the i-th run of each (the runs are interleaved). */
function ratios(aKey, aFigure, bKey, bFigure) {
  const a = recordsOf(aKey);
  const b = recordsOf(bKey);
  const r = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i].figures[aFigure];
    const y = b[i].figures[bFigure];
    if (typeof x === "number" && typeof y === "number" && y > 0) r.push(x / y);
  }
  return r;
}
const verdict = (v, ok) => (v.length === 0 ? "not measured" : ok(median(v)) ? "**met**" : "**not met**");
const rows = [];
function absolute(what, key, figure, target, ok, decimals, unit) {
  const v = values(key, figure);
  if (v.length === 0) return;
  rows.push(`| ${what} | ${target} | ${summary(v, decimals)}${unit} | ${verdict(v, ok)} |`);
}
function ratio(what, a, af, b, bf, target, ok) {
  const v = ratios(a, af, b, bf);
  if (v.length === 0) return;
  rows.push(`| ${what} | ${target} | ${summary(v, 2)}× | ${ok ? verdict(v, ok) : "—"} |`);
}

absolute("SQLite no-op jobs/s, one transaction per step", "nanopost:SQLite", "jobs_s_step", "≥ 15,000", (x) => x >= 15000, 0, "");
absolute("SQLite no-op jobs/s, batched", "nanopost:SQLite", "jobs_s_batched", "≥ 50,000", (x) => x >= 50000, 0, "");
absolute("PostgreSQL no-op jobs/s, batched", "nanopost:PostgreSQL", "jobs_s_batched", "≥ 15,000", (x) => x >= 15000, 0, "");
absolute("Redis no-op jobs/s, batched", "nanopost:Redis", "jobs_s_batched", "≥ 24,000", (x) => x >= 24000, 0, "");
// The absolute targets were set against PERFORMANCE.md's reference points, measured on a
// machine of this kind on another day. The same reference workloads run in every run here
// (bench/peers/machine.sh), so each target is also checked as a ratio: ours ÷ this run's
// reference, against target ÷ PERFORMANCE.md's reference (the middle of its range).
function scaled(what, key, figure, refFigure, target, reference) {
  const want = target / reference;
  ratio(
    `${what} ÷ this machine's ${refFigure} (scaled target)`,
    key,
    figure,
    "machine",
    refFigure,
    `≥ ${fmt(want, 2)}× (${fmt(target, 0)} ÷ ${fmt(reference, 0)})`,
    (x) => x >= want,
  );
}
scaled("SQLite no-op jobs/s, one transaction per step", "nanopost:SQLite", "jobs_s_step", "sqlite_jobs_s_3tx", 15000, 17000);
scaled("SQLite no-op jobs/s, batched", "nanopost:SQLite", "jobs_s_batched", "sqlite_commits_s", 50000, 55500);
scaled("PostgreSQL no-op jobs/s, batched", "nanopost:PostgreSQL", "jobs_s_batched", "pg_jobs_s_50", 15000, 57000);
scaled("Redis no-op jobs/s, batched", "nanopost:Redis", "jobs_s_batched", "redis_ops_s", 24000, 117500);
const gw = "graphile-worker";
ratio("PostgreSQL batched ÷ graphile-worker (concurrency 24, defaults: the reference)", "nanopost:PostgreSQL", "jobs_s_batched", gw, "jobs_s_step", "≥ 5×", (x) => x >= 5);
ratio("PostgreSQL batched ÷ graphile-worker batched (LocalQueue 100)", "nanopost:PostgreSQL", "jobs_s_batched", gw, "jobs_s_batched", "(same batch size)", null);
ratio("PostgreSQL batched ÷ graphile-worker batched (LocalQueue 1000)", "nanopost:PostgreSQL", "jobs_s_batched", gw, "jobs_s_batched_large", "(its best here)", null);
ratio("PostgreSQL one transaction per step ÷ graphile-worker (defaults)", "nanopost:PostgreSQL", "jobs_s_step", gw, "jobs_s_step", "(no target; one job per query each)", null);
ratio("Redis batched ÷ BullMQ (concurrency 50: the reference)", "nanopost:Redis", "jobs_s_batched", "bullmq", "jobs_s_step", "≥ 1.5×", (x) => x >= 1.5);
ratio("Redis batched ÷ BullMQ (concurrency 100)", "nanopost:Redis", "jobs_s_batched", "bullmq", "jobs_s_batched", "(same jobs in flight)", null);
ratio("Redis one transaction per step ÷ BullMQ (concurrency 50)", "nanopost:Redis", "jobs_s_step", "bullmq", "jobs_s_step", "(no target)", null);
for (const b of ["SQLite", "PostgreSQL", "Redis"]) {
  absolute(`${b} lateness p99 at 100/s`, `nanopost:${b}`, "late_steady_p99", "≤ 10 ms", (x) => x <= 10, 1, " ms");
}
absolute("SQLite burst of 10,000: last one started (max lateness)", "nanopost:SQLite", "late_burst_max", "≤ 1,000 ms", (x) => x <= 1000, 1, " ms");
absolute("PostgreSQL burst of 10,000: last one started (max lateness)", "nanopost:PostgreSQL", "late_burst_max", "≤ 2,000 ms", (x) => x <= 2000, 1, " ms");
ratio("PostgreSQL p99 lateness ÷ graphile-worker's (default poll)", "nanopost:PostgreSQL", "late_steady_p99", gw, "late_steady_p99", "(lower is better)", null);
ratio("PostgreSQL p99 lateness ÷ graphile-worker's (pollInterval 10 ms)", "nanopost:PostgreSQL", "late_steady_p99", gw, "late_steady_tuned_p99", "(lower is better)", null);
for (const b of ["Redis", "SQLite"]) {
  ratio(`${b} p99 lateness ÷ BullMQ's`, `nanopost:${b}`, "late_steady_p99", "bullmq", "late_steady_p99", "≤ ¼ (0.25×)", (x) => x <= 0.25);
}
if (rows.length > 0) {
  out.push("", "Targets (PERFORMANCE.md). Ratios are taken run by run (run i of ours ÷ run i of the peer,", "interleaved), then median (min – max) of the ratios; a verdict is on the median.", "");
  out.push("| figure | target | median (min – max) | verdict |", "|---|---|---|---|", ...rows);
}
process.stdout.write(`${out.join("\n")}\n`);
