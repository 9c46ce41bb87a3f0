//! LinkedIn error bodies: `{"message","serviceErrorCode","status"}` (documented), plus `code` as
//! newer responses carry it. OAuth endpoints use `{"error","error_description"}`.

use crate::common::json;
use crate::failure::Failure;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub(crate) struct RestError {
    pub status: u16,
    pub message: String,
    pub service_code: Option<i64>,
    pub code: Option<&'static str>,
    pub retry_after: Option<u64>,
}

impl RestError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        RestError { status, message: message.into(), service_code: None, code: None, retry_after: None }
    }
    pub fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }
    pub fn service(mut self, service_code: i64) -> Self {
        self.service_code = Some(service_code);
        self
    }
    pub fn body(&self) -> Value {
        let mut body = json!({"message": self.message, "status": self.status});
        if let Some(s) = self.service_code {
            body["serviceErrorCode"] = json!(s);
        }
        if let Some(c) = self.code {
            body["code"] = json!(c);
        }
        body
    }
    pub fn response(&self) -> Response {
        let mut r = json(StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST), self.body());
        r.headers_mut().insert("x-restli-protocol-version", HeaderValue::from_static("2.0.0"));
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            r.headers_mut().insert("retry-after", v);
        }
        r
    }
}

/// A [`Failure`] answering with a LinkedIn REST error (`code` may be empty for none).
pub fn rest_error(status: u16, code: &str, message: &str) -> Failure {
    let mut body = json!({"message": message, "status": status});
    if !code.is_empty() {
        body["code"] = json!(code);
    }
    Failure::json(status, body)
}

pub(crate) fn empty_token() -> RestError {
    RestError::new(401, "Empty oauth2_access_token").service(401)
}
pub(crate) fn invalid_token() -> RestError {
    RestError::new(401, "Invalid access token").service(65600).code("INVALID_ACCESS_TOKEN")
}
pub(crate) fn expired_token() -> RestError {
    RestError::new(401, "The token used in the request has expired").service(65602).code("EXPIRED_ACCESS_TOKEN")
}
pub(crate) fn revoked_token() -> RestError {
    RestError::new(401, "The token used in the request has been revoked by the user")
        .service(65601)
        .code("REVOKED_ACCESS_TOKEN")
}
pub(crate) fn forbidden(method: &str, path: &str) -> RestError {
    RestError::new(403, format!("Not enough permissions to access: {method} {path}")).service(100).code("ACCESS_DENIED")
}
pub(crate) fn bad_request(message: impl Into<String>) -> RestError {
    RestError::new(400, message)
}
pub(crate) fn unprocessable(field: &str, message: impl std::fmt::Display) -> RestError {
    RestError::new(422, format!("ERROR :: {field} :: {message}")).code("UNPROCESSABLE_ENTITY")
}
pub(crate) fn not_found(what: &str) -> RestError {
    RestError::new(404, format!("Not Found: {what}")).code("NOT_FOUND")
}
pub(crate) fn throttled(scope: &str, retry_after: Option<u64>) -> RestError {
    let mut e = RestError::new(
        429,
        format!("Resource level throttle {scope} DAY limit for calls to this resource is reached."),
    );
    e.retry_after = retry_after;
    e
}

/// `{"error","error_description"}` of `/oauth/v2/accessToken` and `/oauth/v2/revoke`.
pub(crate) fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    json(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        json!({"error": error, "error_description": description}),
    )
}
