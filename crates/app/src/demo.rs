//! `nanopost demo`: the app with local fakes of Instagram, LinkedIn and TikTok on loopback,
//! pre-registered as the networks' apps, and a demo workspace, user and brand, so a newcomer
//! can connect all three networks and publish with no internet.

use crate::bootstrap;
use crate::cli::DemoArgs;
use crate::config::{Config, InstagramNetwork, LinkedinNetwork, Networks, SecretText, TiktokNetwork};
use crate::serve::{self, ServeOptions};
use anyhow::{Context, Result};
use nanopost_domain::brand::BrandInput;
use nanopost_domain::clock::SystemClock;
use nanopost_fakes::{FakeEndpoints, FakeNetworks};
use nanopost_services::Services;
use std::sync::Arc;

pub const DEMO_EMAIL: &str = "demo@example.com";
const DEMO_NAME: &str = "Demo User";
const DEMO_WORKSPACE: &str = "Demo Workspace";
const DEMO_BRAND: &str = "Demo Bakery";

/// The network configuration that points the app at the fakes.
pub fn networks_for(ep: &FakeEndpoints) -> Networks {
    Networks {
        instagram: InstagramNetwork {
            app_id: ep.instagram_app_id.into(),
            app_secret: Some(SecretText::new(ep.instagram_app_secret)),
            facebook_app_id: ep.facebook_app_id.into(),
            facebook_app_secret: Some(SecretText::new(ep.facebook_app_secret)),
            authorize_url: Some(ep.instagram_base_url.clone()),
            oauth_api_url: Some(ep.instagram_base_url.clone()),
            graph_url: Some(ep.instagram_base_url.clone()),
            facebook_dialog_url: Some(ep.facebook_base_url.clone()),
            facebook_graph_url: Some(ep.facebook_base_url.clone()),
        },
        linkedin: LinkedinNetwork {
            client_id: ep.linkedin_client_id.into(),
            client_secret: Some(SecretText::new(ep.linkedin_client_secret)),
            oauth_url: Some(ep.linkedin_base_url.clone()),
            api_url: Some(ep.linkedin_base_url.clone()),
            web_url: Some(ep.linkedin_base_url.clone()),
            api_version: None,
        },
        tiktok: TiktokNetwork {
            client_key: ep.tiktok_client_key.into(),
            client_secret: Some(SecretText::new(ep.tiktok_client_secret)),
            authorize_url: Some(ep.tiktok_base_url.clone()),
            api_url: Some(ep.tiktok_base_url.clone()),
            audited: false,
        },
        ..Networks::default()
    }
}

/// A password for the demo user, new each run.
fn demo_password() -> String {
    let raw = uuid::Uuid::new_v4().simple().to_string();
    format!("demo-{}", &raw[..16])
}

/// The demo's configuration: the fakes as networks and, unless asked otherwise, a fresh data
/// directory with the embedded database.
pub fn demo_config(config: &Config, args: &DemoArgs, ep: &FakeEndpoints) -> Config {
    let mut demo = config.clone();
    if !args.in_data_dir {
        let dir = std::env::temp_dir().join(format!("nanopost-demo-{}", uuid::Uuid::new_v4().simple()));
        demo.data_dir = dir.display().to_string();
        demo.database_url = None;
    }
    demo.networks = networks_for(ep);
    demo.telegram = telegram_for(ep);
    demo
}

/// The Telegram review bot against the fake Bot API, by long polling (no public URL needed).
pub fn telegram_for(ep: &FakeEndpoints) -> crate::config::Telegram {
    crate::config::Telegram {
        bot_token: Some(SecretText::new(ep.telegram_bot_token.clone())),
        mode: crate::config::TelegramMode::Polling,
        webhook_secret: None,
        api_base_url: ep.telegram_base_url.clone(),
        bot_username: Some(ep.telegram_bot_username.clone()),
        // Short polls: the demo stops quickly on Ctrl-C.
        poll_timeout_seconds: 5,
        ..Default::default()
    }
}

/// Creates the demo user (e-mail verified), their workspace and a brand. `None` when the user
/// exists already (a data directory used for the demo before).
async fn seed(config: &Config, password: &str) -> Result<Option<()>> {
    let data_dir = config.data_dir();
    bootstrap::prepare_data_dir(&data_dir)?;
    let secret_key = bootstrap::load_or_create_secret_key(&data_dir)?;
    let store = bootstrap::open_store(config, true).await?;
    let public_url = config.public_url_for(config.listen_addr());
    let seeded = async {
        let services =
            Services::new(store.clone(), Arc::new(SystemClock), config.service_config(&public_url, secret_key))
                .map_err(|e| anyhow::anyhow!("cannot start the services: {e}"))?;
        let email = nanopost_domain::account::Email::parse(DEMO_EMAIL).map_err(|e| anyhow::anyhow!("{e}"))?;
        if store.user_by_email(&email).await.context("cannot read the users")?.is_some() {
            return Ok(None);
        }
        let user = services
            .create_user_admin(DEMO_EMAIL, password, DEMO_NAME, Some(DEMO_WORKSPACE))
            .await
            .map_err(|e| anyhow::anyhow!("cannot create the demo user: {e}"))?;
        let ws = services.workspaces_of(&user).await.map_err(|e| anyhow::anyhow!("{e}"))?[0].0.id;
        let actor = services.actor(&user, ws).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let brand = BrandInput {
            name: DEMO_BRAND.into(),
            description: "A small bakery that posts its bread of the day.".into(),
            timezone: "UTC".into(),
            language: "en".into(),
            posts_per_week: 3,
            ..Default::default()
        };
        services
            .create_brand(&actor, &brand)
            .await
            .map_err(|e| anyhow::anyhow!("cannot create the demo brand: {e}"))?;
        Ok(Some(()))
    }
    .await;
    store.close().await;
    seeded
}

pub async fn demo(config: &Config, args: &DemoArgs) -> Result<()> {
    let fakes = FakeNetworks::start_all().await.context("cannot start the local network fakes")?;
    let ep = fakes.endpoints();
    let config = demo_config(config, args, &ep);
    let password = demo_password();
    let seeded = seed(&config, &password).await?;
    println!("Nanopost demo: Instagram, LinkedIn, TikTok and Telegram are local fakes; nothing leaves this machine.");
    println!("  Instagram fake: {}  (Facebook: {})", ep.instagram_base_url, ep.facebook_base_url);
    println!("  LinkedIn fake:  {}", ep.linkedin_base_url);
    println!("  TikTok fake:    {}", ep.tiktok_base_url);
    println!(
        "  Telegram fake:  {}  (chat with @{} there as a reviewer)",
        ep.telegram_base_url, ep.telegram_bot_username
    );
    println!("  Data directory: {}", config.data_dir().display());
    println!(
        "  Mailbox:        /demo/mailbox on the app (the e-mail the demo would send: confirmations, resets, invitations)"
    );
    match seeded {
        Some(()) => {
            println!("  Sign in as {DEMO_EMAIL} with the password {password}");
            println!("  Then open Brands → {DEMO_BRAND} → Connected accounts and connect the networks.");
        }
        None => {
            println!("  The demo user {DEMO_EMAIL} exists already: sign in with the password printed the first time.")
        }
    }
    let opts = ServeOptions { migrate: true, workers: config.workers.enabled, demo: true };
    let served = serve::serve(&config, opts).await;
    drop(fakes);
    // A directory the demo made for itself goes with it.
    if !args.in_data_dir {
        let _ = std::fs::remove_dir_all(config.data_dir());
    }
    served
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_demo_points_every_network_host_at_the_fakes_permalinks_included() {
        let fakes = FakeNetworks::start_all().await.unwrap();
        let ep = fakes.endpoints();
        let n = networks_for(&ep);
        assert_eq!(n.linkedin.web_url.as_deref(), Some(ep.linkedin_base_url.as_str()), "See it on LinkedIn");
        assert_eq!(n.linkedin.oauth_url, n.linkedin.web_url);
        // TikTok's share links are built on its web host (the consent page's): the fake's too.
        assert_eq!(n.tiktok.authorize_url.as_deref(), Some(ep.tiktok_base_url.as_str()));
    }
}
