//! What a Bot API call can end in. Telegram says its `error_code` values "are subject to
//! change", so the classes key on the HTTP status plus the description's prefix, as the
//! reference advises; `retry_after` comes from `parameters`.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelegramError {
    /// 429: wait exactly this long before calling again (the job backs off until then).
    #[error("Telegram asks to wait {seconds} s before the next call ({description})")]
    RetryAfter { seconds: u64, description: String },
    /// 401: the bot token is wrong or was revoked with @BotFather.
    #[error("Telegram refused the bot token (401 Unauthorized); check telegram.bot_token")]
    Unauthorized,
    /// 403: e.g. "Forbidden: bot was blocked by the user".
    #[error("Telegram refused: {description}")]
    Forbidden { description: String },
    /// 400: e.g. "Bad Request: chat not found", "message is not modified", "query is too old".
    #[error("Telegram rejected the request: {description}")]
    BadRequest { description: String },
    /// 409: a webhook is set while polling, or another getUpdates took over.
    #[error("Telegram reports a conflict: {description}")]
    Conflict { description: String },
    /// Any other `{"ok":false}` answer (5xx included).
    #[error("Telegram answered {code}: {description}")]
    Api { code: u16, description: String },
    /// No answer: connection refused, reset, or the timeout fired. The message never holds the URL.
    #[error("Telegram did not answer: {message}")]
    Transport { message: String, timeout: bool },
    /// An answer that is not the Bot API's JSON.
    #[error("Telegram's answer could not be read: {0}")]
    Malformed(String),
}

impl TelegramError {
    /// How long Telegram asked us to wait, for a 429.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            TelegramError::RetryAfter { seconds, .. } => Some(Duration::from_secs(*seconds)),
            _ => None,
        }
    }

    /// Worth trying again later (rate limit, server trouble, no answer).
    pub fn is_transient(&self) -> bool {
        match self {
            TelegramError::RetryAfter { .. } | TelegramError::Transport { .. } | TelegramError::Malformed(_) => true,
            TelegramError::Api { code, .. } => *code >= 500,
            _ => false,
        }
    }

    /// The chat cannot receive messages from the bot any more (blocked, deleted, never started).
    pub fn is_chat_unreachable(&self) -> bool {
        match self {
            TelegramError::Forbidden { .. } => true,
            TelegramError::BadRequest { description } => {
                let d = description.to_ascii_lowercase();
                d.contains("chat not found") || d.contains("user is deactivated") || d.contains("peer_id_invalid")
            }
            _ => false,
        }
    }

    /// "message is not modified": an edit that changes nothing. Harmless.
    pub fn is_not_modified(&self) -> bool {
        matches!(self, TelegramError::BadRequest { description } if description.contains("message is not modified"))
    }

    /// "query is too old": the button press was answered too late. Harmless.
    pub fn is_query_too_old(&self) -> bool {
        matches!(self, TelegramError::BadRequest { description } if description.contains("query is too old"))
    }

    pub(crate) fn from_answer(status: u16, description: String, retry_after: Option<u64>) -> Self {
        match status {
            429 => TelegramError::RetryAfter { seconds: retry_after.unwrap_or(1).max(1), description },
            401 => TelegramError::Unauthorized,
            403 => TelegramError::Forbidden { description },
            400 => TelegramError::BadRequest { description },
            409 => TelegramError::Conflict { description },
            code => TelegramError::Api { code, description },
        }
    }
}
