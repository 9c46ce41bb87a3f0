//! The media library page: upload (a multipart form carrying the session's CSRF token as a
//! field), a list with thumbnails, alt text and tags per item, delete; and the public route
//! that serves media at signed, expiring URLs (what Instagram and TikTok fetch).

use super::auth::Empty;
use super::{
    Chrome, FieldError, FormOutcome, PageError, PageResult, WsCtx, fmt_ts, form_outcome, redirect_msg, render,
};
use crate::AppState;
use crate::api::media::{FormError, read_upload};
use crate::session::{CsrfForm, SESSION_COOKIE, check_same_origin, cookie};
use askama::Template;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nanopost_domain::ids::{BrandId, MediaId};
use nanopost_domain::role::Permission;
use nanopost_media::MediaError;
use nanopost_services::ServiceError;
use nanopost_services::media::{MediaUpdate, MediaUpload, UploadError};
use nanopost_storage::{MediaFilter, MediaRecord, MediaType, PageRequest};
use serde::Deserialize;
use uuid::Uuid;

/// One item as the page shows it.
pub struct MediaRow {
    pub id: String,
    pub url: String,
    pub is_image: bool,
    pub file_name: String,
    pub mime: String,
    pub size: String,
    pub dims: String,
    pub alt_text: String,
    pub tags: Vec<String>,
    /// `(tag, query string that filters by it)`.
    pub tag_links: Vec<(String, String)>,
    pub tags_text: String,
    pub created: String,
    pub digest: String,
    pub brand: String,
}

pub struct BrandOption {
    pub id: String,
    pub name: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "media.html")]
struct MediaPage {
    chrome: Chrome,
    ws: String,
    csrf: String,
    items: Vec<MediaRow>,
    brands: Vec<BrandOption>,
    tag: String,
    can_edit: bool,
    /// The query string of the next page (filters kept).
    next_query: Option<String>,
    errors: Vec<FieldError>,
    limits: String,
}

fn query(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

fn human_size(bytes: u64) -> String {
    match bytes {
        0..1_024 => format!("{bytes} B"),
        1_024..1_048_576 => format!("{:.0} KiB", bytes as f64 / 1024.0),
        _ => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
    }
}

fn row(state: &AppState, m: &MediaRecord, brand_names: &[(BrandId, String)]) -> MediaRow {
    let dims = match (m.width, m.height, m.duration_ms) {
        (Some(w), Some(h), Some(d)) => format!("{w}×{h}, {:.1} s", d as f64 / 1000.0),
        (Some(w), Some(h), None) => format!("{w}×{h}"),
        (_, _, Some(d)) => format!("{:.1} s", d as f64 / 1000.0),
        _ => String::new(),
    };
    MediaRow {
        id: m.id.to_string(),
        url: state.services.media_url(m.workspace_id, m.id),
        is_image: m.kind == MediaType::Image,
        file_name: m.file_name.clone(),
        mime: m.mime.clone(),
        size: human_size(m.bytes),
        dims,
        alt_text: m.alt_text.clone(),
        tags: m.tags.clone(),
        tag_links: m.tags.iter().map(|t| (t.clone(), query(&[("tag", t)]))).collect(),
        tags_text: m.tags.join(", "),
        created: fmt_ts(m.created_at),
        digest: m.digest.chars().take(7 + 12).collect(),
        brand: m
            .brand_id
            .and_then(|b| brand_names.iter().find(|(id, _)| *id == b).map(|(_, n)| n.clone()))
            .unwrap_or_default(),
    }
}

/// A readable upload limit line for the form.
fn limits_text(state: &AppState) -> String {
    let l = state.services.config().media.limits;
    format!(
        "JPEG, PNG, GIF or WebP images up to {}, MP4, MOV or WebM videos up to {}. Location and camera data are removed before the file is stored.",
        human_size(l.max_image_bytes),
        human_size(l.max_video_bytes)
    )
}

async fn page(state: &AppState, ctx: WsCtx, errors: Vec<FieldError>) -> Result<MediaPage, PageError> {
    let brand = ctx.query_value("brand").and_then(|b| b.parse::<BrandId>().ok());
    let tag = ctx.query_value("tag").unwrap_or_default().trim().trim_start_matches('#').to_lowercase();
    let after = ctx.query_value("after").and_then(|a| a.parse::<Uuid>().ok());
    let filter =
        MediaFilter { brand_id: brand, tag: Some(tag.clone()).filter(|t| !t.is_empty()), originals_only: true };
    let list = state.services.media_list(&ctx.actor, &filter, PageRequest { limit: 24, after }).await?;
    let brands = state.services.brands(&ctx.actor, PageRequest::first(PageRequest::MAX_LIMIT)).await?.items;
    let names: Vec<(BrandId, String)> = brands.iter().map(|b| (b.id, b.profile.name.clone())).collect();
    let next_query = list.next.map(|n| {
        let (b, a) = (brand.map(|b| b.to_string()).unwrap_or_default(), n.to_string());
        let mut q = vec![("after", a.as_str())];
        if !b.is_empty() {
            q.push(("brand", b.as_str()));
        }
        if !tag.is_empty() {
            q.push(("tag", tag.as_str()));
        }
        query(&q)
    });
    Ok(MediaPage {
        ws: ctx.ws_path(),
        csrf: ctx.chrome.csrf.clone(),
        items: list.items.iter().map(|m| row(state, m, &names)).collect(),
        brands: names
            .iter()
            .map(|(id, name)| BrandOption { id: id.to_string(), name: name.clone(), selected: Some(*id) == brand })
            .collect(),
        tag,
        can_edit: ctx.actor.can(Permission::EditContent),
        next_query,
        errors,
        limits: limits_text(state),
        chrome: ctx.chrome,
    })
}

pub async fn list(State(state): State<AppState>, ctx: WsCtx) -> PageResult {
    let p = page(&state, ctx, vec![]).await?;
    Ok(render(StatusCode::OK, &p))
}

fn error(label: &str, message: impl Into<String>) -> Vec<FieldError> {
    vec![FieldError { label: label.to_owned(), message: message.into() }]
}

/// The page again, with the status and a sentence saying what was wrong.
async fn rerender(state: &AppState, ctx: WsCtx, status: StatusCode, errors: Vec<FieldError>) -> PageResult {
    let p = page(state, ctx, errors).await?;
    Ok(render(status, &p))
}

/// The multipart upload form. Same-origin first, then the session's CSRF token (a form
/// field, checked before anything is stored), then the file.
pub async fn upload(State(state): State<AppState>, ctx: WsCtx, req: Request) -> PageResult {
    check_same_origin(req.headers(), &state)?;
    let session = cookie(req.headers(), SESSION_COOKIE).map(str::to_owned).unwrap_or_default();
    let fields = match read_upload(req, &state).await {
        Ok(f) => f,
        Err(e) => {
            let (status, message) = match e {
                FormError::NotMultipart => (
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "The upload did not arrive as a file form. Use the form on this page.".to_owned(),
                ),
                FormError::TooLarge(limit) => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("The file is larger than the {} allowed, so it was not stored.", human_size(limit as u64)),
                ),
                FormError::Malformed(m) => (StatusCode::BAD_REQUEST, super::sentence(&m)),
            };
            return rerender(&state, ctx, status, error("File", message)).await;
        }
    };
    if !fields.csrf.as_deref().is_some_and(|c| state.services.verify_csrf(&session, c)) {
        return Err(PageError::forbidden(
            "This form has expired or did not come from this site, so nothing was uploaded. Reload the page and try again.",
        ));
    }
    let Some((file_name, bytes)) = fields.file.filter(|(_, b)| !b.is_empty()) else {
        return rerender(&state, ctx, StatusCode::UNPROCESSABLE_ENTITY, error("File", "Choose a file to upload."))
            .await;
    };
    let brand_id = match fields.brand_id {
        Some(b) => match b.parse::<BrandId>() {
            Ok(id) => Some(id),
            Err(_) => {
                return rerender(
                    &state,
                    ctx,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    error("Brand", "Choose a brand from the list."),
                )
                .await;
            }
        },
        None => None,
    };
    let upload = MediaUpload { brand_id, file_name, bytes, alt_text: fields.alt_text, tags: fields.tags };
    match state.services.upload_media(&ctx.actor, upload).await {
        Ok(done) => {
            let msg = if done.existing { "media_existing" } else { "media_uploaded" };
            Ok(redirect_msg(&format!("{}/media", ctx.ws_path()), msg))
        }
        Err(UploadError::File(e)) => {
            let status = match e {
                MediaError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                MediaError::Unsupported(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                MediaError::TooManyPixels { .. } | MediaError::Malformed { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let message = format!("{} Nothing was stored.", super::sentence(&e.to_string()));
            rerender(&state, ctx, status, error("File", message)).await
        }
        Err(UploadError::Service(e)) => match form_outcome(e) {
            FormOutcome::Rerender(status, errors) => rerender(&state, ctx, status, errors).await,
            FormOutcome::Page(p) => Err(p),
        },
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetaForm {
    pub alt_text: String,
    /// Comma-separated.
    pub tags: String,
}

pub async fn update(State(state): State<AppState>, ctx: WsCtx, form: CsrfForm<MetaForm>) -> PageResult {
    let id: MediaId = ctx.id("id")?;
    let f = form.data;
    let update = MediaUpdate { alt_text: Some(f.alt_text), tags: Some(f.tags.split(',').map(str::to_owned).collect()) };
    match state.services.update_media(&ctx.actor, id, update).await {
        Ok(_) => Ok(redirect_msg(&format!("{}/media", ctx.ws_path()), "media_saved")),
        Err(e) => outcome(&state, ctx, e).await,
    }
}

pub async fn delete(State(state): State<AppState>, ctx: WsCtx, _form: CsrfForm<Empty>) -> PageResult {
    let id: MediaId = ctx.id("id")?;
    match state.services.delete_media(&ctx.actor, id).await {
        Ok(()) => Ok(redirect_msg(&format!("{}/media", ctx.ws_path()), "media_deleted")),
        Err(e) => outcome(&state, ctx, e).await,
    }
}

async fn outcome(state: &AppState, ctx: WsCtx, e: ServiceError) -> PageResult {
    match form_outcome(e) {
        FormOutcome::Rerender(status, errors) => rerender(state, ctx, status, errors).await,
        FormOutcome::Page(p) => Err(p),
    }
}

/// `GET /media/{token}`: the bytes behind a signed URL. Anything wrong (bad signature,
/// expired, deleted) is the same bare 404, so the answer tells nothing.
pub async fn serve(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let not_found = || {
        (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::CACHE_CONTROL, "no-store")],
            "Not found",
        )
            .into_response()
    };
    let served = match state.services.media_by_token(&token).await {
        Ok(s) => s,
        Err(ServiceError::NotFound) => return not_found(),
        Err(e) => {
            tracing::error!(error = %e, "serving a media file failed");
            return (StatusCode::SERVICE_UNAVAILABLE, [(header::CACHE_CONTROL, "no-store")], "Try again later")
                .into_response();
        }
    };
    let mut res = Response::new(Body::from(served.bytes));
    let h = res.headers_mut();
    let ct = HeaderValue::from_str(&served.mime).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, ct);
    if let Ok(v) = HeaderValue::from_str(&format!("private, max-age={}", served.max_age)) {
        h.insert(header::CACHE_CONTROL, v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("inline"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    res
}

/// Whether `path` is the page's upload route (it gets the larger body limit).
pub fn is_upload_path(path: &str) -> bool {
    let mut parts = path.trim_end_matches('/').split('/');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next()),
        (Some(""), Some("w"), Some(_), Some("media"), None)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_upload_route_gets_the_larger_body_limit() {
        assert!(is_upload_path("/w/0190f2b1-0000-7000-8000-000000000000/media"));
        assert!(is_upload_path("/w/x/media/"));
        for other in ["/w/x/media/1", "/w/x/media/1/delete", "/w/x/brands", "/media/token", "/api/v1/media", "/w/media"]
        {
            assert!(!is_upload_path(other), "{other}");
        }
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(20 * 1024 * 1024), "20.0 MiB");
        assert_eq!(human_size(3 * 1024), "3 KiB");
    }
}
