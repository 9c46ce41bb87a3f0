//! Settings the use cases need, passed in by the binary (which reads them from configuration).

use jiff::SignedDuration;
use std::fmt;

#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Where people reach this installation (`https://…` makes cookies Secure); used in e-mailed links.
    pub public_url: String,
    /// How long a login session lasts.
    pub session_ttl: SignedDuration,
    pub argon2: Argon2Params,
    pub login_limits: LoginLimits,
    /// Signs CSRF tokens and unsubscribe links.
    pub secret_key: SecretKey,
    /// The deletion grace period and the retention period of each data class.
    pub privacy: crate::privacy::PrivacyConfig,
    pub publishing: crate::publishing::PublishingConfig,
    /// The media store, upload limits and how long signed media URLs work.
    pub media: crate::media::MediaSettings,
    /// How the outbox is delivered; `None`: e-mail delivery is off and mail waits in the outbox.
    pub email: Option<crate::mail_delivery::EmailDelivery>,
    /// AI generation: the monthly quota per workspace.
    pub generation: crate::generation::GenerationSettings,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".into(),
            session_ttl: SignedDuration::from_hours(24 * 14),
            argon2: Argon2Params::default(),
            login_limits: LoginLimits::default(),
            secret_key: SecretKey::generate(),
            privacy: crate::privacy::PrivacyConfig::default(),
            publishing: crate::publishing::PublishingConfig::default(),
            media: crate::media::MediaSettings::default(),
            email: None,
            generation: crate::generation::GenerationSettings::default(),
        }
    }
}

/// Argon2id cost. The defaults follow OWASP's 2023 minimum (19 MiB, 2 passes, 1 lane).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self { memory_kib: 19_456, iterations: 2, parallelism: 1 }
    }
}

/// Failed logins allowed per window before further attempts are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    pub per_account: u32,
    pub per_ip: u32,
    pub window: SignedDuration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self { per_account: 5, per_ip: 20, window: SignedDuration::from_mins(15) }
    }
}

/// The installation's 32-byte secret, generated into the data directory on first start.
/// Never printed: `Debug` shows only that it is there.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    pub const LEN: usize = 32;

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b).expect("the operating system has no random source");
        Self(b)
    }

    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}
