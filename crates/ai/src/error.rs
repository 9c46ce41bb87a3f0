//! What can go wrong asking a provider, in classes a job can act on and a draft can show.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AiError {
    /// The request itself is unusable (bad image, unknown format): fix the input.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Throttled, and retrying within the policy did not help (or the wait asked is too long).
    #[error("the AI provider is rate limiting requests{}", retry_hint(*retry_after))]
    RateLimited { retry_after: Option<Duration> },
    /// The account's credit or quota is used up (`insufficient_quota`): retrying will not help.
    #[error("the AI provider account has no quota left: {message}")]
    QuotaExceeded { message: String },
    /// 5xx after every retry.
    #[error("the AI provider is unavailable (HTTP {status})")]
    Unavailable { status: u16 },
    #[error("the AI provider did not answer in time")]
    Timeout,
    /// Connection refused, reset, DNS…
    #[error("could not reach the AI provider: {0}")]
    Transport(String),
    /// Bad or missing key, or no permission (401/403).
    #[error("the AI provider rejected the credentials (HTTP {status}): {message}")]
    Unauthorized { status: u16, message: String },
    /// Any other 4xx: our request or the configuration (model name) is wrong.
    #[error("the AI provider rejected the request (HTTP {status}{}): {message}", code_hint(code))]
    Rejected { status: u16, code: Option<String>, message: String },
    /// The model declined (a `refusal`, or `finish_reason: content_filter`).
    #[error("the AI declined to write this: {reason}")]
    Refused { reason: String },
    /// The answer was cut off (`finish_reason: length`): nothing of it is used.
    #[error("the AI answer was cut off before it was complete")]
    Truncated,
    /// The answer is not what was asked for (broken JSON, missing fields).
    #[error("the AI answer could not be used: {0}")]
    Malformed(String),
    /// Local image work failed (offline cards, decoding a generated image).
    #[error("image processing failed: {0}")]
    Image(String),
}

fn retry_hint(after: Option<Duration>) -> String {
    after.map(|d| format!("; retry in {}s", d.as_secs().max(1))).unwrap_or_default()
}

fn code_hint(code: &Option<String>) -> String {
    code.as_ref().map(|c| format!(", {c}")).unwrap_or_default()
}

impl AiError {
    /// Whether the same request may succeed if sent again (now or later).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            AiError::RateLimited { .. }
                | AiError::Unavailable { .. }
                | AiError::Timeout
                | AiError::Transport(_)
                | AiError::Malformed(_)
        )
    }

    /// A sentence to show on the draft, for the person reviewing it.
    pub fn user_message(&self) -> String {
        match self {
            AiError::InvalidInput(m) => format!("This cannot be generated: {m}."),
            AiError::RateLimited { retry_after } => match retry_after {
                Some(d) => format!("The AI provider is busy. Try again in about {} seconds.", d.as_secs().max(1)),
                None => "The AI provider is busy. Try again in a minute.".to_owned(),
            },
            AiError::QuotaExceeded { .. } => {
                "The AI provider account has run out of credit. Ask the workspace owner to check the AI settings."
                    .to_owned()
            }
            AiError::Unavailable { .. } | AiError::Transport(_) => {
                "The AI provider is unavailable right now. Try again later.".to_owned()
            }
            AiError::Timeout => "The AI provider took too long to answer. Try again.".to_owned(),
            AiError::Unauthorized { .. } => {
                "The AI provider rejected the API key. Ask the workspace owner to check the AI settings.".to_owned()
            }
            AiError::Rejected { message, .. } => format!("The AI provider rejected the request: {message}"),
            AiError::Refused { reason } => {
                format!("The AI declined to write this ({reason}). Rephrase the brief and try again.")
            }
            AiError::Truncated => "The AI answer was cut off. Try again with a shorter brief.".to_owned(),
            AiError::Malformed(_) => "The AI answer was unusable. Try again.".to_owned(),
            AiError::Image(m) => format!("The image could not be made: {m}."),
        }
    }
}
