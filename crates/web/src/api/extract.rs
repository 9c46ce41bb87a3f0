//! Extractors of the JSON API. Each turns every way a request can be wrong into a problem+json
//! response that says what was wrong (invariant I5), instead of axum's plain-text rejections.

use crate::AppState;
use crate::problem::{FieldError, Problem, ProblemKind};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use nanopost_services::Actor;
use serde::de::DeserializeOwned;
use std::str::FromStr;

/// The longest `Authorization` value looked at; real tokens are far shorter.
const MAX_TOKEN_LEN: usize = 512;

/// The actor behind `Authorization: Bearer <token>`. The API knows no other credential: no
/// cookies, so there is nothing for a cross-site request to ride on.
pub struct ApiActor(pub Actor);

impl FromRequestParts<AppState> for ApiActor {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let mut values = parts.headers.get_all(header::AUTHORIZATION).iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            return Err(Problem::unauthorized("send an API token in one header: Authorization: Bearer <token>"));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN_LEN)
            .ok_or_else(|| Problem::unauthorized("the Authorization header must be: Bearer <token>"))?;
        state.services.actor_from_api_token(token).await.map(ApiActor).map_err(Problem::from)
    }
}

/// A JSON request body. Checks the content type, enforces the body limit, and reports
/// syntax errors (400) apart from well-formed bodies of the wrong shape (422, with the field).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Problem> {
        if !is_json(req.headers().get(header::CONTENT_TYPE)) {
            return Err(Problem::unsupported_media_type("send the body as JSON with Content-Type: application/json"));
        }
        let limit = state.config.max_body_bytes;
        let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(Problem::payload_too_large(Some(limit)));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| body_rejection(e, limit))?;
        if bytes.len() > limit {
            return Err(Problem::payload_too_large(Some(limit)));
        }
        parse_json(&bytes).map(ApiJson)
    }
}

fn is_json(value: Option<&header::HeaderValue>) -> bool {
    let Some(ct) = value.and_then(|v| v.to_str().ok()) else { return false };
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn body_rejection(e: BytesRejection, limit: usize) -> Problem {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Problem::payload_too_large(Some(limit))
    } else {
        Problem::bad_request("the request body could not be read")
    }
}

/// Parses a JSON body into `T`, naming the offending field where serde knows it.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Problem::bad_request("the request body is empty; send a JSON object"));
    }
    // serde lets a struct be read from an array (`["Acme"]`); the API takes objects only.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Ok(_) => Problem::invalid_field("body", "must be a JSON object"),
            Err(e) => Problem::bad_request(format!("malformed JSON: {}", without_position(&e))),
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(json_problem)?;
    de.end().map_err(|e| Problem::bad_request(format!("malformed JSON: {}", without_position(&e))))?;
    Ok(value)
}

fn json_problem(e: serde_path_to_error::Error<serde_json::Error>) -> Problem {
    use serde_json::error::Category;
    let path = e.path().to_string();
    let inner = e.inner();
    match inner.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            let what = if inner.to_string().contains("unicode") {
                "malformed JSON (text must be valid UTF-8)"
            } else {
                "malformed JSON"
            };
            Problem::bad_request(format!("{what}: {}", without_position(inner)))
        }
        Category::Data => {
            let message = without_position(inner);
            let field = field_of(&path, &message);
            let (field, message) = (field.unwrap_or_else(|| "body".to_owned()), humanize(&message));
            Problem {
                errors: vec![FieldError { field: field.clone(), message: message.clone() }],
                ..Problem::new(ProblemKind::Validation, format!("{field}: {message}"))
            }
        }
    }
}

/// serde_json appends " at line L column C"; the position is noise in a field error.
fn without_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

/// The dotted path of the field an error is about. For a missing or unknown field serde
/// reports the path of the enclosing object, and names the field in the message.
fn field_of(path: &str, message: &str) -> Option<String> {
    let parent = if path == "." { "" } else { path };
    let named = ["missing field `", "unknown field `", "duplicate field `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|rest| rest.split('`').next());
    let joined = match (parent, named) {
        // serde_path_to_error already ends the path with the name of an unknown field.
        (p, Some(name)) if p == name || p.ends_with(&format!(".{name}")) => p.to_owned(),
        ("", Some(name)) => name.to_owned(),
        (p, Some(name)) => format!("{p}.{name}"),
        (p, None) => p.to_owned(),
    };
    (!joined.is_empty()).then_some(joined)
}

fn humanize(message: &str) -> String {
    if message.starts_with("missing field") {
        "is required".to_owned()
    } else if let Some(rest) = message.strip_prefix("unknown field `") {
        match rest.split_once(", expected ") {
            Some((_, expected)) => format!("is not a known field; expected {expected}"),
            None => "is not a known field".to_owned(),
        }
    } else if message.starts_with("duplicate field") {
        "appears more than once".to_owned()
    } else {
        message.to_owned()
    }
}

/// A path id (`{id}`, `{user_id}`): anything that does not parse is a 400 naming the parameter.
pub struct ApiPath<T>(pub T);

impl<T: FromStr, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| Problem::bad_request("a path parameter is not valid UTF-8"))?;
        let (name, value) = params.iter().last().ok_or_else(|| Problem::internal("route without a path parameter"))?;
        value.parse().map(ApiPath).map_err(|_| Problem::bad_parameter(name, "must be a UUID"))
    }
}

/// Query parameters. Unknown, malformed or out-of-range parameters are a 400 naming them.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(ApiQuery(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                let text = e.body_text();
                let detail = text.strip_prefix("Failed to deserialize query string: ").unwrap_or(&text);
                Err(query_problem(detail))
            }
            Err(e) => Err(Problem::bad_request(e.body_text())),
        }
    }
}

fn query_problem(detail: &str) -> Problem {
    // axum reports `path: message`, or just `message` for the query as a whole.
    let (path, message) = match detail.split_once(": ") {
        Some((p, m)) if !p.contains(' ') => (p, m),
        _ => (".", detail),
    };
    let field = field_of(path, message).unwrap_or_else(|| "query".to_owned());
    Problem::bad_parameter(&field, humanize(message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        inner: Vec<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        n: u8,
    }

    fn err(body: &str) -> Problem {
        parse_json::<Outer>(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn syntax_errors_are_400_and_shape_errors_422_with_the_field() {
        assert_eq!(err("{\"name\": ").kind, ProblemKind::BadRequest);
        assert_eq!(err("").kind, ProblemKind::BadRequest);
        assert_eq!(err("{\"name\":\"a\",\"inner\":[]} trailing").kind, ProblemKind::BadRequest);
        assert_eq!(err(&format!("{}1{}", "[".repeat(5000), "]".repeat(5000))).kind, ProblemKind::Validation);
        assert_eq!(err("[\"a\", []]").kind, ProblemKind::Validation);
        assert_eq!(err("null").kind, ProblemKind::Validation);

        let p = err(r#"{"inner": []}"#);
        assert_eq!((p.kind, p.errors[0].field.as_str()), (ProblemKind::Validation, "name"));
        assert_eq!(p.errors[0].message, "is required");

        let p = err(r#"{"name": "a", "inner": [{"n": 1}, {"n": 300}]}"#);
        assert_eq!(p.errors[0].field, "inner[1].n");

        let p = err(r#"{"name": "a", "inner": [{"n": 1, "x": 2}]}"#);
        assert_eq!(p.errors[0].field, "inner[0].x");
        assert!(p.errors[0].message.starts_with("is not a known field"), "{}", p.errors[0].message);

        let p = err(r#"{"name": 5, "inner": []}"#);
        assert_eq!(p.errors[0].field, "name");
        assert!(p.detail.contains("expected a string"), "{}", p.detail);
    }

    #[test]
    fn invalid_utf8_is_a_syntax_error() {
        let p = parse_json::<Outer>(b"{\"name\": \"\xff\xfe\", \"inner\": []}").unwrap_err();
        assert_eq!(p.kind, ProblemKind::BadRequest);
    }

    #[test]
    fn json_content_types() {
        let ok = |s: &'static str| is_json(Some(&header::HeaderValue::from_static(s)));
        assert!(ok("application/json"));
        assert!(ok("Application/JSON; charset=utf-8"));
        assert!(ok("application/merge-patch+json"));
        assert!(!ok("text/plain"));
        assert!(!ok("application/x-www-form-urlencoded"));
        assert!(!is_json(None));
    }
}
