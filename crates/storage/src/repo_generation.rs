// AI generations, included right after `repo.rs` and `repo_jobs.rs` in both backend modules (so
// it shares their `Db`, `BACKEND` and helpers). Its own imports live in a child module.

mod generations {
    use super::*;
    use crate::generation_records::{
        Admission, AiUsage, GeneratedPost, GenerationKind, GenerationOutcome, GenerationRecord, GenerationState,
        PostProvenance, UsageDelta,
    };
    use crate::job_records::NewJob;
    use nanopost_domain::ids::{GenerationId, MediaId};

    macro_rules! generation_cols {
        () => {
            "id, workspace_id, brand_id, kind, state, request, work, progress, result, error, provider, offline, \
             post_id, media_id, requested_by, created_at, updated_at, finished_at"
        };
    }
    macro_rules! link_cols {
        () => {
            "workspace_id, generation_id, post_id, position, suggested_local, suggested_tz, suggested_at, notes, \
             created_at"
        };
    }

    /// Most open generations one sweep pass returns.
    const MAX_SWEEP: u32 = 200;

    impl Repo {
        /// Records a new generation and counts it in the month's usage, if the workspace's
        /// `quota` for the month (0: none) leaves room; enqueues `jobs` in the same transaction.
        /// Two concurrent requests cannot both take the last unit: the usage row is locked by
        /// the conditional upsert.
        pub async fn insert_generation(
            &self,
            g: &GenerationRecord,
            month: &str,
            quota: u32,
            jobs: &[NewJob],
        ) -> Result<Admission> {
            let _writer = <Db as JobSql>::job_write_guard(&self.pool).await;
            let mut tx = self.begin_write().await?;
            let counted = sqlx::query(
                "INSERT INTO ai_usage (workspace_id, month, generations, prompt_tokens, completion_tokens, images, \
                 updated_at) VALUES ($1, $2, 1, 0, 0, 0, $3) \
                 ON CONFLICT (workspace_id, month) DO UPDATE SET generations = ai_usage.generations + 1, \
                 updated_at = $3 WHERE $4 = 0 OR ai_usage.generations < $4",
            )
            .bind(g.workspace_id.as_uuid())
            .bind(month)
            .bind(micros(g.created_at))
            .bind(i64::from(quota))
            .execute(&mut *tx)
            .await
            .map_err(|e| write_error(e, "usage"))?;
            if counted.rows_affected() == 0 {
                let used = usage_in(&mut tx, g.workspace_id, month).await?.generations;
                tx.rollback().await?;
                return Ok(Admission::QuotaReached { used, quota });
            }
            insert_generation_in(&mut tx, g).await?;
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
            Ok(Admission::Admitted)
        }

        pub async fn generation(&self, ws: WorkspaceId, id: GenerationId) -> Result<Option<GenerationRecord>> {
            sqlx::query(concat!("SELECT ", generation_cols!(), " FROM generations WHERE workspace_id = $1 AND id = $2"))
                .bind(ws.as_uuid())
                .bind(id.as_uuid())
                .fetch_optional(&self.pool)
                .await?
                .map(|r| generation_from(&r))
                .transpose()
        }

        /// The workspace's generations, newest first (of one brand, if given).
        pub async fn generations(
            &self,
            ws: WorkspaceId,
            brand: Option<BrandId>,
            page: PageRequest,
        ) -> Result<Page<GenerationRecord>> {
            let limit = page_limit(page);
            let rows = sqlx::query(concat!(
                "SELECT ",
                generation_cols!(),
                " FROM generations WHERE workspace_id = $1 AND ($2 IS NULL OR id < $2) \
                 AND ($3 IS NULL OR brand_id = $3) ORDER BY id DESC LIMIT $4"
            ))
            .bind(ws.as_uuid())
            .bind(page.after)
            .bind(brand.map(|b| b.as_uuid()))
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
            let items = rows.iter().map(generation_from).collect::<Result<Vec<_>>>()?;
            Ok(paginate(items, limit, |g| g.id.as_uuid()))
        }

        /// Saves the progress of an open generation (state, progress, work, provider). False if
        /// it has ended meanwhile (a final row is never reopened).
        pub async fn update_generation(&self, g: &GenerationRecord) -> Result<bool> {
            let done = sqlx::query(
                "UPDATE generations SET state = $3, work = $4, progress = $5, result = $6, error = $7, \
                 provider = $8, offline = $9, updated_at = $10, finished_at = $11 \
                 WHERE workspace_id = $1 AND id = $2 AND state IN ('queued', 'running')",
            )
            .bind(g.workspace_id.as_uuid())
            .bind(g.id.as_uuid())
            .bind(g.state.as_str())
            .bind(Json(&g.work))
            .bind(&g.progress)
            .bind(g.result.as_ref().map(Json))
            .bind(g.error.as_deref())
            .bind(g.provider.as_deref())
            .bind(g.offline)
            .bind(micros(g.updated_at))
            .bind(g.finished_at.map(micros))
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() == 1)
        }

        /// Ends a generation: its drafts and their links are inserted, the row takes its final
        /// state and the usage is added, all in one transaction (no draft without its record,
        /// no record of drafts that are not there). False, with nothing written, if the
        /// generation had already ended.
        pub async fn finish_generation(&self, o: &GenerationOutcome<'_>) -> Result<bool> {
            let g = o.generation;
            if !g.state.is_final() {
                return Err(StorageError::Conflict("a generation ends done or failed"));
            }
            if o.posts.iter().any(|p| p.workspace_id != g.workspace_id)
                || o.links.iter().any(|l| l.workspace_id != g.workspace_id || l.generation_id != g.id)
            {
                return Err(StorageError::Conflict("generation outcome for another workspace"));
            }
            let mut tx = self.begin_write().await?;
            let ended = sqlx::query(
                "UPDATE generations SET state = $3, work = $4, progress = $5, result = $6, error = $7, \
                 provider = $8, offline = $9, updated_at = $10, finished_at = $11 \
                 WHERE workspace_id = $1 AND id = $2 AND state IN ('queued', 'running')",
            )
            .bind(g.workspace_id.as_uuid())
            .bind(g.id.as_uuid())
            .bind(g.state.as_str())
            .bind(Json(&g.work))
            .bind(&g.progress)
            .bind(g.result.as_ref().map(Json))
            .bind(g.error.as_deref())
            .bind(g.provider.as_deref())
            .bind(g.offline)
            .bind(micros(g.updated_at))
            .bind(g.finished_at.map(micros))
            .execute(&mut *tx)
            .await?;
            if ended.rows_affected() == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            for post in o.posts {
                insert_post(&mut tx, post).await?;
            }
            for link in o.links {
                insert_link_in(&mut tx, link).await?;
            }
            add_usage_in(&mut tx, g.workspace_id, o.month, o.usage, g.updated_at).await?;
            tx.commit().await?;
            Ok(true)
        }

        /// The drafts a generation produced, in plan order.
        pub async fn generated_posts(&self, ws: WorkspaceId, generation: GenerationId) -> Result<Vec<GeneratedPost>> {
            sqlx::query(concat!(
                "SELECT ",
                link_cols!(),
                " FROM generation_posts WHERE workspace_id = $1 AND generation_id = $2 ORDER BY position, post_id"
            ))
            .bind(ws.as_uuid())
            .bind(generation.as_uuid())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(link_from)
            .collect()
        }

        /// The generation that last wrote the post, if any wrote it.
        pub async fn post_provenance(&self, ws: WorkspaceId, post: PostId) -> Result<Option<PostProvenance>> {
            let row = sqlx::query(
                "SELECT l.workspace_id, l.generation_id, l.post_id, l.position, l.suggested_local, l.suggested_tz, \
                 l.suggested_at, l.notes, l.created_at, g.kind, g.provider, g.offline \
                 FROM generation_posts l JOIN generations g ON g.id = l.generation_id AND g.workspace_id = l.workspace_id \
                 WHERE l.workspace_id = $1 AND l.post_id = $2 ORDER BY l.created_at DESC, l.generation_id DESC LIMIT 1",
            )
            .bind(ws.as_uuid())
            .bind(post.as_uuid())
            .fetch_optional(&self.pool)
            .await?;
            row.map(|r| {
                Ok(PostProvenance {
                    link: link_from(&r)?,
                    kind: text_col(&r, "kind")?,
                    provider: r.try_get("provider")?,
                    offline: r.try_get("offline")?,
                })
            })
            .transpose()
        }

        /// The suggested time of the post's plan, if a plan made it (a regeneration keeps it).
        pub async fn post_suggestion(&self, ws: WorkspaceId, post: PostId) -> Result<Option<GeneratedPost>> {
            sqlx::query(concat!(
                "SELECT ",
                link_cols!(),
                " FROM generation_posts WHERE workspace_id = $1 AND post_id = $2 AND suggested_at IS NOT NULL \
                 ORDER BY created_at DESC LIMIT 1"
            ))
            .bind(ws.as_uuid())
            .bind(post.as_uuid())
            .fetch_optional(&self.pool)
            .await?
            .map(|r| link_from(&r))
            .transpose()
        }

        /// The newest finished description of a media item.
        pub async fn latest_description(&self, ws: WorkspaceId, media: MediaId) -> Result<Option<GenerationRecord>> {
            sqlx::query(concat!(
                "SELECT ",
                generation_cols!(),
                " FROM generations WHERE workspace_id = $1 AND media_id = $2 AND kind = 'describe' \
                 AND state = 'done' ORDER BY id DESC LIMIT 1"
            ))
            .bind(ws.as_uuid())
            .bind(media.as_uuid())
            .fetch_optional(&self.pool)
            .await?
            .map(|r| generation_from(&r))
            .transpose()
        }

        /// The workspace's usage in `month` (zeros when nothing was used).
        pub async fn ai_usage(&self, ws: WorkspaceId, month: &str) -> Result<AiUsage> {
            let mut conn = self.pool.acquire().await?;
            usage_in(&mut conn, ws, month).await
        }

        /// Unscoped (the generation sweep): open generations not touched since `before`.
        pub async fn stale_generations(&self, before: Timestamp) -> Result<Vec<GenerationRecord>> {
            sqlx::query(concat!(
                "SELECT ",
                generation_cols!(),
                " FROM generations WHERE state IN ('queued', 'running') AND updated_at < $1 \
                 ORDER BY updated_at LIMIT $2"
            ))
            .bind(micros(before))
            .bind(i64::from(MAX_SWEEP))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(generation_from)
            .collect()
        }
    }

    async fn insert_generation_in(conn: &mut DbConn, g: &GenerationRecord) -> Result<()> {
        sqlx::query(concat!(
            "INSERT INTO generations (",
            generation_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
        ))
        .bind(g.id.as_uuid())
        .bind(g.workspace_id.as_uuid())
        .bind(g.brand_id.map(|b| b.as_uuid()))
        .bind(g.kind.as_str())
        .bind(g.state.as_str())
        .bind(Json(&g.request))
        .bind(Json(&g.work))
        .bind(&g.progress)
        .bind(g.result.as_ref().map(Json))
        .bind(g.error.as_deref())
        .bind(g.provider.as_deref())
        .bind(g.offline)
        .bind(g.post_id.map(|p| p.as_uuid()))
        .bind(g.media_id.map(|m| m.as_uuid()))
        .bind(g.requested_by.map(|u| u.as_uuid()))
        .bind(micros(g.created_at))
        .bind(micros(g.updated_at))
        .bind(g.finished_at.map(micros))
        .execute(&mut *conn)
        .await
        .map_err(|e| write_error(e, "generation"))?;
        Ok(())
    }

    async fn insert_link_in(conn: &mut DbConn, l: &GeneratedPost) -> Result<()> {
        sqlx::query(concat!(
            "INSERT INTO generation_posts (",
            link_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (generation_id, post_id) DO NOTHING"
        ))
        .bind(l.workspace_id.as_uuid())
        .bind(l.generation_id.as_uuid())
        .bind(l.post_id.as_uuid())
        .bind(i64::from(l.position))
        .bind(l.suggested_local.map(|d| d.to_string()))
        .bind(l.suggested_tz.as_deref())
        .bind(l.suggested_at.map(micros))
        .bind(Json(&l.notes))
        .bind(micros(l.created_at))
        .execute(&mut *conn)
        .await
        .map_err(|e| write_error(e, "generated post"))?;
        Ok(())
    }

    async fn usage_in(conn: &mut DbConn, ws: WorkspaceId, month: &str) -> Result<AiUsage> {
        let row = sqlx::query(
            "SELECT generations, prompt_tokens, completion_tokens, images FROM ai_usage \
             WHERE workspace_id = $1 AND month = $2",
        )
        .bind(ws.as_uuid())
        .bind(month)
        .fetch_optional(&mut *conn)
        .await?;
        let count = |r: &DbRow, col: &str| -> Result<u64> { Ok(u64::try_from(r.try_get::<i64, _>(col)?).unwrap_or(0)) };
        Ok(match row {
            Some(r) => AiUsage {
                month: month.to_owned(),
                generations: count(&r, "generations")?,
                prompt_tokens: count(&r, "prompt_tokens")?,
                completion_tokens: count(&r, "completion_tokens")?,
                images: count(&r, "images")?,
            },
            None => AiUsage { month: month.to_owned(), ..AiUsage::default() },
        })
    }

    async fn add_usage_in(conn: &mut DbConn, ws: WorkspaceId, month: &str, d: UsageDelta, at: Timestamp) -> Result<()> {
        let big = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        // `$3` is what a new row starts with (never negative); `$8` is added to an existing
        // row, a refund (-1) included, and the count never goes below zero.
        sqlx::query(
            "INSERT INTO ai_usage (workspace_id, month, generations, prompt_tokens, completion_tokens, images, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (workspace_id, month) DO UPDATE SET \
             generations = CASE WHEN ai_usage.generations + $8 < 0 THEN 0 ELSE ai_usage.generations + $8 END, \
             prompt_tokens = ai_usage.prompt_tokens + excluded.prompt_tokens, \
             completion_tokens = ai_usage.completion_tokens + excluded.completion_tokens, \
             images = ai_usage.images + excluded.images, updated_at = excluded.updated_at",
        )
        .bind(ws.as_uuid())
        .bind(month)
        .bind(d.generations.max(0))
        .bind(big(d.prompt_tokens))
        .bind(big(d.completion_tokens))
        .bind(big(d.images))
        .bind(micros(at))
        .bind(d.generations)
        .execute(&mut *conn)
        .await
        .map_err(|e| write_error(e, "usage"))?;
        Ok(())
    }

    fn generation_from(r: &DbRow) -> Result<GenerationRecord> {
        let Json(request) = r.try_get::<Json<serde_json::Value>, _>("request")?;
        let Json(work) = r.try_get::<Json<serde_json::Value>, _>("work")?;
        let result = r.try_get::<Option<Json<serde_json::Value>>, _>("result")?.map(|Json(v)| v);
        Ok(GenerationRecord {
            id: GenerationId::from_uuid(r.try_get("id")?),
            workspace_id: WorkspaceId::from_uuid(r.try_get("workspace_id")?),
            brand_id: r.try_get::<Option<Uuid>, _>("brand_id")?.map(BrandId::from_uuid),
            kind: text_col::<GenerationKind>(r, "kind")?,
            state: text_col::<GenerationState>(r, "state")?,
            request,
            work,
            progress: r.try_get("progress")?,
            result,
            error: r.try_get("error")?,
            provider: r.try_get("provider")?,
            offline: r.try_get("offline")?,
            post_id: r.try_get::<Option<Uuid>, _>("post_id")?.map(PostId::from_uuid),
            media_id: r.try_get::<Option<Uuid>, _>("media_id")?.map(MediaId::from_uuid),
            requested_by: r.try_get::<Option<Uuid>, _>("requested_by")?.map(UserId::from_uuid),
            created_at: ts_col(r, "created_at")?,
            updated_at: ts_col(r, "updated_at")?,
            finished_at: ts_opt_col(r, "finished_at")?,
        })
    }

    fn link_from(r: &DbRow) -> Result<GeneratedPost> {
        let Json(notes) = r.try_get::<Json<Vec<String>>, _>("notes")?;
        let suggested_local = match r.try_get::<Option<String>, _>("suggested_local")? {
            Some(s) => Some(parse_text::<civil::DateTime>("suggested_local", &s)?),
            None => None,
        };
        Ok(GeneratedPost {
            workspace_id: WorkspaceId::from_uuid(r.try_get("workspace_id")?),
            generation_id: GenerationId::from_uuid(r.try_get("generation_id")?),
            post_id: PostId::from_uuid(r.try_get("post_id")?),
            position: u32::try_from(r.try_get::<i64, _>("position")?).unwrap_or(0),
            suggested_local,
            suggested_tz: r.try_get("suggested_tz")?,
            suggested_at: ts_opt_col(r, "suggested_at")?,
            notes,
            created_at: ts_col(r, "created_at")?,
        })
    }
}
