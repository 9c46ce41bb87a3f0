//! The SQLite queue's hot path: claiming one job and completing one job, each its own
//! transaction, on a thread that owns its own connection.
//!
//! Through sqlx every statement is a hand-off to the connection's worker thread and back, and
//! the next writer waits for that round trip before it may send its own: the thread idled
//! between two transactions for about as long as it worked on them. Here callers queue their
//! step and the thread runs whatever is queued back to back (each step still its own
//! `BEGIN IMMEDIATE … COMMIT`), holding the database's job write lock while it does, so job
//! writers through sqlx (enqueues, retries, batches) still take their turn in order.
//! The SQL is the same text the sqlx path runs (the macros below).

use crate::job_records::{Job, JobId, Lease, workspace_of_lane};
use crate::{Result, StorageError};
use jiff::Timestamp;
use rusqlite::{OptionalExtension, TransactionBehavior, named_params};
use std::sync::{Arc, mpsc};
use std::time::Duration;
use uuid::Uuid;

/// The columns of a job, in the order [`job_from_row`] reads them (every job SELECT and
/// RETURNING of both backends uses this list).
macro_rules! job_cols {
    () => {
        "id, lane, kind, payload, state, due_at, priority, attempts, max_attempts, unique_key, lease_token, \
         lease_until, cancel_requested, last_error, created_at"
    };
}

/// Claims the first due job of the lane whose turn it is. `$1` lease token, `$2` lease end,
/// `$3` now.
macro_rules! sqlite_claim_one_job {
    () => {
        concat!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_token = $1, lease_until = $2, \
             updated_at = $3 \
             WHERE id = (SELECT id FROM jobs WHERE state = 'ready' AND due_at <= $3 \
                         AND lane = (SELECT lane FROM job_lanes WHERE next_due_at <= $3 ORDER BY turn, lane LIMIT 1) \
                         ORDER BY due_at, priority DESC, id LIMIT 1) \
             RETURNING ",
            job_cols!()
        )
    };
}

/// The lane's bookkeeping after that claim, in the same transaction: written only when it must
/// be (see `CLAIM_ONE_SQLITE` in repo_jobs.rs). `$3` now.
macro_rules! sqlite_claim_one_lane {
    () => {
        "UPDATE job_lanes SET \
             turn = CASE WHEN EXISTS (SELECT 1 FROM job_lanes o WHERE o.next_due_at <= $3 AND o.lane <> job_lanes.lane) \
                    THEN (SELECT MAX(turn) FROM job_lanes) + 1 ELSE turn END, \
             next_due_at = CASE WHEN EXISTS (SELECT 1 FROM jobs j WHERE j.lane = job_lanes.lane AND j.state = 'ready' \
                                             AND j.due_at <= $3) \
                    THEN next_due_at \
                    ELSE (SELECT MIN(due_at) FROM jobs j WHERE j.lane = job_lanes.lane AND j.state = 'ready') END \
         WHERE lane = (SELECT lane FROM job_lanes WHERE next_due_at <= $3 ORDER BY turn, lane LIMIT 1) \
           AND (EXISTS (SELECT 1 FROM job_lanes o WHERE o.next_due_at <= $3 AND o.lane <> job_lanes.lane) \
                OR NOT EXISTS (SELECT 1 FROM jobs j WHERE j.lane = job_lanes.lane AND j.state = 'ready' \
                               AND j.due_at <= $3))"
    };
}

/// Completes one job if its lease is still held (both backends). `$1` job, `$2` lease token.
macro_rules! complete_one_job {
    () => {
        "DELETE FROM jobs WHERE id = $1 AND lease_token = $2 AND state = 'running'"
    };
}

type Step = Box<dyn FnOnce(&mut rusqlite::Connection) + Send>;

/// Most steps run in one hold of the write lock.
const STEPS_PER_TURN: usize = 64;

/// The thread; it ends when the last handle goes.
#[derive(Debug)]
pub(crate) struct JobThread {
    steps: mpsc::Sender<Step>,
}

impl JobThread {
    /// Opens `path` with the settings of the other connections and starts the thread.
    /// `write_lock` is the database's job write lock (see `sqlite_write_lock`).
    pub(crate) fn start(path: &str, write_lock: Arc<tokio::sync::Mutex<()>>) -> Result<Arc<Self>> {
        let conn = rusqlite::Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
             PRAGMA secure_delete = ON; PRAGMA journal_size_limit = {}; PRAGMA wal_autocheckpoint = {};",
            crate::wal_checkpoints::WAL_SIZE_LIMIT_BYTES,
            crate::wal_checkpoints::WRITER_AUTOCHECKPOINT_PAGES,
        ))?;
        let (steps, queued) = mpsc::channel::<Step>();
        std::thread::Builder::new()
            .name("sqlite-jobs".into())
            .spawn(move || {
                let mut conn = conn;
                // Wait for a step; then, holding the write lock, run it and what queued up
                // meanwhile, up to a turn's worth: the lock is fair, so a job writer waiting
                // for it (an enqueue) goes next instead of waiting out a busy queue.
                while let Ok(first) = queued.recv() {
                    let _writer = write_lock.blocking_lock();
                    first(&mut conn);
                    for next in queued.try_iter().take(STEPS_PER_TURN - 1) {
                        next(&mut conn);
                    }
                }
            })
            .map_err(|e| StorageError::Unavailable(format!("starting the SQLite job thread: {e}")))?;
        Ok(Arc::new(Self { steps }))
    }

    /// Runs `step` on the thread and returns what it returned.
    async fn run<T: Send + 'static>(
        &self,
        step: impl FnOnce(&mut rusqlite::Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        let step: Step = Box::new(move |conn| {
            let _ = done.send(step(conn));
        });
        let gone = || StorageError::Unavailable("the SQLite job thread stopped".into());
        self.steps.send(step).map_err(|_| gone())?;
        result.await.map_err(|_| gone())?
    }

    /// Leases the first due job of the lane whose turn it is, if any (one transaction).
    pub(crate) async fn claim_one(&self, token: Uuid, lease_until: Timestamp, now: Timestamp) -> Result<Option<Job>> {
        let (until, now) = (lease_until.as_microsecond(), now.as_microsecond());
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let job = tx
                .prepare_cached(sqlite_claim_one_job!())
                .and_then(|mut s| {
                    s.query_row(named_params! { "$1": token.as_bytes(), "$2": until, "$3": now }, |r| {
                        Ok(job_from_row(r))
                    })
                    .optional()
                })?
                .transpose()?;
            tx.prepare_cached(sqlite_claim_one_lane!()).and_then(|mut s| s.execute(named_params! { "$3": now }))?;
            tx.commit()?;
            Ok(job)
        })
        .await
    }

    /// Completes the job if `lease` still holds it; true if it did (one transaction).
    pub(crate) async fn complete_one(&self, lease: &Lease) -> Result<bool> {
        let (job, token) = (lease.job.as_uuid(), lease.token);
        self.run(move |conn| {
            let done = conn
                .prepare_cached(complete_one_job!())
                .and_then(|mut s| s.execute(named_params! { "$1": job.as_bytes(), "$2": token.as_bytes() }))?;
            Ok(done == 1)
        })
        .await
    }
}

fn job_from_row(r: &rusqlite::Row<'_>) -> Result<Job> {
    let get = |i: usize| -> Result<rusqlite::types::ValueRef<'_>> { Ok(r.get_ref(i)?) };
    let uuid = |i: usize| -> Result<Uuid> {
        Uuid::from_slice(get(i)?.as_blob().map_err(|e| StorageError::Corrupt(format!("job column {i}: {e}")))?)
            .map_err(|e| StorageError::Corrupt(format!("job column {i}: {e}")))
    };
    let int = |i: usize| -> Result<i64> {
        get(i)?.as_i64().map_err(|e| StorageError::Corrupt(format!("job column {i}: {e}")))
    };
    let text = |i: usize| -> Result<&str> {
        get(i)?.as_str().map_err(|e| StorageError::Corrupt(format!("job column {i}: {e}")))
    };
    let opt_text = |i: usize| -> Result<Option<String>> {
        get(i)?
            .as_str_or_null()
            .map(|s| s.map(str::to_owned))
            .map_err(|e| StorageError::Corrupt(format!("job column {i}: {e}")))
    };
    let instant =
        |us: i64| Timestamp::from_microsecond(us).map_err(|e| StorageError::Corrupt(format!("instant {us}: {e}")));
    let count = |i: usize| -> Result<u32> {
        let n = int(i)?;
        u32::try_from(n).map_err(|_| StorageError::Corrupt(format!("job column {i}: {n}")))
    };
    let id = JobId::from_uuid(uuid(0)?);
    let lease = match (get(10)?.as_blob_or_null().ok().flatten(), get(11)?.as_i64_or_null().ok().flatten()) {
        (Some(token), Some(until)) => Some(Lease {
            job: id,
            token: Uuid::from_slice(token).map_err(|e| StorageError::Corrupt(format!("lease token: {e}")))?,
            until: instant(until)?,
        }),
        _ => None,
    };
    Ok(Job {
        id,
        workspace_id: workspace_of_lane(uuid(1)?),
        kind: text(2)?.to_owned(),
        payload: serde_json::from_str(text(3)?).map_err(|e| StorageError::Corrupt(format!("job payload: {e}")))?,
        state: text(4)?.parse().map_err(|e| StorageError::Corrupt(format!("job state: {e}")))?,
        due_at: instant(int(5)?)?,
        priority: i16::try_from(int(6)?).map_err(|_| StorageError::Corrupt("job priority".into()))?,
        attempts: count(7)?,
        max_attempts: count(8)?,
        unique_key: opt_text(9)?,
        lease,
        cancel_requested: int(12)? != 0,
        last_error: opt_text(13)?,
        created_at: instant(int(14)?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A driver error is a database error, not a claim that the stored data is corrupt.
    #[test]
    fn a_connection_that_cannot_open_is_a_database_error() {
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        let err = JobThread::start("/nonexistent-nanopost-dir/jobs.db", lock).unwrap_err();
        assert!(matches!(err, StorageError::Sqlite(_)), "{err:?}");
        assert!(err.to_string().starts_with("database error: "), "{err}");
    }
}
