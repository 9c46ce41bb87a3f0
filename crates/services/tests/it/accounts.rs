//! Connected accounts end to end against the LinkedIn and TikTok fakes: who may connect and
//! disconnect, what listing shows, and the refresh job telling the owners.

use super::{Env, brand_input};
use jiff::SignedDuration;
use nanopost_domain::clock::Clock;
use nanopost_domain::ids::BrandId;
use nanopost_domain::network::Network;
use nanopost_domain::role::Role;
use nanopost_fakes::tiktok::oauth_error;
use nanopost_fakes::{Consent, FakeLinkedIn, FakeTikTok, LinkedInConfig, Route, TikTokConfig, demo};
use nanopost_platforms::Secret;
use nanopost_platforms::config::{AppCredentials, LinkedinConfig, TiktokConfig};
use nanopost_platforms::custody::{KeyRing, derive_key};
use nanopost_platforms::linkedin::Linkedin;
use nanopost_platforms::network::Flavour;
use nanopost_platforms::tiktok::Tiktok;
use nanopost_platforms::vault::{Networks, Vault};
use nanopost_services::{Accounts, Actor, RevocationOutcome, ServiceError};
use nanopost_storage::User;
use std::collections::BTreeMap;
use std::sync::Arc;

pub(crate) struct World {
    pub(crate) e: Env,
    pub(crate) accounts: Accounts,
    pub(crate) li: FakeLinkedIn,
    pub(crate) tt: FakeTikTok,
    pub(crate) owner: (User, Actor),
    pub(crate) brand: BrandId,
}

pub(crate) async fn world() -> World {
    world_with(|_| {}).await
}

/// [`world`] with the services' configuration changed by `tune`.
pub(crate) async fn world_with(tune: impl FnOnce(&mut nanopost_services::ServiceConfig)) -> World {
    let e = super::env_with(tune).await;
    let clock: Arc<dyn Clock> = e.clock.clone();
    let li = FakeLinkedIn::start_with(LinkedInConfig::default().with_clock(clock.clone())).await.unwrap();
    let tt = FakeTikTok::start_with(TikTokConfig::default().with_clock(clock)).await.unwrap();
    let mut li_cfg = LinkedinConfig::new(
        AppCredentials {
            client_id: demo::LINKEDIN_CLIENT_ID.into(),
            client_secret: Secret::new(demo::LINKEDIN_CLIENT_SECRET),
        },
        "https://nanopost.example/oauth/linkedin/callback",
    );
    li_cfg.oauth_url = li.base_url();
    li_cfg.api_url = li.base_url();
    let mut tt_cfg = TiktokConfig::new(
        AppCredentials {
            client_id: demo::TIKTOK_CLIENT_KEY.into(),
            client_secret: Secret::new(demo::TIKTOK_CLIENT_SECRET),
        },
        "https://nanopost.example/oauth/tiktok/callback",
    );
    tt_cfg.authorize_url = tt.base_url();
    tt_cfg.api_url = tt.base_url();
    let networks =
        Networks { linkedin: Some(Linkedin::new(li_cfg)), tiktok: Some(Tiktok::new(tt_cfg)), ..Default::default() };
    let secret = [9u8; 32];
    let vault = Vault::new(
        e.services.store().clone(),
        KeyRing::from_installation_secret(&secret),
        derive_key(&secret, "oauth-pkce/v1"),
        networks,
    );
    let accounts = Accounts::new(e.services.clone(), Arc::new(vault));
    let owner = e.owner("owner@example.com").await;
    let brand = e.services.create_brand(&owner.1, &brand_input()).await.unwrap().id;
    World { e, accounts, li, tt, owner, brand }
}

fn params(location: &str) -> BTreeMap<String, String> {
    let url = reqwest::Url::parse(location).unwrap();
    url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

impl World {
    pub(crate) async fn connect(
        &self,
        who: &(User, Actor),
        flavour: Flavour,
    ) -> Result<nanopost_services::Connected, ServiceError> {
        let url = self.accounts.begin_connect(&who.1, self.brand, flavour).await?;
        let location = match flavour {
            Flavour::Linkedin => self.li.consent(&url, Consent::allow()),
            _ => self.tt.consent(&url, Consent::allow()),
        }
        .unwrap();
        self.accounts.complete_connect(&who.0, &params(&location)).await
    }

    /// The workspace's audit log, oldest first: (action, target, actor).
    pub(crate) async fn audit(&self) -> Vec<(String, Option<String>, Option<nanopost_domain::ids::UserId>)> {
        let page = self.e.services.audit_log(&self.owner.1, nanopost_storage::PageRequest::first(100)).await.unwrap();
        page.items.into_iter().rev().map(|a| (a.action, a.target, a.actor_id)).collect()
    }
}

#[tokio::test]
async fn an_owner_connects_linkedin_and_tiktok_and_listing_shows_no_tokens() {
    let w = world().await;
    let li = w.connect(&w.owner, Flavour::Linkedin).await.unwrap();
    assert_eq!((li.workspace_id, li.brand_id), (w.owner.1.workspace_id, w.brand));
    assert_eq!(li.accounts.len(), 2, "the member and the Company Page");
    let tt = w.connect(&w.owner, Flavour::Tiktok).await.unwrap();
    assert_eq!(tt.accounts[0].network, Network::Tiktok);

    let listed = w.accounts.connected_accounts(&w.owner.1, w.brand).await.unwrap();
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|a| !a.reconnect_needed));
    // Nothing a listing returns carries a token.
    let shown = format!("{listed:?}");
    for a in &listed {
        let token = w.accounts.vault().access(w.owner.1.workspace_id, a.id, w.e.services.now()).await.unwrap();
        assert!(!shown.contains(token.access_token.expose()), "{shown}");
    }
    assert_eq!(w.accounts.configured_networks(), [Network::Linkedin, Network::Tiktok]);
    assert!(w.accounts.tiktok_posts_private());

    // Another workspace sees nothing of this brand.
    let stranger = w.e.owner("stranger@example.com").await;
    assert!(matches!(w.accounts.connected_accounts(&stranger.1, w.brand).await, Err(ServiceError::NotFound)));
    assert!(matches!(
        w.accounts.begin_connect(&stranger.1, w.brand, Flavour::Tiktok).await,
        Err(ServiceError::NotFound)
    ));
}

#[tokio::test]
async fn only_owners_and_admins_connect_and_disconnect() {
    let w = world().await;
    let admin = w.e.member(&w.owner.1, "admin@example.com", Role::Admin).await;
    let editor = w.e.member(&w.owner.1, "editor@example.com", Role::Editor).await;
    let viewer = w.e.member(&w.owner.1, "viewer@example.com", Role::Viewer).await;
    for who in [&editor, &viewer] {
        assert!(matches!(
            w.accounts.begin_connect(&who.1, w.brand, Flavour::Tiktok).await,
            Err(ServiceError::Forbidden(_))
        ));
    }
    let connected = w.connect(&admin, Flavour::Tiktok).await.unwrap();
    let id = connected.accounts[0].id;
    // Everyone may see what is connected.
    assert_eq!(w.accounts.connected_accounts(&viewer.1, w.brand).await.unwrap().len(), 1);
    assert!(matches!(w.accounts.disconnect(&editor.1, id).await, Err(ServiceError::Forbidden(_))));

    // Demoted between the consent page and the callback: refused, nothing saved.
    let url = w.accounts.begin_connect(&admin.1, w.brand, Flavour::Linkedin).await.unwrap();
    let location = w.li.consent(&url, Consent::allow()).unwrap();
    w.e.services.set_role(&w.owner.1, admin.0.id, Role::Editor).await.unwrap();
    assert!(matches!(w.accounts.complete_connect(&admin.0, &params(&location)).await, Err(ServiceError::Forbidden(_))));
    assert_eq!(w.accounts.connected_accounts(&viewer.1, w.brand).await.unwrap().len(), 1);
    assert!(w.li.requests_to(&Route::post("/oauth/v2/accessToken")).is_empty(), "the code was never exchanged");

    // Someone else's callback is refused.
    let url = w.accounts.begin_connect(&w.owner.1, w.brand, Flavour::Linkedin).await.unwrap();
    let location = w.li.consent(&url, Consent::allow()).unwrap();
    assert!(matches!(
        w.accounts.complete_connect(&viewer.0, &params(&location)).await,
        Err(ServiceError::Forbidden(_))
    ));
}

#[tokio::test]
async fn a_declined_consent_is_a_clear_message_and_connects_nothing() {
    let w = world().await;
    let url = w.accounts.begin_connect(&w.owner.1, w.brand, Flavour::Linkedin).await.unwrap();
    let location = w.li.consent(&url, Consent::deny()).unwrap();
    let e = w.accounts.complete_connect(&w.owner.0, &params(&location)).await.unwrap_err();
    assert!(matches!(&e, ServiceError::Invalid(_)) && e.to_string().contains("declined"), "{e}");
    // A replay of the same callback is refused as used.
    let e = w.accounts.complete_connect(&w.owner.0, &params(&location)).await.unwrap_err();
    assert!(e.to_string().contains("already used"), "{e}");
    assert!(w.accounts.connected_accounts(&w.owner.1, w.brand).await.unwrap().is_empty());
}

#[tokio::test]
async fn promise_disconnect_at_any_time_deletes_the_token_and_revokes_it_at_the_network() {
    let w = world().await;
    let id = w.connect(&w.owner, Flavour::Tiktok).await.unwrap().accounts[0].id;
    let access = w.accounts.vault().access(w.owner.1.workspace_id, id, w.e.services.now()).await.unwrap().access_token;
    let (gone, outcome) = w.accounts.disconnect(&w.owner.1, id).await.unwrap();
    assert_eq!((gone.id, outcome), (id, RevocationOutcome::Revoked));
    assert!(w.e.services.store().connected_account(w.owner.1.workspace_id, id).await.unwrap().is_none());
    assert!(!w.tt.token_is_valid(access.expose()));
    assert!(matches!(w.accounts.disconnect(&w.owner.1, id).await, Err(ServiceError::NotFound)));

    // Both are in the audit log, by the owner, naming the account; the refused retry is not.
    let target = Some(format!("connected_account:{id}"));
    let by = Some(w.owner.0.id);
    let log: Vec<_> = w.audit().await.into_iter().filter(|(a, ..)| a.starts_with("connected_account.")).collect();
    assert_eq!(
        log,
        [
            ("connected_account.connected".to_string(), target.clone(), by),
            ("connected_account.disconnected".to_string(), target, by)
        ]
    );
}

#[tokio::test]
async fn a_failed_refresh_marks_reconnect_needed_and_mails_the_owners_once() {
    let w = world().await;
    let editor = w.e.member(&w.owner.1, "editor@example.com", Role::Editor).await;
    let id = w.connect(&w.owner, Flavour::Tiktok).await.unwrap().accounts[0].id;
    // Due: TikTok tokens last two hours.
    w.e.clock.advance(SignedDuration::from_mins(95));
    let summary = w.accounts.refresh_due_accounts(SignedDuration::ZERO, 50).await.unwrap();
    assert_eq!((summary.refreshed, summary.reconnect_needed.len()), (1, 0));

    w.e.clock.advance(SignedDuration::from_mins(95));
    w.tt.fail_next(Route::post("/v2/oauth/token"), oauth_error("invalid_grant", "Refresh token is invalid"));
    let summary = w.accounts.refresh_due_accounts(SignedDuration::ZERO, 50).await.unwrap();
    assert_eq!(summary.reconnect_needed, [id]);
    let listed = w.accounts.connected_accounts(&editor.1, w.brand).await.unwrap();
    assert!(listed[0].reconnect_needed && listed[0].status_reason.is_some());

    let mails = w.e.services.store().outbox(100).await.unwrap();
    let notices: Vec<_> = mails.iter().filter(|m| m.kind == "reconnect_needed").collect();
    assert_eq!(notices.len(), 1, "owners and admins only: {notices:?}");
    assert_eq!(notices[0].to.as_str(), "owner@example.com");
    assert!(notices[0].subject.contains("TikTok") && notices[0].body.contains("Nanopost Demo"), "{:?}", notices[0]);

    // The next pass leaves it alone: no second mail.
    w.e.clock.advance(SignedDuration::from_mins(95));
    let summary = w.accounts.refresh_due_accounts(SignedDuration::ZERO, 50).await.unwrap();
    assert!(summary.reconnect_needed.is_empty());
    // Recorded once, by no person (the refresh job did it).
    let log = w.audit().await;
    let needed: Vec<_> = log.iter().filter(|(a, ..)| a == "connected_account.reconnect_needed").collect();
    assert_eq!(needed.len(), 1, "{log:?}");
    assert_eq!((needed[0].1.clone(), needed[0].2), (Some(format!("connected_account:{id}")), None));
    let mails = w.e.services.store().outbox(100).await.unwrap();
    assert_eq!(mails.iter().filter(|m| m.kind == "reconnect_needed").count(), 1);
}

#[tokio::test]
async fn disconnecting_in_one_workspace_does_not_revoke_the_same_tiktok_account_elsewhere() {
    let w = world().await;
    // TikTok's revoke may end the user's whole authorization of the app (modelled so here).
    w.tt.update_settings(|s| s.revoke_ends_every_grant_of_the_user = true);
    let mine = w.connect(&w.owner, Flavour::Tiktok).await.unwrap().accounts.remove(0);
    // The same TikTok user connects the same app in another workspace.
    let other = w.e.owner("other@example.com").await;
    let other_brand = w.e.services.create_brand(&other.1, &brand_input()).await.unwrap().id;
    let url = w.accounts.begin_connect(&other.1, other_brand, Flavour::Tiktok).await.unwrap();
    let back = w.tt.consent(&url, Consent::allow()).unwrap();
    let theirs = w.accounts.complete_connect(&other.0, &params(&back)).await.unwrap().accounts.remove(0);
    let now = w.e.services.now();
    let their_token = w.accounts.vault().access(other.1.workspace_id, theirs.id, now).await.unwrap().access_token;

    let (_, outcome) = w.accounts.disconnect(&w.owner.1, mine.id).await.unwrap();
    assert_eq!(outcome, RevocationOutcome::NotNeeded, "connected elsewhere: not revoked");
    assert!(w.tt.requests_to(&Route::post("/v2/oauth/revoke/")).is_empty());
    assert!(w.tt.token_is_valid(their_token.expose()), "the other workspace keeps its access");

    // The last connection to that TikTok account is revoked at the network.
    let (_, outcome) = w.accounts.disconnect(&other.1, theirs.id).await.unwrap();
    assert_eq!(outcome, RevocationOutcome::Revoked);
    assert!(!w.tt.token_is_valid(their_token.expose()));
}
