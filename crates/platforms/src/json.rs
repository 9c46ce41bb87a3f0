//! Lenient readers for network JSON: ids arrive as strings or numbers, lists as arrays or
//! comma-separated strings, objects flat or wrapped in `data`.

use serde_json::Value;

/// A string or integer field as text.
pub fn id(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned)
}

pub fn int(v: Option<&Value>) -> Option<i64> {
    v.and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
}

/// `["a","b"]` or `"a,b"` / `"a b"`.
pub fn list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect(),
        Some(Value::String(s)) => s.split([',', ' ']).filter(|x| !x.is_empty()).map(str::to_owned).collect(),
        _ => vec![],
    }
}

/// The object itself, or the first element of its `data` array, or its `data` object.
pub fn unwrap_data(v: &Value) -> &Value {
    match v.get("data") {
        Some(Value::Array(a)) if !a.is_empty() => &a[0],
        Some(d @ Value::Object(_)) => d,
        _ => v,
    }
}
