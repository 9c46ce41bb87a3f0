//! Keyset pagination with `Link` headers; tokens shown once, never readable, dead when revoked.

use super::{brand, call, draft, get};
use crate::support::TestApp;
use nanopost_domain::role::{Role, Scope};
use serde_json::{Value, json};

fn next_link(res: &super::Res) -> Option<String> {
    let link = res.headers.get("link")?.to_str().unwrap().to_owned();
    assert!(link.ends_with("; rel=\"next\""), "{link}");
    Some(link.trim_start_matches('<').split('>').next().unwrap().to_owned())
}

#[tokio::test]
async fn brands_page_with_next_cursor_and_link_header() {
    let app = TestApp::new().await;
    let (user, ws) = app.user("pager@pages.test").await;
    let owner = app.actor(&user, ws).await;
    let token = app.api_token(&user, ws, &[Scope::Read]).await;
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(brand(&app, &owner, &format!("Brand {i}")).await.id.to_string());
    }

    let mut seen = Vec::new();
    let mut url = Some("/api/v1/brands?limit=2".to_owned());
    let mut pages = 0;
    while let Some(u) = url {
        let res = get(&app, &u, &token).await;
        let body = res.ok(200).clone();
        let items = body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|b| b["id"].as_str().unwrap().to_owned()));
        url = next_link(&res);
        match &url {
            Some(link) => {
                assert_eq!(body["next"], items.last().unwrap()["id"]);
                assert!(link.starts_with("/api/v1/brands?") && link.contains("limit=2"), "{link}");
                assert!(link.contains(&format!("after={}", body["next"].as_str().unwrap())), "{link}");
            }
            None => assert_eq!(body["next"], Value::Null),
        }
        pages += 1;
        assert!(pages <= 5, "pagination does not end");
    }
    assert_eq!(pages, 3);
    created.reverse();
    assert_eq!(seen, created, "newest first, each once");

    // One page holds everything: no next, no Link.
    let res = get(&app, "/api/v1/brands", &token).await;
    assert_eq!(res.ok(200)["items"].as_array().unwrap().len(), 5);
    assert!(res.headers.get("link").is_none());
    assert_eq!(res.json["next"], Value::Null);
}

#[tokio::test]
async fn post_pages_keep_their_filters_in_the_link() {
    let app = TestApp::new().await;
    let (user, ws) = app.user("pager@posts.test").await;
    let owner = app.actor(&user, ws).await;
    let token = app.api_token(&user, ws, &Scope::ALL).await;
    let a = brand(&app, &owner, "A").await;
    let b = brand(&app, &owner, "B").await;
    for i in 0..3 {
        draft(&app, &owner, &a, &format!("a{i}")).await;
        draft(&app, &owner, &b, &format!("b{i}")).await;
    }
    let first = get(&app, &format!("/api/v1/posts?brand_id={}&state=draft&limit=2", a.id), &token).await;
    assert_eq!(first.ok(200)["items"].as_array().unwrap().len(), 2);
    let link = next_link(&first).expect("a next page");
    assert!(link.contains(&format!("brand_id={}", a.id)) && link.contains("state=draft"), "{link}");
    let second = get(&app, &link, &token).await;
    let items = second.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert!(items.iter().all(|p| p["brand_id"] == a.id.to_string()));
    assert!(next_link(&second).is_none());
    let none = get(&app, &format!("/api/v1/posts?brand_id={}&state=approved", a.id), &token).await;
    assert_eq!(none.ok(200)["items"], json!([]));
}

#[tokio::test]
async fn a_token_secret_is_shown_once_and_revoked_tokens_are_401() {
    let app = TestApp::new().await;
    let team = app.team("tokens").await;
    let owner = app.actor(team.user(Role::Owner), team.workspace).await;
    // Tokens are created signed in (the services hand out the secret once) …
    let (meta, secret) =
        app.services.create_api_token(&owner, "deploy bot", &[Scope::Read, Scope::Write], None).await.unwrap();
    let res = get(&app, "/api/v1/tokens", &secret).await;
    let list = res.ok(200).clone();
    // … and the API lists them without the secret.
    assert!(!res.text.contains(&secret));
    let mine =
        list["items"].as_array().unwrap().iter().find(|t| t["id"] == meta.id.to_string()).expect("listed").clone();
    assert_eq!(mine["name"], "deploy bot");
    assert_eq!(mine["scopes"], json!(["read", "write"]));
    assert!(mine.get("secret").is_none() && mine.get("hash").is_none());
    assert!(mine["last_used_at"].is_string(), "use is recorded");
    // There is no way to read one token back.
    let one = get(&app, &format!("/api/v1/tokens/{}", meta.id), &secret).await;
    one.problem(405);
    // A token cannot mint more tokens: that takes a signed-in person.
    let res =
        call(&app, "POST", "/api/v1/tokens", Some(&secret), Some(json!({"name": "more", "scopes": ["read"]}))).await;
    res.problem(403);

    // Revoked: 401 at once, with a Bearer challenge.
    let other = app.api_token(team.user(Role::Owner), team.workspace, &Scope::ALL).await;
    call(&app, "DELETE", &format!("/api/v1/tokens/{}", meta.id), Some(&other), None).await.ok(204);
    let res = get(&app, "/api/v1/me", &secret).await;
    res.problem(401);
    assert!(res.headers["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    get(&app, "/api/v1/me", &other).await.ok(200);

    // Expired tokens stop working too.
    let (_, short) = app.services.create_api_token(&owner, "short", &[Scope::Read], Some(1)).await.unwrap();
    get(&app, "/api/v1/me", &short).await.ok(200);
    app.clock.advance(jiff::SignedDuration::from_hours(25));
    get(&app, "/api/v1/me", &short).await.problem(401);

    // Removing the creator from the workspace disables their tokens.
    let viewer = team.user(Role::Viewer);
    let viewer_token = app.api_token(viewer, team.workspace, &Scope::ALL).await;
    get(&app, "/api/v1/me", &viewer_token).await.ok(200);
    call(&app, "DELETE", &format!("/api/v1/members/{}", viewer.id), Some(&other), None).await.ok(204);
    get(&app, "/api/v1/me", &viewer_token).await.problem(401);
}

#[tokio::test]
async fn members_invitations_and_the_workspace() {
    let app = TestApp::new().await;
    let team = app.team("crew").await;
    let admin = app.api_token(team.user(Role::Admin), team.workspace, &Scope::ALL).await;
    let a = Some(admin.as_str());
    let ws = get(&app, "/api/v1/workspace", &admin).await;
    assert_eq!(ws.ok(200)["id"], team.workspace.to_string());
    let members = get(&app, "/api/v1/members", &admin).await.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(members.len(), 5);
    let roles: Vec<&str> = members.iter().map(|m| m["role"].as_str().unwrap()).collect();
    for r in ["owner", "admin", "editor", "reviewer", "viewer"] {
        assert!(roles.contains(&r));
    }

    let inv =
        call(&app, "POST", "/api/v1/invitations", a, Some(json!({"email": "New@Crew.test", "role": "editor"}))).await;
    let inv = inv.ok(201).clone();
    assert_eq!(inv["email"], "new@crew.test");
    assert_eq!(inv["role"], "editor");
    assert!(inv.get("token").is_none());
    let list = get(&app, "/api/v1/invitations", &admin).await;
    assert!(list.ok(200)["items"].as_array().unwrap().iter().any(|i| i["id"] == inv["id"]));
    call(&app, "DELETE", &format!("/api/v1/invitations/{}", inv["id"].as_str().unwrap()), a, None).await.ok(204);
    let list = get(&app, "/api/v1/invitations", &admin).await;
    assert!(!list.ok(200)["items"].as_array().unwrap().iter().any(|i| i["id"] == inv["id"]));

    // An admin cannot make owners, nor demote the owner.
    let editor = team.user(Role::Editor).id;
    let owner = team.user(Role::Owner).id;
    call(&app, "PATCH", &format!("/api/v1/members/{editor}"), a, Some(json!({"role": "owner"}))).await.problem(403);
    call(&app, "PATCH", &format!("/api/v1/members/{owner}"), a, Some(json!({"role": "viewer"}))).await.problem(403);
    call(&app, "PATCH", &format!("/api/v1/members/{editor}"), a, Some(json!({"role": "reviewer"}))).await.ok(204);
    let members = get(&app, "/api/v1/members", &admin).await.ok(200)["items"].clone();
    let changed = members.as_array().unwrap().iter().find(|m| m["user_id"] == editor.to_string()).unwrap().clone();
    assert_eq!(changed["role"], "reviewer");
    // The last owner cannot leave.
    let owner_token = app.api_token(team.user(Role::Owner), team.workspace, &Scope::ALL).await;
    call(&app, "DELETE", &format!("/api/v1/members/{owner}"), Some(&owner_token), None).await.problem(409);
    call(&app, "PATCH", &format!("/api/v1/members/{owner}"), Some(&owner_token), Some(json!({"role": "admin"})))
        .await
        .problem(409);
}
