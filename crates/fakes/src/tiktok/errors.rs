//! TikTok error bodies: the API envelope `{"data":{},"error":{"code","message","log_id"}}` and,
//! on the OAuth endpoints, `{"error","error_description","log_id"}`.

use crate::common::json;
use crate::failure::Failure;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ApiError { status: status_of(code), code: code.to_owned(), message: message.into(), retry_after: None }
    }

    pub fn body(&self, log_id: &str) -> Value {
        json!({"data": {}, "error": {"code": self.code, "message": self.message, "log_id": log_id}})
    }

    pub fn response(&self, log_id: &str) -> Response {
        let mut r = json(StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST), self.body(log_id));
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            r.headers_mut().insert("retry-after", v);
        }
        r
    }
}

/// The HTTP status documented (or believed, where the reference says "status recalled") for an
/// `error.code`.
pub(crate) fn status_of(code: &str) -> u16 {
    match code {
        "ok" => 200,
        "access_token_invalid" | "scope_not_authorized" | "scope_permission_missed" => 401,
        "rate_limit_exceeded" => 429,
        "internal_error" => 500,
        c if c.starts_with("spam_risk")
            || c == "reached_active_user_cap"
            || c == "unaudited_client_can_only_post_to_private_accounts"
            || c == "url_ownership_unverified" =>
        {
            403
        }
        _ => 400,
    }
}

fn default_message(code: &str) -> &'static str {
    match code {
        "access_token_invalid" => "The access token is invalid or not found in the request.",
        "scope_not_authorized" => "The user did not authorize the scope required for completing this request.",
        "scope_permission_missed" => "Additional scopes are required for this request.",
        "rate_limit_exceeded" => "API rate limit was exceeded. Please try later.",
        "internal_error" => "Something went wrong. Please try again later.",
        "invalid_params" => "The request parameters are invalid.",
        "invalid_file_upload" => "The file does not meet the requirements.",
        "privacy_level_option_mismatch" => "privacy_level is not one of the creator's privacy_level_options.",
        "spam_risk_too_many_posts" => "The daily post cap from the API is reached for the current user.",
        "spam_risk_user_banned_from_posting" => "The user is banned from making new posts.",
        "spam_risk_text" => "The text was flagged as a spam risk.",
        "spam_risk_too_many_pending_share" => "Too many pending shares for this user.",
        "reached_active_user_cap" => "The daily quota of active publishing users for this client is reached.",
        "unaudited_client_can_only_post_to_private_accounts" => {
            "Unaudited clients can only post to a private account (privacy_level SELF_ONLY)."
        }
        "url_ownership_unverified" => "The domain or URL prefix of the media URL is not verified for this client.",
        _ => "Request failed.",
    }
}

/// A [`Failure`] answering with a TikTok API error of this `error.code`, with its documented HTTP
/// status (401 token/scope, 429 rate, 500 internal, 403 spam/unaudited/url ownership, else 400).
pub fn api_error(code: &str) -> Failure {
    let e = ApiError::new(code, default_message(code));
    Failure::json(e.status, e.body("20260101000000FAKEINJECTED"))
}

/// A [`Failure`] answering the OAuth endpoints in their own shape.
pub fn oauth_error(error: &str, description: &str) -> Failure {
    Failure::json(
        400,
        json!({"error": error, "error_description": description, "log_id": "20260101000000FAKEINJECTED"}),
    )
}

pub(crate) fn api(code: &str) -> ApiError {
    ApiError::new(code, default_message(code))
}

pub(crate) fn invalid_params(message: impl Into<String>) -> ApiError {
    ApiError::new("invalid_params", message)
}

pub(crate) fn oauth(status: u16, error: &str, description: &str, log_id: &str) -> Response {
    json(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        json!({"error": error, "error_description": description, "log_id": log_id}),
    )
}
