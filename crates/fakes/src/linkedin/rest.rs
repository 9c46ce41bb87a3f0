//! Routing for the LinkedIn listener, and the member, organization, image and post endpoints.

use super::errors::{self, RestError};
use super::oauth;
use super::state::{AccessToken, Image, Post, State};
use super::{Inner, LittleTextMode, PostUrnKind};
use crate::common::ok_json;
use crate::consent::escape;
use crate::fetch::{Sniffed, sniff};
use crate::incoming::Incoming;
use crate::little_text;
use crate::server::lock;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;

pub(super) async fn handle(inner: Arc<Inner>, req: Incoming) -> Response {
    let segs = req.seg();
    let method = req.method.as_str();
    let result = match (method, segs.as_slice()) {
        ("GET", ["oauth", "v2", "authorization"]) => return oauth::authorize_page(&inner, &req),
        ("POST", ["oauth", "v2", "authorization"]) => return oauth::authorize_submit(&inner, &req),
        ("POST", ["oauth", "v2", "accessToken"]) => return oauth::access_token(&inner, &req),
        ("POST", ["oauth", "v2", "revoke"]) => return oauth::revoke(&inner, &req),
        ("PUT" | "POST", ["dms-uploads", token]) => {
            return match upload(&inner, &req, token) {
                Ok(()) => StatusCode::CREATED.into_response(),
                Err(e) => e.response(),
            };
        }
        ("GET", ["dms-downloads", urn]) => return download(&inner, urn),
        ("GET", ["feed", "update", urn]) => return feed_page(&inner, urn),
        ("GET", ["v2", "userinfo"]) => api(&inner, &req, Versioning::None, userinfo),
        ("GET", ["v2", "me"]) => api(&inner, &req, Versioning::None, me),
        ("GET", ["rest", "organizationAcls"]) => api(&inner, &req, Versioning::Rest, |i, r, t| acls(i, r, t, false)),
        ("GET", ["v2", "organizationAcls"]) => api(&inner, &req, Versioning::Restli, |i, r, t| acls(i, r, t, false)),
        ("GET", ["v2", "organizationalEntityAcls"]) => {
            api(&inner, &req, Versioning::None, |i, r, t| acls(i, r, t, true))
        }
        ("GET", ["rest" | "v2", "organizations", id]) => {
            let id = (*id).to_owned();
            api(&inner, &req, versioning_of(&segs), move |i, _, _| organization(i, &id))
        }
        ("POST", ["rest", "images"]) => api(&inner, &req, Versioning::Rest, initialize_upload),
        ("GET", ["rest", "images", urn]) => {
            let urn = (*urn).to_owned();
            api(&inner, &req, Versioning::Rest, move |i, r, t| get_image(i, r, t, &urn))
        }
        ("POST", ["rest", "posts"]) => return create_post(&inner, &req),
        ("GET", ["rest", "posts"]) => api(&inner, &req, Versioning::Rest, find_posts),
        ("GET", ["rest", "posts", urn]) => {
            let urn = (*urn).to_owned();
            api(&inner, &req, Versioning::Rest, move |i, r, t| get_post(i, r, t, &urn))
        }
        ("DELETE", ["rest", "posts", urn]) => {
            let urn = (*urn).to_owned();
            match api(&inner, &req, Versioning::Rest, move |i, r, t| delete_post(i, r, t, &urn)) {
                Ok(_) => return StatusCode::NO_CONTENT.into_response(),
                Err(e) => Err(e),
            }
        }
        _ => Err(errors::not_found(&req.path)),
    };
    match result {
        Ok(value) => ok_json(value),
        Err(e) => e.response(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Versioning {
    /// `/v2` endpoints without a finder: no headers needed.
    None,
    /// `/v2` finders: `X-Restli-Protocol-Version: 2.0.0` needed.
    Restli,
    /// `/rest`: `LinkedIn-Version` and `X-Restli-Protocol-Version` needed.
    Rest,
}

fn versioning_of(segs: &[&str]) -> Versioning {
    if segs.first() == Some(&"rest") { Versioning::Rest } else { Versioning::None }
}

/// Token, version headers and the daily member limit, then the endpoint.
fn api(
    inner: &Inner,
    req: &Incoming,
    versioning: Versioning,
    endpoint: impl FnOnce(&Inner, &Incoming, &AccessToken) -> Result<Value, RestError>,
) -> Result<Value, RestError> {
    let token = authorize(inner, req, versioning)?;
    endpoint(inner, req, &token)
}

fn authorize(inner: &Inner, req: &Incoming, versioning: Versioning) -> Result<AccessToken, RestError> {
    let now = inner.now();
    let mut st = lock(&inner.state);
    let token = st.check_token(req.bearer(), now)?;
    if versioning == Versioning::Rest {
        check_version(&st, req.header("linkedin-version"))?;
    }
    if versioning != Versioning::None && req.header("x-restli-protocol-version") != Some("2.0.0") {
        return Err(errors::bad_request("The X-Restli-Protocol-Version header must be 2.0.0 for this request"));
    }
    if let Some(limit) = st.settings.daily_member_call_limit {
        let day = now.to_zoned(jiff::tz::TimeZone::UTC).date();
        let calls = st.daily_calls.entry((token.member.clone(), day)).or_insert(0);
        *calls += 1;
        if *calls > limit {
            return Err(errors::throttled("MEMBER", None));
        }
    }
    Ok(token)
}

fn check_version(st: &State, version: Option<&str>) -> Result<(), RestError> {
    let Some(version) = version else {
        return Err(RestError::new(
            400,
            "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
        )
        .code("VERSION_MISSING"));
    };
    let (month, revision) = version.split_once('.').unwrap_or((version, "01"));
    let well_formed = month.len() == 6
        && month.bytes().all(|b| b.is_ascii_digit())
        && (1..=12).contains(&month[4..].parse::<u32>().unwrap_or(0))
        && revision.len() == 2
        && revision.bytes().all(|b| b.is_ascii_digit());
    let active =
        st.settings.accepted_versions.as_ref().is_none_or(|list| list.iter().any(|v| v == version || v == month));
    if well_formed && active {
        Ok(())
    } else {
        Err(RestError::new(426, format!("Requested version {version} is not active")).code("NONEXISTENT_VERSION"))
    }
}

fn userinfo(inner: &Inner, req: &Incoming, token: &AccessToken) -> Result<Value, RestError> {
    if !token.scopes.iter().any(|s| s == "openid") {
        return Err(errors::forbidden("GET", &req.path));
    }
    let st = lock(&inner.state);
    let m = st.member(&token.member).ok_or_else(|| errors::not_found("member"))?;
    let mut body = json!({
        "sub": m.sub,
        "name": m.name(),
        "given_name": m.given_name,
        "family_name": m.family_name,
        "picture": format!("https://fake.invalid/linkedin/{}.jpg", m.sub),
        "locale": {"country": "US", "language": "en"},
    });
    if token.scopes.iter().any(|s| s == "email") {
        body["email"] = json!(m.email);
        body["email_verified"] = json!(true);
    }
    Ok(body)
}

fn me(inner: &Inner, req: &Incoming, token: &AccessToken) -> Result<Value, RestError> {
    let has = |s: &str| token.scopes.iter().any(|x| x == s);
    if !(has("r_basicprofile") || has("r_liteprofile") || has("profile")) {
        return Err(errors::forbidden("GET", &req.path));
    }
    let st = lock(&inner.state);
    let m = st.member(&token.member).ok_or_else(|| errors::not_found("member"))?;
    let mut body = json!({"id": m.sub, "localizedFirstName": m.given_name, "localizedLastName": m.family_name});
    if has("r_basicprofile") {
        body["vanityName"] = json!(m.vanity_name);
    }
    Ok(body)
}

fn acls(inner: &Inner, req: &Incoming, token: &AccessToken, legacy: bool) -> Result<Value, RestError> {
    if !token.scopes.iter().any(|s| s == "r_organization_admin" || s == "rw_organization_admin") {
        return Err(errors::forbidden("GET", &req.path));
    }
    if req.query("q") != Some("roleAssignee") {
        return Err(errors::bad_request("Only the roleAssignee finder is supported: q=roleAssignee"));
    }
    let st = lock(&inner.state);
    let projection = req.query("projection").unwrap_or("");
    let target_field = if legacy { "organizationalTarget" } else { "organization" };
    let with_names = projection.contains(&format!("{target_field}~"));
    let member_urn = format!("urn:li:person:{}", token.member);
    let elements: Vec<Value> = st
        .acls
        .iter()
        .filter(|a| a.member == token.member)
        .filter(|a| req.query("role").is_none_or(|r| r == a.role))
        .filter(|a| req.query("state").is_none_or(|s| s == a.state))
        .map(|a| {
            let mut e = json!({
                "roleAssignee": member_urn,
                "role": a.role,
                "state": a.state,
                target_field: format!("urn:li:organization:{}", a.org),
            });
            if with_names && let Some(org) = st.orgs.iter().find(|o| o.id == a.org) {
                e[format!("{target_field}~")] = json!({"localizedName": org.name, "vanityName": org.vanity});
            }
            e
        })
        .collect();
    Ok(json!({"paging": {"start": 0, "count": 10, "total": elements.len(), "links": []}, "elements": elements}))
}

fn organization(inner: &Inner, id: &str) -> Result<Value, RestError> {
    let st = lock(&inner.state);
    let org = st.orgs.iter().find(|o| o.id == id).ok_or_else(|| errors::not_found(&format!("organization {id}")))?;
    Ok(json!({"id": org.id.parse::<u64>().unwrap_or(0), "localizedName": org.name, "vanityName": org.vanity}))
}

fn initialize_upload(inner: &Inner, req: &Incoming, token: &AccessToken) -> Result<Value, RestError> {
    if req.query("action") != Some("initializeUpload") {
        return Err(errors::bad_request("Unsupported action; expected action=initializeUpload"));
    }
    let body = req.json().map_err(errors::bad_request)?;
    let owner = body["initializeUploadRequest"]["owner"]
        .as_str()
        .ok_or_else(|| errors::unprocessable("/initializeUploadRequest/owner", "field is required"))?
        .to_owned();
    let now = inner.now();
    let base = lock(&inner.base_url).clone();
    let mut st = lock(&inner.state);
    st.may_act_as(token, &owner, true, "POST", &req.path)?;
    let n = st.ids.next("image");
    let urn = format!("urn:li:image:D4E10AQfakeImage{n:06}");
    let upload_token = format!("fakeUpload{n:06}");
    let upload_expires_at = now.checked_add(jiff::SignedDuration::from_hours(1)).unwrap_or(now);
    let readiness = st.settings.image_readiness;
    let fail_processing = st.next_image_failures.pop_front().is_some();
    st.images.push(Image {
        urn: urn.clone(),
        owner,
        upload_token: upload_token.clone(),
        upload_expires_at,
        bytes: None,
        uploaded_at: None,
        polls: 0,
        readiness,
        fail_processing,
    });
    Ok(json!({"value": {
        "uploadUrlExpiresAt": upload_expires_at.as_millisecond(),
        "uploadUrl": format!("{base}/dms-uploads/{upload_token}"),
        "image": urn,
    }}))
}

/// `PUT <uploadUrl>`: the raw bytes, one request, with the Bearer header → 201.
fn upload(inner: &Inner, req: &Incoming, upload_token: &str) -> Result<(), RestError> {
    let now = inner.now();
    let mut st = lock(&inner.state);
    let token = st.check_token(req.bearer(), now)?;
    let index =
        st.images.iter().position(|i| i.upload_token == upload_token).ok_or_else(|| errors::not_found("upload URL"))?;
    let image = &st.images[index];
    let owner_ok = match image.owner.strip_prefix("urn:li:person:") {
        Some(sub) => sub == token.member,
        None => {
            image.owner.strip_prefix("urn:li:organization:").is_some_and(|org| st.can_post_as_org(&token.member, org))
        }
    };
    if !owner_ok {
        return Err(errors::forbidden("PUT", &req.path));
    }
    if image.upload_expires_at <= now {
        return Err(RestError::new(400, "The upload URL has expired"));
    }
    if req.body.is_empty() {
        return Err(errors::bad_request("The upload body is empty"));
    }
    let recognised = matches!(sniff(&req.body), Sniffed::Jpeg | Sniffed::Png | Sniffed::Gif);
    let image = &mut st.images[index];
    image.bytes = Some(req.body.to_vec());
    image.uploaded_at = Some(now);
    image.fail_processing |= !recognised;
    Ok(())
}

fn get_image(inner: &Inner, req: &Incoming, token: &AccessToken, urn: &str) -> Result<Value, RestError> {
    let now = inner.now();
    let base = lock(&inner.base_url).clone();
    let mut st = lock(&inner.state);
    let owner =
        st.images.iter().find(|i| i.urn == urn).map(|i| i.owner.clone()).ok_or_else(|| errors::not_found(urn))?;
    // Organization images and (by default) member images need a read scope; with the setting off
    // the member who owns the image may read it with any token.
    let needs_read_scope =
        !owner.starts_with("urn:li:person:") || st.settings.personal_image_read_needs_r_member_social;
    if needs_read_scope {
        st.may_act_as(token, &owner, false, "GET", &req.path)?;
    } else if owner != format!("urn:li:person:{}", token.member) {
        return Err(errors::forbidden("GET", &req.path));
    }
    let image = st.images.iter_mut().find(|i| i.urn == urn).ok_or_else(|| errors::not_found(urn))?;
    let status = image.status(now);
    if status == "PROCESSING" {
        image.polls += 1;
    }
    let mut body = json!({"id": image.urn, "owner": image.owner, "status": status});
    if status == "AVAILABLE" {
        body["downloadUrl"] = json!(format!("{base}/dms-downloads/{}", image.urn));
        body["downloadUrlExpiresAt"] = json!(now.as_millisecond() + 3_600_000);
    }
    Ok(body)
}

fn download(inner: &Inner, urn: &str) -> Response {
    let st = lock(&inner.state);
    match st.images.iter().find(|i| i.urn == urn).and_then(|i| i.bytes.clone()) {
        Some(bytes) => bytes.into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn create_post(inner: &Inner, req: &Incoming) -> Response {
    let token = match authorize(inner, req, Versioning::Rest) {
        Ok(t) => t,
        Err(e) => return e.response(),
    };
    match validate_and_store_post(inner, req, &token) {
        Ok(urn) => {
            let mut r = StatusCode::CREATED.into_response();
            if let Ok(v) = HeaderValue::from_str(&urn) {
                r.headers_mut().insert("x-restli-id", v.clone());
                r.headers_mut().insert("x-linkedin-id", v);
            }
            r
        }
        Err(e) => e.response(),
    }
}

fn validate_and_store_post(inner: &Inner, req: &Incoming, token: &AccessToken) -> Result<String, RestError> {
    let body = req.json().map_err(errors::bad_request)?;
    let author =
        body["author"].as_str().ok_or_else(|| errors::unprocessable("/author", "field is required"))?.to_owned();
    let now = inner.now();
    let mut st = lock(&inner.state);
    st.may_act_as(token, &author, true, "POST", &req.path)?;

    let commentary = match &body["commentary"] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        _ => return Err(errors::unprocessable("/commentary", "must be a string")),
    };
    if commentary.chars().count() > st.settings.commentary_limit {
        return Err(errors::unprocessable(
            "/commentary",
            format!("length {} exceeds the maximum of {}", commentary.chars().count(), st.settings.commentary_limit),
        ));
    }
    let text = match (little_text::parse(&commentary), st.settings.little_text) {
        (Ok(parsed), _) => parsed,
        (Err(e), LittleTextMode::Reject) => return Err(errors::unprocessable("/commentary", e)),
        (Err(_), LittleTextMode::Truncate) => little_text::truncate_like_linkedin(&commentary),
    };
    let visibility = body["visibility"].as_str().unwrap_or("");
    if !["PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER"].contains(&visibility) {
        return Err(errors::unprocessable("/visibility", format!("invalid value {visibility:?}")));
    }
    let feed = body["distribution"]["feedDistribution"].as_str().unwrap_or("");
    if !["MAIN_FEED", "NONE"].contains(&feed) {
        return Err(errors::unprocessable("/distribution/feedDistribution", format!("invalid value {feed:?}")));
    }
    let lifecycle = body["lifecycleState"].as_str().unwrap_or("");
    if !["PUBLISHED", "DRAFT"].contains(&lifecycle) {
        return Err(errors::unprocessable("/lifecycleState", format!("invalid value {lifecycle:?}")));
    }
    let images = content_images(&body["content"])?;
    for (path, urn) in &images {
        let image = st
            .images
            .iter()
            .find(|i| &i.urn == urn)
            .ok_or_else(|| errors::unprocessable(path, format!("{urn} not found")))?;
        if image.owner != author {
            return Err(errors::unprocessable(path, format!("{urn} is not owned by {author}")));
        }
        let status = image.status(now);
        if status != "AVAILABLE" {
            return Err(errors::unprocessable(path, format!("{urn} is not AVAILABLE (status {status})")));
        }
    }
    let images: Vec<String> = images.into_iter().map(|(_, urn)| urn).collect();
    if let Some(dup) =
        st.posts.iter().find(|p| !p.deleted && p.author == author && p.commentary == commentary && p.images == images)
    {
        return Err(RestError::new(422, format!("Content is a duplicate of {}", dup.urn)).code("DUPLICATE_POST"));
    }
    let n = st.ids.next("post");
    let urn = match st.settings.post_urn_kind {
        PostUrnKind::Share => format!("urn:li:share:{}", 7_000_000_000_000_000_000u64 + n),
        PostUrnKind::UgcPost => format!("urn:li:ugcPost:{}", 7_000_000_000_000_000_000u64 + n),
    };
    st.posts.push(Post {
        urn: urn.clone(),
        author,
        commentary,
        text,
        visibility: visibility.to_owned(),
        body,
        images,
        created_at: now,
        version: req.header("linkedin-version").unwrap_or("").to_owned(),
        deleted: false,
    });
    Ok(urn)
}

/// The image URNs a post's `content` references, with their JSON paths.
fn content_images(content: &Value) -> Result<Vec<(String, String)>, RestError> {
    if content.is_null() {
        return Ok(Vec::new());
    }
    if let Some(id) = content["media"]["id"].as_str() {
        if !id.starts_with("urn:li:image:") {
            return Err(errors::unprocessable("/content/media/id", format!("{id} is not a supported media URN")));
        }
        return Ok(vec![("/content/media/id".into(), id.to_owned())]);
    }
    if let Some(list) = content["multiImage"]["images"].as_array() {
        if !(2..=20).contains(&list.len()) {
            return Err(errors::unprocessable(
                "/content/multiImage/images",
                format!("a multiImage post needs 2 to 20 images, got {}", list.len()),
            ));
        }
        return list
            .iter()
            .enumerate()
            .map(|(i, img)| {
                let path = format!("/content/multiImage/images/{i}/id");
                img["id"]
                    .as_str()
                    .map(|id| (path.clone(), id.to_owned()))
                    .ok_or_else(|| errors::unprocessable(&path, "field is required"))
            })
            .collect();
    }
    Err(errors::unprocessable("/content", "unsupported content: expected media or multiImage"))
}

fn post_json(p: &Post) -> Value {
    let mut v = p.body.clone();
    v["id"] = json!(p.urn);
    v["createdAt"] = json!(p.created_at.as_millisecond());
    v["lastModifiedAt"] = json!(p.created_at.as_millisecond());
    v["publishedAt"] = json!(p.created_at.as_millisecond());
    v["lifecycleStateInfo"] = json!({"isEditedByAuthor": false});
    v
}

fn find_posts(inner: &Inner, req: &Incoming, token: &AccessToken) -> Result<Value, RestError> {
    if req.query("q") != Some("author") {
        return Err(errors::bad_request("Only the author finder is supported: q=author"));
    }
    let author = req.query("author").ok_or_else(|| errors::bad_request("author is required"))?;
    let st = lock(&inner.state);
    st.may_act_as(token, author, false, "GET", &req.path)?;
    let start = req.query("start").and_then(|s| s.parse().ok()).unwrap_or(0usize);
    let count = req.query("count").and_then(|s| s.parse().ok()).unwrap_or(10usize).min(100);
    let mine: Vec<&Post> = st.posts.iter().rev().filter(|p| !p.deleted && p.author == author).collect();
    let elements: Vec<Value> = mine.iter().skip(start).take(count).map(|p| post_json(p)).collect();
    Ok(json!({"paging": {"start": start, "count": count, "links": [], "total": mine.len()}, "elements": elements}))
}

fn get_post(inner: &Inner, req: &Incoming, token: &AccessToken, urn: &str) -> Result<Value, RestError> {
    let st = lock(&inner.state);
    let p = st.posts.iter().find(|p| p.urn == urn && !p.deleted).ok_or_else(|| errors::not_found(urn))?;
    st.may_act_as(token, &p.author, false, "GET", &req.path)?;
    Ok(post_json(p))
}

fn delete_post(inner: &Inner, req: &Incoming, token: &AccessToken, urn: &str) -> Result<Value, RestError> {
    let mut st = lock(&inner.state);
    let author = st
        .posts
        .iter()
        .find(|p| p.urn == urn && !p.deleted)
        .map(|p| p.author.clone())
        .ok_or_else(|| errors::not_found(urn))?;
    st.may_act_as(token, &author, true, "DELETE", &req.path)?;
    if let Some(p) = st.posts.iter_mut().find(|p| p.urn == urn) {
        p.deleted = true;
    }
    Ok(Value::Null)
}

fn feed_page(inner: &Inner, urn: &str) -> Response {
    let st = lock(&inner.state);
    let Some(p) = st.posts.iter().find(|p| p.urn == urn && !p.deleted) else {
        return (
            StatusCode::NOT_FOUND,
            Html("<!doctype html><title>Not found</title><p>This post cannot be displayed.</p>"),
        )
            .into_response();
    };
    let author = match p.author.strip_prefix("urn:li:person:") {
        Some(sub) => st.member(sub).map(|m| m.name()).unwrap_or_default(),
        None => {
            let id = p.author.rsplit(':').next().unwrap_or("");
            st.orgs.iter().find(|o| o.id == id).map(|o| o.name.clone()).unwrap_or_default()
        }
    };
    let mut html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{a} on LinkedIn (fake)</title></head><body>\
         <h1>{a}</h1><p class=\"commentary\" style=\"white-space:pre-wrap\">{t}</p><p><small>{v} · {when}</small></p>",
        a = escape(&author),
        t = escape(&p.text.plain_text()),
        v = p.visibility,
        when = p.created_at,
    );
    for image in &p.images {
        html.push_str(&format!(
            "<img src=\"/dms-downloads/{}\" style=\"max-width:30rem;display:block\">",
            escape(image)
        ));
    }
    html.push_str("</body></html>");
    Html(html).into_response()
}
