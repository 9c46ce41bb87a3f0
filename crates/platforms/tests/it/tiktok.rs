//! TikTok against the fake: PKCE connect, states, refresh with rotation, disconnect with revoke,
//! photo and video posts, SELF_ONLY while unaudited, error classes, expiry mid-flow, requests.

use crate::support::*;
use nanopost_domain::clock::ManualClock;
use nanopost_domain::network::Network;
use nanopost_fakes::tiktok::{TikTokConfig as FakeConfig, api_error, oauth_error};
use nanopost_fakes::{Consent, Failure, FakeTikTok, Route, demo};
use nanopost_platforms::config::{AppCredentials, PollSettings, TiktokConfig};
use nanopost_platforms::network::{Flavour, SocialNetwork};
use nanopost_platforms::publish::{PublishProgress, Stage};
use nanopost_platforms::tiktok::Tiktok;
use nanopost_platforms::vault::{Networks, StateProblem, VaultError};
use nanopost_platforms::{ErrorClass, Revocation, Secret};
use nanopost_storage::{AccountKind, AccountStatus, ConnectedAccount};
use std::sync::Arc;
use std::time::Duration;

const REDIRECT: &str = "https://nanopost.example/oauth/tiktok/callback";

async fn setup_with(audited: bool) -> (FakeTikTok, Harness) {
    let clock = Arc::new(ManualClock::new(t0()));
    let fake = FakeTikTok::start_with(FakeConfig::default().with_clock(clock.clone())).await.unwrap();
    fake.update_settings(|s| s.audited = audited);
    let mut cfg = TiktokConfig::new(
        AppCredentials {
            client_id: demo::TIKTOK_CLIENT_KEY.into(),
            client_secret: Secret::new(demo::TIKTOK_CLIENT_SECRET),
        },
        REDIRECT,
    );
    cfg.authorize_url = fake.base_url();
    cfg.api_url = fake.base_url();
    cfg.audited = audited;
    cfg.poll = PollSettings { interval: Duration::from_millis(1), max_wait: Duration::from_secs(60) };
    let networks = Networks { tiktok: Some(Tiktok::new(cfg)), ..Default::default() };
    (fake, Harness::new(networks, clock).await)
}

async fn setup() -> (FakeTikTok, Harness) {
    setup_with(false).await
}

fn adapter(h: &Harness) -> &Tiktok {
    h.vault.networks().tiktok.as_ref().unwrap()
}

async fn connect(fake: &FakeTikTok, h: &Harness) -> ConnectedAccount {
    let url = h.vault.begin(h.ws, h.brand, h.user, Flavour::Tiktok, h.now()).await.unwrap();
    let location = fake.consent(&url, Consent::allow()).unwrap();
    let mut accounts = h.vault.complete(h.ws, h.user, &callback_params(&location), h.now()).await.unwrap();
    assert_eq!(accounts.len(), 1);
    accounts.remove(0)
}

#[tokio::test]
async fn connects_with_pkce_and_stores_tokens_encrypted() {
    let (fake, h) = setup().await;
    let url = h.vault.begin(h.ws, h.brand, h.user, Flavour::Tiktok, h.now()).await.unwrap();
    let authorize = reqwest::Url::parse(&url).unwrap();
    let q = |k: &str| authorize.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.into_owned());
    assert_eq!(q("client_key").as_deref(), Some(demo::TIKTOK_CLIENT_KEY));
    assert_eq!(q("scope").as_deref(), Some("user.info.basic,video.publish,video.upload"));
    assert_eq!(q("code_challenge_method").as_deref(), Some("S256"));
    assert!(q("code_challenge").is_some_and(|c| c.len() == 43));
    let location = fake.consent(&url, Consent::allow()).unwrap();
    let a = h.vault.complete(h.ws, h.user, &callback_params(&location), h.now()).await.unwrap().remove(0);

    let (open_id, _) = fake.creators()[0].clone();
    assert_eq!((a.kind, a.external_id.as_str()), (AccountKind::Tiktok, open_id.as_str()));
    assert_eq!(a.display_name, "Nanopost Demo");
    let tokens = h.stored_tokens(a.id).await;
    assert!(fake.token_is_valid(tokens.access.expose()));
    assert!(fake.refresh_token_is_valid(tokens.refresh.as_ref().unwrap().expose()));
    for token in [tokens.access.expose(), tokens.refresh.as_ref().unwrap().expose()] {
        assert!(!h.raw_accounts_contain(token.as_bytes()).await, "no token in the clear");
    }
    assert!(a.refresh_due_at.is_some_and(|d| Some(d) < a.access_expires_at));

    let requests = fake.requests();
    assert_eq!(lines_of(&requests), ["POST /v2/oauth/token/", "GET /v2/user/info/"]);
    let exchange = &requests[0];
    assert_eq!(exchange.form_param("grant_type").as_deref(), Some("authorization_code"));
    assert_eq!(exchange.form_param("client_key").as_deref(), Some(demo::TIKTOK_CLIENT_KEY));
    assert_eq!(exchange.form_param("redirect_uri").as_deref(), Some(REDIRECT));
    assert!(exchange.form_param("code_verifier").is_some(), "PKCE verifier sent");
    assert_eq!(requests[1].query_param("fields").as_deref(), Some("open_id,union_id,avatar_url,display_name"));
}

#[tokio::test]
async fn states_are_refused_and_denied_consent_is_reported() {
    let (fake, h) = setup().await;
    let url = h.vault.begin(h.ws, h.brand, h.user, Flavour::Tiktok, h.now()).await.unwrap();
    let params = callback_params(&fake.consent(&url, Consent::allow()).unwrap());
    let mut missing = params.clone();
    missing.remove("state");
    assert!(matches!(
        h.vault.complete(h.ws, h.user, &missing, h.now()).await,
        Err(VaultError::State(StateProblem::Missing))
    ));
    let (other_user, other_ws) = sign_up(&h.store, "tt-intruder@example.com").await;
    assert!(matches!(
        h.vault.complete(other_ws, other_user, &params, h.now()).await,
        Err(VaultError::State(StateProblem::Foreign))
    ));
    assert!(matches!(
        h.vault.complete(h.ws, h.user, &params, h.now()).await,
        Err(VaultError::State(StateProblem::Reused))
    ));
    let url = h.vault.begin(h.ws, h.brand, h.user, Flavour::Tiktok, h.now()).await.unwrap();
    let params = callback_params(&fake.consent(&url, Consent::allow()).unwrap());
    h.clock.advance(jiff::SignedDuration::from_mins(16));
    assert!(matches!(
        h.vault.complete(h.ws, h.user, &params, h.now()).await,
        Err(VaultError::State(StateProblem::Expired))
    ));

    let url = h.vault.begin(h.ws, h.brand, h.user, Flavour::Tiktok, h.now()).await.unwrap();
    let params = callback_params(&fake.consent(&url, Consent::deny()).unwrap());
    assert_eq!(params.get("error").map(String::as_str), Some("access_denied"));
    assert!(matches!(h.vault.complete(h.ws, h.user, &params, h.now()).await, Err(VaultError::Refused(_))));
    assert!(h.store.connected_accounts(h.ws, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn refresh_rotates_keeps_the_newest_refresh_token_and_never_an_empty_one() {
    let (fake, h) = setup().await;
    let a = connect(&fake, &h).await;
    let first = h.stored_tokens(a.id).await;
    // Two-hour tokens are due half an hour before they expire.
    h.clock.advance(jiff::SignedDuration::from_mins(95));
    let report = h.vault.refresh_due(h.now(), jiff::SignedDuration::ZERO, 10).await.unwrap();
    assert_eq!(report.refreshed, [a.id], "{report:?}");
    let second = h.stored_tokens(a.id).await;
    assert_ne!(second.access, first.access);
    assert_ne!(second.refresh, first.refresh, "rotated");
    assert!(!fake.refresh_token_is_valid(first.refresh.as_ref().unwrap().expose()), "the old one stopped working");
    assert!(fake.refresh_token_is_valid(second.refresh.as_ref().unwrap().expose()));
    let call = fake.requests_to(&Route::post("/v2/oauth/token")).pop().unwrap();
    assert_eq!(call.form_param("grant_type").as_deref(), Some("refresh_token"));
    assert_eq!(call.form_param("refresh_token").as_deref(), first.refresh.as_ref().map(|r| r.expose()));

    // An answer with an empty refresh token never overwrites the stored one.
    fake.fail_next(
        Route::post("/v2/oauth/token"),
        Failure::json(
            200,
            serde_json::json!({"open_id": a.external_id, "scope": "user.info.basic,video.publish,video.upload",
                "access_token": "act.empty-refresh", "expires_in": 7200, "refresh_token": "",
                "refresh_expires_in": 0, "token_type": "Bearer"}),
        ),
    );
    h.vault.refresh_account(h.ws, a.id, h.now()).await.unwrap();
    let third = h.stored_tokens(a.id).await;
    assert_eq!(third.access.expose(), "act.empty-refresh");
    assert_eq!(third.refresh, second.refresh, "the newest refresh token is kept");

    // A refused refresh (invalid_grant) marks the account "reconnect needed".
    fake.fail_next(Route::post("/v2/oauth/token"), oauth_error("invalid_grant", "Refresh token is invalid"));
    let e = h.vault.refresh_account(h.ws, a.id, h.now()).await.unwrap_err();
    assert!(e.is_reconnect_needed(), "{e}");
    let stored = h.store.connected_account(h.ws, a.id).await.unwrap().unwrap();
    assert_eq!(stored.status, AccountStatus::ReconnectNeeded);
    assert_eq!(h.stored_tokens(a.id).await.refresh, second.refresh, "still the newest after the failure");
}

#[tokio::test]
async fn disconnect_deletes_the_tokens_and_revokes_them() {
    let (fake, h) = setup().await;
    let a = connect(&fake, &h).await;
    let tokens = h.stored_tokens(a.id).await;
    let sealed = h.store.connected_account(h.ws, a.id).await.unwrap().unwrap().tokens;
    assert!(h.raw_accounts_contain(&sealed.access.ciphertext).await, "the raw read sees the row");
    let (_, revocation) = h.vault.disconnect(h.ws, a.id).await.unwrap();
    assert_eq!(revocation.unwrap(), Revocation::Revoked);
    for bytes in [&sealed.access.ciphertext, &sealed.refresh.as_ref().unwrap().ciphertext, &sealed.wrapped_key] {
        assert!(!h.raw_accounts_contain(bytes).await, "token bytes are gone from the table");
    }
    assert!(!fake.token_is_valid(tokens.access.expose()));
    assert!(!fake.refresh_token_is_valid(tokens.refresh.as_ref().unwrap().expose()));
    let revoke = fake.requests_to(&Route::post("/v2/oauth/revoke")).pop().unwrap();
    assert_eq!(revoke.form_param("token").as_deref(), Some(tokens.access.expose()));
    assert_eq!(revoke.form_param("client_key").as_deref(), Some(demo::TIKTOK_CLIENT_KEY));
}

#[tokio::test]
async fn promise_tiktok_restricted_visibility_while_unaudited_photo_and_video_posts_are_self_only() {
    let (fake, h) = setup().await;
    let a = connect(&fake, &h).await;
    fake.clear_requests();

    let (r, item) = image(1);
    let p = approved(
        h.ws,
        h.brand,
        Network::Tiktok,
        "One loaf\nfresh today",
        vec![r],
        &[("privacy_level", "PUBLIC_TO_EVERYONE")],
    );
    let (photo, progress) = publish(&h, a.id, &p, std::slice::from_ref(&item)).await.unwrap();
    let publish_id = progress.container.clone().unwrap();
    let post = fake.publishes().into_iter().find(|x| x.publish_id == publish_id).unwrap();
    assert_eq!(post.kind, "DIRECT_PHOTO");
    assert_eq!(post.privacy_level.as_deref(), Some("SELF_ONLY"), "unaudited: private whatever was asked");
    assert_eq!(post.status, "PUBLISH_COMPLETE");
    assert_eq!(photo.external_id, publish_id, "private posts have no public id");
    assert_eq!(photo.url, None);

    let requests = fake.requests();
    assert_eq!(
        lines_of(&requests),
        [
            "POST /v2/post/publish/creator_info/query/",
            "POST /v2/post/publish/content/init/",
            "POST /v2/post/publish/status/fetch/",
            "POST /v2/post/publish/status/fetch/",
        ]
    );
    assert_eq!(
        requests[1].json().unwrap(),
        serde_json::json!({
            "media_type": "PHOTO",
            "post_mode": "DIRECT_POST",
            "post_info": {"title": "One loaf", "description": "One loaf\nfresh today", "privacy_level": "SELF_ONLY",
                "disable_comment": false, "auto_add_music": true},
            "source_info": {"source": "PULL_FROM_URL", "photo_cover_index": 0, "photo_images": [item.url]},
        })
    );
    assert_eq!(requests[2].json().unwrap(), serde_json::json!({"publish_id": publish_id}));
    for r in &requests {
        assert_eq!(r.header("content-type"), Some("application/json; charset=UTF-8"), "{}", r.line());
    }

    // Several photos in one post.
    let (r1, i1) = image(2);
    let (r2, i2) = image(3);
    let p = approved(h.ws, h.brand, Network::Tiktok, "Two photos", vec![r1, r2], &[]);
    let (_, progress) = publish(&h, a.id, &p, &[i1.clone(), i2.clone()]).await.unwrap();
    let post = fake.publishes().into_iter().find(|x| Some(&x.publish_id) == progress.container.as_ref()).unwrap();
    assert_eq!(post.urls, [i1.url, i2.url]);

    // A video.
    let (rv, iv) = video();
    let p = approved(h.ws, h.brand, Network::Tiktok, "A short clip #bread", vec![rv], &[]);
    let (_, progress) = publish(&h, a.id, &p, std::slice::from_ref(&iv)).await.unwrap();
    let post = fake.publishes().into_iter().find(|x| Some(&x.publish_id) == progress.container.as_ref()).unwrap();
    assert_eq!((post.kind.as_str(), post.source.as_str()), ("DIRECT_VIDEO", "PULL_FROM_URL"));
    assert_eq!(post.urls, std::slice::from_ref(&iv.url));
    assert_eq!(post.privacy_level.as_deref(), Some("SELF_ONLY"));
    assert_eq!(post.body["post_info"]["title"], "A short clip #bread");
    assert!(fake.requests_to(&Route::post("/v2/post/publish/video/init")).len() == 1);
}

#[tokio::test]
async fn an_audited_app_posts_with_an_offered_privacy_level_only() {
    let (fake, h) = setup_with(true).await;
    let a = connect(&fake, &h).await;
    let (r, item) = image(1);
    let p =
        approved(h.ws, h.brand, Network::Tiktok, "public", vec![r.clone()], &[("privacy_level", "PUBLIC_TO_EVERYONE")]);
    let (published, progress) = publish(&h, a.id, &p, std::slice::from_ref(&item)).await.unwrap();
    let post = fake.publishes().into_iter().find(|x| Some(&x.publish_id) == progress.container.as_ref()).unwrap();
    assert_eq!(post.privacy_level.as_deref(), Some("PUBLIC_TO_EVERYONE"));
    // The share link, on the web host the app is configured with (the fake's here and in the demo).
    let share = format!("{}/@", fake.base_url());
    assert!(published.url.as_deref().is_some_and(|u| u.starts_with(&share) && u.contains("/video/")), "{published:?}");

    // The creator no longer offers it: refused before anything is created.
    fake.update_creator(&a.external_id, |c| c.privacy_level_options = vec!["SELF_ONLY".into()]);
    let before = fake.publishes().len();
    let p =
        approved(h.ws, h.brand, Network::Tiktok, "public again", vec![r], &[("privacy_level", "PUBLIC_TO_EVERYONE")]);
    let e = h.vault.advance(h.ws, a.id, &p, &[item], &PublishProgress::start(), h.now()).await.unwrap_err();
    assert!(matches!(e, VaultError::Platform(ref p) if p.code == "privacy_level_option_mismatch"), "{e}");
    assert_eq!(fake.publishes().len(), before);
}

#[tokio::test]
async fn every_error_class_comes_back_from_the_fake() {
    let (fake, h) = setup().await;
    let a = connect(&fake, &h).await;
    let (r, item) = image(1);
    let p = approved(h.ws, h.brand, Network::Tiktok, "classified", vec![r], &[]);
    let media = [item];
    let access = h.vault.access(h.ws, a.id, h.now()).await.unwrap();
    let in_flight =
        adapter(&h).advance(&access, &p, &media, &PublishProgress::start(), h.now()).await.unwrap().progress;
    assert_eq!(in_flight.stage, Stage::PublishInFlight);
    for (failure, class) in [
        (Failure::RateLimited { retry_after: Some(30) }, "back_off"),
        (Failure::QuotaExhausted, "back_off"),
        (api_error("reached_active_user_cap"), "back_off"),
        (api_error("spam_risk_too_many_pending_share"), "back_off"),
        (Failure::ServerError, "retry_later"),
        (Failure::TokenExpired, "reconnect_needed"),
        (Failure::PermissionMissing, "reconnect_needed"),
        (Failure::ContentRejected, "content_rejected"),
        (api_error("unaudited_client_can_only_post_to_private_accounts"), "content_rejected"),
        (api_error("url_ownership_unverified"), "content_rejected"),
        (api_error("invalid_params"), "content_rejected"),
    ] {
        fake.fail_next(Route::post("/v2/post/publish/content/init"), failure.clone());
        let e = adapter(&h).advance(&access, &p, &media, &in_flight, h.now()).await.unwrap_err();
        assert_eq!(e.class.as_str(), class, "{failure:?}: {e}");
    }
    assert!(fake.publishes().is_empty());

    // A failed publish (fail_reason) is classified and restarts from scratch.
    fake.fail_next_publish("file_format_check_failed");
    let mut progress = in_flight.clone();
    let e = loop {
        match adapter(&h).advance(&access, &p, &media, &progress, h.now()).await {
            Ok(step) => progress = step.progress,
            Err(e) => break e,
        }
    };
    assert_eq!((e.class, e.restart), (ErrorClass::ContentRejected, true), "{e}");
}

#[tokio::test]
async fn a_token_expiring_mid_flow_is_refreshed_once_and_publishing_continues() {
    let (fake, h) = setup().await;
    let a = connect(&fake, &h).await;
    let before = h.stored_tokens(a.id).await;
    let (r, item) = image(1);
    let p = approved(h.ws, h.brand, Network::Tiktok, "after a refresh", vec![r], &[]);
    fake.fail_next(Route::post("/v2/post/publish/creator_info/query"), Failure::TokenExpired);
    publish(&h, a.id, &p, &[item]).await.unwrap();
    let after = h.stored_tokens(a.id).await;
    assert_ne!(after.refresh, before.refresh, "refreshed with rotation; the new refresh token is stored");
    assert!(fake.refresh_token_is_valid(after.refresh.as_ref().unwrap().expose()));
    assert_eq!(fake.requests_to(&Route::post("/v2/oauth/token")).len(), 2, "exchange + one refresh");
    assert_eq!(fake.publishes().len(), 1);
}

#[tokio::test]
async fn the_daily_post_cap_backs_off_for_a_day() {
    let (fake, h) = setup().await;
    let a = connect(&fake, &h).await;
    fake.update_settings(|s| s.daily_post_cap = Some(1));
    let (r, item) = image(1);
    let p = approved(h.ws, h.brand, Network::Tiktok, "first", vec![r], &[]);
    publish(&h, a.id, &p, std::slice::from_ref(&item)).await.unwrap();
    let (r, item) = image(2);
    let p = approved(h.ws, h.brand, Network::Tiktok, "second", vec![r], &[]);
    let e = publish(&h, a.id, &p, &[item]).await.unwrap_err();
    let VaultError::Platform(e) = e else { panic!("{e}") };
    assert_eq!(e.code, "spam_risk_too_many_posts");
    assert!(
        matches!(e.class, ErrorClass::BackOffUntil(t) if t >= h.now() + jiff::SignedDuration::from_hours(23)),
        "{e}"
    );
    assert_eq!(fake.publishes().len(), 1);
}
