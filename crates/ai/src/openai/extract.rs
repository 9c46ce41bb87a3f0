//! Finding the JSON object in a model's text: models and local servers wrap it in ``` fences,
//! put reasoning in `<think>` blocks before it, or add a sentence around it.

use crate::error::AiError;
use serde_json::Value;

pub fn json_object(text: &str) -> Result<Value, AiError> {
    let text = strip_think(text);
    let text = text.trim();
    if let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(text) {
        return Ok(v);
    }
    let candidate = unfence(text).unwrap_or(text);
    let Some(start) = candidate.find('{') else {
        return Err(AiError::Malformed("the answer has no JSON object".into()));
    };
    match balanced_end(&candidate[start..]) {
        Some(end) => serde_json::from_str(&candidate[start..start + end])
            .map_err(|e| AiError::Malformed(format!("the answer's JSON is invalid: {e}"))),
        None => Err(AiError::Malformed("the answer's JSON is incomplete (truncated)".into())),
    }
}

fn strip_think(text: &str) -> String {
    let mut out = text.to_owned();
    while let Some(start) = out.find("<think>") {
        match out[start..].find("</think>") {
            Some(end) => out.replace_range(start..start + end + "</think>".len(), ""),
            None => {
                out.truncate(start);
                break;
            }
        }
    }
    out
}

/// The inside of the first ``` fence (with or without a language tag).
fn unfence(text: &str) -> Option<&str> {
    let open = text.find("```")?;
    let after = &text[open + 3..];
    let body_start = after.find('\n').map(|i| i + 1).unwrap_or(0);
    let body = &after[body_start..];
    Some(match body.find("```") {
        Some(close) => &body[..close],
        None => body,
    })
}

/// The length of the balanced `{…}` at the start of `s`, strings and escapes respected.
fn balanced_end(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' => depth += 1,
            '}' | ']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_object() {
        assert_eq!(json_object(r#"{"a":1}"#).unwrap()["a"], 1);
        assert_eq!(json_object("```json\n{\"a\":2}\n```").unwrap()["a"], 2);
        assert_eq!(json_object("<think>hmm {</think>Sure: {\"a\":\"}\"} done").unwrap()["a"], "}");
        assert!(matches!(json_object(r#"{"a":"unterminated"#), Err(AiError::Malformed(m)) if m.contains("truncated")));
        assert!(json_object("no json here").is_err());
    }
}
