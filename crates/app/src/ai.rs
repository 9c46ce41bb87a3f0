//! The AI providers from `[ai]`, built once at start-up so that a configuration the providers
//! refuse stops the program with one sentence instead of failing the first generation.

use crate::config::Config;
use nanopost_ai::AiProviders;
use std::sync::Arc;

/// The configured providers (offline unless an OpenAI-compatible endpoint is set).
pub fn providers(config: &Config) -> anyhow::Result<Arc<AiProviders>> {
    // reqwest is built without a default TLS provider: install ring once (a second call is a no-op).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let providers = AiProviders::from_config(&config.ai.0)
        .map_err(|e| anyhow::anyhow!("cannot set up the AI providers ([ai]): {e}"))?;
    tracing::info!(
        text = %providers.text.label(),
        vision = %providers.vision.label(),
        images = %providers.images.label(),
        "AI providers ready"
    );
    Ok(Arc::new(providers))
}
