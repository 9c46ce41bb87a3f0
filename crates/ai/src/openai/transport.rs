//! HTTP to the endpoint: one tuned client, bounded bodies, error classification, and bounded
//! retries with jittered backoff that honour `Retry-After`.

use super::config::OpenAiConfig;
use super::wire::ApiErrorBody;
use crate::error::AiError;
use crate::rng::SeededRng;
use reqwest::header::HeaderMap;
use std::sync::Mutex;
use std::time::Duration;

/// Chat answers are small; images come back as base64 (a 1536×1024 PNG is a few MB).
pub const MAX_CHAT_BODY: usize = 4 * 1024 * 1024;
pub const MAX_IMAGE_BODY: usize = 64 * 1024 * 1024;

pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

pub struct Transport {
    client: reqwest::Client,
    jitter: Mutex<SeededRng>,
}

impl Transport {
    pub fn new(config: &OpenAiConfig) -> Result<Self, AiError> {
        // reqwest is built without a default TLS provider; the process installs ring once
        // (a second install reports the first and is harmless).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(config.connect_timeout_ms))
            // No redirects: the key must not follow a redirect to another host.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("nanopost/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AiError::InvalidInput(format!("HTTP client: {e}")))?;
        Ok(Transport { client, jitter: Mutex::new(SeededRng::from_entropy()) })
    }

    /// POSTs `body` as JSON, retrying per the policy; `interpret` turns a 2xx answer into the
    /// result (its errors are retried when transient, e.g. a malformed body). Returns the
    /// result and the number of requests made.
    pub async fn post_json<T>(
        &self,
        config: &OpenAiConfig,
        path: &str,
        body: &serde_json::Value,
        timeout: Duration,
        max_body: usize,
        interpret: impl Fn(Answer) -> Result<T, AiError>,
    ) -> Result<(T, u32), AiError> {
        let url = config.endpoint(path);
        let policy = config.retry;
        let attempts = policy.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self.client.post(&url).timeout(timeout).json(body);
            if let Some(key) = config.api_key.as_ref().filter(|k| !k.is_empty()) {
                request = request.bearer_auth(key.expose());
            }
            if let Some(org) = &config.organization {
                request = request.header("OpenAI-Organization", org);
            }
            if let Some(project) = &config.project {
                request = request.header("OpenAI-Project", project);
            }
            let error = match read(request, max_body).await {
                Ok(answer) if (200..300).contains(&answer.status) => match interpret(answer) {
                    Ok(value) => return Ok((value, attempt)),
                    Err(e) => e,
                },
                Ok(answer) => classify(&answer),
                Err(e) => e,
            };
            if !error.is_transient() || attempt >= attempts {
                return Err(error);
            }
            let wait = match &error {
                AiError::RateLimited { retry_after: Some(after) } => {
                    if *after > policy.max_retry_after() {
                        return Err(error);
                    }
                    *after
                }
                _ => {
                    let unit = self.jitter.lock().map(|mut r| r.unit()).unwrap_or(0.5);
                    policy.backoff(attempt, unit)
                }
            };
            tracing::warn!(endpoint = path, attempt, wait_ms = wait.as_millis() as u64, error = %error, "AI request failed; retrying");
            tokio::time::sleep(wait).await;
        }
    }

    /// Downloads an image a provider answered with a URL (no key sent: it is another host).
    pub async fn download(&self, url: &str, timeout: Duration) -> Result<Vec<u8>, AiError> {
        let answer = read(self.client.get(url).timeout(timeout), MAX_IMAGE_BODY).await?;
        if !(200..300).contains(&answer.status) {
            return Err(AiError::Malformed(format!(
                "the generated image could not be downloaded (HTTP {})",
                answer.status
            )));
        }
        Ok(answer.body)
    }
}

async fn read(request: reqwest::RequestBuilder, max_body: usize) -> Result<Answer, AiError> {
    let mut response = request.send().await.map_err(transport_error)?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if body.len() + chunk.len() > max_body {
            return Err(AiError::Malformed(format!("the answer is larger than {} MiB", max_body / 1024 / 1024)));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer { status, headers, body })
}

fn transport_error(e: reqwest::Error) -> AiError {
    if e.is_timeout() {
        AiError::Timeout
    } else {
        // Without the URL: it is configuration, and the message goes to logs and drafts.
        AiError::Transport(e.without_url().to_string())
    }
}

/// A non-2xx answer as an error class.
pub fn classify(answer: &Answer) -> AiError {
    let body = ApiErrorBody::parse(&answer.body);
    let message = if body.message.is_empty() { format!("HTTP {}", answer.status) } else { body.message.clone() };
    match answer.status {
        401 | 403 => AiError::Unauthorized { status: answer.status, message },
        408 => AiError::Timeout,
        429 if body.is("insufficient_quota") => AiError::QuotaExceeded { message },
        429 => AiError::RateLimited { retry_after: retry_after(&answer.headers) },
        400 if body.is("content_policy_violation") || body.is("moderation_blocked") => {
            AiError::Refused { reason: message }
        }
        500..=599 => AiError::Unavailable { status: answer.status },
        status => AiError::Rejected { status, code: body.code.or(body.kind), message },
    }
}

/// How long the server asks us to wait: `retry-after-ms`, `Retry-After` (seconds or an HTTP
/// date), else the reset time of an exhausted `x-ratelimit-*` budget.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(ms) =
        header("retry-after-ms").and_then(|v| v.parse::<f64>().ok()).filter(|v| v.is_finite() && *v >= 0.0)
    {
        return Some(Duration::from_millis(ms as u64));
    }
    if let Some(v) = header("retry-after") {
        if let Ok(secs) = v.parse::<f64>()
            && secs.is_finite()
            && secs >= 0.0
        {
            return Some(Duration::from_millis((secs * 1000.0) as u64));
        }
        if let Ok(at) = jiff::fmt::rfc2822::parse(v) {
            let wait = at.timestamp().duration_since(jiff::Timestamp::now());
            return Some(Duration::try_from(wait).unwrap_or(Duration::ZERO));
        }
    }
    let exhausted = |budget: &str| header(&format!("x-ratelimit-remaining-{budget}")) == Some("0");
    ["requests", "tokens"]
        .into_iter()
        .filter(|b| exhausted(b))
        .filter_map(|b| header(&format!("x-ratelimit-reset-{b}")).and_then(parse_go_duration))
        .max()
}

/// `"1s"`, `"6m0s"`, `"20ms"`, `"1h2m3.5s"` → a duration.
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    let mut total = 0.0f64;
    let mut number = String::new();
    let mut chars = s.trim().chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let value: f64 = number.parse().ok()?;
        number.clear();
        let unit = match c {
            'h' => 3600.0,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                0.001
            }
            'm' => 60.0,
            's' => 1.0,
            _ => return None,
        };
        total += value * unit;
        any = true;
    }
    (any && number.is_empty()).then(|| Duration::from_millis((total * 1000.0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn durations() {
        assert_eq!(parse_go_duration("6m0s"), Some(Duration::from_secs(360)));
        assert_eq!(parse_go_duration("20ms"), Some(Duration::from_millis(20)));
        assert_eq!(parse_go_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("soon"), None);
    }

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("x-ratelimit-remaining-requests", HeaderValue::from_static("0"));
        h.insert("x-ratelimit-reset-requests", HeaderValue::from_static("2s"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert("retry-after-ms", HeaderValue::from_static("150"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(150)));
    }

    #[test]
    fn backoff_is_bounded_and_jittered() {
        let p = super::super::config::RetryPolicy::default();
        assert_eq!(p.backoff(1, 0.0), Duration::from_millis(250));
        assert_eq!(p.backoff(1, 1.0), Duration::from_millis(500));
        assert!(p.backoff(30, 1.0) <= Duration::from_millis(p.max_delay_ms));
    }
}
