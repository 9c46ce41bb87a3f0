//! `[ai]`: the offline provider (the default) or an OpenAI-compatible endpoint.

use super::{ConfigError, check_base_url, range};
use figment::Figment;
use figment::value::Value;
use nanopost_ai::AiConfig;
use serde::{Deserialize, Serialize};

/// The `[ai]` section: `provider = "offline"` (the default) or `"openai_compatible"` with the
/// endpoint's settings. The shape is the AI crate's own [`AiConfig`]; this wrapper adds the
/// checks and the comparison the rest of the configuration has. The API key is shown as
/// `<redacted>` in `Debug` and by `config check`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Ai(pub AiConfig);

/// Keys of `[ai]` whose environment value is text even when it looks like a number.
pub(super) const AI_TEXT_KEYS: &[&str] = &[
    "provider",
    "name",
    "base_url",
    "api_key",
    "organization",
    "project",
    "text_model",
    "vision_model",
    "image_model",
    "image_quality",
    "structured_output",
    "token_limit_field",
];

impl PartialEq for Ai {
    fn eq(&self, other: &Self) -> bool {
        fn key(c: &AiConfig) -> Option<&str> {
            match c {
                AiConfig::OpenaiCompatible(o) => o.api_key.as_ref().map(|k| k.expose()),
                AiConfig::Offline => None,
            }
        }
        // Serialising shows every other setting; the key is redacted there, so compare it apart.
        toml::Value::try_from(&self.0).ok() == toml::Value::try_from(&other.0).ok() && key(&self.0) == key(&other.0)
    }
}

impl Ai {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let AiConfig::OpenaiCompatible(c) = &self.0 else { return Ok(()) };
        check_base_url("ai.base_url", &c.base_url)?;
        let non_empty = |key: &str, value: &str| {
            if value.trim().is_empty() { Err(ConfigError::new(key, "must not be empty")) } else { Ok(()) }
        };
        non_empty("ai.name", &c.name)?;
        non_empty("ai.text_model", &c.text_model)?;
        for (key, value) in [
            ("ai.vision_model", &c.vision_model),
            ("ai.image_model", &c.image_model),
            ("ai.image_quality", &c.image_quality),
            ("ai.organization", &c.organization),
            ("ai.project", &c.project),
        ] {
            if let Some(v) = value {
                non_empty(key, v)
                    .map_err(|e| ConfigError { problem: format!("{}; leave it unset instead", e.problem), ..e })?;
            }
        }
        if c.api_key.as_ref().is_some_and(|k| k.is_empty()) {
            return Err(ConfigError::new("ai.api_key", "is empty; leave it unset for servers that need no key"));
        }
        range("ai.max_output_tokens", c.max_output_tokens, 1, 1_000_000)?;
        if let Some(t) = c.temperature
            && !(0.0..=2.0).contains(&t)
        {
            return Err(ConfigError::new("ai.temperature", format!("{t} is out of range; it must be between 0 and 2")));
        }
        range("ai.connect_timeout_ms", c.connect_timeout_ms, 1, 3_600_000)?;
        range("ai.request_timeout_ms", c.request_timeout_ms, 1, 3_600_000)?;
        range("ai.image_timeout_ms", c.image_timeout_ms, 1, 3_600_000)?;
        range("ai.retry.max_attempts", c.retry.max_attempts, 1, 10)?;
        range("ai.retry.max_delay_ms", c.retry.max_delay_ms, c.retry.base_delay_ms, 3_600_000)?;
        Ok(())
    }
}

/// Serde ignores the other `[ai]` keys when the provider is offline; one set there is a mistake
/// (most likely a forgotten `provider = "openai_compatible"`).
pub(super) fn offline_ai_has_no_other_keys(figment: &Figment) -> Result<(), ConfigError> {
    let Ok(Value::Dict(_, ai)) = figment.find_value("ai") else { return Ok(()) };
    if ai.get("provider").and_then(Value::as_str) != Some("offline") {
        return Ok(());
    }
    match ai.keys().find(|k| *k != "provider") {
        Some(extra) => Err(ConfigError::new(
            format!("ai.{extra}"),
            "is set but ai.provider is \"offline\"; set provider = \"openai_compatible\" or remove it",
        )),
        None => Ok(()),
    }
}
