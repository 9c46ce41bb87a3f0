//! The three network fakes and the Telegram Bot API together, for `nanopost demo` (and benchmarks).

use crate::instagram::{self, FakeInstagram, InstagramConfig};
use crate::linkedin::{self, FakeLinkedIn, LinkedInConfig};
use crate::telegram::{FakeTelegram, TelegramConfig};
use crate::tiktok::{self, FakeTikTok, TikTokConfig};
use nanopost_domain::clock::Clock;
use std::sync::Arc;

/// How to start all three fakes.
#[derive(Clone, Default)]
pub struct FakeNetworksConfig {
    pub instagram: InstagramConfig,
    pub linkedin: LinkedInConfig,
    pub tiktok: TikTokConfig,
    /// The Telegram Bot API (the review channel, not a network posted to).
    pub telegram: TelegramConfig,
}

impl FakeNetworksConfig {
    /// The demo setup: demo apps and users, the system clock, random loopback ports, and
    /// Instagram and TikTok fetching media URLs over loopback the way the real networks fetch
    /// them (so a broken media URL shows up in the demo as it would in production).
    pub fn demo() -> Self {
        let mut config = FakeNetworksConfig::default();
        config.instagram.settings.check_media_urls = true;
        config.tiktok.settings.check_media_urls = true;
        config
    }

    /// One clock for all three.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.instagram.clock = clock.clone();
        self.linkedin.clock = clock.clone();
        self.tiktok.clock = clock.clone();
        self.telegram.clock = clock;
        self
    }
}

/// The three running fakes.
#[derive(Clone)]
pub struct FakeNetworks {
    pub instagram: FakeInstagram,
    pub linkedin: FakeLinkedIn,
    pub tiktok: FakeTikTok,
    pub telegram: FakeTelegram,
}

/// Where the fakes listen and which credentials they accept: what `nanopost demo` writes into
/// the app's network configuration.
#[derive(Clone, PartialEq, Eq)]
pub struct FakeEndpoints {
    /// For `www.instagram.com`, `api.instagram.com`, `graph.instagram.com`.
    pub instagram_base_url: String,
    /// For `www.facebook.com`, `graph.facebook.com`, `rupload.facebook.com`.
    pub facebook_base_url: String,
    /// For `www.linkedin.com`, `api.linkedin.com`.
    pub linkedin_base_url: String,
    /// For `www.tiktok.com`, `open.tiktokapis.com`.
    pub tiktok_base_url: String,
    pub instagram_app_id: &'static str,
    pub instagram_app_secret: &'static str,
    pub facebook_app_id: &'static str,
    pub facebook_app_secret: &'static str,
    pub linkedin_client_id: &'static str,
    pub linkedin_client_secret: &'static str,
    pub tiktok_client_key: &'static str,
    pub tiktok_client_secret: &'static str,
    /// For `api.telegram.org`; `GET /` there is a chat simulator page.
    pub telegram_base_url: String,
    pub telegram_bot_token: String,
    pub telegram_bot_username: String,
}

impl std::fmt::Debug for FakeEndpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeEndpoints")
            .field("instagram_base_url", &self.instagram_base_url)
            .field("facebook_base_url", &self.facebook_base_url)
            .field("linkedin_base_url", &self.linkedin_base_url)
            .field("tiktok_base_url", &self.tiktok_base_url)
            .field("telegram_base_url", &self.telegram_base_url)
            .finish_non_exhaustive()
    }
}

impl FakeNetworks {
    /// Starts the three with [`FakeNetworksConfig::demo`].
    pub async fn start_all() -> std::io::Result<Self> {
        Self::start_with(FakeNetworksConfig::demo()).await
    }

    pub async fn start_with(config: FakeNetworksConfig) -> std::io::Result<Self> {
        Ok(FakeNetworks {
            instagram: FakeInstagram::start_with(config.instagram).await?,
            linkedin: FakeLinkedIn::start_with(config.linkedin).await?,
            tiktok: FakeTikTok::start_with(config.tiktok).await?,
            telegram: FakeTelegram::start_with(config.telegram).await?,
        })
    }

    /// Base URLs and the pre-registered demo credentials.
    pub fn endpoints(&self) -> FakeEndpoints {
        FakeEndpoints {
            instagram_base_url: self.instagram.instagram_base_url(),
            facebook_base_url: self.instagram.facebook_base_url(),
            linkedin_base_url: self.linkedin.base_url(),
            tiktok_base_url: self.tiktok.base_url(),
            instagram_app_id: instagram::DEMO_INSTAGRAM_APP_ID,
            instagram_app_secret: instagram::DEMO_INSTAGRAM_APP_SECRET,
            facebook_app_id: instagram::DEMO_FACEBOOK_APP_ID,
            facebook_app_secret: instagram::DEMO_FACEBOOK_APP_SECRET,
            linkedin_client_id: linkedin::DEMO_CLIENT_ID,
            linkedin_client_secret: linkedin::DEMO_CLIENT_SECRET,
            tiktok_client_key: tiktok::DEMO_CLIENT_KEY,
            tiktok_client_secret: tiktok::DEMO_CLIENT_SECRET,
            telegram_base_url: self.telegram.base_url(),
            telegram_bot_token: self.telegram.bot_token(),
            telegram_bot_username: self.telegram.bot_username(),
        }
    }
}
