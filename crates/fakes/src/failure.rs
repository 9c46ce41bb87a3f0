//! Failure injection: which requests fail ([`Route`]) and how ([`Failure`]).

use crate::record::RecordedRequest;
use std::time::Duration;

/// How a request fails. The generic classes (`RateLimited` … `QuotaExhausted`) are rendered in
/// the network's own documented error shape (see each fake's module docs for the exact bodies);
/// `Respond` sends exactly what you give it (the `*_error` helpers of each fake build one).
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// Throttled. `retry_after` (seconds) adds a `Retry-After` header where given (LinkedIn and
    /// Instagram do not send one by default; TikTok's body is `rate_limit_exceeded`).
    RateLimited { retry_after: Option<u64> },
    /// A 5xx answer in the network's shape (Instagram code 2 / LinkedIn 503 / TikTok `internal_error`).
    ServerError,
    /// The token is expired (Instagram 190/463, LinkedIn 401 EXPIRED_ACCESS_TOKEN, TikTok `access_token_invalid`).
    TokenExpired,
    /// The token is unknown or malformed (Instagram 190/467, LinkedIn 401 65600, TikTok `access_token_invalid`).
    TokenInvalid,
    /// The user revoked the app (Instagram 190/458, LinkedIn 401 REVOKED_ACCESS_TOKEN, TikTok `access_token_invalid`).
    TokenRevoked,
    /// A scope or role is missing (Instagram code 10, LinkedIn 403 ACCESS_DENIED, TikTok `scope_not_authorized`).
    PermissionMissing,
    /// The content is refused (Instagram 36003/2207009, LinkedIn 422, TikTok `spam_risk_text`).
    ContentRejected,
    /// The publishing quota is used up (Instagram 9/2207042, LinkedIn 429, TikTok `spam_risk_too_many_posts`).
    QuotaExhausted,
    /// Never answers (until the fake is dropped): the client's timeout must fire.
    Hang,
    /// Answers normally, after this delay.
    Delay(Duration),
    /// Performs the action at once, then waits this long before answering: a client that
    /// gives up (or dies) meanwhile never learns that the action happened.
    SlowAnswer(Duration),
    /// Drops the connection without performing the action.
    DropBeforeAction,
    /// Performs the action (state changes, ids are allocated), then drops the connection before
    /// answering: the "accepted but the client never heard back" case.
    DropAfterAction,
    /// Answers with exactly this status, headers and body, without performing the action.
    Respond { status: u16, headers: Vec<(String, String)>, body: String },
}

impl Failure {
    /// A JSON answer with the given status.
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Failure::Respond {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
        }
    }
}

/// Which requests a failure rule applies to: an optional method, a path pattern and an optional
/// listener name.
///
/// Patterns are matched segment by segment against the percent-decoded path: `*` matches exactly
/// one segment, `**` matches any number (including none), anything else matches literally.
/// Trailing slashes are ignored. Examples: `Route::post("**/media_publish")` matches
/// `/v21.0/178…/media_publish`; `Route::get("/*/*")` matches `/v21.0/1789…`;
/// `Route::post("/rest/posts")`; `Route::post("/v2/post/publish/status/fetch")`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    method: Option<String>,
    pattern: Vec<String>,
    listener: Option<String>,
}

impl Route {
    /// Every request.
    pub fn any() -> Self {
        Route { method: None, pattern: vec!["**".into()], listener: None }
    }
    /// Any method on paths matching `pattern`.
    pub fn path(pattern: &str) -> Self {
        Route { method: None, pattern: split(pattern), listener: None }
    }
    pub fn get(pattern: &str) -> Self {
        Self::method("GET", pattern)
    }
    pub fn post(pattern: &str) -> Self {
        Self::method("POST", pattern)
    }
    pub fn put(pattern: &str) -> Self {
        Self::method("PUT", pattern)
    }
    pub fn delete(pattern: &str) -> Self {
        Self::method("DELETE", pattern)
    }
    pub fn method(method: &str, pattern: &str) -> Self {
        Route { method: Some(method.to_ascii_uppercase()), pattern: split(pattern), listener: None }
    }
    /// Restricts the route to one listener of the fake (e.g. `"facebook"` on the Instagram fake).
    pub fn on(mut self, listener: &str) -> Self {
        self.listener = Some(listener.to_owned());
        self
    }

    /// Whether a recorded request falls under this route.
    pub fn matches(&self, req: &RecordedRequest) -> bool {
        if self.method.as_deref().is_some_and(|m| m != req.method) {
            return false;
        }
        if self.listener.as_deref().is_some_and(|l| l != req.listener) {
            return false;
        }
        let segments = split(&req.path).into_iter().map(|s| percent_decode(&s)).collect::<Vec<_>>();
        glob(&self.pattern, &segments)
    }
}

fn split(path: &str) -> Vec<String> {
    path.split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn glob(pattern: &[String], segments: &[String]) -> bool {
    match pattern.split_first() {
        None => segments.is_empty(),
        Some((head, rest)) if head == "**" => (0..=segments.len()).any(|skip| glob(rest, &segments[skip..])),
        Some((head, rest)) => match segments.split_first() {
            Some((seg, more)) if head == "*" || head == seg => glob(rest, more),
            _ => false,
        },
    }
}

pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An armed failure.
pub(crate) struct Rule {
    pub route: Route,
    pub failure: Failure,
    /// `None`: until cleared.
    pub remaining: Option<usize>,
}
