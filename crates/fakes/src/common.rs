//! Small pieces shared by the three fakes: app registrations, readiness rules, id counters,
//! JSON answers, redirects and PKCE.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// An OAuth client registered with a fake network (Instagram app id, Facebook app id, LinkedIn
/// client id, TikTok client key).
#[derive(Clone, PartialEq, Eq)]
pub struct AppRegistration {
    pub client_id: String,
    pub client_secret: String,
    /// Redirect URIs the network accepts, compared exactly. Empty: any redirect URI is accepted
    /// (what `nanopost demo` uses, since the app's port is not known in advance).
    pub redirect_uris: Vec<String>,
}

impl AppRegistration {
    pub fn new(client_id: &str, client_secret: &str) -> Self {
        AppRegistration { client_id: client_id.into(), client_secret: client_secret.into(), redirect_uris: Vec::new() }
    }

    /// Only these redirect URIs are accepted.
    pub fn with_redirect_uris(mut self, uris: &[&str]) -> Self {
        self.redirect_uris = uris.iter().map(|u| (*u).to_owned()).collect();
        self
    }

    pub(crate) fn allows_redirect(&self, uri: &str) -> bool {
        self.redirect_uris.is_empty() || self.redirect_uris.iter().any(|u| u == uri)
    }
}

impl std::fmt::Debug for AppRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppRegistration")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("redirect_uris", &self.redirect_uris)
            .finish()
    }
}

pub(crate) fn find_app<'a>(apps: &'a [AppRegistration], client_id: &str) -> Option<&'a AppRegistration> {
    apps.iter().find(|a| a.client_id == client_id)
}

/// When an asynchronous job (Instagram container, LinkedIn image, TikTok publish) finishes
/// processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// After this many status reads. `AfterPolls(0)`: ready at once; `AfterPolls(2)`: the first
    /// two reads say "processing", the third says "done".
    AfterPolls(u32),
    /// Once this much time has passed on the fake's clock since creation.
    AfterTime(SignedDuration),
}

impl Readiness {
    pub(crate) fn is_ready(&self, polls_so_far: u32, created: Timestamp, now: Timestamp) -> bool {
        match *self {
            Readiness::AfterPolls(n) => polls_so_far >= n,
            Readiness::AfterTime(d) => now.duration_since(created) >= d,
        }
    }
}

/// Deterministic counters: the same sequence of calls gives the same ids in every run.
#[derive(Debug, Default)]
pub(crate) struct Counters(HashMap<&'static str, u64>);

impl Counters {
    pub fn next(&mut self, kind: &'static str) -> u64 {
        let n = self.0.entry(kind).or_insert(0);
        *n += 1;
        *n
    }
}

pub(crate) fn json(status: StatusCode, value: serde_json::Value) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=UTF-8"))], value.to_string())
        .into_response()
}

pub(crate) fn ok_json(value: serde_json::Value) -> Response {
    json(StatusCode::OK, value)
}

pub(crate) fn redirect(location: &str) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// `base` with `pairs` appended to its query string, plus an optional fragment.
pub(crate) fn with_query(base: &str, pairs: &[(&str, &str)], fragment: Option<&str>) -> String {
    let encoded = serde_urlencoded::to_string(pairs).unwrap_or_default();
    let separator = if base.contains('?') { '&' } else { '?' };
    let mut url = format!("{base}{separator}{encoded}");
    if let Some(f) = fragment {
        url.push('#');
        url.push_str(f);
    }
    url
}

/// PKCE S256: BASE64URL(SHA256(verifier)) without padding (RFC 7636 §4.2).
pub(crate) fn pkce_s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// RFC 7636 §4.1: 43–128 characters from the unreserved set.
pub(crate) fn valid_pkce_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Seconds from `now` until `at`, never negative.
pub(crate) fn seconds_until(now: Timestamp, at: Timestamp) -> i64 {
    at.duration_since(now).as_secs().max(0)
}

pub(crate) fn split_list(value: &str, separators: &[char]) -> Vec<String> {
    value.split(|c| separators.contains(&c)).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}
