//! The privacy centre in the browser: cookies, policy pages, sub-processors, unsubscribe,
//! export download, account and workspace deletion, the audit log.

use super::{Browser, brand, draft};
use crate::support::{PASSWORD, TestApp};
use axum::http::{StatusCode, header};
use nanopost_domain::role::Role;
use nanopost_services::privacy::{PRIVACY_POLICY_DATE, PRIVACY_POLICY_VERSION, TERMS_VERSION, tar};

/// Every cookie the app may set without asking. Anything else needs consent first.
const ESSENTIAL: [&str; 3] = ["np_session", "np_csrf", "np_consent"];

fn cookie_names(page: &super::Page) -> Vec<String> {
    page.set_cookies().iter().map(|c| c.split('=').next().unwrap_or("").to_owned()).collect()
}

#[tokio::test]
async fn promise_cookies_consent_before_optional_only_essential_cookies_and_a_banner() {
    let app = TestApp::new().await;
    let team = app.team("cookies").await;
    let owner = team.user(Role::Owner);
    let b = brand(&app, owner, team.workspace, "Acme").await;
    let p = draft(&app, owner, team.workspace, b.id, "hi").await;
    let w = format!("/w/{}", team.workspace);
    let public =
        ["/login", "/signup", "/forgot-password", "/privacy", "/terms", "/privacy/sub-processors", "/privacy/cookies"];
    let private = [
        w.clone(),
        format!("{w}/posts"),
        format!("{w}/posts/{}", p.id),
        format!("{w}/brands"),
        format!("{w}/members"),
        format!("{w}/audit"),
        format!("{w}/privacy"),
        "/privacy/me".to_owned(),
    ];
    let mut anon = Browser::new(&app);
    let mut signed = Browser::signed_in(&app, owner).await;
    let mut seen = Vec::new();
    for path in public {
        let page = anon.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(page.body.contains("Cookie settings"), "{path}: no cookie banner");
        seen.extend(cookie_names(&page));
    }
    for path in &private {
        let page = signed.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        assert!(page.body.contains("Optional cookies are never set without your consent"), "{path}: no banner");
        seen.extend(cookie_names(&page));
    }
    // Signing in sets the session cookie: essential.
    let mut fresh = Browser::new(&app);
    fresh.get("/login").await;
    let login =
        fresh.submit_public("/login", &[("email", owner.email.as_str()), ("password", PASSWORD), ("next", "/")]).await;
    seen.extend(cookie_names(&login));
    assert!(seen.iter().all(|c| ESSENTIAL.contains(&c.as_str())), "a non-essential cookie before consent: {seen:?}");
    assert!(!seen.iter().any(|c| c == "np_consent"), "the choice cookie appears only once a choice is made");

    // Making the choice records it (time, policy version, source) and remembers it.
    let page = signed.get("/privacy/cookies").await;
    assert!(page.body.contains("You have not chosen yet"));
    let csrf = signed.cookie("np_csrf").unwrap().to_owned();
    let saved = signed.post("/privacy/cookies", &[("csrf", &csrf), ("choice", "deny")]).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert!(saved.set_cookie("np_consent").unwrap().contains(".deny."));
    assert!(signed.get("/privacy/cookies").await.body.contains("You refused optional cookies."));
    let records = app.services.consents_of(owner).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].purpose, "cookies_optional");
    assert!(!records[0].granted);
    assert_eq!(records[0].policy_version, PRIVACY_POLICY_VERSION);
    assert_eq!(records[0].source, "cookie_banner");
    // Withdrawal is a new record too.
    signed.post("/privacy/cookies", &[("csrf", &csrf), ("choice", "allow")]).await;
    signed.post("/privacy/cookies", &[("csrf", &csrf), ("choice", "deny")]).await;
    let records = app.services.consents_of(owner).await.unwrap();
    assert_eq!(records.iter().map(|r| r.granted).collect::<Vec<_>>(), vec![false, true, false]);
}

#[tokio::test]
async fn the_policy_and_terms_are_served_with_their_version_and_date() {
    let app = TestApp::new().await;
    let mut b = Browser::new(&app);
    let policy = b.get("/privacy").await;
    assert_eq!(policy.status, StatusCode::OK);
    assert!(policy.body.contains(PRIVACY_POLICY_VERSION) && policy.body.contains(PRIVACY_POLICY_DATE));
    for class in ["account", "brand_content", "collected_public_posts", "audience_commenter", "logs"] {
        assert!(policy.body.contains(class), "no retention rule shown for {class}");
    }
    let terms = b.get("/terms").await;
    assert!(terms.body.contains(TERMS_VERSION) && terms.body.contains("18 or older"));
}

#[tokio::test]
async fn promise_sub_processors_listed_from_this_installations_configuration() {
    let app = TestApp::new().await;
    let page = Browser::new(&app).get("/privacy/sub-processors").await;
    assert_eq!(page.status, StatusCode::OK);
    // The test app runs on the embedded database and has no external integration enabled.
    assert!(app.services.sub_processors().is_empty());
    assert!(page.body.contains("id=\"no-sub-processors\""), "{}", page.body);
}

#[tokio::test]
async fn promise_marketing_only_with_consent_unsubscribe_link_works_without_signing_in() {
    let app = TestApp::new().await;
    let (user, _) = app.user("reader@example.com").await;
    let mut b = Browser::signed_in(&app, &user).await;
    let res = b.submit("/privacy/me/marketing", &[("marketing", "yes")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(app.services.marketing_consent(&user).await.unwrap());
    assert!(app.services.send_marketing(&user, "News", "Hello").await.unwrap());
    let mail = app.services.store().outbox(10).await.unwrap().into_iter().find(|m| m.kind == "marketing").unwrap();
    let link = app.services.unsubscribe_link(user.id);
    assert!(mail.body.contains(&link));

    let path = &link[app.public_url.len()..];
    let tampered = path.replace("sig=", "sig=x");
    let mut anon = Browser::new(&app);
    assert_eq!(anon.get(&tampered).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(anon.post(&tampered, &[("List-Unsubscribe", "One-Click")]).await.status, StatusCode::BAD_REQUEST);
    assert!(app.services.marketing_consent(&user).await.unwrap());
    // Opening the link asks (mail scanners open links); the one-click POST does it.
    let asked = anon.get(path).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    assert!(app.services.marketing_consent(&user).await.unwrap());
    let done = anon.post(path, &[("List-Unsubscribe", "One-Click")]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("You are unsubscribed"));
    assert!(!app.services.marketing_consent(&user).await.unwrap(), "takes effect at once");
}

/// Runs the services' due jobs (the export), as the workers would.
async fn run_jobs(app: &TestApp) -> usize {
    let clock: std::sync::Arc<dyn nanopost_domain::clock::Clock> = app.clock.clone();
    let handlers = app.services.register(nanopost_jobs::Handlers::new());
    let runtime = nanopost_jobs::Runtime::new(
        app.services.queue().clone(),
        handlers,
        nanopost_jobs::RuntimeConfig::default(),
        clock,
    );
    runtime.run_until_idle(50).await.unwrap()
}

#[tokio::test]
async fn promise_rights_of_access_and_portability_export_downloads_by_its_owner_only() {
    let app = TestApp::new().await;
    let (user, _) = app.user("me@example.com").await;
    let (other, _) = app.user("other@example.com").await;
    let mut b = Browser::signed_in(&app, &user).await;
    assert_eq!(b.submit("/privacy/me/export", &[]).await.status, StatusCode::SEE_OTHER);
    // A second click while it is being built does not build a second archive.
    assert_eq!(b.submit("/privacy/me/export", &[]).await.status, StatusCode::SEE_OTHER);
    let page = b.get("/privacy/me").await;
    assert!(page.body.contains("An archive is being prepared") && !page.body.contains("/privacy/exports/"));
    assert_eq!(run_jobs(&app).await, 1, "one export job");
    let page = b.get("/privacy/me").await;
    assert!(!page.body.contains("An archive is being prepared"), "{}", page.body);
    assert_eq!(page.body.matches("/privacy/exports/").count(), 1, "{}", page.body);
    let start = page.body.find("/privacy/exports/").expect("a download link");
    let link = page.body[start..].split('"').next().unwrap().to_owned();
    let res = b.get(&link).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.headers.get(header::CONTENT_TYPE).unwrap(), "application/x-tar");
    assert!(res.headers.get(header::CONTENT_DISPOSITION).unwrap().to_str().unwrap().starts_with("attachment"));
    assert!(res.body.contains("manifest.json") && res.body.contains("me@example.com"));
    assert!(!res.body.contains("$argon2"));
    assert_eq!(Browser::signed_in(&app, &other).await.get(&link).await.status, StatusCode::NOT_FOUND);
    assert_eq!(Browser::new(&app).get(&link).await.status, StatusCode::SEE_OTHER, "signed out: to the login page");
    let _ = tar::read;
}

#[tokio::test]
async fn promise_verified_deletion_within_30_days_from_the_privacy_page() {
    let app = TestApp::new().await;
    let (user, ws) = app.user("leaving@example.com").await;
    let mut b = Browser::signed_in(&app, &user).await;
    let page = b.get("/privacy/me").await;
    assert!(page.body.contains("leaving@example.com&#39;s workspace"), "the sole-owned workspace is named");
    let wrong = b.submit("/privacy/me/delete", &[("password", "not the password")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    let session = b.session().to_owned();
    let done = b.submit("/privacy/me/delete", &[("password", PASSWORD)]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.set_cookie("np_session").unwrap().contains("Max-Age=0"));
    assert!(app.services.authenticate_session(&session).await.unwrap().is_none(), "signed out at once");
    assert!(app.services.store().workspace_deletion(ws).await.unwrap().is_some());
    app.clock.advance(jiff::SignedDuration::from_hours(24 * 30));
    app.services.privacy_housekeeping().await.unwrap();
    assert!(app.services.store().user_by_id(user.id).await.unwrap().is_none());
}

#[tokio::test]
async fn the_audit_log_shows_who_did_what_from_where_to_owners_and_admins() {
    let app = TestApp::new().await;
    let team = app.team("audit").await;
    let w = format!("/w/{}", team.workspace);
    let owner = team.user(Role::Owner);
    let viewer = team.user(Role::Viewer);
    let mut b = Browser::signed_in(&app, owner).await;
    b.extra.push(("user-agent".into(), "AuditTest/1.0".into()));
    let res = b.submit(&format!("{w}/members/{}/role", viewer.id), &[("role", "reviewer")]).await;
    assert!(res.status.is_redirection(), "{}", res.body);
    let page = b.get(&format!("{w}/audit")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("member.role_changed") && page.body.contains("AuditTest/1.0"), "{}", page.body);
    assert!(page.body.contains("auth.sign_in"), "members' sign-ins are shown");
    for (role, status) in [(Role::Admin, StatusCode::OK), (Role::Editor, StatusCode::FORBIDDEN)] {
        let got = Browser::signed_in(&app, team.user(role)).await.get(&format!("{w}/audit")).await;
        assert_eq!(got.status, status, "{role}");
    }
}

#[tokio::test]
async fn workspace_deletion_needs_the_owner_and_the_name() {
    let app = TestApp::new().await;
    let team = app.team("wsdel").await;
    let w = format!("/w/{}", team.workspace);
    let owner = team.user(Role::Owner);
    let name = app.services.workspace(&app.actor(owner, team.workspace).await).await.unwrap().name;
    let mut admin = Browser::signed_in(&app, team.user(Role::Admin)).await;
    let refused = admin.submit(&format!("{w}/privacy/delete"), &[("confirm_name", &name)]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let mut b = Browser::signed_in(&app, owner).await;
    assert_eq!(
        b.submit(&format!("{w}/privacy/delete"), &[("confirm_name", "nope")]).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(b.submit(&format!("{w}/privacy/export"), &[]).await.status, StatusCode::SEE_OTHER);
    let ok = b.submit(&format!("{w}/privacy/delete"), &[("confirm_name", &name)]).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(b.get(&w).await.status, StatusCode::NOT_FOUND, "closed at once");
}

#[tokio::test]
async fn the_audit_log_is_readable_through_the_api_by_owners_only() {
    use axum::body::Body;
    use axum::http::Request;
    let app = TestApp::new().await;
    let team = app.team("auditapi").await;
    let owner = team.user(Role::Owner);
    let actor = app.actor(owner, team.workspace).await;
    app.services.set_role(&actor, team.user(Role::Viewer).id, Role::Reviewer).await.unwrap();
    let get = |token: String| {
        Request::get("/api/v1/audit?limit=2")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let res = app.send(get(app.api_token(owner, team.workspace, &[nanopost_domain::role::Scope::Admin]).await)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().contains_key(header::LINK), "more than two entries: a next page");
    let body = crate::support::body_text(res).await;
    assert!(body.contains("api_token.created"), "{body}");
    let viewer = team.user(Role::Viewer);
    let res = app.send(get(app.api_token(viewer, team.workspace, &[nanopost_domain::role::Scope::Read]).await)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

/// The banner asks on a first visit, is gone once the visitor chose (either way, from the
/// banner itself, which works without JavaScript), and asks again under a new policy version.
#[tokio::test]
async fn the_banner_asks_until_a_choice_under_the_current_policy_and_each_choice_is_recorded() {
    let app = TestApp::new().await;
    const BANNER: &str = "aria-label=\"Cookies\"";
    for choice in ["deny", "allow"] {
        let mut b = Browser::new(&app);
        let first = b.get("/login").await;
        assert!(first.body.contains(BANNER), "first visit: a banner");
        assert!(first.body.contains("Essential only") && first.body.contains("Allow optional cookies"));
        // The banner's form carries the same double-submit value as the page's own form.
        let csrf = b.cookie("np_csrf").expect("the banner's form token").to_owned();
        assert!(first.body.contains(&format!("name=\"csrf\" value=\"{csrf}\"")));
        assert!(first.body.matches(&csrf).count() >= 2, "the login form and the banner share the token");
        assert!(b.cookie("np_consent").is_none(), "no choice cookie before a choice");
        let chosen = b.post("/privacy/cookies", &[("csrf", &csrf), ("choice", choice), ("next", "/login")]).await;
        assert_eq!(chosen.status, StatusCode::SEE_OTHER, "{}", chosen.body);
        assert_eq!(chosen.location(), Some("/login"), "back where the banner was");
        let consent = chosen.set_cookie("np_consent").unwrap();
        assert!(
            consent.contains(&format!(".{choice}."))
                && consent.contains("HttpOnly")
                && consent.contains("SameSite=Lax")
        );
        assert!(!consent.contains("Secure"), "plain http in tests: not Secure");
        let after = b.get("/login").await;
        assert!(!after.body.contains(BANNER), "{choice}: the banner is gone");
        assert!(after.body.contains("href=\"/privacy/cookies\">Cookie settings"), "the footer link stays");
        // The cookie settings page itself never shows the banner (it is the same choice, in full).
        assert!(!Browser::new(&app).get("/privacy/cookies").await.body.contains(BANNER));

        // A new policy version asks again: a choice made under another version does not count.
        let visitor = consent.split(';').next().unwrap().rsplit('.').next().unwrap().to_owned();
        b.set_cookie_value("np_consent", &format!("20240101.{choice}.{visitor}"));
        assert!(b.get("/login").await.body.contains(BANNER), "an older policy version: asked again");
    }
    // Hostile `next`: never off-site.
    let mut b = Browser::new(&app);
    b.get("/login").await;
    let csrf = b.cookie("np_csrf").unwrap().to_owned();
    let res = b.post("/privacy/cookies", &[("csrf", &csrf), ("choice", "deny"), ("next", "//evil.example/x")]).await;
    assert_eq!(res.location(), Some("/"));
    // Without the form token nothing is recorded.
    let mut b = Browser::new(&app);
    b.get("/login").await;
    let res =
        b.post("/privacy/cookies", &[("csrf", "forged-forged-forged-forged-forged-forged"), ("choice", "allow")]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.set_cookie("np_consent").is_none());
}

#[tokio::test]
async fn a_signed_in_withdrawal_from_the_banner_is_recorded_with_version_and_source() {
    let app = TestApp::new().await;
    let (user, ws) = app.user("chooser@example.com").await;
    let mut b = Browser::signed_in(&app, &user).await;
    let page = b.get(&format!("/w/{ws}")).await;
    assert!(page.body.contains("aria-label=\"Cookies\""));
    let csrf = b.cookie("np_csrf").unwrap().to_owned();
    let next = format!("/w/{ws}");
    b.post("/privacy/cookies", &[("csrf", &csrf), ("choice", "allow"), ("next", &next)]).await;
    assert!(!b.get(&next).await.body.contains("aria-label=\"Cookies\""));
    // Changed later from the footer's "Cookie settings": withdrawn.
    let settings = b.get("/privacy/cookies").await;
    assert!(settings.body.contains("You allowed optional cookies."));
    b.post("/privacy/cookies", &[("csrf", &csrf), ("choice", "deny")]).await;
    assert!(b.get("/privacy/cookies").await.body.contains("You refused optional cookies."));
    let records = app.services.consents_of(&user).await.unwrap();
    assert_eq!(records.iter().map(|r| r.granted).collect::<Vec<_>>(), vec![true, false], "consent, then withdrawal");
    assert!(records.iter().all(|r| r.policy_version == PRIVACY_POLICY_VERSION && r.source == "cookie_banner"));
    assert!(records.iter().all(|r| r.user_id == Some(user.id) && r.visitor_id == records[0].visitor_id));
}

/// Encryption in transit, token-based authentication, access controls and secure credential
/// storage, as a visitor and an API client see them.
#[tokio::test]
async fn promise_security_https_cookies_token_authentication_and_access_controls() {
    let app = TestApp::with_public_url("https://social.example.com").await;
    let (user, ws) = app.user("secure@example.com").await;
    let (stranger, _) = app.user("stranger@example.com").await;
    // Behind https every cookie is Secure (the session, the form token, the consent).
    let mut b = Browser::new(&app);
    b.extra.push(("origin".into(), "https://social.example.com".into()));
    let login = b.get("/login").await;
    assert!(login.set_cookie("np_csrf").unwrap().contains("Secure"));
    let res =
        b.submit_public("/login", &[("email", "secure@example.com"), ("password", PASSWORD), ("next", "/")]).await;
    let session = res.set_cookie("np_session").unwrap();
    assert!(session.contains("Secure") && session.contains("HttpOnly"), "{session}");
    let csrf = b.cookie("np_csrf").unwrap().to_owned();
    let chosen = b.post("/privacy/cookies", &[("csrf", &csrf), ("choice", "deny"), ("next", "/")]).await;
    assert!(chosen.set_cookie("np_consent").unwrap().contains("Secure"));
    // The API answers only with a token; another workspace's pages do not exist for a stranger.
    let api = app.send(axum::http::Request::get("/api/v1/brands").body(axum::body::Body::empty()).unwrap()).await;
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    let mut other = Browser::signed_in(&app, &stranger).await;
    assert_eq!(other.get(&format!("/w/{ws}/brands")).await.status, StatusCode::NOT_FOUND);
    // Credentials are stored as hashes only.
    let stored = app.services.store().user_by_id(user.id).await.unwrap().unwrap();
    assert!(stored.password_hash.starts_with("$argon2") && !stored.password_hash.contains(PASSWORD));
}
