//! The configured social networks as the platforms crate wants them, the token vault over the
//! store, and the job that refreshes tokens ahead of expiry.

use crate::config::{Config, SecretText};
use crate::shutdown::Shutdown;
use nanopost_platforms::Secret;
use nanopost_platforms::config::{AppCredentials, InstagramConfig, LinkedinConfig, TiktokConfig};
use nanopost_platforms::custody::{KeyRing, derive_key};
use nanopost_platforms::instagram::Instagram;
use nanopost_platforms::linkedin::Linkedin;
use nanopost_platforms::tiktok::Tiktok;
use nanopost_platforms::vault::{Networks, Vault};
use nanopost_services::{Accounts, SecretKey, Services};
use nanopost_storage::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// How often the refresh job looks for tokens to renew, and how far ahead.
pub const REFRESH_EVERY: Duration = Duration::from_secs(10 * 60);
const REFRESH_AHEAD: jiff::SignedDuration = jiff::SignedDuration::from_hours(1);
const REFRESH_BATCH: u32 = 200;

fn credentials(id: &str, secret: Option<&SecretText>) -> Option<AppCredentials> {
    let secret = secret.map(SecretText::expose).filter(|s| !s.is_empty())?;
    (!id.trim().is_empty())
        .then(|| AppCredentials { client_id: id.trim().to_owned(), client_secret: Secret::new(secret) })
}

/// The networks with an app registration; callbacks go to `{public_url}/oauth/{network}/callback`.
pub fn configured(config: &Config, public_url: &str) -> Networks {
    let n = &config.networks;
    let callback = |network: &str| format!("{}/oauth/{network}/callback", public_url.trim_end_matches('/'));
    let set = |field: &mut String, value: &Option<String>| {
        if let Some(v) = value {
            *field = v.trim_end_matches('/').to_owned();
        }
    };
    let instagram = credentials(&n.instagram.app_id, n.instagram.app_secret.as_ref()).map(|app| {
        let ig = &n.instagram;
        let mut cfg = InstagramConfig::new(app, &callback("instagram"));
        cfg.http = n.http();
        cfg.facebook_app = credentials(&ig.facebook_app_id, ig.facebook_app_secret.as_ref());
        set(
            &mut cfg.authorize_url,
            &ig.authorize_url.as_ref().map(|u| format!("{}/oauth/authorize", u.trim_end_matches('/'))),
        );
        set(&mut cfg.oauth_api_url, &ig.oauth_api_url);
        set(&mut cfg.graph_url, &ig.graph_url);
        set(&mut cfg.facebook_dialog_url, &ig.facebook_dialog_url);
        set(&mut cfg.facebook_graph_url, &ig.facebook_graph_url);
        Instagram::new(cfg)
    });
    let linkedin = credentials(&n.linkedin.client_id, n.linkedin.client_secret.as_ref()).map(|app| {
        let mut cfg = LinkedinConfig::new(app, &callback("linkedin"));
        cfg.http = n.http();
        set(&mut cfg.oauth_url, &n.linkedin.oauth_url);
        set(&mut cfg.api_url, &n.linkedin.api_url);
        set(&mut cfg.web_url, &n.linkedin.web_url);
        set(&mut cfg.api_version, &n.linkedin.api_version);
        Linkedin::new(cfg)
    });
    let tiktok = credentials(&n.tiktok.client_key, n.tiktok.client_secret.as_ref()).map(|app| {
        let mut cfg = TiktokConfig::new(app, &callback("tiktok"));
        cfg.http = n.http();
        set(&mut cfg.authorize_url, &n.tiktok.authorize_url);
        set(&mut cfg.api_url, &n.tiktok.api_url);
        cfg.audited = n.tiktok.audited;
        Tiktok::new(cfg)
    });
    Networks { instagram, linkedin, tiktok }
}

/// The token keys: the one derived from the installation secret plus the configured ones, with
/// the configured sealing key (default: the installation key) sealing new tokens.
pub fn key_ring(config: &Config, secret_key: &SecretKey) -> anyhow::Result<KeyRing> {
    let mut ring = KeyRing::from_installation_secret(secret_key.expose());
    for (id, key) in config.secrets.keys()? {
        ring = ring.with_key(&id, key).map_err(|e| anyhow::anyhow!("secrets.token_keys: {e}"))?;
    }
    if let Some(id) = &config.secrets.sealing_key_id {
        ring = ring.sealing_with(id).map_err(|e| anyhow::anyhow!("secrets.sealing_key_id: {e}"))?;
    }
    Ok(ring)
}

/// The token vault over the store, with the configured networks and keys.
pub fn vault(config: &Config, store: Store, secret_key: &SecretKey, public_url: &str) -> anyhow::Result<Vault> {
    // reqwest is built without a default TLS provider: install ring once (a second call is a no-op).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let networks = configured(config, public_url);
    let ring = key_ring(config, secret_key)?;
    Ok(Vault::new(store, ring, derive_key(secret_key.expose(), "oauth-pkce/v1"), networks))
}

/// The connected-accounts use cases, with tokens sealed under the configured sealing key.
pub fn accounts(
    config: &Config,
    services: &Services,
    secret_key: &SecretKey,
    public_url: &str,
) -> anyhow::Result<Accounts> {
    let vault = vault(config, services.store().clone(), secret_key, public_url)?;
    Ok(Accounts::new(services.clone(), Arc::new(vault)))
}

/// Refreshes tokens due within the hour, every ten minutes, until `shutdown`.
pub fn spawn_refresh(accounts: Accounts, shutdown: Shutdown) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(REFRESH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let stop = shutdown.wait();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                biased;
                _ = &mut stop => break,
                _ = tick.tick() => {}
            }
            match accounts.refresh_due_accounts(REFRESH_AHEAD, REFRESH_BATCH).await {
                Ok(s) if s.refreshed + s.deferred + s.reconnect_needed.len() == 0 => {
                    tracing::debug!("token refresh: nothing due")
                }
                Ok(s) => tracing::info!(
                    refreshed = s.refreshed,
                    deferred = s.deferred,
                    reconnect_needed = s.reconnect_needed.len(),
                    "token refresh done"
                ),
                Err(e) => tracing::warn!(error = %e, "token refresh failed; will retry"),
            }
        }
    })
}
