//! The Bot API's error answer: `{"ok":false,"error_code":N,"description":"…"}`, with
//! `parameters.retry_after` on a 429 (and the same status on the HTTP response).

use crate::common::json;
use crate::failure::Failure;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub description: String,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: u16, description: impl Into<String>) -> Self {
        ApiError { status, description: description.into(), retry_after: None }
    }
    pub fn bad_request(description: impl Into<String>) -> Self {
        Self::new(400, description)
    }
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized")
    }
    pub fn not_found() -> Self {
        Self::new(404, "Not Found")
    }
    pub fn chat_not_found() -> Self {
        Self::bad_request("Bad Request: chat not found")
    }
    pub fn blocked() -> Self {
        Self::new(403, "Forbidden: bot was blocked by the user")
    }
    pub fn too_many_requests(retry_after: u64) -> Self {
        ApiError {
            status: 429,
            description: format!("Too Many Requests: retry after {retry_after}"),
            retry_after: Some(retry_after),
        }
    }
    pub fn conflict(description: impl Into<String>) -> Self {
        Self::new(409, description)
    }

    pub fn body(&self) -> serde_json::Value {
        let mut body = json!({"ok": false, "error_code": self.status, "description": self.description});
        if let Some(s) = self.retry_after {
            body["parameters"] = json!({"retry_after": s});
        }
        body
    }

    pub fn response(&self) -> Response {
        json(StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST), self.body())
    }
}

/// A [`Failure`] answering with a Bot API error, e.g. `api_error(400, "Bad Request: chat not found")`.
pub fn api_error(status: u16, description: &str) -> Failure {
    Failure::json(status, ApiError::new(status, description).body())
}

/// A [`Failure`] answering 429 "Too Many Requests: retry after N" with `parameters.retry_after`.
pub fn too_many_requests(retry_after: u64) -> Failure {
    Failure::json(429, ApiError::too_many_requests(retry_after).body())
}
