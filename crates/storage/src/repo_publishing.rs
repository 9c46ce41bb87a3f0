// Publications, included right after `repo.rs` in both backend modules (so it shares their
// `Db`, `BACKEND` and helpers). Its own imports live in a child module.

mod publications {
    use super::*;
    use crate::job_records::{Enqueued, NewJob};
    use crate::publishing_records::Publication;
    use crate::records_accounts::ConnectedAccountId;
    use nanopost_domain::ids::PublicationId;
    use nanopost_domain::network::Network;

    macro_rules! publication_cols {
        () => {
            "id, workspace_id, post_id, approval_id, network, target, account_id, account_name, state, progress, \
             external_id, url, error_class, error, version, created_at, updated_at, finished_at"
        };
    }

    /// Most posts one sweep pass returns.
    const MAX_SWEEP: u32 = 500;

    impl Repo {
        /// Moves the post to publishing and records its publications (those not recorded yet:
        /// a target published earlier keeps its row) and enqueues `jobs`, in one transaction.
        /// The post write is optimistic (`Stale` if someone changed it).
        pub async fn begin_publishing(
            &self,
            post: &Post,
            publications: &[Publication],
            jobs: &[NewJob],
        ) -> Result<(Post, Vec<Enqueued>)> {
            let _writer = <Db as JobSql>::job_write_guard(&self.pool).await;
            let mut tx = self.begin_write().await?;
            let saved = write_post(&mut tx, post).await?;
            for p in publications {
                insert_publication(&mut tx, p).await?;
            }
            let mut enqueued = Vec::with_capacity(jobs.len());
            for job in jobs {
                enqueued.push(enqueue_in(&mut tx, job).await?);
            }
            if !jobs.is_empty() {
                <Db as JobSql>::announce_in_tx(&mut tx).await?;
            }
            tx.commit().await?;
            if !jobs.is_empty() {
                <Db as JobSql>::announce_after_commit(&self.pool);
            }
            Ok((saved, enqueued))
        }

        /// Saves the approved post with its approval record (as [`Repo::save_approved_post`])
        /// and enqueues `jobs` (its publish job, when it has a time) in the same transaction.
        pub async fn save_approved_post_and_enqueue(
            &self,
            post: &Post,
            approval: &Approval,
            jobs: &[NewJob],
        ) -> Result<Post> {
            if approval.post_id != post.id || approval.workspace_id != post.workspace_id {
                return Err(StorageError::Conflict("approval is for another post"));
            }
            let _writer = <Db as JobSql>::job_write_guard(&self.pool).await;
            let mut tx = self.begin_write().await?;
            let saved = write_post(&mut tx, post).await?;
            insert_approval(&mut tx, approval).await?;
            for job in jobs {
                enqueue_in(&mut tx, job).await?;
            }
            if !jobs.is_empty() {
                <Db as JobSql>::announce_in_tx(&mut tx).await?;
            }
            tx.commit().await?;
            if !jobs.is_empty() {
                <Db as JobSql>::announce_after_commit(&self.pool);
            }
            Ok(saved)
        }

        pub async fn publication(&self, ws: WorkspaceId, id: PublicationId) -> Result<Option<Publication>> {
            sqlx::query(concat!(
                "SELECT ",
                publication_cols!(),
                " FROM publications WHERE workspace_id = $1 AND id = $2"
            ))
            .bind(ws.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await?
            .map(|r| publication_from(&r))
            .transpose()
        }

        /// The publications of a post, in the order they were recorded.
        pub async fn publications_of_post(&self, ws: WorkspaceId, post: PostId) -> Result<Vec<Publication>> {
            sqlx::query(concat!(
                "SELECT ",
                publication_cols!(),
                " FROM publications WHERE workspace_id = $1 AND post_id = $2 ORDER BY created_at, network, target"
            ))
            .bind(ws.as_uuid())
            .bind(post.as_uuid())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(publication_from)
            .collect()
        }

        /// Optimistic write of everything that changes over a publication's life: succeeds only
        /// if the stored version is still `p.version` (so two workers never both advance it).
        pub async fn update_publication(&self, p: &Publication) -> Result<Publication> {
            let done = sqlx::query(
                "UPDATE publications SET approval_id = $3, account_id = $4, account_name = $5, state = $6, \
                 progress = $7, external_id = $8, url = $9, error_class = $10, error = $11, updated_at = $12, \
                 finished_at = $13, version = version + 1 \
                 WHERE workspace_id = $1 AND id = $2 AND version = $14",
            )
            .bind(p.workspace_id.as_uuid())
            .bind(p.id.as_uuid())
            .bind(p.approval_id.as_uuid())
            .bind(p.account_id.map(|a| a.as_uuid()))
            .bind(&p.account_name)
            .bind(p.state.as_str())
            .bind(&p.progress)
            .bind(p.external_id.as_deref())
            .bind(p.url.as_deref())
            .bind(p.error_class.as_deref())
            .bind(p.error.as_deref())
            .bind(micros(p.updated_at))
            .bind(p.finished_at.map(micros))
            .bind(p.version)
            .execute(&self.pool)
            .await?;
            if done.rows_affected() == 0 {
                return Err(match self.publication(p.workspace_id, p.id).await? {
                    Some(_) => StorageError::Stale,
                    None => StorageError::NotFound,
                });
            }
            Ok(Publication { version: p.version + 1, ..p.clone() })
        }

        /// Takes one of `cap` publishing slots of the account for `holder` until `until`, if
        /// one is free (expired slots are free). True if taken (or already held).
        pub async fn take_publishing_slot(
            &self,
            account: ConnectedAccountId,
            holder: Uuid,
            cap: u32,
            until: Timestamp,
            now: Timestamp,
        ) -> Result<bool> {
            let mut tx = self.begin_write().await?;
            if BACKEND == Backend::Postgres {
                // Serialised per account for this transaction (SQLite's writes already are).
                sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                    .bind(account.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("DELETE FROM publishing_slots WHERE account_id = $1 AND expires_at <= $2")
                .bind(account.as_uuid())
                .bind(micros(now))
                .execute(&mut *tx)
                .await?;
            let held: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM publishing_slots WHERE account_id = $1 AND holder <> $2",
            )
            .bind(account.as_uuid())
            .bind(holder)
            .fetch_one(&mut *tx)
            .await?;
            if held >= i64::from(cap) {
                tx.rollback().await?;
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO publishing_slots (account_id, holder, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (account_id, holder) DO UPDATE SET expires_at = excluded.expires_at",
            )
            .bind(account.as_uuid())
            .bind(holder)
            .bind(micros(until))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(true)
        }

        pub async fn release_publishing_slot(&self, account: ConnectedAccountId, holder: Uuid) -> Result<()> {
            sqlx::query("DELETE FROM publishing_slots WHERE account_id = $1 AND holder = $2")
                .bind(account.as_uuid())
                .bind(holder)
                .execute(&self.pool)
                .await?;
            Ok(())
        }

        /// Holds the account's publications until `until` (the network asked it to wait).
        /// A pause that already lasts longer is kept.
        pub async fn pause_publishing(&self, account: ConnectedAccountId, until: Timestamp, reason: &str) -> Result<()> {
            sqlx::query(
                "INSERT INTO publishing_pauses (account_id, until_at, reason) VALUES ($1, $2, $3) \
                 ON CONFLICT (account_id) DO UPDATE SET until_at = excluded.until_at, reason = excluded.reason \
                 WHERE excluded.until_at > publishing_pauses.until_at",
            )
            .bind(account.as_uuid())
            .bind(micros(until))
            .bind(reason)
            .execute(&self.pool)
            .await
            .map_err(|e| write_error(e, "connected account"))?;
            Ok(())
        }

        /// Until when, and why, the account's publications are held; none once that has passed.
        pub async fn publishing_pause(
            &self,
            account: ConnectedAccountId,
            now: Timestamp,
        ) -> Result<Option<(Timestamp, String)>> {
            let row: Option<(i64, String)> =
                sqlx::query_as("SELECT until_at, reason FROM publishing_pauses WHERE account_id = $1 AND until_at > $2")
                    .bind(account.as_uuid())
                    .bind(micros(now))
                    .fetch_optional(&self.pool)
                    .await?;
            row.map(|(at, why)| Ok((timestamp(at)?, why))).transpose()
        }

        /// Posts the publishing sweep should look at, across workspaces: scheduled and due by
        /// `now` (their job may be lost), or publishing without a pending publication touched
        /// after `stale` (all are final and the post was not settled, or a job was lost).
        pub async fn posts_for_publishing_sweep(&self, now: Timestamp, stale: Timestamp) -> Result<Vec<Post>> {
            sqlx::query(concat!(
                "SELECT ",
                post_cols!(),
                " FROM posts WHERE (state = 'scheduled' AND due_at <= $1) OR (state = 'publishing' AND NOT EXISTS \
                 (SELECT 1 FROM publications p WHERE p.workspace_id = posts.workspace_id AND p.post_id = posts.id \
                  AND p.state = 'pending' AND p.updated_at > $2)) ORDER BY due_at LIMIT $3"
            ))
            .bind(micros(now))
            .bind(micros(stale))
            .bind(i64::from(MAX_SWEEP))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(post_from)
            .collect()
        }
    }

    async fn insert_publication(conn: &mut DbConn, p: &Publication) -> Result<()> {
        sqlx::query(concat!(
            "INSERT INTO publications (",
            publication_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
             ON CONFLICT (workspace_id, post_id, network, target) DO NOTHING"
        ))
        .bind(p.id.as_uuid())
        .bind(p.workspace_id.as_uuid())
        .bind(p.post_id.as_uuid())
        .bind(p.approval_id.as_uuid())
        .bind(p.network.as_str())
        .bind(&p.target)
        .bind(p.account_id.map(|a| a.as_uuid()))
        .bind(&p.account_name)
        .bind(p.state.as_str())
        .bind(&p.progress)
        .bind(p.external_id.as_deref())
        .bind(p.url.as_deref())
        .bind(p.error_class.as_deref())
        .bind(p.error.as_deref())
        .bind(p.version)
        .bind(micros(p.created_at))
        .bind(micros(p.updated_at))
        .bind(p.finished_at.map(micros))
        .execute(&mut *conn)
        .await
        .map_err(|e| write_error(e, "publication"))?;
        Ok(())
    }

    /// One `publications` row (every column of `publication_cols!`); the calendar reads them too.
    pub(super) fn publication_from(r: &DbRow) -> Result<Publication> {
        Ok(Publication {
            id: PublicationId::from_uuid(r.try_get("id")?),
            workspace_id: WorkspaceId::from_uuid(r.try_get("workspace_id")?),
            post_id: PostId::from_uuid(r.try_get("post_id")?),
            approval_id: ApprovalId::from_uuid(r.try_get("approval_id")?),
            network: text_col::<Network>(r, "network")?,
            target: r.try_get("target")?,
            account_id: r.try_get::<Option<Uuid>, _>("account_id")?.map(ConnectedAccountId::from_uuid),
            account_name: r.try_get("account_name")?,
            state: text_col(r, "state")?,
            progress: r.try_get("progress")?,
            external_id: r.try_get("external_id")?,
            url: r.try_get("url")?,
            error_class: r.try_get("error_class")?,
            error: r.try_get("error")?,
            version: r.try_get("version")?,
            created_at: ts_col(r, "created_at")?,
            updated_at: ts_col(r, "updated_at")?,
            finished_at: ts_opt_col(r, "finished_at")?,
        })
    }
}
