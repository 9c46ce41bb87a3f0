//! Choosing providers from configuration: offline unless an OpenAI-compatible endpoint is set.

use crate::offline::OfflineProvider;
use crate::openai::{OpenAiCompatible, OpenAiConfig};
use crate::provider::{ImageGen, ImageUnderstanding, TextGen};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The `[ai]` section of the configuration.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(tag = "provider", rename_all = "snake_case")]
pub enum AiConfig {
    /// No network: templates and locally rendered brand cards (the default).
    #[default]
    Offline,
    /// OpenAI, xAI, or a local Ollama / vLLM / llama.cpp server.
    OpenaiCompatible(Box<OpenAiConfig>),
}

/// One provider per capability.
#[derive(Clone)]
pub struct AiProviders {
    pub text: Arc<dyn TextGen>,
    pub vision: Arc<dyn ImageUnderstanding>,
    pub images: Arc<dyn ImageGen>,
}

impl std::fmt::Debug for AiProviders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AiProviders")
            .field("text", &self.text.label())
            .field("vision", &self.vision.label())
            .field("images", &self.images.label())
            .finish()
    }
}

impl AiProviders {
    pub fn offline() -> Self {
        let offline = Arc::new(OfflineProvider::new());
        AiProviders { text: offline.clone(), vision: offline.clone(), images: offline }
    }

    /// The providers a configuration asks for. An endpoint without an image model still gets
    /// images: brand cards rendered offline (labelled so).
    pub fn from_config(config: &AiConfig) -> Result<Self, crate::AiError> {
        match config {
            AiConfig::Offline => Ok(Self::offline()),
            AiConfig::OpenaiCompatible(c) => {
                let remote = Arc::new(OpenAiCompatible::new(OpenAiConfig::clone(c))?);
                let images: Arc<dyn ImageGen> =
                    if c.image_model.is_some() { remote.clone() } else { Arc::new(OfflineProvider::new()) };
                Ok(AiProviders { text: remote.clone(), vision: remote, images })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_shapes_and_redacts_the_key() {
        let offline: AiConfig = serde_json::from_str(r#"{"provider":"offline"}"#).unwrap();
        assert!(matches!(offline, AiConfig::Offline));
        let remote: AiConfig = serde_json::from_str(
            r#"{"provider":"openai_compatible","name":"xai","base_url":"https://api.x.ai/v1","api_key":"xai-123",
                "text_model":"grok-4","retry":{"max_attempts":2}}"#,
        )
        .unwrap();
        let AiConfig::OpenaiCompatible(c) = &remote else { panic!("{remote:?}") };
        assert_eq!((c.text_model.as_str(), c.retry.max_attempts, c.retry.base_delay_ms), ("grok-4", 2, 500));
        assert!(!format!("{remote:?}").contains("xai-123"));
        assert!(!serde_json::to_string(&remote).unwrap().contains("xai-123"));
        let providers = AiProviders::from_config(&remote).unwrap();
        assert!(providers.images.label().is_offline(), "no image model: offline cards");
        assert!(!providers.text.label().is_offline());
    }
}
