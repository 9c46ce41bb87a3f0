//! A brand's connected accounts in the browser, against the LinkedIn and TikTok fakes: Connect
//! buttons to the consent page, the OAuth callbacks (allowed and declined), Disconnect, roles.

use super::Browser;
use crate::support::TestApp;
use axum::http::StatusCode;
use nanopost_domain::clock::Clock;
use nanopost_domain::role::Role;
use nanopost_fakes::{Consent, FakeLinkedIn, FakeTikTok, LinkedInConfig, TikTokConfig};
use nanopost_platforms::vault::Networks;
use nanopost_services::Accounts;
use nanopost_web::{WebConfig, router_with_accounts};
use std::sync::Arc;

pub(super) struct Setup {
    pub(super) app: TestApp,
    pub(super) li: FakeLinkedIn,
    pub(super) tt: FakeTikTok,
    pub(super) accounts: Accounts,
}

/// An app with the LinkedIn and TikTok fakes configured (Instagram is not).
pub(super) async fn setup() -> Setup {
    let mut app = TestApp::new().await;
    let clock: Arc<dyn Clock> = app.clock.clone();
    let li = FakeLinkedIn::start_with(LinkedInConfig::default().with_clock(clock.clone())).await.unwrap();
    let tt = FakeTikTok::start_with(TikTokConfig::default().with_clock(clock)).await.unwrap();
    let networks = Networks {
        linkedin: Some(crate::support::linkedin_on(&li, &app.public_url)),
        tiktok: Some(crate::support::tiktok_on(&tt, &app.public_url)),
        ..Default::default()
    };
    let accounts = crate::support::accounts(&app, networks);
    app.router = router_with_accounts(
        app.services.clone(),
        WebConfig { public_url: app.public_url.clone(), max_body_bytes: 64 * 1024 },
        Some(accounts.clone()),
    );
    Setup { app, li, tt, accounts }
}

/// The path and query of a callback `Location` (the redirect URI is on the public URL).
pub(super) fn local(location: &str) -> String {
    let url = reqwest::Url::parse(location).unwrap();
    format!("{}?{}", url.path(), url.query().unwrap_or(""))
}

#[tokio::test]
async fn an_owner_connects_through_the_consent_page_and_disconnects() {
    let s = setup().await;
    let team = s.app.team("conn").await;
    let owner = team.user(Role::Owner);
    let b = super::brand(&s.app, owner, team.workspace, "Bakery").await;
    let page_path = format!("/w/{}/brands/{}/accounts", team.workspace, b.id);
    let mut br = Browser::signed_in(&s.app, owner).await;

    let page = br.get(&page_path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_html();
    assert!(page.body.contains("No account is connected"));
    assert!(page.body.contains(">Connect LinkedIn</button>") && page.body.contains(">Connect TikTok</button>"));
    assert!(!page.body.contains(">Connect Instagram</button>"), "Instagram is not configured here");
    assert!(page.body.contains("SELF_ONLY") && page.body.contains("until the app is audited"), "the TikTok notice");
    // The page may send its forms to the consent pages, and only there.
    let csp = page.headers.get("content-security-policy").unwrap().to_str().unwrap().to_owned();
    let form_action = csp.split(';').find(|d| d.trim().starts_with("form-action")).unwrap();
    assert!(form_action.contains(&s.li.base_url()) && form_action.contains(&s.tt.base_url()), "{csp}");

    // Connect → the network's consent page → back through the callback.
    let res = br.submit(&format!("{page_path}/connect"), &[("login", "linkedin")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let consent = res.location().unwrap().to_owned();
    assert!(consent.starts_with(&format!("{}/oauth/v2/authorization?", s.li.base_url())), "{consent}");
    let back = s.li.consent(&consent, Consent::allow()).unwrap();
    let res = br.get(&local(&back)).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), Some(format!("{page_path}?msg=accounts_connected").as_str()));
    let page = br.get(&format!("{page_path}?msg=accounts_connected")).await;
    assert!(page.body.contains("Dana Demo") && page.body.contains("Nanopost Demo Co"), "{}", page.body);
    assert!(page.body.contains("Company Page") && page.body.contains("Connected. Nanopost can now post"));
    // The same callback again: refused, nothing added.
    let again = br.get(&local(&back)).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", again.body);
    assert!(again.body.contains("already used"), "{}", again.body);

    // Disconnect one.
    let actor = s.app.actor(owner, team.workspace).await;
    let listed = s.app.services.store().connected_accounts(actor.workspace_id, Some(b.id)).await.unwrap();
    assert_eq!(listed.len(), 2);
    let member = listed.iter().find(|a| a.display_name == "Dana Demo").unwrap();
    assert!(page.body.contains(&format!("{page_path}/{}/disconnect", member.id)));
    let res = br.submit(&format!("{page_path}/{}/disconnect", member.id), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(res.location().unwrap().ends_with("?msg=account_disconnected"), "{:?}", res.location());
    let page = br.get(&page_path).await;
    assert!(!page.body.contains("Dana Demo") && page.body.contains("Nanopost Demo Co"));
    assert!(s.app.services.store().connected_account(actor.workspace_id, member.id).await.unwrap().is_none());
}

#[tokio::test]
async fn declining_at_the_network_says_so_and_connects_nothing() {
    let s = setup().await;
    let team = s.app.team("deny").await;
    let owner = team.user(Role::Owner);
    let b = super::brand(&s.app, owner, team.workspace, "Bakery").await;
    let page_path = format!("/w/{}/brands/{}/accounts", team.workspace, b.id);
    let mut br = Browser::signed_in(&s.app, owner).await;
    for (login, deny) in [("tiktok", "access_denied"), ("linkedin", "user_cancelled_authorize")] {
        let res = br.submit(&format!("{page_path}/connect"), &[("login", login)]).await;
        let consent = res.location().unwrap().to_owned();
        let back = if login == "tiktok" {
            s.tt.consent(&consent, Consent::deny())
        } else {
            s.li.consent(&consent, Consent::deny())
        }
        .unwrap();
        assert!(back.contains(&format!("error={deny}")), "{back}");
        let res = br.get(&local(&back)).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        res.assert_html();
        assert!(
            res.body.contains("Connection cancelled") && res.body.contains("nothing was connected"),
            "{}",
            res.body
        );
    }
    let ws = team.workspace;
    assert!(s.app.services.store().connected_accounts(ws, Some(b.id)).await.unwrap().is_empty());
}

#[tokio::test]
async fn only_owners_and_admins_see_and_use_the_buttons_and_callbacks_are_personal() {
    let s = setup().await;
    let team = s.app.team("roles").await;
    let owner = team.user(Role::Owner);
    let b = super::brand(&s.app, owner, team.workspace, "Bakery").await;
    let page_path = format!("/w/{}/brands/{}/accounts", team.workspace, b.id);
    for role in Role::ALL {
        let mut br = Browser::signed_in(&s.app, team.user(role)).await;
        let page = br.get(&page_path).await;
        assert_eq!(page.status, StatusCode::OK, "{role}");
        let can = matches!(role, Role::Owner | Role::Admin);
        assert_eq!(page.body.contains(">Connect LinkedIn</button>"), can, "{role}");
        let res = br.submit(&format!("{page_path}/connect"), &[("login", "tiktok")]).await;
        assert_eq!(res.status, if can { StatusCode::SEE_OTHER } else { StatusCode::FORBIDDEN }, "{role}: {}", res.body);
    }
    // A callback started by the owner, opened by the admin: refused.
    let mut owner_b = Browser::signed_in(&s.app, owner).await;
    let res = owner_b.submit(&format!("{page_path}/connect"), &[("login", "tiktok")]).await;
    let back = s.tt.consent(res.location().unwrap(), Consent::allow()).unwrap();
    let mut admin_b = Browser::signed_in(&s.app, team.user(Role::Admin)).await;
    let res = admin_b.get(&local(&back)).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    // Not signed in: to the login page, coming back afterwards.
    let mut anon = Browser::new(&s.app);
    let res = anon.get(&local(&back)).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(res.location().unwrap().starts_with("/login"), "{:?}", res.location());
    // An unknown login name is a clear refusal.
    let res = owner_b.submit(&format!("{page_path}/connect"), &[("login", "myspace")]).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
}
