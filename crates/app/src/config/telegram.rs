//! `[telegram]`: the review bot. Off unless `bot_token` is set.
//!
//! ```toml
//! [telegram]
//! bot_token = "123456789:AA…"        # from @BotFather; secret
//! mode = "polling"                   # or "webhook" (needs a public https:// URL)
//! webhook_secret = "…"               # webhook mode: 16–256 of A-Z a-z 0-9 _ -
//! ```

use super::{ConfigError, SecretText, check_base_url, range};
use serde::{Deserialize, Serialize};

/// How updates (messages, button presses) reach Nanopost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TelegramMode {
    /// The worker asks Telegram for updates (long polling): works without a public URL.
    #[default]
    Polling,
    /// Telegram POSTs updates to `<public_url>/telegram/webhook` with the secret header.
    Webhook,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Telegram {
    /// The bot's token from @BotFather. Unset: no Telegram review.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bot_token: Option<SecretText>,
    pub mode: TelegramMode,
    /// Webhook mode: the value Telegram sends in `X-Telegram-Bot-Api-Secret-Token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<SecretText>,
    /// Webhook mode: register the webhook with Telegram at start-up (`setWebhook`).
    pub register_webhook: bool,
    /// `https://api.telegram.org`, or a local fake (`nanopost demo`).
    pub api_base_url: String,
    /// The bot's @username, shown on the linking page; asked from Telegram when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bot_username: Option<String>,
    /// Polling mode: how long one `getUpdates` waits for news.
    pub poll_timeout_seconds: u32,
    /// Timeout of every other call to Telegram.
    pub request_timeout_seconds: u32,
}

impl Default for Telegram {
    fn default() -> Self {
        Self {
            bot_token: None,
            mode: TelegramMode::Polling,
            webhook_secret: None,
            register_webhook: true,
            api_base_url: nanopost_telegram::DEFAULT_API_BASE_URL.into(),
            bot_username: None,
            poll_timeout_seconds: 30,
            request_timeout_seconds: 15,
        }
    }
}

/// Keys of `[telegram]` whose environment value is text even when it looks like a number.
pub(super) const TEXT_KEYS: &[&str] = &["bot_token", "webhook_secret", "api_base_url", "bot_username", "mode"];

impl Telegram {
    /// The checked token, when configured.
    pub fn token(&self) -> Option<nanopost_telegram::BotToken> {
        self.bot_token.as_ref().and_then(|t| nanopost_telegram::BotToken::parse(t.expose().trim()).ok())
    }

    pub(super) fn validate(&self, public_url: Option<&str>) -> Result<(), ConfigError> {
        check_base_url("telegram.api_base_url", &self.api_base_url)?;
        range("telegram.poll_timeout_seconds", self.poll_timeout_seconds, 1, nanopost_telegram::MAX_POLL_TIMEOUT_SECS)?;
        range("telegram.request_timeout_seconds", self.request_timeout_seconds, 1, 300)?;
        if let Some(name) = &self.bot_username {
            let n = name.trim_start_matches('@');
            if !(5..=32).contains(&n.len()) || !n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(ConfigError::new(
                    "telegram.bot_username",
                    format!("{name:?} is not a bot username (5 to 32 letters, digits or '_')"),
                ));
            }
        }
        if let Some(secret) = &self.webhook_secret {
            let s = secret.expose();
            if !(16..=256).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(ConfigError::new(
                    "telegram.webhook_secret",
                    "must be 16 to 256 characters of A-Z, a-z, 0-9, '_' and '-' (e.g. from `openssl rand -hex 32`)",
                ));
            }
        }
        let Some(token) = &self.bot_token else {
            if self.mode == TelegramMode::Webhook || self.webhook_secret.is_some() {
                return Err(ConfigError::new("telegram.bot_token", "is required when the Telegram bot is configured"));
            }
            return Ok(());
        };
        if nanopost_telegram::BotToken::parse(token.expose().trim()).is_err() {
            return Err(ConfigError::new(
                "telegram.bot_token",
                "must look like 123456789:AA… (the token @BotFather gave, digits, a colon, then letters, digits, '_' or '-')",
            ));
        }
        if self.mode == TelegramMode::Webhook {
            if self.webhook_secret.is_none() {
                return Err(ConfigError::new(
                    "telegram.webhook_secret",
                    "is required in webhook mode: Telegram sends it with every update and anything without it is refused",
                ));
            }
            // The real Telegram only calls https:// webhooks; a local fake may use http.
            let real = self.api_base_url.trim_end_matches('/') == nanopost_telegram::DEFAULT_API_BASE_URL;
            if real && self.register_webhook && !public_url.is_some_and(|u| u.starts_with("https://")) {
                return Err(ConfigError::new(
                    "telegram.mode",
                    "\"webhook\" needs public_url to be an https:// address Telegram can reach; use mode = \"polling\" otherwise",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Overrides, load};
    use super::*;

    const TOKEN: &str = "123456789:AAsecret_TOKEN-value";
    const SECRET: &str = "0123456789012345678901234567";

    fn env(pairs: &[(&str, &str)]) -> Result<super::super::Config, ConfigError> {
        load(None, pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())), &Overrides::default())
    }

    #[test]
    fn off_by_default_and_checked_when_on() {
        let c = env(&[]).unwrap();
        assert!(c.telegram.token().is_none());
        assert_eq!(c.telegram.mode, TelegramMode::Polling);

        let c = env(&[("NANOPOST_TELEGRAM__BOT_TOKEN", TOKEN)]).unwrap();
        assert_eq!(c.telegram.token().unwrap().bot_id(), "123456789");
        let e = env(&[("NANOPOST_TELEGRAM__BOT_TOKEN", "123456789")]).unwrap_err();
        assert_eq!(e.key, "telegram.bot_token");
        assert!(e.to_string().contains("NANOPOST_TELEGRAM__BOT_TOKEN"), "{e}");
        let e = env(&[("NANOPOST_TELEGRAM__MODE", "webhook")]).unwrap_err();
        assert_eq!(e.key, "telegram.bot_token");
        let e = env(&[("NANOPOST_TELEGRAM__BOT_TOKEN", TOKEN), ("NANOPOST_TELEGRAM__POLL_TIMEOUT_SECONDS", "90")])
            .unwrap_err();
        assert_eq!(e.key, "telegram.poll_timeout_seconds");
        let e = env(&[("NANOPOST_TELEGRAM__BOT_TOKEN", TOKEN), ("NANOPOST_TELEGRAM__API_BASE_URL", "ftp://x")])
            .unwrap_err();
        assert_eq!(e.key, "telegram.api_base_url");
    }

    #[test]
    fn webhook_mode_needs_a_strong_secret_and_an_https_public_url() {
        let base = [("NANOPOST_TELEGRAM__BOT_TOKEN", TOKEN), ("NANOPOST_TELEGRAM__MODE", "webhook")];
        assert_eq!(env(&base).unwrap_err().key, "telegram.webhook_secret");
        let short = [base[0], base[1], ("NANOPOST_TELEGRAM__WEBHOOK_SECRET", "short")];
        assert_eq!(env(&short).unwrap_err().key, "telegram.webhook_secret");
        let bad_chars = [base[0], base[1], ("NANOPOST_TELEGRAM__WEBHOOK_SECRET", "0123456789abcdef!")];
        assert_eq!(env(&bad_chars).unwrap_err().key, "telegram.webhook_secret");
        // All digits: still read as text from the environment.
        let plain_http = [base[0], base[1], ("NANOPOST_TELEGRAM__WEBHOOK_SECRET", SECRET)];
        assert_eq!(env(&plain_http).unwrap_err().key, "telegram.mode", "Telegram calls https:// only");
        let ok = [
            base[0],
            base[1],
            ("NANOPOST_TELEGRAM__WEBHOOK_SECRET", SECRET),
            ("NANOPOST_PUBLIC_URL", "https://np.example"),
        ];
        let c = env(&ok).unwrap();
        assert_eq!(c.telegram.webhook_secret.as_ref().unwrap().expose(), SECRET);
        // Nothing secret in what `config check` prints, nor in Debug.
        let shown = format!("{}{:?}", c.to_redacted_toml(), c.telegram);
        assert!(!shown.contains("AAsecret_TOKEN") && !shown.contains(SECRET), "{shown}");
        // A local fake may be called over http.
        let fake = [
            base[0],
            base[1],
            ("NANOPOST_TELEGRAM__WEBHOOK_SECRET", SECRET),
            ("NANOPOST_TELEGRAM__API_BASE_URL", "http://127.0.0.1:9"),
        ];
        assert!(env(&fake).is_ok());
    }
}
