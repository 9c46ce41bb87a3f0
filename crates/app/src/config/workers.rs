//! `[workers]` (the job runtime of each process) and `[queue]` (where jobs wait).

use super::{ConfigError, DatabaseUrl, range};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Workers {
    /// Run the background workers inside `serve`.
    pub enabled: bool,
    /// Jobs one process runs at once.
    pub concurrency: u32,
    /// How long a claimed job stays with its worker without a heartbeat: after a crash, its
    /// jobs run again elsewhere this long after the last heartbeat.
    pub job_lease_secs: u32,
}

impl Default for Workers {
    fn default() -> Self {
        let d = nanopost_jobs::RuntimeConfig::default();
        Self {
            enabled: true,
            concurrency: u32::try_from(d.concurrency).unwrap_or(16),
            job_lease_secs: u32::try_from(d.lease.as_secs()).unwrap_or(60),
        }
    }
}

impl Workers {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        range("workers.concurrency", self.concurrency, 1, 1024)?;
        range("workers.job_lease_secs", self.job_lease_secs, 2, 3600)?;
        Ok(())
    }

    /// The job runtime's settings: heartbeats at a third of the lease, expired leases looked
    /// for at half of it.
    pub fn runtime(&self) -> nanopost_jobs::RuntimeConfig {
        let lease = std::time::Duration::from_secs(u64::from(self.job_lease_secs));
        nanopost_jobs::RuntimeConfig {
            concurrency: self.concurrency as usize,
            lease,
            heartbeat_every: lease / 3,
            reap_every: (lease / 2).min(std::time::Duration::from_secs(15)),
            ..nanopost_jobs::RuntimeConfig::default()
        }
    }
}

/// Where background jobs wait.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Queue {
    pub backend: QueueBackend,
    /// `redis://…`, required when `backend = "redis"`. Redacted like the database URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_url: Option<DatabaseUrl>,
    /// Every Redis key of the queue starts with this (several installations can share a Redis).
    pub redis_prefix: String,
}

impl Default for Queue {
    fn default() -> Self {
        Self { backend: QueueBackend::default(), redis_url: None, redis_prefix: "nanopost".into() }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueBackend {
    /// The configured database (SQLite or PostgreSQL): jobs are enqueued in the same
    /// transaction as the change that causes them.
    #[default]
    Database,
    Redis,
}

impl Queue {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let p = &self.redis_prefix;
        if p.is_empty() || p.len() > 64 || !p.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)) {
            return Err(ConfigError::new(
                "queue.redis_prefix",
                format!("{p:?} must be 1 to 64 letters, digits, '_', '-' or '.'"),
            ));
        }
        match (&self.backend, &self.redis_url) {
            (QueueBackend::Redis, None) => Err(ConfigError::new(
                "queue.redis_url",
                "is required when queue.backend is \"redis\" (e.g. redis://127.0.0.1:6379/0)",
            )),
            (_, Some(url)) if !url.expose().starts_with("redis://") || url.expose().len() == "redis://".len() => {
                Err(ConfigError::new(
                    "queue.redis_url",
                    format!("{:?} is not supported; use redis://[:PASSWORD@]HOST:6379/DB", url.redacted()),
                ))
            }
            _ => Ok(()),
        }
    }
}
