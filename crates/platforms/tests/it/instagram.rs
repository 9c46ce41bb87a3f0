//! Instagram against the fake: both logins, states, refresh, publishing, quota, errors, I2.

use crate::support::*;
use nanopost_domain::clock::ManualClock;
use nanopost_domain::network::Network;
use nanopost_fakes::instagram::{InstagramConfig as FakeConfig, publishing_error};
use nanopost_fakes::{Consent, Failure, FakeInstagram, Route, demo};
use nanopost_platforms::config::{AppCredentials, InstagramConfig, PollSettings};
use nanopost_platforms::instagram::Instagram;
use nanopost_platforms::network::Flavour;
use nanopost_platforms::publish::{Existence, Next, PublishProgress, Stage};
use nanopost_platforms::vault::{Networks, StateProblem, VaultError};
use nanopost_platforms::{ErrorClass, Secret};
use nanopost_storage::{AccountKind, AccountStatus, ConnectedAccount};
use std::sync::Arc;
use std::time::Duration;

const REDIRECT: &str = "https://nanopost.example/connect/instagram/callback";

async fn setup() -> (FakeInstagram, Harness) {
    let clock = Arc::new(ManualClock::new(t0()));
    let fake = FakeInstagram::start_with(FakeConfig::default().with_clock(clock.clone())).await.unwrap();
    let ig = fake.instagram_base_url();
    let fb = fake.facebook_base_url();
    let mut cfg = InstagramConfig::new(
        AppCredentials {
            client_id: demo::INSTAGRAM_APP_ID.into(),
            client_secret: Secret::new(demo::INSTAGRAM_APP_SECRET),
        },
        REDIRECT,
    );
    cfg.facebook_app = Some(AppCredentials {
        client_id: demo::FACEBOOK_APP_ID.into(),
        client_secret: Secret::new(demo::FACEBOOK_APP_SECRET),
    });
    cfg.authorize_url = format!("{ig}/oauth/authorize");
    cfg.oauth_api_url = ig.clone();
    cfg.graph_url = ig;
    cfg.facebook_dialog_url = fb.clone();
    cfg.facebook_graph_url = fb;
    cfg.poll = PollSettings { interval: Duration::from_millis(1), max_wait: Duration::from_secs(60) };
    let networks = Networks { instagram: Some(Instagram::new(cfg)), ..Default::default() };
    (fake, Harness::new(networks, clock).await)
}

async fn connect(fake: &FakeInstagram, h: &Harness, flavour: Flavour) -> Vec<ConnectedAccount> {
    let url = h.vault.begin(h.ws, h.brand, h.user, flavour, h.now()).await.unwrap();
    let location = fake.consent(&url, Consent::allow()).unwrap();
    h.vault.complete(h.ws, h.user, &callback_params(&location), h.now()).await.unwrap()
}

#[tokio::test]
async fn instagram_login_connects_and_stores_tokens_encrypted() {
    let (fake, h) = setup().await;
    let accounts = connect(&fake, &h, Flavour::InstagramLogin).await;
    assert_eq!(accounts.len(), 1);
    let a = &accounts[0];
    assert_eq!((a.kind, a.handle.as_deref()), (AccountKind::InstagramLogin, Some("nanopost_demo")));
    assert!(fake.accounts().iter().any(|f| f.id == a.external_id), "publishing id is the IG user_id");
    let access = h.vault.access(h.ws, a.id, h.now()).await.unwrap();
    assert!(fake.token_is_valid(access.access_token.expose()), "the long-lived token is stored");
    let stored = h.store.connected_account(h.ws, a.id).await.unwrap().unwrap();
    let token = access.access_token.expose().as_bytes();
    assert!(!stored.tokens.access.ciphertext.windows(token.len()).any(|w| w == token), "stored encrypted");
    assert!(a.refresh_due_at.is_some() && a.access_expires_at.is_some());
    // The exact requests of the exchange, in order (no token in any URL of a POST).
    let lines: Vec<String> =
        fake.requests().iter().map(|r| r.line()).map(|l| l.split('?').next().unwrap().to_owned()).collect();
    assert_eq!(lines, ["POST /oauth/access_token", "GET /access_token", "GET /v21.0/me"]);
    let exchange = &fake.requests()[0];
    assert_eq!(exchange.form_param("grant_type").as_deref(), Some("authorization_code"));
    assert_eq!(exchange.form_param("redirect_uri").as_deref(), Some(REDIRECT));
    assert!(!exchange.form_param("code").unwrap().contains('#'));
}

#[tokio::test]
async fn the_wrapped_code_exchange_shape_is_accepted_too() {
    let (fake, h) = setup().await;
    fake.update_settings(|s| s.code_exchange_shape = nanopost_fakes::instagram::CodeExchangeShape::DataArray);
    let accounts = connect(&fake, &h, Flavour::InstagramLogin).await;
    assert_eq!(accounts[0].handle.as_deref(), Some("nanopost_demo"));
}

#[tokio::test]
async fn facebook_login_finds_the_instagram_account_behind_a_page() {
    let (fake, h) = setup().await;
    let accounts = connect(&fake, &h, Flavour::FacebookLogin).await;
    assert_eq!(accounts.len(), 1, "the Page without Instagram is skipped");
    let a = &accounts[0];
    assert_eq!(a.kind, AccountKind::InstagramFacebook);
    assert_eq!(a.details.get("page_name").map(String::as_str), Some("Nanopost Demo Page"));
    assert_eq!(a.refresh_due_at, None, "Page tokens do not expire");
    // It publishes through graph.facebook.com with the Page token.
    let (r, item) = image(1);
    let p = approved(h.ws, h.brand, Network::Instagram, "via the page", vec![r], &[]);
    let (published, _) = publish(&h, a.id, &p, &[item]).await.unwrap();
    assert!(fake.media().iter().any(|m| m.id == published.external_id && m.caption.as_deref() == Some("via the page")));
}

#[tokio::test]
async fn states_are_single_use_bound_to_their_user_and_refusals_are_reported() {
    let (fake, h) = setup().await;
    let url = h.vault.begin(h.ws, h.brand, h.user, Flavour::InstagramLogin, h.now()).await.unwrap();
    let location = fake.consent(&url, Consent::allow()).unwrap();
    let params = callback_params(&location);

    let mut missing = params.clone();
    missing.remove("state");
    assert!(matches!(
        h.vault.complete(h.ws, h.user, &missing, h.now()).await,
        Err(VaultError::State(StateProblem::Missing))
    ));
    let mut unknown = params.clone();
    unknown.insert("state".into(), "forged".into());
    assert!(matches!(
        h.vault.complete(h.ws, h.user, &unknown, h.now()).await,
        Err(VaultError::State(StateProblem::Unknown))
    ));

    // Another user of another workspace presenting it: refused (and the state is spent).
    let (other_user, other_ws) = sign_up(&h.store, "intruder@example.com").await;
    assert!(matches!(
        h.vault.complete(other_ws, other_user, &params, h.now()).await,
        Err(VaultError::State(StateProblem::Foreign))
    ));
    assert!(matches!(
        h.vault.complete(h.ws, h.user, &params, h.now()).await,
        Err(VaultError::State(StateProblem::Reused))
    ));

    // Expired.
    let url = h.vault.begin(h.ws, h.brand, h.user, Flavour::InstagramLogin, h.now()).await.unwrap();
    let params = callback_params(&fake.consent(&url, Consent::allow()).unwrap());
    h.clock.advance(jiff::SignedDuration::from_mins(16));
    assert!(matches!(
        h.vault.complete(h.ws, h.user, &params, h.now()).await,
        Err(VaultError::State(StateProblem::Expired))
    ));

    // The user refuses consent.
    let url = h.vault.begin(h.ws, h.brand, h.user, Flavour::InstagramLogin, h.now()).await.unwrap();
    let params = callback_params(&fake.consent(&url, Consent::deny()).unwrap());
    assert!(matches!(h.vault.complete(h.ws, h.user, &params, h.now()).await, Err(VaultError::Refused(_))));
    assert!(h.store.connected_accounts(h.ws, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn long_lived_tokens_refresh_after_a_day_and_disconnect_deletes_them() {
    let (fake, h) = setup().await;
    let a = connect(&fake, &h, Flavour::InstagramLogin).await.remove(0);
    let old = h.vault.access(h.ws, a.id, h.now()).await.unwrap().access_token;
    // Too young: refused by us (the network requires 24 h), the account stays active.
    let e = h.vault.refresh_account(h.ws, a.id, h.now()).await.unwrap_err();
    assert!(matches!(e, VaultError::Platform(ref p) if p.class == ErrorClass::RetryLater), "{e}");
    h.clock.advance(jiff::SignedDuration::from_hours(25));
    let refreshed = h.vault.refresh_account(h.ws, a.id, h.now()).await.unwrap();
    assert_eq!(refreshed.token_version, a.token_version + 1);
    let new = h.vault.access(h.ws, a.id, h.now()).await.unwrap().access_token;
    assert_ne!(old, new);
    assert!(fake.token_is_valid(new.expose()));
    let refresh_call = fake.requests().into_iter().find(|r| r.path == "/refresh_access_token").unwrap();
    assert_eq!(refresh_call.query_param("grant_type").as_deref(), Some("ig_refresh_token"));

    // A token the network no longer accepts: refresh fails and the account needs reconnecting.
    fake.invalidate_token(new.expose());
    h.clock.advance(jiff::SignedDuration::from_hours(25));
    assert!(h.vault.refresh_account(h.ws, a.id, h.now()).await.unwrap_err().is_reconnect_needed());
    let stored = h.store.connected_account(h.ws, a.id).await.unwrap().unwrap();
    assert_eq!(stored.status, AccountStatus::ReconnectNeeded);

    let (deleted, revocation) = h.vault.disconnect(h.ws, a.id).await.unwrap();
    assert_eq!(deleted.id, a.id);
    assert_eq!(revocation.unwrap(), nanopost_platforms::Revocation::NotOffered);
    assert!(h.store.connected_account(h.ws, a.id).await.unwrap().is_none());
}

#[tokio::test]
async fn publishes_a_single_image_a_carousel_and_a_reel() {
    let (fake, h) = setup().await;
    let a = connect(&fake, &h, Flavour::InstagramLogin).await.remove(0);
    fake.clear_requests();

    let (r, item) = image(1);
    let p = approved(h.ws, h.brand, Network::Instagram, "One loaf #bread", vec![r], &[]);
    let (single, _) = publish(&h, a.id, &p, std::slice::from_ref(&item)).await.unwrap();
    assert!(single.url.as_deref().is_some_and(|u| u.contains("/p/")), "{single:?}");
    // Snapshot of the exact outbound requests (tokens elided).
    let lines: Vec<String> = fake.requests().iter().map(|r| r.line().split('?').next().unwrap().to_owned()).collect();
    let ig = &a.external_id;
    assert_eq!(
        lines,
        [
            format!("GET /v21.0/{ig}/content_publishing_limit"),
            format!("POST /v21.0/{ig}/media"),
            "GET /v21.0/17895695668004551".to_owned().replace("17895695668004551", &fake.containers()[0].id),
            "GET /v21.0/".to_owned() + &fake.containers()[0].id,
            format!("POST /v21.0/{ig}/media_publish"),
            format!("GET /v21.0/{}", single.external_id),
        ]
    );
    let create = &fake.requests()[1];
    assert_eq!(create.form_param("image_url"), Some(item.url.clone()));
    assert_eq!(create.form_param("caption").as_deref(), Some("One loaf #bread"));
    assert!(create.query.as_deref().unwrap_or("").is_empty(), "parameters and token go in the body");

    let (r1, i1) = image(2);
    let (r2, i2) = image(3);
    let (rv, iv) = video();
    let p = approved(h.ws, h.brand, Network::Instagram, "Three things", vec![r1, r2, rv], &[]);
    let (carousel, progress) = publish(&h, a.id, &p, &[i1, i2, iv]).await.unwrap();
    assert_eq!(progress.items.len(), 3, "child container ids are kept as they come back");
    let media = fake.media().into_iter().find(|m| m.id == carousel.external_id).unwrap();
    assert_eq!(media.media_type, "CAROUSEL_ALBUM");
    let children: Vec<_> = fake.containers().into_iter().filter(|c| progress.items.contains(&c.id)).collect();
    assert!(children.iter().all(|c| !c.params.iter().any(|(k, _)| k == "caption")), "no caption on children");

    let (rv, iv) = video();
    let p = approved(h.ws, h.brand, Network::Instagram, "A reel", vec![rv], &[]);
    let (reel, _) = publish(&h, a.id, &p, &[iv]).await.unwrap();
    let media = fake.media().into_iter().find(|m| m.id == reel.external_id).unwrap();
    assert_eq!(media.media_product_type, "REELS");
}

#[tokio::test]
async fn the_live_quota_is_honoured() {
    let (fake, h) = setup().await;
    let a = connect(&fake, &h, Flavour::InstagramLogin).await.remove(0);
    fake.use_quota(&a.external_id, 50);
    let limits = h.vault.limits(h.ws, a.id, h.now()).await.unwrap();
    assert_eq!((limits.remaining, limits.total), (Some(0), Some(50)));
    let (r, item) = image(1);
    let p = approved(h.ws, h.brand, Network::Instagram, "too many", vec![r], &[]);
    let e = h.vault.advance(h.ws, a.id, &p, &[item], &PublishProgress::start(), h.now()).await.unwrap_err();
    assert!(matches!(e, VaultError::Platform(ref p) if matches!(p.class, ErrorClass::BackOffUntil(_))), "{e}");
    assert!(fake.containers().is_empty(), "nothing was created");
}

#[tokio::test]
async fn errors_are_classified_and_a_lost_answer_never_posts_twice() {
    let (fake, h) = setup().await;
    let a = connect(&fake, &h, Flavour::InstagramLogin).await.remove(0);
    let (r, item) = image(1);
    let p = approved(h.ws, h.brand, Network::Instagram, "exactly once", vec![r], &[]);
    let media = [item];

    for (failure, class) in [
        (publishing_error(2207004), "content_rejected"),
        (Failure::RateLimited { retry_after: None }, "back_off"),
        (Failure::ServerError, "retry_later"),
        (Failure::PermissionMissing, "reconnect_needed"),
    ] {
        fake.fail_next(Route::post("**/media"), failure);
        let e = h.vault.advance(h.ws, a.id, &p, &media, &PublishProgress::start(), h.now()).await.unwrap_err();
        let VaultError::Platform(e) = e else { panic!("{e}") };
        assert_eq!(e.class.as_str(), class, "{e}");
    }

    // Walk to the publish call, then lose its answer after the network acted.
    let mut progress = PublishProgress::start();
    while progress.stage != Stage::PublishInFlight {
        progress = h.vault.advance(h.ws, a.id, &p, &media, &progress, h.now()).await.unwrap().progress;
    }
    fake.fail_next(Route::post("**/media_publish"), Failure::DropAfterAction);
    let e = h.vault.advance(h.ws, a.id, &p, &media, &progress, h.now()).await.unwrap_err();
    assert!(matches!(e, VaultError::Platform(ref p) if p.class == ErrorClass::RetryLater), "{e}");
    assert_eq!(fake.media().len(), 1, "the network did publish");
    // Resuming asks first: the container says PUBLISHED, the post is found, nothing is re-sent.
    let resumed = progress.clone().resumed();
    assert!(matches!(h.vault.find_existing(h.ws, a.id, &p, &resumed, h.now()).await.unwrap(), Existence::Exists(_)));
    let step = h.vault.advance(h.ws, a.id, &p, &media, &resumed, h.now()).await.unwrap();
    assert!(matches!(step.next, Next::Done(ref d) if d.external_id == fake.media()[0].id), "{:?}", step.next);
    assert_eq!(fake.media().len(), 1);
    assert_eq!(fake.requests_to(&Route::post("**/media_publish")).len(), 1);
}

#[tokio::test]
async fn a_failed_container_restarts_and_media_must_be_the_approved_ones() {
    let (fake, h) = setup().await;
    let a = connect(&fake, &h, Flavour::InstagramLogin).await.remove(0);
    let (r, item) = image(1);
    let p = approved(h.ws, h.brand, Network::Instagram, "approved", vec![r], &[]);
    // Different bytes than approved: refused before any call.
    let mut swapped = item.clone();
    swapped.bytes = Some(Arc::new(vec![1, 2, 3]));
    let e = h.vault.advance(h.ws, a.id, &p, &[swapped], &PublishProgress::start(), h.now()).await.unwrap_err();
    assert!(matches!(e, VaultError::Platform(ref p) if p.code == "not_approved"));

    fake.fail_next_container("ERROR");
    let mut progress = PublishProgress::start();
    let e = loop {
        match h.vault.advance(h.ws, a.id, &p, std::slice::from_ref(&item), &progress, h.now()).await {
            Ok(step) => progress = step.progress,
            Err(e) => break e,
        }
    };
    let VaultError::Platform(e) = e else { panic!("{e}") };
    assert!(e.restart, "an ERROR container is recreated from scratch");
    let (published, _) = publish(&h, a.id, &p, &[item]).await.unwrap();
    assert!(fake.media().iter().any(|m| m.id == published.external_id));
}

/// The privacy policy's promise: Instagram photo and carousel posts go out only after a person
/// approved exactly them. The adapter takes nothing but an `ApprovedPublication`, which only an
/// approval of the current content yields, and it checks the media bytes against it.
#[tokio::test]
async fn promise_instagram_publishes_photo_and_carousel_posts_only_after_approval() {
    use nanopost_domain::approval::{Channel, approve, authorize_publication};
    use nanopost_domain::ids::UserId;
    use nanopost_domain::post::{Post, PostContent, Target, Variant};
    use nanopost_domain::role::Role;
    let (fake, h) = setup().await;
    let a = connect(&fake, &h, Flavour::InstagramLogin).await.remove(0);
    let (r1, i1) = image(1);
    let (r2, i2) = image(2);
    let content = |caption: &str| PostContent {
        variants: vec![Variant {
            network: Network::Instagram,
            caption: caption.into(),
            media: vec![r1.clone(), r2.clone()],
            options: Default::default(),
        }],
        targets: vec![Target { network: Network::Instagram, account: None }],
    };
    let now = h.now();
    let mut post = Post::new(h.ws, h.brand, UserId::new(), content("Two loaves"), now).unwrap();
    post.submit(now).unwrap();
    // An approval of another post does not cover this one (it has none).
    let mut other = Post::new(h.ws, h.brand, UserId::new(), content("Another"), now).unwrap();
    other.submit(now).unwrap();
    let seen = other.content.digest();
    let other_approval = approve(&mut other, UserId::new(), Role::Reviewer, Channel::Web, &seen, now).unwrap();
    assert!(authorize_publication(&post, &other_approval).is_err(), "unapproved content is never handed out");
    // Nobody without the review right can approve.
    let seen = post.content.digest();
    assert!(approve(&mut post.clone(), UserId::new(), Role::Editor, Channel::Web, &seen, now).is_err());
    let approval = approve(&mut post, UserId::new(), Role::Reviewer, Channel::Web, &seen, now).unwrap();
    let p = authorize_publication(&post, &approval).unwrap();

    // Photos other than the approved ones are refused before anything is created.
    let mut swapped = i1.clone();
    swapped.bytes = Some(Arc::new(vec![1, 2, 3]));
    let e = h.vault.advance(h.ws, a.id, &p, &[swapped, i2.clone()], &PublishProgress::start(), now).await.unwrap_err();
    assert!(matches!(e, VaultError::Platform(ref p) if p.code == "not_approved"), "{e}");
    assert!(fake.media().is_empty() && fake.containers().is_empty(), "nothing reached Instagram");

    // The approved carousel goes out as approved.
    let (carousel, _) = publish(&h, a.id, &p, &[i1, i2]).await.unwrap();
    let media = fake.media().into_iter().find(|m| m.id == carousel.external_id).unwrap();
    assert_eq!(media.media_type, "CAROUSEL_ALBUM");
    assert_eq!(fake.media().len(), 1, "exactly the one approved post");
}

/// Nanopost has no comment inbox yet, so comments are enabled nowhere: neither login asks
/// Instagram for a comment permission, and connecting and publishing never touch comments.
#[tokio::test]
async fn promise_instagram_comments_are_managed_only_where_enabled() {
    let (fake, h) = setup().await;
    for flavour in [Flavour::InstagramLogin, Flavour::FacebookLogin] {
        let url = h.vault.begin(h.ws, h.brand, h.user, flavour, h.now()).await.unwrap();
        let scope = reqwest::Url::parse(&url)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "scope")
            .map(|(_, v)| v.into_owned())
            .expect("the consent URL names its scopes");
        assert!(!scope.is_empty());
        assert!(!scope.contains("comment"), "{flavour:?} asks for {scope}");
    }
    let a = connect(&fake, &h, Flavour::InstagramLogin).await.remove(0);
    let (r, item) = image(1);
    let p = approved(h.ws, h.brand, Network::Instagram, "No comments asked", vec![r], &[]);
    publish(&h, a.id, &p, std::slice::from_ref(&item)).await.unwrap();
    let touched: Vec<String> =
        fake.requests().iter().map(|r| r.line()).filter(|l| l.contains("comment") || l.contains("replies")).collect();
    assert!(touched.is_empty(), "{touched:?}");
}
