#!/usr/bin/env bash
# The machine's own reference points, measured the way PERFORMANCE.md's first table was, so that
# its absolute targets can be read as ratios taken in the same run (the machines are shared:
# one day's 2 cores are not another's). Prints one JSON line:
#   {"impl":"machine","figures":{...}}
# figures:
#   sqlite_commits_s     single-row INSERT commits/s, WAL, synchronous=NORMAL (Python's sqlite3)
#   sqlite_jobs_s_3tx    jobs/s of a minimal SQLite queue: insert, claim, complete, each its own
#                        transaction, one connection (Python's sqlite3)
#   pg_jobs_s_1          PostgreSQL SKIP LOCKED queue, claim and complete one job per statement,
#                        16 clients (pgbench)
#   pg_jobs_s_50         the same, 50 jobs per statement, 4 clients (pgbench)
#   redis_ops_s          Redis SET and GET, 50 clients, no pipelining (redis-benchmark), the mean
# SQLite files go to TMPDIR (where crates/jobs/examples/bench.rs puts its database too).
# Needs python3, pgbench, psql and redis-benchmark; a figure whose tool is missing is left out.
set -euo pipefail

PG_ADMIN=${NANOPOST_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
REDIS_URL=${NANOPOST_TEST_REDIS_URL:-redis://127.0.0.1:6379/}
work=$(mktemp -d "${TMPDIR:-/tmp}/nanopost-machine.XXXXXX")
db="np_machine_$$"
cleanup() {
    rm -rf "$work"
    psql "$PG_ADMIN" -qAtc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
figures=()

if command -v python3 >/dev/null; then
    sqlite=$(python3 - "$work" <<'EOF'
import os, sqlite3, sys, time

def connect(path):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA synchronous=NORMAL")
    return c

def commits(path, n=30_000):
    c = connect(path)
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    started = time.perf_counter()
    for _ in range(n):
        c.execute("BEGIN IMMEDIATE")
        c.execute("INSERT INTO t (v) VALUES ('x')")
        c.execute("COMMIT")
    return n / (time.perf_counter() - started)

def queue(path, n=20_000):
    c = connect(path)
    c.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY, payload TEXT, state TEXT, due_at INTEGER, lease INTEGER)")
    c.execute("CREATE INDEX jobs_ready ON jobs (due_at) WHERE state = 'ready'")
    started = time.perf_counter()
    for i in range(n):
        c.execute("BEGIN IMMEDIATE")
        c.execute("INSERT INTO jobs (payload, state, due_at) VALUES ('{}', 'ready', ?)", (i,))
        c.execute("COMMIT")
        c.execute("BEGIN IMMEDIATE")
        (job,) = c.execute(
            "UPDATE jobs SET state = 'running', lease = 1 WHERE id = "
            "(SELECT id FROM jobs WHERE state = 'ready' ORDER BY due_at LIMIT 1) RETURNING id"
        ).fetchone()
        c.execute("COMMIT")
        c.execute("BEGIN IMMEDIATE")
        c.execute("DELETE FROM jobs WHERE id = ?", (job,))
        c.execute("COMMIT")
    return n / (time.perf_counter() - started)

work = sys.argv[1]
print(f'"sqlite_commits_s":{commits(work + "/commits.db"):.0f},"sqlite_jobs_s_3tx":{queue(work + "/queue.db"):.0f}')
EOF
    )
    figures+=("$sqlite")
fi

if command -v pgbench >/dev/null && psql "$PG_ADMIN" -qAtc "CREATE DATABASE $db" >/dev/null 2>&1; then
    url="${PG_ADMIN%/*}/$db"
    pg_run() { # jobs-per-statement clients transactions-per-client
        psql "$url" -qAt >/dev/null 2>&1 <<EOF
DROP TABLE IF EXISTS q;
CREATE TABLE q (id bigserial PRIMARY KEY, payload text NOT NULL, state text NOT NULL, lease bigint);
CREATE INDEX q_ready ON q (id) WHERE state = 'ready';
CREATE INDEX q_lease ON q (lease) WHERE state = 'running';
INSERT INTO q (payload, state) SELECT '{}', 'ready' FROM generate_series(1, $(($1 * $2 * $3 + 1000)));
VACUUM ANALYZE q;
EOF
        # A claim leases its jobs with a random token; the completion deletes what it holds.
        cat >"$work/claim.sql" <<EOF
\set token random(1, 1000000000000000)
UPDATE q SET state = 'running', lease = :token
  WHERE id = ANY (ARRAY(SELECT id FROM q WHERE state = 'ready' ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED));
DELETE FROM q WHERE lease = :token AND state = 'running';
EOF
        local tps
        tps=$(pgbench -n -f "$work/claim.sql" -c "$2" -j 2 -t "$3" "$url" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
        # One pgbench transaction = one claim statement and one completion statement.
        [[ -n $tps ]] && awk -v t="$tps" -v n="$1" 'BEGIN { printf "%.0f", t * n }'
    }
    one=$(pg_run 1 16 1000 || true)
    fifty=$(pg_run 50 4 500 || true)
    [[ -n $one ]] && figures+=("\"pg_jobs_s_1\":$one")
    [[ -n $fifty ]] && figures+=("\"pg_jobs_s_50\":$fifty")
fi

if command -v redis-benchmark >/dev/null; then
    hostport=${REDIS_URL#redis://}
    hostport=${hostport%%/*}
    ops=$(redis-benchmark -h "${hostport%:*}" -p "${hostport##*:}" -c 50 -n 200000 -t set,get -q 2>/dev/null |
        tr '\r' '\n' | sed -n 's/^\(SET\|GET\): \([0-9.]*\) requests per second.*/\2/p' |
        awk '{ s += $1; n++ } END { if (n) printf "%.0f", s / n }')
    [[ -n $ops ]] && figures+=("\"redis_ops_s\":$ops")
fi

(IFS=,; echo "{\"impl\":\"machine\",\"figures\":{${figures[*]}}}")
