//! Routing for both Instagram listeners, and the Graph endpoints: nodes, containers, publishing,
//! media lists, quota, permissions, permalink pages and the resumable upload.

use super::errors::{self, GraphError, by_subcode};
use super::oauth;
use super::state::{
    ChildMedia, Container, FB_LISTENER, Flow, IG_LISTENER, Media, State, StatusCode, Subject, Token, TokenKind,
    evaluate,
};
use super::{ContainerKind, Inner};
use crate::common::{json, ok_json, split_list};
use crate::consent::escape;
use crate::fetch::{Sniffed, fetch_loopback, image_dimensions, sniff};
use crate::incoming::Incoming;
use crate::server::lock;
use axum::http::StatusCode as Http;
use axum::response::{Html, IntoResponse, Response};
use jiff::Timestamp;
use serde_json::{Map, Value, json};
use std::sync::Arc;

pub(super) async fn handle(inner: Arc<Inner>, req: Incoming) -> Response {
    let all = req.seg();
    let segs = strip_version(&all);
    let (listener, method) = (req.listener, req.method.as_str());
    let result = match (listener, method, segs) {
        (IG_LISTENER, "GET", ["oauth", "authorize"]) => {
            return oauth::authorize_page(&inner, &req, Flow::InstagramLogin);
        }
        (IG_LISTENER, "POST", ["oauth", "authorize"]) => {
            return oauth::authorize_submit(&inner, &req, Flow::InstagramLogin);
        }
        (IG_LISTENER, "POST", ["oauth", "access_token"]) => return oauth::ig_code_exchange(&inner, &req),
        (IG_LISTENER, "GET", ["access_token"]) => return oauth::ig_exchange_long(&inner, &req),
        (IG_LISTENER, "GET", ["refresh_access_token"]) => return oauth::ig_refresh(&inner, &req),
        (FB_LISTENER, "GET", ["dialog", "oauth"]) => return oauth::authorize_page(&inner, &req, Flow::FacebookLogin),
        (FB_LISTENER, "POST", ["dialog", "oauth"]) => {
            return oauth::authorize_submit(&inner, &req, Flow::FacebookLogin);
        }
        (FB_LISTENER, "GET", ["oauth", "access_token"]) => return oauth::fb_access_token(&inner, &req),
        (_, "GET", ["p" | "reel", shortcode]) => return permalink_page(&inner, shortcode),
        (_, "POST", ["ig-api-upload", .., container]) => return resumable_upload(&inner, &req, container),
        (_, "GET", ["me"]) => get_me(&inner, &req),
        (_, "GET", ["me", "permissions"]) => get_permissions(&inner, &req),
        (_, "DELETE", ["me", "permissions"]) => revoke_permissions(&inner, &req),
        (_, "GET", ["me", "accounts"]) => get_pages(&inner, &req),
        (_, "POST", [ig, "media"]) => return create_container(inner.clone(), &req, ig).await,
        (_, "GET", [ig, "media"]) => list_media(&inner, &req, ig),
        (_, "POST", [ig, "media_publish"]) => publish(&inner, &req, ig),
        (_, "GET", [ig, "content_publishing_limit"]) => publishing_limit(&inner, &req, ig),
        (_, "GET", [media, "children"]) => media_children(&inner, &req, media),
        (_, "GET", [id]) => get_node(&inner, &req, id),
        (_, _, [id, ..]) => Err(unknown_object_or_path(&inner, method, id, &req.path)),
        _ => Err(errors::unknown_path(&req.path)),
    };
    match result {
        Ok(value) => ok_json(value),
        Err(e) => {
            let trace = lock(&inner.state).trace();
            e.response(&trace)
        }
    }
}

fn strip_version<'a, 'b>(segs: &'a [&'b str]) -> &'a [&'b str] {
    match segs.first() {
        Some(first) if is_version(first) => &segs[1..],
        _ => segs,
    }
}

fn is_version(seg: &str) -> bool {
    seg.strip_prefix('v')
        .is_some_and(|v| !v.is_empty() && v.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
}

fn token_of(req: &Incoming) -> Option<String> {
    req.param("access_token").or_else(|| req.bearer().map(str::to_owned))
}

fn authed(st: &State, inner: &Inner, req: &Incoming) -> Result<(String, Token), GraphError> {
    st.check_token(token_of(req).as_deref(), req.listener, inner.now())
}

fn unknown_object_or_path(inner: &Inner, method: &str, id: &str, path: &str) -> GraphError {
    let st = lock(&inner.state);
    let known = st.account(id).is_some()
        || st.containers.contains_key(id)
        || st.media.iter().any(|m| m.id == id)
        || st.pages.iter().any(|p| p.id == id);
    if known { errors::unknown_path(path) } else { errors::not_found(&method.to_ascii_lowercase(), id) }
}

/// The requested field names (nested selections like `children{id}` and modifiers like
/// `.limit(5)` are reduced to the top-level name).
fn requested_fields(req: &Incoming) -> Option<Vec<String>> {
    let raw = req.param("fields")?;
    let mut names = Vec::new();
    let (mut depth, mut current) = (0usize, String::new());
    for c in raw.chars() {
        match c {
            '{' | '(' => depth += 1,
            '}' | ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => names.push(std::mem::take(&mut current)),
            _ if depth == 0 => current.push(c),
            _ => {}
        }
    }
    names.push(current);
    Some(
        names
            .into_iter()
            .map(|n| n.split('.').next().unwrap_or("").trim().to_owned())
            .filter(|n| !n.is_empty())
            .collect(),
    )
}

/// `id` plus the requested (or default) fields that exist on the object.
fn select(all: Value, req: &Incoming, defaults: &[&str]) -> Value {
    let fields = requested_fields(req).unwrap_or_else(|| defaults.iter().map(|s| (*s).to_owned()).collect());
    let Value::Object(all) = all else { return all };
    let mut out = Map::new();
    if let Some(id) = all.get("id") {
        out.insert("id".into(), id.clone());
    }
    for field in fields {
        if let Some(v) = all.get(&field) {
            out.insert(field, v.clone());
        }
    }
    Value::Object(out)
}

fn require_basic(token: &Token) -> Result<(), GraphError> {
    let publish = if token.kind.is_instagram_login() {
        "instagram_business_content_publish"
    } else {
        "instagram_content_publish"
    };
    if token.scopes.iter().any(|s| s == publish) {
        return Ok(());
    }
    State::require_scope(token, "instagram_business_basic", "instagram_basic")
}

fn get_me(inner: &Inner, req: &Incoming) -> Result<Value, GraphError> {
    let st = lock(&inner.state);
    let (_, token) = authed(&st, inner, req)?;
    let all = match &token.subject {
        Subject::Ig(id) => {
            let a = st.account(id).ok_or_else(|| errors::not_found("get", "me"))?;
            let mut v = account_json(&st, a.id.as_str());
            v["id"] = json!(a.app_scoped_id);
            v["user_id"] = json!(a.id);
            v
        }
        Subject::FbUser(id) => {
            let u = st.fb_users.iter().find(|u| &u.id == id).ok_or_else(|| errors::not_found("get", "me"))?;
            json!({"id": u.id, "name": u.name})
        }
        Subject::Page(id) => {
            let p = st.pages.iter().find(|p| &p.id == id).ok_or_else(|| errors::not_found("get", "me"))?;
            json!({"id": p.id, "name": p.name})
        }
    };
    Ok(select(all, req, &["id"]))
}

fn account_json(st: &State, id: &str) -> Value {
    let Some(a) = st.account(id) else { return json!({}) };
    json!({
        "id": a.id,
        "ig_id": a.app_scoped_id,
        "username": a.username,
        "name": a.name,
        "account_type": a.account_type,
        "biography": a.biography,
        "profile_picture_url": format!("https://fake.invalid/avatars/{}.jpg", a.username),
        "followers_count": a.followers_count,
        "follows_count": a.follows_count,
        "media_count": st.media.iter().filter(|m| m.owner == a.id).count(),
    })
}

fn get_permissions(inner: &Inner, req: &Incoming) -> Result<Value, GraphError> {
    let st = lock(&inner.state);
    let (_, token) = authed(&st, inner, req)?;
    let mut data: Vec<Value> = token.scopes.iter().map(|s| json!({"permission": s, "status": "granted"})).collect();
    data.extend(token.declined.iter().map(|s| json!({"permission": s, "status": "declined"})));
    Ok(json!({ "data": data }))
}

fn revoke_permissions(inner: &Inner, req: &Incoming) -> Result<Value, GraphError> {
    let mut st = lock(&inner.state);
    let (_, token) = authed(&st, inner, req)?;
    let subject = match &token.subject {
        Subject::Page(page) => st
            .pages
            .iter()
            .find(|p| &p.id == page)
            .map(|p| Subject::FbUser(p.admin.clone()))
            .unwrap_or(token.subject.clone()),
        other => other.clone(),
    };
    st.revoke(&subject, &token.app_id);
    Ok(json!({"success": true}))
}

fn get_pages(inner: &Inner, req: &Incoming) -> Result<Value, GraphError> {
    let now = inner.now();
    let mut st = lock(&inner.state);
    let (user_token, token) = authed(&st, inner, req)?;
    let Subject::FbUser(user) = &token.subject else {
        return Err(errors::param("(#100) Tried accessing nonexisting field (accounts) on node type (Page)"));
    };
    let pages: Vec<_> = st.pages.iter().filter(|p| &p.admin == user).cloned().collect();
    let mut data = Vec::new();
    for page in pages {
        let existing = st
            .tokens
            .iter()
            .find(|(_, t)| {
                t.parent.as_deref() == Some(user_token.as_str()) && t.subject == Subject::Page(page.id.clone())
            })
            .map(|(v, _)| v.clone());
        let page_token = match existing {
            Some(v) => v,
            None => {
                st.issue_token(
                    TokenKind::Page,
                    Subject::Page(page.id.clone()),
                    &token.app_id,
                    token.scopes.clone(),
                    token.declined.clone(),
                    now,
                    Some(user_token.clone()),
                )
                .access_token
            }
        };
        let mut all = json!({
            "id": page.id,
            "name": page.name,
            "access_token": page_token,
            "category": "Brand",
            "tasks": ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MESSAGING", "MODERATE", "MANAGE"],
        });
        if let Some(ig) = &page.ig_account {
            all["instagram_business_account"] = json!({"id": ig});
        }
        data.push(select(all, req, &["access_token", "category", "name", "tasks"]));
    }
    Ok(json!({"data": data, "paging": {"cursors": {"before": "QVFIUfakeBefore", "after": "QVFIUfakeAfter"}}}))
}

fn get_node(inner: &Inner, req: &Incoming, id: &str) -> Result<Value, GraphError> {
    let now = inner.now();
    let mut st = lock(&inner.state);
    let (_, token) = authed(&st, inner, req)?;
    if st.account(id).is_some() {
        if !st.can_access_account(&token, id) {
            return Err(errors::not_found("get", id));
        }
        require_basic(&token)?;
        return Ok(select(account_json(&st, id), req, &["id"]));
    }
    if let Some(page) = st.pages.iter().find(|p| p.id == id).cloned() {
        if !st.can_access_page(&token, id) {
            return Err(errors::not_found("get", id));
        }
        let mut all = json!({"id": page.id, "name": page.name, "category": "Brand"});
        if let Some(ig) = &page.ig_account {
            all["instagram_business_account"] = json!({"id": ig});
        }
        return Ok(select(all, req, &["name"]));
    }
    if let Some(owner) = st.containers.get(id).map(|c| c.owner.clone()) {
        if !st.can_access_account(&token, &owner) {
            return Err(errors::not_found("get", id));
        }
        let fields = requested_fields(req).unwrap_or_default();
        let polls = fields.iter().any(|f| f == "status_code" || f == "status");
        let status = st.container_status(id, now, polls).unwrap_or(StatusCode::InProgress);
        let c = st.containers.get(id).cloned().ok_or_else(|| errors::not_found("get", id))?;
        return Ok(select(container_json(&c, status), req, &["id"]));
    }
    if let Some(m) = st.media.iter().find(|m| m.id == id).cloned() {
        if !st.can_access_account(&token, &m.owner) {
            return Err(errors::not_found("get", id));
        }
        return Ok(select(media_json(&st, &m), req, &["id"]));
    }
    if let Some(u) = st.fb_users.iter().find(|u| u.id == id)
        && token.subject == Subject::FbUser(id.to_owned())
    {
        return Ok(select(json!({"id": u.id, "name": u.name}), req, &["name"]));
    }
    Err(errors::not_found("get", id))
}

fn container_json(c: &Container, status: StatusCode) -> Value {
    let text = match status {
        StatusCode::InProgress => "In Progress: Media is still being processed.".to_owned(),
        StatusCode::Finished => "Finished: Media has been uploaded and it is ready to be published.".to_owned(),
        StatusCode::Published => "Published: Media has been successfully published.".to_owned(),
        StatusCode::Expired => "Expired: Media was not published within 24 hours.".to_owned(),
        StatusCode::Error => c.error.clone().unwrap_or_else(|| "Error: Unknown error".into()),
    };
    let mut v = json!({"id": c.id, "status_code": status.as_str(), "status": text});
    if matches!(c.kind, ContainerKind::Reels | ContainerKind::CarouselVideo) {
        let copyright = if matches!(status, StatusCode::InProgress) { "in_progress" } else { "completed" };
        v["copyright_check_status"] = json!({"matches_found": false, "status": copyright});
    }
    v
}

fn media_json(st: &State, m: &Media) -> Value {
    let username = st.account(&m.owner).map(|a| a.username.clone()).unwrap_or_default();
    let mut v = json!({
        "id": m.id,
        "caption": m.caption,
        "media_type": m.media_type,
        "media_product_type": m.media_product_type,
        "permalink": m.permalink,
        "shortcode": m.shortcode,
        "timestamp": graph_time(m.timestamp),
        "username": username,
        "owner": {"id": m.owner},
        "is_comment_enabled": true,
        "comments_count": 0,
        "like_count": 0,
    });
    if let Some(url) = &m.media_url {
        v["media_url"] = json!(url);
    }
    if !m.children.is_empty() {
        v["children"] = json!({"data": m.children.iter().map(|c| json!({"id": c.id})).collect::<Vec<_>>()});
    }
    v
}

/// Graph's timestamp format: `2017-08-31T18:10:30+0000`.
fn graph_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S+0000").to_string()
}

fn media_children(inner: &Inner, req: &Incoming, id: &str) -> Result<Value, GraphError> {
    let st = lock(&inner.state);
    let (_, token) = authed(&st, inner, req)?;
    let m = st.media.iter().find(|m| m.id == id).ok_or_else(|| errors::not_found("get", id))?;
    if !st.can_access_account(&token, &m.owner) {
        return Err(errors::not_found("get", id));
    }
    let data: Vec<Value> = m
        .children
        .iter()
        .map(|c| select(json!({"id": c.id, "media_type": c.media_type, "media_url": c.media_url}), req, &["id"]))
        .collect();
    Ok(json!({ "data": data }))
}

fn list_media(inner: &Inner, req: &Incoming, ig: &str) -> Result<Value, GraphError> {
    let st = lock(&inner.state);
    let (_, token) = authed(&st, inner, req)?;
    if st.account(ig).is_none() || !st.can_access_account(&token, ig) {
        return Err(errors::not_found("get", ig));
    }
    require_basic(&token)?;
    let limit = req.param("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(25).clamp(1, 100);
    let newest_first: Vec<&Media> = st.media.iter().rev().filter(|m| m.owner == ig).collect();
    let start = match req.param("after") {
        Some(after) => newest_first.iter().position(|m| m.id == after).map(|i| i + 1).unwrap_or(newest_first.len()),
        None => 0,
    };
    let page: Vec<&Media> = newest_first.iter().skip(start).take(limit).copied().collect();
    let data: Vec<Value> = page.iter().map(|m| select(media_json(&st, m), req, &["id"])).collect();
    let mut paging = json!({"cursors": {
        "before": page.first().map(|m| m.id.clone()).unwrap_or_default(),
        "after": page.last().map(|m| m.id.clone()).unwrap_or_default(),
    }});
    if start + page.len() < newest_first.len() {
        paging["next"] = json!(format!("{}?after={}", req.path, page.last().map(|m| m.id.as_str()).unwrap_or("")));
    }
    Ok(json!({"data": data, "paging": paging}))
}

fn publishing_limit(inner: &Inner, req: &Incoming, ig: &str) -> Result<Value, GraphError> {
    let now = inner.now();
    let st = lock(&inner.state);
    let (_, token) = authed(&st, inner, req)?;
    if st.account(ig).is_none() || !st.can_access_account(&token, ig) {
        return Err(errors::not_found("get", ig));
    }
    let since = match req.param("since") {
        Some(s) => Some(
            s.parse::<i64>()
                .ok()
                .and_then(|secs| Timestamp::from_second(secs).ok())
                .ok_or_else(|| errors::param("(#100) Param since must be a unix timestamp"))?,
        ),
        None => None,
    };
    let usage = st.quota_usage(ig, now, since);
    let mut entry = json!({"quota_usage": usage});
    let fields = requested_fields(req).unwrap_or_default();
    if fields.iter().any(|f| f == "config" || f == "rate_limit_settings") {
        entry["config"] = json!({
            "quota_total": st.settings.quota_total,
            "quota_duration": st.settings.quota_duration.as_secs(),
        });
    }
    Ok(json!({"data": [entry]}))
}

/// What a container creation will make, decided under the lock before any media is fetched.
struct Plan {
    owner: String,
    kind: ContainerKind,
    params: Vec<(String, String)>,
    children: Vec<String>,
    /// (url, is_video)
    fetches: Vec<(String, bool)>,
    resumable: bool,
}

fn plan_container(st: &State, inner: &Inner, req: &Incoming, ig: &str) -> Result<Plan, GraphError> {
    let (_, token) = authed(st, inner, req)?;
    if st.account(ig).is_none() || !st.can_access_account(&token, ig) {
        return Err(errors::not_found("post", ig));
    }
    State::require_scope(&token, "instagram_business_content_publish", "instagram_content_publish")?;
    let params: Vec<(String, String)> = req.params().into_iter().filter(|(k, _)| k != "access_token").collect();
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    let media_type = get("media_type").map(str::to_ascii_uppercase);
    let carousel_item = get("is_carousel_item") == Some("true");
    let resumable = get("upload_type") == Some("resumable");
    let need = |name: &str| {
        get(name).map(str::to_owned).ok_or_else(|| errors::param(format!("(#100) The parameter {name} is required")))
    };
    let (kind, fetches) = match (media_type.as_deref(), carousel_item) {
        (None | Some("IMAGE"), true) => (ContainerKind::CarouselImage, vec![(need("image_url")?, false)]),
        (Some("VIDEO"), true) => (ContainerKind::CarouselVideo, vec![(need("video_url")?, true)]),
        (_, true) => return Err(errors::param("(#100) is_carousel_item is only valid for IMAGE or VIDEO")),
        (None | Some("IMAGE"), false) => (ContainerKind::Image, vec![(need("image_url")?, false)]),
        (Some("CAROUSEL"), false) => (ContainerKind::Carousel, Vec::new()),
        (Some("REELS"), false) if resumable => (ContainerKind::Reels, Vec::new()),
        (Some("REELS"), false) => (ContainerKind::Reels, vec![(need("video_url")?, true)]),
        (Some("STORIES"), false) => match (get("image_url"), get("video_url")) {
            (Some(i), _) => (ContainerKind::Stories, vec![(i.to_owned(), false)]),
            (None, Some(v)) => (ContainerKind::Stories, vec![(v.to_owned(), true)]),
            (None, None) => return Err(errors::param("(#100) The parameter image_url or video_url is required")),
        },
        _ => return Err(by_subcode(2207023)),
    };
    let has_caption =
        !matches!(kind, ContainerKind::CarouselImage | ContainerKind::CarouselVideo | ContainerKind::Stories);
    if has_caption && get("caption").is_some_and(|c| c.chars().count() > st.settings.caption_limit) {
        return Err(by_subcode(2207010));
    }
    if has_caption && let Some(c) = get("caption") {
        let count = |sigil: char| {
            c.split_whitespace().filter(|w| w.strip_prefix(sigil).is_some_and(|rest| !rest.is_empty())).count()
        };
        if count('#') > st.settings.hashtag_limit {
            let limit = st.settings.hashtag_limit;
            return Err(errors::param(format!("(#100) The caption may contain at most {limit} hashtags")));
        }
        if count('@') > st.settings.mention_limit {
            let limit = st.settings.mention_limit;
            return Err(errors::param(format!("(#100) The caption may mention at most {limit} accounts")));
        }
    }
    if get("alt_text").is_some() && !matches!(kind, ContainerKind::Image | ContainerKind::CarouselImage) {
        return Err(errors::param("(#100) alt_text is only supported for images"));
    }
    let mut children = Vec::new();
    if kind == ContainerKind::Carousel {
        if get("collaborators").is_some() {
            return Err(errors::param("(#100) param collaborators is not allowed"));
        }
        children = split_list(get("children").unwrap_or(""), &[',']);
        if !(2..=10).contains(&children.len()) {
            let mut e = by_subcode(2207028);
            e.message =
                format!("Carousel validation failed: a carousel needs 2 to 10 children, got {}", children.len());
            return Err(e);
        }
        let now = inner.now();
        for child in &children {
            let problem = match st.containers.get(child) {
                None => Some("does not exist"),
                Some(c) if c.owner != ig => Some("belongs to another account"),
                Some(c) if !matches!(c.kind, ContainerKind::CarouselImage | ContainerKind::CarouselVideo) => {
                    Some("is not a carousel item")
                }
                Some(c) if evaluate(c, now, st.settings.container_ttl) != StatusCode::Finished => {
                    Some("is not FINISHED")
                }
                Some(_) => None,
            };
            if let Some(problem) = problem {
                let mut e = by_subcode(2207028);
                e.message = format!("Carousel validation failed: child container {child} {problem}");
                return Err(e);
            }
        }
    }
    Ok(Plan { owner: ig.to_owned(), kind, params, children, fetches, resumable })
}

enum MediaProblem {
    /// Refused at creation (images).
    Reject(GraphError),
    /// The container is created but processing ends in ERROR (video).
    Processing(String),
}

async fn check_media(url: &str, video: bool, feed_image: bool, max_image_bytes: usize) -> Result<(), MediaProblem> {
    let fetched = fetch_loopback(url).await;
    if video {
        return match fetched {
            Err(_) => Err(MediaProblem::Processing(
                "Error: Media download has failed. The media URI doesn't meet our requirements. (2207052)".into(),
            )),
            Ok(f) if sniff(&f.body) != Sniffed::IsoVideo => {
                Err(MediaProblem::Processing("Error: The video format is not supported. (2207026)".into()))
            }
            Ok(_) => Ok(()),
        };
    }
    let fetched = fetched.map_err(|_| MediaProblem::Reject(by_subcode(2207052)))?;
    if fetched.body.len() > max_image_bytes {
        return Err(MediaProblem::Reject(by_subcode(2207004)));
    }
    if sniff(&fetched.body) != Sniffed::Jpeg {
        return Err(MediaProblem::Reject(by_subcode(2207005)));
    }
    if feed_image && let Some((w, h)) = image_dimensions(&fetched.body) {
        let (w, h) = (u64::from(w), u64::from(h));
        // Allowed: 4:5 (0.8) to 1.91:1.
        if w * 100 < 80 * h || w * 100 > 191 * h {
            return Err(MediaProblem::Reject(by_subcode(2207009)));
        }
    }
    Ok(())
}

async fn create_container(inner: Arc<Inner>, req: &Incoming, ig: &str) -> Response {
    let (plan, check, max_bytes) = {
        let st = lock(&inner.state);
        let plan = plan_container(&st, &inner, req, ig);
        (plan, st.settings.check_media_urls, st.settings.max_image_bytes)
    };
    let plan = match plan {
        Ok(p) => p,
        Err(e) => return graph_failure(&inner, e),
    };
    let mut processing_error = None;
    if check {
        let feed_image = matches!(plan.kind, ContainerKind::Image | ContainerKind::CarouselImage);
        for (url, video) in &plan.fetches {
            match check_media(url, *video, feed_image, max_bytes).await {
                Ok(()) => {}
                Err(MediaProblem::Reject(e)) => return graph_failure(&inner, e),
                Err(MediaProblem::Processing(text)) => processing_error = Some(text),
            }
        }
    }
    let now = inner.now();
    let mut st = lock(&inner.state);
    let readiness = match plan.kind {
        ContainerKind::Image | ContainerKind::CarouselImage => st.settings.image_readiness,
        ContainerKind::Stories if plan.fetches.iter().all(|(_, video)| !video) => st.settings.image_readiness,
        ContainerKind::Carousel => st.settings.carousel_readiness,
        _ => st.settings.video_readiness,
    };
    let injected = st.next_container_errors.pop_front();
    let id = format!("1788{:013}", st.ids.next("container"));
    st.containers.insert(
        id.clone(),
        Container {
            id: id.clone(),
            owner: plan.owner,
            kind: plan.kind,
            params: plan.params,
            children: plan.children,
            created_at: now,
            polls: 0,
            readiness,
            error: injected.or(processing_error),
            published_media: None,
            uploaded_bytes: plan.resumable.then_some(0),
        },
    );
    let mut body = json!({ "id": id });
    if plan.resumable {
        body["uri"] = json!(format!("{}/ig-api-upload/v21.0/{id}", lock(&inner.base_urls).0));
    }
    ok_json(body)
}

fn graph_failure(inner: &Inner, e: GraphError) -> Response {
    let trace = lock(&inner.state).trace();
    e.response(&trace)
}

fn publish(inner: &Inner, req: &Incoming, ig: &str) -> Result<Value, GraphError> {
    let now = inner.now();
    let base = lock(&inner.base_urls).0.clone();
    let mut st = lock(&inner.state);
    let (_, token) = authed(&st, inner, req)?;
    if st.account(ig).is_none() || !st.can_access_account(&token, ig) {
        return Err(errors::not_found("post", ig));
    }
    State::require_scope(&token, "instagram_business_content_publish", "instagram_content_publish")?;
    let creation_id =
        req.param("creation_id").ok_or_else(|| errors::param("(#100) The parameter creation_id is required"))?;
    let container =
        st.containers.get(&creation_id).filter(|c| c.owner == ig).cloned().ok_or_else(|| by_subcode(2207008))?;
    if matches!(container.kind, ContainerKind::CarouselImage | ContainerKind::CarouselVideo) {
        return Err(errors::param(
            "(#100) A carousel item cannot be published on its own; publish the carousel container",
        ));
    }
    match evaluate(&container, now, st.settings.container_ttl) {
        StatusCode::Published => {
            let mut e = by_subcode(2207008);
            e.message = format!("The media builder with creation id = {creation_id} was already published.");
            return Err(e);
        }
        StatusCode::Error => return Err(by_subcode(2207032)),
        StatusCode::Expired => return Err(by_subcode(2207020)),
        StatusCode::InProgress => return Err(by_subcode(2207027)),
        StatusCode::Finished => {}
    }
    if st.quota_usage(ig, now, None) >= st.settings.quota_total {
        return Err(by_subcode(2207042));
    }
    let (media_type, product) = match container.kind {
        ContainerKind::Carousel => ("CAROUSEL_ALBUM", "FEED"),
        ContainerKind::Reels => ("VIDEO", "REELS"),
        ContainerKind::Stories if container.param("video_url").is_some() => ("VIDEO", "STORY"),
        ContainerKind::Stories => ("IMAGE", "STORY"),
        _ => ("IMAGE", "FEED"),
    };
    let mut children = Vec::new();
    for child_id in &container.children {
        let Some(child) = st.containers.get(child_id).cloned() else { continue };
        let n = st.ids.next("child_media");
        children.push(ChildMedia {
            id: format!("1791{n:013}"),
            media_type: if child.kind == ContainerKind::CarouselVideo { "VIDEO" } else { "IMAGE" },
            media_url: child.param("image_url").or(child.param("video_url")).map(str::to_owned),
        });
    }
    let media_url = container.param("image_url").or(container.param("video_url")).map(str::to_owned);
    let caption = container.param("caption").map(str::to_owned);
    let id = record_media(&mut st, &base, ig, &creation_id, caption, media_type, product, media_url, children, now);
    for child in container.children.iter().chain(std::iter::once(&creation_id)) {
        if let Some(c) = st.containers.get_mut(child) {
            c.published_media = Some(id.clone());
        }
    }
    Ok(json!({ "id": id }))
}

#[allow(clippy::too_many_arguments)]
pub(super) fn record_media(
    st: &mut State,
    base: &str,
    owner: &str,
    container_id: &str,
    caption: Option<String>,
    media_type: &'static str,
    product: &'static str,
    media_url: Option<String>,
    children: Vec<ChildMedia>,
    now: Timestamp,
) -> String {
    let n = st.ids.next("media");
    let id = format!("1790{n:013}");
    let shortcode = format!("NPfake{n:05}");
    let kind = if product == "REELS" { "reel" } else { "p" };
    st.media.push(Media {
        id: id.clone(),
        owner: owner.to_owned(),
        container_id: container_id.to_owned(),
        caption,
        media_type,
        media_product_type: product,
        permalink: format!("{base}/{kind}/{shortcode}/"),
        shortcode,
        timestamp: now,
        media_url,
        children,
    });
    id
}

fn resumable_upload(inner: &Inner, req: &Incoming, container_id: &str) -> Response {
    let now = inner.now();
    let mut st = lock(&inner.state);
    let failure = |message: &str| {
        json(
            Http::BAD_REQUEST,
            json!({"debug_info": {"retriable": false, "type": "ProcessingFailedError", "message": message}}),
        )
    };
    let token = req.bearer().map(str::to_owned);
    let listener = token.as_deref().and_then(|t| st.tokens.get(t)).map(|t| t.kind.listener()).unwrap_or(IG_LISTENER);
    let token = match st.check_token(token.as_deref(), listener, now) {
        Ok((_, t)) => t,
        Err(e) => return failure(&e.message),
    };
    let Some(container) = st.containers.get(container_id).cloned() else {
        return failure("Invalid container id");
    };
    if !st.can_access_account(&token, &container.owner) {
        return failure("The user cannot upload to this container");
    }
    if container.uploaded_bytes.is_none() {
        return failure("This container was not created with upload_type=resumable");
    }
    let declared = req.header("file_size").and_then(|s| s.parse::<usize>().ok());
    if req.body.is_empty() || declared.is_some_and(|d| d != req.body.len()) {
        return failure("file_size does not match the uploaded bytes");
    }
    if let Some(c) = st.containers.get_mut(container_id) {
        c.uploaded_bytes = Some(req.body.len());
    }
    ok_json(json!({"success": true, "message": "Upload successful."}))
}

fn permalink_page(inner: &Inner, shortcode: &str) -> Response {
    let st = lock(&inner.state);
    let Some(m) = st.media.iter().find(|m| m.shortcode == shortcode) else {
        return (
            Http::NOT_FOUND,
            Html("<!doctype html><title>Not found</title><p>Sorry, this page isn't available.</p>"),
        )
            .into_response();
    };
    let username = st.account(&m.owner).map(|a| a.username.clone()).unwrap_or_default();
    let mut html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>@{u} on Instagram (fake)</title></head><body>\
         <h1>@{u}</h1><p class=\"caption\">{c}</p><p><small>{t} · {kind}</small></p>",
        u = escape(&username),
        c = escape(m.caption.as_deref().unwrap_or("")),
        t = graph_time(m.timestamp),
        kind = m.media_product_type
    );
    let urls: Vec<&str> = if m.children.is_empty() {
        m.media_url.iter().map(String::as_str).collect()
    } else {
        m.children.iter().filter_map(|c| c.media_url.as_deref()).collect()
    };
    for url in urls {
        if m.media_type == "VIDEO" {
            html.push_str(&format!("<video controls src=\"{}\" style=\"max-width:30rem\"></video>", escape(url)));
        } else {
            html.push_str(&format!("<img src=\"{}\" style=\"max-width:30rem;display:block\">", escape(url)));
        }
    }
    html.push_str("</body></html>");
    Html(html).into_response()
}
