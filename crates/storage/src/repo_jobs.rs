// The durable job queue, written once and compiled for both databases (included right after
// repo.rs, so it shares its imports, `Db`, `BACKEND` and helpers such as `micros`).
//
// Model (see job_records.rs): `jobs` holds ready, running and dead jobs; a finished job is
// deleted. `job_lanes` has one row per lane (workspace) with the earliest due time of its ready
// jobs (`next_due_at`, a lower bound: it may be early, never late) and its `turn`, the order in
// which claims serve lanes. Every change that makes a job ready lowers `next_due_at` and bumps
// `version`, so a claimer that recomputes `next_due_at` from an older view leaves it alone.
//
// PostgreSQL: claims lock with FOR UPDATE SKIP LOCKED, so any number of processes share the
// queue; an enqueue sends NOTIFY in its own transaction (delivered at commit). SQLite: claims
// run inside BEGIN IMMEDIATE (one writer), and the wake-up is an in-process channel per file;
// single-job claims and completions run on the database's job thread (sqlite_job_thread.rs),
// every other job write on the writer connection, all under one in-process job write lock.

use crate::job_records::{
    Cancelled, Claim, Enqueued, Heartbeat, Job, JobId, JobState, JobWakeups, Lease, NewJob, PG_JOBS_CHANNEL,
    workspace_of_lane,
};

/// Upper bound of one claim or one batched write.
const MAX_JOB_BATCH: u32 = 1000;
/// The error recorded on a job whose worker stopped heartbeating.
const LEASE_EXPIRED_ERROR: &str = "lease expired: the worker stopped (crash or hang) before finishing";


/// One lane of SQLite's claim: up to `$4` due jobs of lane `$LANE` (`$1` lease token, `$2`
/// lease end, `$3` now), then the lane to the back of the line with its next due time
/// recomputed, unless something made jobs ready since its version `$VERSION` was read (then
/// that writer's lower bound stands). See `sqlite_claim_script`.
const CLAIM_LANE_SQLITE: &str = concat!(
    "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_token = $1, lease_until = $2, updated_at = $3 \
     WHERE id IN (SELECT id FROM jobs WHERE lane = $LANE AND state = 'ready' AND due_at <= $3 \
                  ORDER BY due_at, priority DESC, id LIMIT $4) \
     RETURNING ",
    job_cols!(),
    ";\nUPDATE job_lanes SET turn = (SELECT COALESCE(MAX(turn), 0) + 1 FROM job_lanes), \
     next_due_at = CASE WHEN version = $VERSION \
         THEN (SELECT MIN(due_at) FROM jobs WHERE lane = $LANE AND state = 'ready') \
         ELSE next_due_at END \
     WHERE lane = $LANE;\n"
);

/// The lanes a claim serves: the `$2` with due work that waited longest for their turn.
const CLAIM_LANES: &str = "SELECT lane, version FROM job_lanes WHERE next_due_at <= $1 ORDER BY turn, lane LIMIT $2";

/// PostgreSQL's claim, one statement (one round trip, its own transaction): the served lanes
/// (`$4` at most), up to `$4 / lanes` due jobs of each (skipping jobs other claimers hold),
/// then each served lane to the back of the line with its next due time recomputed unless an
/// enqueue changed its version meanwhile. A lane row another transaction holds is skipped,
/// not waited for: waiting made every claim queue behind the previous one's commit (its WAL
/// flush), so claims never shared a flush. Skipping is safe: claiming only removes ready jobs,
/// so the lane's `next_due_at` stays a lower bound; a claimer holding the row moves the lane to
/// the back itself (an enqueue holding it only lowers its due time). Each row carries
/// `lane_pos`, the lane's place in the turn order. `$1` lease token, `$2` lease end, `$3` now.
const CLAIM_POSTGRES: &str = "WITH served AS (SELECT lane, version, row_number() OVER (ORDER BY turn, lane) AS pos \
                     FROM job_lanes WHERE next_due_at <= $3 ORDER BY turn, lane LIMIT $4), \
     picked AS (SELECT p.id FROM served s CROSS JOIN LATERAL \
                  (SELECT id FROM jobs WHERE lane = s.lane AND state = 'ready' AND due_at <= $3 \
                   ORDER BY due_at, priority DESC, id \
                   LIMIT GREATEST(1, $4 / (SELECT COUNT(*) FROM served)) FOR UPDATE SKIP LOCKED) p), \
     claimed AS (UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_token = $1, \
                 lease_until = $2, updated_at = $3 WHERE jobs.id = ANY (ARRAY(SELECT id FROM picked)) \
                 RETURNING jobs.*), \
     locked AS (SELECT l.lane FROM job_lanes l JOIN served s ON s.lane = l.lane FOR UPDATE OF l SKIP LOCKED), \
     bumped AS (UPDATE job_lanes l \
                SET turn = (SELECT COALESCE(MAX(turn), 0) FROM job_lanes) + s.rank, \
                    next_due_at = CASE WHEN l.version = s.version \
                        THEN (SELECT MIN(j.due_at) FROM jobs j WHERE j.lane = l.lane AND j.state = 'ready' \
                              AND j.id NOT IN (SELECT id FROM claimed)) \
                        ELSE l.next_due_at END \
                FROM (SELECT lane, version, row_number() OVER (ORDER BY lane) AS rank FROM served) s \
                WHERE l.lane = s.lane AND l.lane IN (SELECT lane FROM locked)) \
     SELECT c.id, c.lane, c.kind, c.payload, c.state, c.due_at, c.priority, c.attempts, c.max_attempts, \
            c.unique_key, c.lease_token, c.lease_until, c.cancel_requested, c.last_error, c.created_at, \
            s.pos AS lane_pos \
     FROM claimed c JOIN served s ON s.lane = c.lane";

/// SQLite's claim of a single job as one script, one round trip (the runtime's "one job per
/// claim" step): the lane whose turn it is, its first due job, and the lane's bookkeeping, in
/// one transaction. Inside BEGIN IMMEDIATE nothing else writes, so the lane picked in the
/// first statement is the lane of the second, and no version check is needed. The lane row is
/// written only when it must be: moved to the back when another lane is waiting (alone, its
/// place in line does not matter), and its next due time recomputed once it has no due job
/// left (until then the old value is still a valid lower bound). A busy lane claimed job by
/// job thus costs no lane write at all: the lane row and its two indexes were half of every
/// claim's pages. `$1` lease token, `$2` lease end, `$3` now.
const CLAIM_ONE_SQLITE: &str = concat!(
    "BEGIN IMMEDIATE;\n",
    sqlite_claim_one_job!(),
    ";\n",
    sqlite_claim_one_lane!(),
    ";\nCOMMIT;"
);

/// SQLite's claim of `lanes` lanes as one script, so one round trip to the connection's
/// thread: BEGIN IMMEDIATE, each lane's claim and bookkeeping (in lane id order), COMMIT.
/// `$4` jobs per lane; lane i is `$(5 + 2i)`, its version `$(6 + 2i)`.
fn sqlite_claim_script(lanes: usize) -> String {
    let mut s = String::with_capacity(20 + lanes * CLAIM_LANE_SQLITE.len());
    s.push_str("BEGIN IMMEDIATE;\n");
    for i in 0..lanes {
        s.push_str(
            &CLAIM_LANE_SQLITE
                .replace("$LANE", &format!("${}", 5 + 2 * i))
                .replace("$VERSION", &format!("${}", 6 + 2 * i)),
        );
    }
    s.push_str("COMMIT;");
    s
}

/// A pooled connection running a script that opens and closes its own transaction. If the
/// script did not run to its end (an error, or the caller stopped waiting), the connection is
/// closed instead of going back to the pool, so that SQLite rolls back what it left open.
struct ScriptConn {
    conn: sqlx::pool::PoolConnection<Db>,
    finished: bool,
}

impl Drop for ScriptConn {
    fn drop(&mut self) {
        if !self.finished {
            self.conn.close_on_drop();
        }
    }
}

/// What differs between the databases beyond SQL text.
trait JobSql: sqlx::Database {
    /// Runs inside a transaction that made jobs ready.
    async fn announce_in_tx(conn: &mut Self::Connection) -> Result<()>;
    /// Runs after that transaction committed.
    fn announce_after_commit(pool: &sqlx::Pool<Self>);
    async fn wakeups(pool: &sqlx::Pool<Self>) -> Result<JobWakeups>;
    /// Deletes the leased jobs still held; returns how many.
    async fn delete_leased(conn: &mut Self::Connection, leases: &[Lease]) -> Result<u64>;
    /// Held by every job write: the in-process writer queue on SQLite, nothing on PostgreSQL.
    async fn job_write_guard(pool: &sqlx::Pool<Self>) -> Option<tokio::sync::OwnedMutexGuard<()>>;
}

impl JobSql for sqlx::Sqlite {
    async fn announce_in_tx(_conn: &mut Self::Connection) -> Result<()> {
        Ok(())
    }

    fn announce_after_commit(pool: &sqlx::Pool<Self>) {
        let file = pool.connect_options().get_filename().to_string_lossy().into_owned();
        crate::job_records::sqlite_waker(&file).send_modify(|v| *v = v.wrapping_add(1));
    }

    async fn wakeups(pool: &sqlx::Pool<Self>) -> Result<JobWakeups> {
        let file = pool.connect_options().get_filename().to_string_lossy().into_owned();
        Ok(JobWakeups::new(crate::job_records::sqlite_waker(&file).subscribe()))
    }

    async fn delete_leased(conn: &mut Self::Connection, leases: &[Lease]) -> Result<u64> {
        // One statement per claim (its jobs share a token): `id IN ($2, $3, …)`.
        let mut by_token: Vec<(Uuid, Vec<Uuid>)> = Vec::new();
        for l in leases {
            match by_token.iter_mut().find(|(t, _)| *t == l.token) {
                Some((_, ids)) => ids.push(l.job.as_uuid()),
                None => by_token.push((l.token, vec![l.job.as_uuid()])),
            }
        }
        let mut done = 0;
        for (token, ids) in by_token {
            for chunk in ids.chunks(200) {
                let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
                // Only placeholders are spliced in; the values are bound.
                let sql = format!(
                    "DELETE FROM jobs WHERE lease_token = $1 AND state = 'running' AND id IN ({})",
                    placeholders.join(", ")
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(token);
                for id in chunk {
                    q = q.bind(*id);
                }
                done += q.execute(&mut *conn).await?.rows_affected();
            }
        }
        Ok(done)
    }

    async fn job_write_guard(pool: &sqlx::Pool<Self>) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        let file = pool.connect_options().get_filename().to_string_lossy().into_owned();
        Some(crate::job_records::sqlite_write_lock(&file).lock_owned().await)
    }
}

impl JobSql for sqlx::Postgres {
    async fn announce_in_tx(conn: &mut Self::Connection) -> Result<()> {
        // Identical notifications of one transaction are folded into one by PostgreSQL.
        sqlx::query("SELECT pg_notify($1, '')").bind(PG_JOBS_CHANNEL).execute(&mut *conn).await?;
        Ok(())
    }

    fn announce_after_commit(_pool: &sqlx::Pool<Self>) {}

    async fn wakeups(pool: &sqlx::Pool<Self>) -> Result<JobWakeups> {
        let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
        listener.listen(PG_JOBS_CHANNEL).await?;
        let (tx, rx) = tokio::sync::watch::channel(0u64);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tx.closed() => break,
                    got = listener.try_recv() => match got {
                        // `None` means the connection dropped and was re-established: some
                        // notifications may be lost, so wake anyway.
                        Ok(_) => { tx.send_modify(|v| *v = v.wrapping_add(1)); }
                        Err(e) => {
                            tracing::warn!(error = %e, "job notifications unavailable; polling until they return");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    },
                }
            }
        });
        Ok(JobWakeups::new(rx))
    }

    async fn delete_leased(conn: &mut Self::Connection, leases: &[Lease]) -> Result<u64> {
        let ids: Vec<Uuid> = leases.iter().map(|l| l.job.as_uuid()).collect();
        let tokens: Vec<Uuid> = leases.iter().map(|l| l.token).collect();
        let done = sqlx::query(
            "DELETE FROM jobs USING unnest($1::uuid[], $2::uuid[]) AS done(id, token) \
             WHERE jobs.id = done.id AND jobs.lease_token = done.token AND jobs.state = 'running'",
        )
        .bind(ids)
        .bind(tokens)
        .execute(&mut *conn)
        .await?;
        Ok(done.rows_affected())
    }

    async fn job_write_guard(_pool: &sqlx::Pool<Self>) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        None
    }
}

impl Repo {
    // -----------------------------------------------------------------------------------------
    // Jobs: enqueueing.

    pub async fn enqueue_job(&self, job: &NewJob) -> Result<Enqueued> {
        Ok(self.enqueue_jobs(std::slice::from_ref(job)).await?.remove(0))
    }

    /// Enqueues all of `jobs` in one transaction.
    pub async fn enqueue_jobs(&self, jobs: &[NewJob]) -> Result<Vec<Enqueued>> {
        let _writer = <Db as JobSql>::job_write_guard(&self.pool).await;
        let mut out = Vec::with_capacity(jobs.len());
        for chunk in jobs.chunks(MAX_JOB_BATCH as usize) {
            let mut tx = self.begin_write().await?;
            for job in chunk {
                out.push(enqueue_in(&mut tx, job).await?);
            }
            <Db as JobSql>::announce_in_tx(&mut tx).await?;
            tx.commit().await?;
            <Db as JobSql>::announce_after_commit(&self.pool);
        }
        Ok(out)
    }

    /// Saves the post (as [`Repo::save_post`]) and enqueues `job` in the same transaction:
    /// either both happen or neither does.
    pub async fn save_post_and_enqueue(&self, post: &Post, job: &NewJob) -> Result<(Post, Enqueued)> {
        let _writer = <Db as JobSql>::job_write_guard(&self.pool).await;
        let mut tx = self.begin_write().await?;
        let saved = write_post(&mut tx, post).await?;
        let enqueued = enqueue_in(&mut tx, job).await?;
        <Db as JobSql>::announce_in_tx(&mut tx).await?;
        tx.commit().await?;
        <Db as JobSql>::announce_after_commit(&self.pool);
        Ok((saved, enqueued))
    }

    // -----------------------------------------------------------------------------------------
    // Jobs: claiming and finishing.

    /// Leases up to `claim.limit` due jobs, serving lanes in turn (fair sharing) and, inside a
    /// lane, by due time then priority. The result is in that order.
    pub async fn claim_jobs(&self, claim: &Claim) -> Result<Vec<Job>> {
        let limit = claim.limit.clamp(1, MAX_JOB_BATCH);
        let (mut claimed, lanes): (Vec<Job>, Vec<(Uuid, usize)>) = match BACKEND {
            Backend::Sqlite => self.claim_jobs_sqlite(claim, limit).await?,
            Backend::Postgres => {
                let rows = sqlx::query(CLAIM_POSTGRES)
                    .bind(Uuid::new_v4())
                    .bind(micros(claim.lease_until))
                    .bind(micros(claim.now))
                    .bind(i64::from(limit))
                    .fetch_all(&self.writer)
                    .await?;
                let mut jobs = Vec::with_capacity(rows.len());
                let mut lanes = Vec::new();
                for row in &rows {
                    let job = job_from(row)?;
                    let pos: i64 = row.try_get("lane_pos")?;
                    lanes.push((lane_of_job(&job), usize::try_from(pos).unwrap_or(usize::MAX)));
                    jobs.push(job);
                }
                (jobs, lanes)
            }
        };
        let turn_of = |lane: Uuid| lanes.iter().find(|(l, _)| *l == lane).map_or(usize::MAX, |(_, pos)| *pos);
        claimed.sort_by(|a, b| {
            (a.due_at, std::cmp::Reverse(a.priority), turn_of(lane_of_job(a)), a.id).cmp(&(
                b.due_at,
                std::cmp::Reverse(b.priority),
                turn_of(lane_of_job(b)),
                b.id,
            ))
        });
        Ok(claimed)
    }

    /// SQLite's claim: the lanes to serve (a plain read: every job writer of this database
    /// waits on the same in-process lock, and the version check covers anyone else), then one
    /// script that claims and does the lanes' bookkeeping in one transaction. Two round trips
    /// to the connection's thread in all. Returns the jobs and each served lane's place in
    /// the turn order.
    async fn claim_jobs_sqlite(&self, claim: &Claim, limit: u32) -> Result<(Vec<Job>, Vec<(Uuid, usize)>)> {
        if let (1, Some(thread)) = (limit, &self.job_thread) {
            // The thread takes the write lock itself: taking it here would deadlock.
            let job = thread.claim_one(Uuid::new_v4(), claim.lease_until, claim.now).await?;
            return Ok((job.into_iter().collect(), Vec::new()));
        }
        let _writer = <Db as JobSql>::job_write_guard(&self.pool).await;
        let now = micros(claim.now);
        let mut conn = ScriptConn { conn: self.writer.acquire().await?, finished: false };
        if limit == 1 {
            // `fetch_all`: a fetch that stops at the first row would skip the rest of the script.
            let rows = sqlx::query(CLAIM_ONE_SQLITE)
                .bind(Uuid::new_v4())
                .bind(micros(claim.lease_until))
                .bind(now)
                .fetch_all(&mut *conn.conn)
                .await?;
            conn.finished = true;
            return Ok((rows.iter().map(job_from).collect::<Result<Vec<_>>>()?, Vec::new()));
        }
        let lanes: Vec<(Uuid, i64)> =
            sqlx::query_as(CLAIM_LANES).bind(now).bind(i64::from(limit)).fetch_all(&mut *conn.conn).await?;
        if lanes.is_empty() {
            conn.finished = true;
            return Ok((Vec::new(), Vec::new()));
        }
        let per_lane = (limit as usize / lanes.len()).max(1);
        // Lanes are locked in one order (by id), as on PostgreSQL.
        let mut by_id = lanes.clone();
        by_id.sort();
        let script = sqlite_claim_script(by_id.len());
        let mut q = sqlx::query(sqlx::AssertSqlSafe(script))
            .bind(Uuid::new_v4())
            .bind(micros(claim.lease_until))
            .bind(now)
            .bind(per_lane as i64);
        for (lane, version) in &by_id {
            q = q.bind(*lane).bind(*version);
        }
        let rows = q.fetch_all(&mut *conn.conn).await?;
        conn.finished = true;
        let jobs = rows.iter().map(job_from).collect::<Result<Vec<_>>>()?;
        Ok((jobs, lanes.iter().enumerate().map(|(pos, (lane, _))| (*lane, pos)).collect()))
    }

    /// Extends the lease to `until` if it is still held.
    pub async fn heartbeat_job(&self, lease: &Lease, until: Timestamp) -> Result<Heartbeat> {
        let _writer = <Db as JobSql>::job_write_guard(&self.pool).await;
        let cancel: Option<bool> = sqlx::query_scalar(
            "UPDATE jobs SET lease_until = $3 WHERE id = $1 AND lease_token = $2 AND state = 'running' \
             RETURNING cancel_requested",
        )
        .bind(lease.job.as_uuid())
        .bind(lease.token)
        .bind(micros(until))
        .fetch_optional(&self.writer)
        .await?;
        Ok(match cancel {
            None => Heartbeat::Lost,
            Some(true) => Heartbeat::CancelRequested,
            Some(false) => Heartbeat::Extended,
        })
    }

    /// Saves a new payload for a running job (progress between steps). False if the lease is
    /// gone.
    pub async fn checkpoint_job(&self, lease: &Lease, payload: &serde_json::Value) -> Result<bool> {
        let _writer = <Db as JobSql>::job_write_guard(&self.pool).await;
        let done = sqlx::query("UPDATE jobs SET payload = $3 WHERE id = $1 AND lease_token = $2 AND state = 'running'")
            .bind(lease.job.as_uuid())
            .bind(lease.token)
            .bind(Json(payload))
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Finishes the jobs whose leases are still held (they are deleted); returns how many.
    pub async fn complete_jobs(&self, leases: &[Lease]) -> Result<u64> {
        if let ([one], Some(thread)) = (leases, &self.job_thread) {
            // The thread takes the write lock itself: taking it here would deadlock.
            return Ok(u64::from(thread.complete_one(one).await?));
        }
        let _writer = <Db as JobSql>::job_write_guard(&self.pool).await;
        let mut done = 0;
        for chunk in leases.chunks(MAX_JOB_BATCH as usize) {
            done += match (chunk, BACKEND) {
                ([one], _) => sqlx::query(complete_one_job!())
                    .bind(one.job.as_uuid())
                    .bind(one.token)
                    .execute(&self.writer)
                    .await?
                    .rows_affected(),
                (_, Backend::Postgres) => {
                    // One statement: atomic on its own, one round trip.
                    let mut conn = self.writer.acquire().await?;
                    <Db as JobSql>::delete_leased(&mut conn, chunk).await?
                }
                (_, Backend::Sqlite) => self.complete_jobs_sqlite(chunk).await?,
            };
        }
        Ok(done)
    }

    /// SQLite's batched completion as one script (one round trip, one transaction): a DELETE
    /// per claim (its jobs share a token), counted by `total_changes()` before and after.
    /// Lists of ids are padded to a power of two (repeating the last id), so that a few
    /// statement texts serve every batch size.
    async fn complete_jobs_sqlite(&self, leases: &[Lease]) -> Result<u64> {
        let mut by_token: Vec<(Uuid, Vec<Uuid>)> = Vec::new();
        for l in leases {
            match by_token.iter_mut().find(|(t, _)| *t == l.token) {
                Some((_, ids)) => ids.push(l.job.as_uuid()),
                None => by_token.push((l.token, vec![l.job.as_uuid()])),
            }
        }
        let mut script = String::from("BEGIN IMMEDIATE;\nSELECT total_changes();\n");
        let mut values: Vec<Uuid> = Vec::with_capacity(leases.len() * 2);
        for (token, ids) in &by_token {
            for chunk in ids.chunks(256) {
                values.push(*token);
                let token_at = values.len();
                let width = chunk.len().next_power_of_two();
                let mut placeholders = Vec::with_capacity(width);
                for i in 0..width {
                    values.push(chunk[i.min(chunk.len() - 1)]);
                    placeholders.push(format!("${}", values.len()));
                }
                // Only placeholders are spliced in; the values are bound.
                script.push_str(&format!(
                    "DELETE FROM jobs WHERE lease_token = ${token_at} AND state = 'running' AND id IN ({});\n",
                    placeholders.join(", ")
                ));
            }
        }
        script.push_str("SELECT total_changes();\nCOMMIT;");
        let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(script));
        for v in values {
            q = q.bind(v);
        }
        let mut conn = ScriptConn { conn: self.writer.acquire().await?, finished: false };
        let counts = q.fetch_all(&mut *conn.conn).await?;
        conn.finished = true;
        match counts[..] {
            [before, after] => Ok(u64::try_from(after - before).unwrap_or(0)),
            _ => Err(StorageError::Corrupt(format!("completion counted {} times", counts.len()))),
        }
    }

    /// Finishes the job and enqueues its follow-ups atomically (the next step of a pipeline).
    /// `None` if the lease is gone: nothing was written.
    pub async fn complete_job_and_enqueue(&self, lease: &Lease, next: &[NewJob]) -> Result<Option<Vec<Enqueued>>> {
        let _writer = <Db as JobSql>::job_write_guard(&self.pool).await;
        let mut tx = self.begin_write().await?;
        if <Db as JobSql>::delete_leased(&mut tx, std::slice::from_ref(lease)).await? == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        let mut out = Vec::with_capacity(next.len());
        for job in next {
            out.push(enqueue_in(&mut tx, job).await?);
        }
        if !next.is_empty() {
            <Db as JobSql>::announce_in_tx(&mut tx).await?;
        }
        tx.commit().await?;
        if !next.is_empty() {
            <Db as JobSql>::announce_after_commit(&self.pool);
        }
        Ok(Some(out))
    }

    /// Puts the job back, due at `due_at`, with `error` kept. A job whose cancellation was
    /// requested is removed instead. False if the lease is gone.
    pub async fn retry_job(&self, lease: &Lease, due_at: Timestamp, error: &str, now: Timestamp) -> Result<bool> {
        self.unlease(lease, Unlease::Retry { due_at, error }, now).await
    }

    /// Gives up on the job: it stays, dead, with `error`. False if the lease is gone.
    pub async fn dead_letter_job(&self, lease: &Lease, error: &str, now: Timestamp) -> Result<bool> {
        self.unlease(lease, Unlease::Dead { error }, now).await
    }

    /// Hands the job back untouched (a graceful stop): ready again at once, and this attempt
    /// does not count. False if the lease is gone.
    pub async fn release_job(&self, lease: &Lease, now: Timestamp) -> Result<bool> {
        self.unlease(lease, Unlease::Release, now).await
    }

    async fn unlease(&self, lease: &Lease, how: Unlease<'_>, now: Timestamp) -> Result<bool> {
        let _writer = <Db as JobSql>::job_write_guard(&self.pool).await;
        let mut tx = self.begin_write().await?;
        let cancelled = sqlx::query(
            "DELETE FROM jobs WHERE id = $1 AND lease_token = $2 AND state = 'running' AND cancel_requested",
        )
        .bind(lease.job.as_uuid())
        .bind(lease.token)
        .execute(&mut *tx)
        .await?;
        if cancelled.rows_affected() == 1 {
            tx.commit().await?;
            return Ok(true);
        }
        let (state, due, attempts_delta, error): (JobState, Option<i64>, i64, Option<&str>) = match how {
            Unlease::Retry { due_at, error } => (JobState::Ready, Some(micros(due_at)), 0, Some(error)),
            Unlease::Dead { error } => (JobState::Dead, None, 0, Some(error)),
            Unlease::Release => (JobState::Ready, None, 1, None),
        };
        let row: Option<(Uuid, i64)> = sqlx::query_as(
            "UPDATE jobs SET state = $3, due_at = COALESCE($4, due_at), \
             attempts = CASE WHEN attempts >= $5 THEN attempts - $5 ELSE 0 END, \
             last_error = COALESCE($6, last_error), lease_token = NULL, lease_until = NULL, updated_at = $7 \
             WHERE id = $1 AND lease_token = $2 AND state = 'running' RETURNING lane, due_at",
        )
        .bind(lease.job.as_uuid())
        .bind(lease.token)
        .bind(state.as_str())
        .bind(due)
        .bind(attempts_delta)
        .bind(error)
        .bind(micros(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((lane, due_at)) = row else {
            tx.rollback().await?;
            return Ok(false);
        };
        if state == JobState::Ready {
            lane_ready(&mut tx, lane, due_at).await?;
            <Db as JobSql>::announce_in_tx(&mut tx).await?;
        }
        tx.commit().await?;
        if state == JobState::Ready {
            <Db as JobSql>::announce_after_commit(&self.pool);
        }
        Ok(true)
    }

    /// Returns every job whose lease ran out to the queue (or to the dead letters when it used
    /// its last attempt). Returns how many.
    pub async fn reap_expired_jobs(&self, now: Timestamp) -> Result<u64> {
        let _writer = <Db as JobSql>::job_write_guard(&self.pool).await;
        let mut tx = self.begin_write().await?;
        let removed = sqlx::query("DELETE FROM jobs WHERE state = 'running' AND lease_until < $1 AND cancel_requested")
            .bind(micros(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let rows: Vec<(Uuid, String, i64)> = sqlx::query_as(
            "UPDATE jobs SET state = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'ready' END, \
             last_error = $2, lease_token = NULL, lease_until = NULL, updated_at = $1 \
             WHERE state = 'running' AND lease_until < $1 RETURNING lane, state, due_at",
        )
        .bind(micros(now))
        .bind(LEASE_EXPIRED_ERROR)
        .fetch_all(&mut *tx)
        .await?;
        let mut earliest: Vec<(Uuid, i64)> = Vec::new();
        for (lane, state, due) in &rows {
            if state != JobState::Ready.as_str() {
                continue;
            }
            match earliest.iter_mut().find(|(l, _)| l == lane) {
                Some((_, d)) => *d = (*d).min(*due),
                None => earliest.push((*lane, *due)),
            }
        }
        earliest.sort();
        for (lane, due) in &earliest {
            lane_ready(&mut tx, *lane, *due).await?;
        }
        if !earliest.is_empty() {
            <Db as JobSql>::announce_in_tx(&mut tx).await?;
        }
        tx.commit().await?;
        if !earliest.is_empty() {
            <Db as JobSql>::announce_after_commit(&self.pool);
        }
        Ok(removed + rows.len() as u64)
    }

    /// The earliest instant a ready job may be due (a lower bound), if any job is ready.
    pub async fn next_job_due(&self) -> Result<Option<Timestamp>> {
        let next: Option<i64> =
            sqlx::query_scalar("SELECT MIN(next_due_at) FROM job_lanes").fetch_one(&self.pool).await?;
        next.map(timestamp).transpose()
    }

    /// The earliest end of a running job's lease, if any job is running.
    pub async fn next_lease_expiry(&self) -> Result<Option<Timestamp>> {
        let next: Option<i64> = sqlx::query_scalar("SELECT MIN(lease_until) FROM jobs WHERE state = 'running'")
            .fetch_one(&self.pool)
            .await?;
        next.map(timestamp).transpose()
    }

    /// Wake-up hints for a scheduler (LISTEN on PostgreSQL, an in-process channel on SQLite).
    pub async fn job_wakeups(&self) -> Result<JobWakeups> {
        <Db as JobSql>::wakeups(&self.pool).await
    }

    // -----------------------------------------------------------------------------------------
    // Jobs: looking and cancelling.

    pub async fn job(&self, id: JobId) -> Result<Option<Job>> {
        sqlx::query(concat!("SELECT ", job_cols!(), " FROM jobs WHERE id = $1"))
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await?
            .map(|r| job_from(&r))
            .transpose()
    }

    pub async fn job_by_key(&self, key: &str) -> Result<Option<Job>> {
        sqlx::query(concat!("SELECT ", job_cols!(), " FROM jobs WHERE unique_key = $1"))
            .bind(key)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| job_from(&r))
            .transpose()
    }

    /// Dead jobs, the most recently failed first.
    pub async fn dead_jobs(&self, limit: u32) -> Result<Vec<Job>> {
        sqlx::query(concat!(
            "SELECT ",
            job_cols!(),
            " FROM jobs WHERE state = 'dead' ORDER BY updated_at DESC, id LIMIT $1"
        ))
        .bind(i64::from(limit.clamp(1, MAX_JOB_BATCH)))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(job_from)
        .collect()
    }

    /// Gives a dead job a fresh set of attempts, due now. False if it is not dead.
    pub async fn retry_dead_job(&self, id: JobId, now: Timestamp) -> Result<bool> {
        let _writer = <Db as JobSql>::job_write_guard(&self.pool).await;
        let mut tx = self.begin_write().await?;
        let lane: Option<Uuid> = sqlx::query_scalar(
            "UPDATE jobs SET state = 'ready', attempts = 0, due_at = $2, updated_at = $2 \
             WHERE id = $1 AND state = 'dead' RETURNING lane",
        )
        .bind(id.as_uuid())
        .bind(micros(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(lane) = lane else {
            tx.rollback().await?;
            return Ok(false);
        };
        lane_ready(&mut tx, lane, micros(now)).await?;
        <Db as JobSql>::announce_in_tx(&mut tx).await?;
        tx.commit().await?;
        <Db as JobSql>::announce_after_commit(&self.pool);
        Ok(true)
    }

    /// Removes a waiting or dead job; flags a running one (see [`Cancelled`]).
    pub async fn cancel_job(&self, id: JobId) -> Result<Cancelled> {
        let _writer = <Db as JobSql>::job_write_guard(&self.pool).await;
        let mut tx = self.begin_write().await?;
        let removed = sqlx::query("DELETE FROM jobs WHERE id = $1 AND state IN ('ready', 'dead')")
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let outcome = if removed == 1 {
            Cancelled::Removed
        } else {
            let flagged = sqlx::query("UPDATE jobs SET cancel_requested = TRUE WHERE id = $1 AND state = 'running'")
                .bind(id.as_uuid())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if flagged == 1 { Cancelled::Requested } else { Cancelled::NotFound }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    pub async fn cancel_job_by_key(&self, key: &str) -> Result<Cancelled> {
        let id: Option<Uuid> = sqlx::query_scalar("SELECT id FROM jobs WHERE unique_key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        match id {
            Some(id) => self.cancel_job(JobId::from_uuid(id)).await,
            None => Ok(Cancelled::NotFound),
        }
    }
}

enum Unlease<'a> {
    Retry { due_at: Timestamp, error: &'a str },
    Dead { error: &'a str },
    Release,
}

/// Inserts the job unless its unique key is taken, inside the caller's transaction.
async fn enqueue_in(conn: &mut DbConn, job: &NewJob) -> Result<Enqueued> {
    // Twice at most: the holder of the key may disappear between the insert and the lookup.
    for _ in 0..2 {
        let inserted: Option<Uuid> = sqlx::query_scalar(
            "INSERT INTO jobs (id, lane, kind, payload, state, due_at, priority, attempts, max_attempts, \
             unique_key, cancel_requested, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'ready', $5, $6, 0, $7, $8, FALSE, $9, $9) \
             ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL DO NOTHING RETURNING id",
        )
        .bind(job.id.as_uuid())
        .bind(job.lane())
        .bind(job.kind.as_str())
        .bind(Json(&job.payload))
        .bind(micros(job.due_at))
        .bind(job.priority)
        .bind(i64::from(job.max_attempts))
        .bind(job.unique_key.as_deref())
        .bind(micros(job.created_at))
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| write_error(e, "job"))?;
        if inserted.is_some() {
            lane_ready(conn, job.lane(), micros(job.due_at)).await?;
            return Ok(Enqueued::New(job.id));
        }
        let existing: Option<Uuid> = sqlx::query_scalar("SELECT id FROM jobs WHERE unique_key = $1")
            .bind(job.unique_key.as_deref())
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(id) = existing {
            return Ok(Enqueued::Duplicate(JobId::from_uuid(id)));
        }
    }
    Err(StorageError::Conflict("job unique key"))
}

/// A job of `lane` became ready, due at `due` (micros): lower the lane's next due time.
async fn lane_ready(conn: &mut DbConn, lane: Uuid, due: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO job_lanes (lane, next_due_at, turn, version) VALUES ($1, $2, 0, 1) \
         ON CONFLICT (lane) DO UPDATE SET version = job_lanes.version + 1, \
         next_due_at = CASE WHEN job_lanes.next_due_at IS NULL OR job_lanes.next_due_at > excluded.next_due_at \
                       THEN excluded.next_due_at ELSE job_lanes.next_due_at END",
    )
    .bind(lane)
    .bind(due)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn lane_of_job(job: &Job) -> Uuid {
    crate::job_records::lane_of(job.workspace_id)
}

fn job_from(r: &DbRow) -> Result<Job> {
    let Json(payload) = r.try_get::<Json<serde_json::Value>, _>("payload")?;
    let id = JobId::from_uuid(r.try_get("id")?);
    let lease = match (r.try_get::<Option<Uuid>, _>("lease_token")?, ts_opt_col(r, "lease_until")?) {
        (Some(token), Some(until)) => Some(Lease { job: id, token, until }),
        _ => None,
    };
    let count = |col: &str| -> Result<u32> {
        let n: i64 = r.try_get(col)?;
        u32::try_from(n).map_err(|_| StorageError::Corrupt(format!("{col}: {n}")))
    };
    Ok(Job {
        id,
        workspace_id: workspace_of_lane(r.try_get("lane")?),
        kind: r.try_get("kind")?,
        payload,
        state: text_col(r, "state")?,
        due_at: ts_col(r, "due_at")?,
        priority: r.try_get("priority")?,
        attempts: count("attempts")?,
        max_attempts: count("max_attempts")?,
        unique_key: r.try_get("unique_key")?,
        lease,
        cancel_requested: r.try_get("cancel_requested")?,
        last_error: r.try_get("last_error")?,
        created_at: ts_col(r, "created_at")?,
    })
}
