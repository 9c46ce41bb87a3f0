//! `[publishing]`: how late a post may still go out, when the sweep looks at a stuck one, and
//! how many publications go to one account at once (with `[publishing.max_concurrent_per_network]`
//! overriding that number for one network's accounts).

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
    /// The same number for one network's accounts, where it differs.
    pub max_concurrent_per_network: PerNetwork,
}

/// `[publishing.max_concurrent_per_network]`: optional, one key per network.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PerNetwork {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instagram: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linkedin: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tiktok: Option<u32>,
}

impl Default for Publishing {
    fn default() -> Self {
        // The services crate owns the defaults; this keeps the two in step.
        let d = nanopost_services::publishing::PublishingConfig::default();
        Self {
            late_tolerance_minutes: u32::try_from(d.late_tolerance.as_mins()).unwrap_or(120),
            stale_after_minutes: u32::try_from(d.stale_after.as_mins()).unwrap_or(15),
            max_concurrent_per_account: d.max_concurrent.linkedin,
            max_concurrent_per_network: PerNetwork::default(),
        }
    }
}

impl Publishing {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        range("publishing.late_tolerance_minutes", self.late_tolerance_minutes, 0, 7 * 24 * 60)?;
        range("publishing.stale_after_minutes", self.stale_after_minutes, 1, 24 * 60)?;
        range("publishing.max_concurrent_per_account", self.max_concurrent_per_account, 1, 64)?;
        let per = &self.max_concurrent_per_network;
        for (key, value) in [("instagram", per.instagram), ("linkedin", per.linkedin), ("tiktok", per.tiktok)] {
            if let Some(n) = value {
                range(&format!("publishing.max_concurrent_per_network.{key}"), n, 1, 64)?;
            }
        }
        Ok(())
    }

    pub fn service_config(&self) -> nanopost_services::publishing::PublishingConfig {
        nanopost_services::publishing::PublishingConfig {
            late_tolerance: jiff::SignedDuration::from_mins(i64::from(self.late_tolerance_minutes)),
            stale_after: jiff::SignedDuration::from_mins(i64::from(self.stale_after_minutes)),
            max_concurrent: self.max_concurrent(),
        }
    }

    fn max_concurrent(&self) -> nanopost_services::publishing::AccountConcurrency {
        let all = self.max_concurrent_per_account;
        let per = &self.max_concurrent_per_network;
        nanopost_services::publishing::AccountConcurrency {
            instagram: per.instagram.unwrap_or(all),
            linkedin: per.linkedin.unwrap_or(all),
            tiktok: per.tiktok.unwrap_or(all),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Overrides, load};
    use nanopost_domain::network::Network;

    fn write(name: &str, toml: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("nanopost-config-publishing-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("nanopost.toml");
        std::fs::write(&path, toml).unwrap();
        path
    }

    #[test]
    fn one_network_may_allow_more_publications_per_account_than_the_others() {
        let path = write(
            "per-network",
            "[publishing]\nmax_concurrent_per_account = 2\n[publishing.max_concurrent_per_network]\ntiktok = 1\nlinkedin = 4\n",
        );
        let c = load(Some(&path), vec![], &Overrides::default()).unwrap();
        let caps = c.publishing.service_config().max_concurrent;
        assert_eq!([Network::Instagram, Network::Linkedin, Network::Tiktok].map(|n| caps.for_network(n)), [2, 4, 1]);
        // The environment reaches the table too.
        let env = vec![("NANOPOST_PUBLISHING__MAX_CONCURRENT_PER_NETWORK__INSTAGRAM".to_owned(), "3".to_owned())];
        let caps = load(None, env, &Overrides::default()).unwrap().publishing.service_config().max_concurrent;
        assert_eq!([Network::Instagram, Network::Linkedin].map(|n| caps.for_network(n)), [3, 1]);
    }

    #[test]
    fn a_bad_per_network_cap_or_an_unknown_network_is_named() {
        let path = write("per-network-zero", "[publishing.max_concurrent_per_network]\ninstagram = 0\n");
        let e = load(Some(&path), vec![], &Overrides::default()).unwrap_err();
        assert_eq!(e.key, "publishing.max_concurrent_per_network.instagram");
        assert!(e.to_string().contains("between 1 and 64"), "{e}");
        let path = write("per-network-unknown", "[publishing.max_concurrent_per_network]\ntwitter = 2\n");
        let e = load(Some(&path), vec![], &Overrides::default()).unwrap_err();
        assert!(e.to_string().contains("twitter"), "{e}");
    }
}
