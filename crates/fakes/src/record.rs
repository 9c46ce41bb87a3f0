//! What a fake received, kept verbatim so tests can assert on (and snapshot) exact requests.

use jiff::Timestamp;

/// One request as the fake received it. Headers are kept whole, secrets included: this is a test
/// fake, and asserting the `Authorization` header is part of the point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// 1, 2, 3… in arrival order across every listener of the fake.
    pub seq: u64,
    /// Which listener got it (`"instagram"`, `"facebook"`, `"linkedin"`, `"tiktok"`).
    pub listener: &'static str,
    pub method: String,
    /// The raw (still percent-encoded) path.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: Option<String>,
    /// Lower-case names, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The fake's clock when it arrived.
    pub at: Timestamp,
}

impl RecordedRequest {
    /// `"POST /v21.0/1784/media?caption=hi"`: handy in assertions and snapshots.
    pub fn line(&self) -> String {
        match &self.query {
            Some(q) => format!("{} {}?{}", self.method, self.path, q),
            None => format!("{} {}", self.method, self.path),
        }
    }

    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Decoded query pairs, in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.query.as_deref().map(decode_pairs).unwrap_or_default()
    }

    /// The first query value of that name.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_pairs().into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Decoded `application/x-www-form-urlencoded` body pairs (empty if the body is not a form).
    pub fn form(&self) -> Vec<(String, String)> {
        std::str::from_utf8(&self.body).map(decode_pairs).unwrap_or_default()
    }

    /// The first form value of that name.
    pub fn form_param(&self, name: &str) -> Option<String> {
        self.form().into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// A parameter from the query string, else from the form body (Graph accepts either).
    pub fn param(&self, name: &str) -> Option<String> {
        self.query_param(name).or_else(|| self.form_param(name))
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The body as text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub(crate) fn decode_pairs(s: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(s).unwrap_or_default()
}
