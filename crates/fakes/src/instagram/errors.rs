//! Graph API error bodies, exactly in the documented shape:
//! `{"error":{"message","type","code","error_subcode","is_transient","error_user_title",
//! "error_user_msg","fbtrace_id"}}`. HTTP status is 400 unless noted (Graph throttling arrives as
//! 400, not 429); permission errors are 403; codes 1/2 are 500.

use crate::common::json;
use crate::failure::Failure;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub(crate) struct GraphError {
    pub http: u16,
    pub code: i64,
    pub subcode: Option<i64>,
    pub message: String,
    pub transient: bool,
    /// `error_user_title` and `error_user_msg` (boxed: keeps `Result<_, GraphError>` small).
    pub user: Option<Box<(String, String)>>,
    pub headers: Vec<(String, String)>,
}

impl GraphError {
    pub fn new(code: i64, subcode: Option<i64>, message: impl Into<String>) -> Self {
        let http = match code {
            1 | 2 => 500,
            10 | 200..=299 => 403,
            _ => 400,
        };
        GraphError {
            http,
            code,
            subcode,
            message: message.into(),
            transient: matches!(code, 1 | 2 | 4 | 17 | 32 | 341 | 613 | -1 | -2),
            user: None,
            headers: Vec::new(),
        }
    }

    pub fn user(mut self, title: &str, msg: &str) -> Self {
        self.user = Some(Box::new((title.into(), msg.into())));
        self
    }

    pub fn body(&self, trace: &str) -> Value {
        let mut error = json!({
            "message": self.message,
            "type": "OAuthException",
            "code": self.code,
            "is_transient": self.transient,
            "fbtrace_id": trace,
        });
        if let Some(sub) = self.subcode {
            error["error_subcode"] = json!(sub);
        }
        if let Some(user) = &self.user {
            error["error_user_title"] = json!(user.0);
            error["error_user_msg"] = json!(user.1);
        }
        json!({ "error": error })
    }

    pub fn response(&self, trace: &str) -> Response {
        let mut response = json(StatusCode::from_u16(self.http).unwrap_or(StatusCode::BAD_REQUEST), self.body(trace));
        for (k, v) in &self.headers {
            if let (Ok(name), Ok(value)) = (axum::http::HeaderName::try_from(k.as_str()), HeaderValue::from_str(v)) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

/// A [`Failure`] answering with a Graph error of this code/subcode (HTTP status as the fake
/// chooses it: 500 for codes 1/2, 403 for 10 and 200–299, else 400).
pub fn graph_error(code: i64, subcode: Option<i64>, message: &str) -> Failure {
    let e = GraphError::new(code, subcode, message);
    Failure::json(e.http, e.body("AfakeInjectedTrace"))
}

/// A [`Failure`] answering with one of the documented publishing subcodes (2207xxx), using the
/// top-level code from Meta's table where it gives one, else 100.
pub fn publishing_error(subcode: i64) -> Failure {
    let e = by_subcode(subcode);
    Failure::json(e.http, e.body("AfakeInjectedTrace"))
}

pub(crate) fn by_subcode(subcode: i64) -> GraphError {
    let (code, message) = match subcode {
        2207001 => (-1, "An unknown error occurred (IG server error)"),
        2207003 => (-2, "Media download has timed out"),
        2207004 => (36000, "The image size is too large."),
        2207005 => (36001, "The image format is not supported."),
        2207006 => (100, "Media not found or no permission to access it."),
        2207008 => (24, "The media builder does not exist or has expired."),
        2207009 => (36003, "The submitted image with aspect ratio is outside the allowed range."),
        2207010 => (100, "The caption is too long."),
        2207020 => (-2, "The media you are trying to access has expired. Please try to upload again."),
        2207023 => (100, "The media type entered is not one of the acceptable types."),
        2207026 => (100, "The video format is not supported."),
        2207027 => (9007, "Media ID is not available"),
        2207028 => (100, "Carousel validation failed."),
        2207032 => (-1, "Create media failed, please try to re-create media"),
        2207042 => (9, "The maximum number of posts that were published has been reached."),
        2207050 => (100, "The Instagram user is restricted or inactive."),
        2207051 => (4, "This action was restricted to protect the community (suspected spam)."),
        2207052 => (9004, "The media could not be fetched from this URI."),
        2207053 => (-1, "An unknown error occurred while uploading the video."),
        2207057 => (1, "The thumbnail offset is outside the video length."),
        2207081 => (100, "This account does not support Trial Reels."),
        2207082 => (-1, "The upload failed."),
        _ => (100, "Invalid parameter"),
    };
    let mut e = GraphError::new(code, Some(subcode), message);
    // A subcode error is about the content, not the server: keep it 400 whatever the code.
    e.http = 400;
    match subcode {
        2207004 => e.user("Image size too large", "The image is too large to download. It should be less than 8 MiB."),
        2207009 => e.user("Cannot publish the image", "The aspect ratio is not supported (4:5 to 1.91:1)."),
        2207010 => e.user("Caption too long", "The caption is longer than 2,200 characters."),
        2207027 => {
            e.user("Media Not Ready For Publishing", "The media is not ready for publishing, please wait for a moment")
        }
        2207042 => e.user("Publishing limit reached", "You reached the maximum number of posts allowed in 24 hours."),
        2207052 => e.user("Media could not be fetched from URI", "The media could not be fetched from this URI."),
        _ => e,
    }
}

pub(crate) fn missing_token() -> GraphError {
    GraphError::new(104, None, "An access token is required to request this resource.")
}

pub(crate) fn invalid_token() -> GraphError {
    GraphError::new(190, Some(467), "Invalid OAuth access token - Cannot parse access token")
}

pub(crate) fn expired_token(expired_at: &str, now: &str) -> GraphError {
    GraphError::new(
        190,
        Some(463),
        format!("Error validating access token: Session has expired on {expired_at}. The current time is {now}."),
    )
}

pub(crate) fn revoked_token(app: &str) -> GraphError {
    GraphError::new(
        190,
        Some(458),
        format!("Error validating access token: The user has not authorized application {app}."),
    )
}

pub(crate) fn permission(scope: &str) -> GraphError {
    GraphError::new(10, None, "Application does not have permission for this action")
        .user("Permission missing", &format!("The {scope} permission is required."))
}

pub(crate) fn not_found(method: &str, id: &str) -> GraphError {
    GraphError::new(
        100,
        Some(33),
        format!(
            "Unsupported {method} request. Object with ID '{id}' does not exist, cannot be loaded due to missing \
             permissions, or does not support this operation. Please read the Graph API documentation at \
             https://developers.facebook.com/docs/graph-api"
        ),
    )
}

pub(crate) fn unknown_path(path: &str) -> GraphError {
    GraphError::new(2500, None, format!("Unknown path components: {path}"))
}

pub(crate) fn param(message: impl Into<String>) -> GraphError {
    GraphError::new(100, None, message)
}

pub(crate) fn rate_limited(retry_after: Option<u64>) -> GraphError {
    let mut e = GraphError::new(4, None, "Application request limit reached");
    e.headers.push(("x-app-usage".into(), r#"{"call_count":100,"total_cputime":12,"total_time":20}"#.into()));
    if let Some(secs) = retry_after {
        let minutes = secs.div_ceil(60);
        e.headers.push((
            "x-business-use-case-usage".into(),
            format!(
                r#"{{"0":[{{"type":"instagram","call_count":100,"total_cputime":10,"total_time":10,"estimated_time_to_regain_access":{minutes}}}]}}"#
            ),
        ));
        e.headers.push(("retry-after".into(), secs.to_string()));
    }
    e
}

pub(crate) fn server_error() -> GraphError {
    GraphError::new(2, None, "An unexpected error has occurred. Please retry your request later.")
}

/// The old-style error of `api.instagram.com/oauth/access_token`.
pub(crate) fn oauth_exchange_error(message: &str) -> Response {
    json(StatusCode::BAD_REQUEST, json!({"error_type": "OAuthException", "code": 400, "error_message": message}))
}
