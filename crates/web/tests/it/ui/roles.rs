//! The role matrix as the pages apply it: every page for every role, the buttons each role
//! sees, forbidden actions refused with 403 and nothing stored, and other workspaces invisible.

use super::{Browser, brand, draft};
use crate::support::TestApp;
use axum::http::StatusCode;
use nanopost_domain::role::Role;
use nanopost_storage::{PageRequest, PostFilter};

const EDITORS: [Role; 3] = [Role::Owner, Role::Admin, Role::Editor];

#[tokio::test]
async fn every_page_for_every_role() {
    let app = TestApp::new().await;
    let team = app.team("matrix").await;
    let ws = team.workspace;
    let owner = team.user(Role::Owner);
    let b = brand(&app, owner, ws, "Acme").await;
    let p = draft(&app, owner, ws, b.id, "hello").await;
    let actor = app.actor(owner, ws).await;
    app.services.submit_post(&actor, p.id, p.version).await.unwrap();
    let w = format!("/w/{ws}");

    // (path, roles that may open it); everyone else gets 403.
    let pages: Vec<(String, Vec<Role>)> = vec![
        (w.clone(), Role::ALL.to_vec()),
        (format!("{w}/members"), Role::ALL.to_vec()),
        (format!("{w}/tokens"), Role::ALL.to_vec()),
        (format!("{w}/brands"), Role::ALL.to_vec()),
        (format!("{w}/brands/new"), EDITORS.to_vec()),
        (format!("{w}/brands/{}", b.id), Role::ALL.to_vec()),
        (format!("{w}/brands/{}/accounts", b.id), Role::ALL.to_vec()),
        (format!("{w}/posts"), Role::ALL.to_vec()),
        (format!("{w}/posts?state=pending_review&brand={}", b.id), Role::ALL.to_vec()),
        (format!("{w}/posts/new"), EDITORS.to_vec()),
        (format!("{w}/posts/{}", p.id), Role::ALL.to_vec()),
        (format!("{w}/audit"), vec![Role::Owner, Role::Admin]),
        (format!("{w}/privacy"), vec![Role::Owner]),
    ];
    for role in Role::ALL {
        let mut br = Browser::signed_in(&app, team.user(role)).await;
        for (path, allowed) in &pages {
            let res = br.get(path).await;
            let expected = if allowed.contains(&role) { StatusCode::OK } else { StatusCode::FORBIDDEN };
            assert_eq!(res.status, expected, "{role} GET {path}: {}", res.body);
            res.assert_html();
        }

        // Buttons follow the role.
        let can_edit = EDITORS.contains(&role);
        let can_review = matches!(role, Role::Owner | Role::Admin | Role::Reviewer);
        let can_manage = matches!(role, Role::Owner | Role::Admin);
        let editor = br.get(&format!("{w}/posts/{}", p.id)).await;
        assert_eq!(editor.body.contains(">Approve</button>"), can_review, "{role}: approve button");
        assert_eq!(editor.body.contains(">Reject</button>"), can_review, "{role}: reject button");
        assert_eq!(editor.body.contains(">Save changes</button>"), can_edit, "{role}: save button");
        assert_eq!(editor.body.contains(">Archive</button>"), can_edit, "{role}: archive button");
        let brands = br.get(&format!("{w}/brands")).await;
        assert_eq!(brands.body.contains(">New brand</a>"), can_edit, "{role}: new brand link");
        let brand_page = br.get(&format!("{w}/brands/{}", b.id)).await;
        assert_eq!(brand_page.body.contains(">Save brand</button>"), can_edit, "{role}: save brand");
        assert_eq!(brand_page.body.contains(">Delete brand</button>"), can_edit, "{role}: delete brand");
        let members = br.get(&format!("{w}/members")).await;
        assert_eq!(members.body.contains(">Send invitation</button>"), can_manage, "{role}: invite form");
        assert_eq!(members.body.contains("Pending invitations"), can_manage, "{role}: invitations");
    }
}

#[tokio::test]
async fn forbidden_actions_are_refused_with_403_and_store_nothing() {
    let app = TestApp::new().await;
    let team = app.team("deny").await;
    let ws = team.workspace;
    let owner = team.user(Role::Owner);
    let b = brand(&app, owner, ws, "Acme").await;
    let p = draft(&app, owner, ws, b.id, "hello").await;
    let actor = app.actor(owner, ws).await;
    let p = app.services.submit_post(&actor, p.id, p.version).await.unwrap();
    let digest = p.content.digest();
    let w = format!("/w/{ws}");
    let v = p.version.to_string();
    let snapshot = || async {
        let brands = app.services.brands(&actor, PageRequest::first(100)).await.unwrap().items;
        let posts = app.services.posts(&actor, &PostFilter::default(), PageRequest::first(100)).await.unwrap().items;
        let members = app.services.members(&actor).await.unwrap();
        let inv = app.services.invitations(&actor).await.unwrap();
        format!(
            "{brands:?}{:?}{:?}{}",
            posts.iter().map(|p| (p.id, p.version, p.state)).collect::<Vec<_>>(),
            members.iter().map(|m| (m.user_id, m.role)).collect::<Vec<_>>(),
            inv.len()
        )
    };
    let before = snapshot().await;
    let viewer_id = team.user(Role::Viewer).id.to_string();

    type Case<'a> = (Role, String, Vec<(&'a str, String)>);
    let cases: Vec<Case> = vec![
        (Role::Viewer, format!("{w}/brands"), vec![("name", "Nope".into())]),
        (Role::Reviewer, format!("{w}/brands"), vec![("name", "Nope".into())]),
        (Role::Viewer, format!("{w}/brands/{}", b.id), vec![("name", "Renamed".into())]),
        (Role::Reviewer, format!("{w}/brands/{}/delete", b.id), vec![]),
        (Role::Editor, format!("{w}/posts/{}/approve", p.id), vec![("content_digest", digest.to_string())]),
        (
            Role::Editor,
            format!("{w}/posts/{}/reject", p.id),
            vec![("content_digest", digest.to_string()), ("reason", "no".into())],
        ),
        (Role::Viewer, format!("{w}/posts/{}/approve", p.id), vec![("content_digest", digest.to_string())]),
        (
            Role::Reviewer,
            format!("{w}/posts/{}", p.id),
            vec![("version", v.clone()), ("target_instagram", "on".into()), ("caption_instagram", "rewritten".into())],
        ),
        (Role::Reviewer, format!("{w}/posts/{}/archive", p.id), vec![("version", v.clone())]),
        (Role::Viewer, format!("{w}/posts/{}/delete", p.id), vec![]),
        (
            Role::Reviewer,
            format!("{w}/posts"),
            vec![("brand_id", b.id.to_string()), ("target_instagram", "on".into()), ("caption_instagram", "x".into())],
        ),
        (
            Role::Editor,
            format!("{w}/members/invite"),
            vec![("email", "x@example.com".into()), ("role", "viewer".into())],
        ),
        (Role::Editor, format!("{w}/members/{viewer_id}/role"), vec![("role", "admin".into())]),
        (Role::Reviewer, format!("{w}/members/{viewer_id}/remove"), vec![]),
        (Role::Admin, format!("{w}/members/{}/role", owner.id), vec![("role", "viewer".into())]),
        (Role::Editor, format!("{w}/brands/{}/accounts/connect", b.id), vec![("login", "tiktok".into())]),
        (Role::Reviewer, format!("{w}/brands/{}/accounts/connect", b.id), vec![("login", "linkedin".into())]),
        (
            Role::Editor,
            format!("{w}/brands/{}/accounts/{}/disconnect", b.id, nanopost_storage::ConnectedAccountId::new()),
            vec![],
        ),
    ];
    for (role, path, fields) in cases {
        let mut br = Browser::signed_in(&app, team.user(role)).await;
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let res = br.submit(&path, &fields).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{role} POST {path}: {}", res.body);
        res.assert_html();
        assert!(res.body.contains("<h1>Not allowed</h1>"), "{}", res.body);
        assert_eq!(snapshot().await, before, "{role} POST {path} changed something");
    }
}

#[tokio::test]
async fn other_workspaces_are_invisible() {
    let app = TestApp::new().await;
    let team = app.team("home").await;
    let ws = team.workspace;
    let owner = team.user(Role::Owner);
    let b = brand(&app, owner, ws, "Secret brand").await;
    let p = draft(&app, owner, ws, b.id, "secret caption").await;
    let (outsider, own_ws) = app.user("outsider@example.com").await;
    let mut o = Browser::signed_in(&app, &outsider).await;
    let w = format!("/w/{ws}");
    for path in [
        w.clone(),
        format!("{w}/members"),
        format!("{w}/tokens"),
        format!("{w}/brands"),
        format!("{w}/brands/new"),
        format!("{w}/brands/{}", b.id),
        format!("{w}/posts"),
        format!("{w}/posts/new"),
        format!("{w}/posts/{}", p.id),
    ] {
        let res = o.get(&path).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "GET {path}");
        assert!(!res.body.contains("Secret brand") && !res.body.contains("secret caption"));
    }
    let res = o.submit(&format!("{w}/brands"), &[("name", "Planted")]).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let res = o.submit(&format!("{w}/brands/{}/delete", b.id), &[]).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    // Ids of another workspace under one's own workspace are not found either.
    let mine = format!("/w/{own_ws}");
    assert_eq!(o.get(&format!("{mine}/brands/{}", b.id)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(o.get(&format!("{mine}/posts/{}", p.id)).await.status, StatusCode::NOT_FOUND);
    let res = o.submit(&format!("{mine}/posts/{}/delete", p.id), &[]).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let res = o.submit(&format!("{mine}/brands/{}/delete", b.id), &[]).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    // Malformed ids are simply not found.
    assert_eq!(o.get("/w/not-a-uuid").await.status, StatusCode::NOT_FOUND);
    assert_eq!(o.get(&format!("{mine}/posts/123")).await.status, StatusCode::NOT_FOUND);
    let actor = app.actor(owner, ws).await;
    assert_eq!(app.services.brands(&actor, PageRequest::first(10)).await.unwrap().items.len(), 1);
    assert!(app.services.post(&actor, p.id).await.is_ok());
    // The switcher lists only one's own workspaces.
    let dash = o.get(&mine).await;
    assert!(!dash.body.contains(&ws.to_string()));
}
