//! A received request, body read, with the accessors every fake's router needs.

use crate::failure::percent_decode;
use crate::record::decode_pairs;
use axum::body::Bytes;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};

pub(crate) struct Incoming {
    pub listener: &'static str,
    pub method: Method,
    pub path: String,
    /// Percent-decoded, empty segments dropped (so trailing slashes do not matter).
    pub segments: Vec<String>,
    pub raw_query: Option<String>,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Incoming {
    pub fn new(listener: &'static str, parts: Parts, body: Bytes) -> Self {
        let path = parts.uri.path().to_owned();
        let raw_query = parts.uri.query().map(str::to_owned);
        Incoming {
            listener,
            method: parts.method,
            segments: path.split('/').filter(|s| !s.is_empty()).map(percent_decode).collect(),
            query: raw_query.as_deref().map(decode_pairs).unwrap_or_default(),
            path,
            raw_query,
            headers: parts.headers,
            body,
        }
    }

    pub fn seg(&self) -> Vec<&str> {
        self.segments.iter().map(String::as_str).collect()
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn is_form(&self) -> bool {
        self.header("content-type").is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
    }

    /// Form pairs; bodies without a content type are tried as forms too (curl-style clients).
    pub fn form(&self) -> Vec<(String, String)> {
        if self.is_form() || self.header("content-type").is_none() {
            std::str::from_utf8(&self.body).map(decode_pairs).unwrap_or_default()
        } else {
            Vec::new()
        }
    }

    pub fn form_value(&self, name: &str) -> Option<String> {
        self.form().into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Query string first, then form body: Graph and the OAuth endpoints accept either.
    pub fn param(&self, name: &str) -> Option<String> {
        self.query(name).map(str::to_owned).or_else(|| self.form_value(name))
    }

    /// Query and form parameters merged (query first).
    pub fn params(&self) -> Vec<(String, String)> {
        let mut all = self.query.clone();
        all.extend(self.form());
        all
    }

    /// The token of an `Authorization: Bearer …` (or Graph's `OAuth …`) header.
    pub fn bearer(&self) -> Option<&str> {
        let value = self.header("authorization")?.trim();
        let (scheme, token) = value.split_once(' ')?;
        (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth")).then(|| token.trim())
    }

    pub fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| format!("request body is not valid JSON: {e}"))
    }
}
