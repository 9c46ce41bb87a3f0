//! `[privacy]`: the deletion grace period, export links and retention per data class.

use super::{ConfigError, range};
use serde::{Deserialize, Serialize};

/// The deletion grace period, how long export links work, and the retention period of each
/// data class (see the privacy policy page, which shows the effective values).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Privacy {
    pub deletion_grace_days: u32,
    pub export_link_hours: u32,
    pub retention_audit_log_days: u32,
    pub retention_outbox_days: u32,
    pub retention_expired_tokens_days: u32,
    pub retention_revoked_api_tokens_days: u32,
    pub retention_visitor_consents_days: u32,
    pub retention_collected_public_posts_days: u32,
    pub retention_audience_commenter_days: u32,
}

impl Default for Privacy {
    fn default() -> Self {
        // The services crate owns the defaults; this keeps the two in step.
        let d = nanopost_services::privacy::PrivacyConfig::default();
        let r = d.retention;
        Self {
            deletion_grace_days: u32::try_from(d.deletion_grace.as_hours() / 24).unwrap_or(30),
            export_link_hours: u32::try_from(d.export_ttl.as_hours()).unwrap_or(72),
            retention_audit_log_days: r.audit_log_days,
            retention_outbox_days: r.outbox_days,
            retention_expired_tokens_days: r.expired_tokens_days,
            retention_revoked_api_tokens_days: r.revoked_api_tokens_days,
            retention_visitor_consents_days: r.visitor_consents_days,
            retention_collected_public_posts_days: r.collected_public_posts_days,
            retention_audience_commenter_days: r.audience_commenter_days,
        }
    }
}

impl Privacy {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        // The privacy policy promises erasure within 30 days of a request.
        range("privacy.deletion_grace_days", self.deletion_grace_days, 0, 30)?;
        range("privacy.export_link_hours", self.export_link_hours, 1, 24 * 30)?;
        for (key, v) in [
            ("privacy.retention_audit_log_days", self.retention_audit_log_days),
            ("privacy.retention_outbox_days", self.retention_outbox_days),
            ("privacy.retention_expired_tokens_days", self.retention_expired_tokens_days),
            ("privacy.retention_revoked_api_tokens_days", self.retention_revoked_api_tokens_days),
            ("privacy.retention_visitor_consents_days", self.retention_visitor_consents_days),
            ("privacy.retention_collected_public_posts_days", self.retention_collected_public_posts_days),
            ("privacy.retention_audience_commenter_days", self.retention_audience_commenter_days),
        ] {
            range(key, v, 1, 3650)?;
        }
        Ok(())
    }

    pub(super) fn service_config(&self) -> nanopost_services::privacy::PrivacyConfig {
        let days = |d: u32| jiff::SignedDuration::from_hours(24 * i64::from(d));
        nanopost_services::privacy::PrivacyConfig {
            deletion_grace: days(self.deletion_grace_days),
            export_ttl: jiff::SignedDuration::from_hours(i64::from(self.export_link_hours)),
            retention: nanopost_services::privacy::RetentionPolicy {
                audit_log_days: self.retention_audit_log_days,
                outbox_days: self.retention_outbox_days,
                expired_tokens_days: self.retention_expired_tokens_days,
                revoked_api_tokens_days: self.retention_revoked_api_tokens_days,
                visitor_consents_days: self.retention_visitor_consents_days,
                collected_public_posts_days: self.retention_collected_public_posts_days,
                audience_commenter_days: self.retention_audience_commenter_days,
            },
        }
    }
}
