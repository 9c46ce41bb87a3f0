//! Our own lenient view of the OpenAI-compatible answers. Vendors deviate (missing `object`,
//! empty or unknown `finish_reason`, content as an array of parts, numbers as floats), so only
//! the fields we use are read, every one optional, and unknown values are kept as strings.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ChatCompletion {
    pub model: Option<String>,
    pub choices: Vec<Choice>,
    pub usage: Option<WireUsage>,
    /// Some proxies answer 200 with an error object.
    pub error: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Choice {
    pub message: Option<ChatMessage>,
    #[serde(deserialize_with = "lenient_string")]
    pub finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ChatMessage {
    pub content: Option<Content>,
    #[serde(deserialize_with = "lenient_string")]
    pub refusal: Option<String>,
}

/// A string (the usual), or an array of parts (some servers, and newer multimodal answers).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Parts(Vec<Value>),
    Other(Value),
}

impl Content {
    /// The text, parts joined; a part of type `refusal` is reported separately.
    pub fn text_and_refusal(&self) -> (String, Option<String>) {
        match self {
            Content::Text(s) => (s.clone(), None),
            Content::Parts(parts) => {
                let mut text = String::new();
                let mut refusal = None;
                for part in parts {
                    match part {
                        Value::String(s) => text.push_str(s),
                        Value::Object(o) => {
                            let kind = o.get("type").and_then(Value::as_str).unwrap_or("text");
                            if kind == "refusal" {
                                refusal = o.get("refusal").and_then(Value::as_str).map(str::to_owned);
                            } else if let Some(t) = o.get("text").and_then(Value::as_str) {
                                text.push_str(t);
                            }
                        }
                        _ => {}
                    }
                }
                (text, refusal)
            }
            Content::Other(_) => (String::new(), None),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WireUsage {
    #[serde(deserialize_with = "lenient_u64", alias = "input_tokens")]
    pub prompt_tokens: u64,
    #[serde(deserialize_with = "lenient_u64", alias = "output_tokens")]
    pub completion_tokens: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ImagesResponse {
    pub data: Vec<ImageDatum>,
    pub usage: Option<WireUsage>,
    pub error: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ImageDatum {
    #[serde(deserialize_with = "lenient_string")]
    pub b64_json: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub url: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub revised_prompt: Option<String>,
}

/// The error body `{"error":{"message","type","code","param"}}`, or the variants local servers
/// send (`{"error":"…"}`, `{"detail":"…"}`, `{"message":"…"}`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ApiErrorBody {
    pub message: String,
    pub kind: Option<String>,
    pub code: Option<String>,
}

impl ApiErrorBody {
    pub fn parse(body: &[u8]) -> Self {
        let Ok(v) = serde_json::from_slice::<Value>(body) else {
            let text = String::from_utf8_lossy(body);
            return ApiErrorBody { message: crate::text::cut_at_word(text.trim(), 300), ..Default::default() };
        };
        let as_str = |v: Option<&Value>| match v {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        match v.get("error") {
            Some(Value::Object(e)) => ApiErrorBody {
                message: as_str(e.get("message")).unwrap_or_default(),
                kind: as_str(e.get("type")),
                code: as_str(e.get("code")),
            },
            Some(Value::String(s)) => ApiErrorBody { message: s.clone(), ..Default::default() },
            _ => ApiErrorBody {
                message: as_str(v.get("detail")).or_else(|| as_str(v.get("message"))).unwrap_or_default(),
                ..Default::default()
            },
        }
    }

    pub fn is(&self, what: &str) -> bool {
        self.kind.as_deref() == Some(what) || self.code.as_deref() == Some(what)
    }
}

/// A string, or `None` for null, empty, or a value of another type.
fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) if !s.trim().is_empty() => Some(s),
        _ => None,
    })
}

/// A count given as an integer, a float, a numeric string, or null.
fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f.max(0.0) as u64)).unwrap_or(0),
        Value::String(s) => s.trim().parse::<f64>().map(|f| f.max(0.0) as u64).unwrap_or(0),
        _ => 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deviations_parse() {
        let c: ChatCompletion = serde_json::from_str(
            r#"{"choices":[{"index":"0","message":{"content":[{"type":"text","text":"{\"a\":"},"1}"]},
                "finish_reason":""}],"usage":{"prompt_tokens":12.0,"completion_tokens":"3"},"service_tier":"weird"}"#,
        )
        .unwrap();
        let choice = &c.choices[0];
        assert_eq!(choice.finish_reason, None);
        let (text, refusal) = choice.message.as_ref().unwrap().content.as_ref().unwrap().text_and_refusal();
        assert_eq!((text.as_str(), refusal), ("{\"a\":1}", None));
        assert_eq!(c.usage.unwrap().prompt_tokens, 12);
    }

    #[test]
    fn error_bodies() {
        let e = ApiErrorBody::parse(br#"{"error":{"message":"m","type":"insufficient_quota","code":null}}"#);
        assert!(e.is("insufficient_quota"));
        assert_eq!(ApiErrorBody::parse(br#"{"error":"model not found"}"#).message, "model not found");
        assert_eq!(ApiErrorBody::parse(br#"{"detail":"bad"}"#).message, "bad");
    }
}
