-- The durable job queue (see crates/storage/src/repo_jobs.rs).
-- A finished job is deleted; ready, running and dead jobs stay. `lane` is the workspace the job
-- works for, or the nil uuid for system work: claims serve lanes in turn (fair sharing).

CREATE TABLE jobs (
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
);
-- At most one job per unique key (de-duplication).
CREATE UNIQUE INDEX jobs_unique_key ON jobs(unique_key) WHERE unique_key IS NOT NULL;
-- The claim order inside a lane.
CREATE INDEX jobs_ready ON jobs(lane, due_at, priority DESC, id) WHERE state = 'ready';
-- Expired leases.
CREATE INDEX jobs_leases ON jobs(lease_until) WHERE state = 'running';
CREATE INDEX jobs_dead ON jobs(updated_at) WHERE state = 'dead';

-- One row per lane: the earliest due time of its ready jobs (a lower bound; NULL when it has
-- none) and its turn (claims serve the lowest turn first).
CREATE TABLE job_lanes (
    lane        BLOB PRIMARY KEY NOT NULL,
    next_due_at INTEGER,
    turn        INTEGER NOT NULL,
    version     INTEGER NOT NULL
);
CREATE INDEX job_lanes_due ON job_lanes(next_due_at) WHERE next_due_at IS NOT NULL;
CREATE INDEX job_lanes_turn ON job_lanes(turn);
