//! Per-network settings: app credentials, base URLs (configurable so tests and `nanopost demo`
//! point at the local fakes), API versions, scopes, polling.

use crate::http::HttpSettings;
use crate::secret::Secret;
use std::time::Duration;

/// An app registered at a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppCredentials {
    pub client_id: String,
    pub client_secret: Secret,
}

/// How status polling waits (Instagram containers, TikTok publish status, LinkedIn images).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollSettings {
    pub interval: Duration,
    /// After this long without a final status, the step reports `RetryLater`.
    pub max_wait: Duration,
}

impl Default for PollSettings {
    fn default() -> Self {
        Self { interval: Duration::from_secs(10), max_wait: Duration::from_secs(300) }
    }
}

#[derive(Debug, Clone)]
pub struct InstagramConfig {
    /// The Instagram app (Instagram Login).
    pub app: AppCredentials,
    /// The Facebook app (Facebook Login); `None` disables that login.
    pub facebook_app: Option<AppCredentials>,
    pub redirect_uri: String,
    /// `https://www.instagram.com/oauth/authorize` (the reference also shows api.instagram.com).
    pub authorize_url: String,
    /// `https://api.instagram.com` (code exchange).
    pub oauth_api_url: String,
    /// `https://graph.instagram.com`.
    pub graph_url: String,
    /// `https://www.facebook.com` (the dialog lives at `/{version}/dialog/oauth`).
    pub facebook_dialog_url: String,
    /// `https://graph.facebook.com`.
    pub facebook_graph_url: String,
    pub api_version: String,
    pub scopes_instagram_login: Vec<String>,
    pub scopes_facebook_login: Vec<String>,
    pub http: HttpSettings,
    pub poll: PollSettings,
}

impl InstagramConfig {
    pub fn new(app: AppCredentials, redirect_uri: &str) -> Self {
        Self {
            app,
            facebook_app: None,
            redirect_uri: redirect_uri.into(),
            authorize_url: "https://www.instagram.com/oauth/authorize".into(),
            oauth_api_url: "https://api.instagram.com".into(),
            graph_url: "https://graph.instagram.com".into(),
            facebook_dialog_url: "https://www.facebook.com".into(),
            facebook_graph_url: "https://graph.facebook.com".into(),
            api_version: "v21.0".into(),
            scopes_instagram_login: vec![
                "instagram_business_basic".into(),
                "instagram_business_content_publish".into(),
            ],
            scopes_facebook_login: vec![
                "instagram_basic".into(),
                "instagram_content_publish".into(),
                "pages_show_list".into(),
                "pages_read_engagement".into(),
            ],
            http: HttpSettings::default(),
            poll: PollSettings::default(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct LinkedinConfig {
    pub app: AppCredentials,
    pub redirect_uri: String,
    /// `https://www.linkedin.com` (`/oauth/v2/authorization`, `/oauth/v2/accessToken`).
    pub oauth_url: String,
    /// `https://api.linkedin.com` (`/v2/userinfo`, `/rest/*`).
    pub api_url: String,
    /// `https://www.linkedin.com`: where people see a post (`/feed/update/{urn}`, its permalink).
    pub web_url: String,
    /// `LinkedIn-Version` header, `YYYYMM`.
    pub api_version: String,
    pub scopes: Vec<String>,
    pub http: HttpSettings,
    pub poll: PollSettings,
}

impl LinkedinConfig {
    pub fn new(app: AppCredentials, redirect_uri: &str) -> Self {
        Self {
            app,
            redirect_uri: redirect_uri.into(),
            oauth_url: "https://www.linkedin.com".into(),
            api_url: "https://api.linkedin.com".into(),
            web_url: "https://www.linkedin.com".into(),
            api_version: "202601".into(),
            scopes: ["openid", "profile", "w_member_social", "w_organization_social", "r_organization_admin"]
                .map(String::from)
                .to_vec(),
            http: HttpSettings::default(),
            poll: PollSettings { interval: Duration::from_secs(2), max_wait: Duration::from_secs(60) },
        }
    }
}

#[derive(Debug, Clone)]
pub struct TiktokConfig {
    /// `client_key` and `client_secret`.
    pub app: AppCredentials,
    pub redirect_uri: String,
    /// `https://www.tiktok.com` (`/v2/auth/authorize/`).
    pub authorize_url: String,
    /// `https://open.tiktokapis.com`.
    pub api_url: String,
    pub scopes: Vec<String>,
    /// Until TikTok audits the app, every post is private (SELF_ONLY) and the UI says so.
    pub audited: bool,
    /// PKCE is documented for desktop and mobile apps; web apps may leave it off.
    pub pkce: bool,
    pub http: HttpSettings,
    pub poll: PollSettings,
}

impl TiktokConfig {
    pub fn new(app: AppCredentials, redirect_uri: &str) -> Self {
        Self {
            app,
            redirect_uri: redirect_uri.into(),
            authorize_url: "https://www.tiktok.com".into(),
            api_url: "https://open.tiktokapis.com".into(),
            scopes: ["user.info.basic", "video.publish", "video.upload"].map(String::from).to_vec(),
            audited: false,
            pkce: true,
            http: HttpSettings::default(),
            poll: PollSettings::default(),
        }
    }
}

/// `base` without a trailing slash, then `path`.
pub(crate) fn join(base: &str, path: &str) -> String {
    format!("{}{}", base.trim_end_matches('/'), path)
}
