//! Notifications in the browser: the inbox and the header's count, e-mail settings, and the
//! one-click unsubscribe (a confirmation on GET, the change on POST, no session needed).

use super::{Browser, brand, html_escape};
use crate::support::TestApp;
use axum::http::StatusCode;
use nanopost_domain::role::Role;
use nanopost_services::{MailKind, Notice};

#[tokio::test]
async fn the_inbox_lists_escapes_marks_read_and_counts_in_the_header() {
    let app = TestApp::new().await;
    let team = app.team("inbox").await;
    let ws = team.workspace;
    let owner = team.user(Role::Owner);
    let b = brand(&app, owner, ws, "<script>alert(1)</script>").await;
    app.services.notify(ws, Notice::DraftsReady { brand: b.id, count: 2 }).await.unwrap();

    let mut ob = Browser::signed_in(&app, owner).await;
    let dash = ob.get(&format!("/w/{ws}")).await;
    assert_eq!(dash.status, StatusCode::OK);
    assert!(
        dash.body.contains(&format!("href=\"/w/{ws}/notifications\">Notifications <span class=\"badge\"")),
        "{}",
        dash.body
    );
    let page = ob.get(&format!("/w/{ws}/notifications")).await;
    page.assert_html();
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("<script>alert(1)</script>"), "escaped");
    assert!(
        page.body.contains(&html_escape("2 new drafts for <script>alert(1)</script> are ready for review")),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(&format!("href=\"/w/{ws}/posts?brand={}\"", b.id))
            || page.body.contains(&format!("href=\"{}\"", html_escape(&format!("/w/{ws}/posts?brand={}", b.id)))),
        "{}",
        page.body
    );

    // The viewer is not concerned: nothing for them.
    let mut vb = Browser::signed_in(&app, team.user(Role::Viewer)).await;
    assert!(vb.get(&format!("/w/{ws}/notifications")).await.body.contains("No notifications"));

    // Someone else cannot mark the owner's notification; the owner can, with the CSRF token.
    let actor = app.actor(owner, ws).await;
    let id =
        app.services.notifications(&actor, false, nanopost_storage::PageRequest::first(5)).await.unwrap().items[0].id;
    let mut eb = Browser::signed_in(&app, team.user(Role::Editor)).await;
    assert_eq!(eb.submit(&format!("/w/{ws}/notifications/{id}/read"), &[]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        ob.post(&format!("/w/{ws}/notifications/{id}/read"), &[]).await.status,
        StatusCode::FORBIDDEN,
        "no CSRF token"
    );
    assert_eq!(app.services.unread_notifications(&actor).await.unwrap(), 1);
    let done = ob.submit(&format!("/w/{ws}/notifications/{id}/read"), &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(app.services.unread_notifications(&actor).await.unwrap(), 0);
    let dash = ob.get(&format!("/w/{ws}")).await;
    assert!(!dash.body.contains("class=\"badge\""), "no count when all is read");

    // Mark all, for the editor.
    let editor = app.actor(team.user(Role::Editor), ws).await;
    assert_eq!(app.services.unread_notifications(&editor).await.unwrap(), 1);
    assert_eq!(eb.submit(&format!("/w/{ws}/notifications/read-all"), &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.services.unread_notifications(&editor).await.unwrap(), 0);
    // A malformed cursor is a clear error, not a crash.
    assert_eq!(ob.get(&format!("/w/{ws}/notifications?after=nope")).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_settings_page_turns_mail_off_and_on() {
    let app = TestApp::new().await;
    let (user, _) = app.user("me@example.com").await;
    let mut b = Browser::signed_in(&app, &user).await;
    let page = b.get("/notifications/settings").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("name=\"drafts_ready\" value=\"on\" checked"), "{}", page.body);
    assert!(page.body.contains("name=\"marketing\" value=\"on\">"), "marketing is off until agreed");
    assert!(page.body.contains("E-mail delivery is not set up"), "this test app has no SMTP");

    // Without the CSRF token nothing changes.
    assert_eq!(b.post("/notifications/settings", &[("publish_failed", "on")]).await.status, StatusCode::FORBIDDEN);
    assert!(app.services.wants_email(&user, MailKind::DraftsReady).await.unwrap());

    let saved = b
        .submit("/notifications/settings", &[("publish_failed", "on"), ("reconnect_needed", "on"), ("marketing", "on")])
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert!(!app.services.wants_email(&user, MailKind::DraftsReady).await.unwrap());
    assert!(!app.services.wants_email(&user, MailKind::PublishUnconfirmed).await.unwrap());
    assert!(app.services.wants_email(&user, MailKind::PublishFailed).await.unwrap());
    assert!(app.services.marketing_consent(&user).await.unwrap(), "recorded as a consent");
    let page = b.get("/notifications/settings?msg=notifications_saved").await;
    assert!(page.body.contains("Your notification settings are saved."));
    assert!(page.body.contains("name=\"drafts_ready\" value=\"on\">"));

    // Unknown fields are refused, not ignored.
    let odd = b.submit("/notifications/settings", &[("verify_email", "")]).await;
    assert!(odd.status.is_client_error(), "{}", odd.status);
    // Signed out: to the login page.
    let mut anon = Browser::new(&app);
    assert_eq!(anon.get("/notifications/settings").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn one_click_unsubscribe_asks_on_get_and_acts_on_post_without_a_session() {
    let app = TestApp::new().await;
    let (user, _) = app.user("reader@example.com").await;
    let link = app.services.unsubscribe_link_for(user.id, MailKind::PublishFailed);
    let path = &link[app.public_url.len()..];
    let mut anon = Browser::new(&app);
    // A mail client posting from its own site or server: no cookie, no CSRF token, any origin.
    anon.extra.push(("origin".into(), "https://mail.example.net".into()));
    anon.extra.push(("sec-fetch-site".into(), "cross-site".into()));

    let asked = anon.get(path).await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(asked.body.contains("Unsubscribe?") && asked.body.contains(MailKind::PublishFailed.label()));
    assert!(app.services.wants_email(&user, MailKind::PublishFailed).await.unwrap(), "a GET changes nothing");

    for bad in [
        path.replace("sig=", "sig=x"),
        path.replace("k=publish_failed", "k=drafts_ready"),
        path.replace("k=publish_failed", "k=reset_password"),
        format!("/unsubscribe?u={}&k=publish_failed&sig=abc", user.id),
        "/unsubscribe".to_owned(),
    ] {
        let res = anon.post_raw(&bad, "List-Unsubscribe=One-Click").await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(res.body.contains("This link does not work"));
        assert_eq!(anon.get(&bad).await.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    assert!(app.services.wants_email(&user, MailKind::PublishFailed).await.unwrap());

    let done = anon.post_raw(path, "List-Unsubscribe=One-Click").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("You are unsubscribed"));
    assert!(!app.services.wants_email(&user, MailKind::PublishFailed).await.unwrap(), "at once");
    assert!(app.services.wants_email(&user, MailKind::DraftsReady).await.unwrap(), "that kind only");
    // Again: the same answer.
    assert_eq!(anon.post_raw(path, "List-Unsubscribe=One-Click").await.status, StatusCode::OK);
}
