//! `[networks]`: the app registrations at Instagram, LinkedIn and TikTok, and the hosts that
//! replace theirs in the demo and in tests.

use super::{ConfigError, SecretText, check_base_url, range};
use serde::{Deserialize, Serialize};

/// The app registrations at the social networks. A network is offered only when its client id
/// and secret are set. The URL keys replace the networks' real hosts (for `nanopost demo` and
/// tests against local fakes); leave them unset in production.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Networks {
    pub instagram: InstagramNetwork,
    pub linkedin: LinkedinNetwork,
    pub tiktok: TiktokNetwork,
    /// How long a call to a network may take before it is abandoned (and retried later).
    pub request_timeout_secs: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InstagramNetwork {
    /// Instagram Login (the Instagram app's id and secret).
    pub app_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_secret: Option<SecretText>,
    /// Facebook Login (optional: the Instagram account behind a Facebook Page).
    pub facebook_app_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facebook_app_secret: Option<SecretText>,
    /// `https://www.instagram.com` (the consent page).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorize_url: Option<String>,
    /// `https://api.instagram.com` (the code exchange).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oauth_api_url: Option<String>,
    /// `https://graph.instagram.com`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graph_url: Option<String>,
    /// `https://www.facebook.com` (the Facebook Login dialog).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facebook_dialog_url: Option<String>,
    /// `https://graph.facebook.com`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facebook_graph_url: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkedinNetwork {
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<SecretText>,
    /// `https://www.linkedin.com` (consent page and token endpoint).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oauth_url: Option<String>,
    /// `https://api.linkedin.com`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// `https://www.linkedin.com`: the host of the posts' public pages (their permalinks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_url: Option<String>,
    /// The `LinkedIn-Version` header, `YYYYMM`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TiktokNetwork {
    pub client_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<SecretText>,
    /// `https://www.tiktok.com` (the consent page).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorize_url: Option<String>,
    /// `https://open.tiktokapis.com`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// TikTok audited the app; until then every post is private (SELF_ONLY).
    pub audited: bool,
}

impl Default for Networks {
    fn default() -> Self {
        Self {
            instagram: InstagramNetwork::default(),
            linkedin: LinkedinNetwork::default(),
            tiktok: TiktokNetwork::default(),
            request_timeout_secs: u32::try_from(
                nanopost_platforms::http::HttpSettings::default().total_timeout.as_secs(),
            )
            .unwrap_or(30),
        }
    }
}

impl Networks {
    /// The networks' HTTP timeouts.
    pub fn http(&self) -> nanopost_platforms::http::HttpSettings {
        nanopost_platforms::http::HttpSettings {
            total_timeout: std::time::Duration::from_secs(u64::from(self.request_timeout_secs)),
            ..Default::default()
        }
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        range("networks.request_timeout_secs", self.request_timeout_secs, 1, 300)?;
        let ig = &self.instagram;
        pair("networks.instagram", "app_id", &ig.app_id, "app_secret", ig.app_secret.as_ref())?;
        pair(
            "networks.instagram",
            "facebook_app_id",
            &ig.facebook_app_id,
            "facebook_app_secret",
            ig.facebook_app_secret.as_ref(),
        )?;
        if !ig.facebook_app_id.is_empty() && ig.app_id.is_empty() {
            return Err(ConfigError::new(
                "networks.instagram.app_id",
                "is required when facebook_app_id is set (Facebook Login is offered next to Instagram Login)",
            ));
        }
        let li = &self.linkedin;
        pair("networks.linkedin", "client_id", &li.client_id, "client_secret", li.client_secret.as_ref())?;
        let tt = &self.tiktok;
        pair("networks.tiktok", "client_key", &tt.client_key, "client_secret", tt.client_secret.as_ref())?;
        for (key, url) in [
            ("networks.instagram.authorize_url", &ig.authorize_url),
            ("networks.instagram.oauth_api_url", &ig.oauth_api_url),
            ("networks.instagram.graph_url", &ig.graph_url),
            ("networks.instagram.facebook_dialog_url", &ig.facebook_dialog_url),
            ("networks.instagram.facebook_graph_url", &ig.facebook_graph_url),
            ("networks.linkedin.oauth_url", &li.oauth_url),
            ("networks.linkedin.api_url", &li.api_url),
            ("networks.linkedin.web_url", &li.web_url),
            ("networks.tiktok.authorize_url", &tt.authorize_url),
            ("networks.tiktok.api_url", &tt.api_url),
        ] {
            if let Some(u) = url {
                check_base_url(key, u)?;
            }
        }
        if let Some(v) = &li.api_version
            && !(v.len() == 6 && v.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(ConfigError::new(
                "networks.linkedin.api_version",
                format!("{v:?} is not a version like 202601"),
            ));
        }
        Ok(())
    }
}

/// An id and its secret: both or neither.
fn pair(
    section: &str,
    id_key: &str,
    id: &str,
    secret_key: &str,
    secret: Option<&SecretText>,
) -> Result<(), ConfigError> {
    match (id.trim().is_empty(), secret.is_none_or(|s| s.expose().is_empty())) {
        (false, true) => {
            Err(ConfigError::new(format!("{section}.{secret_key}"), format!("is required when {id_key} is set")))
        }
        (true, false) => {
            Err(ConfigError::new(format!("{section}.{id_key}"), format!("is required when {secret_key} is set")))
        }
        _ => Ok(()),
    }
}
