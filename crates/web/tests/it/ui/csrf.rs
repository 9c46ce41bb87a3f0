//! CSRF: every POST route of the web app, in one table, refused without the token, with a
//! wrong token, with another session's token, and from another site — and nothing changes.
//! A new form must be added to [`post_routes`], or this test does not cover it.

use super::{Browser, brand, draft};
use crate::support::{PASSWORD, TestApp};
use axum::http::StatusCode;
use nanopost_domain::account::Email;
use nanopost_domain::ids::WorkspaceId;
use nanopost_domain::role::{Role, Scope};
use nanopost_services::SignUpInput;
use nanopost_storage::{PageRequest, PostFilter, User};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// Signed-in form: the session's CSRF token.
    Session,
    /// Pre-login form: double submit of the `np_csrf` cookie.
    Public,
}

type Fields = Vec<(String, String)>;

struct Fixture {
    owner: User,
    ws: WorkspaceId,
    routes: Vec<(Kind, String, Fields)>,
}

/// Everything the forms could change, as text.
async fn snapshot(app: &TestApp, f: &Fixture) -> String {
    let s = &app.services;
    let actor = app.actor(&f.owner, f.ws).await;
    let brands = s.brands(&actor, PageRequest::first(100)).await.unwrap().items;
    let posts = s.posts(&actor, &PostFilter::default(), PageRequest::first(100)).await.unwrap().items;
    let members = s.members(&actor).await.unwrap();
    let invitations = s.invitations(&actor).await.unwrap();
    let tokens = s.api_tokens(&actor).await.unwrap();
    let outbox = s.store().outbox(1000).await.unwrap();
    let workspaces = s.workspaces_of(&f.owner).await.unwrap();
    let connected: Vec<_> = s.store().connected_accounts(f.ws, None).await.unwrap().iter().map(|a| a.id).collect();
    let newcomer = s.store().user_by_email(&Email::parse("newcomer@example.com").unwrap()).await.unwrap();
    let unverified = s.store().user_by_email(&Email::parse("unverified@example.com").unwrap()).await.unwrap().unwrap();
    let owner = s.store().user_by_id(f.owner.id).await.unwrap().unwrap();
    let privacy = (s.consents_of(&owner).await.unwrap(), s.my_exports(&owner).await.unwrap().len());
    let privacy = format!("{privacy:?} {:?}", s.store().workspace_deletion(f.ws).await.unwrap());
    privacy
        + &format!("{connected:?}")
        + &format!(
            "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{}\n{:?}\n{:?}\n{:?}\n{}",
            brands,
            posts.iter().map(|p| (p.id, p.version, p.state, p.schedule.clone(), p.content.clone())).collect::<Vec<_>>(),
            members.iter().map(|m| (m.user_id, m.role)).collect::<Vec<_>>(),
            invitations.iter().map(|i| i.id).collect::<Vec<_>>(),
            tokens.iter().map(|t| (t.id, t.revoked_at)).collect::<Vec<_>>(),
            outbox.len(),
            workspaces.iter().map(|(w, r)| (w.id, *r)).collect::<Vec<_>>(),
            newcomer.map(|u| u.id),
            unverified.email_verified_at,
            owner.password_hash,
        )
}

async fn fixture(app: &TestApp) -> Fixture {
    let team = app.team("csrf").await;
    let ws = team.workspace;
    let owner = team.user(Role::Owner).clone();
    let viewer = team.user(Role::Viewer).clone();
    let actor = app.actor(&owner, ws).await;
    let b = brand(app, &owner, ws, "Acme").await;
    let post = draft(app, &owner, ws, b.id, "a draft").await;
    let pending = draft(app, &owner, ws, b.id, "waiting for review").await;
    let pending = app.services.submit_post(&actor, pending.id, pending.version).await.unwrap();
    let digest = pending.content.digest();
    let inv = app.services.invite(&actor, "invited@example.com", Role::Editor).await.unwrap();
    let inv_token = app.last_link_token("invited@example.com").await;
    let tok = app.services.create_api_token(&actor, "ci", &[Scope::Read], None).await.unwrap().0;
    let unverified = app
        .services
        .sign_up(SignUpInput {
            email: "unverified@example.com".into(),
            password: PASSWORD.into(),
            display_name: "Un".into(),
            workspace_name: String::new(),
            age_confirmed: true,
        })
        .await
        .unwrap();
    let verify_token = app.last_link_token(unverified.email.as_str()).await;
    app.services.request_password_reset(owner.email.as_str()).await.unwrap();
    let reset_token = app.last_link_token(owner.email.as_str()).await;

    let account = connected_account(app, ws, b.id).await;
    let w = format!("/w/{ws}");
    let ws_name = app.services.workspace(&actor).await.unwrap().name;
    let v = post.version.to_string();
    let f = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
    use Kind::*;
    let routes = vec![
        (
            Public,
            "/signup".into(),
            f(&[
                ("email", "newcomer@example.com"),
                ("display_name", "New"),
                ("password", PASSWORD),
                ("workspace_name", "N"),
                ("age_confirmed", "yes"),
                ("next", "/"),
            ]),
        ),
        (Public, "/login".into(), f(&[("email", owner.email.as_str()), ("password", PASSWORD), ("next", "/")])),
        (Public, "/forgot-password".into(), f(&[("email", owner.email.as_str())])),
        (
            Public,
            "/reset-password".into(),
            f(&[
                ("token", &reset_token),
                ("password", "another long password"),
                ("password_confirm", "another long password"),
            ]),
        ),
        (Public, "/verify-email".into(), f(&[("token", &verify_token)])),
        (Session, "/verify-email/resend".into(), vec![]),
        (Session, "/invitations/accept".into(), f(&[("token", &inv_token)])),
        (Session, "/workspaces".into(), f(&[("name", "Second")])),
        (Session, format!("{w}/members/invite"), f(&[("email", "more@example.com"), ("role", "viewer")])),
        (Session, format!("{w}/members/{}/role", viewer.id), f(&[("role", "editor")])),
        (Session, format!("{w}/invitations/{}/revoke", inv.id), vec![]),
        (Session, format!("{w}/tokens"), f(&[("name", "new"), ("scope_read", "on"), ("expires_in_days", "")])),
        (Session, format!("{w}/tokens/{}/revoke", tok.id), vec![]),
        (Session, format!("{w}/brands"), f(&[("name", "Another")])),
        (Session, format!("{w}/brands/{}", b.id), f(&[("name", "Renamed"), ("timezone", "UTC")])),
        (Session, format!("{w}/brands/{}/accounts/connect", b.id), f(&[("login", "tiktok")])),
        (Session, format!("{w}/brands/{}/accounts/{account}/disconnect", b.id), vec![]),
        (
            Session,
            format!("{w}/posts"),
            f(&[("brand_id", &b.id.to_string()), ("target_instagram", "on"), ("caption_instagram", "new")]),
        ),
        (
            Session,
            format!("{w}/posts/{}", post.id),
            f(&[("version", &v), ("target_instagram", "on"), ("caption_instagram", "changed")]),
        ),
        (Session, format!("{w}/posts/{}/submit", post.id), f(&[("version", &v)])),
        (Session, format!("{w}/posts/{}/approve", pending.id), f(&[("content_digest", digest.as_str())])),
        (
            Session,
            format!("{w}/posts/{}/reject", pending.id),
            f(&[("content_digest", digest.as_str()), ("reason", "no")]),
        ),
        (Session, format!("{w}/posts/{}/schedule", post.id), f(&[("version", &v), ("at", "2030-01-01T09:00")])),
        (Session, format!("{w}/posts/{}/archive", post.id), f(&[("version", &v)])),
        (Session, format!("{w}/posts/{}/delete", post.id), vec![]),
        (Session, format!("{w}/brands/{}/delete", b.id), vec![]),
        (Session, format!("{w}/members/{}/remove", viewer.id), vec![]),
        (Public, "/privacy/cookies".into(), f(&[("choice", "deny")])),
        (Session, "/privacy/me/marketing".into(), f(&[("marketing", "yes")])),
        (Session, "/privacy/me/export".into(), vec![]),
        (Session, format!("{w}/privacy/export"), vec![]),
        (Session, format!("{w}/privacy/delete"), f(&[("confirm_name", &ws_name)])),
        (Session, "/privacy/me/delete".into(), f(&[("password", PASSWORD)])),
        (Session, "/logout".into(), vec![]),
    ];
    Fixture { owner, ws, routes }
}

/// A connected account stored directly (its tokens are opaque bytes here).
async fn connected_account(
    app: &TestApp,
    ws: WorkspaceId,
    brand: nanopost_domain::ids::BrandId,
) -> nanopost_storage::ConnectedAccountId {
    use nanopost_storage::{
        AccountKind, AccountStatus, ConnectedAccount, ConnectedAccountId, SealedSecret, SealedTokens,
    };
    let now = app.clock_now();
    let a = ConnectedAccount {
        id: ConnectedAccountId::new(),
        workspace_id: ws,
        brand_id: brand,
        network: nanopost_domain::network::Network::Tiktok,
        kind: AccountKind::Tiktok,
        grant_id: uuid::Uuid::now_v7(),
        external_id: "open-id-csrf".into(),
        display_name: "CSRF creator".into(),
        handle: None,
        details: Default::default(),
        scopes: vec![],
        tokens: SealedTokens {
            key_id: "k".into(),
            wrapped_key: vec![1; 72],
            access: SealedSecret { nonce: vec![2; 24], ciphertext: vec![3; 40] },
            refresh: None,
        },
        token_version: 1,
        token_issued_at: now,
        access_expires_at: None,
        refresh_expires_at: None,
        refresh_due_at: None,
        status: AccountStatus::Active,
        status_reason: None,
        created_at: now,
        updated_at: now,
    };
    app.services.store().save_connected_account(&a).await.unwrap();
    a.id
}

fn with_csrf(fields: &[(String, String)], csrf: Option<&str>) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = csrf.map(|c| vec![("csrf".to_owned(), c.to_owned())]).unwrap_or_default();
    all.extend_from_slice(fields);
    all
}

async fn post(b: &mut Browser<'_>, path: &str, fields: &[(String, String)]) -> super::Page {
    b.post_raw(path, serde_urlencoded::to_string(fields).unwrap()).await
}

const ATTACKS: [&str; 7] = [
    "no token",
    "wrong token",
    "token of another session",
    "empty token",
    "cross-site origin",
    "null origin",
    "sec-fetch-site cross-site",
];

#[tokio::test]
async fn every_post_route_refuses_forged_requests_and_changes_nothing() {
    let app = TestApp::new().await;
    let f = fixture(&app).await;
    let (intruder, _) = app.user("intruder@example.com").await;
    let intruder_csrf = app.services.csrf_token(&app.session(&intruder).await);
    let before = snapshot(&app, &f).await;
    let owner_session = app.session(&f.owner).await;

    for (kind, path, fields) in &f.routes {
        for attack in ATTACKS {
            let mut b = Browser::new(&app);
            b.set_cookie_value("np_session", &owner_session);
            b.set_cookie_value("np_csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
            let good = match kind {
                Kind::Session => app.services.csrf_token(&owner_session),
                Kind::Public => "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned(),
            };
            let body = match attack {
                "no token" => with_csrf(fields, None),
                "wrong token" => with_csrf(fields, Some("BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB")),
                "token of another session" => with_csrf(fields, Some(&intruder_csrf)),
                "empty token" => with_csrf(fields, Some("")),
                _ => with_csrf(fields, Some(&good)),
            };
            match attack {
                "cross-site origin" => b.extra.push(("origin".into(), "http://evil.example".into())),
                "null origin" => b.extra.push(("origin".into(), "null".into())),
                "sec-fetch-site cross-site" => b.extra.push(("sec-fetch-site".into(), "cross-site".into())),
                _ => {}
            }
            let res = post(&mut b, path, &body).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{kind:?} {path} with {attack}: {}", res.body);
            res.assert_html();
            assert!(
                res.body.contains("nothing was changed") || res.body.contains("sent from another site"),
                "{path} with {attack}: {}",
                res.body
            );
            assert!(res.set_cookie("np_session").is_none(), "{path} with {attack} touched the session cookie");
        }
        // A public form also needs the cookie half of the double submit.
        if *kind == Kind::Public {
            let mut b = Browser::new(&app);
            let res = post(&mut b, path, &with_csrf(fields, Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{path} without the np_csrf cookie");
        }
        assert_eq!(snapshot(&app, &f).await, before, "{path}: a refused request changed something");
    }
    assert!(app.services.authenticate_session(&owner_session).await.unwrap().is_some());

    // The same requests with the right token, sent from this site, pass the check (so the table
    // above tests the check, not a route that refuses everything).
    for (kind, path, fields) in &f.routes {
        let mut b = Browser::new(&app);
        b.extra.push(("origin".into(), app.public_url.clone()));
        b.extra.push(("sec-fetch-site".into(), "same-origin".into()));
        let csrf = match kind {
            Kind::Session => {
                b.set_cookie_value("np_session", &owner_session);
                app.services.csrf_token(&owner_session)
            }
            Kind::Public => {
                b.get("/login").await;
                b.cookie("np_csrf").unwrap().to_owned()
            }
        };
        let res = post(&mut b, path, &with_csrf(fields, Some(&csrf))).await;
        assert!(
            !res.body.contains("nothing was changed. Reload") && !res.body.contains("sent from another site"),
            "{path} refused a genuine form: {} {}",
            res.status,
            res.body
        );
    }
}

#[tokio::test]
async fn forms_are_refused_without_a_session_and_with_other_content_types() {
    let app = TestApp::new().await;
    let (user, ws) = app.user("kim@example.com").await;
    let mut anon = Browser::new(&app);
    let res = anon.post(&format!("/w/{ws}/brands"), &[("name", "x")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(res.location().unwrap().starts_with("/login"));

    let b = Browser::signed_in(&app, &user).await;
    let req = axum::http::Request::post(format!("/w/{ws}/brands"))
        .header("content-type", "application/json")
        .header("cookie", format!("np_session={}", b.session()))
        .body(axum::body::Body::from(format!("{{\"csrf\":\"{}\",\"name\":\"x\"}}", b.csrf())))
        .unwrap();
    let res = app.send(req).await;
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let actor = app.actor(&user, ws).await;
    assert!(app.services.brands(&actor, PageRequest::first(10)).await.unwrap().items.is_empty());
}
