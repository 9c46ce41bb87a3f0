//! `nanopost demo`'s mailbox: the outbox listed and each message shown with its links
//! clickable (so the demo user can confirm their address), everything escaped; 404 outside the
//! demo.

use super::{Browser, html_escape};
use crate::support::TestApp;
use axum::http::StatusCode;
use nanopost_domain::role::Role;
use nanopost_web::{WebConfig, demo_router};

/// A test app serving the demo's pages.
async fn demo_app() -> TestApp {
    let mut app = TestApp::new().await;
    let web = WebConfig { public_url: app.public_url.clone(), max_body_bytes: 64 * 1024 };
    app.router = demo_router(app.services.clone(), web, None);
    app
}

#[tokio::test]
async fn the_demo_mailbox_lists_the_outbox_and_its_links_verify_the_address() {
    let app = demo_app().await;
    let mut b = Browser::new(&app);
    let empty = b.get("/demo/mailbox").await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.body);
    empty.assert_html();
    assert!(empty.body.contains("No mail yet."), "{}", empty.body);
    assert_eq!(empty.headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"), "tokens inside");

    // A visitor signs up: the verification mail waits in the outbox.
    b.get("/signup").await;
    let fields = [
        ("email", "ana@example.com"),
        ("password", "a long passphrase here"),
        ("display_name", "Ana"),
        ("workspace_name", "Ana's Bakery"),
        ("age_confirmed", "yes"),
    ];
    let signed = b.submit_public("/signup", &fields).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    let mail = app.services.store().outbox(10).await.unwrap().into_iter().find(|m| m.kind == "verify_email").unwrap();

    let list = b.get("/demo/mailbox").await;
    assert!(list.body.contains("ana@example.com") && list.body.contains(&html_escape(&mail.subject)), "{}", list.body);
    let href = format!("/demo/mailbox/{}", mail.id);
    assert!(list.body.contains(&format!("href=\"{href}\"")), "{}", list.body);

    let shown = b.get(&href).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    let token = app.last_link_token("ana@example.com").await;
    let link = format!("{}/verify-email?token={token}", app.public_url);
    assert!(
        shown.body.contains(&format!("<a href=\"{link}\" rel=\"noopener noreferrer\">{link}</a>")),
        "{}",
        shown.body
    );

    // Following the link confirms the address, as the e-mail would.
    let page = b.get(&format!("/verify-email?token={token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let done = b.submit_public("/verify-email", &[("token", &token)]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("Address confirmed"), "{}", done.body);
    let email = nanopost_domain::account::Email::parse("ana@example.com").unwrap();
    let user = app.services.store().user_by_email(&email).await.unwrap().unwrap();
    assert!(user.email_verified_at.is_some(), "verified through the demo mailbox");

    // Unknown or malformed ids: 404.
    for path in ["/demo/mailbox/00000000-0000-0000-0000-000000000000", "/demo/mailbox/not-an-id"] {
        assert_eq!(b.get(path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn the_demo_mailbox_escapes_what_people_typed() {
    let app = demo_app().await;
    let (owner, _) = app.user("owner@example.com").await;
    let hostile = "<script>alert(1)</script> https://x.example/\"><img src=x> javascript:alert(2)";
    let ws = app.services.create_workspace(&owner, hostile).await.expect("workspace");
    let actor = app.actor(&owner, ws.id).await;
    app.services.invite(&actor, "bo@example.com", Role::Editor).await.expect("invite");
    let mail = app.services.store().outbox(10).await.unwrap().into_iter().find(|m| m.kind == "invitation").unwrap();

    let mut b = Browser::new(&app);
    for path in ["/demo/mailbox".to_owned(), format!("/demo/mailbox/{}", mail.id)] {
        let page = b.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(!page.body.contains("<script>alert") && !page.body.contains("<img src=x"), "{path}: {}", page.body);
        assert!(page.body.contains("&#60;script&#62;alert(1)"), "{path}: shown as text: {}", page.body);
        assert!(!page.body.contains("href=\"javascript"), "{path}");
    }
    let shown = b.get(&format!("/demo/mailbox/{}", mail.id)).await;
    // The address in the name is a link of its own, cut before the quote.
    assert!(shown.body.contains("<a href=\"https://x.example/\" rel=\"noopener noreferrer\">"), "{}", shown.body);
    assert!(shown.body.contains("/invitations/accept?token="), "{}", shown.body);
}

#[tokio::test]
async fn outside_the_demo_there_is_no_mailbox() {
    let app = TestApp::new().await;
    let (_, _) = app.user("ana@example.com").await;
    let mail = app.services.store().outbox(10).await.unwrap();
    assert!(!mail.is_empty(), "there is mail that must not be shown");
    let mut b = Browser::new(&app);
    for path in ["/demo/mailbox".to_owned(), format!("/demo/mailbox/{}", mail[0].id)] {
        let page = b.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}: {}", page.body);
        assert!(!page.body.contains("token="), "{path}");
    }
}
