//! `GET /api/v1/notifications`: the caller's own notifications in the token's workspace.

use super::{brand, get};
use crate::support::TestApp;
use nanopost_domain::role::{Role, Scope};
use nanopost_services::Notice;

#[tokio::test]
async fn lists_the_callers_notifications_with_the_unread_count() {
    let app = TestApp::new().await;
    let team = app.team("api-notes").await;
    let ws = team.workspace;
    let owner = team.user(Role::Owner);
    let actor = app.actor(owner, ws).await;
    let b = brand(&app, &actor, "Bakery").await;
    for count in 1..=3 {
        app.services.notify(ws, Notice::DraftsReady { brand: b.id, count }).await.unwrap();
    }
    let token = app.api_token(owner, ws, &[Scope::Read]).await;

    let res = get(&app, "/api/v1/notifications?limit=2", &token).await;
    let body = res.ok(200);
    assert_eq!(body["unread"], 3);
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["subject"], "3 new drafts for Bakery are ready for review", "newest first");
    assert_eq!(items[0]["kind"], "drafts_ready");
    assert_eq!(items[0]["link"], format!("/w/{ws}/posts?brand={}", b.id));
    assert!(items[0]["read_at"].is_null());
    let next = body["next"].as_str().unwrap().to_owned();
    assert!(res.headers["link"].to_str().unwrap().contains(&format!("after={next}")));
    let rest = get(&app, &format!("/api/v1/notifications?limit=2&after={next}"), &token).await;
    assert_eq!(rest.ok(200)["items"].as_array().unwrap().len(), 1);

    let id = items[0]["id"].as_str().unwrap().parse().unwrap();
    app.services.mark_notification_read(&actor, id).await.unwrap();
    let unread = get(&app, "/api/v1/notifications?unread=true", &token).await;
    let body = unread.ok(200);
    assert_eq!(body["unread"], 2);
    assert_eq!(body["items"].as_array().unwrap().len(), 2);

    // Another member's token sees their own (the viewer is not concerned by drafts).
    let viewer_token = app.api_token(team.user(Role::Viewer), ws, &[Scope::Read]).await;
    let theirs = get(&app, "/api/v1/notifications", &viewer_token).await;
    assert_eq!(theirs.ok(200)["items"].as_array().unwrap().len(), 0);
    // Another workspace's token: nothing of this one.
    let (stranger, other_ws) = app.user("stranger@example.com").await;
    let stranger_token = app.api_token(&stranger, other_ws, &[Scope::Read]).await;
    assert_eq!(get(&app, "/api/v1/notifications", &stranger_token).await.ok(200)["unread"], 0);
}

#[tokio::test]
async fn bad_parameters_and_missing_tokens_are_problems() {
    let app = TestApp::new().await;
    let (user, ws) = app.user("me@example.com").await;
    let token = app.api_token(&user, ws, &[Scope::Read]).await;
    get(&app, "/api/v1/notifications?unread=maybe", &token).await.problem(400);
    get(&app, "/api/v1/notifications?limit=0", &token).await.problem(400);
    get(&app, "/api/v1/notifications?after=not-a-uuid", &token).await.problem(400);
    get(&app, "/api/v1/notifications?colour=red", &token).await.problem(400);
    get(&app, "/api/v1/notifications", "np_nonsense").await.problem(401);
}
