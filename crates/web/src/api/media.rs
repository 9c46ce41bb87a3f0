//! The media library: upload (multipart), list, read, change alt text and tags, delete.
//!
//! Uploads are checked by content, never by name or declared type: 413 when larger than the
//! limit for their kind, 415 when not a supported image or video, 422 when broken or when the
//! declared size would explode on decoding.

use super::extract::{ApiActor, ApiJson, ApiPath, ApiQuery};
use super::types::{link_headers, page_request};
use crate::AppState;
use crate::problem::{Problem, ProblemKind};
use axum::Json;
use axum::extract::{FromRequest, Multipart, OriginalUri, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use jiff::Timestamp;
use nanopost_domain::ids::{BrandId, MediaId};
use nanopost_media::MediaError;
use nanopost_services::media::{MediaUpdate, MediaUpload, UploadError};
use nanopost_storage::{MediaFilter, MediaRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Text fields of an upload form are short; more is refused.
const MAX_TEXT_FIELD: usize = 8 * 1024;
const MAX_FIELDS: usize = 30;
/// Room for the multipart framing and text fields around the file.
pub const MULTIPART_OVERHEAD: usize = 256 * 1024;

/// The body limit of an upload route: the largest file allowed plus the form around it.
pub fn upload_body_limit(state: &AppState) -> usize {
    let l = state.services.config().media.limits;
    usize::try_from(l.max_image_bytes.max(l.max_video_bytes)).unwrap_or(usize::MAX).saturating_add(MULTIPART_OVERHEAD)
}

/// What a multipart upload form held.
#[derive(Default)]
pub struct UploadFields {
    /// `(file name, bytes)`.
    pub file: Option<(String, Vec<u8>)>,
    pub brand_id: Option<String>,
    pub alt_text: String,
    pub tags: Vec<String>,
    /// The web form's CSRF token (the API has none: it takes no cookies).
    pub csrf: Option<String>,
}

/// Why a multipart body could not be read.
#[derive(Debug)]
pub enum FormError {
    NotMultipart,
    TooLarge(usize),
    Malformed(String),
}

impl From<FormError> for Problem {
    fn from(e: FormError) -> Self {
        match e {
            FormError::NotMultipart => {
                Problem::unsupported_media_type("send the file as multipart/form-data with a part named \"file\"")
            }
            FormError::TooLarge(limit) => {
                Problem::new(ProblemKind::PayloadTooLarge, format!("the upload exceeds the limit of {limit} bytes"))
            }
            FormError::Malformed(m) => Problem::bad_request(m),
        }
    }
}

/// Reads an upload form: one `file` part, and optional `brand_id`, `alt_text`, `tags`
/// (comma-separated, or the part repeated) and `csrf`. Bounded: the file by `max_file`, each
/// text part by 8 KiB, the number of parts by 30.
pub async fn read_upload(req: Request, state: &AppState) -> Result<UploadFields, FormError> {
    let max_file = upload_body_limit(state) - MULTIPART_OVERHEAD;
    let mut form = Multipart::from_request(req, state).await.map_err(|_| FormError::NotMultipart)?;
    let mut out = UploadFields::default();
    let mut parts = 0;
    let too_large = |e: &axum::extract::multipart::MultipartError| e.status() == StatusCode::PAYLOAD_TOO_LARGE;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if too_large(&e) => return Err(FormError::TooLarge(max_file)),
            Err(e) => {
                return Err(FormError::Malformed(format!("the multipart body could not be read ({})", e.body_text())));
            }
        };
        parts += 1;
        if parts > MAX_FIELDS {
            return Err(FormError::Malformed("the form has too many parts".into()));
        }
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            if out.file.is_some() {
                return Err(FormError::Malformed("send one file per upload".into()));
            }
            let file_name = field.file_name().unwrap_or("").to_owned();
            let mut field = field;
            let mut bytes = Vec::new();
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => {
                        if bytes.len() + chunk.len() > max_file {
                            return Err(FormError::TooLarge(max_file));
                        }
                        bytes.extend_from_slice(&chunk);
                    }
                    Ok(None) => break,
                    Err(e) if too_large(&e) => return Err(FormError::TooLarge(max_file)),
                    Err(e) => {
                        return Err(FormError::Malformed(format!("the file could not be read ({})", e.body_text())));
                    }
                }
            }
            out.file = Some((file_name, bytes));
            continue;
        }
        let mut field = field;
        let mut text = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    if text.len() + chunk.len() > MAX_TEXT_FIELD {
                        return Err(FormError::Malformed(format!("the form field {name:?} is too long")));
                    }
                    text.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) if too_large(&e) => return Err(FormError::TooLarge(max_file)),
                Err(e) => return Err(FormError::Malformed(format!("the form could not be read ({})", e.body_text()))),
            }
        }
        let text = String::from_utf8(text)
            .map_err(|_| FormError::Malformed(format!("the form field {name:?} is not valid UTF-8 text")))?;
        match name.as_str() {
            "brand_id" => out.brand_id = Some(text.trim().to_owned()).filter(|s| !s.is_empty()),
            "alt_text" => out.alt_text = text,
            "tags" => out.tags.extend(text.split(',').map(str::to_owned)),
            "csrf" => out.csrf = Some(text),
            other => {
                let shown: String = other.chars().filter(|c| !c.is_control()).take(40).collect();
                return Err(FormError::Malformed(format!(
                    "unknown form field {shown:?}; the fields are file, brand_id, alt_text and tags"
                )));
            }
        }
    }
    Ok(out)
}

/// The problem for a refused upload: the file's own faults get their own status.
pub fn upload_problem(e: UploadError) -> Problem {
    match e {
        UploadError::File(f) => {
            let detail = f.to_string();
            match f {
                MediaError::TooLarge { .. } => Problem::new(ProblemKind::PayloadTooLarge, detail),
                MediaError::Unsupported(_) => Problem::unsupported_media_type(detail),
                MediaError::TooManyPixels { .. } | MediaError::Malformed { .. } => {
                    Problem::invalid_field("file", detail)
                }
            }
        }
        UploadError::Service(s) => s.into(),
    }
}

/// The upload form (`multipart/form-data`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct MediaUploadForm {
    /// The image (JPEG, PNG, GIF, WebP) or video (MP4, MOV, WebM). The type is read from the
    /// content; metadata (EXIF, GPS, XMP, comments) is removed before storing.
    #[schema(content_media_type = "application/octet-stream", value_type = String, format = Binary)]
    file: Vec<u8>,
    /// The brand the item belongs to (optional).
    brand_id: Option<Uuid>,
    /// A description for people who cannot see the picture.
    alt_text: Option<String>,
    /// Comma-separated.
    tags: Option<String>,
}

/// A media item. `url` is signed and expires (see `media.url_ttl_secs`).
#[derive(Debug, Serialize, ToSchema)]
pub struct MediaResponse {
    pub id: Uuid,
    pub brand_id: Option<Uuid>,
    /// `image` or `video`.
    pub kind: String,
    /// Sniffed from the content.
    pub mime: String,
    pub bytes: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u64>,
    /// `sha256:<hex>` of the stored bytes: what a post's media reference pins.
    pub digest: String,
    pub file_name: String,
    pub alt_text: String,
    pub tags: Vec<String>,
    /// Renditions: the item they were made from.
    pub parent_id: Option<Uuid>,
    /// Renditions: what was done (crop, pad, scale, JPEG).
    #[schema(value_type = Option<Object>)]
    pub fixes: Option<serde_json::Value>,
    pub created_at: Timestamp,
    /// Where to fetch the bytes, until it expires.
    pub url: String,
}

fn response(s: &AppState, m: MediaRecord) -> MediaResponse {
    let url = s.services.media_url(m.workspace_id, m.id);
    MediaResponse {
        id: m.id.as_uuid(),
        brand_id: m.brand_id.map(|b| b.as_uuid()),
        kind: m.kind.as_str().to_owned(),
        mime: m.mime,
        bytes: m.bytes,
        width: m.width,
        height: m.height,
        duration_ms: m.duration_ms,
        digest: m.digest,
        file_name: m.file_name,
        alt_text: m.alt_text,
        tags: m.tags,
        parent_id: m.parent_id.map(|p| p.as_uuid()),
        fixes: m.fixes.and_then(|f| serde_json::from_str(&f).ok()),
        created_at: m.created_at,
        url,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MediaPage {
    pub items: Vec<MediaResponse>,
    /// Pass as `after` to read the next page; `null` on the last page.
    pub next: Option<Uuid>,
}

/// `?limit=&after=&brand=&tag=&renditions=`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MediaQuery {
    /// Items per page, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    pub after: Option<Uuid>,
    /// Only this brand's items.
    pub brand: Option<Uuid>,
    /// Only items with this tag.
    pub tag: Option<String>,
    /// Include renditions made for networks (default false: uploads only).
    pub renditions: Option<bool>,
}

#[utoipa::path(
    post, operation_id = "upload_media", path = "/api/v1/media", tag = "media",
    request_body(content = inline(MediaUploadForm), content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = MediaResponse,
            headers(("Location" = String, description = "The new item's URL"))),
        (status = 200, description = "The same bytes were uploaded before for this brand: that item", body = MediaResponse),
    ),
)]
pub async fn upload(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    req: Request,
) -> Result<(StatusCode, [(header::HeaderName, String); 1], Json<MediaResponse>), Problem> {
    let fields = read_upload(req, &s).await?;
    let Some((file_name, bytes)) = fields.file else {
        return Err(Problem::invalid_field("file", "is required: a part named \"file\" holding the image or video"));
    };
    let brand_id = match fields.brand_id {
        Some(b) => Some(b.parse::<BrandId>().map_err(|_| Problem::invalid_field("brand_id", "must be a UUID"))?),
        None => None,
    };
    let upload = MediaUpload { brand_id, file_name, bytes, alt_text: fields.alt_text, tags: fields.tags };
    let done = s.services.upload_media(&actor, upload).await.map_err(upload_problem)?;
    let status = if done.existing { StatusCode::OK } else { StatusCode::CREATED };
    let location = format!("/api/v1/media/{}", done.media.id);
    Ok((status, [(header::LOCATION, location)], Json(response(&s, done.media))))
}

#[utoipa::path(
    get, operation_id = "list_media", path = "/api/v1/media", tag = "media",
    params(MediaQuery),
    responses((status = 200, description = "A page of media, newest first", body = MediaPage,
        headers(("Link" = String, description = "`<…>; rel=\"next\"` when there is a next page")))),
)]
pub async fn list(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    OriginalUri(uri): OriginalUri,
    ApiQuery(q): ApiQuery<MediaQuery>,
) -> Result<(HeaderMap, Json<MediaPage>), Problem> {
    let filter = MediaFilter {
        brand_id: q.brand.map(BrandId::from_uuid),
        tag: q.tag.as_deref().map(|t| t.trim().trim_start_matches('#').to_lowercase()).filter(|t| !t.is_empty()),
        originals_only: !q.renditions.unwrap_or(false),
    };
    let page = s.services.media_list(&actor, &filter, page_request(q.limit, q.after)?).await?;
    let headers = link_headers(&uri, page.next);
    let items = page.items.into_iter().map(|m| response(&s, m)).collect();
    Ok((headers, Json(MediaPage { items, next: page.next })))
}

#[utoipa::path(
    get, operation_id = "get_media", path = "/api/v1/media/{id}", tag = "media",
    params(("id" = Uuid, Path, description = "Media id")),
    responses((status = 200, description = "The item", body = MediaResponse)),
)]
pub async fn get(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<MediaId>,
) -> Result<Json<MediaResponse>, Problem> {
    Ok(Json(response(&s, s.services.media_item(&actor, id).await?)))
}

/// What to change; omitted fields stay as they are.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaPatch {
    /// Up to 1,000 characters; empty to remove.
    pub alt_text: Option<String>,
    /// Replaces every tag (lower-cased, `#` dropped, at most 20).
    pub tags: Option<Vec<String>>,
}

#[utoipa::path(
    patch, operation_id = "update_media", path = "/api/v1/media/{id}", tag = "media",
    params(("id" = Uuid, Path, description = "Media id")),
    request_body = MediaPatch,
    responses((status = 200, description = "Updated", body = MediaResponse)),
)]
pub async fn update(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<MediaId>,
    ApiJson(body): ApiJson<MediaPatch>,
) -> Result<Json<MediaResponse>, Problem> {
    let m = s.services.update_media(&actor, id, MediaUpdate { alt_text: body.alt_text, tags: body.tags }).await?;
    Ok(Json(response(&s, m)))
}

#[utoipa::path(
    delete, operation_id = "delete_media", path = "/api/v1/media/{id}", tag = "media",
    params(("id" = Uuid, Path, description = "Media id")),
    responses((status = 204, description = "Deleted, with its renditions and files (409 while a post that is not archived uses it)")),
)]
pub async fn delete(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<MediaId>,
) -> Result<StatusCode, Problem> {
    s.services.delete_media(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
