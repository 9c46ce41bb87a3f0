//! TikTok errors: the API envelope `{"data":…,"error":{"code","message","log_id"}}`, the OAuth
//! endpoints' `{"error","error_description"}`, and the publish status' `fail_reason`.

use crate::error::{ErrorClass, PlatformError, after};
use crate::http::Answer;
use jiff::Timestamp;
use nanopost_domain::network::Network;
use serde_json::Value;

/// Per-minute limits (creator_info 20/min, init 6/min, status 30/min).
const RATE_LIMIT_SECS: i64 = 60;
const DAY_SECS: i64 = 86_400;
const PENDING_SHARE_SECS: i64 = 3_600;

/// The class of an API `error.code` (`ok` is not an error).
pub fn class_of_code(code: &str, now: Timestamp) -> ErrorClass {
    match code {
        "access_token_invalid" | "scope_not_authorized" | "scope_permission_missed" => ErrorClass::ReconnectNeeded,
        "rate_limit_exceeded" => ErrorClass::BackOffUntil(after(now, RATE_LIMIT_SECS)),
        "spam_risk_too_many_posts" | "reached_active_user_cap" => ErrorClass::BackOffUntil(after(now, DAY_SECS)),
        "spam_risk_too_many_pending_share" => ErrorClass::BackOffUntil(after(now, PENDING_SHARE_SECS)),
        "internal_error" => ErrorClass::RetryLater,
        "invalid_params"
        | "invalid_file_upload"
        | "privacy_level_option_mismatch"
        | "spam_risk_user_banned_from_posting"
        | "spam_risk_text"
        | "unaudited_client_can_only_post_to_private_accounts"
        | "url_ownership_unverified" => ErrorClass::ContentRejected,
        // OAuth endpoint errors.
        "invalid_grant" | "invalid_client" | "unauthorized_client" | "access_denied" => ErrorClass::ReconnectNeeded,
        "temporarily_unavailable" | "server_error" => ErrorClass::RetryLater,
        _ => ErrorClass::Unknown,
    }
}

/// The class of a publish `fail_reason`.
pub fn class_of_fail_reason(reason: &str) -> ErrorClass {
    match reason {
        "file_format_check_failed"
        | "duration_check_failed"
        | "frame_rate_check_failed"
        | "picture_size_check_failed"
        | "app_version_check_failed" => ErrorClass::ContentRejected,
        "video_pull_failed" | "photo_pull_failed" | "internal" => ErrorClass::RetryLater,
        _ => ErrorClass::Unknown,
    }
}

/// The error in an answer, if it has one (a 2xx with `error.code` other than `ok` is one too).
pub fn error_in(answer: &Answer, now: Timestamp) -> Option<PlatformError> {
    let body = answer.json();
    let envelope = body.as_ref().and_then(|b| b.get("error")).filter(|e| e.is_object());
    if let Some(e) = envelope {
        let code = e.get("code").and_then(Value::as_str).unwrap_or("");
        if code == "ok" && answer.is_success() {
            return None;
        }
        if !code.is_empty() && code != "ok" {
            let message = e.get("message").and_then(Value::as_str).filter(|m| !m.is_empty()).unwrap_or(code);
            return Some(PlatformError::new(Network::Tiktok, class_of_code(code, now), code, message));
        }
    }
    // OAuth style: {"error":"invalid_grant","error_description":"…"}.
    if let Some(code) = body.as_ref().and_then(|b| b.get("error")).and_then(Value::as_str) {
        let description =
            body.as_ref().and_then(|b| b.get("error_description")).and_then(Value::as_str).unwrap_or(code).to_owned();
        return Some(PlatformError::new(Network::Tiktok, class_of_code(code, now), code, description));
    }
    if answer.is_success() {
        return None;
    }
    let class = match answer.status {
        401 => ErrorClass::ReconnectNeeded,
        429 => ErrorClass::BackOffUntil(after(now, RATE_LIMIT_SECS)),
        500..=599 => ErrorClass::RetryLater,
        _ => ErrorClass::Unknown,
    };
    Some(PlatformError::new(Network::Tiktok, class, answer.status.to_string(), "TikTok answered without an error body"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;

    fn t0() -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap()
    }

    fn envelope(status: u16, code: &str) -> Answer {
        let body =
            format!(r#"{{"data":{{}},"error":{{"code":"{code}","message":"msg {code}","log_id":"202401010000"}}}}"#);
        Answer { status, headers: HeaderMap::new(), body: body.into_bytes() }
    }

    #[test]
    fn every_documented_error_code_is_classified() {
        let table: &[(&str, u16, ErrorClass)] = &[
            ("access_token_invalid", 401, ErrorClass::ReconnectNeeded),
            ("scope_not_authorized", 401, ErrorClass::ReconnectNeeded),
            ("scope_permission_missed", 401, ErrorClass::ReconnectNeeded),
            ("invalid_params", 400, ErrorClass::ContentRejected),
            ("invalid_file_upload", 400, ErrorClass::ContentRejected),
            ("rate_limit_exceeded", 429, ErrorClass::BackOffUntil(after(t0(), 60))),
            ("internal_error", 500, ErrorClass::RetryLater),
            ("privacy_level_option_mismatch", 400, ErrorClass::ContentRejected),
            ("spam_risk_too_many_posts", 403, ErrorClass::BackOffUntil(after(t0(), DAY_SECS))),
            ("spam_risk_user_banned_from_posting", 403, ErrorClass::ContentRejected),
            ("spam_risk_text", 403, ErrorClass::ContentRejected),
            ("spam_risk_too_many_pending_share", 403, ErrorClass::BackOffUntil(after(t0(), 3_600))),
            ("reached_active_user_cap", 403, ErrorClass::BackOffUntil(after(t0(), DAY_SECS))),
            ("unaudited_client_can_only_post_to_private_accounts", 403, ErrorClass::ContentRejected),
            ("url_ownership_unverified", 403, ErrorClass::ContentRejected),
            ("something_new", 400, ErrorClass::Unknown),
        ];
        for (code, status, class) in table {
            let e = error_in(&envelope(*status, code), t0()).unwrap_or_else(|| panic!("{code} not seen"));
            assert_eq!((e.class, e.code.as_str()), (*class, *code));
            // The status does not matter: some errors come with 200 (TikTok's envelope).
            assert_eq!(error_in(&envelope(200, code), t0()).unwrap().class, *class);
        }
        assert!(error_in(&envelope(200, "ok"), t0()).is_none());
    }

    #[test]
    fn oauth_errors_fail_reasons_and_bare_statuses() {
        let oauth = Answer {
            status: 400,
            headers: HeaderMap::new(),
            body:
                br#"{"error":"invalid_grant","error_description":"Refresh token is invalid or expired.","log_id":"1"}"#
                    .to_vec(),
        };
        let e = error_in(&oauth, t0()).unwrap();
        assert_eq!(e.class, ErrorClass::ReconnectNeeded);
        assert!(e.message.contains("expired"));
        for (reason, class) in [
            ("file_format_check_failed", ErrorClass::ContentRejected),
            ("duration_check_failed", ErrorClass::ContentRejected),
            ("frame_rate_check_failed", ErrorClass::ContentRejected),
            ("picture_size_check_failed", ErrorClass::ContentRejected),
            ("video_pull_failed", ErrorClass::RetryLater),
            ("photo_pull_failed", ErrorClass::RetryLater),
            ("app_version_check_failed", ErrorClass::ContentRejected),
            ("internal", ErrorClass::RetryLater),
            ("new_reason", ErrorClass::Unknown),
        ] {
            assert_eq!(class_of_fail_reason(reason), class, "{reason}");
        }
        let bare = |status| Answer { status, headers: HeaderMap::new(), body: b"<html/>".to_vec() };
        assert_eq!(error_in(&bare(502), t0()).unwrap().class, ErrorClass::RetryLater);
        assert_eq!(error_in(&bare(401), t0()).unwrap().class, ErrorClass::ReconnectNeeded);
        assert!(error_in(&bare(200), t0()).is_none());
    }
}
