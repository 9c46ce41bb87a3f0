//! A provider on any OpenAI-compatible endpoint: OpenAI, xAI Grok (same wire), or a local
//! Ollama, vLLM or llama.cpp server. Chat completions with a JSON schema for text and image
//! understanding; `/images/generations` for images.
//!
//! Answers are read leniently ([`wire`]); an answer is either used whole or rejected with a
//! typed [`AiError`] — a refusal, a content filter, a cut-off (`finish_reason: length`) or
//! broken JSON never yields a half-written caption.

mod config;
mod extract;
mod images;
pub mod tasks;
mod transport;
pub mod wire;

pub use config::{OpenAiConfig, RetryPolicy, StructuredOutput, TokenLimitField};
pub use transport::{parse_go_duration, retry_after};

use crate::error::AiError;
use crate::output::{Captions, Generated, GeneratedImage, ImageAnalysis, PostPlan, ProviderLabel, Usage};
use crate::provider::{AiFuture, ImageGen, ImageUnderstanding, TextGen};
use crate::request::{CaptionRequest, ImageAnalysisRequest, ImageRequest, PlanRequest};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tasks::{CaptionTask, ImageAnalysisTask, PlanTask, StructuredTask};
use transport::{Answer, MAX_CHAT_BODY, Transport};
use wire::ChatCompletion;

#[derive(Clone)]
pub struct OpenAiCompatible {
    config: Arc<OpenAiConfig>,
    transport: Arc<Transport>,
}

impl std::fmt::Debug for OpenAiCompatible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiCompatible").field("config", &self.config).finish_non_exhaustive()
    }
}

impl OpenAiCompatible {
    pub fn new(config: OpenAiConfig) -> Result<Self, AiError> {
        if !(config.base_url.starts_with("http://") || config.base_url.starts_with("https://")) {
            return Err(AiError::InvalidInput(format!(
                "the AI base URL must start with http(s)://: {}",
                config.base_url
            )));
        }
        if config.text_model.trim().is_empty() {
            return Err(AiError::InvalidInput("the AI text model is not set".into()));
        }
        let transport = Arc::new(Transport::new(&config)?);
        Ok(OpenAiCompatible { config: Arc::new(config), transport })
    }

    pub fn config(&self) -> &OpenAiConfig {
        &self.config
    }

    fn label_for(&self, model: &str) -> ProviderLabel {
        ProviderLabel::OpenaiCompatible { name: self.config.name.clone(), model: model.to_owned() }
    }

    /// Runs one structured task on `model`: the request body, retries, and the answer checked
    /// against the task.
    pub async fn run<T: StructuredTask>(&self, task: &T, model: &str) -> Result<Generated<T::Output>, AiError> {
        let body = self.chat_body(task, model)?;
        let timeout = Duration::from_millis(self.config.request_timeout_ms);
        let ((output, usage), requests) = self
            .transport
            .post_json(&self.config, "chat/completions", &body, timeout, MAX_CHAT_BODY, |answer| {
                interpret(task, answer)
            })
            .await?;
        Ok(Generated { output, provider: self.label_for(model), usage: Usage { requests, ..usage }, notes: Vec::new() })
    }

    /// The chat completions body for a task.
    pub fn chat_body<T: StructuredTask>(&self, task: &T, model: &str) -> Result<Value, AiError> {
        let config = &self.config;
        let schema = task.schema();
        let mut instructions = task.instructions();
        if config.structured_output != StructuredOutput::JsonSchema {
            // Without server-side enforcement the schema goes into the instructions.
            instructions.push_str(&format!("\nThe JSON schema of the answer: {schema}"));
        }
        let input = serde_json::to_string_pretty(&task.input()).map_err(|e| AiError::InvalidInput(e.to_string()))?;
        let images = task.image_urls()?;
        let user_content = if images.is_empty() {
            Value::String(input)
        } else {
            let mut parts = vec![json!({"type": "text", "text": input})];
            parts.extend(
                images.into_iter().map(|url| json!({"type": "image_url", "image_url": {"url": url, "detail": "auto"}})),
            );
            Value::Array(parts)
        };
        let mut body = json!({
            "model": model,
            "messages": [
                {"role": "system", "content": instructions},
                {"role": "user", "content": user_content}
            ],
        });
        match config.structured_output {
            StructuredOutput::JsonSchema => {
                body["response_format"] = json!({
                    "type": "json_schema",
                    "json_schema": {"name": task.schema_name(), "strict": true, "schema": schema}
                });
            }
            StructuredOutput::JsonObject => body["response_format"] = json!({"type": "json_object"}),
            StructuredOutput::PromptOnly => {}
        }
        if let Some(t) = config.temperature {
            body["temperature"] = json!(t);
        }
        body[config.token_limit_field.as_str()] = json!(config.max_output_tokens);
        Ok(body)
    }
}

/// A 2xx chat answer → the task's output, or why it cannot be used.
fn interpret<T: StructuredTask>(task: &T, answer: Answer) -> Result<(T::Output, Usage), AiError> {
    let completion: ChatCompletion = serde_json::from_slice(&answer.body)
        .map_err(|e| AiError::Malformed(format!("the answer body is not valid JSON: {e}")))?;
    if let Some(error) = completion.error.as_ref().filter(|e| !e.is_null()) {
        return Err(AiError::Malformed(format!(
            "the answer carries an error: {}",
            wire::ApiErrorBody::parse(json!({"error": error}).to_string().as_bytes()).message
        )));
    }
    let usage = completion
        .usage
        .as_ref()
        .map(|u| Usage { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens, ..Usage::default() })
        .unwrap_or_default();
    let choice = completion.choices.first().ok_or_else(|| AiError::Malformed("the answer has no choices".into()))?;
    let message = choice.message.as_ref();
    let (text, part_refusal) =
        message.and_then(|m| m.content.as_ref()).map(|c| c.text_and_refusal()).unwrap_or_default();
    if let Some(reason) = message.and_then(|m| m.refusal.clone()).or(part_refusal) {
        return Err(AiError::Refused { reason });
    }
    match choice.finish_reason.as_deref() {
        Some("content_filter") => return Err(AiError::Refused { reason: "the provider's content filter".into() }),
        Some("length") => return Err(AiError::Truncated),
        // `stop`, `tool_calls`, none, or a vendor's own value: judge by the content.
        _ => {}
    }
    if text.trim().is_empty() {
        return Err(AiError::Malformed("the answer is empty".into()));
    }
    let value = extract::json_object(&text)?;
    let raw: T::Raw = serde_json::from_value(value)
        .map_err(|e| AiError::Malformed(format!("the answer does not follow the schema: {e}")))?;
    Ok((task.finish(raw)?, usage))
}

impl TextGen for OpenAiCompatible {
    fn label(&self) -> ProviderLabel {
        self.label_for(&self.config.text_model)
    }

    fn captions<'a>(&'a self, request: &'a CaptionRequest) -> AiFuture<'a, Captions> {
        Box::pin(async move {
            if request.networks.is_empty() {
                return Err(AiError::InvalidInput("choose at least one network".into()));
            }
            self.run(&CaptionTask(request), &self.config.text_model).await
        })
    }

    fn plan<'a>(&'a self, request: &'a PlanRequest) -> AiFuture<'a, PostPlan> {
        Box::pin(async move {
            crate::offline::validate_plan(request)?;
            self.run(&PlanTask(request), &self.config.text_model).await
        })
    }
}

impl ImageUnderstanding for OpenAiCompatible {
    fn label(&self) -> ProviderLabel {
        self.label_for(self.config.vision_model())
    }

    fn analyse_image<'a>(&'a self, request: &'a ImageAnalysisRequest) -> AiFuture<'a, ImageAnalysis> {
        Box::pin(async move { self.run(&ImageAnalysisTask(request), self.config.vision_model()).await })
    }
}

impl ImageGen for OpenAiCompatible {
    fn label(&self) -> ProviderLabel {
        self.label_for(self.config.image_model.as_deref().unwrap_or("none"))
    }

    fn generate_image<'a>(&'a self, request: &'a ImageRequest) -> AiFuture<'a, GeneratedImage> {
        Box::pin(async move { images::generate(self, request).await })
    }
}
