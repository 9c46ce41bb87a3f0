//! `[publishing]`: how late a post may still go out, when the sweep looks at a stuck one, and
//! how many publications go to one account at once.

use super::{ConfigError, range};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Publishing {
    /// A post that missed its time by more than this (Nanopost was down) is not published
    /// late: it is marked failed and the workspace is told.
    pub late_tolerance_minutes: u32,
    /// A pending publication untouched this long is looked at by the sweep (its job may be lost).
    pub stale_after_minutes: u32,
    /// Publications advancing at once per connected account, across all worker processes.
    pub max_concurrent_per_account: u32,
}

impl Default for Publishing {
    fn default() -> Self {
        // The services crate owns the defaults; this keeps the two in step.
        let d = nanopost_services::publishing::PublishingConfig::default();
        Self {
            late_tolerance_minutes: u32::try_from(d.late_tolerance.as_mins()).unwrap_or(120),
            stale_after_minutes: u32::try_from(d.stale_after.as_mins()).unwrap_or(15),
            max_concurrent_per_account: d.max_concurrent_per_account,
        }
    }
}

impl Publishing {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        range("publishing.late_tolerance_minutes", self.late_tolerance_minutes, 0, 7 * 24 * 60)?;
        range("publishing.stale_after_minutes", self.stale_after_minutes, 1, 24 * 60)?;
        range("publishing.max_concurrent_per_account", self.max_concurrent_per_account, 1, 64)?;
        Ok(())
    }

    pub fn service_config(&self) -> nanopost_services::publishing::PublishingConfig {
        nanopost_services::publishing::PublishingConfig {
            late_tolerance: jiff::SignedDuration::from_mins(i64::from(self.late_tolerance_minutes)),
            stale_after: jiff::SignedDuration::from_mins(i64::from(self.stale_after_minutes)),
            max_concurrent_per_account: self.max_concurrent_per_account,
        }
    }
}
