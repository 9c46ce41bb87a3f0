#!/usr/bin/env bash
# Job engine benchmark: no-op jobs per second (one transaction per step, and batched) and
# dispatch lateness (100 due per second; a burst of 10,000 due in one second) on SQLite,
# PostgreSQL and Redis, each figure a median (min – max) over RUNS runs.
#
#   bench/jobs.sh                     # RUNS=3, every backend
#   RUNS=5 BACKENDS=sqlite,redis bench/jobs.sh
#   NANOPOST_BENCH_FIGURES=lateness bench/jobs.sh   # only one kind of figure (throughput | lateness)
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust; NANOPOST_TEST_PG_URL overrides)
# and Redis on 127.0.0.1:6379 (NANOPOST_TEST_REDIS_URL overrides). Each run uses a fresh
# database / key prefix and removes it afterwards. The benchmark itself is
# crates/jobs/examples/bench.rs (built only with the `bench` feature).
# Prints a markdown table and writes it to bench/results/jobs.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUNS=${RUNS:-3}
BACKENDS=${BACKENDS:-sqlite,postgres,redis}
echo "building the benchmark (cargo build --release -p nanopost-jobs --features bench --example bench)" >&2
cargo build --release -q -p nanopost-jobs --features bench --example bench
mkdir -p bench/results
{
    echo "# Job engine benchmark"
    echo
    echo "$RUNS runs each on $(nproc) CPUs, $(uname -sr), $(date -u '+%Y-%m-%d %H:%M UTC')."
    echo "PostgreSQL $(psql -h 127.0.0.1 -U postgres -w -Atqc 'show server_version' 2>/dev/null || echo '?'), Redis $(redis-cli info server 2>/dev/null | tr -d '\r' | sed -n 's/^redis_version://p')."
    echo
    ./target/release/examples/bench "$RUNS" "$BACKENDS"
    echo
    echo "Command: \`RUNS=$RUNS BACKENDS=$BACKENDS bench/jobs.sh\`."
} | tee bench/results/jobs.md
