//! Routing for the TikTok listener, and the user info, creator info, posting, upload, status and
//! video list endpoints.

use super::errors::{self, ApiError, invalid_params};
use super::oauth;
use super::state::{Publish, PublishKind, Source, State, Token};
use super::{Inner, RateLimits};
use crate::common::{json, ok_json};
use crate::consent::escape;
use crate::fetch::{Sniffed, fetch_loopback, sniff};
use crate::incoming::Incoming;
use crate::server::lock;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;

const MB: u64 = 1024 * 1024;

pub(super) async fn handle(inner: Arc<Inner>, req: Incoming) -> Response {
    let segs = req.seg();
    let result = match (req.method.as_str(), segs.as_slice()) {
        ("GET", ["v2", "auth", "authorize"]) => return oauth::authorize_page(&inner, &req),
        ("POST", ["v2", "auth", "authorize"]) => return oauth::authorize_submit(&inner, &req),
        ("POST", ["v2", "oauth", "token"]) => return oauth::token(&inner, &req),
        ("POST", ["v2", "oauth", "revoke"]) => return oauth::revoke(&inner, &req),
        ("PUT", ["video"] | ["upload"]) => return upload_chunk(&inner, &req),
        ("GET", [user, "video", id]) if user.starts_with('@') => return video_page(&inner, id),
        ("GET", ["v2", "user", "info"]) => user_info(&inner, &req),
        ("POST", ["v2", "post", "publish", "creator_info", "query"]) => creator_info(&inner, &req),
        ("POST", ["v2", "post", "publish", "video", "init"]) => init(inner.clone(), &req, Init::DirectVideo).await,
        ("POST", ["v2", "post", "publish", "inbox", "video", "init"]) => {
            init(inner.clone(), &req, Init::InboxVideo).await
        }
        ("POST", ["v2", "post", "publish", "content", "init"]) => init(inner.clone(), &req, Init::Photo).await,
        ("POST", ["v2", "post", "publish", "status", "fetch"]) => status_fetch(&inner, &req),
        ("POST", ["v2", "video", "list"]) => video_list(&inner, &req),
        _ => Err(invalid_params(format!("unknown endpoint {} {}", req.method, req.path))),
    };
    let log_id = lock(&inner.state).log_id();
    match result {
        Ok(data) => ok_json(json!({"data": data, "error": {"code": "ok", "message": "", "log_id": log_id}})),
        Err(e) => e.response(&log_id),
    }
}

fn authed(st: &State, inner: &Inner, req: &Incoming) -> Result<(String, Token), ApiError> {
    let value = req.bearer().map(str::to_owned);
    let token = st.check_token(value.as_deref(), inner.now())?;
    Ok((value.unwrap_or_default(), token))
}

fn require(token: &Token, any_of: &[&str]) -> Result<(), ApiError> {
    if token.scopes.iter().any(|s| any_of.contains(&s.as_str())) {
        Ok(())
    } else {
        Err(errors::api("scope_not_authorized"))
    }
}

fn limits(st: &State) -> RateLimits {
    st.settings.rate_limits.clone().unwrap_or(RateLimits {
        creator_info_per_minute: None,
        init_per_minute: None,
        status_per_minute: None,
    })
}

fn user_info(inner: &Inner, req: &Incoming) -> Result<Value, ApiError> {
    let st = lock(&inner.state);
    let (_, token) = authed(&st, inner, req)?;
    require(&token, &["user.info.basic"])?;
    let creator = st.creator(&token.open_id).ok_or_else(|| errors::api("access_token_invalid"))?;
    let fields = req.query("fields").map(|f| crate::common::split_list(f, &[','])).unwrap_or_default();
    let profile = ["username", "bio_description", "profile_deep_link", "is_verified"];
    if fields.iter().any(|f| profile.contains(&f.as_str())) {
        require(&token, &["user.info.profile"])?;
    }
    let all = json!({
        "open_id": creator.open_id,
        "union_id": creator.union_id,
        "avatar_url": format!("https://fake.invalid/tiktok/{}.jpg", creator.spec.username),
        "display_name": creator.spec.nickname,
        "username": creator.spec.username,
        "bio_description": "",
        "is_verified": false,
    });
    let mut user = serde_json::Map::new();
    for f in fields {
        if let Some(v) = all.get(&f) {
            user.insert(f, v.clone());
        }
    }
    Ok(json!({ "user": user }))
}

fn creator_info(inner: &Inner, req: &Incoming) -> Result<Value, ApiError> {
    let now = inner.now();
    let mut st = lock(&inner.state);
    let (value, token) = authed(&st, inner, req)?;
    require(&token, &["video.publish"])?;
    let limit = limits(&st).creator_info_per_minute;
    st.rate(&value, "creator_info", limit, now)?;
    let c = st.creator(&token.open_id).ok_or_else(|| errors::api("access_token_invalid"))?;
    Ok(json!({
        "creator_avatar_url": format!("https://fake.invalid/tiktok/{}.jpg", c.spec.username),
        "creator_username": c.spec.username,
        "creator_nickname": c.spec.nickname,
        "privacy_level_options": c.spec.privacy_level_options,
        "comment_disabled": c.spec.comment_disabled,
        "duet_disabled": c.spec.duet_disabled,
        "stitch_disabled": c.spec.stitch_disabled,
        "max_video_post_duration_sec": c.spec.max_video_post_duration_sec,
    }))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Init {
    DirectVideo,
    InboxVideo,
    Photo,
}

/// What an init will create, decided under the lock before any media is fetched.
struct Plan {
    open_id: String,
    kind: PublishKind,
    source: Source,
    privacy_level: Option<String>,
    title: String,
    body: Value,
}

async fn init(inner: Arc<Inner>, req: &Incoming, what: Init) -> Result<Value, ApiError> {
    let (plan, check_urls) = {
        let now = inner.now();
        let mut st = lock(&inner.state);
        let (value, token) = authed(&st, &inner, req)?;
        let limit = limits(&st).init_per_minute;
        st.rate(&value, "init", limit, now)?;
        (plan(&st, &token, req, what, now)?, st.settings.check_media_urls)
    };
    let mut fail_reason = None;
    if check_urls && let Source::Pull { urls } = &plan.source {
        let photo = matches!(plan.kind, PublishKind::DirectPhoto | PublishKind::InboxPhoto);
        for url in urls {
            let fetched = fetch_loopback(url).await;
            let bad = match &fetched {
                Err(_) => Some(if photo { "photo_pull_failed" } else { "video_pull_failed" }),
                Ok(f) if photo && !matches!(sniff(&f.body), Sniffed::Jpeg | Sniffed::Webp) => {
                    Some("file_format_check_failed")
                }
                Ok(f) if !photo && !matches!(sniff(&f.body), Sniffed::IsoVideo | Sniffed::Webm) => {
                    Some("file_format_check_failed")
                }
                Ok(_) => None,
            };
            if let Some(reason) = bad {
                fail_reason = Some(reason.to_owned());
                break;
            }
        }
    }
    let now = inner.now();
    let base = lock(&inner.base_url).clone();
    let mut st = lock(&inner.state);
    let n = st.ids.next("publish");
    let publish_id = match (&plan.kind, &plan.source) {
        (PublishKind::DirectPhoto | PublishKind::InboxPhoto, _) => {
            format!("p_pub_url~v2-1.{:019}", 7_400_000_000_000_000_000u64 + n)
        }
        (PublishKind::InboxVideo, Source::Upload { .. }) => {
            format!("v_inbox_file~v2-1.{:019}", 7_400_000_000_000_000_000u64 + n)
        }
        (PublishKind::InboxVideo, Source::Pull { .. }) => {
            format!("v_inbox_url~v2-1.{:019}", 7_400_000_000_000_000_000u64 + n)
        }
        (_, Source::Upload { .. }) => format!("v_pub_file~v2-1.{:019}", 7_400_000_000_000_000_000u64 + n),
        (_, Source::Pull { .. }) => format!("v_pub_url~v2-1.{:019}", 7_400_000_000_000_000_000u64 + n),
    };
    let injected = st.next_publish_failures.pop_front();
    let readiness = st.settings.publish_readiness;
    let mut source = plan.source;
    let upload_url = match &mut source {
        Source::Upload { upload_id, .. } => {
            *upload_id = format!("fakeUpload{n:06}");
            Some(format!("{base}/video/?upload_id={upload_id}&upload_token=fakeUploadToken{n:06}"))
        }
        Source::Pull { .. } => None,
    };
    let pull = matches!(source, Source::Pull { .. });
    st.publishes.push(Publish {
        publish_id: publish_id.clone(),
        open_id: plan.open_id,
        kind: plan.kind,
        source,
        privacy_level: plan.privacy_level,
        title: plan.title,
        body: plan.body,
        created_at: now,
        processing_since: pull.then_some(now),
        polls: 0,
        readiness,
        fail_reason: injected.or(fail_reason),
        post_id: None,
        polls_since_complete: 0,
    });
    let mut data = json!({ "publish_id": publish_id });
    if let Some(url) = upload_url {
        data["upload_url"] = json!(url);
    }
    Ok(data)
}

fn plan(st: &State, token: &Token, req: &Incoming, what: Init, now: jiff::Timestamp) -> Result<Plan, ApiError> {
    let body = req.json().map_err(invalid_params)?;
    let creator = st.creator(&token.open_id).ok_or_else(|| errors::api("access_token_invalid"))?;
    let kind = match what {
        Init::DirectVideo => PublishKind::DirectVideo,
        Init::InboxVideo => PublishKind::InboxVideo,
        Init::Photo => match body["post_mode"].as_str() {
            Some("DIRECT_POST") => PublishKind::DirectPhoto,
            Some("MEDIA_UPLOAD") => PublishKind::InboxPhoto,
            other => {
                return Err(invalid_params(format!("post_mode must be DIRECT_POST or MEDIA_UPLOAD, got {other:?}")));
            }
        },
    };
    require(token, if kind.is_direct() { &["video.publish"] } else { &["video.upload", "video.publish"] })?;
    if what == Init::Photo && body["media_type"].as_str() != Some("PHOTO") {
        return Err(invalid_params("media_type must be PHOTO"));
    }
    let post_info = &body["post_info"];
    let title = post_info["title"].as_str().unwrap_or("").to_owned();
    let s = &st.settings;
    let title_limit = if what == Init::Photo { s.photo_title_limit } else { s.video_title_limit };
    if title.chars().count() > title_limit {
        return Err(invalid_params(format!("post_info.title is longer than {title_limit} characters")));
    }
    if post_info["description"].as_str().is_some_and(|d| d.chars().count() > s.photo_description_limit) {
        return Err(invalid_params(format!(
            "post_info.description is longer than {} characters",
            s.photo_description_limit
        )));
    }

    let privacy_level = post_info["privacy_level"].as_str().map(str::to_owned);
    if kind.is_direct() {
        let level = privacy_level.as_deref().ok_or_else(|| invalid_params("post_info.privacy_level is required"))?;
        if !s.audited && level != "SELF_ONLY" {
            return Err(errors::api("unaudited_client_can_only_post_to_private_accounts"));
        }
        if !creator.spec.privacy_level_options.iter().any(|o| o == level) {
            return Err(errors::api("privacy_level_option_mismatch"));
        }
        if let Some(cap) = s.daily_post_cap
            && st.posts_today(&token.open_id, now) >= cap as usize
        {
            return Err(errors::api("spam_risk_too_many_posts"));
        }
    }
    if !s.audited {
        let active = st.active_posters(now);
        if !active.contains(&token.open_id) && active.len() >= s.unaudited_daily_user_cap as usize {
            return Err(errors::api("reached_active_user_cap"));
        }
    }

    let source_info = &body["source_info"];
    let source = match (source_info["source"].as_str(), what) {
        (Some("PULL_FROM_URL"), Init::Photo) => {
            let images: Vec<String> = source_info["photo_images"]
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            if images.is_empty() || images.len() > s.max_photos {
                return Err(invalid_params(format!("source_info.photo_images needs 1 to {} URLs", s.max_photos)));
            }
            let cover = source_info["photo_cover_index"].as_u64().unwrap_or(0);
            if cover as usize >= images.len() {
                return Err(invalid_params("source_info.photo_cover_index is out of range"));
            }
            Source::Pull { urls: images }
        }
        (Some("PULL_FROM_URL"), _) => {
            let url =
                source_info["video_url"].as_str().ok_or_else(|| invalid_params("source_info.video_url is required"))?;
            Source::Pull { urls: vec![url.to_owned()] }
        }
        (Some("FILE_UPLOAD"), Init::Photo) => return Err(invalid_params("photo posts only support PULL_FROM_URL")),
        (Some("FILE_UPLOAD"), _) => upload_source(source_info)?,
        (other, _) => {
            return Err(invalid_params(format!(
                "source_info.source must be PULL_FROM_URL or FILE_UPLOAD, got {other:?}"
            )));
        }
    };
    if let (Source::Pull { urls }, Some(prefixes)) = (&source, &s.verified_url_prefixes)
        && urls.iter().any(|u| !prefixes.iter().any(|p| u.starts_with(p.as_str())))
    {
        return Err(errors::api("url_ownership_unverified"));
    }
    Ok(Plan { open_id: token.open_id.clone(), kind, source, privacy_level, title, body })
}

/// FILE_UPLOAD sizes: chunks of 5–64 MB (the last up to 128 MB), `total_chunk_count =
/// floor(video_size / chunk_size)`, files under 5 MB in one chunk.
fn upload_source(info: &Value) -> Result<Source, ApiError> {
    let (Some(size), Some(chunk), Some(total)) =
        (info["video_size"].as_u64(), info["chunk_size"].as_u64(), info["total_chunk_count"].as_u64())
    else {
        return Err(invalid_params("source_info needs video_size, chunk_size and total_chunk_count"));
    };
    if size == 0 || chunk == 0 {
        return Err(invalid_params("video_size and chunk_size must be positive"));
    }
    let valid = if size < 5 * MB {
        chunk == size && total == 1
    } else {
        (5 * MB..=64 * MB).contains(&chunk) && total == (size / chunk).max(1) && size - chunk * (total - 1) <= 128 * MB
    };
    if !valid || !(1..=1000).contains(&total) {
        return Err(invalid_params(format!(
            "invalid chunking: video_size {size}, chunk_size {chunk}, total_chunk_count {total} (expected floor(video_size/chunk_size), chunks 5-64 MB)"
        )));
    }
    // The id is assigned with the publish id, under the same lock.
    Ok(Source::Upload {
        video_size: size,
        chunk_size: chunk,
        total_chunks: total,
        received: 0,
        chunks: 0,
        upload_id: String::new(),
    })
}

/// `PUT <upload_url>` with `Content-Range: bytes first-last/total`: 206 until the last chunk, 201.
fn upload_chunk(inner: &Inner, req: &Incoming) -> Response {
    let now = inner.now();
    let mut st = lock(&inner.state);
    let log_id = st.log_id();
    let fail = |message: String| invalid_params(message).response(&log_id);
    let Some(upload_id) = req.query("upload_id") else { return fail("upload_id is missing".into()) };
    let Some(publish) =
        st.publishes.iter_mut().find(|p| matches!(&p.source, Source::Upload { upload_id: u, .. } if u == upload_id))
    else {
        return fail(format!("unknown upload_id {upload_id}"));
    };
    if !matches!(req.header("content-type"), Some("video/mp4" | "video/quicktime" | "video/webm")) {
        return fail("Content-Type must be video/mp4, video/quicktime or video/webm".into());
    }
    let Some((first, last, total)) = req.header("content-range").and_then(parse_content_range) else {
        return fail("Content-Range must be `bytes <first>-<last>/<total>`".into());
    };
    let Source::Upload { video_size, chunk_size, total_chunks, received, chunks, .. } = &mut publish.source else {
        return fail("not an upload".into());
    };
    if total != *video_size || first != *received || last < first || req.body.len() as u64 != last - first + 1 {
        return fail(format!(
            "chunk out of order or wrong size: expected bytes {}-…/{video_size}, got {first}-{last}/{total} with {} bytes",
            received,
            req.body.len()
        ));
    }
    let is_last = *chunks + 1 == *total_chunks;
    let expected_len = if is_last { *video_size - *received } else { *chunk_size };
    if req.body.len() as u64 != expected_len {
        return fail(format!("chunk {} must be {expected_len} bytes", *chunks + 1));
    }
    *received += req.body.len() as u64;
    *chunks += 1;
    if is_last {
        publish.processing_since = Some(now);
        StatusCode::CREATED.into_response()
    } else {
        StatusCode::PARTIAL_CONTENT.into_response()
    }
}

fn parse_content_range(value: &str) -> Option<(u64, u64, u64)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    Some((first.trim().parse().ok()?, last.trim().parse().ok()?, total.trim().parse().ok()?))
}

fn status_fetch(inner: &Inner, req: &Incoming) -> Result<Value, ApiError> {
    let now = inner.now();
    let mut st = lock(&inner.state);
    let (value, token) = authed(&st, inner, req)?;
    require(&token, &["video.publish", "video.upload"])?;
    let limit = limits(&st).status_per_minute;
    st.rate(&value, "status", limit, now)?;
    let body = req.json().map_err(invalid_params)?;
    let id = body["publish_id"].as_str().ok_or_else(|| invalid_params("publish_id is required"))?.to_owned();
    let delay = st.settings.post_id_delay_polls;
    let n = st.publishes.iter().filter(|p| p.post_id.is_some()).count() as u64;
    let publish = st
        .publishes
        .iter_mut()
        .find(|p| p.publish_id == id && p.open_id == token.open_id)
        .ok_or_else(|| invalid_params(format!("publish_id {id} not found")))?;
    let status = publish.status(now);
    if status.starts_with("PROCESSING") && publish.processing_since.is_some() {
        publish.polls += 1;
    }
    let mut data = json!({"status": status});
    match status {
        "FAILED" => data["fail_reason"] = json!(publish.fail_reason),
        "PUBLISH_COMPLETE" => {
            if publish.post_id.is_none() {
                publish.post_id = Some(7_300_000_000_000_000_000 + n + 1);
            }
            let public = publish.privacy_level.as_deref() != Some("SELF_ONLY");
            let ids: Vec<u64> = if public && publish.polls_since_complete >= delay {
                publish.post_id.into_iter().collect()
            } else {
                Vec::new()
            };
            publish.polls_since_complete += 1;
            data["publicaly_available_post_id"] = json!(ids);
        }
        _ => data["publicaly_available_post_id"] = json!([]),
    }
    match &publish.source {
        Source::Upload { received, .. } => data["uploaded_bytes"] = json!(received),
        Source::Pull { .. } if status != "PROCESSING_DOWNLOAD" => data["downloaded_bytes"] = json!(1_048_576),
        Source::Pull { .. } => data["downloaded_bytes"] = json!(0),
    }
    Ok(data)
}

fn video_list(inner: &Inner, req: &Incoming) -> Result<Value, ApiError> {
    let now = inner.now();
    let st = lock(&inner.state);
    let (_, token) = authed(&st, inner, req)?;
    require(&token, &["video.list"])?;
    let body = req.json().unwrap_or(json!({}));
    let max = body["max_count"].as_u64().unwrap_or(10).clamp(1, 20) as usize;
    let cursor = body["cursor"].as_u64().unwrap_or(0) as usize;
    let username = st.creator(&token.open_id).map(|c| c.spec.username.clone()).unwrap_or_default();
    let base = lock(&inner.base_url).clone();
    let fields = req.query("fields").map(|f| crate::common::split_list(f, &[','])).unwrap_or_else(|| vec!["id".into()]);
    let mine: Vec<&Publish> = st
        .publishes
        .iter()
        .rev()
        .filter(|p| p.open_id == token.open_id && p.post_id.is_some() && p.status(now) == "PUBLISH_COMPLETE")
        .collect();
    let videos: Vec<Value> = mine
        .iter()
        .skip(cursor)
        .take(max)
        .map(|p| {
            let id = p.post_id.unwrap_or_default().to_string();
            let all = json!({
                "id": id,
                "title": p.title,
                "video_description": p.title,
                "create_time": p.created_at.as_second(),
                "share_url": format!("{base}/@{username}/video/{id}"),
                "cover_image_url": format!("https://fake.invalid/tiktok/cover/{id}.jpg"),
                "duration": 15,
            });
            let mut out = serde_json::Map::new();
            for f in &fields {
                if let Some(v) = all.get(f) {
                    out.insert(f.clone(), v.clone());
                }
            }
            Value::Object(out)
        })
        .collect();
    let next = cursor + videos.len();
    Ok(json!({"videos": videos, "cursor": next, "has_more": next < mine.len()}))
}

fn video_page(inner: &Inner, id: &str) -> Response {
    let st = lock(&inner.state);
    let Some(p) = st.publishes.iter().find(|p| p.post_id.map(|n| n.to_string()).as_deref() == Some(id)) else {
        return json(StatusCode::NOT_FOUND, json!({"error": "video not found"}));
    };
    let username = st.creator(&p.open_id).map(|c| c.spec.username.clone()).unwrap_or_default();
    let urls = match &p.source {
        Source::Pull { urls } => urls.clone(),
        Source::Upload { .. } => Vec::new(),
    };
    let mut html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>@{u} on TikTok (fake)</title></head><body>\
         <h1>@{u}</h1><p>{t}</p><p><small>{privacy} · {kind}</small></p>",
        u = escape(&username),
        t = escape(&p.title),
        privacy = escape(p.privacy_level.as_deref().unwrap_or("")),
        kind = p.kind.as_str()
    );
    for url in urls {
        html.push_str(&format!("<p><a href=\"{u}\">{u}</a></p>", u = escape(&url)));
    }
    html.push_str("</body></html>");
    Html(html).into_response()
}
