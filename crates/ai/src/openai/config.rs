//! Settings of an OpenAI-compatible endpoint, with presets for OpenAI, xAI and local servers.

use crate::secret::ApiKey;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpenAiConfig {
    /// A label for the UI and usage records: `openai`, `xai`, `ollama`…
    pub name: String,
    /// Up to and including the version segment: `https://api.openai.com/v1`.
    pub base_url: String,
    /// Local servers usually need none.
    pub api_key: Option<ApiKey>,
    /// `OpenAI-Organization` / `OpenAI-Project` headers (OpenAI only).
    pub organization: Option<String>,
    pub project: Option<String>,
    pub text_model: String,
    /// For image analysis; the text model when unset.
    pub vision_model: Option<String>,
    /// `gpt-image-1`, `dall-e-3`, `grok-2-image`…; unset: images are brand cards made offline.
    pub image_model: Option<String>,
    /// `quality` for image models that take one (`low`…`high`, or `standard`/`hd`).
    pub image_quality: Option<String>,
    pub structured_output: StructuredOutput,
    pub token_limit_field: TokenLimitField,
    pub max_output_tokens: u32,
    /// Omitted when unset (reasoning models reject it).
    pub temperature: Option<f32>,
    pub connect_timeout_ms: u64,
    /// Whole-request limit for chat completions.
    pub request_timeout_ms: u64,
    /// Whole-request limit for image generation (slow).
    pub image_timeout_ms: u64,
    pub retry: RetryPolicy,
}

/// How the answer's JSON shape is enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StructuredOutput {
    /// `response_format: {type: json_schema, strict: true}` (OpenAI, xAI, Ollama ≥ 0.5, vLLM).
    #[default]
    JsonSchema,
    /// `response_format: {type: json_object}`, the schema in the instructions (older servers).
    JsonObject,
    /// No `response_format` at all: the schema in the instructions only.
    PromptOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenLimitField {
    /// Current OpenAI and xAI (reasoning models require it).
    #[default]
    MaxCompletionTokens,
    /// Older local servers.
    MaxTokens,
}

impl TokenLimitField {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenLimitField::MaxCompletionTokens => "max_completion_tokens",
            TokenLimitField::MaxTokens => "max_tokens",
        }
    }
}

/// Retries of 429, 5xx, timeouts and unusable answers: bounded, with jittered exponential
/// backoff, honouring `Retry-After` up to a ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
    /// A longer `Retry-After` is not waited for: the error goes back to the job, which can
    /// reschedule itself instead of holding a worker.
    pub max_retry_after_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 3, base_delay_ms: 500, max_delay_ms: 8_000, max_retry_after_ms: 30_000 }
    }
}

impl RetryPolicy {
    pub fn max_retry_after(&self) -> Duration {
        Duration::from_millis(self.max_retry_after_ms)
    }

    /// The wait before retry number `retry` (1-based): full jitter over `[d/2, d]`, where `d`
    /// doubles from `base_delay` up to `max_delay`. `unit` is uniform in `[0, 1)`.
    pub fn backoff(&self, retry: u32, unit: f64) -> Duration {
        let exp = self.base_delay_ms.saturating_mul(1u64 << retry.saturating_sub(1).min(20));
        let d = exp.min(self.max_delay_ms) as f64;
        Duration::from_millis((d / 2.0 + d / 2.0 * unit.clamp(0.0, 1.0)).round() as u64)
    }
}

impl Default for OpenAiConfig {
    fn default() -> Self {
        OpenAiConfig {
            name: "openai".into(),
            base_url: "https://api.openai.com/v1".into(),
            api_key: None,
            organization: None,
            project: None,
            text_model: "gpt-4o-mini".into(),
            vision_model: None,
            image_model: None,
            image_quality: None,
            structured_output: StructuredOutput::JsonSchema,
            token_limit_field: TokenLimitField::MaxCompletionTokens,
            max_output_tokens: 2_000,
            temperature: Some(0.8),
            connect_timeout_ms: 10_000,
            request_timeout_ms: 90_000,
            image_timeout_ms: 180_000,
            retry: RetryPolicy::default(),
        }
    }
}

impl OpenAiConfig {
    pub fn openai(api_key: ApiKey) -> Self {
        OpenAiConfig { api_key: Some(api_key), image_model: Some("gpt-image-1".into()), ..Default::default() }
    }

    pub fn xai(api_key: ApiKey) -> Self {
        OpenAiConfig {
            name: "xai".into(),
            base_url: "https://api.x.ai/v1".into(),
            api_key: Some(api_key),
            text_model: "grok-4".into(),
            vision_model: Some("grok-4".into()),
            image_model: Some("grok-2-image".into()),
            temperature: None,
            ..Default::default()
        }
    }

    /// A local Ollama (`http://127.0.0.1:11434/v1`), vLLM or llama.cpp server.
    pub fn local(name: &str, base_url: &str, model: &str) -> Self {
        OpenAiConfig {
            name: name.into(),
            base_url: base_url.into(),
            text_model: model.into(),
            request_timeout_ms: 300_000,
            ..Default::default()
        }
    }

    pub fn vision_model(&self) -> &str {
        self.vision_model.as_deref().unwrap_or(&self.text_model)
    }

    pub(crate) fn endpoint(&self, path: &str) -> String {
        format!("{}/{}", self.base_url.trim_end_matches('/'), path.trim_start_matches('/'))
    }
}
