//! `[generation]`: how much AI generation a workspace may ask for. Separate from `[ai]`, which
//! says *which* provider writes (and is the AI crate's own tagged shape): the quota holds
//! whichever provider is configured, the offline one included.

use super::{ConfigError, range};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Generation {
    /// Generations (a post, a plan, a regeneration, an image description) each workspace may
    /// ask for per calendar month (UTC); 0: no limit.
    pub monthly_generations_per_workspace: u32,
}

impl Generation {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        range("generation.monthly_generations_per_workspace", self.monthly_generations_per_workspace, 0, 1_000_000)
    }

    pub fn service_settings(&self) -> nanopost_services::generation::GenerationSettings {
        nanopost_services::generation::GenerationSettings { monthly_quota: self.monthly_generations_per_workspace }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Overrides, load};

    fn load_env(pairs: &[(&str, &str)]) -> Result<crate::config::Config, crate::config::ConfigError> {
        load(None, pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())), &Overrides::default())
    }

    #[test]
    fn the_quota_is_unlimited_by_default_and_set_from_the_environment() {
        assert_eq!(load_env(&[]).unwrap().generation.monthly_generations_per_workspace, 0);
        let c = load_env(&[("NANOPOST_GENERATION__MONTHLY_GENERATIONS_PER_WORKSPACE", "40")]).unwrap();
        assert_eq!(c.generation.service_settings().monthly_quota, 40);
        let e = load_env(&[("NANOPOST_GENERATION__MONTHLY_GENERATIONS_PER_WORKSPACE", "2000000")]).unwrap_err();
        assert_eq!(e.key, "generation.monthly_generations_per_workspace");
        assert!(load_env(&[("NANOPOST_GENERATION__PER_DAY", "3")]).is_err(), "unknown keys are refused");
    }
}
