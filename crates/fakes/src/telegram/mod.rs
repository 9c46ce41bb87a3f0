//! Fake Telegram Bot API, one listener (`"telegram"`, [`FakeTelegram::base_url`]) standing for
//! `https://api.telegram.org`, plus simulated people who talk to the bot.
//!
//! Wire format (shared/reference/platform-apis.md §4):
//! - `GET|POST /bot<token>/<method>` (method names case-insensitive); parameters from the query
//!   string, `x-www-form-urlencoded`, JSON, or `multipart/form-data` (uploads). A wrong token →
//!   `401 {"ok":false,"error_code":401,"description":"Unauthorized"}`; an unknown method → 404.
//! - Success `{"ok":true,"result":…}`; failure `{"ok":false,"error_code":N,"description":"…"
//!   [,"parameters":{"retry_after":N}]}` with the same HTTP status.
//! - Methods: `getMe`; `sendMessage` (text 1–4096, `reply_markup`); `sendPhoto` (`photo` as URL,
//!   `file_id` or multipart upload; caption ≤ 1024); `sendMediaGroup` (2–10 photos, `attach://`
//!   uploads, no keyboard); `editMessageText`, `editMessageCaption`, `editMessageReplyMarkup`
//!   (400 "message is not modified" for an identical edit; editing without `reply_markup`
//!   removes the keyboard); `answerCallbackQuery` (once per query, within
//!   `callback_answer_window`, else 400 "query is too old…"); `getUpdates` (`offset` confirms,
//!   negative `offset` counts from the end, `limit` 1–100, `timeout` long poll capped at
//!   `max_poll_wait`; 409 while a webhook is set or when a newer poll takes over);
//!   `setWebhook` (`url`, `secret_token` 1–256 of `A-Za-z0-9_-`, `drop_pending_updates`),
//!   `deleteWebhook`, `getWebhookInfo`.
//! - Sends to a chat whose person never wrote to the bot → 400 "Bad Request: chat not found";
//!   to a person who blocked the bot → 403 "Forbidden: bot was blocked by the user"; a
//!   `callback_data` over 64 bytes → 400 "Bad Request: BUTTON_DATA_INVALID"; optional per-chat
//!   rate limit (`per_chat_messages_per_second`) → 429 with `retry_after`.
//!
//! People ([`FakeTelegram::user_sends_text`], [`FakeTelegram::user_presses_button`],
//! [`FakeTelegram::user_replies`]) produce updates: queued for `getUpdates`, or, while a
//! webhook is set, POSTed to it at once with `X-Telegram-Bot-Api-Secret-Token`. A non-2xx or
//! unreachable webhook keeps the update pending (see `getWebhookInfo`,
//! [`FakeTelegram::redeliver_pending`]). A webhook answer that is itself a method call
//! (`{"method":"sendMessage",…}`) is performed, as Telegram does. A person can press only a
//! button that is really on a bot message in their chat.
//!
//! Injected failures: `RateLimited { retry_after }` → 429 "Too Many Requests: retry after N"
//! (default 5); `QuotaExhausted` → 429 with 30 s; `ServerError` → 502 "Bad Gateway";
//! `TokenExpired|TokenInvalid|TokenRevoked` → 401; `PermissionMissing` → 403 blocked;
//! `ContentRejected` → 400 "can't parse entities"; [`api_error`] and [`too_many_requests`]
//! build exact answers.
//!
//! For `nanopost demo`, `GET /` on the fake shows a small chat simulator page: each chat with
//! the bot's messages and their buttons, a box to write to the bot, buttons to press.

mod api;
mod errors;
mod page;
mod params;
mod people;
mod state;
mod webhook;

pub use errors::{api_error, too_many_requests};

use crate::failure::Failure;
use crate::incoming::Incoming;
use crate::server::{self, FakeServer, Service, lock};
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};
use nanopost_domain::clock::{Clock, SystemClock};
use serde_json::Value;
use state::State;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// The demo bot's token (the fake accepts only its configured token).
pub const DEMO_BOT_TOKEN: &str = "7000000001:AAFakeNanopostDemoBotToken_0123456789";
pub const DEMO_BOT_USERNAME: &str = "nanopost_demo_bot";

const LISTENER: &str = "telegram";

#[derive(Debug, Clone)]
pub struct TelegramSettings {
    /// The only token accepted (its number before the colon is the bot's user id).
    pub bot_token: String,
    pub bot_username: String,
    pub bot_first_name: String,
    /// The longest `getUpdates` wait honoured (Telegram: 50 s).
    pub max_poll_wait: Duration,
    /// How long a callback query can be answered.
    pub callback_answer_window: SignedDuration,
    /// Updates not fetched within this are forgotten (Telegram: 24 h).
    pub update_retention: SignedDuration,
    /// `None`: no limit. `Some(n)`: the (n+1)-th send to one chat within a second gets a 429.
    pub per_chat_messages_per_second: Option<u32>,
    /// Refuse `http://` webhook URLs as Telegram does (off by default: the fake delivers over
    /// loopback, where the app listens on plain HTTP).
    pub require_https_webhook: bool,
    /// Fetch photo URLs over loopback like Telegram's servers do, and refuse what fails.
    pub check_photo_urls: bool,
}

impl Default for TelegramSettings {
    fn default() -> Self {
        TelegramSettings {
            bot_token: DEMO_BOT_TOKEN.into(),
            bot_username: DEMO_BOT_USERNAME.into(),
            bot_first_name: "Nanopost Demo".into(),
            max_poll_wait: Duration::from_secs(50),
            callback_answer_window: SignedDuration::from_mins(5),
            update_retention: SignedDuration::from_hours(24),
            per_chat_messages_per_second: None,
            require_https_webhook: false,
            check_photo_urls: false,
        }
    }
}

#[derive(Clone)]
pub struct TelegramConfig {
    pub clock: Arc<dyn Clock>,
    pub addr: SocketAddr,
    pub settings: TelegramSettings,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        TelegramConfig {
            clock: Arc::new(SystemClock),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            settings: TelegramSettings::default(),
        }
    }
}

impl TelegramConfig {
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

/// A photo as the bot sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhotoSent {
    Url(String),
    FileId(String),
    Upload { file_name: String, content_type: String, bytes: Vec<u8> },
}

/// One message of a chat, from the person or from the bot.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatMessage {
    pub chat_id: i64,
    pub message_id: i64,
    pub from_bot: bool,
    pub date: Timestamp,
    pub text: Option<String>,
    pub caption: Option<String>,
    pub photo: Option<PhotoSent>,
    /// The `file_id` Telegram gave the photo (empty without one).
    pub photo_file_id: String,
    pub media_group_id: Option<String>,
    /// The keyboard as received (`{"inline_keyboard":[[…]]}`), if any.
    pub reply_markup: Option<Value>,
    pub reply_to: Option<i64>,
    pub edited_at: Option<Timestamp>,
}

impl ChatMessage {
    /// `(text, callback_data)` of every callback button, row by row.
    pub fn buttons(&self) -> Vec<(String, String)> {
        let rows =
            self.reply_markup.as_ref().and_then(|m| m["inline_keyboard"].as_array()).cloned().unwrap_or_default();
        rows.iter()
            .filter_map(Value::as_array)
            .flatten()
            .filter_map(|b| Some((b["text"].as_str()?.to_owned(), b["callback_data"].as_str()?.to_owned())))
            .collect()
    }

    /// The callback data of the button with this text.
    pub fn button(&self, text: &str) -> Option<String> {
        self.buttons().into_iter().find(|(t, _)| t == text).map(|(_, d)| d)
    }

    /// The text, or the caption of a photo.
    pub fn body(&self) -> Option<&str> {
        self.text.as_deref().or(self.caption.as_deref())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackAnswer {
    pub query_id: String,
    pub chat_id: i64,
    pub message_id: i64,
    pub text: Option<String>,
    pub show_alert: bool,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSetting {
    pub url: String,
    pub secret_token: Option<String>,
    pub allowed_updates: Option<Vec<String>>,
    pub max_connections: u32,
}

/// One attempt to POST an update to the webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    pub update_id: i64,
    pub url: String,
    /// The webhook's HTTP status; `None` when it could not be reached.
    pub status: Option<u16>,
    pub error: Option<String>,
    pub at: Timestamp,
}

impl WebhookDelivery {
    pub fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// What became of an update a simulated person caused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// No webhook: waiting for `getUpdates`.
    Queued { update_id: i64 },
    /// POSTed to the webhook (successfully or not: see the delivery).
    Webhook(WebhookDelivery),
}

impl Delivery {
    pub fn update_id(&self) -> i64 {
        match self {
            Delivery::Queued { update_id } => *update_id,
            Delivery::Webhook(d) => d.update_id,
        }
    }
}

/// Why a simulated button press could not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PressError {
    NoSuchMessage,
    NoSuchButton,
}

impl std::fmt::Display for PressError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PressError::NoSuchMessage => "the chat has no bot message with that id",
            PressError::NoSuchButton => "the message has no button with that callback data",
        })
    }
}

impl std::error::Error for PressError {}

pub(crate) struct Inner {
    pub clock: Arc<dyn Clock>,
    pub state: Mutex<State>,
    /// Woken when an update is queued or a newer poll starts.
    pub updates_ready: Notify,
    pub base_url: Mutex<String>,
}

impl Inner {
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}

impl Service for Inner {
    fn handle(self: Arc<Self>, req: Incoming) -> impl std::future::Future<Output = Response> + Send {
        api::handle(self, req)
    }

    fn render_failure(&self, failure: &Failure, _req: &Incoming) -> Response {
        use errors::ApiError;
        let e = match failure {
            Failure::RateLimited { retry_after } => ApiError::too_many_requests(retry_after.unwrap_or(5)),
            Failure::QuotaExhausted => ApiError::too_many_requests(30),
            Failure::ServerError => ApiError::new(502, "Bad Gateway"),
            Failure::TokenExpired | Failure::TokenInvalid | Failure::TokenRevoked => ApiError::unauthorized(),
            Failure::PermissionMissing => ApiError::blocked(),
            Failure::ContentRejected => {
                ApiError::bad_request("Bad Request: can't parse entities: unsupported start tag at byte offset 0")
            }
            Failure::Respond { status, headers, body } => {
                return crate::instagram::raw_response(*status, headers, body);
            }
            _ => ApiError::new(502, "Bad Gateway"),
        };
        e.response()
    }
}

/// The running fake. Derefs to [`FakeServer`] (journal, failure injection).
#[derive(Clone)]
pub struct FakeTelegram {
    server: FakeServer,
    inner: Arc<Inner>,
}

impl std::ops::Deref for FakeTelegram {
    type Target = FakeServer;
    fn deref(&self) -> &FakeServer {
        &self.server
    }
}

impl FakeTelegram {
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(TelegramConfig::default()).await
    }

    pub async fn start_with(config: TelegramConfig) -> std::io::Result<Self> {
        let inner = Arc::new(Inner {
            clock: config.clock.clone(),
            state: Mutex::new(State::new(config.settings)),
            updates_ready: Notify::new(),
            base_url: Mutex::new(String::new()),
        });
        let server = server::start(inner.clone(), config.clock, &[(LISTENER, config.addr)]).await?;
        *lock(&inner.base_url) = server.base_url_of(LISTENER);
        Ok(FakeTelegram { server, inner })
    }

    /// Stands for `https://api.telegram.org` (the app's `telegram.api_base_url`).
    pub fn base_url(&self) -> String {
        self.server.base_url_of(LISTENER)
    }

    pub fn bot_token(&self) -> String {
        lock(&self.inner.state).settings.bot_token.clone()
    }

    pub fn bot_username(&self) -> String {
        lock(&self.inner.state).settings.bot_username.clone()
    }

    pub fn update_settings(&self, change: impl FnOnce(&mut TelegramSettings)) {
        change(&mut lock(&self.inner.state).settings);
    }

    /// A person with a private chat with the bot (`chat_id` = their user id). People who only
    /// write are added on the fly as "Tester <id>".
    pub fn add_user(&self, chat_id: i64, first_name: &str, username: Option<&str>) {
        let mut st = lock(&self.inner.state);
        let p = st.person(chat_id);
        p.first_name = first_name.to_owned();
        p.username = username.map(str::to_owned);
    }

    /// The person blocks the bot: sends to them answer 403.
    pub fn block_bot(&self, chat_id: i64) {
        lock(&self.inner.state).person(chat_id).blocked = true;
    }

    pub fn unblock_bot(&self, chat_id: i64) {
        lock(&self.inner.state).person(chat_id).blocked = false;
    }

    /// The person writes `text` to the bot (e.g. `/start CODE`).
    pub async fn user_sends_text(&self, chat_id: i64, text: &str) -> Delivery {
        people::user_message(&self.inner, chat_id, text, None).await
    }

    /// The person answers one of the bot's messages (Telegram's "reply").
    pub async fn user_replies(&self, chat_id: i64, reply_to_message_id: i64, text: &str) -> Delivery {
        people::user_message(&self.inner, chat_id, text, Some(reply_to_message_id)).await
    }

    /// The person presses an inline button of a bot message in their chat.
    pub async fn user_presses_button(
        &self,
        chat_id: i64,
        message_id: i64,
        callback_data: &str,
    ) -> Result<Delivery, PressError> {
        people::press(&self.inner, chat_id, message_id, callback_data).await
    }

    /// Tries every pending update again (Telegram retries failed webhook deliveries).
    pub async fn redeliver_pending(&self) -> Vec<Delivery> {
        let ids: Vec<i64> = lock(&self.inner.state).updates.iter().map(|(id, _)| *id).collect();
        let mut out = Vec::new();
        for id in ids {
            out.push(people::deliver(&self.inner, id).await);
        }
        out
    }

    /// Every message of the chat, oldest first.
    pub fn messages(&self, chat_id: i64) -> Vec<ChatMessage> {
        lock(&self.inner.state).chats.get(&chat_id).cloned().unwrap_or_default()
    }

    /// The bot's messages in the chat, oldest first.
    pub fn bot_messages(&self, chat_id: i64) -> Vec<ChatMessage> {
        self.messages(chat_id).into_iter().filter(|m| m.from_bot).collect()
    }

    pub fn last_bot_message(&self, chat_id: i64) -> Option<ChatMessage> {
        self.bot_messages(chat_id).pop()
    }

    /// Chats that have at least one message, by id.
    pub fn chat_ids(&self) -> Vec<i64> {
        lock(&self.inner.state).chats.iter().filter(|(_, m)| !m.is_empty()).map(|(id, _)| *id).collect()
    }

    /// Every `answerCallbackQuery`, oldest first.
    pub fn callback_answers(&self) -> Vec<CallbackAnswer> {
        lock(&self.inner.state).answers.clone()
    }

    pub fn webhook(&self) -> Option<WebhookSetting> {
        lock(&self.inner.state).webhook.clone()
    }

    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        lock(&self.inner.state).deliveries.clone()
    }

    /// Updates not yet confirmed (polling) or delivered (webhook), oldest first.
    pub fn pending_updates(&self) -> Vec<Value> {
        lock(&self.inner.state).updates.iter().map(|(_, u)| u.clone()).collect()
    }
}
