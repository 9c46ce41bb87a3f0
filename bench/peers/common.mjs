// Shared by graphile.mjs and bullmq.mjs: the workloads of crates/jobs/examples/bench.rs, so the
// peers are measured on exactly the same figures as Nanopost's queue.

/** Jobs run to completion for the throughput figure (pre-enqueued). */
export const THROUGHPUT_JOBS = 20_000;
/** Jobs due 10 ms apart (100 per second) for the steady lateness figure. */
export const STEADY_JOBS = 1_000;
export const STEADY_SPACING_MS = 10;
/** Jobs due within one second for the burst lateness figure. */
export const BURST_JOBS = 10_000;

/** Wall-clock milliseconds with sub-millisecond resolution (Date.now() only has whole ms). */
export const wall = () => performance.timeOrigin + performance.now();

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Which figures to measure: NANOPOST_BENCH_FIGURES, as for the Rust benchmark. */
export function wanted(kind) {
  return (process.env.NANOPOST_BENCH_FIGURES ?? "throughput,lateness").includes(kind);
}

/** Nearest-rank percentile of an ascending array (same rule as bench.rs). */
export function pct(sorted, p) {
  const i = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(Math.max(i, 1), sorted.length) - 1];
}

/** `late_<name>_{p50,p99,p999,max}` of lateness samples in ms, into `figures`. */
export function latenessFigures(figures, name, samples, expected) {
  if (samples.length !== expected) {
    throw new Error(`${name}: ${samples.length} of ${expected} jobs ran`);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  for (const [p, key] of [[50, "p50"], [99, "p99"], [99.9, "p999"], [100, "max"]]) {
    figures[`late_${name}_${key}`] = pct(sorted, p);
  }
}

/** Resolves once `count()` reaches `target`, checking every millisecond; rejects after `limitMs`. */
export async function until(count, target, limitMs) {
  const started = wall();
  while (count() < target) {
    if (wall() - started > limitMs) {
      throw new Error(`only ${count()} of ${target} after ${limitMs} ms`);
    }
    await sleep(1);
  }
}

/** The due times (wall ms) of `n` jobs starting `leadMs` from now, `spacingMs` apart. */
export function dueTimes(n, leadMs, spacingMs) {
  const first = wall() + leadMs;
  return Array.from({ length: n }, (_, i) => first + i * spacingMs);
}

/** Prints the one JSON line of a run. */
export function report(impl, version, config, figures) {
  process.stdout.write(`${JSON.stringify({ impl, version, config, figures })}\n`);
}
