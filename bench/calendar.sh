#!/usr/bin/env bash
# Server-side render time of the calendar with a busy month: 10,000 posts in June 2027 of one
# workspace (the first half published, with permalinks and a few failures; the second half
# scheduled), on SQLite and, when reachable, PostgreSQL.
#
#   bench/calendar.sh                  # RUNS=30 renders per page after 3 warm-up renders
#   RUNS=50 POSTS=20000 bench/calendar.sh
#   BACKENDS=sqlite bench/calendar.sh
#
# Each render goes through the whole router in-process (session, the database reads, grouping,
# the template) and is timed until the body is complete; no network in between. Prints a
# markdown table (median, min, max) and writes it to bench/results/calendar.md.
# PostgreSQL: NANOPOST_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres), a
# server where this user may create a database; it is dropped afterwards.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUNS=${RUNS:-30}
POSTS=${POSTS:-10000}
BACKENDS=${BACKENDS:-sqlite,postgres}
PG_ADMIN=${NANOPOST_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}

echo "building the benchmark (cargo build --release -p nanopost-web --features bench --example calendar_bench)" >&2
cargo build --release -q -p nanopost-web --features bench --example calendar_bench
BIN=$PWD/target/release/examples/calendar_bench

work=$(mktemp -d)
pg_db=""
cleanup() {
  rm -rf "$work"
  if [[ -n "$pg_db" ]]; then psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

rows="$work/rows"
: >"$rows"
if [[ ",$BACKENDS," == *",sqlite,"* ]]; then
  echo "SQLite: seeding $POSTS posts and rendering" >&2
  CAL_DB_URL="sqlite://$work/bench.db" RUNS=$RUNS POSTS=$POSTS "$BIN" >>"$rows"
fi
if [[ ",$BACKENDS," == *",postgres,"* ]]; then
  if psql -q "$PG_ADMIN" -c "SELECT 1" >/dev/null 2>&1; then
    pg_db="np_bench_calendar_$$"
    psql -q "$PG_ADMIN" -c "CREATE DATABASE $pg_db" >/dev/null
    pg_url="${PG_ADMIN%/*}/$pg_db"
    echo "PostgreSQL: seeding $POSTS posts and rendering" >&2
    CAL_DB_URL="$pg_url" RUNS=$RUNS POSTS=$POSTS "$BIN" >>"$rows"
  else
    echo "PostgreSQL at $PG_ADMIN is not reachable: skipped" >&2
  fi
fi

{
  echo "# Calendar benchmark"
  echo
  echo "$RUNS renders per page after 3 warm-up renders, $(nproc) CPUs, $(uname -sr), $(date -u '+%Y-%m-%d %H:%M') UTC, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end. Median (min – max), server-side: from the request entering the router to the last byte of the body."
  echo
  echo "| backend | page | posts in the month | median | min | max | HTML |"
  echo "|---|---|---|---|---|---|---|"
  cat "$rows"
  echo
  echo "Target: a month with 10,000 posts renders in ≤ 50 ms server-side."
  echo
  echo "The month view counts every post per day in the database and reads only the first three of each day"
  echo "(with \"+ N more\" linking to the day view); the week view shows twelve a day, the day view all of them"
  echo "(up to 2,000) with a reschedule form each. Command: \`bench/calendar.sh\` (RUNS=$RUNS, POSTS=$POSTS)."
} | tee bench/results/calendar.md
