//! The OAuth consent pages: an HTML form a browser can click (GET shows it, POST decides), and
//! the same decision available in-process ([`Consent`]) for tests that do not drive a browser.
//!
//! The form posts back to the authorize path with the original authorize parameters as hidden
//! fields, plus `decision=allow|deny`, optionally `account=<id>` (which of the fake's users is
//! consenting) and `granted_scope=<scope>` fields with `scope_choice=1` (the scopes the user left
//! ticked). A POST without `scope_choice` grants every requested scope, so a test can simply POST
//! the authorize URL's query parameters plus `decision=allow`.

use crate::common::{redirect, with_query};
use crate::record::decode_pairs;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// A user's answer on a consent page, for [`crate::FakeInstagram::consent`] and friends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub allow: bool,
    /// The consenting user (an account id of the fake); `None`: the fake's first user.
    pub account: Option<String>,
    /// The scopes the user leaves ticked; `None`: every requested scope.
    pub scopes: Option<Vec<String>>,
}

impl Consent {
    pub fn allow() -> Self {
        Consent { allow: true, account: None, scopes: None }
    }
    pub fn deny() -> Self {
        Consent { allow: false, account: None, scopes: None }
    }
    /// Consent as this user of the fake (Instagram account id, Facebook user id, LinkedIn `sub`,
    /// TikTok `open_id`).
    pub fn as_account(mut self, id: &str) -> Self {
        self.account = Some(id.to_owned());
        self
    }
    /// Grant only these scopes (the user untickes the others).
    pub fn granting(mut self, scopes: &[&str]) -> Self {
        self.scopes = Some(scopes.iter().map(|s| (*s).to_owned()).collect());
        self
    }
}

/// Why a consent could not produce a redirect: the network shows an error page instead (unknown
/// client, unregistered redirect URI, bad parameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentError {
    pub status: u16,
    pub message: String,
}

impl std::fmt::Display for ConsentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "consent page error {}: {}", self.status, self.message)
    }
}

impl std::error::Error for ConsentError {}

impl ConsentError {
    pub(crate) fn bad(message: impl Into<String>) -> Self {
        ConsentError { status: 400, message: message.into() }
    }

    pub(crate) fn page(&self, network: &str) -> Response {
        let body = format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{n} error</title></head>\
             <body><h1>{n}</h1><p class=\"error\">{m}</p></body></html>",
            n = escape(network),
            m = escape(&self.message)
        );
        (StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST), Html(body)).into_response()
    }
}

/// What a network's authorize endpoint needs to render its page.
pub(crate) struct ConsentForm {
    pub network: &'static str,
    pub app_name: String,
    pub action: String,
    pub hidden: Vec<(String, String)>,
    pub accounts: Vec<(String, String)>,
    pub scopes: Vec<String>,
}

impl ConsentForm {
    pub fn render(&self) -> Response {
        let mut html = String::new();
        html.push_str("<!doctype html><html><head><meta charset=\"utf-8\">");
        html.push_str(&format!("<title>{} – authorize {}</title>", escape(self.network), escape(&self.app_name)));
        html.push_str(
            "<style>body{font-family:sans-serif;max-width:32rem;margin:3rem auto}\
             button{font-size:1.1rem;margin-right:1rem;padding:.4rem 1.2rem}</style></head><body>",
        );
        html.push_str(&format!(
            "<h1>{}</h1><p><strong>{}</strong> wants to access your account.</p>",
            escape(self.network),
            escape(&self.app_name)
        ));
        html.push_str(&format!("<form method=\"post\" action=\"{}\">", escape(&self.action)));
        for (k, v) in &self.hidden {
            html.push_str(&format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", escape(k), escape(v)));
        }
        if !self.accounts.is_empty() {
            html.push_str("<p><label>Continue as <select name=\"account\">");
            for (id, label) in &self.accounts {
                html.push_str(&format!("<option value=\"{}\">{}</option>", escape(id), escape(label)));
            }
            html.push_str("</select></label></p>");
        }
        html.push_str(
            "<input type=\"hidden\" name=\"scope_choice\" value=\"1\"><fieldset><legend>Permissions</legend>",
        );
        for scope in &self.scopes {
            html.push_str(&format!(
                "<label><input type=\"checkbox\" name=\"granted_scope\" value=\"{s}\" checked> {s}</label><br>",
                s = escape(scope)
            ));
        }
        html.push_str(
            "</fieldset><p><button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
             <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></p></form></body></html>",
        );
        Html(html).into_response()
    }
}

/// Splits a consent POST body into the user's answer and the original authorize parameters.
pub(crate) fn parse_submission(body: &[u8]) -> Result<(Consent, Vec<(String, String)>), ConsentError> {
    let pairs = std::str::from_utf8(body).map(decode_pairs).unwrap_or_default();
    let mut consent = Consent { allow: false, account: None, scopes: None };
    let mut decision = None;
    let mut chose_scopes = false;
    let mut granted = Vec::new();
    let mut params = Vec::new();
    for (k, v) in pairs {
        match k.as_str() {
            "decision" => decision = Some(v),
            "account" => consent.account = Some(v),
            "scope_choice" => chose_scopes = true,
            "granted_scope" => granted.push(v),
            _ => params.push((k, v)),
        }
    }
    consent.allow = match decision.as_deref() {
        Some("allow") => true,
        Some("deny") => false,
        _ => return Err(ConsentError::bad("decision must be allow or deny")),
    };
    if chose_scopes {
        consent.scopes = Some(granted);
    }
    Ok((consent, params))
}

/// The query parameters of an authorize URL given in full (`http://127.0.0.1:…/oauth/authorize?…`).
pub(crate) fn url_query_pairs(url: &str) -> (String, Vec<(String, String)>) {
    let without_fragment = url.split('#').next().unwrap_or(url);
    let (before, query) = without_fragment.split_once('?').unwrap_or((without_fragment, ""));
    let path = match before.split_once("://") {
        Some((_, rest)) => rest.find('/').map(|i| rest[i..].to_owned()).unwrap_or_else(|| "/".into()),
        None => before.to_owned(),
    };
    (path, decode_pairs(query))
}

pub(crate) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Scopes the user granted: the requested ones, narrowed to the ticked ones if they chose.
pub(crate) fn granted_scopes(requested: &[String], consent: &Consent) -> Vec<String> {
    match &consent.scopes {
        None => requested.to_vec(),
        Some(ticked) => requested.iter().filter(|s| ticked.contains(s)).cloned().collect(),
    }
}

/// Either redirect (the common case) or show an error page, from a consent decision.
pub(crate) fn respond(network: &str, outcome: Result<String, ConsentError>) -> Response {
    match outcome {
        Ok(location) => redirect(&location),
        Err(e) => e.page(network),
    }
}

/// The refusal redirect (`error=access_denied…`).
pub(crate) fn denied(redirect_uri: &str, pairs: &[(&str, &str)], fragment: Option<&str>) -> String {
    with_query(redirect_uri, pairs, fragment)
}

pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}
