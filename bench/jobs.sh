#!/usr/bin/env bash
# Job engine benchmark: no-op jobs per second (one transaction per step, and batched) and
# dispatch lateness (100 due per second; a burst of 10,000 due in one second) on SQLite,
# PostgreSQL and Redis, side by side in the same run with graphile-worker (same PostgreSQL) and
# BullMQ (same Redis). Each figure is a median (min – max) over RUNS runs; ratios against a
# peer are taken run by run.
#
#   bench/jobs.sh                     # RUNS=3, every backend, with the peers
#   RUNS=5 BACKENDS=sqlite,redis bench/jobs.sh
#   PEERS=0 bench/jobs.sh             # Nanopost only (no Node needed beyond `node` itself)
#   NANOPOST_BENCH_FIGURES=lateness bench/jobs.sh   # only some figures (throughput = step + batched | lateness)
#
# Runs are interleaved (the machine is shared and noisy): run 1 = this machine's reference
# points, SQLite, PostgreSQL, graphile-worker, Redis, BullMQ; run 2 the same with each peer
# before its backend; and so on. The reference points (bench/peers/machine.sh: PERFORMANCE.md's
# first table measured again: SQLite commits and a minimal SQLite queue in Python, a SKIP LOCKED
# queue in pgbench, redis-benchmark) turn the absolute targets into ratios taken in the same
# run; MACHINE=0 skips them.
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust; NANOPOST_TEST_PG_URL overrides)
# and Redis on 127.0.0.1:6379 (NANOPOST_TEST_REDIS_URL overrides). Each figure uses a fresh
# database / key prefix and removes it afterwards. Ours is crates/jobs/examples/bench.rs (built
# only with the `bench` feature); the peers are bench/peers/{graphile,bullmq}.mjs (Node >= 20;
# `npm ci` installs their pinned versions on first use, the only network access).
# Prints markdown and writes it to bench/results/jobs.md, with the raw figures (one JSON line per
# implementation and run) at the end. The "What this shows" paragraph is written by hand.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUNS=${RUNS:-3}
BACKENDS=${BACKENDS:-sqlite,postgres,redis}
PEERS=${PEERS:-1}
export RUNS

echo "building the benchmark (cargo build --release -p nanopost-jobs --features bench --example bench)" >&2
cargo build --release -q -p nanopost-jobs --features bench --example bench
if [[ $PEERS != 0 && ! -d bench/peers/node_modules ]]; then
    echo "installing the peers (npm ci in bench/peers)" >&2
    (cd bench/peers && npm ci --no-audit --no-fund --loglevel=error >&2)
fi

mkdir -p bench/results
raw=$(mktemp "${TMPDIR:-/tmp}/nanopost-bench-jobs.XXXXXX.jsonl")
trap 'rm -f "$raw" bench/results/jobs.md.new' EXIT

ours() { # backend
    echo "  nanopost $1" >&2
    NANOPOST_BENCH_JSON=1 ./target/release/examples/bench 1 "$1" >>"$raw" || echo "  nanopost $1 failed" >&2
}
peer() { # script
    [[ $PEERS != 0 ]] || return 0
    echo "  ${1%.mjs}" >&2
    node "bench/peers/$1" >>"$raw" || echo "  ${1%.mjs} failed" >&2
}
with_peer() { # backend peer-script run
    if (($3 % 2 == 1)); then ours "$1"; peer "$2"; else peer "$2"; ours "$1"; fi
}

machine() { # this machine's reference points (PERFORMANCE.md's first table), once per run
    [[ ${MACHINE:-1} != 0 ]] || return 0
    echo "  machine reference" >&2
    bash bench/peers/machine.sh >>"$raw" || echo "  machine reference failed" >&2
}

started=$(date -u '+%Y-%m-%d %H:%M UTC')
for ((run = 1; run <= RUNS; run++)); do
    echo "run $run of $RUNS" >&2
    machine
    for b in ${BACKENDS//,/ }; do
        case $b in
            postgres) with_peer postgres graphile.mjs "$run" ;;
            redis) with_peer redis bullmq.mjs "$run" ;;
            *) ours "$b" ;;
        esac
    done
done

peer_version() { node -p "require('./bench/peers/node_modules/$1/package.json').version" 2>/dev/null || echo '?'; }
command="RUNS=$RUNS BACKENDS=$BACKENDS bench/jobs.sh"
if [[ $PEERS == 0 ]]; then command="PEERS=0 $command"; fi
if [[ ${NANOPOST_BENCH_FIGURES:-} ]]; then command="NANOPOST_BENCH_FIGURES=$NANOPOST_BENCH_FIGURES $command"; fi
peers_line=""
if [[ $PEERS != 0 ]]; then
    peers_line=", graphile-worker $(peer_version graphile-worker), BullMQ $(peer_version bullmq) (ioredis $(peer_version ioredis), pg $(peer_version pg))"
fi
{
    echo "# Job engine benchmark"
    echo
    echo "Command: \`$command\` (started $started, finished $(date -u '+%H:%M UTC'))."
    echo
    echo "Machine: $(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $(free -g | awk '/^Mem:/ {print $2}') GiB, $(uname -sr); shared with other work, load average at the end $(cut -d' ' -f1-3 /proc/loadavg)."
    echo "PostgreSQL $(psql -h 127.0.0.1 -U postgres -w -Atqc 'show server_version' 2>/dev/null || echo '?') (fsync $(psql -h 127.0.0.1 -U postgres -w -Atqc 'show fsync' 2>/dev/null || echo '?')), Redis $(redis-cli info server 2>/dev/null | tr -d '\r' | sed -n 's/^redis_version://p') (hz $(redis-cli config get hz 2>/dev/null | sed -n 2p)), Node $(node --version)$peers_line."
    echo
    node bench/peers/report.mjs "$raw"
    echo
    cat <<'EOF'
Workload, the same for every implementation: throughput = 20,000 pre-enqueued no-op jobs, timed
from starting the workers until every job is recorded as completed. Lateness = handler start
minus due time (wall clock, sub-millisecond), for 1,000 jobs due 10 ms apart (100/s) and for
10,000 due within one second, all enqueued ahead; p50 / p99 / p99.9 / max per run.
Peer configurations: graphile-worker "defaults" is the reference of PERFORMANCE.md (concurrency
24, one job per fetch, one completion per query, future jobs found by a 2 s poll); "LocalQueue"
rows use its own batching (jobs fetched N at a time, completions batched with
completeJobBatchDelay 0); "pollInterval 10 ms" is its lateness tuned as far as is sensible.
BullMQ: one Worker, concurrency 50 (the reference) and 100 (as many jobs in flight as our
batched runtime; open-source BullMQ has no batched fetch or completion, its worker already
fetches the next job in the script call that completes the last); removeOnComplete: true.
This machine's reference points: PERFORMANCE.md's first table measured again in every run
(bench/peers/machine.sh): single-row SQLite commits and a minimal SQLite queue (integer ids,
one partial index, insert / claim / complete each its own transaction) in Python's sqlite3; a
SKIP LOCKED queue in pgbench (claim by UPDATE, complete by DELETE; 16 clients one job per
statement, 4 clients 50 per statement); redis-benchmark SET/GET with 50 clients. A "scaled
target" is the absolute target times (this run's reference ÷ PERFORMANCE.md's reference).
Sources: bench/peers/{graphile,bullmq}.mjs, bench/peers/machine.sh, crates/jobs/examples/bench.rs.
EOF
    echo
    echo "<details><summary>Raw figures (one JSON line per implementation and run, in run order)</summary>"
    echo
    echo '```'
    cat "$raw"
    echo '```'
    echo
    echo "</details>"
} | tee bench/results/jobs.md.new
mv bench/results/jobs.md.new bench/results/jobs.md
