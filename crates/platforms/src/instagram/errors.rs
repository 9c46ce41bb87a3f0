//! Instagram Graph errors (both hosts): `{"error":{"code","error_subcode","message",…}}`,
//! usually with HTTP 400/403 even for throttling, so the classification branches on the codes.

use crate::error::{ErrorClass, PlatformError, after};
use crate::http::Answer;
use jiff::Timestamp;
use nanopost_domain::network::Network;
use serde_json::Value;

/// How long to stay away after a throttling code when the answer gives no estimate.
const DEFAULT_BACKOFF_SECS: i64 = 3_600;
const DAY_SECS: i64 = 86_400;

/// The parts of an error body the classification reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphError {
    pub code: Option<i64>,
    pub subcode: Option<i64>,
    pub message: String,
    pub user_message: Option<String>,
    pub is_transient: bool,
}

impl GraphError {
    pub fn from_body(body: &Value) -> Option<Self> {
        let e = body.get("error")?;
        let int = |v: Option<&Value>| v.and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())));
        Some(Self {
            code: int(e.get("code")),
            subcode: int(e.get("error_subcode")),
            message: e.get("message").and_then(Value::as_str).unwrap_or("").to_owned(),
            user_message: e.get("error_user_msg").and_then(Value::as_str).map(str::to_owned),
            is_transient: e.get("is_transient").and_then(Value::as_bool).unwrap_or(false),
        })
    }
}

/// Minutes until access comes back, from `X-Business-Use-Case-Usage` / `X-App-Usage`.
fn regain_access_secs(answer: &Answer) -> Option<i64> {
    for name in ["x-business-use-case-usage", "x-app-usage"] {
        let Some(v) = answer.header(name).and_then(|h| serde_json::from_str::<Value>(h).ok()) else { continue };
        let mut found = None;
        find_key(&v, "estimated_time_to_regain_access", &mut found);
        if let Some(mins) = found.filter(|m| *m > 0) {
            return Some(mins * 60);
        }
    }
    None
}

fn find_key(v: &Value, key: &str, out: &mut Option<i64>) {
    match v {
        Value::Object(m) => {
            for (k, val) in m {
                if k == key {
                    *out = (*out).max(val.as_i64());
                } else {
                    find_key(val, key, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| find_key(x, key, out)),
        _ => {}
    }
}

/// Classifies an Instagram error answer.
pub fn classify(answer: &Answer, now: Timestamp) -> PlatformError {
    let body = answer.json().unwrap_or(Value::Null);
    let Some(e) = GraphError::from_body(&body) else {
        let class =
            if answer.status >= 500 || answer.status == 429 { ErrorClass::RetryLater } else { ErrorClass::Unknown };
        return PlatformError::new(
            Network::Instagram,
            class,
            answer.status.to_string(),
            "Instagram answered without an error body",
        );
    };
    let backoff = || ErrorClass::BackOffUntil(after(now, regain_access_secs(answer).unwrap_or(DEFAULT_BACKOFF_SECS)));
    let code = e.code.unwrap_or(0);
    let reconnect = code == 190
        || code == 10
        || (200..=299).contains(&code)
        || e.subcode == Some(33)
        || e.message.contains("REVOKED_ACCESS_TOKEN");
    let (class, restart) = if reconnect {
        (ErrorClass::ReconnectNeeded, false)
    } else if let Some(sub) = e.subcode.and_then(subcode_class) {
        let (class, restart) = sub;
        let class = match class {
            Sub::Retry => ErrorClass::RetryLater,
            Sub::Reject => ErrorClass::ContentRejected,
            Sub::Quota => ErrorClass::BackOffUntil(after(now, DAY_SECS)),
        };
        (class, restart)
    } else {
        let class = match code {
            1 | 2 | -1 | -2 | 9007 => ErrorClass::RetryLater,
            4 | 17 | 32 | 341 | 613 => backoff(),
            9 => ErrorClass::BackOffUntil(after(now, DAY_SECS)),
            368 => ErrorClass::BackOffUntil(after(now, DAY_SECS)),
            100 | 506 | 36000 | 36001 | 36003 => ErrorClass::ContentRejected,
            24 => ErrorClass::RetryLater,
            _ if e.is_transient || answer.status >= 500 => ErrorClass::RetryLater,
            _ => ErrorClass::Unknown,
        };
        (class, code == 24)
    };
    let code_text = match e.subcode {
        Some(s) => format!("{code}/{s}"),
        None => code.to_string(),
    };
    let message = e.user_message.filter(|m| !m.is_empty()).unwrap_or(e.message);
    PlatformError::new(Network::Instagram, class, code_text, message).restart(restart)
}

enum Sub {
    Retry,
    Reject,
    Quota,
}

/// The publishing subcodes (2207xxx): what to do, and whether the container must be recreated.
fn subcode_class(sub: i64) -> Option<(Sub, bool)> {
    Some(match sub {
        2207001 | 2207003 | 2207027 | 2207082 => (Sub::Retry, false),
        2207006 | 2207008 | 2207020 | 2207032 | 2207053 => (Sub::Retry, true),
        2207042 => (Sub::Quota, false),
        2207004 | 2207005 | 2207009 | 2207010 | 2207023 | 2207026 | 2207028 | 2207050 | 2207051 | 2207052 | 2207057
        | 2207081 => (Sub::Reject, false),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn t0() -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap()
    }

    fn answer(status: u16, body: &str) -> Answer {
        Answer { status, headers: HeaderMap::new(), body: body.as_bytes().to_vec() }
    }

    fn body(code: i64, sub: Option<i64>) -> String {
        let sub = sub.map(|s| format!(",\"error_subcode\":{s}")).unwrap_or_default();
        format!(
            "{{\"error\":{{\"message\":\"m\",\"type\":\"OAuthException\",\"code\":{code}{sub},\"is_transient\":false,\"fbtrace_id\":\"A\"}}}}"
        )
    }

    const R: &str = "retry_later";
    const B: &str = "back_off";
    const C: &str = "reconnect_needed";
    const X: &str = "content_rejected";

    /// Every code and subcode of the reference, with the class it must get.
    #[test]
    fn every_documented_error_is_classified() {
        let table: &[(i64, Option<i64>, &str, bool)] = &[
            (1, None, R, false),
            (2, None, R, false),
            (4, None, B, false),
            (17, None, B, false),
            (32, None, B, false),
            (613, None, B, false),
            (341, None, B, false),
            (10, None, C, false),
            (200, None, C, false),
            (250, None, C, false),
            (299, None, C, false),
            (100, None, X, false),
            (100, Some(33), C, false),
            (190, None, C, false),
            (190, Some(458), C, false),
            (190, Some(459), C, false),
            (190, Some(460), C, false),
            (190, Some(463), C, false),
            (190, Some(464), C, false),
            (190, Some(467), C, false),
            (368, None, B, false),
            (506, None, X, false),
            (9007, None, R, false),
            (9007, Some(2207027), R, false),
            (24, Some(2207008), R, true),
            (-1, Some(2207001), R, false),
            (-2, Some(2207003), R, false),
            (36000, Some(2207004), X, false),
            (36000, None, X, false),
            (36001, None, X, false),
            (36003, None, X, false),
            (100, Some(2207005), X, false),
            (100, Some(2207006), R, true),
            (100, Some(2207009), X, false),
            (100, Some(2207010), X, false),
            (-2, Some(2207020), R, true),
            (100, Some(2207023), X, false),
            (100, Some(2207026), X, false),
            (100, Some(2207028), X, false),
            (-1, Some(2207032), R, true),
            (9, Some(2207042), B, false),
            (100, Some(2207050), X, false),
            (4, Some(2207051), X, false),
            (100, Some(2207052), X, false),
            (-1, Some(2207053), R, true),
            (1, Some(2207057), X, false),
            (100, Some(2207081), X, false),
            (100, Some(2207082), R, false),
            (12345, None, "unknown", false),
        ];
        for (code, sub, class, restart) in table {
            let e = classify(&answer(400, &body(*code, *sub)), t0());
            assert_eq!((e.class.as_str(), e.restart), (*class, *restart), "code {code} subcode {sub:?}");
            assert_eq!(e.network, Network::Instagram);
        }
    }

    #[test]
    fn the_reference_body_and_special_cases() {
        let reference = r#"{"error":{"message":"The image size is too large.","type":"OAuthException","code":36000,
 "error_subcode":2207004,"is_transient":false,"error_user_title":"Image size too large",
 "error_user_msg":"The image is too large to download. It should be less than 8 MiB.",
 "fbtrace_id":"A6LJylpZRKw2xKLFsAP-cJh"}}"#;
        let e = classify(&answer(400, reference), t0());
        assert_eq!(e.class, ErrorClass::ContentRejected);
        assert_eq!(e.code, "36000/2207004");
        assert!(e.message.contains("8 MiB"));

        let revoked = r#"{"error":{"message":"REVOKED_ACCESS_TOKEN","code":1}}"#;
        assert_eq!(classify(&answer(400, revoked), t0()).class, ErrorClass::ReconnectNeeded);
        let transient = r#"{"error":{"message":"x","code":777,"is_transient":true}}"#;
        assert_eq!(classify(&answer(400, transient), t0()).class, ErrorClass::RetryLater);
        assert_eq!(classify(&answer(502, "<html>bad gateway</html>"), t0()).class, ErrorClass::RetryLater);
        assert_eq!(classify(&answer(418, ""), t0()).class, ErrorClass::Unknown);

        let quota = classify(&answer(400, &body(9, Some(2207042))), t0());
        assert_eq!(quota.class, ErrorClass::BackOffUntil(after(t0(), DAY_SECS)));

        // Throttling uses the usage header's estimate when present.
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-business-use-case-usage",
            HeaderValue::from_static(
                r#"{"178":[{"type":"instagram","call_count":100,"estimated_time_to_regain_access":7}]}"#,
            ),
        );
        let a = Answer { status: 400, headers, body: body(4, None).into_bytes() };
        assert_eq!(classify(&a, t0()).class, ErrorClass::BackOffUntil(after(t0(), 7 * 60)));
        assert_eq!(classify(&answer(400, &body(17, None)), t0()).class, ErrorClass::BackOffUntil(after(t0(), 3_600)));
    }
}
