// The media library, included right after `repo.rs` in both backend modules (so it shares
// their `Db`, `BACKEND` and helpers). Its own imports live in a child module so they never
// collide with the ones of `repo.rs`.

mod media_repo {
    use super::*;
    use crate::media_records::{MediaFilter, MediaRecord, MediaType, MediaUse};
    use nanopost_domain::ids::MediaId;

    macro_rules! media_cols {
        () => {
            "id, workspace_id, brand_id, kind, mime, bytes, width, height, duration_ms, digest, storage_key, \
             file_name, alt_text, parent_id, fixes, created_by, created_at"
        };
    }

    /// Most rows one unscoped batch (`admin migrate-media`) returns.
    const MAX_BATCH: u32 = 1_000;

    impl Repo {
        /// Inserts the item and its tags, in one transaction. A second rendition of the same
        /// original with the same fixes is a Conflict (the first one is the one to use).
        pub async fn insert_media(&self, m: &MediaRecord) -> Result<()> {
            let mut tx = self.begin_write().await?;
            sqlx::query(concat!(
                "INSERT INTO media (",
                media_cols!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
            ))
            .bind(m.id.as_uuid())
            .bind(m.workspace_id.as_uuid())
            .bind(m.brand_id.map(|b| b.as_uuid()))
            .bind(m.kind.as_str())
            .bind(&m.mime)
            .bind(i64::try_from(m.bytes).map_err(|_| StorageError::Corrupt("media size out of range".into()))?)
            .bind(m.width.map(i64::from))
            .bind(m.height.map(i64::from))
            .bind(m.duration_ms.map(|d| i64::try_from(d).unwrap_or(i64::MAX)))
            .bind(&m.digest)
            .bind(&m.storage_key)
            .bind(&m.file_name)
            .bind(&m.alt_text)
            .bind(m.parent_id.map(|p| p.as_uuid()))
            .bind(m.fixes.as_deref())
            .bind(m.created_by.map(|u| u.as_uuid()))
            .bind(micros(m.created_at))
            .execute(&mut *tx)
            .await
            .map_err(|e| write_error(e, "media rendition"))?;
            insert_tags(&mut tx, m.workspace_id, m.id, &m.tags).await?;
            tx.commit().await?;
            Ok(())
        }

        pub async fn media(&self, ws: WorkspaceId, id: MediaId) -> Result<Option<MediaRecord>> {
            let row = sqlx::query(concat!("SELECT ", media_cols!(), " FROM media WHERE workspace_id = $1 AND id = $2"))
                .bind(ws.as_uuid())
                .bind(id.as_uuid())
                .fetch_optional(&self.pool)
                .await?;
            let Some(row) = row else { return Ok(None) };
            let mut m = media_from(&row)?;
            m.tags = self.tags_between(ws, m.id.as_uuid(), m.id.as_uuid()).await?.into_iter().map(|(_, t)| t).collect();
            Ok(Some(m))
        }

        /// The workspace's media, newest first.
        pub async fn media_list(
            &self,
            ws: WorkspaceId,
            filter: &MediaFilter,
            page: PageRequest,
        ) -> Result<Page<MediaRecord>> {
            let limit = page_limit(page);
            let rows = sqlx::query(concat!(
                "SELECT ",
                media_cols!(),
                " FROM media WHERE workspace_id = $1 AND ($2 IS NULL OR id < $2) \
                 AND ($3 IS NULL OR brand_id = $3) AND ($4 = FALSE OR parent_id IS NULL) \
                 AND ($5 IS NULL OR id IN (SELECT media_id FROM media_tags WHERE workspace_id = $1 AND tag = $5)) \
                 ORDER BY id DESC LIMIT $6"
            ))
            .bind(ws.as_uuid())
            .bind(page.after)
            .bind(filter.brand_id.map(|b| b.as_uuid()))
            .bind(filter.originals_only)
            .bind(filter.tag.as_deref())
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
            let mut items = rows.iter().map(media_from).collect::<Result<Vec<_>>>()?;
            self.fill_tags(ws, &mut items).await?;
            Ok(paginate(items, limit, |m| m.id.as_uuid()))
        }

        /// An upload of the same bytes for the same brand (or none), if there is one.
        pub async fn media_by_digest(
            &self,
            ws: WorkspaceId,
            brand: Option<BrandId>,
            digest: &str,
        ) -> Result<Option<MediaRecord>> {
            let id: Option<Uuid> = sqlx::query_scalar(
                "SELECT id FROM media WHERE workspace_id = $1 AND digest = $2 AND parent_id IS NULL \
                 AND (($3 IS NULL AND brand_id IS NULL) OR brand_id = $3) ORDER BY id LIMIT 1",
            )
            .bind(ws.as_uuid())
            .bind(digest)
            .bind(brand.map(|b| b.as_uuid()))
            .fetch_optional(&self.pool)
            .await?;
            match id {
                Some(id) => self.media(ws, MediaId::from_uuid(id)).await,
                None => Ok(None),
            }
        }

        /// The rendition of `parent` made with exactly these fixes.
        pub async fn media_rendition(
            &self,
            ws: WorkspaceId,
            parent: MediaId,
            fixes: &str,
        ) -> Result<Option<MediaRecord>> {
            let id: Option<Uuid> =
                sqlx::query_scalar("SELECT id FROM media WHERE workspace_id = $1 AND parent_id = $2 AND fixes = $3")
                    .bind(ws.as_uuid())
                    .bind(parent.as_uuid())
                    .bind(fixes)
                    .fetch_optional(&self.pool)
                    .await?;
            match id {
                Some(id) => self.media(ws, MediaId::from_uuid(id)).await,
                None => Ok(None),
            }
        }

        /// The renditions made from `parent`, oldest first.
        pub async fn media_renditions(&self, ws: WorkspaceId, parent: MediaId) -> Result<Vec<MediaRecord>> {
            let rows = sqlx::query(concat!(
                "SELECT ",
                media_cols!(),
                " FROM media WHERE workspace_id = $1 AND parent_id = $2 ORDER BY id"
            ))
            .bind(ws.as_uuid())
            .bind(parent.as_uuid())
            .fetch_all(&self.pool)
            .await?;
            let mut items = rows.iter().map(media_from).collect::<Result<Vec<_>>>()?;
            self.fill_tags(ws, &mut items).await?;
            Ok(items)
        }

        /// Replaces the alt text and the tags.
        pub async fn update_media_meta(
            &self,
            ws: WorkspaceId,
            id: MediaId,
            alt_text: &str,
            tags: &[String],
        ) -> Result<MediaRecord> {
            let mut tx = self.begin_write().await?;
            let done = sqlx::query("UPDATE media SET alt_text = $3 WHERE workspace_id = $1 AND id = $2")
                .bind(ws.as_uuid())
                .bind(id.as_uuid())
                .bind(alt_text)
                .execute(&mut *tx)
                .await?;
            found(done.rows_affected())?;
            sqlx::query("DELETE FROM media_tags WHERE workspace_id = $1 AND media_id = $2")
                .bind(ws.as_uuid())
                .bind(id.as_uuid())
                .execute(&mut *tx)
                .await?;
            insert_tags(&mut tx, ws, id, tags).await?;
            tx.commit().await?;
            self.media(ws, id).await?.ok_or(StorageError::NotFound)
        }

        /// Deletes the item and its renditions (and their tags); returns the storage keys of
        /// every deleted row, for the caller to delete from the media store.
        pub async fn delete_media(&self, ws: WorkspaceId, id: MediaId) -> Result<Vec<String>> {
            let mut tx = self.begin_write().await?;
            let keys: Vec<String> = sqlx::query_scalar(
                "SELECT storage_key FROM media WHERE workspace_id = $1 AND (id = $2 OR parent_id = $2) ORDER BY id",
            )
            .bind(ws.as_uuid())
            .bind(id.as_uuid())
            .fetch_all(&mut *tx)
            .await?;
            // Renditions go with their original (ON DELETE CASCADE).
            let done = sqlx::query("DELETE FROM media WHERE workspace_id = $1 AND id = $2")
                .bind(ws.as_uuid())
                .bind(id.as_uuid())
                .execute(&mut *tx)
                .await?;
            found(done.rows_affected())?;
            tx.commit().await?;
            Ok(keys)
        }

        /// Posts of the workspace whose content names one of `ids` (any state).
        pub async fn media_uses(&self, ws: WorkspaceId, ids: &[MediaId]) -> Result<Vec<MediaUse>> {
            let mut out = Vec::new();
            for id in ids {
                // The text search finds candidates; the parsed content decides.
                let rows = sqlx::query(concat!(
                    "SELECT ",
                    post_cols!(),
                    " FROM posts WHERE workspace_id = $1 AND CAST(content AS TEXT) LIKE $2 ORDER BY id"
                ))
                .bind(ws.as_uuid())
                .bind(format!("%{}%", id.as_uuid().hyphenated()))
                .fetch_all(&self.pool)
                .await?;
                for row in &rows {
                    let post = post_from(row)?;
                    if post.content.variants.iter().any(|v| v.media.iter().any(|m| m.id == *id)) {
                        out.push(MediaUse { post_id: post.id, state: post.state, media_id: *id });
                    }
                }
            }
            Ok(out)
        }

        /// Brands of the workspace whose logo is one of `ids`.
        pub async fn brands_with_logo(&self, ws: WorkspaceId, ids: &[MediaId]) -> Result<Vec<Brand>> {
            let mut out: Vec<Brand> = Vec::new();
            for id in ids {
                let rows = sqlx::query(concat!(
                    "SELECT ",
                    brand_cols!(),
                    " FROM brands WHERE workspace_id = $1 AND CAST(profile AS TEXT) LIKE $2 ORDER BY id"
                ))
                .bind(ws.as_uuid())
                .bind(format!("%{}%", id.as_uuid().hyphenated()))
                .fetch_all(&self.pool)
                .await?;
                for row in &rows {
                    let brand = brand_from(row)?;
                    if brand.profile.logo == Some(*id) && !out.iter().any(|b| b.id == brand.id) {
                        out.push(brand);
                    }
                }
            }
            Ok(out)
        }

        /// The storage keys of every item of the workspace (its purge).
        pub async fn media_keys_of_workspace(&self, ws: WorkspaceId) -> Result<Vec<String>> {
            Ok(sqlx::query_scalar("SELECT storage_key FROM media WHERE workspace_id = $1 ORDER BY id")
                .bind(ws.as_uuid())
                .fetch_all(&self.pool)
                .await?)
        }

        /// Whether a row holds `storage_key` (unscoped: the store's orphan sweep).
        pub async fn media_key_exists(&self, storage_key: &str) -> Result<bool> {
            Ok(sqlx::query_scalar::<_, Uuid>("SELECT id FROM media WHERE storage_key = $1")
                .bind(storage_key)
                .fetch_optional(&self.pool)
                .await?
                .is_some())
        }

        /// Every item of every workspace, in id order, after `after` (unscoped: operator
        /// commands such as `admin migrate-media`). Tags are not loaded.
        pub async fn all_media(&self, after: Option<MediaId>, limit: u32) -> Result<Vec<MediaRecord>> {
            let rows = sqlx::query(concat!(
                "SELECT ",
                media_cols!(),
                " FROM media WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2"
            ))
            .bind(after.map(|a| a.as_uuid()))
            .bind(i64::from(limit.clamp(1, MAX_BATCH)))
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(media_from).collect()
        }

        /// Renditions made before `before`, in id order after `after` (unscoped: the sweep of
        /// renditions no post uses any more). Tags are not loaded.
        pub async fn renditions_made_before(
            &self,
            before: Timestamp,
            after: Option<MediaId>,
            limit: u32,
        ) -> Result<Vec<MediaRecord>> {
            let rows = sqlx::query(concat!(
                "SELECT ",
                media_cols!(),
                " FROM media WHERE parent_id IS NOT NULL AND created_at < $1 AND ($2 IS NULL OR id > $2) \
                 ORDER BY id LIMIT $3"
            ))
            .bind(micros(before))
            .bind(after.map(|a| a.as_uuid()))
            .bind(i64::from(limit.clamp(1, MAX_BATCH)))
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(media_from).collect()
        }

        /// `(media id, tag)` of the workspace's media with ids in `[from, to]`.
        async fn tags_between(&self, ws: WorkspaceId, from: Uuid, to: Uuid) -> Result<Vec<(Uuid, String)>> {
            let rows = sqlx::query(
                "SELECT media_id, tag FROM media_tags WHERE workspace_id = $1 AND media_id >= $2 AND media_id <= $3 \
                 ORDER BY media_id, tag",
            )
            .bind(ws.as_uuid())
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(|r| Ok((r.try_get::<Uuid, _>("media_id")?, r.try_get::<String, _>("tag")?))).collect()
        }

        /// Loads the tags of a page of items with one query (over the page's id range).
        async fn fill_tags(&self, ws: WorkspaceId, items: &mut [MediaRecord]) -> Result<()> {
            let (Some(min), Some(max)) =
                (items.iter().map(|m| m.id.as_uuid()).min(), items.iter().map(|m| m.id.as_uuid()).max())
            else {
                return Ok(());
            };
            for (id, tag) in self.tags_between(ws, min, max).await? {
                if let Some(m) = items.iter_mut().find(|m| m.id.as_uuid() == id) {
                    m.tags.push(tag);
                }
            }
            Ok(())
        }
    }

    async fn insert_tags(conn: &mut DbConn, ws: WorkspaceId, id: MediaId, tags: &[String]) -> Result<()> {
        let mut tags: Vec<&String> = tags.iter().collect();
        tags.sort();
        tags.dedup();
        for tag in tags {
            sqlx::query("INSERT INTO media_tags (workspace_id, media_id, tag) VALUES ($1, $2, $3)")
                .bind(ws.as_uuid())
                .bind(id.as_uuid())
                .bind(tag)
                .execute(&mut *conn)
                .await
                .map_err(|e| write_error(e, "media tag"))?;
        }
        Ok(())
    }

    fn opt_u32(r: &DbRow, col: &str) -> Result<Option<u32>> {
        r.try_get::<Option<i64>, _>(col)?
            .map(|v| u32::try_from(v).map_err(|_| StorageError::Corrupt(format!("{col} {v} out of range"))))
            .transpose()
    }

    fn media_from(r: &DbRow) -> Result<MediaRecord> {
        let bytes: i64 = r.try_get("bytes")?;
        Ok(MediaRecord {
            id: MediaId::from_uuid(r.try_get("id")?),
            workspace_id: WorkspaceId::from_uuid(r.try_get("workspace_id")?),
            brand_id: r.try_get::<Option<Uuid>, _>("brand_id")?.map(BrandId::from_uuid),
            kind: text_col::<MediaType>(r, "kind")?,
            mime: r.try_get("mime")?,
            bytes: u64::try_from(bytes).map_err(|_| StorageError::Corrupt(format!("media size {bytes}")))?,
            width: opt_u32(r, "width")?,
            height: opt_u32(r, "height")?,
            duration_ms: r.try_get::<Option<i64>, _>("duration_ms")?.map(|d| u64::try_from(d).unwrap_or(0)),
            digest: r.try_get("digest")?,
            storage_key: r.try_get("storage_key")?,
            file_name: r.try_get("file_name")?,
            alt_text: r.try_get("alt_text")?,
            tags: Vec::new(),
            parent_id: r.try_get::<Option<Uuid>, _>("parent_id")?.map(MediaId::from_uuid),
            fixes: r.try_get("fixes")?,
            created_by: r.try_get::<Option<Uuid>, _>("created_by")?.map(UserId::from_uuid),
            created_at: ts_col(r, "created_at")?,
        })
    }
}
