//! A small Telegram Bot API client for Nanopost's review channel (Telegram is where reviewers
//! are, not a network Nanopost publishes to, hence its own crate).
//!
//! - [`Bot`]: `getMe`, `sendMessage`, `sendPhoto` (URL, file id or upload), `sendMediaGroup`,
//!   `editMessageText` / `editMessageCaption` / `editMessageReplyMarkup`,
//!   `answerCallbackQuery`, `getUpdates` (long polling), `setWebhook` / `deleteWebhook` /
//!   `getWebhookInfo`. Raw reqwest + serde, as ARCHITECTURE.md recommends over teloxide.
//! - [`BotToken`]: the token, redacted in `Debug`; it sits in every URL's path, so the client
//!   never logs a URL and strips it from transport errors.
//! - [`TelegramError`]: classes keyed on HTTP status and description; a 429 becomes
//!   [`TelegramError::RetryAfter`] with Telegram's wait, for the caller's job to back off.
//! - [`types`]: the objects read and written, leniently.

mod bot;
mod error;
mod multipart;
mod token;
pub mod types;

pub use bot::{Bot, BotConfig, DEFAULT_API_BASE_URL, MAX_POLL_TIMEOUT_SECS, Result};
pub use error::TelegramError;
pub use token::{BotToken, MalformedToken};
pub use types::{CallbackQuery, Chat, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message, Update, User};
