//! Publishing through the API: publish now, each target's publication, retry, and resolving an
//! unconfirmed one; with roles and hostile input.

use super::{call, get, pending};
use crate::support::TestApp;
use nanopost_domain::clock::Clock;
use nanopost_domain::role::{Role, Scope};
use nanopost_jobs::{Handlers, Runtime, RuntimeConfig};
use nanopost_platforms::vault::Networks;
use nanopost_services::publishing::Publishing;
use serde_json::json;
use std::sync::Arc;

/// Runs due publishing jobs on an installation with no network configured.
async fn run_jobs(app: &TestApp) -> usize {
    let accounts = crate::support::accounts(app, Networks::default());
    let clock: Arc<dyn Clock> = app.clock.clone();
    let handlers = Publishing::new(&accounts).register(Handlers::new());
    let runtime = Runtime::new(app.services.queue().clone(), handlers, RuntimeConfig::default(), clock);
    runtime.run_until_idle(100).await.unwrap()
}

#[tokio::test]
async fn publish_now_lists_each_target_and_a_failed_one_can_be_retried() {
    let app = TestApp::new().await;
    let team = app.team("pubapi").await;
    let owner = app.actor(team.user(Role::Owner), team.workspace).await;
    let editor = app.api_token(team.user(Role::Editor), team.workspace, &Scope::ALL).await;
    let viewer = app.api_token(team.user(Role::Viewer), team.workspace, &Scope::ALL).await;
    let brand = super::brand(&app, &owner, "Acme").await;
    let post = pending(&app, &owner, &brand, "Hello").await;
    let post = app.services.approve_post(&owner, post.id, &post.content.digest()).await.unwrap();
    let path = format!("/api/v1/posts/{}", post.id);

    // Refusals first: they change nothing.
    let res =
        call(&app, "POST", &format!("{path}/publish"), Some(&viewer), Some(json!({"version": post.version}))).await;
    res.problem(403);
    let stale = json!({"version": post.version - 1});
    call(&app, "POST", &format!("{path}/publish"), Some(&editor), Some(stale)).await.problem(409);
    call(&app, "POST", &format!("{path}/publish"), Some(&editor), Some(json!({"version": "x"})))
        .await
        .problem_on(422, "version");
    call(&app, "POST", &format!("{path}/publish"), Some(&editor), Some(json!({}))).await.problem(422);
    assert_eq!(get(&app, &path, &editor).await.ok(200)["state"], "approved");

    let res =
        call(&app, "POST", &format!("{path}/publish"), Some(&editor), Some(json!({"version": post.version}))).await;
    assert_eq!(res.ok(200)["state"], "scheduled");
    assert_eq!(run_jobs(&app).await, 1, "one publish job; no publication could start");
    let list = get(&app, &format!("{path}/publications"), &viewer).await;
    let list = list.ok(200).as_array().unwrap().clone();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["network"], "instagram");
    assert_eq!(list[0]["state"], "failed");
    assert_eq!(list[0]["error_class"], "no_account");
    assert!(list[0]["error"].as_str().unwrap().contains("no Instagram account is connected"), "{list:?}");
    let now = get(&app, &path, &editor).await;
    assert_eq!(now.ok(200)["state"], "failed");

    // Retry: goes again (and fails again the same way, since nothing was connected).
    let version = now.json["version"].clone();
    let res = call(&app, "POST", &format!("{path}/retry"), Some(&editor), Some(json!({"version": version}))).await;
    assert_eq!(res.ok(200)["state"], "scheduled");
    run_jobs(&app).await;
    assert_eq!(get(&app, &path, &editor).await.ok(200)["state"], "failed");

    // Resolving a publication that is not unconfirmed is a conflict; bad bodies are 400/422.
    let id = list[0]["id"].as_str().unwrap();
    let resolve = format!("/api/v1/publications/{id}/resolve");
    call(&app, "POST", &resolve, Some(&editor), Some(json!({"outcome": "absent"}))).await.problem(409);
    call(&app, "POST", &resolve, Some(&editor), Some(json!({"outcome": "maybe"}))).await.problem(422);
    call(&app, "POST", &resolve, Some(&viewer), Some(json!({"outcome": "absent"}))).await.problem(403);
    let unknown = format!("/api/v1/publications/{}/resolve", uuid::Uuid::now_v7());
    call(&app, "POST", &unknown, Some(&editor), Some(json!({"outcome": "absent"}))).await.problem(404);

    // Another workspace sees none of it.
    let other = app.team("other").await;
    let stranger = app.api_token(other.user(Role::Owner), other.workspace, &Scope::ALL).await;
    get(&app, &format!("{path}/publications"), &stranger).await.problem(404);
    call(&app, "POST", &resolve, Some(&stranger), Some(json!({"outcome": "absent"}))).await.problem(404);
}
