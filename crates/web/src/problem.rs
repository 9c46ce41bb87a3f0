//! RFC 9457 problem details: every error the JSON API returns is an `application/problem+json`
//! body with a stable `type`, a `title`, the `status`, a `detail` a person can act on and, for
//! validation failures, one entry per rejected field (invariant I5).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nanopost_domain::error::ValidationErrors;
use nanopost_services::ServiceError;
use serde::Serialize;
use utoipa::ToSchema;

pub const CONTENT_TYPE: &str = "application/problem+json";

/// What went wrong, as the API reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// Seconds, for `Retry-After` on 429.
    pub retry_after: Option<u64>,
}

/// The kinds of problem, each with one status and one stable `type` URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// Unreadable syntax: malformed JSON, a path id that is not a UUID, a bad query string.
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    /// Well-formed, but a field is missing, of the wrong type, unknown, or breaks a rule.
    Validation,
    RateLimited,
    Internal,
}

impl ProblemKind {
    pub fn status(self) -> StatusCode {
        match self {
            ProblemKind::BadRequest => StatusCode::BAD_REQUEST,
            ProblemKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ProblemKind::Forbidden => StatusCode::FORBIDDEN,
            ProblemKind::NotFound => StatusCode::NOT_FOUND,
            ProblemKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ProblemKind::Conflict => StatusCode::CONFLICT,
            ProblemKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProblemKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemKind::Validation => StatusCode::UNPROCESSABLE_ENTITY,
            ProblemKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ProblemKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable identifier clients switch on. Not meant to be dereferenced.
    pub fn type_uri(self) -> &'static str {
        match self {
            ProblemKind::BadRequest => "urn:nanopost:problem:bad-request",
            ProblemKind::Unauthorized => "urn:nanopost:problem:unauthorized",
            ProblemKind::Forbidden => "urn:nanopost:problem:forbidden",
            ProblemKind::NotFound => "urn:nanopost:problem:not-found",
            ProblemKind::MethodNotAllowed => "urn:nanopost:problem:method-not-allowed",
            ProblemKind::Conflict => "urn:nanopost:problem:conflict",
            ProblemKind::PayloadTooLarge => "urn:nanopost:problem:payload-too-large",
            ProblemKind::UnsupportedMediaType => "urn:nanopost:problem:unsupported-media-type",
            ProblemKind::Validation => "urn:nanopost:problem:validation",
            ProblemKind::RateLimited => "urn:nanopost:problem:rate-limited",
            ProblemKind::Internal => "urn:nanopost:problem:internal",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ProblemKind::BadRequest => "Bad request",
            ProblemKind::Unauthorized => "Authentication required",
            ProblemKind::Forbidden => "Not allowed",
            ProblemKind::NotFound => "Not found",
            ProblemKind::MethodNotAllowed => "Method not allowed",
            ProblemKind::Conflict => "Conflict",
            ProblemKind::PayloadTooLarge => "Request body too large",
            ProblemKind::UnsupportedMediaType => "Unsupported media type",
            ProblemKind::Validation => "Invalid input",
            ProblemKind::RateLimited => "Too many requests",
            ProblemKind::Internal => "Internal error",
        }
    }
}

/// One rejected field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field's path in the request, such as `name` or `variants[0].caption`.
    pub field: String,
    pub message: String,
}

/// The body of every error response (RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Problem)]
pub struct ProblemBody {
    /// A URI that identifies the kind of problem, such as `urn:nanopost:problem:validation`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Every rejected field (validation problems only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl Problem {
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self { kind, detail: detail.into(), errors: Vec::new(), retry_after: None }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::BadRequest, detail)
    }

    /// A 400 that names the offending parameter.
    pub fn bad_parameter(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            errors: vec![FieldError { field: field.to_owned(), message: message.clone() }],
            ..Self::new(ProblemKind::BadRequest, format!("{field}: {message}"))
        }
    }

    /// A 422 for one field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            errors: vec![FieldError { field: field.to_owned(), message: message.clone() }],
            ..Self::new(ProblemKind::Validation, format!("{field}: {message}"))
        }
    }

    pub fn invalid(errs: &ValidationErrors) -> Self {
        Self {
            errors: errs.0.iter().map(|e| FieldError { field: e.field.clone(), message: e.message.clone() }).collect(),
            ..Self::new(ProblemKind::Validation, errs.to_string())
        }
    }

    pub fn not_found() -> Self {
        Self::new(ProblemKind::NotFound, "no such resource in this workspace")
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::Unauthorized, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::Forbidden, detail)
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::Conflict, detail)
    }

    pub fn payload_too_large(limit: Option<usize>) -> Self {
        Self::new(
            ProblemKind::PayloadTooLarge,
            match limit {
                Some(n) => format!("the request body exceeds the limit of {n} bytes"),
                None => "the request body exceeds the size limit".to_owned(),
            },
        )
    }

    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::UnsupportedMediaType, detail)
    }

    pub fn method_not_allowed() -> Self {
        Self::new(ProblemKind::MethodNotAllowed, "this resource does not support the request method")
    }

    /// A 500. Logs what happened; the body says only "internal error".
    pub fn internal(cause: &str) -> Self {
        tracing::error!(error = %cause, "internal error while serving an API request");
        Self::new(ProblemKind::Internal, "internal error")
    }

    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    pub fn body(&self) -> ProblemBody {
        ProblemBody {
            kind: self.kind.type_uri().to_owned(),
            title: self.kind.title().to_owned(),
            status: self.status().as_u16(),
            detail: self.detail.clone(),
            errors: self.errors.clone(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.body()).unwrap_or_else(|_| b"{\"title\":\"Internal error\"}".to_vec());
        let mut res = (self.status(), body).into_response();
        let h = res.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        match self.kind {
            ProblemKind::Unauthorized => {
                h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"nanopost\""));
            }
            ProblemKind::RateLimited => {
                if let Some(secs) = self.retry_after {
                    h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
                }
            }
            _ => {}
        }
        res
    }
}

impl From<ServiceError> for Problem {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(errs) => Problem::invalid(&errs),
            ServiceError::Unauthorized(m) => Problem::unauthorized(m),
            ServiceError::Forbidden(m) => Problem::forbidden(m),
            ServiceError::NotFound => Problem::not_found(),
            ServiceError::Conflict(m) => Problem::conflict(m),
            ServiceError::RateLimited { retry_after_secs } => Problem {
                retry_after: Some(retry_after_secs),
                ..Problem::new(
                    ProblemKind::RateLimited,
                    format!("too many attempts; try again in {retry_after_secs} seconds"),
                )
            },
            ServiceError::Internal(cause) => Problem::internal(&cause),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nanopost_domain::ValidationError;

    #[test]
    fn each_service_error_has_its_status() {
        let cases = [
            (ServiceError::Invalid(ValidationError::new("name", "is required").into()), 422),
            (ServiceError::Unauthorized("no"), 401),
            (ServiceError::Forbidden("no"), 403),
            (ServiceError::NotFound, 404),
            (ServiceError::Conflict("changed".into()), 409),
            (ServiceError::RateLimited { retry_after_secs: 7 }, 429),
            (ServiceError::Internal("db exploded: secret".into()), 500),
        ];
        for (e, status) in cases {
            let p = Problem::from(e);
            assert_eq!(p.status().as_u16(), status);
            let res = p.clone().into_response();
            assert_eq!(res.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
            match status {
                401 => assert!(res.headers()[header::WWW_AUTHENTICATE].to_str().unwrap().starts_with("Bearer")),
                429 => assert_eq!(res.headers()[header::RETRY_AFTER], "7"),
                500 => assert_eq!(p.detail, "internal error"),
                422 => assert_eq!(p.errors, vec![FieldError { field: "name".into(), message: "is required".into() }]),
                _ => {}
            }
        }
    }

    #[test]
    fn the_body_follows_rfc_9457() {
        let v = serde_json::to_value(Problem::not_found().body()).unwrap();
        assert_eq!(v["type"], "urn:nanopost:problem:not-found");
        assert_eq!(v["status"], 404);
        assert!(v["title"].is_string() && v["detail"].is_string());
        assert!(v.get("errors").is_none());
    }
}
