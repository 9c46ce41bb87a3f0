//! The generation API: ask (202 with the generation's URL), follow, regenerate, flags and
//! usage; scopes and roles; hostile input and the quota as problem+json.

use super::{Res, brand, call, get};
use crate::support::TestApp;
use axum::http::header;
use nanopost_domain::clock::Clock;
use nanopost_domain::role::{Role, Scope};
use nanopost_jobs::{Handlers, Runtime, RuntimeConfig};
use nanopost_services::generation::Generation;
use serde_json::{Value, json};
use std::sync::Arc;

async fn run_jobs(app: &TestApp) -> usize {
    let clock: Arc<dyn Clock> = app.clock.clone();
    let handlers = Generation::new(&app.services).register(Handlers::new());
    Runtime::new(app.services.queue().clone(), handlers, RuntimeConfig::default(), clock)
        .run_until_idle(100)
        .await
        .unwrap()
}

fn accepted(res: &Res) -> String {
    let body = res.ok(202);
    let location = res.headers[header::LOCATION].to_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/v1/generations/{}", body["id"].as_str().unwrap()));
    location
}

#[tokio::test]
async fn a_generation_is_accepted_followed_and_its_draft_regenerated() {
    let app = TestApp::new().await;
    let (owner, ws) = app.user("api@example.com").await;
    let actor = app.actor(&owner, ws).await;
    let b = brand(&app, &actor, "Bakery").await;
    let token = app.api_token(&owner, ws, &[Scope::Read, Scope::Write]).await;

    let body = json!({"kind": "post", "networks": ["instagram", "tiktok"], "brief": "Rye at seven"});
    let res = call(&app, "POST", &format!("/api/v1/brands/{}/generations", b.id), Some(&token), Some(body)).await;
    let location = accepted(&res);
    assert_eq!((res.json["state"].as_str(), res.json["kind"].as_str()), (Some("queued"), Some("post")));
    assert_eq!(res.json["networks"], json!(["instagram", "tiktok"]));

    run_jobs(&app).await;
    let done = get(&app, &location, &token).await;
    let g = done.ok(200);
    assert_eq!(g["state"], "done", "{}", done.text);
    assert_eq!((g["offline"].as_bool(), g["provider"].as_str()), (Some(true), Some("offline")));
    let post_id = g["drafts"][0]["post_id"].as_str().unwrap().to_owned();
    let post = get(&app, &format!("/api/v1/posts/{post_id}"), &token).await;
    assert_eq!(post.ok(200)["state"], "pending_review");
    assert_eq!(get(&app, &format!("/api/v1/posts/{post_id}/flags"), &token).await.ok(200), &json!([]));

    let res = call(
        &app,
        "POST",
        &format!("/api/v1/posts/{post_id}/regenerate"),
        Some(&token),
        Some(json!({"feedback": "warmer"})),
    )
    .await;
    let again = accepted(&res);
    run_jobs(&app).await;
    let g = get(&app, &again, &token).await;
    assert_eq!(g.ok(200)["state"], "done");
    assert_eq!(g.json["drafts"][0]["post_id"].as_str(), Some(post_id.as_str()));

    let usage = get(&app, "/api/v1/usage", &token).await;
    let u = usage.ok(200);
    assert_eq!((u["generations"].as_u64(), u["quota"].as_u64(), u["images"].as_u64()), (Some(2), Some(0), Some(1)));
    assert!(u["remaining"].is_null(), "no limit, no remaining");
}

#[tokio::test]
async fn a_plan_reports_its_suggested_times_and_flags_are_listed() {
    let app = TestApp::new().await;
    let (owner, ws) = app.user("plan@example.com").await;
    let actor = app.actor(&owner, ws).await;
    let input = nanopost_domain::brand::BrandInput {
        name: "Bakery".into(),
        timezone: "Europe/Berlin".into(),
        avoid_words: vec!["cheap".into()],
        slots: vec!["tue 08:30".into()],
        ..Default::default()
    };
    let b = app.services.create_brand(&actor, &input).await.unwrap();
    let token = app.api_token(&owner, ws, &[Scope::Read, Scope::Write]).await;
    let body = json!({"kind": "plan", "networks": ["linkedin"], "period": "month"});
    let res = call(&app, "POST", &format!("/api/v1/brands/{}/generations", b.id), Some(&token), Some(body)).await;
    accepted(&res);
    let times = res.json["suggested_times"].as_array().unwrap();
    assert!(
        times.len() >= 4 && times.iter().all(|t| t.as_str().unwrap().contains("T08:30:00 Europe/Berlin")),
        "{times:?}"
    );
    run_jobs(&app).await;
    let g = get(&app, &format!("/api/v1/generations/{}", res.json["id"].as_str().unwrap()), &token).await;
    let drafts = g.ok(200)["drafts"].as_array().unwrap();
    assert_eq!(drafts.len(), times.len());
    assert!(drafts.iter().all(|d| d["timezone"] == "Europe/Berlin" && d["suggested_at"].is_string()));

    let mine = super::content("So cheap!");
    let post = app.services.create_post(&actor, b.id, mine).await.unwrap();
    let flags = get(&app, &format!("/api/v1/posts/{}/flags", post.id), &token).await;
    assert_eq!(flags.ok(200)[0]["kind"], "avoid_word");
    assert_eq!(flags.json[0]["network"], "instagram");
}

#[tokio::test]
async fn hostile_input_scopes_and_roles_are_problem_json() {
    let app = TestApp::new().await;
    let team = app.team("genapi").await;
    let ws = team.workspace;
    let owner = team.user(Role::Owner);
    let actor = app.actor(owner, ws).await;
    let b = brand(&app, &actor, "Bakery").await;
    let token = app.api_token(owner, ws, &[Scope::Read, Scope::Write]).await;
    let path = format!("/api/v1/brands/{}/generations", b.id);
    let post = |body: Value| {
        let (app, path, token) = (&app, path.clone(), token.clone());
        async move { call(app, "POST", &path, Some(&token), Some(body)).await }
    };

    post(json!({"kind": "poem", "networks": ["instagram"]})).await.problem(422);
    post(json!({"kind": "post"})).await.problem_on(422, "networks");
    post(json!({"kind": "post", "networks": []})).await.problem_on(422, "networks");
    post(json!({"kind": "post", "networks": ["myspace"]})).await.problem(422);
    post(json!({"kind": "post", "networks": ["instagram"], "brief": "x".repeat(2_001)})).await.problem_on(422, "brief");
    post(json!({"kind": "post", "networks": ["instagram"], "secret": 1})).await.problem(422);
    post(json!({"kind": "plan", "networks": ["instagram"], "period": "week", "count": 0}))
        .await
        .problem_on(422, "count");
    post(json!({"kind": "plan", "networks": ["instagram"], "period": "decade"})).await.problem(422);
    post(json!(["post"])).await.problem(422);
    let not_json = super::raw(&app, "POST", &path, Some(&token), Some("text/plain"), b"kind=post".to_vec()).await;
    not_json.problem(415);
    let truncated =
        super::raw(&app, "POST", &path, Some(&token), Some("application/json"), b"{\"kind\": \"po".to_vec()).await;
    truncated.problem(400);
    call(&app, "POST", "/api/v1/brands/not-a-uuid/generations", Some(&token), Some(json!({}))).await.problem(400);
    get(&app, "/api/v1/generations/not-a-uuid", &token).await.problem(400);
    get(&app, &format!("/api/v1/generations/{}", uuid::Uuid::now_v7()), &token).await.problem(404);

    // Scopes and roles: reading is not writing; a viewer cannot generate.
    let read_only = app.api_token(owner, ws, &[Scope::Read]).await;
    call(&app, "POST", &path, Some(&read_only), Some(json!({"kind": "post", "networks": ["instagram"]})))
        .await
        .problem(403);
    let viewer = app.api_token(team.user(Role::Viewer), ws, &[Scope::Read, Scope::Write]).await;
    call(&app, "POST", &path, Some(&viewer), Some(json!({"kind": "post", "networks": ["instagram"]})))
        .await
        .problem(403);
    call(&app, "POST", &path, None, Some(json!({"kind": "post", "networks": ["instagram"]}))).await.problem(401);
    let draft = app.services.create_post(&actor, b.id, super::content("hi")).await.unwrap();
    let regen = format!("/api/v1/posts/{}/regenerate", draft.id);
    call(&app, "POST", &regen, Some(&token), Some(json!({"feedback": ""}))).await.problem_on(422, "feedback");
    call(&app, "POST", &regen, Some(&token), Some(json!({}))).await.problem_on(422, "feedback");
    call(&app, "POST", &regen, Some(&viewer), Some(json!({"feedback": "x"}))).await.problem(403);

    // Another workspace's brand, post and generation are not found.
    let (stranger, theirs) = app.user("stranger@example.com").await;
    let their_token = app.api_token(&stranger, theirs, &[Scope::Read, Scope::Write]).await;
    call(&app, "POST", &path, Some(&their_token), Some(json!({"kind": "post", "networks": ["instagram"]})))
        .await
        .problem(404);
    call(&app, "POST", &regen, Some(&their_token), Some(json!({"feedback": "x"}))).await.problem(404);
    let mine = call(&app, "POST", &path, Some(&token), Some(json!({"kind": "post", "networks": ["instagram"]}))).await;
    let location = accepted(&mine);
    get(&app, &location, &their_token).await.problem(404);
    get(&app, &format!("/api/v1/posts/{}/flags", draft.id), &their_token).await.problem(404);
    let usage = get(&app, "/api/v1/usage", &token).await;
    assert_eq!(usage.ok(200)["generations"], 1, "only the accepted one counts");
}

#[tokio::test]
async fn the_quota_is_a_409_with_a_sentence() {
    let app = TestApp::with_config(|c| c.generation.monthly_quota = 1).await;
    let (owner, ws) = app.user("quota@example.com").await;
    let actor = app.actor(&owner, ws).await;
    let b = brand(&app, &actor, "Bakery").await;
    let token = app.api_token(&owner, ws, &[Scope::Read, Scope::Write]).await;
    let path = format!("/api/v1/brands/{}/generations", b.id);
    let body = json!({"kind": "post", "networks": ["instagram"]});
    accepted(&call(&app, "POST", &path, Some(&token), Some(body.clone())).await);
    let refused = call(&app, "POST", &path, Some(&token), Some(body)).await;
    let p = refused.problem(409);
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.contains("used its 1 AI generations") && detail.contains("(UTC)"), "{detail}");
    let u = get(&app, "/api/v1/usage", &token).await;
    assert_eq!((u.ok(200)["quota"].as_u64(), u.json["remaining"].as_u64()), (Some(1), Some(0)));
}
