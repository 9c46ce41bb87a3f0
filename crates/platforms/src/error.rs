//! What went wrong when talking to a network, reduced to what the caller should do next.

use jiff::Timestamp;
use nanopost_domain::network::Network;
use std::fmt;

/// The five answers every documented network error is classified into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Transient: try the same step again later (with the caller's backoff).
    RetryLater,
    /// A rate limit or quota: do not call this network for this account before the time.
    BackOffUntil(Timestamp),
    /// The token is expired, revoked or lacks a permission: the user must connect again.
    ReconnectNeeded,
    /// The network refused this content (size, format, caption, policy): retrying will not help.
    ContentRejected,
    /// Not documented: keep the details for a human.
    Unknown,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::RetryLater => "retry_later",
            ErrorClass::BackOffUntil(_) => "back_off",
            ErrorClass::ReconnectNeeded => "reconnect_needed",
            ErrorClass::ContentRejected => "content_rejected",
            ErrorClass::Unknown => "unknown",
        }
    }
}

/// A failed call to a network, classified. Carries no token: messages are the network's own
/// error text or ours, and URLs are stripped from transport errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformError {
    pub network: Network,
    pub class: ErrorClass,
    /// The network's own code (`2207042`, `spam_risk_too_many_posts`, `429`, …) for logs and support.
    pub code: String,
    /// A sentence for a person.
    pub message: String,
    /// The network said the container or upload is gone: start the publication from scratch.
    pub restart: bool,
}

impl PlatformError {
    pub fn new(network: Network, class: ErrorClass, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { network, class, code: code.into(), message: message.into(), restart: false }
    }

    pub(crate) fn restart(mut self, restart: bool) -> Self {
        self.restart = restart;
        self
    }

    /// The network answered something we could not read.
    pub fn malformed(network: Network, what: impl fmt::Display) -> Self {
        Self::new(
            network,
            ErrorClass::Unknown,
            "malformed_response",
            format!("unexpected answer from {}: {what}", network.label()),
        )
    }

    /// The request never got an answer (connect error, timeout).
    pub fn transport(network: Network, e: &reqwest::Error) -> Self {
        // `without_url`: request URLs may carry an access token in their query.
        let code = if e.is_timeout() { "timeout" } else { "transport" };
        let text = clone_without_url(e);
        Self::new(network, ErrorClass::RetryLater, code, format!("{} did not answer: {text}", network.label()))
    }

    pub fn is_reconnect_needed(&self) -> bool {
        self.class == ErrorClass::ReconnectNeeded
    }
}

fn clone_without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "<url>");
    }
    text
}

impl fmt::Display for PlatformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}, {}): {}", self.network.label(), self.class.as_str(), self.code, self.message)
    }
}

impl std::error::Error for PlatformError {}

pub type Result<T, E = PlatformError> = std::result::Result<T, E>;

/// The next 00:00 UTC after `now` (LinkedIn's daily limits reset then).
pub(crate) fn next_utc_midnight(now: Timestamp) -> Timestamp {
    let day = now.as_second().div_euclid(86_400);
    Timestamp::from_second((day + 1) * 86_400).unwrap_or(now)
}

pub(crate) fn after(now: Timestamp, secs: i64) -> Timestamp {
    now.checked_add(jiff::SignedDuration::from_secs(secs)).unwrap_or(now)
}
