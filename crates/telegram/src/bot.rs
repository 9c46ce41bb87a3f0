//! The client: one typed method per Bot API call Nanopost makes, JSON bodies (multipart only
//! for uploads), connect and total timeouts, no redirects, bounded answers.
//!
//! The token sits in the URL path, so no URL is ever logged or kept in an error: reqwest's
//! errors are stripped of theirs, and `Debug` shows only the base URL and the bot's id.

use crate::error::TelegramError;
use crate::multipart::Form;
use crate::token::BotToken;
use crate::types::{BotUser, InlineKeyboardMarkup, InputFile, Message, Update, WebhookInfo};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

pub type Result<T, E = TelegramError> = std::result::Result<T, E>;

/// The real Bot API host.
pub const DEFAULT_API_BASE_URL: &str = "https://api.telegram.org";

/// Largest answer read (a full `getUpdates` page is well below this).
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// The longest `getUpdates` wait Telegram honours.
pub const MAX_POLL_TIMEOUT_SECS: u32 = 50;

#[derive(Clone)]
pub struct BotConfig {
    /// `https://api.telegram.org`, or a local fake.
    pub api_base_url: String,
    pub token: BotToken,
    pub connect_timeout: Duration,
    /// For every call except long polls (whose wait is added to it).
    pub request_timeout: Duration,
}

impl BotConfig {
    pub fn new(token: BotToken) -> Self {
        Self {
            api_base_url: DEFAULT_API_BASE_URL.into(),
            token,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
        }
    }

    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.api_base_url = url.into();
        self
    }
}

impl std::fmt::Debug for BotConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotConfig")
            .field("api_base_url", &self.api_base_url)
            .field("token", &self.token)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

/// A bot. Cheap to clone.
#[derive(Clone)]
pub struct Bot {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: String,
    token: BotToken,
    request_timeout: Duration,
}

impl std::fmt::Debug for Bot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bot").field("api_base_url", &self.inner.base).field("bot_id", &self.bot_id()).finish()
    }
}

impl Bot {
    pub fn new(config: BotConfig) -> Self {
        // reqwest is built without a default TLS provider; the process uses ring (installing
        // twice is harmless).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("nanopost/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client settings are valid");
        Self {
            inner: Arc::new(Inner {
                http,
                base: config.api_base_url.trim_end_matches('/').to_owned(),
                token: config.token,
                request_timeout: config.request_timeout,
            }),
        }
    }

    /// The bot's numeric id (public).
    pub fn bot_id(&self) -> &str {
        self.inner.token.bot_id()
    }

    pub async fn get_me(&self) -> Result<BotUser> {
        self.call("getMe", json!({}), None).await
    }

    /// Plain text (no parse mode: captions are shown exactly as written, nothing to escape).
    pub async fn send_message(
        &self,
        chat_id: i64,
        text: &str,
        reply_markup: Option<&InlineKeyboardMarkup>,
    ) -> Result<Message> {
        let mut params = json!({"chat_id": chat_id, "text": text, "link_preview_options": {"is_disabled": true}});
        if let Some(m) = reply_markup {
            params["reply_markup"] = json!(m);
        }
        self.call("sendMessage", params, None).await
    }

    pub async fn send_photo(
        &self,
        chat_id: i64,
        photo: &InputFile,
        caption: Option<&str>,
        reply_markup: Option<&InlineKeyboardMarkup>,
    ) -> Result<Message> {
        match photo {
            InputFile::Url(s) | InputFile::FileId(s) => {
                let mut params = json!({"chat_id": chat_id, "photo": s});
                if let Some(c) = caption {
                    params["caption"] = json!(c);
                }
                if let Some(m) = reply_markup {
                    params["reply_markup"] = json!(m);
                }
                self.call("sendPhoto", params, None).await
            }
            InputFile::Upload { file_name, content_type, bytes } => {
                let mut form = Form::new();
                form.text("chat_id", &chat_id.to_string());
                if let Some(c) = caption {
                    form.text("caption", c);
                }
                if let Some(m) = reply_markup {
                    form.text("reply_markup", &json!(m).to_string());
                }
                form.file("photo", file_name, content_type, bytes);
                self.call_multipart("sendPhoto", form).await
            }
        }
    }

    /// An album of 2–10 photos; the caption goes on the first. Albums carry no keyboard: send
    /// the buttons in a follow-up message.
    pub async fn send_media_group(
        &self,
        chat_id: i64,
        photos: &[InputFile],
        caption: Option<&str>,
    ) -> Result<Vec<Message>> {
        let mut media = Vec::with_capacity(photos.len());
        let mut uploads = Vec::new();
        for (i, p) in photos.iter().enumerate() {
            let reference = match p {
                InputFile::Url(s) | InputFile::FileId(s) => s.clone(),
                InputFile::Upload { file_name, content_type, bytes } => {
                    let name = format!("photo{i}");
                    uploads.push((name.clone(), file_name, content_type, bytes));
                    format!("attach://{name}")
                }
            };
            let mut item = json!({"type": "photo", "media": reference});
            if i == 0
                && let Some(c) = caption
            {
                item["caption"] = json!(c);
            }
            media.push(item);
        }
        if uploads.is_empty() {
            return self.call("sendMediaGroup", json!({"chat_id": chat_id, "media": media}), None).await;
        }
        let mut form = Form::new();
        form.text("chat_id", &chat_id.to_string());
        form.text("media", &Value::Array(media).to_string());
        for (name, file_name, content_type, bytes) in uploads {
            form.file(&name, file_name, content_type, bytes);
        }
        self.call_multipart("sendMediaGroup", form).await
    }

    /// Replaces a text message's text (and keyboard: `None` removes it).
    pub async fn edit_message_text(
        &self,
        chat_id: i64,
        message_id: i64,
        text: &str,
        reply_markup: Option<&InlineKeyboardMarkup>,
    ) -> Result<Message> {
        let mut params = json!({"chat_id": chat_id, "message_id": message_id, "text": text,
            "link_preview_options": {"is_disabled": true}});
        if let Some(m) = reply_markup {
            params["reply_markup"] = json!(m);
        }
        self.call("editMessageText", params, None).await
    }

    /// Replaces a photo's caption (and keyboard: `None` removes it).
    pub async fn edit_message_caption(
        &self,
        chat_id: i64,
        message_id: i64,
        caption: &str,
        reply_markup: Option<&InlineKeyboardMarkup>,
    ) -> Result<Message> {
        let mut params = json!({"chat_id": chat_id, "message_id": message_id, "caption": caption});
        if let Some(m) = reply_markup {
            params["reply_markup"] = json!(m);
        }
        self.call("editMessageCaption", params, None).await
    }

    /// Replaces (or, with `None`, removes) a message's keyboard.
    pub async fn edit_message_reply_markup(
        &self,
        chat_id: i64,
        message_id: i64,
        reply_markup: Option<&InlineKeyboardMarkup>,
    ) -> Result<Message> {
        let mut params = json!({"chat_id": chat_id, "message_id": message_id});
        if let Some(m) = reply_markup {
            params["reply_markup"] = json!(m);
        }
        self.call("editMessageReplyMarkup", params, None).await
    }

    /// Stops the button's spinner; `text` (≤ 200 characters) shows as a toast, or as an alert.
    pub async fn answer_callback_query(
        &self,
        callback_query_id: &str,
        text: Option<&str>,
        show_alert: bool,
    ) -> Result<bool> {
        let mut params = json!({"callback_query_id": callback_query_id, "show_alert": show_alert});
        if let Some(t) = text {
            params["text"] = json!(truncate_chars(t, 200));
        }
        self.call("answerCallbackQuery", params, None).await
    }

    /// Long polling: updates from `offset` on (confirming every earlier one), waiting up to
    /// `timeout_secs` (capped at 50) for the first. The HTTP timeout is the wait plus the
    /// usual request timeout, so a quiet chat is not mistaken for a dead connection.
    pub async fn get_updates(&self, offset: Option<i64>, timeout_secs: u32, limit: u32) -> Result<Vec<Update>> {
        let wait = timeout_secs.min(MAX_POLL_TIMEOUT_SECS);
        let mut params = json!({"timeout": wait, "limit": limit.clamp(1, 100),
            "allowed_updates": ["message", "callback_query"]});
        if let Some(o) = offset {
            params["offset"] = json!(o);
        }
        let http_timeout = self.inner.request_timeout + Duration::from_secs(u64::from(wait));
        self.call("getUpdates", params, Some(http_timeout)).await
    }

    /// Telegram POSTs every update to `url` with `X-Telegram-Bot-Api-Secret-Token: secret_token`.
    pub async fn set_webhook(&self, url: &str, secret_token: &str, drop_pending_updates: bool) -> Result<bool> {
        let params = json!({"url": url, "secret_token": secret_token, "drop_pending_updates": drop_pending_updates,
            "allowed_updates": ["message", "callback_query"]});
        self.call("setWebhook", params, None).await
    }

    pub async fn delete_webhook(&self, drop_pending_updates: bool) -> Result<bool> {
        self.call("deleteWebhook", json!({"drop_pending_updates": drop_pending_updates}), None).await
    }

    pub async fn get_webhook_info(&self) -> Result<WebhookInfo> {
        self.call("getWebhookInfo", json!({}), None).await
    }

    fn url(&self, method: &str) -> String {
        format!("{}/bot{}/{method}", self.inner.base, self.inner.token.expose())
    }

    async fn call<T: DeserializeOwned>(&self, method: &str, params: Value, timeout: Option<Duration>) -> Result<T> {
        let request = self
            .inner
            .http
            .post(self.url(method))
            .timeout(timeout.unwrap_or(self.inner.request_timeout))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(params.to_string());
        self.execute(request).await
    }

    async fn call_multipart<T: DeserializeOwned>(&self, method: &str, form: Form) -> Result<T> {
        let (content_type, body) = form.finish();
        // Uploads take longer than calls.
        let request = self
            .inner
            .http
            .post(self.url(method))
            .timeout(self.inner.request_timeout * 4)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        self.execute(request).await
    }

    async fn execute<T: DeserializeOwned>(&self, request: reqwest::RequestBuilder) -> Result<T> {
        let mut response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(TelegramError::Malformed("the answer is larger than 4 MiB".into()));
            }
            body.extend_from_slice(&chunk);
        }
        decode(status, &body)
    }
}

/// The `{"ok":…}` envelope.
#[derive(serde::Deserialize)]
struct Envelope {
    ok: bool,
    #[serde(default)]
    result: Option<Value>,
    #[serde(default)]
    error_code: Option<u16>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<Parameters>,
}

#[derive(serde::Deserialize)]
struct Parameters {
    #[serde(default)]
    retry_after: Option<u64>,
}

fn decode<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T> {
    let envelope: Envelope = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(_) if !(200..300).contains(&status) => {
            // A proxy's or load balancer's page: keep the class of the status.
            return Err(TelegramError::from_answer(status, format!("HTTP {status} without a Bot API answer"), None));
        }
        Err(e) => return Err(TelegramError::Malformed(format!("not the Bot API's JSON: {e}"))),
    };
    if envelope.ok {
        let result = envelope.result.unwrap_or(Value::Null);
        return serde_json::from_value(result).map_err(|e| TelegramError::Malformed(format!("unexpected result: {e}")));
    }
    let description = envelope.description.unwrap_or_else(|| "no description".into());
    // Key on the HTTP status first; a 200 with ok:false (never seen, but possible) uses error_code.
    let code = if (200..300).contains(&status) { envelope.error_code.unwrap_or(500) } else { status };
    let retry_after = envelope.parameters.and_then(|p| p.retry_after).or_else(|| retry_after_in(&description));
    Err(TelegramError::from_answer(code, description, retry_after))
}

/// "Too Many Requests: retry after 35" without `parameters`.
fn retry_after_in(description: &str) -> Option<u64> {
    let lower = description.to_ascii_lowercase();
    let at = lower.find("retry after ")? + "retry after ".len();
    lower[at..].split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

fn transport(e: reqwest::Error) -> TelegramError {
    let timeout = e.is_timeout();
    // The URL holds the bot token: drop it from the message.
    let e = e.without_url();
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    TelegramError::Transport { message, timeout }
}

fn truncate_chars(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_classified_by_status_and_retry_after_is_read() {
        let e = decode::<bool>(429, br#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#).unwrap_err();
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        let e =
            decode::<bool>(429, br#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 12"}"#)
                .unwrap_err();
        assert_eq!(e.retry_after(), Some(Duration::from_secs(12)));
        assert_eq!(
            decode::<bool>(401, br#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#).unwrap_err(),
            TelegramError::Unauthorized
        );
        let e = decode::<bool>(400, br#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#)
            .unwrap_err();
        assert!(e.is_chat_unreachable());
        assert!(matches!(
            decode::<bool>(502, b"<html>bad gateway</html>").unwrap_err(),
            TelegramError::Api { code: 502, .. }
        ));
        assert!(matches!(decode::<bool>(200, b"nope").unwrap_err(), TelegramError::Malformed(_)));
        assert!(decode::<bool>(200, br#"{"ok":true,"result":true}"#).unwrap());
    }
}
