//! The server-rendered web app, driven like a browser: cookies kept between requests, forms
//! posted urlencoded with their hidden CSRF field.

mod accounts;
mod assets;
mod calendar;
mod connections;
mod csrf;
mod demo_mailbox;
mod generate;
mod input;
mod media;
mod notifications;
mod privacy;
mod privacy_operator;
mod publishing;
mod review;
mod review_queue;
mod roles;

use crate::support::TestApp;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use nanopost_storage::User;
use std::collections::BTreeMap;
use tower::ServiceExt;

/// A response, read whole.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok())
    }

    /// Every `Set-Cookie` line.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect()
    }

    /// The `Set-Cookie` line for `name`.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.set_cookies().into_iter().find(|c| c.starts_with(&format!("{name}=")))
    }

    /// The value of the first `<input … name="{name}" value="…">` on the page, unescaped.
    pub fn hidden(&self, name: &str) -> Option<String> {
        let needle = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&needle)? + needle.len();
        let end = self.body[start..].find('"')? + start;
        Some(unescape(&self.body[start..end]))
    }

    pub fn assert_html(&self) {
        let ct = self.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(ct.starts_with("text/html"), "content type {ct:?}, body {}", self.body);
    }
}

/// Text as askama's HTML escaping writes it.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&#38;").replace('"', "&#34;").replace('\'', "&#39;").replace('<', "&#60;").replace('>', "&#62;")
}

fn unescape(s: &str) -> String {
    s.replace("&#34;", "\"").replace("&#39;", "'").replace("&#60;", "<").replace("&#62;", ">").replace("&#38;", "&")
}

/// A browser: keeps cookies, sends forms.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    cookies: BTreeMap<String, String>,
    /// Sent with every request (e.g. `Origin`).
    pub extra: Vec<(String, String)>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self { app, cookies: BTreeMap::new(), extra: vec![] }
    }

    /// A browser signed in as `user` (session opened through the use case).
    pub async fn signed_in(app: &'a TestApp, user: &User) -> Self {
        let mut b = Self::new(app);
        let token = app.session(user).await;
        b.cookies.insert("np_session".into(), token);
        b
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    pub fn set_cookie_value(&mut self, name: &str, value: &str) {
        self.cookies.insert(name.into(), value.into());
    }

    pub fn session(&self) -> &str {
        self.cookie("np_session").expect("signed in")
    }

    /// The CSRF token of this browser's session.
    pub fn csrf(&self) -> String {
        self.app.services.csrf_token(self.session())
    }

    async fn send(&mut self, mut req: Request<Body>) -> Page {
        let cookie_line: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if !cookie_line.is_empty() {
            req.headers_mut().insert(header::COOKIE, cookie_line.join("; ").parse().unwrap());
        }
        for (k, v) in &self.extra {
            req.headers_mut().insert(axum::http::HeaderName::try_from(k.as_str()).unwrap(), v.parse().unwrap());
        }
        let res = self.app.router.clone().oneshot(req).await.expect("the router never fails");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        let page = Page { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() };
        for line in page.set_cookies() {
            let first = line.split(';').next().unwrap_or("");
            let (name, value) = first.split_once('=').unwrap();
            if line.contains("Max-Age=0") || value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.into(), value.into());
            }
        }
        page
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send(Request::get(path).body(Body::empty()).unwrap()).await
    }

    /// Posts `body` as it is (no CSRF field added).
    pub async fn post_raw(&mut self, path: &str, body: impl Into<Vec<u8>>) -> Page {
        let req = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.into()))
            .unwrap();
        self.send(req).await
    }

    /// Posts the fields as they are (no CSRF field added).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = serde_urlencoded::to_string(fields).unwrap();
        self.post_raw(path, body).await
    }

    /// Posts a signed-in form with this session's CSRF token.
    pub async fn submit(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(path, &all).await
    }

    /// Posts a pre-login form with the double-submit value of the `np_csrf` cookie (GET a page
    /// that sets it first).
    pub async fn submit_public(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.cookie("np_csrf").expect("np_csrf cookie: GET the form first").to_owned();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(path, &all).await
    }
}

/// Creates a brand through the use case.
pub async fn brand(
    app: &TestApp,
    user: &User,
    ws: nanopost_domain::ids::WorkspaceId,
    name: &str,
) -> nanopost_domain::brand::Brand {
    let actor = app.actor(user, ws).await;
    let input = nanopost_domain::brand::BrandInput {
        name: name.into(),
        timezone: "Europe/Berlin".into(),
        ..Default::default()
    };
    app.services.create_brand(&actor, &input).await.expect("brand")
}

/// Creates an Instagram draft through the use case.
pub async fn draft(
    app: &TestApp,
    user: &User,
    ws: nanopost_domain::ids::WorkspaceId,
    brand: nanopost_domain::ids::BrandId,
    caption: &str,
) -> nanopost_domain::post::Post {
    use nanopost_domain::network::Network;
    use nanopost_domain::post::{PostContent, Target, Variant};
    let actor = app.actor(user, ws).await;
    let content = PostContent {
        variants: vec![Variant {
            network: Network::Instagram,
            caption: caption.into(),
            media: vec![],
            options: Default::default(),
        }],
        targets: vec![Target { network: Network::Instagram, account: None }],
    };
    app.services.create_post(&actor, brand, content).await.expect("post")
}
