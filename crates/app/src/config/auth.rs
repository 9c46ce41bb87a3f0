//! `[auth]` (sessions, password hashing, login limits) and `[limits]` (request sizes).

use nanopost_services::ServiceConfig;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest HTTP request body accepted.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_body_bytes: 1024 * 1024 }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Auth {
    pub session_ttl_hours: u32,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    pub login_max_failures_per_account: u32,
    pub login_max_failures_per_ip: u32,
    pub login_window_minutes: u32,
}

impl Default for Auth {
    fn default() -> Self {
        // The services crate owns the defaults; this keeps the two in step.
        let d = ServiceConfig::default();
        Self {
            session_ttl_hours: u32::try_from(d.session_ttl.as_hours()).unwrap_or(336),
            argon2_memory_kib: d.argon2.memory_kib,
            argon2_iterations: d.argon2.iterations,
            argon2_parallelism: d.argon2.parallelism,
            login_max_failures_per_account: d.login_limits.per_account,
            login_max_failures_per_ip: d.login_limits.per_ip,
            login_window_minutes: u32::try_from(d.login_limits.window.as_mins()).unwrap_or(15),
        }
    }
}
