// The calendar, included after `repo.rs` in both backend modules (it shares their `Db`,
// `BACKEND` and helpers). Two light reads instead of whole posts: the month's entries from an
// index that holds every column they need (id, brand, state, time; never the content), then
// the details of the few posts a page shows.

mod calendar {
    use super::*;
    use crate::calendar_records::{CalendarDetail, CalendarEntry, DayPosts, DayWindow};
    use crate::publishing_records::Publication;
    use nanopost_domain::network::Network;

    /// Most ids in one details statement (well under both databases' parameter limits).
    const DETAIL_CHUNK: usize = 500;

    impl Repo {
        /// Posts of the workspace (of one brand, if given) whose time falls in `[from, to)`,
        /// earliest first, at most `limit`. Archived posts are left out. (A post that goes out
        /// always has a time: "publish now" and "retry" set it to the moment they ran.)
        pub async fn calendar_entries(
            &self,
            ws: WorkspaceId,
            brand: Option<BrandId>,
            from: Timestamp,
            to: Timestamp,
            limit: u32,
        ) -> Result<Vec<CalendarEntry>> {
            let rows = sqlx::query(
                "SELECT id, brand_id, state, due_at FROM posts \
                 WHERE workspace_id = $1 AND due_at >= $2 AND due_at < $3 \
                 AND ($4 IS NULL OR brand_id = $4) AND state <> 'archived' \
                 ORDER BY due_at, id LIMIT $5",
            )
            .bind(ws.as_uuid())
            .bind(micros(from))
            .bind(micros(to))
            .bind(brand.map(|b| b.as_uuid()))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(CalendarEntry {
                        post_id: PostId::from_uuid(r.try_get("id")?),
                        brand_id: BrandId::from_uuid(r.try_get("brand_id")?),
                        state: text_col(r, "state")?,
                        at: ts_col(r, "due_at")?,
                    })
                })
                .collect()
        }

        /// Per day of `days`: how many posts of the workspace (of `brands`, when given) fall in
        /// it, how many of those failed or are unconfirmed, and its first `per_day` posts. The
        /// database counts, so a month of ten thousand posts sends back a few dozen rows: one
        /// statement of per-day counts and one of per-day first posts, each day a range of the
        /// `posts_calendar` index (an index-only read that stops after `per_day` rows).
        pub async fn calendar_days(
            &self,
            ws: WorkspaceId,
            brands: Option<&[BrandId]>,
            days: &[DayWindow],
            per_day: u32,
        ) -> Result<Vec<DayPosts>> {
            let mut out = vec![DayPosts::default(); days.len()];
            if days.is_empty() || brands.is_some_and(|b| b.is_empty()) {
                return Ok(out);
            }
            // Placeholders: $1 the workspace, $2 the per-day limit, then the brands, then each
            // day's bounds. Only these and the days' own indexes go into the text.
            let brands = brands.unwrap_or_default();
            let brand_filter = if brands.is_empty() {
                String::new()
            } else {
                let list: Vec<String> = (0..brands.len()).map(|i| format!("${}", i + 3)).collect();
                format!(" AND brand_id IN ({})", list.join(", "))
            };
            let first_day_param = brands.len() + 3;
            let range = |i: usize| {
                format!(
                    "workspace_id = $1 AND due_at >= ${} AND due_at < ${} AND state <> 'archived'{brand_filter}",
                    first_day_param + 2 * i,
                    first_day_param + 2 * i + 1
                )
            };
            let counts: Vec<String> = (0..days.len())
                .map(|i| {
                    format!(
                        "SELECT CAST({i} AS BIGINT) AS day, COUNT(*) AS total, \
                         COALESCE(SUM(CASE WHEN state IN ('failed', 'unconfirmed') THEN 1 ELSE 0 END), 0) AS problems \
                         FROM posts WHERE {}",
                        range(i)
                    )
                })
                .collect();
            let firsts: Vec<String> = (0..days.len())
                .map(|i| {
                    format!(
                        "SELECT * FROM (SELECT CAST({i} AS BIGINT) AS day, id, brand_id, state, due_at FROM posts \
                         WHERE {} ORDER BY due_at, id LIMIT $2) AS d{i}",
                        range(i)
                    )
                })
                .collect();
            let bind_all = |sql: String| {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ws.as_uuid()).bind(i64::from(per_day));
                for b in brands {
                    q = q.bind(b.as_uuid());
                }
                for d in days {
                    q = q.bind(micros(d.start)).bind(micros(d.end));
                }
                q
            };
            let day_of = |r: &DbRow, out_len: usize| -> Result<usize> {
                let day: i64 = r.try_get("day")?;
                usize::try_from(day)
                    .ok()
                    .filter(|d| *d < out_len)
                    .ok_or_else(|| StorageError::Corrupt(format!("calendar day {day} out of range")))
            };
            // The count statement names no `$2`; PostgreSQL takes the extra typed parameter.
            for r in &bind_all(counts.join(" UNION ALL ")).fetch_all(&self.pool).await? {
                let d = day_of(r, out.len())?;
                out[d].total = u64::try_from(r.try_get::<i64, _>("total")?).unwrap_or(0);
                out[d].problems = u64::try_from(r.try_get::<i64, _>("problems")?).unwrap_or(0);
            }
            for r in &bind_all(firsts.join(" UNION ALL ")).fetch_all(&self.pool).await? {
                let d = day_of(r, out.len())?;
                out[d].first.push(CalendarEntry {
                    post_id: PostId::from_uuid(r.try_get("id")?),
                    brand_id: BrandId::from_uuid(r.try_get("brand_id")?),
                    state: text_col(r, "state")?,
                    at: ts_col(r, "due_at")?,
                });
            }
            for d in &mut out {
                d.first.sort_by(|a, b| a.at.cmp(&b.at).then(a.post_id.as_uuid().cmp(&b.post_id.as_uuid())));
            }
            Ok(out)
        }

        /// The publications of the given posts of the workspace (one read for a calendar page
        /// instead of one per post), by post, in the order each post's were recorded.
        pub async fn publications_of_posts(&self, ws: WorkspaceId, ids: &[PostId]) -> Result<Vec<Publication>> {
            let mut out = Vec::new();
            for chunk in ids.chunks(DETAIL_CHUNK) {
                // Only numbered placeholders are added to the text; the ids are bound.
                let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
                let sql = format!(
                    "SELECT id, workspace_id, post_id, approval_id, network, target, account_id, account_name, \
                     state, progress, external_id, url, error_class, error, version, created_at, updated_at, \
                     finished_at FROM publications WHERE workspace_id = $1 AND post_id IN ({}) \
                     ORDER BY post_id, created_at, network, target",
                    placeholders.join(", ")
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ws.as_uuid());
                for id in chunk {
                    q = q.bind(id.as_uuid());
                }
                for r in &q.fetch_all(&self.pool).await? {
                    out.push(super::publications::publication_from(r)?);
                }
            }
            Ok(out)
        }

        /// Excerpt, networks and version of the given posts of the workspace (any order;
        /// ids of other workspaces are not found).
        pub async fn calendar_details(&self, ws: WorkspaceId, ids: &[PostId]) -> Result<Vec<CalendarDetail>> {
            let (excerpt, networks) = match BACKEND {
                Backend::Sqlite => (
                    "substr(json_extract(content, '$.variants[0].caption'), 1, $2)",
                    "(SELECT group_concat(json_extract(t.value, '$.network'), ',') \
                     FROM json_each(posts.content, '$.targets') t)",
                ),
                Backend::Postgres => (
                    "left(content->'variants'->0->>'caption', $2::int)",
                    "(SELECT string_agg(t->>'network', ',') FROM jsonb_array_elements(content->'targets') t)",
                ),
            };
            let mut out = Vec::with_capacity(ids.len());
            for chunk in ids.chunks(DETAIL_CHUNK) {
                // Only numbered placeholders are added to the text; the ids are bound.
                let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 3)).collect();
                let sql = format!(
                    "SELECT id, version, {excerpt} AS excerpt, {networks} AS networks FROM posts \
                     WHERE workspace_id = $1 AND id IN ({})",
                    placeholders.join(", ")
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(ws.as_uuid())
                    .bind(i64::from(CalendarDetail::EXCERPT_CHARS));
                for id in chunk {
                    q = q.bind(id.as_uuid());
                }
                for r in q.fetch_all(&self.pool).await? {
                    let networks: Option<String> = r.try_get("networks")?;
                    out.push(CalendarDetail {
                        post_id: PostId::from_uuid(r.try_get("id")?),
                        excerpt: r.try_get::<Option<String>, _>("excerpt")?.unwrap_or_default(),
                        networks: networks
                            .unwrap_or_default()
                            .split(',')
                            .filter(|n| !n.is_empty())
                            .map(|n| parse_text::<Network>("network", n))
                            .collect::<Result<_>>()?,
                        version: r.try_get("version")?,
                    });
                }
            }
            Ok(out)
        }
    }
}

// Placing a post into its brand's next free queue slot, safe when several people do it at once.
mod calendar_slots {
    use super::*;
    use crate::calendar_records::{CalendarEntry, SlotChoice};

    impl Repo {
        /// Places a post into a queue slot of `brand` so that two placements never take the same
        /// slot: in one write transaction that holds the brand (SQLite: the database's write
        /// lock from `BEGIN IMMEDIATE`; PostgreSQL: the brand's row), reads the times the brand's
        /// posts hold in `[from, to)` (at most `limit`, as [`Repo::calendar_entries`]), lets
        /// `place` choose from them, then writes the post (version-checked: Stale if it changed
        /// since it was read) and enqueues its job. `None` when `place` chose nothing.
        pub async fn place_post_in_slot(
            &self,
            ws: WorkspaceId,
            brand: BrandId,
            from: Timestamp,
            to: Timestamp,
            limit: u32,
            place: &SlotChoice<'_>,
        ) -> Result<Option<Post>> {
            let _writer = <Db as JobSql>::job_write_guard(&self.pool).await;
            let mut tx = self.begin_write().await?;
            if BACKEND == Backend::Postgres {
                sqlx::query("SELECT 1 FROM brands WHERE id = $1 AND workspace_id = $2 FOR NO KEY UPDATE")
                    .bind(brand.as_uuid())
                    .bind(ws.as_uuid())
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StorageError::NotFound)?;
            }
            let rows = sqlx::query(
                "SELECT id, brand_id, state, due_at FROM posts \
                 WHERE workspace_id = $1 AND brand_id = $2 AND due_at >= $3 AND due_at < $4 \
                 AND state <> 'archived' ORDER BY due_at, id LIMIT $5",
            )
            .bind(ws.as_uuid())
            .bind(brand.as_uuid())
            .bind(micros(from))
            .bind(micros(to))
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
            let entries = rows
                .iter()
                .map(|r| {
                    Ok(CalendarEntry {
                        post_id: PostId::from_uuid(r.try_get("id")?),
                        brand_id: BrandId::from_uuid(r.try_get("brand_id")?),
                        state: text_col(r, "state")?,
                        at: ts_col(r, "due_at")?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let Some((post, job)) = place(&entries) else { return Ok(None) };
            if post.workspace_id != ws || post.brand_id != brand {
                return Err(StorageError::Conflict("the post placed is not of this brand"));
            }
            let saved = write_post(&mut tx, &post).await?;
            if let Some(job) = &job {
                enqueue_in(&mut tx, job).await?;
                <Db as JobSql>::announce_in_tx(&mut tx).await?;
            }
            tx.commit().await?;
            if job.is_some() {
                <Db as JobSql>::announce_after_commit(&self.pool);
            }
            Ok(Some(saved))
        }
    }
}
