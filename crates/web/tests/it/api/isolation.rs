//! Invariant I3 through the API: a token of workspace B cannot see or change workspace A.

use super::{brand, call, get, pending, snapshot};
use crate::support::TestApp;
use nanopost_domain::role::{Role, Scope};
use serde_json::json;

#[tokio::test]
async fn a_token_of_another_workspace_gets_404_for_everything_of_a() {
    let app = TestApp::new().await;
    let a = app.team("a").await;
    let b = app.team("b").await;
    let owner_a = app.actor(a.user(Role::Owner), a.workspace).await;
    let brand_a = brand(&app, &owner_a, "A's brand").await;
    let post_a = pending(&app, &owner_a, &brand_a, "A's post").await;
    let inv_a = app.services.invite(&owner_a, "someone@a-invitee.test", Role::Viewer).await.unwrap();
    let (token_a, _) = app.services.create_api_token(&owner_a, "a", &Scope::ALL, None).await.unwrap();
    let member_a = a.user(Role::Viewer).id;
    let token_b = app.api_token(b.user(Role::Owner), b.workspace, &Scope::ALL).await;
    let before = snapshot(&app, &owner_a).await;

    let digest = post_a.content.digest().to_string();
    let brand_path = format!("/api/v1/brands/{}", brand_a.id);
    let post_path = format!("/api/v1/posts/{}", post_a.id);
    let edit = json!({"version": post_a.version, "variants": [{"network": "instagram", "caption": "pwned"}],
        "targets": [{"network": "instagram"}]});
    let requests = [
        ("GET", brand_path.clone(), None),
        ("PUT", brand_path.clone(), Some(json!({"name": "pwned"}))),
        ("DELETE", brand_path.clone(), None),
        ("GET", post_path.clone(), None),
        ("PUT", post_path.clone(), Some(edit)),
        ("DELETE", post_path.clone(), None),
        ("POST", format!("{post_path}/approve"), Some(json!({"content_digest": digest}))),
        ("POST", format!("{post_path}/reject"), Some(json!({"content_digest": digest, "reason": "x"}))),
        ("POST", format!("{post_path}/submit"), Some(json!({"version": post_a.version}))),
        ("POST", format!("{post_path}/schedule"), Some(json!({"version": post_a.version, "at": "2030-01-01T09:00"}))),
        ("POST", format!("{post_path}/archive"), Some(json!({"version": post_a.version}))),
        (
            "POST",
            "/api/v1/posts".to_owned(),
            Some(json!({"brand_id": brand_a.id, "variants": [{"network": "instagram", "caption": "x"}],
                "targets": [{"network": "instagram"}]})),
        ),
        ("PATCH", format!("/api/v1/members/{member_a}"), Some(json!({"role": "admin"}))),
        ("DELETE", format!("/api/v1/members/{member_a}"), None),
        ("DELETE", format!("/api/v1/invitations/{}", inv_a.id), None),
        ("DELETE", format!("/api/v1/tokens/{}", token_a.id), None),
    ];
    for (method, path, body) in requests {
        let res = call(&app, method, &path, Some(&token_b), body).await;
        assert_eq!(res.status, 404, "{method} {path}: {}", res.text);
        res.problem(404);
    }

    // Lists show only B's own data.
    for path in ["/api/v1/brands", &format!("/api/v1/posts?brand_id={}", brand_a.id), "/api/v1/posts"] {
        let res = get(&app, path, &token_b).await;
        assert_eq!(res.ok(200)["items"], json!([]), "{path}");
    }
    let members = get(&app, "/api/v1/members", &token_b).await;
    assert!(!members.text.contains(&member_a.to_string()));
    assert!(!members.text.contains("@a.test"));
    let ws = get(&app, "/api/v1/workspace", &token_b).await;
    assert_eq!(ws.ok(200)["id"], b.workspace.to_string());

    assert_eq!(snapshot(&app, &owner_a).await, before, "workspace A changed");
}
