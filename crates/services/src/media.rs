//! The media library: upload (sniffed, bomb-guarded, metadata removed, digested), list, tag,
//! alt text, delete; renditions per network made on demand and cached; the items a
//! publication sends, checked against the approved digests (invariant I1); and the signed,
//! expiring URLs the networks fetch media from.
//!
//! The bytes live in the configured [`MediaStore`]; a row in `media` says what they are. An
//! upload writes the object first and the row second, and deletes the object again if the row
//! cannot be written: there is never a row without its object. (An object without a row, left
//! by a crash between the two, is removed by [`Services::sweep_media_objects`].)

use crate::Services;
use crate::actor::Actor;
use crate::audit::{AuditAction, AuditEvent};
use crate::error::{Result, ServiceError};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use jiff::{SignedDuration, Timestamp};
use nanopost_domain::account::{bounded_multiline, bounded_text};
use nanopost_domain::error::ValidationErrors;
use nanopost_domain::ids::{BrandId, MediaId, WorkspaceId};
use nanopost_domain::network::Network;
use nanopost_domain::post::{MediaRef, PostState};
use nanopost_domain::role::Permission;
use nanopost_media::store::{KeyPrefix, MediaStore, MemoryStore, ObjectKey};
use nanopost_media::{Limits, MediaError, MediaFacts, MediaFix, MediaFormat, MediaKind, fixes};
use nanopost_platforms::publish::MediaItem;
use nanopost_storage::{MediaFilter, MediaRecord, MediaType, Page, PageRequest, StorageError};
use sha2::Sha256;
use std::fmt;
use std::sync::{Arc, Mutex};

/// Longest alt text (Instagram and LinkedIn allow more; screen readers want less).
pub const MAX_ALT_TEXT: usize = 1_000;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_CHARS: usize = 40;
const MAX_FILE_NAME_CHARS: usize = 120;
/// Objects younger than this may belong to an upload whose row is still being written.
const SWEEP_GRACE: SignedDuration = SignedDuration::from_hours(1);
/// A rendition no post uses is kept this long (a reviewer may be looking at it).
const RENDITION_GRACE: SignedDuration = SignedDuration::from_hours(24);
/// Renditions looked at per sweep.
const RENDITION_BATCH: u32 = 100;
/// Objects looked at per sweep (each housekeeping run continues where the last one stopped).
const SWEEP_BATCH: usize = 200;
/// Signed URLs expire at the next multiple of this after `now + ttl`, so a page reloaded a
/// minute later shows the same URLs (and browsers reuse what they fetched).
const URL_ROUNDING_SECS: i64 = 300;
/// Domain separation of the key that signs media URLs.
const URL_KEY_LABEL: &[u8] = b"nanopost media URL signing key v1";

/// The media settings the use cases need. `Default`: in-memory objects, for tests and tools
/// that never keep media; the binary sets the configured store (disk or S3).
#[derive(Clone)]
pub struct MediaSettings {
    pub store: Arc<dyn MediaStore>,
    pub limits: Limits,
    /// How long a signed media URL works.
    pub url_ttl: SignedDuration,
    /// Where the orphan sweep stopped.
    pub sweep: SweepCursor,
}

impl Default for MediaSettings {
    fn default() -> Self {
        Self {
            store: Arc::new(MemoryStore::new()),
            limits: Limits::default(),
            url_ttl: SignedDuration::from_hours(1),
            sweep: SweepCursor::default(),
        }
    }
}

impl fmt::Debug for MediaSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaSettings")
            .field("store", &self.store)
            .field("limits", &self.limits)
            .field("url_ttl", &self.url_ttl)
            .finish_non_exhaustive()
    }
}

/// Shared progress of the sweep: the last object key and the last rendition looked at.
#[derive(Clone, Default)]
pub struct SweepCursor(Arc<Mutex<(Option<ObjectKey>, Option<MediaId>)>>);

/// A file someone uploads.
#[derive(Clone)]
pub struct MediaUpload {
    pub brand_id: Option<BrandId>,
    /// As the browser or client sent it; only cleaned and shown, never trusted.
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub alt_text: String,
    pub tags: Vec<String>,
}

impl fmt::Debug for MediaUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaUpload")
            .field("brand_id", &self.brand_id)
            .field("file_name", &self.file_name)
            .field("bytes", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

/// Why an upload was refused: the file itself ([`UploadError::File`]: too large, not a
/// supported type, a decompression bomb, broken) or anything else.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("{0}")]
    File(#[from] MediaError),
    #[error("{0}")]
    Service(#[from] ServiceError),
}

impl From<StorageError> for UploadError {
    fn from(e: StorageError) -> Self {
        UploadError::Service(e.into())
    }
}

#[derive(Debug, Clone)]
pub struct Uploaded {
    pub media: MediaRecord,
    /// The same bytes were uploaded before (same workspace and brand): that item is returned.
    pub existing: bool,
}

/// Alt text and tags to set; `None` leaves one as it is.
#[derive(Debug, Clone, Default)]
pub struct MediaUpdate {
    pub alt_text: Option<String>,
    pub tags: Option<Vec<String>>,
}

/// What `GET /media/{token}` serves.
#[derive(Debug, Clone)]
pub struct ServedMedia {
    pub mime: String,
    pub bytes: Vec<u8>,
    /// Seconds until the URL expires.
    pub max_age: u64,
}

/// The format of a stored item, from its sniffed MIME type.
pub fn format_of(m: &MediaRecord) -> MediaFormat {
    MediaFormat::from_mime(&m.mime)
}

/// What the per-network rules know about a stored item.
pub fn facts_of(m: &MediaRecord) -> MediaFacts {
    MediaFacts {
        format: format_of(m),
        bytes: m.bytes,
        width: m.width.unwrap_or(0),
        height: m.height.unwrap_or(0),
        duration_ms: m.duration_ms,
    }
}

fn internal(what: &str) -> impl FnOnce(nanopost_media::store::StoreError) -> ServiceError + '_ {
    move |e| ServiceError::Internal(format!("{what}: {e}"))
}

fn object_key(m: &MediaRecord) -> Result<ObjectKey> {
    ObjectKey::parse(&m.storage_key)
        .ok_or_else(|| ServiceError::Internal(format!("media {} has a malformed storage key", m.id)))
}

/// Tags as stored: trimmed, `#` dropped, lower case, unique, sorted.
pub fn normalize_tags(raw: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for t in raw {
        let t = t.trim().trim_start_matches('#').trim().to_lowercase();
        if t.is_empty() {
            continue;
        }
        let tag = bounded_text("tags", &t, 1, MAX_TAG_CHARS)?;
        if !tag.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' ' | '.')) {
            return Err(ServiceError::Invalid(
                nanopost_domain::ValidationError::new(
                    "tags",
                    format!("{tag:?} may hold letters, digits, spaces, '-', '_' and '.' only"),
                )
                .into(),
            ));
        }
        out.push(tag);
    }
    out.sort();
    out.dedup();
    if out.len() > MAX_TAGS {
        return Err(ServiceError::Invalid(
            nanopost_domain::ValidationError::new("tags", format!("at most {MAX_TAGS} tags")).into(),
        ));
    }
    Ok(out)
}

fn normalize_alt(raw: &str) -> Result<String> {
    Ok(bounded_multiline("alt_text", raw, 0, MAX_ALT_TEXT)?)
}

/// A file name fit for display: the last path segment, without control characters, bounded.
pub fn clean_file_name(raw: &str, format: MediaFormat) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '<' | '>' | '"' | '\u{202E}' | '\u{202D}'))
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .chars()
        .take(MAX_FILE_NAME_CHARS)
        .collect();
    if cleaned.is_empty() { format!("upload.{}", nanopost_media::extension(format)) } else { cleaned }
}

fn media_type(kind: MediaKind) -> MediaType {
    match kind {
        MediaKind::Image => MediaType::Image,
        MediaKind::Video => MediaType::Video,
    }
}

impl Services {
    fn media_settings(&self) -> &MediaSettings {
        &self.config().media
    }

    /// The configured media store.
    pub fn media_store(&self) -> &Arc<dyn MediaStore> {
        &self.media_settings().store
    }

    // -----------------------------------------------------------------------------------------
    // The library.

    /// Checks, cleans and stores an upload. The same bytes uploaded again for the same brand
    /// return the earlier item (`existing`) instead of a copy.
    pub async fn upload_media(&self, actor: &Actor, upload: MediaUpload) -> Result<Uploaded, UploadError> {
        actor.require(Permission::EditContent)?;
        let ws = actor.workspace_id;
        if let Some(b) = upload.brand_id {
            self.store().brand(ws, b).await?.ok_or(ServiceError::NotFound)?;
        }
        let mut errs = ValidationErrors::default();
        let alt_text = normalize_alt(&upload.alt_text).map_err(|e| collect(&mut errs, e)).unwrap_or_default();
        let tags = normalize_tags(&upload.tags).map_err(|e| collect(&mut errs, e)).unwrap_or_default();
        if !errs.is_empty() {
            return Err(ServiceError::Invalid(errs).into());
        }
        let limits = self.media_settings().limits;
        // Larger than anything allowed: refused before any work.
        let size = upload.bytes.len() as u64;
        let most = limits.max_image_bytes.max(limits.max_video_bytes);
        if size > most {
            return Err(MediaError::TooLarge { kind: "file", size, limit: most }.into());
        }
        let bytes = upload.bytes;
        let prepared = tokio::task::spawn_blocking(move || nanopost_media::prepare(&bytes, &limits))
            .await
            .map_err(|e| ServiceError::Internal(format!("media task failed: {e}")))??;
        if let Some(existing) = self.store().media_by_digest(ws, upload.brand_id, &prepared.digest).await? {
            return Ok(Uploaded { media: existing, existing: true });
        }
        let id = MediaId::new();
        let key = ObjectKey::media(ws.as_uuid(), id.as_uuid());
        let record = MediaRecord {
            id,
            workspace_id: ws,
            brand_id: upload.brand_id,
            kind: media_type(prepared.format.kind()),
            mime: prepared.format.mime().to_owned(),
            bytes: prepared.bytes.len() as u64,
            width: prepared.width,
            height: prepared.height,
            duration_ms: prepared.duration_ms,
            digest: prepared.digest.clone(),
            storage_key: key.as_str().to_owned(),
            file_name: clean_file_name(&upload.file_name, prepared.format),
            alt_text,
            tags,
            parent_id: None,
            fixes: None,
            created_by: Some(actor.user_id),
            created_at: self.now(),
        };
        self.store_new_media(&key, &prepared.bytes, &record).await?;
        tracing::info!(media = %id, workspace = %ws, kind = record.kind.as_str(), bytes = record.bytes, "media uploaded");
        Ok(Uploaded { media: record, existing: false })
    }

    /// Object first, then the row; the object goes again if the row cannot be written.
    async fn store_new_media(&self, key: &ObjectKey, bytes: &[u8], record: &MediaRecord) -> Result<()> {
        let store = self.media_store();
        store.put(key, bytes).await.map_err(internal("cannot store the file"))?;
        if let Err(e) = self.store().insert_media(record).await {
            if let Err(cleanup) = store.delete(key).await {
                // The orphan sweep removes it later.
                tracing::warn!(key = %key, error = %cleanup, "could not remove the object of a failed media insert");
            }
            return Err(e.into());
        }
        Ok(())
    }

    pub async fn media_list(
        &self,
        actor: &Actor,
        filter: &MediaFilter,
        page: PageRequest,
    ) -> Result<Page<MediaRecord>> {
        actor.require(Permission::Read)?;
        Ok(self.store().media_list(actor.workspace_id, filter, page).await?)
    }

    pub async fn media_item(&self, actor: &Actor, id: MediaId) -> Result<MediaRecord> {
        actor.require(Permission::Read)?;
        self.store().media(actor.workspace_id, id).await?.ok_or(ServiceError::NotFound)
    }

    /// Sets the alt text and/or replaces the tags.
    pub async fn update_media(&self, actor: &Actor, id: MediaId, update: MediaUpdate) -> Result<MediaRecord> {
        actor.require(Permission::EditContent)?;
        let current = self.media_item(actor, id).await?;
        let mut errs = ValidationErrors::default();
        let alt = match &update.alt_text {
            Some(a) => normalize_alt(a).map_err(|e| collect(&mut errs, e)).unwrap_or_default(),
            None => current.alt_text.clone(),
        };
        let tags = match &update.tags {
            Some(t) => normalize_tags(t).map_err(|e| collect(&mut errs, e)).unwrap_or_default(),
            None => current.tags.clone(),
        };
        if !errs.is_empty() {
            return Err(ServiceError::Invalid(errs));
        }
        Ok(self.store().update_media_meta(actor.workspace_id, id, &alt, &tags).await?)
    }

    pub async fn tag_media(&self, actor: &Actor, id: MediaId, tag: &str) -> Result<MediaRecord> {
        let current = self.media_item(actor, id).await?;
        let mut tags = current.tags.clone();
        tags.push(tag.to_owned());
        self.update_media(actor, id, MediaUpdate { alt_text: None, tags: Some(tags) }).await
    }

    pub async fn untag_media(&self, actor: &Actor, id: MediaId, tag: &str) -> Result<MediaRecord> {
        let current = self.media_item(actor, id).await?;
        let tag = tag.trim().trim_start_matches('#').trim().to_lowercase();
        let tags: Vec<String> = current.tags.iter().filter(|t| **t != tag).cloned().collect();
        self.update_media(actor, id, MediaUpdate { alt_text: None, tags: Some(tags) }).await
    }

    /// Deletes the item, its renditions and their files. Refused while a post that is not
    /// archived uses it (or one of its renditions), or a brand has it as its logo.
    pub async fn delete_media(&self, actor: &Actor, id: MediaId) -> Result<()> {
        actor.require(Permission::EditContent)?;
        let ws = actor.workspace_id;
        let item = self.store().media(ws, id).await?.ok_or(ServiceError::NotFound)?;
        let mut ids = vec![item.id];
        ids.extend(self.store().media_renditions(ws, id).await?.into_iter().map(|r| r.id));
        let uses: Vec<_> =
            self.store().media_uses(ws, &ids).await?.into_iter().filter(|u| u.state != PostState::Archived).collect();
        if !uses.is_empty() {
            let mut posts: Vec<String> = uses.iter().map(|u| u.post_id.to_string()).collect();
            posts.sort();
            posts.dedup();
            let one = posts.len() == 1;
            return Err(ServiceError::Conflict(format!(
                "this media is used by {} that {} not archived ({}); remove the media from {} or archive {} first",
                if one { "a post".to_owned() } else { format!("{} posts", posts.len()) },
                if one { "is" } else { "are" },
                posts.join(", "),
                if one { "the post" } else { "those posts" },
                if one { "it" } else { "them" },
            )));
        }
        if let Some(brand) = self.store().brands_with_logo(ws, &ids).await?.first() {
            return Err(ServiceError::Conflict(format!(
                "this image is the logo of the brand \"{}\"; choose another logo first",
                brand.profile.name
            )));
        }
        let keys = self.store().delete_media(ws, id).await?;
        self.delete_objects(&keys).await;
        self.audit(AuditEvent::by(actor, AuditAction::MediaDeleted).target("media", id)).await;
        Ok(())
    }

    /// Called once a post is deleted: removes what existed only for it — the renditions made
    /// for it and the images generated for it (tagged `ai-generated`) with their renditions —
    /// when no other post uses them and no brand has them as its logo. Uploads stay in the
    /// library until someone deletes them there. Never fails the deletion: what cannot be
    /// removed now is logged, and unused renditions are swept later anyway.
    pub(crate) async fn release_post_media(&self, ws: WorkspaceId, refs: &[MediaId]) {
        if let Err(e) = self.try_release_post_media(ws, refs).await {
            tracing::warn!(workspace = %ws, error = %e, "could not remove the media of a deleted post");
        }
    }

    async fn try_release_post_media(&self, ws: WorkspaceId, refs: &[MediaId]) -> Result<()> {
        let mut doomed: Vec<MediaId> = Vec::new();
        for id in refs {
            let Some(item) = self.store().media(ws, *id).await? else { continue };
            // A rendition goes; so does the original behind it when it was generated for a post.
            let original = match item.parent_id {
                Some(parent) => {
                    doomed.push(item.id);
                    self.store().media(ws, parent).await?
                }
                None => Some(item),
            };
            if let Some(original) = original.filter(|o| o.tags.iter().any(|t| t == crate::generation::AI_TAG)) {
                doomed.push(original.id);
            }
        }
        doomed.sort();
        doomed.dedup();
        for id in doomed {
            let Some(item) = self.store().media(ws, id).await? else { continue };
            let mut family = vec![item.id];
            family.extend(self.store().media_renditions(ws, id).await?.into_iter().map(|r| r.id));
            if !self.store().media_uses(ws, &family).await?.is_empty()
                || !self.store().brands_with_logo(ws, &family).await?.is_empty()
            {
                continue;
            }
            match self.store().delete_media(ws, id).await {
                Ok(keys) => self.delete_objects(&keys).await,
                Err(StorageError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Deletes objects whose rows are gone; a failure is logged (the sweep retries).
    pub(crate) async fn delete_objects(&self, keys: &[String]) {
        for key in keys.iter().filter_map(|k| ObjectKey::parse(k)) {
            if let Err(e) = self.media_store().delete(&key).await {
                tracing::warn!(key = %key, error = %e, "could not delete a media object; the sweep will retry");
            }
        }
    }

    /// The stored bytes of an item, checked against its digest.
    pub async fn media_bytes(&self, m: &MediaRecord) -> Result<Vec<u8>> {
        let key = object_key(m)?;
        let bytes = self.media_store().get(&key).await.map_err(internal("cannot read the file"))?.ok_or_else(|| {
            ServiceError::Conflict(format!("the file of media {} is missing from the media store", m.id))
        })?;
        if nanopost_media::digest(&bytes) != m.digest {
            return Err(ServiceError::Conflict(format!(
                "the stored file of media {} no longer matches its digest; it was changed outside Nanopost",
                m.id
            )));
        }
        Ok(bytes)
    }

    // -----------------------------------------------------------------------------------------
    // Publishing.

    /// The item to publish on `network`: the item itself when the network takes it as it is,
    /// else a rendition with the fixes applied (made once, then reused), with the fixes to show
    /// the reviewer. What cannot be fixed is `Invalid` with the network's reasons.
    pub async fn rendition_for(
        &self,
        ws: WorkspaceId,
        media_id: MediaId,
        network: Network,
    ) -> Result<(MediaRef, Vec<MediaFix>), ServiceError> {
        let m = self.store().media(ws, media_id).await?.ok_or(ServiceError::NotFound)?;
        let plan = fixes::plan(network, facts_of(&m)).map_err(|issues| {
            let mut errs = ValidationErrors::default();
            for i in issues {
                errs.push("media", format!("{}: {}", m.file_name, i.message));
            }
            ServiceError::Invalid(errs)
        })?;
        if plan.is_empty() {
            return Ok((MediaRef { id: m.id, digest: m.digest.clone() }, vec![]));
        }
        let pad = self.pad_colour(ws, m.brand_id).await?;
        let key_text = fixes::to_json(&plan, pad);
        if let Some(r) = self.store().media_rendition(ws, m.id, &key_text).await? {
            return Ok((MediaRef { id: r.id, digest: r.digest }, plan));
        }
        let original = self.media_bytes(&m).await?;
        let (format, limits, todo) = (format_of(&m), self.media_settings().limits, plan.clone());
        let made = tokio::task::spawn_blocking(move || fixes::apply(&original, format, &todo, pad, &limits))
            .await
            .map_err(|e| ServiceError::Internal(format!("media task failed: {e}")))?
            .map_err(|e| ServiceError::Invalid(nanopost_domain::ValidationError::new("media", e.to_string()).into()))?;
        let left = fixes::issues(network, made.facts());
        if !left.is_empty() {
            let mut errs = ValidationErrors::default();
            for i in left {
                errs.push("media", format!("{} after fixing: {}", m.file_name, i.message));
            }
            return Err(ServiceError::Invalid(errs));
        }
        let id = MediaId::new();
        let key = ObjectKey::media(ws.as_uuid(), id.as_uuid());
        let stem = m.file_name.rsplit_once('.').map_or(m.file_name.as_str(), |(s, _)| s);
        let record = MediaRecord {
            id,
            workspace_id: ws,
            brand_id: m.brand_id,
            kind: MediaType::Image,
            mime: made.format.mime().to_owned(),
            bytes: made.bytes.len() as u64,
            width: made.width,
            height: made.height,
            duration_ms: None,
            digest: made.digest.clone(),
            storage_key: key.as_str().to_owned(),
            file_name: format!("{stem} ({}).jpg", network.label()),
            alt_text: m.alt_text.clone(),
            tags: vec![],
            parent_id: Some(m.id),
            fixes: Some(key_text.clone()),
            created_by: None,
            created_at: self.now(),
        };
        match self.store_new_media(&key, &made.bytes, &record).await {
            Ok(()) => {
                tracing::info!(media = %m.id, rendition = %id, network = network.as_str(), fixes = %key_text, "rendition made");
                Ok((MediaRef { id, digest: record.digest }, plan))
            }
            // Another worker made the same rendition meanwhile: use theirs.
            Err(ServiceError::Conflict(_)) => {
                let r = self
                    .store()
                    .media_rendition(ws, m.id, &key_text)
                    .await?
                    .ok_or_else(|| ServiceError::Internal("a rendition conflicted but cannot be found".into()))?;
                Ok((MediaRef { id: r.id, digest: r.digest }, plan))
            }
            Err(e) => Err(e),
        }
    }

    /// The letterbox colour: the brand's first colour, else white.
    async fn pad_colour(&self, ws: WorkspaceId, brand: Option<BrandId>) -> Result<[u8; 3]> {
        let Some(b) = brand else { return Ok([255, 255, 255]) };
        let colour = self.store().brand(ws, b).await?.and_then(|b| b.profile.colors.first().cloned());
        Ok(colour.map_or([255, 255, 255], |c| fixes::parse_colour(&c)))
    }

    /// The media of an approved variant, ready for an adapter: each item loaded, its stored
    /// bytes hashed and compared with the approved digest (anything else is refused: the
    /// approval covered other bytes), with a signed expiring URL and the bytes.
    pub async fn publication_items(&self, ws: WorkspaceId, refs: &[MediaRef]) -> Result<Vec<MediaItem>, ServiceError> {
        let mut out = Vec::with_capacity(refs.len());
        for r in refs {
            let m = self.store().media(ws, r.id).await?.ok_or_else(|| {
                ServiceError::Conflict(format!("media {} of the approved post no longer exists", r.id))
            })?;
            if m.digest != r.digest {
                return Err(ServiceError::Conflict(format!("media {} changed since the post was approved", r.id)));
            }
            let bytes = self.media_bytes(&m).await?;
            let facts = MediaFacts { bytes: bytes.len() as u64, ..facts_of(&m) };
            out.push(MediaItem {
                id: m.id,
                digest: m.digest.clone(),
                facts,
                url: self.media_url(ws, m.id),
                bytes: Some(Arc::new(bytes)),
            });
        }
        Ok(out)
    }

    // -----------------------------------------------------------------------------------------
    // Signed URLs.

    /// `{public_url}/media/{token}`: unguessable, expiring, for this item only.
    pub fn media_url(&self, ws: WorkspaceId, id: MediaId) -> String {
        let ttl = self.media_settings().url_ttl.as_secs().max(1);
        let raw = self.now().as_second().saturating_add(ttl);
        let expires = raw.saturating_add(URL_ROUNDING_SECS - 1) / URL_ROUNDING_SECS * URL_ROUNDING_SECS;
        format!("{}/media/{}", self.config().public_url.trim_end_matches('/'), self.media_token(ws, id, expires))
    }

    fn url_key(&self) -> [u8; 32] {
        let mut mac = HmacSha256::new_from_slice(self.config().secret_key.expose()).expect("any key length");
        mac.update(URL_KEY_LABEL);
        mac.finalize().into_bytes().into()
    }

    fn media_token(&self, ws: WorkspaceId, id: MediaId, expires: i64) -> String {
        let mut payload = Vec::with_capacity(TOKEN_LEN);
        payload.extend_from_slice(ws.as_uuid().as_bytes());
        payload.extend_from_slice(id.as_uuid().as_bytes());
        payload.extend_from_slice(&expires.to_be_bytes());
        let mut mac = HmacSha256::new_from_slice(&self.url_key()).expect("any key length");
        mac.update(&payload);
        payload.extend_from_slice(&mac.finalize().into_bytes());
        URL_SAFE_NO_PAD.encode(payload)
    }

    /// The item behind a token, if the signature is right and it has not expired.
    fn verify_media_token(&self, token: &str) -> Option<(WorkspaceId, MediaId, i64)> {
        if token.len() > 200 {
            return None;
        }
        let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
        if raw.len() != TOKEN_LEN {
            return None;
        }
        let (payload, tag) = raw.split_at(PAYLOAD_LEN);
        let mut mac = HmacSha256::new_from_slice(&self.url_key()).expect("any key length");
        mac.update(payload);
        // Constant-time comparison.
        mac.verify_slice(tag).ok()?;
        let ws = uuid::Uuid::from_slice(&payload[..16]).ok()?;
        let id = uuid::Uuid::from_slice(&payload[16..32]).ok()?;
        let expires = i64::from_be_bytes(payload[32..40].try_into().ok()?);
        (expires > self.now().as_second()).then_some((WorkspaceId::from_uuid(ws), MediaId::from_uuid(id), expires))
    }

    /// What `GET /media/{token}` serves. Any problem (bad or expired token, deleted item,
    /// missing or altered file) is `NotFound`, so nothing is learned from the answer.
    pub async fn media_by_token(&self, token: &str) -> Result<ServedMedia> {
        let (ws, id, expires) = self.verify_media_token(token).ok_or(ServiceError::NotFound)?;
        let m = self.store().media(ws, id).await?.ok_or(ServiceError::NotFound)?;
        let bytes = match self.media_bytes(&m).await {
            Ok(b) => b,
            Err(ServiceError::Conflict(why)) => {
                tracing::warn!(media = %id, reason = %why, "a signed media URL found no usable file");
                return Err(ServiceError::NotFound);
            }
            Err(e) => return Err(e),
        };
        let max_age = u64::try_from(expires - self.now().as_second()).unwrap_or(0);
        Ok(ServedMedia { mime: m.mime, bytes, max_age })
    }

    // -----------------------------------------------------------------------------------------
    // Deletion with the workspace, export, sweep.

    /// Deletes every object of the workspace from the media store: those its rows name and
    /// any other under its prefix. Called before its rows are purged; an error stops the
    /// purge (it is retried), so no object outlives its workspace.
    pub async fn purge_media_objects(&self, ws: WorkspaceId) -> Result<usize> {
        let mut keys: Vec<ObjectKey> =
            self.store().media_keys_of_workspace(ws).await?.iter().filter_map(|k| ObjectKey::parse(k)).collect();
        let listed = nanopost_media::store::list_all(self.media_store().as_ref(), KeyPrefix::Workspace(ws.as_uuid()))
            .await
            .map_err(internal("cannot list the workspace's media"))?;
        keys.extend(listed);
        keys.sort();
        keys.dedup();
        for key in &keys {
            self.media_store().delete(key).await.map_err(internal("cannot delete a media object"))?;
        }
        Ok(keys.len())
    }

    /// The workspace's media files for its export: `media/<id>.<ext>` with the bytes.
    pub async fn media_export_files(&self, ws: WorkspaceId) -> Result<Vec<(String, Vec<u8>)>> {
        let mut out = Vec::new();
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let batch = self.store().media_list(ws, &MediaFilter::default(), page).await?;
            for m in &batch.items {
                let bytes = self.media_bytes(m).await?;
                out.push((format!("media/{}.{}", m.id, nanopost_media::extension(format_of(m))), bytes));
            }
            match batch.next {
                Some(next) => page = PageRequest { after: Some(next), ..page },
                None => return Ok(out),
            }
        }
    }

    /// The worker's media sweep: objects no row names and renditions no post uses any more.
    /// Returns how many of each it removed.
    pub async fn sweep_media(&self) -> Result<u64> {
        Ok(self.sweep_media_objects().await? + self.sweep_unused_renditions().await?)
    }

    /// Removes objects that no row names (left by a crash between storing an upload and
    /// writing its row, or by rows removed with a brand). Looks at a batch per call, from
    /// where the last call stopped; objects younger than an hour are left alone.
    pub async fn sweep_media_objects(&self) -> Result<u64> {
        let store = self.media_store().clone();
        let cursor = self.sweep_state().0.clone();
        let keys =
            store.list(KeyPrefix::All, cursor.as_ref(), SWEEP_BATCH).await.map_err(internal("cannot list media"))?;
        self.sweep_state().0 = if keys.len() < SWEEP_BATCH { None } else { keys.last().cloned() };
        let young = self.now() - SWEEP_GRACE;
        let mut removed = 0;
        for key in keys {
            let made = key
                .media_id()
                .get_timestamp()
                .and_then(|t| {
                    let (secs, nanos) = t.to_unix();
                    Timestamp::new(i64::try_from(secs).ok()?, i32::try_from(nanos).ok()?).ok()
                })
                .unwrap_or(Timestamp::MAX);
            if made > young || self.store().media_key_exists(key.as_str()).await? {
                continue;
            }
            store.delete(&key).await.map_err(internal("cannot delete a media object"))?;
            tracing::info!(key = %key, "removed a media object no row names");
            removed += 1;
        }
        Ok(removed)
    }

    /// Deletes renditions older than a day that no post uses (any more: the post was deleted
    /// or edited). Uploads stay until someone deletes them; renditions are remade on demand.
    pub async fn sweep_unused_renditions(&self) -> Result<u64> {
        let cursor = self.sweep_state().1;
        let before = self.now() - RENDITION_GRACE;
        let batch = self.store().renditions_made_before(before, cursor, RENDITION_BATCH).await?;
        self.sweep_state().1 = if (batch.len() as u32) < RENDITION_BATCH { None } else { batch.last().map(|r| r.id) };
        let mut removed = 0;
        for r in batch {
            if !self.store().media_uses(r.workspace_id, &[r.id]).await?.is_empty() {
                continue;
            }
            match self.store().delete_media(r.workspace_id, r.id).await {
                Ok(keys) => {
                    self.delete_objects(&keys).await;
                    tracing::info!(media = %r.id, "removed a rendition no post uses");
                    removed += 1;
                }
                Err(StorageError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(removed)
    }

    fn sweep_state(&self) -> std::sync::MutexGuard<'_, (Option<ObjectKey>, Option<MediaId>)> {
        // A panic while holding the lock leaves at worst a stale cursor.
        self.media_settings().sweep.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

type HmacSha256 = hmac::Hmac<Sha256>;
const PAYLOAD_LEN: usize = 16 + 16 + 8;
const TOKEN_LEN: usize = PAYLOAD_LEN + 32;

fn collect(errs: &mut ValidationErrors, e: ServiceError) {
    match e {
        ServiceError::Invalid(v) => errs.0.extend(v.0),
        other => errs.push("input", other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_cleaned_for_display() {
        assert_eq!(clean_file_name("C:\\Users\\ana\\IMG_0001.JPG", MediaFormat::Jpeg), "IMG_0001.JPG");
        assert_eq!(clean_file_name("../../etc/passwd", MediaFormat::Png), "passwd");
        assert_eq!(clean_file_name("a\u{202E}gpj.exe\n", MediaFormat::Jpeg), "agpj.exe");
        assert_eq!(clean_file_name("", MediaFormat::Webp), "upload.webp");
        assert_eq!(clean_file_name("...", MediaFormat::Gif), "upload.gif");
        assert_eq!(clean_file_name(&"x".repeat(500), MediaFormat::Jpeg).chars().count(), MAX_FILE_NAME_CHARS);
    }

    #[test]
    fn tags_are_normalised() {
        let t = normalize_tags(&["#Summer".into(), " summer ".into(), "Bread".into(), "".into()]).unwrap();
        assert_eq!(t, vec!["bread".to_owned(), "summer".to_owned()]);
        assert!(normalize_tags(&["<script>".into()]).is_err());
        assert!(normalize_tags(&["x".repeat(41)]).is_err());
        assert!(normalize_tags(&(0..21).map(|i| format!("t{i}")).collect::<Vec<_>>()).is_err());
    }
}
