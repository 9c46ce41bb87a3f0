//! The Telegram review bot as configured: the channel the use cases send through, and how
//! updates arrive, started next to the workers.
//!
//! - Polling mode: one loop asks `getUpdates` (long poll, `poll_timeout_seconds`), hands each
//!   update to the services and stores the offset after each, so a restart neither loses nor
//!   repeats updates. It removes a leftover webhook first (Telegram refuses polling while one is
//!   set). Failures back off (Telegram's `retry_after` when it names one, else 1 s doubling to
//!   a minute). Only one process should poll a bot: run several workers with webhook mode.
//! - Webhook mode: Telegram POSTs to `<public_url>/telegram/webhook` (the web crate checks the
//!   secret header); with `register_webhook`, the webhook is set at start-up, retried until
//!   Telegram accepts it.

use crate::config::{Config, TelegramMode};
use crate::shutdown::Shutdown;
use nanopost_services::Services;
use nanopost_services::telegram::{TelegramChannel, TelegramPollError};
use nanopost_telegram::{Bot, BotConfig, TelegramError};
use std::time::Duration;
use tokio::task::JoinHandle;

/// The path Telegram POSTs updates to.
pub const WEBHOOK_PATH: &str = "/telegram/webhook";

const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The channel, when a bot is configured.
pub fn channel(config: &Config) -> Option<TelegramChannel> {
    let t = &config.telegram;
    let token = t.token()?;
    let mut bot_config = BotConfig::new(token).with_base_url(t.api_base_url.trim_end_matches('/'));
    bot_config.request_timeout = Duration::from_secs(u64::from(t.request_timeout_seconds));
    let mut channel = TelegramChannel::new(Bot::new(bot_config), t.bot_username.clone());
    if t.mode == TelegramMode::Webhook
        && let Some(secret) = &t.webhook_secret
    {
        channel = channel.with_webhook_secret(secret.expose());
    }
    Some(channel)
}

/// The services with the bot attached, when one is configured.
pub fn attach(services: Services, config: &Config) -> Services {
    match channel(config) {
        Some(c) => services.with_telegram(c),
        None => services,
    }
}

/// Starts update delivery for the configured mode; `None` when there is nothing to run.
pub fn spawn(services: &Services, config: &Config, public_url: &str, shutdown: Shutdown) -> Option<JoinHandle<()>> {
    let channel = services.telegram()?.clone();
    let t = &config.telegram;
    match t.mode {
        TelegramMode::Polling => {
            let services = services.clone();
            let wait = t.poll_timeout_seconds;
            Some(tokio::spawn(async move { poll_loop(services, channel, wait, shutdown).await }))
        }
        TelegramMode::Webhook if t.register_webhook => {
            let url = format!("{}{WEBHOOK_PATH}", public_url.trim_end_matches('/'));
            let secret = t.webhook_secret.as_ref()?.expose().to_owned();
            Some(tokio::spawn(async move { register_webhook(channel.bot().clone(), url, secret, shutdown).await }))
        }
        TelegramMode::Webhook => None,
    }
}

/// Long polling until `shutdown`.
pub async fn poll_loop(services: Services, channel: TelegramChannel, wait_secs: u32, shutdown: Shutdown) {
    let stop = shutdown.wait();
    tokio::pin!(stop);
    tracing::info!(bot = channel.bot().bot_id(), "Telegram long polling started");
    // Polling does not work while a webhook is set (409): remove a leftover one, keeping its
    // pending updates for us.
    if let Err(e) = channel.bot().delete_webhook(false).await {
        tracing::warn!(error = %e, "could not remove a Telegram webhook before polling");
    }
    let mut failures: u32 = 0;
    loop {
        let step = tokio::select! {
            biased;
            _ = &mut stop => break,
            r = services.poll_telegram_once(wait_secs) => r,
        };
        let pause = match step {
            Ok(n) => {
                if n > 0 {
                    tracing::debug!(updates = n, "Telegram updates handled");
                }
                failures = 0;
                continue;
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                let pause = backoff(&e, failures);
                match &e {
                    TelegramPollError::Telegram(TelegramError::Conflict { .. }) => tracing::warn!(
                        error = %e,
                        "another process polls this Telegram bot (or a webhook is set); only one may"
                    ),
                    _ => tracing::warn!(error = %e, retry_in_secs = pause.as_secs(), "Telegram polling failed"),
                }
                pause
            }
        };
        tokio::select! {
            biased;
            _ = &mut stop => break,
            _ = tokio::time::sleep(pause) => {}
        }
    }
    tracing::info!("Telegram long polling stopped");
}

/// How long to wait after the `failures`-th failure in a row.
fn backoff(e: &TelegramPollError, failures: u32) -> Duration {
    if let TelegramPollError::Telegram(t) = e
        && let Some(wait) = t.retry_after()
    {
        return wait.min(MAX_BACKOFF * 10);
    }
    let exp = failures.saturating_sub(1).min(6);
    (Duration::from_secs(1) * 2u32.pow(exp)).min(MAX_BACKOFF)
}

async fn register_webhook(bot: Bot, url: String, secret: String, shutdown: Shutdown) {
    let stop = shutdown.wait();
    tokio::pin!(stop);
    let mut failures = 0u32;
    loop {
        match bot.set_webhook(&url, &secret, false).await {
            Ok(_) => {
                tracing::info!(url = %url, "Telegram webhook registered");
                return;
            }
            Err(e) => {
                failures += 1;
                let pause = backoff(&TelegramPollError::Telegram(e.clone()), failures);
                tracing::warn!(error = %e, retry_in_secs = pause.as_secs(), "Telegram refused the webhook");
                if matches!(e, TelegramError::Unauthorized | TelegramError::BadRequest { .. }) && failures >= 3 {
                    tracing::error!(
                        "giving up registering the Telegram webhook; check telegram.bot_token and public_url"
                    );
                    return;
                }
                tokio::select! {
                    _ = &mut stop => return,
                    _ = tokio::time::sleep(pause) => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_honours_retry_after() {
        let transient = TelegramPollError::Storage("down".into());
        assert_eq!(backoff(&transient, 1), Duration::from_secs(1));
        assert_eq!(backoff(&transient, 3), Duration::from_secs(4));
        assert_eq!(backoff(&transient, 30), MAX_BACKOFF);
        let limited = TelegramPollError::Telegram(TelegramError::RetryAfter { seconds: 9, description: String::new() });
        assert_eq!(backoff(&limited, 1), Duration::from_secs(9));
    }

    #[tokio::test]
    async fn the_loop_removes_a_webhook_handles_updates_keeps_the_offset_and_stops() {
        use nanopost_domain::clock::SystemClock;
        use nanopost_fakes::FakeTelegram;
        use nanopost_telegram::BotToken;
        use std::sync::Arc;
        let fake = FakeTelegram::start().await.unwrap();
        let path = std::env::temp_dir().join(format!("nanopost-app-telegram-{}.db", uuid::Uuid::new_v4().simple()));
        let store = nanopost_storage::Store::connect(&format!("sqlite://{}", path.display())).await.unwrap();
        store.migrate().await.unwrap();
        let bot = Bot::new(BotConfig::new(BotToken::parse(fake.bot_token()).unwrap()).with_base_url(fake.base_url()));
        let channel = TelegramChannel::new(bot.clone(), Some("nanopost_demo_bot".into()));
        let services = Services::new(store.clone(), Arc::new(SystemClock), Default::default())
            .unwrap()
            .with_telegram(channel.clone());
        // A webhook left from an earlier run that nobody answers: the update waits there.
        bot.set_webhook("http://127.0.0.1:9/telegram/webhook", "leftover_secret", false).await.unwrap();
        let update_id = fake.user_sends_text(77, "/help").await.update_id();

        let shutdown = Shutdown::new();
        let running = tokio::spawn(poll_loop(services, channel, 1, shutdown.clone()));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while fake.bot_messages(77).is_empty() {
            assert!(tokio::time::Instant::now() < deadline, "the update was not handled");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(fake.webhook().is_none(), "the leftover webhook was removed");
        assert!(fake.last_bot_message(77).unwrap().text.unwrap().contains("/stop"));
        let stored = store.telegram_poll_offset(bot.bot_id()).await.unwrap();
        assert_eq!(stored, Some(update_id + 1));

        shutdown.trigger();
        tokio::time::timeout(Duration::from_secs(5), running).await.expect("the loop stops on shutdown").unwrap();
        store.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
