//! LinkedIn against the fake: member and Company Pages, states, refresh, disconnect, publishing,
//! little-text commentary, error classes, expiry mid-flow, exact requests.

use crate::support::*;
use nanopost_domain::clock::ManualClock;
use nanopost_domain::network::Network;
use nanopost_fakes::linkedin::{LinkedInConfig as FakeConfig, rest_error};
use nanopost_fakes::little_text::Segment;
use nanopost_fakes::{Consent, Failure, FakeLinkedIn, Route, demo};
use nanopost_platforms::config::{AppCredentials, LinkedinConfig, PollSettings};
use nanopost_platforms::linkedin::Linkedin;
use nanopost_platforms::network::{Flavour, SocialNetwork};
use nanopost_platforms::publish::{Next, PublishProgress, Stage};
use nanopost_platforms::vault::{Networks, StateProblem, VaultError};
use nanopost_platforms::{ErrorClass, Revocation, Secret};
use nanopost_storage::{AccountKind, AccountStatus, ConnectedAccount};
use std::sync::Arc;
use std::time::Duration;

const REDIRECT: &str = "https://nanopost.example/oauth/linkedin/callback";

async fn setup() -> (FakeLinkedIn, Harness) {
    setup_with(|_, _| {}).await
}

/// [`setup`] with the adapter's configuration adjusted (the fake's address given).
async fn setup_with(adjust: impl FnOnce(&mut LinkedinConfig, &str)) -> (FakeLinkedIn, Harness) {
    let clock = Arc::new(ManualClock::new(t0()));
    let fake = FakeLinkedIn::start_with(FakeConfig::default().with_clock(clock.clone())).await.unwrap();
    let mut cfg = LinkedinConfig::new(
        AppCredentials {
            client_id: demo::LINKEDIN_CLIENT_ID.into(),
            client_secret: Secret::new(demo::LINKEDIN_CLIENT_SECRET),
        },
        REDIRECT,
    );
    cfg.oauth_url = fake.base_url();
    cfg.api_url = fake.base_url();
    cfg.poll = PollSettings { interval: Duration::from_millis(1), max_wait: Duration::from_secs(60) };
    adjust(&mut cfg, &fake.base_url());
    let networks = Networks { linkedin: Some(Linkedin::new(cfg)), ..Default::default() };
    (fake, Harness::new(networks, clock).await)
}

fn adapter(h: &Harness) -> &Linkedin {
    h.vault.networks().linkedin.as_ref().unwrap()
}

async fn connect_with(fake: &FakeLinkedIn, h: &Harness, consent: Consent) -> Vec<ConnectedAccount> {
    let url = h.vault.begin(h.ws, h.brand, h.user, Flavour::Linkedin, h.now()).await.unwrap();
    let location = fake.consent(&url, consent).unwrap();
    h.vault.complete(h.ws, h.user, &callback_params(&location), h.now()).await.unwrap()
}

/// Connects and returns (member, Company Page).
async fn connect(fake: &FakeLinkedIn, h: &Harness) -> (ConnectedAccount, ConnectedAccount) {
    let mut accounts = connect_with(fake, h, Consent::allow()).await;
    assert_eq!(accounts.len(), 2, "{accounts:?}");
    let org = accounts.remove(1);
    (accounts.remove(0), org)
}

#[tokio::test]
async fn connects_the_member_and_the_pages_they_administer_with_tokens_encrypted() {
    let (fake, h) = setup().await;
    let (member, org) = connect(&fake, &h).await;
    let dana = &fake.members()[0];
    assert_eq!((member.kind, member.external_id.as_str()), (AccountKind::LinkedinMember, dana.urn.as_str()));
    assert_eq!(member.display_name, "Dana Demo");
    // Only the APPROVED administrator role counts: the analyst and the pending org are skipped.
    let demo_co = fake.organizations().into_iter().find(|o| o.name == "Nanopost Demo Co").unwrap();
    assert_eq!((org.kind, org.external_id.as_str()), (AccountKind::LinkedinOrganization, demo_co.urn.as_str()));
    assert_eq!(org.display_name, "Nanopost Demo Co");
    assert_eq!(org.handle.as_deref(), Some("nanopost-demo-co"));
    assert_eq!(org.details.get("role").map(String::as_str), Some("ADMINISTRATOR"));
    assert_eq!(member.grant_id, org.grant_id, "one consent, one grant");

    let tokens = h.stored_tokens(member.id).await;
    assert!(fake.token_is_valid(tokens.access.expose()));
    assert!(fake.refresh_token_is_valid(tokens.refresh.as_ref().unwrap().expose()));
    for a in [&member, &org] {
        let stored = h.store.connected_account(h.ws, a.id).await.unwrap().unwrap();
        for token in [tokens.access.expose(), tokens.refresh.as_ref().unwrap().expose()] {
            assert!(!h.raw_accounts_contain(token.as_bytes()).await, "no token in the clear");
            assert!(!stored.tokens.access.ciphertext.windows(token.len()).any(|w| w == token.as_bytes()));
        }
        assert!(a.refresh_due_at.is_some_and(|d| Some(d) < a.access_expires_at));
    }

    // The exact requests of the exchange and the discovery.
    let requests = fake.requests();
    assert_eq!(lines_of(&requests), ["POST /oauth/v2/accessToken", "GET /v2/userinfo", "GET /rest/organizationAcls"]);
    let exchange = &requests[0];
    assert_eq!(exchange.form_param("grant_type").as_deref(), Some("authorization_code"));
    assert_eq!(exchange.form_param("redirect_uri").as_deref(), Some(REDIRECT));
    assert_eq!(exchange.form_param("client_id").as_deref(), Some(demo::LINKEDIN_CLIENT_ID));
    let acls = &requests[2];
    assert_eq!(acls.query_param("q").as_deref(), Some("roleAssignee"));
    assert_eq!(acls.query_param("state").as_deref(), Some("APPROVED"));
    assert_eq!(acls.header("linkedin-version"), Some("202601"));
    assert_eq!(acls.header("x-restli-protocol-version"), Some("2.0.0"));
    assert!(acls.header("authorization").is_some_and(|v| v.starts_with("Bearer ")));
}

#[tokio::test]
async fn without_organization_scopes_only_the_member_is_connected() {
    let (fake, h) = setup().await;
    let accounts = connect_with(&fake, &h, Consent::allow().granting(&["openid", "profile", "w_member_social"])).await;
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].kind, AccountKind::LinkedinMember);
}

#[tokio::test]
async fn states_are_refused_and_cancelled_consent_is_reported() {
    let (fake, h) = setup().await;
    let url = h.vault.begin(h.ws, h.brand, h.user, Flavour::Linkedin, h.now()).await.unwrap();
    let params = callback_params(&fake.consent(&url, Consent::allow()).unwrap());
    let mut missing = params.clone();
    missing.remove("state");
    assert!(matches!(
        h.vault.complete(h.ws, h.user, &missing, h.now()).await,
        Err(VaultError::State(StateProblem::Missing))
    ));
    let mut forged = params.clone();
    forged.insert("state".into(), "forged".into());
    assert!(matches!(
        h.vault.complete(h.ws, h.user, &forged, h.now()).await,
        Err(VaultError::State(StateProblem::Unknown))
    ));
    let (other_user, other_ws) = sign_up(&h.store, "li-intruder@example.com").await;
    assert!(matches!(
        h.vault.complete(other_ws, other_user, &params, h.now()).await,
        Err(VaultError::State(StateProblem::Foreign))
    ));
    assert!(matches!(
        h.vault.complete(h.ws, h.user, &params, h.now()).await,
        Err(VaultError::State(StateProblem::Reused))
    ));

    // LinkedIn's refusal: error=user_cancelled_authorize.
    let url = h.vault.begin(h.ws, h.brand, h.user, Flavour::Linkedin, h.now()).await.unwrap();
    let params = callback_params(&fake.consent(&url, Consent::deny()).unwrap());
    assert_eq!(params.get("error").map(String::as_str), Some("user_cancelled_authorize"));
    assert!(matches!(h.vault.complete(h.ws, h.user, &params, h.now()).await, Err(VaultError::Refused(_))));
    assert!(h.store.connected_accounts(h.ws, None).await.unwrap().is_empty());
    assert!(fake.requests_to(&Route::post("/oauth/v2/accessToken")).is_empty(), "no code was ever exchanged");
}

#[tokio::test]
async fn the_refresh_job_renews_ahead_of_expiry_and_a_refused_refresh_needs_reconnecting() {
    let (fake, h) = setup().await;
    let (member, org) = connect(&fake, &h).await;
    let before = h.stored_tokens(member.id).await;
    // Not due yet.
    let report = h.vault.refresh_due(h.now(), jiff::SignedDuration::from_hours(1), 10).await.unwrap();
    assert!(report.refreshed.is_empty());
    // 60-day tokens are due a week before they expire.
    h.clock.advance(jiff::SignedDuration::from_hours(24 * 54));
    let report = h.vault.refresh_due(h.now(), jiff::SignedDuration::from_hours(1), 10).await.unwrap();
    assert_eq!(report.refreshed.len(), 2, "{report:?}");
    let after = h.stored_tokens(member.id).await;
    assert_ne!(after.access, before.access);
    assert!(fake.token_is_valid(after.access.expose()));
    assert_eq!(after.refresh, before.refresh, "LinkedIn keeps the same refresh token");
    let refreshed = h.store.connected_account(h.ws, member.id).await.unwrap().unwrap();
    assert_eq!(refreshed.refresh_expires_at, member.refresh_expires_at, "its clock is not reset");
    assert_eq!(refreshed.token_version, member.token_version + 1);
    let calls = fake.requests_to(&Route::post("/oauth/v2/accessToken"));
    assert_eq!(calls.last().unwrap().form_param("grant_type").as_deref(), Some("refresh_token"));

    // The member revoked the app at LinkedIn: the refresh is refused, the account needs reconnecting.
    let revoke = reqwest::Client::new()
        .post(format!("{}/oauth/v2/revoke", fake.base_url()))
        .form(&[
            ("client_id", demo::LINKEDIN_CLIENT_ID),
            ("client_secret", demo::LINKEDIN_CLIENT_SECRET),
            ("token", after.access.expose()),
        ])
        .send()
        .await
        .unwrap();
    assert!(revoke.status().is_success());
    let e = h.vault.refresh_account(h.ws, org.id, h.now()).await.unwrap_err();
    assert!(e.is_reconnect_needed(), "{e}");
    let stored = h.store.connected_account(h.ws, org.id).await.unwrap().unwrap();
    assert_eq!(stored.status, AccountStatus::ReconnectNeeded);
    assert!(matches!(h.vault.access(h.ws, org.id, h.now()).await, Err(ref e) if e.is_reconnect_needed()));
}

#[tokio::test]
async fn disconnect_deletes_the_tokens_from_the_table_at_once() {
    let (fake, h) = setup().await;
    let (member, org) = connect(&fake, &h).await;
    let tokens = h.stored_tokens(member.id).await;
    let sealed = h.store.connected_account(h.ws, member.id).await.unwrap().unwrap().tokens;
    assert!(h.raw_accounts_contain(&sealed.access.ciphertext).await, "the raw read sees the row");

    // The Page still uses the same grant: the token is not revoked under it.
    let (deleted, revocation) = h.vault.disconnect(h.ws, member.id).await.unwrap();
    assert_eq!(deleted.id, member.id);
    assert_eq!(revocation.unwrap(), Revocation::NotOffered);
    assert!(!h.raw_accounts_contain(&sealed.access.ciphertext).await, "token bytes are gone from the table");
    assert!(!h.raw_accounts_contain(&sealed.wrapped_key).await);
    assert!(fake.token_is_valid(tokens.access.expose()), "the Page keeps working");

    let (_, revocation) = h.vault.disconnect(h.ws, org.id).await.unwrap();
    assert!(revocation.is_ok());
    assert!(h.store.connected_accounts(h.ws, None).await.unwrap().is_empty());
    assert!(!h.raw_accounts_contain(tokens.access.expose().as_bytes()).await);
}

#[tokio::test]
async fn publishes_a_single_image_and_multi_image_with_exact_requests() {
    let (fake, h) = setup().await;
    let (member, org) = connect(&fake, &h).await;
    fake.clear_requests();

    let (r, item) = image(1);
    let p = approved(h.ws, h.brand, Network::Linkedin, "Fresh bread today", vec![r], &[("alt_text", "A loaf")]);
    let (single, _) = publish(&h, member.id, &p, std::slice::from_ref(&item)).await.unwrap();
    let post = fake.posts().into_iter().find(|x| x.urn == single.external_id).unwrap();
    assert_eq!(post.author, member.external_id);
    assert_eq!(post.images.len(), 1);
    assert_eq!(single.url.as_deref(), Some(format!("https://www.linkedin.com/feed/update/{}", post.urn).as_str()));
    let uploaded = fake.images().remove(0);
    assert_eq!(uploaded.bytes.as_deref(), item.bytes.as_deref().map(Vec::as_slice), "the approved bytes");

    // Snapshot of the exact outbound requests.
    let requests = fake.requests();
    let upload_path = lines_of(&requests)[1].clone();
    assert!(upload_path.starts_with("PUT /"), "{upload_path}");
    assert_eq!(
        lines_of(&requests),
        [
            "POST /rest/images".to_owned(),
            upload_path,
            format!("GET /rest/images/{}", nanopost_platforms::linkedin::encode_urn(&uploaded.urn)),
            "POST /rest/posts".to_owned(),
        ]
    );
    assert_eq!(requests[0].query_param("action").as_deref(), Some("initializeUpload"));
    assert_eq!(
        requests[0].json().unwrap(),
        serde_json::json!({"initializeUploadRequest": {"owner": member.external_id}})
    );
    assert_eq!(requests[1].header("content-type"), Some("image/jpeg"));
    let body = requests[3].json().unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "author": member.external_id,
            "commentary": "Fresh bread today",
            "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": false,
            "content": {"media": {"id": uploaded.urn, "altText": "A loaf"}},
        })
    );
    for r in requests.iter().filter(|r| r.path.starts_with("/rest/")) {
        assert_eq!(r.header("linkedin-version"), Some("202601"), "{}", r.line());
    }

    // Three images as the Company Page: multiImage, each image owned by the Page.
    let (r1, i1) = image(2);
    let (r2, i2) = image(3);
    let (r3, i3) = image(4);
    let p = approved(h.ws, h.brand, Network::Linkedin, "Three loaves", vec![r1, r2, r3], &[]);
    let (multi, progress) = publish(&h, org.id, &p, &[i1, i2, i3]).await.unwrap();
    assert_eq!(progress.items.len(), 3, "image URNs are kept as they come back");
    let post = fake.posts().into_iter().find(|x| x.urn == multi.external_id).unwrap();
    assert_eq!(post.author, org.external_id);
    assert_eq!(post.images, progress.items);
    assert_eq!(post.body["content"]["multiImage"]["images"].as_array().unwrap().len(), 3);
    assert!(fake.images().iter().filter(|i| progress.items.contains(&i.urn)).all(|i| i.owner == org.external_id));

    // Video is not offered on LinkedIn yet: refused before any call.
    let before = fake.requests().len();
    let (rv, iv) = video();
    let p = approved(h.ws, h.brand, Network::Linkedin, "A clip", vec![rv], &[]);
    let e = h.vault.advance(h.ws, member.id, &p, &[iv], &PublishProgress::start(), h.now()).await.unwrap_err();
    assert!(matches!(e, VaultError::Platform(ref p) if p.class == ErrorClass::ContentRejected), "{e}");
    assert_eq!(fake.requests().len(), before);
}

#[tokio::test]
async fn the_permalink_is_on_the_configured_web_host_and_the_fake_shows_the_post_there() {
    let (fake, h) = setup_with(|cfg, base| cfg.web_url = format!("{base}/")).await;
    let (member, _) = connect(&fake, &h).await;
    let p = approved(h.ws, h.brand, Network::Linkedin, "Rye & <spelt> today", vec![], &[]);
    let (published, _) = publish(&h, member.id, &p, &[]).await.unwrap();
    let url = published.url.expect("a permalink");
    // One slash between the host and the path, whatever the configuration ends with.
    assert_eq!(url, format!("{}/feed/update/{}", fake.base_url(), published.external_id));
    let http = reqwest::Client::new();
    let page = http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Rye &amp; &lt;spelt&gt; today"), "the post, escaped");
    let unknown = http.get(format!("{}/feed/update/urn:li:share:0", fake.base_url())).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn commentary_with_every_reserved_character_reads_back_as_written() {
    let (fake, h) = setup().await;
    let (member, org) = connect(&fake, &h).await;
    let caption = "All of them: \\ | { } @ [ ] ( ) < > # * _ ~ and (a) [b] {c} <d> *e* _f_ ~g~ #bread @you \\n";
    let mention = format!("Thanks @[Nanopost Demo Co]({}) for the (fresh) bread!", org.external_id);
    for text in [caption.to_owned(), mention] {
        let p = approved(h.ws, h.brand, Network::Linkedin, &text, vec![], &[]);
        let (published, _) = publish(&h, member.id, &p, &[]).await.unwrap();
        let post = fake.posts().into_iter().find(|x| x.urn == published.external_id).unwrap();
        let template = format!("@[Nanopost Demo Co]({})", org.external_id);
        assert_eq!(post.text.plain_text(), text.replace(&template, "Nanopost Demo Co"), "{}", post.commentary);
        assert_eq!(post.commentary, nanopost_platforms::little_text::escape_commentary(&text));
    }
    let posts = fake.posts();
    // Every reserved character arrived escaped: the whole caption is text, nothing was cut.
    assert!(posts[0].text.segments.iter().all(|s| matches!(s, Segment::Text(_))), "{:?}", posts[0].text);
    // The mention template stays markup.
    assert!(
        posts[1].text.segments.iter().any(
            |s| matches!(s, Segment::Mention { name, urn } if name == "Nanopost Demo Co" && *urn == org.external_id)
        ),
        "{:?}",
        posts[1].text
    );
}

#[tokio::test]
async fn every_error_class_comes_back_from_the_fake() {
    let (fake, h) = setup().await;
    let (member, _) = connect(&fake, &h).await;
    let p = approved(h.ws, h.brand, Network::Linkedin, "classified", vec![], &[]);
    let access = h.vault.access(h.ws, member.id, h.now()).await.unwrap();
    let mut in_flight = PublishProgress::start();
    while in_flight.stage != Stage::PublishInFlight {
        in_flight = adapter(&h).advance(&access, &p, &[], &in_flight, h.now()).await.unwrap().progress;
    }
    for (failure, class) in [
        (Failure::RateLimited { retry_after: None }, "back_off"),
        (Failure::QuotaExhausted, "back_off"),
        (Failure::ServerError, "retry_later"),
        (Failure::TokenExpired, "reconnect_needed"),
        (Failure::TokenRevoked, "reconnect_needed"),
        (Failure::TokenInvalid, "reconnect_needed"),
        (Failure::PermissionMissing, "reconnect_needed"),
        (Failure::ContentRejected, "content_rejected"),
        (rest_error(422, "DUPLICATE_POST", "Content is a duplicate of urn:li:share:1"), "content_rejected"),
        (rest_error(404, "NOT_FOUND", "Not found"), "unknown"),
    ] {
        fake.fail_next(Route::post("/rest/posts"), failure.clone());
        let e = adapter(&h).advance(&access, &p, &[], &in_flight, h.now()).await.unwrap_err();
        assert_eq!(e.class.as_str(), class, "{failure:?}: {e}");
    }
    assert!(fake.posts().is_empty());
    // A lost connection is transient.
    fake.fail_next(Route::post("/rest/posts"), Failure::DropBeforeAction);
    let e = adapter(&h).advance(&access, &p, &[], &in_flight, h.now()).await.unwrap_err();
    assert_eq!(e.class, ErrorClass::RetryLater, "{e}");
}

#[tokio::test]
async fn a_token_expiring_mid_flow_is_refreshed_once_and_publishing_continues() {
    let (fake, h) = setup().await;
    let (member, _) = connect(&fake, &h).await;
    let before = h.stored_tokens(member.id).await;
    let (r, item) = image(1);
    let p = approved(h.ws, h.brand, Network::Linkedin, "after a refresh", vec![r], &[]);
    fake.fail_next(Route::post("/rest/images"), Failure::TokenExpired);
    let (published, _) = publish(&h, member.id, &p, &[item]).await.unwrap();
    assert!(fake.posts().iter().any(|x| x.urn == published.external_id));
    assert_ne!(h.stored_tokens(member.id).await.access, before.access, "refreshed");
    assert_eq!(fake.requests_to(&Route::post("/oauth/v2/accessToken")).len(), 2, "exchange + one refresh");
    assert_eq!(fake.images().len(), 1, "nothing uploaded twice");

    // Refused again right after refreshing: reported, not looped.
    fake.fail_times(Route::post("/rest/images"), Failure::TokenRevoked, 2);
    let (r, item) = image(2);
    let p = approved(h.ws, h.brand, Network::Linkedin, "refused", vec![r], &[]);
    let mut progress = PublishProgress::start();
    let e = loop {
        match h.vault.advance(h.ws, member.id, &p, std::slice::from_ref(&item), &progress, h.now()).await {
            Ok(step) => {
                assert!(!matches!(step.next, Next::Done(_)));
                progress = step.progress;
            }
            Err(e) => break e,
        }
    };
    assert!(e.is_reconnect_needed(), "{e}");
    assert_eq!(fake.requests_to(&Route::post("/oauth/v2/accessToken")).len(), 3, "one refresh per refusal");
}

#[tokio::test]
async fn the_member_day_limit_backs_off_until_tomorrow() {
    let (fake, h) = setup().await;
    let (member, _) = connect(&fake, &h).await;
    let limits = h.vault.limits(h.ws, member.id, h.now()).await.unwrap();
    assert_eq!(limits.remaining, None, "LinkedIn does not publish its limits");
    fake.update_settings(|s| s.daily_member_call_limit = Some(0));
    let p = approved(h.ws, h.brand, Network::Linkedin, "one too many", vec![], &[]);
    let e = publish(&h, member.id, &p, &[]).await.unwrap_err();
    let VaultError::Platform(e) = e else { panic!("{e}") };
    let ErrorClass::BackOffUntil(until) = e.class else { panic!("{e}") };
    assert!(until > h.now(), "{until}");
    assert!(fake.posts().is_empty());
}
