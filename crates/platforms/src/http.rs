//! One tuned HTTP client per network: connect and total timeouts, no redirects (a redirect to
//! an internal address must not be followed with a token attached: SSRF), bounded bodies.

use crate::error::{PlatformError, Result};
use nanopost_domain::network::Network;
use std::time::Duration;

/// Timeouts of a network's client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpSettings {
    pub connect_timeout: Duration,
    pub total_timeout: Duration,
    /// Uploads (LinkedIn image bytes, TikTok chunks) take longer than API calls.
    pub upload_timeout: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(30),
            upload_timeout: Duration::from_secs(300),
        }
    }
}

/// Largest answer body read from a network API (JSON answers are small; this stops a hostile
/// or broken peer from filling memory).
pub const MAX_BODY: usize = 2 * 1024 * 1024;

pub fn client(settings: HttpSettings) -> reqwest::Client {
    // reqwest is built without a default TLS provider; the process installs ring once.
    let _ = rustls_ring_default();
    reqwest::Client::builder()
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.total_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("nanopost/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the HTTP client settings are valid")
}

fn rustls_ring_default() -> bool {
    // Installing twice is harmless (the second call reports the first provider).
    rustls::crypto::ring::default_provider().install_default().is_ok()
}

/// A network's answer: status, the headers we use, and the body (bounded).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn parse<T: serde::de::DeserializeOwned>(&self, network: Network, what: &str) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| PlatformError::malformed(network, format!("{what}: {e}")))
    }
}

/// Sends and reads the answer, whatever its status; transport failures become RetryLater.
pub async fn send(network: Network, request: reqwest::RequestBuilder) -> Result<Answer> {
    let mut response = request.send().await.map_err(|e| PlatformError::transport(network, &e))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| PlatformError::transport(network, &e))? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(PlatformError::malformed(network, "the answer is larger than 2 MiB"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer { status, headers, body })
}
