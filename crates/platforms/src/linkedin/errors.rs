//! LinkedIn errors: `{"message","serviceErrorCode","status"}` (newer answers add `code`).
//! The HTTP status decides first; a few bodies are known to be transient.

use crate::error::{ErrorClass, PlatformError, after, next_utc_midnight};
use crate::http::Answer;
use jiff::Timestamp;
use nanopost_domain::network::Network;
use serde_json::Value;

/// Bodies Postiz retries whatever their status.
const TRANSIENT_TEXTS: [&str; 3] = ["Unable to obtain activity", "resource is forbidden", "Service Unavailable"];

pub fn classify(answer: &Answer, now: Timestamp) -> PlatformError {
    let body = answer.json().unwrap_or(Value::Null);
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    let message = text("message").unwrap_or_else(|| String::from_utf8_lossy(&answer.body).chars().take(300).collect());
    let code = text("code");
    let service_code = body.get("serviceErrorCode").and_then(Value::as_i64);
    let token_code = code.as_deref().is_some_and(|c| {
        matches!(c, "EXPIRED_ACCESS_TOKEN" | "REVOKED_ACCESS_TOKEN" | "INVALID_ACCESS_TOKEN" | "ACCESS_DENIED")
    });
    let raw = String::from_utf8_lossy(&answer.body);
    let class = if TRANSIENT_TEXTS.iter().any(|t| raw.contains(t)) {
        ErrorClass::RetryLater
    } else if answer.status == 401 || token_code {
        ErrorClass::ReconnectNeeded
    } else {
        match answer.status {
            // Missing scope or organization role: the member must grant it again.
            403 => ErrorClass::ReconnectNeeded,
            // Daily limits reset at midnight UTC; no Retry-After is sent.
            429 => ErrorClass::BackOffUntil(next_utc_midnight(now).max(after(now, 60))),
            400 | 422 => ErrorClass::ContentRejected,
            500..=599 => ErrorClass::RetryLater,
            _ => ErrorClass::Unknown,
        }
    };
    let code_text = match (code, service_code) {
        (Some(c), _) => c,
        (None, Some(s)) => format!("{}/{s}", answer.status),
        (None, None) => answer.status.to_string(),
    };
    PlatformError::new(Network::Linkedin, class, code_text, message)
}

/// An error from the token endpoint (`/oauth/v2/accessToken`), OAuth style
/// `{"error","error_description"}`. A refused code or refresh token (LinkedIn answers 400
/// `invalid_request` for an invalid, expired or revoked one; 401 `invalid_client`) means the user
/// must connect again; the rest follows the API classes.
pub fn classify_token_endpoint(answer: &Answer, now: Timestamp) -> PlatformError {
    let body = answer.json().unwrap_or(Value::Null);
    let Some(error) = body.get("error").and_then(Value::as_str) else {
        return classify(answer, now);
    };
    let description = body.get("error_description").and_then(Value::as_str).unwrap_or(error).to_owned();
    let class = match (answer.status, error) {
        (_, "temporarily_unavailable" | "server_error") | (500..=599, _) => ErrorClass::RetryLater,
        (429, _) => ErrorClass::BackOffUntil(after(now, 60)),
        (400 | 401 | 403, _) => ErrorClass::ReconnectNeeded,
        _ => ErrorClass::Unknown,
    };
    PlatformError::new(Network::Linkedin, class, error, description)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;

    fn t0() -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap()
    }

    fn answer(status: u16, body: &str) -> Answer {
        Answer { status, headers: HeaderMap::new(), body: body.as_bytes().to_vec() }
    }

    #[test]
    fn token_endpoint_refusals_need_reconnecting() {
        let refused = answer(
            400,
            r#"{"error":"invalid_request","error_description":"The provided authorization grant or refresh token is invalid, expired or revoked"}"#,
        );
        assert_eq!(classify_token_endpoint(&refused, t0()).class, ErrorClass::ReconnectNeeded);
        let client = answer(401, r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#);
        assert_eq!(classify_token_endpoint(&client, t0()).class, ErrorClass::ReconnectNeeded);
        let busy = answer(503, r#"{"error":"server_error","error_description":"down"}"#);
        assert_eq!(classify_token_endpoint(&busy, t0()).class, ErrorClass::RetryLater);
        let throttled = answer(429, r#"{"error":"temporarily_unavailable"}"#);
        assert_eq!(classify_token_endpoint(&throttled, t0()).class, ErrorClass::RetryLater);
    }

    #[test]
    fn every_documented_status_and_body_is_classified() {
        let midnight = next_utc_midnight(t0());
        let table: &[(u16, &str, ErrorClass)] = &[
            (
                401,
                r#"{"message":"Empty oauth2_access_token","serviceErrorCode":401,"status":401}"#,
                ErrorClass::ReconnectNeeded,
            ),
            (401, r#"{"message":"expired","code":"EXPIRED_ACCESS_TOKEN","status":401}"#, ErrorClass::ReconnectNeeded),
            (401, r#"{"message":"revoked","code":"REVOKED_ACCESS_TOKEN","status":401}"#, ErrorClass::ReconnectNeeded),
            (403, r#"{"message":"denied","code":"ACCESS_DENIED","status":403}"#, ErrorClass::ReconnectNeeded),
            (
                403,
                r#"{"message":"Not enough permissions to access: partnerApiPostsExternal.CREATE.20260101","serviceErrorCode":100,"status":403}"#,
                ErrorClass::ReconnectNeeded,
            ),
            (400, r#"{"message":"Malformed request","status":400}"#, ErrorClass::ContentRejected),
            (404, r#"{"message":"Not found","status":404}"#, ErrorClass::Unknown),
            (409, r#"{"message":"Conflict","status":409}"#, ErrorClass::Unknown),
            (
                422,
                r#"{"message":"Content is a duplicate of urn:li:share:1","status":422}"#,
                ErrorClass::ContentRejected,
            ),
            (429, r#"{"message":"Too Many Requests","status":429}"#, ErrorClass::BackOffUntil(midnight)),
            (500, r#"{"message":"Internal Server Error","status":500}"#, ErrorClass::RetryLater),
            (503, "Service Unavailable", ErrorClass::RetryLater),
            (504, "", ErrorClass::RetryLater),
            (400, r#"{"message":"Unable to obtain activity urn:li:activity:1","status":400}"#, ErrorClass::RetryLater),
            (403, r#"{"message":"The resource is forbidden","status":403}"#, ErrorClass::RetryLater),
        ];
        for (status, body, class) in table {
            let e = classify(&answer(*status, body), t0());
            assert_eq!(e.class, *class, "{status} {body}");
            assert_eq!(e.network, Network::Linkedin);
        }
        assert_eq!(
            classify(&answer(401, r#"{"message":"m","serviceErrorCode":65600,"status":401}"#), t0()).code,
            "401/65600"
        );
    }
}
