// The calendar, included after `repo.rs` in both backend modules (it shares their `Db`,
// `BACKEND` and helpers). Two light reads instead of whole posts: the month's entries from an
// index that holds every column they need (id, brand, state, time; never the content), then
// the details of the few posts a page shows.

mod calendar {
    use super::*;
    use crate::calendar_records::{CalendarDetail, CalendarEntry, DayPosts, DayWindow};
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
        /// database counts, so a month of ten thousand posts sends back a few dozen rows.
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
            // Only numbered placeholders go into the text; every value is bound.
            let mut n = 2;
            let mut next = || {
                n += 1;
                format!("${n}")
            };
            let windows: Vec<String> =
                days.iter().map(|_| format!("({}, {}, {})", next(), next(), next())).collect();
            let brand_filter = match brands {
                Some(b) => format!(" AND p.brand_id IN ({})", b.iter().map(|_| next()).collect::<Vec<_>>().join(", ")),
                None => String::new(),
            };
            let sql = format!(
                "WITH days(day, lo, hi) AS (VALUES {}), \
                 hits AS (SELECT d.day, p.id, p.brand_id, p.state, p.due_at, \
                     ROW_NUMBER() OVER (PARTITION BY d.day ORDER BY p.due_at, p.id) AS n, \
                     COUNT(*) OVER (PARTITION BY d.day) AS total, \
                     SUM(CASE WHEN p.state IN ('failed', 'unconfirmed') THEN 1 ELSE 0 END) \
                         OVER (PARTITION BY d.day) AS problems \
                   FROM days d JOIN posts p ON p.workspace_id = $1 AND p.due_at >= d.lo AND p.due_at < d.hi \
                   WHERE p.state <> 'archived'{brand_filter}) \
                 SELECT day, id, brand_id, state, due_at, total, problems FROM hits WHERE n <= $2 \
                 ORDER BY day, n",
                windows.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ws.as_uuid()).bind(i64::from(per_day));
            for (i, d) in days.iter().enumerate() {
                q = q.bind(i64::try_from(i).unwrap_or(i64::MAX)).bind(micros(d.start)).bind(micros(d.end));
            }
            for b in brands.unwrap_or_default() {
                q = q.bind(b.as_uuid());
            }
            for r in &q.fetch_all(&self.pool).await? {
                let day: i64 = r.try_get("day")?;
                let Some(slot) = usize::try_from(day).ok().and_then(|d| out.get_mut(d)) else {
                    return Err(StorageError::Corrupt(format!("calendar day {day} out of range")));
                };
                slot.total = u64::try_from(r.try_get::<i64, _>("total")?).unwrap_or(0);
                slot.problems = u64::try_from(r.try_get::<i64, _>("problems")?).unwrap_or(0);
                slot.first.push(CalendarEntry {
                    post_id: PostId::from_uuid(r.try_get("id")?),
                    brand_id: BrandId::from_uuid(r.try_get("brand_id")?),
                    state: text_col(r, "state")?,
                    at: ts_col(r, "due_at")?,
                });
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
