//! Bot API parameters the way Telegram takes them: query string, `x-www-form-urlencoded`, JSON
//! body or `multipart/form-data` (the only way to upload a file), all merged into one map.

use super::errors::ApiError;
use crate::incoming::Incoming;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub(crate) struct Upload {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Default)]
pub(crate) struct Params {
    values: BTreeMap<String, Value>,
    pub files: BTreeMap<String, Upload>,
}

impl Params {
    pub fn from_request(req: &Incoming) -> Result<Self, ApiError> {
        let mut p = Params::default();
        for (k, v) in &req.query {
            p.values.insert(k.clone(), Value::String(v.clone()));
        }
        let content_type = req.header("content-type").unwrap_or("").to_ascii_lowercase();
        if req.body.is_empty() {
            return Ok(p);
        }
        if content_type.starts_with("application/json") {
            let body: Value = serde_json::from_slice(&req.body)
                .map_err(|_| ApiError::bad_request("Bad Request: can't parse JSON object"))?;
            let Value::Object(fields) = body else {
                return Err(ApiError::bad_request("Bad Request: can't parse JSON object"));
            };
            p.values.extend(fields);
        } else if content_type.starts_with("multipart/form-data") {
            let boundary = content_type
                .split(';')
                .filter_map(|s| s.trim().strip_prefix("boundary="))
                .next()
                .map(|b| b.trim_matches('"').to_owned())
                .ok_or_else(|| ApiError::bad_request("Bad Request: multipart boundary is missing"))?;
            // The boundary's case matters: take it from the original header.
            let original = req.header("content-type").unwrap_or("");
            let at = original.to_ascii_lowercase().find(&boundary).unwrap_or(0);
            let boundary = original.get(at..at + boundary.len()).unwrap_or(&boundary).to_owned();
            for part in parse_multipart(&req.body, &boundary)? {
                match part.file_name {
                    Some(file_name) => {
                        p.files.insert(
                            part.name,
                            Upload {
                                file_name,
                                content_type: part.content_type.unwrap_or_else(|| "application/octet-stream".into()),
                                bytes: part.body,
                            },
                        );
                    }
                    None => {
                        p.values.insert(part.name, Value::String(String::from_utf8_lossy(&part.body).into_owned()));
                    }
                }
            }
        } else {
            for (k, v) in req.form() {
                p.values.insert(k, Value::String(v));
            }
        }
        Ok(p)
    }

    pub fn from_json(fields: serde_json::Map<String, Value>) -> Self {
        Params { values: fields.into_iter().collect(), files: BTreeMap::new() }
    }

    pub fn has(&self, key: &str) -> bool {
        self.values.get(key).is_some_and(|v| !v.is_null())
    }

    pub fn str(&self, key: &str) -> Option<String> {
        match self.values.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub fn i64(&self, key: &str) -> Option<i64> {
        match self.values.get(key)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn bool(&self, key: &str) -> bool {
        match self.values.get(key) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true" || s == "1",
            Some(Value::Number(n)) => n.as_i64() == Some(1),
            _ => false,
        }
    }

    /// A JSON-typed parameter (`reply_markup`, `media`): sent as JSON text in forms and
    /// multipart, as a value in JSON bodies.
    pub fn json(&self, key: &str) -> Result<Option<Value>, ApiError> {
        match self.values.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => serde_json::from_str(s)
                .map(Some)
                .map_err(|_| ApiError::bad_request(format!("Bad Request: can't parse {key} JSON object"))),
            Some(v) => Ok(Some(v.clone())),
        }
    }
}

struct Part {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

fn parse_multipart(body: &[u8], boundary: &str) -> Result<Vec<Part>, ApiError> {
    let bad = || ApiError::bad_request("Bad Request: malformed multipart/form-data body");
    let delimiter = format!("--{boundary}").into_bytes();
    let mut parts = Vec::new();
    let mut rest = body;
    let start = find(rest, &delimiter).ok_or_else(bad)?;
    rest = &rest[start + delimiter.len()..];
    loop {
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        rest = rest.strip_prefix(b"\r\n").ok_or_else(bad)?;
        let head_end = find(rest, b"\r\n\r\n").ok_or_else(bad)?;
        let head = String::from_utf8_lossy(&rest[..head_end]).into_owned();
        rest = &rest[head_end + 4..];
        let end = find(rest, &[b"\r\n".as_slice(), &delimiter].concat()).ok_or_else(bad)?;
        let content = rest[..end].to_vec();
        rest = &rest[end + 2 + delimiter.len()..];
        let mut name = None;
        let mut file_name = None;
        let mut content_type = None;
        for line in head.split("\r\n") {
            let Some((k, v)) = line.split_once(':') else { continue };
            if k.trim().eq_ignore_ascii_case("content-disposition") {
                name = quoted_attr(v, "name");
                file_name = quoted_attr(v, "filename");
            } else if k.trim().eq_ignore_ascii_case("content-type") {
                content_type = Some(v.trim().to_owned());
            }
        }
        parts.push(Part { name: name.ok_or_else(bad)?, file_name, content_type, body: content });
    }
}

fn quoted_attr(header: &str, attr: &str) -> Option<String> {
    header.split(';').map(str::trim).find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k.trim() == attr).then(|| v.trim().trim_matches('"').to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_fields_and_files() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n42\r\n--XyZ\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\r\n\xff\r\n--XyZ--\r\n";
        let parts = parse_multipart(body, "XyZ").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!((parts[0].name.as_str(), parts[0].body.as_slice()), ("chat_id", b"42".as_slice()));
        assert_eq!(parts[1].file_name.as_deref(), Some("a.jpg"));
        assert_eq!(parts[1].body, b"\xff\xd8\r\n\xff");
        assert!(parse_multipart(b"garbage", "XyZ").is_err());
    }
}
