//! Sign-up (18+), e-mail verification, login cookies, logout, password reset, rate limits.

use super::Browser;
use crate::support::{PASSWORD, TestApp};
use axum::http::StatusCode;
use nanopost_domain::account::Email;

async fn user_exists(app: &TestApp, email: &str) -> bool {
    app.services.store().user_by_email(&Email::parse(email).unwrap()).await.unwrap().is_some()
}

#[tokio::test]
async fn sign_up_needs_the_age_confirmation_then_verifies_the_address_once() {
    let app = TestApp::new().await;
    let mut b = Browser::new(&app);
    let form = b.get("/signup").await;
    assert_eq!(form.status, StatusCode::OK);
    form.assert_html();
    assert!(form.body.contains("I confirm I am 18 or older"));
    // The checkbox is there and not ticked in advance.
    assert!(form.body.contains(r#"name="age_confirmed" value="yes">"#), "{}", form.body);
    let pre = form.set_cookie("np_csrf").expect("a double-submit cookie");
    assert!(pre.contains("HttpOnly") && pre.contains("SameSite=Strict"), "{pre}");
    assert_eq!(form.hidden("csrf").as_deref(), b.cookie("np_csrf"));

    let fields = [
        ("email", "ana@example.com"),
        ("display_name", "Ana"),
        ("password", PASSWORD),
        ("workspace_name", "Ana's Bakery"),
        ("next", "/"),
    ];
    let refused = b.submit_public("/signup", &fields).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("18 or older"), "{}", refused.body);
    assert!(refused.body.contains("ana@example.com"), "the form keeps what was typed");
    assert!(!user_exists(&app, "ana@example.com").await);
    assert!(app.services.store().outbox(10).await.unwrap().is_empty());

    let mut with_age = fields.to_vec();
    with_age.push(("age_confirmed", "yes"));
    let ok = b.submit_public("/signup", &with_age).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert!(b.cookie("np_session").is_some(), "signed in straight away");
    assert!(user_exists(&app, "ana@example.com").await);

    // The verification mail, with its link.
    let outbox = app.services.store().outbox(10).await.unwrap();
    let mail = outbox.iter().find(|m| m.kind == "verify_email").expect("a verification mail");
    assert_eq!(mail.to.as_str(), "ana@example.com");
    assert!(mail.body.contains(&format!("{}/verify-email?token=", app.public_url)));
    let token = app.last_link_token("ana@example.com").await;

    // The dashboard reminds an unverified user.
    let home = b.get("/").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    let dash = b.get(home.location().unwrap()).await;
    assert_eq!(dash.status, StatusCode::OK);
    assert!(dash.body.contains("Please confirm your e-mail address"));
    assert!(dash.body.contains("Ana&#39;s Bakery") || dash.body.contains("Ana&#x27;s Bakery"), "{}", dash.body);

    // GET only shows a button: a link scanner does not use the token up.
    let mut other = Browser::new(&app);
    let page = other.get(&format!("/verify-email?token={token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.hidden("token").as_deref(), Some(token.as_str()));
    let user = app.services.store().user_by_email(&Email::parse("ana@example.com").unwrap()).await.unwrap().unwrap();
    assert!(user.email_verified_at.is_none());

    let done = other.submit_public("/verify-email", &[("token", &token)]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("confirmed"));
    let user = app.services.store().user_by_email(&Email::parse("ana@example.com").unwrap()).await.unwrap().unwrap();
    assert!(user.email_verified_at.is_some());

    let again = other.submit_public("/verify-email", &[("token", &token)]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("invalid, used or expired"), "{}", again.body);

    // A link without a token says so.
    assert_eq!(other.get("/verify-email").await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn login_sets_a_safe_cookie_and_logout_ends_the_session() {
    let app = TestApp::new().await;
    let (user, ws) = app.user("bo@example.com").await;
    let mut b = Browser::new(&app);
    let form = b.get(&format!("/login?next=/w/{ws}/brands")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert_eq!(form.hidden("next").as_deref(), Some(format!("/w/{ws}/brands").as_str()));
    let res = b
        .submit_public(
            "/login",
            &[("email", "bo@example.com"), ("password", PASSWORD), ("next", &format!("/w/{ws}/brands"))],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), Some(format!("/w/{ws}/brands").as_str()));
    let cookie = res.set_cookie("np_session").expect("session cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(cookie.contains(attr), "{attr} missing in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: no Secure flag ({cookie})");
    let token = b.session().to_owned();
    assert_eq!(app.services.authenticate_session(&token).await.unwrap().unwrap().id, user.id);
    assert_eq!(b.get(&format!("/w/{ws}")).await.status, StatusCode::OK);

    // An open redirect through `next` is not possible.
    let mut c = Browser::new(&app);
    c.get("/login").await;
    let res = c
        .submit_public("/login", &[("email", "bo@example.com"), ("password", PASSWORD), ("next", "//evil.example")])
        .await;
    assert_eq!(res.location(), Some("/"));

    let out = b.submit("/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let cleared = out.set_cookie("np_session").expect("cleared cookie");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(app.services.authenticate_session(&token).await.unwrap().is_none());
    // The old cookie no longer opens pages.
    let mut stale = Browser::new(&app);
    stale.set_cookie_value("np_session", &token);
    let res = stale.get(&format!("/w/{ws}")).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(res.location().unwrap().starts_with("/login?next="), "{:?}", res.location());
}

#[tokio::test]
async fn cookies_are_secure_behind_https() {
    let app = TestApp::with_public_url("https://nanopost.example").await;
    app.user("cy@example.com").await;
    let mut b = Browser::new(&app);
    let form = b.get("/login").await;
    assert!(form.set_cookie("np_csrf").unwrap().contains("Secure"));
    // The browser's Origin for this installation is accepted.
    b.extra.push(("origin".into(), "https://nanopost.example".into()));
    let res = b.submit_public("/login", &[("email", "cy@example.com"), ("password", PASSWORD), ("next", "/")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let cookie = res.set_cookie("np_session").unwrap();
    assert!(cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
}

#[tokio::test]
async fn wrong_passwords_get_401_then_429_with_the_wait() {
    let app = TestApp::new().await;
    app.user("di@example.com").await;
    let mut b = Browser::new(&app);
    b.get("/login").await;
    let limit = app.services.config().login_limits.per_account;
    for _ in 0..limit {
        let res = b
            .submit_public("/login", &[("email", "di@example.com"), ("password", "wrong password!"), ("next", "/")])
            .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        res.assert_html();
        assert!(res.body.contains("Wrong e-mail address or password"), "{}", res.body);
        assert!(res.set_cookie("np_session").is_none());
    }
    let res = b.submit_public("/login", &[("email", "di@example.com"), ("password", PASSWORD), ("next", "/")]).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers.get("retry-after").is_some());
    assert!(res.body.contains("Please wait"), "{}", res.body);
    assert!(res.body.contains("minutes"), "{}", res.body);
    assert!(res.set_cookie("np_session").is_none());
}

#[tokio::test]
async fn password_reset_ends_every_session() {
    let app = TestApp::new().await;
    let (user, _) = app.user("eve@example.com").await;
    let old = Browser::signed_in(&app, &user).await;
    let old_token = old.session().to_owned();

    let mut b = Browser::new(&app);
    assert_eq!(b.get("/forgot-password").await.status, StatusCode::OK);
    let res = b.submit_public("/forgot-password", &[("email", "eve@example.com")]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.contains("If an account exists"));
    // Unknown addresses get the same answer and no mail.
    let res = b.submit_public("/forgot-password", &[("email", "nobody@example.com")]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.contains("If an account exists"));
    let mails = app.services.store().outbox(50).await.unwrap();
    assert!(mails.iter().all(|m| m.to.as_str() != "nobody@example.com"));

    let token = app.last_link_token("eve@example.com").await;
    let page = b.get(&format!("/reset-password?token={token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.hidden("token").as_deref(), Some(token.as_str()));

    let new_password = "a brand new long password";
    let res = b
        .submit_public(
            "/reset-password",
            &[("token", &token), ("password", new_password), ("password_confirm", "different one!!")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let res = b
        .submit_public("/reset-password", &[("token", &token), ("password", "short"), ("password_confirm", "short")])
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("at least 10 characters"), "{}", res.body);
    assert!(app.services.authenticate_session(&old_token).await.unwrap().is_some(), "refused resets change nothing");

    let res = b
        .submit_public(
            "/reset-password",
            &[("token", &token), ("password", new_password), ("password_confirm", new_password)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), Some("/login?msg=password_reset"));
    assert!(app.services.authenticate_session(&old_token).await.unwrap().is_none(), "old sessions ended");

    // The link works once.
    let res = b
        .submit_public(
            "/reset-password",
            &[("token", &token), ("password", new_password), ("password_confirm", new_password)],
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);

    // The new password signs in; the old one does not.
    let res = b.submit_public("/login", &[("email", "eve@example.com"), ("password", PASSWORD), ("next", "/")]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res =
        b.submit_public("/login", &[("email", "eve@example.com"), ("password", new_password), ("next", "/")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn pages_send_strangers_to_the_login_page_and_back() {
    let app = TestApp::new().await;
    let (_, ws) = app.user("fay@example.com").await;
    let mut b = Browser::new(&app);
    let res = b.get("/").await;
    assert_eq!(res.location(), Some("/login"));
    let res = b.get(&format!("/w/{ws}/posts?state=draft")).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let loc = res.location().unwrap();
    assert!(loc.starts_with("/login?next=%2Fw%2F"), "{loc}");
    let login = b.get(loc).await;
    assert_eq!(login.hidden("next").as_deref(), Some(format!("/w/{ws}/posts?state=draft").as_str()));
    let css = b.get("/static/app.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.headers["content-type"].to_str().unwrap().starts_with("text/css"));
}

#[tokio::test]
async fn invitations_are_accepted_by_the_invited_address_only() {
    let app = TestApp::new().await;
    let (owner, ws) = app.user("owner@example.com").await;
    let (invitee, _) = app.user("gil@example.com").await;
    let (stranger, _) = app.user("hal@example.com").await;
    let mut o = Browser::signed_in(&app, &owner).await;
    let res = o.submit(&format!("/w/{ws}/members/invite"), &[("email", "gil@example.com"), ("role", "reviewer")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let members = o.get(&format!("/w/{ws}/members")).await;
    assert!(members.body.contains("gil@example.com"), "pending invitation listed");
    let token = app.last_link_token("gil@example.com").await;

    // Not signed in: to the login page, and back here afterwards.
    let mut anon = Browser::new(&app);
    let res = anon.get(&format!("/invitations/accept?token={token}")).await;
    assert!(res.location().unwrap().starts_with("/login?next=%2Finvitations%2Faccept"), "{:?}", res.location());

    // Someone else cannot use it.
    let mut s = Browser::signed_in(&app, &stranger).await;
    assert_eq!(s.get(&format!("/invitations/accept?token={token}")).await.status, StatusCode::OK);
    let res = s.submit("/invitations/accept", &[("token", &token)]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(s.get(&format!("/w/{ws}")).await.status, StatusCode::NOT_FOUND);

    let mut g = Browser::signed_in(&app, &invitee).await;
    let res = g.submit("/invitations/accept", &[("token", &token)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), Some(format!("/w/{ws}?msg=joined").as_str()));
    let dash = g.get(&format!("/w/{ws}?msg=joined")).await;
    assert_eq!(dash.status, StatusCode::OK);
    assert!(dash.body.contains("You joined the workspace."));
    assert!(dash.body.contains("you are reviewer"));
}
