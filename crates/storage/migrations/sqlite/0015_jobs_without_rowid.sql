-- Jobs keyed by their id alone (WITHOUT ROWID). With a rowid, the id's uniqueness was a second
-- b-tree beside the table: every completion (a DELETE) and every claim (an UPDATE found by id)
-- went through both, and each commit wrote one more page to the WAL. Job rows stay small (a
-- payload holds ids, not content: about 100 bytes), which is what WITHOUT ROWID suits.
-- PostgreSQL needs no counterpart: its heap has no rowid b-tree.

CREATE TABLE jobs_by_id (
    id               BLOB PRIMARY KEY NOT NULL,
    lane             BLOB NOT NULL,
    kind             TEXT NOT NULL,
    payload          TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('ready','running','dead')),
    due_at           INTEGER NOT NULL,
    priority         INTEGER NOT NULL,
    attempts         INTEGER NOT NULL,
    max_attempts     INTEGER NOT NULL CHECK (max_attempts >= 1),
    unique_key       TEXT,
    lease_token      BLOB,
    lease_until      INTEGER,
    cancel_requested BOOLEAN NOT NULL,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO jobs_by_id (id, lane, kind, payload, state, due_at, priority, attempts, max_attempts, unique_key,
                        lease_token, lease_until, cancel_requested, last_error, created_at, updated_at)
SELECT id, lane, kind, payload, state, due_at, priority, attempts, max_attempts, unique_key,
       lease_token, lease_until, cancel_requested, last_error, created_at, updated_at
FROM jobs;

DROP TABLE jobs;
ALTER TABLE jobs_by_id RENAME TO jobs;

-- The indexes of 0002, unchanged.
CREATE UNIQUE INDEX jobs_unique_key ON jobs(unique_key) WHERE unique_key IS NOT NULL;
CREATE INDEX jobs_ready ON jobs(lane, due_at, priority DESC, id) WHERE state = 'ready';
CREATE INDEX jobs_leases ON jobs(lease_until) WHERE state = 'running';
CREATE INDEX jobs_dead ON jobs(updated_at) WHERE state = 'dead';
