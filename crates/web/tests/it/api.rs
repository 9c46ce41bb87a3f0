//! The JSON API: roles and scopes, tenant isolation, hostile input, the approval race,
//! pagination, tokens, and the OpenAPI document.

mod bad_input;
mod generation;
mod isolation;
pub(crate) mod media;
mod notifications;
mod openapi;
mod publishing;
mod review;
mod roles;
mod tokens_and_pages;

use crate::support::TestApp;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use nanopost_domain::brand::{Brand, BrandInput};
use nanopost_domain::network::Network;
use nanopost_domain::post::{Post, PostContent, Target, Variant};
use nanopost_services::Actor;
use nanopost_storage::{PageRequest, PostFilter};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// An answer, with its body parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct Res {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Res {
    /// Asserts an RFC 9457 problem with this status and returns its body.
    #[track_caller]
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "expected {status}, got {}: {}", self.status, self.text);
        assert_eq!(self.headers[header::CONTENT_TYPE], "application/problem+json", "{}", self.text);
        assert_eq!(self.json["status"], status, "{}", self.text);
        assert!(self.json["type"].as_str().is_some_and(|t| t.starts_with("urn:nanopost:problem:")), "{}", self.text);
        assert!(self.json["title"].as_str().is_some_and(|t| !t.is_empty()), "{}", self.text);
        assert!(self.json["detail"].as_str().is_some_and(|t| !t.is_empty()), "{}", self.text);
        &self.json
    }

    /// Asserts a problem that names `field` among its errors.
    #[track_caller]
    pub fn problem_on(&self, status: u16, field: &str) -> &Value {
        let body = self.problem(status);
        let fields: Vec<&str> =
            body["errors"].as_array().into_iter().flatten().filter_map(|e| e["field"].as_str()).collect();
        assert!(fields.contains(&field), "expected an error on {field:?}, got {fields:?}: {}", self.text);
        body
    }

    #[track_caller]
    pub fn ok(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        &self.json
    }
}

/// Sends a request with an optional bearer token and JSON body.
pub async fn call(app: &TestApp, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Res {
    let bytes = body.map(|b| serde_json::to_vec(&b).unwrap());
    let ct = bytes.as_ref().map(|_| "application/json");
    raw(app, method, path, token, ct, bytes.unwrap_or_default()).await
}

/// Sends raw bytes with the given content type.
pub async fn raw(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Res {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if let Some(ct) = content_type {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    let res = app.send(req.body(Body::from(body)).unwrap()).await;
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Res { status, headers, text, json }
}

pub async fn get(app: &TestApp, path: &str, token: &str) -> Res {
    call(app, "GET", path, Some(token), None).await
}

pub fn content(caption: &str) -> PostContent {
    PostContent {
        variants: vec![Variant {
            network: Network::Instagram,
            caption: caption.into(),
            media: vec![],
            options: BTreeMap::new(),
        }],
        targets: vec![Target { network: Network::Instagram, account: None }],
    }
}

pub fn post_body(caption: &str) -> (Value, Value) {
    (json!([{"network": "instagram", "caption": caption}]), json!([{"network": "instagram"}]))
}

pub async fn brand(app: &TestApp, actor: &Actor, name: &str) -> Brand {
    let input = BrandInput { name: name.into(), timezone: "Europe/Berlin".into(), ..Default::default() };
    app.services.create_brand(actor, &input).await.expect("brand")
}

pub async fn draft(app: &TestApp, actor: &Actor, brand: &Brand, caption: &str) -> Post {
    app.services.create_post(actor, brand.id, content(caption)).await.expect("post")
}

pub async fn pending(app: &TestApp, actor: &Actor, brand: &Brand, caption: &str) -> Post {
    let p = draft(app, actor, brand, caption).await;
    app.services.submit_post(actor, p.id, p.version).await.expect("submit")
}

/// Gives the brand two LinkedIn accounts, a member (`urn:li:person:1`, "Ada Lovelace") and a
/// Company Page (`urn:li:organization:2`, "Acme Page"), as a LinkedIn connection does. The
/// rows carry placeholder tokens: enough to choose targets, not to publish.
pub async fn two_linkedin_accounts(app: &TestApp, brand: &Brand) {
    use nanopost_storage::{
        AccountKind, AccountStatus, ConnectedAccount, ConnectedAccountId, SealedSecret, SealedTokens,
    };
    for (urn, name, kind) in [
        ("urn:li:person:1", "Ada Lovelace", AccountKind::LinkedinMember),
        ("urn:li:organization:2", "Acme Page", AccountKind::LinkedinOrganization),
    ] {
        let sealed = SealedSecret { nonce: vec![1; 24], ciphertext: vec![2; 32] };
        let account = ConnectedAccount {
            id: ConnectedAccountId::new(),
            workspace_id: brand.workspace_id,
            brand_id: brand.id,
            network: Network::Linkedin,
            kind,
            grant_id: uuid::Uuid::now_v7(),
            external_id: urn.into(),
            display_name: name.into(),
            handle: None,
            details: BTreeMap::new(),
            scopes: vec![],
            tokens: SealedTokens { key_id: "k".into(), wrapped_key: vec![3; 72], access: sealed, refresh: None },
            token_version: 1,
            token_issued_at: brand.created_at,
            access_expires_at: None,
            refresh_expires_at: None,
            refresh_due_at: None,
            status: AccountStatus::Active,
            status_reason: None,
            created_at: brand.created_at,
            updated_at: brand.created_at,
        };
        app.services.store().save_connected_account(&account).await.expect("account");
    }
}

/// A LinkedIn post that names no account, waiting for review.
pub async fn pending_linkedin(app: &TestApp, actor: &Actor, brand: &Brand, caption: &str) -> Post {
    let content = PostContent {
        variants: vec![Variant {
            network: Network::Linkedin,
            caption: caption.into(),
            media: vec![],
            options: BTreeMap::new(),
        }],
        targets: vec![Target { network: Network::Linkedin, account: None }],
    };
    let p = app.services.create_post(actor, brand.id, content).await.expect("post");
    app.services.submit_post(actor, p.id, p.version).await.expect("submit")
}

/// Everything a workspace holds, as text, to show that a refused request changed nothing.
/// (An approval is written together with its post's state, version and `approval_id`, so the
/// posts cover approvals too.)
pub async fn snapshot(app: &TestApp, owner: &Actor) -> String {
    let s = &app.services;
    let mut brands = Vec::new();
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let p = s.brands(owner, page).await.unwrap();
        brands.extend(p.items);
        match p.next {
            Some(after) => page.after = Some(after),
            None => break,
        }
    }
    let mut posts = Vec::new();
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let p = s.posts(owner, &PostFilter::default(), page).await.unwrap();
        posts.extend(p.items);
        match p.next {
            Some(after) => page.after = Some(after),
            None => break,
        }
    }
    let members = s.members(owner).await.unwrap();
    let invitations = s.invitations(owner).await.unwrap();
    let tokens: Vec<_> = s
        .api_tokens(owner)
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.id, t.name, t.scopes, t.created_by, t.expires_at, t.revoked_at))
        .collect();
    format!("{brands:#?}\n{posts:#?}\n{members:#?}\n{invitations:#?}\n{tokens:#?}")
}
