//! Invariant I1 through the API: an approval is bound to the digest the reviewer saw, recorded
//! with who, when and channel `api`, and voided by any later edit.

use super::{call, get, post_body};
use crate::support::TestApp;
use nanopost_domain::role::{Role, Scope};
use serde_json::{Value, json};

#[tokio::test]
async fn approving_a_stale_digest_is_409_and_edits_void_approvals() {
    let app = TestApp::new().await;
    let team = app.team("review").await;
    let editor = app.api_token(team.user(Role::Editor), team.workspace, &Scope::ALL).await;
    let reviewer = app.api_token(team.user(Role::Reviewer), team.workspace, &Scope::ALL).await;
    let (e, r) = (Some(editor.as_str()), Some(reviewer.as_str()));

    let brand =
        call(&app, "POST", "/api/v1/brands", e, Some(json!({"name": "Acme", "timezone": "Europe/Berlin"}))).await;
    let brand_id = brand.ok(201)["id"].clone();
    let (variants, targets) = post_body("first caption");
    let created = call(
        &app,
        "POST",
        "/api/v1/posts",
        e,
        Some(json!({"brand_id": brand_id, "variants": variants,
        "targets": targets})),
    )
    .await;
    let post = created.ok(201).clone();
    assert_eq!(post["state"], "draft");
    let path = format!("/api/v1/posts/{}", post["id"].as_str().unwrap());
    assert_eq!(created.headers["location"], path.as_str());

    let submitted = call(&app, "POST", &format!("{path}/submit"), e, Some(json!({"version": post["version"]}))).await;
    assert_eq!(submitted.ok(200)["state"], "pending_review");
    let seen = get(&app, &path, &reviewer).await.ok(200).clone();
    let old_digest = seen["content_digest"].clone();
    assert!(old_digest.as_str().unwrap().starts_with("sha256:"));

    // The editor changes the caption while the reviewer looks at the old one.
    let (variants, targets) = post_body("second caption");
    let edited = call(
        &app,
        "PUT",
        &path,
        e,
        Some(json!({"version": seen["version"], "variants": variants,
        "targets": targets})),
    )
    .await;
    let edited = edited.ok(200).clone();
    assert_ne!(edited["content_digest"], old_digest);
    assert_eq!(edited["state"], "pending_review");

    // A stale version is refused as well.
    let stale = call(&app, "POST", &format!("{path}/submit"), e, Some(json!({"version": seen["version"]}))).await;
    stale.problem(409);

    let res = call(&app, "POST", &format!("{path}/approve"), r, Some(json!({"content_digest": old_digest}))).await;
    res.problem(409);
    let res =
        call(&app, "POST", &format!("{path}/reject"), r, Some(json!({"content_digest": old_digest, "reason": "x"})))
            .await;
    res.problem(409);
    let after = get(&app, &path, &reviewer).await.ok(200).clone();
    assert_eq!(after["state"], "pending_review");
    assert_eq!(after["approvals"], json!([]));
    assert_eq!(after["approval_id"], Value::Null);

    // An editor cannot approve, even with the right digest.
    let res =
        call(&app, "POST", &format!("{path}/approve"), e, Some(json!({"content_digest": edited["content_digest"]})))
            .await;
    res.problem(403);

    let approved =
        call(&app, "POST", &format!("{path}/approve"), r, Some(json!({"content_digest": edited["content_digest"]})))
            .await;
    let approved = approved.ok(200).clone();
    assert_eq!(approved["state"], "approved");
    assert!(approved["approval_id"].is_string());
    let view = get(&app, &path, &reviewer).await.ok(200).clone();
    let approvals = view["approvals"].as_array().unwrap();
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0]["channel"], "api");
    assert_eq!(approvals[0]["approver"], team.user(Role::Reviewer).id.to_string());
    assert_eq!(approvals[0]["approver_role"], "reviewer");
    assert_eq!(approvals[0]["digest"], edited["content_digest"]);
    assert_eq!(approvals[0]["current"], true);
    assert_eq!(approvals[0]["id"], approved["approval_id"]);
    assert!(approvals[0]["at"].as_str().unwrap().ends_with('Z'));

    // Approving twice is a conflict, not a second approval.
    let again =
        call(&app, "POST", &format!("{path}/approve"), r, Some(json!({"content_digest": edited["content_digest"]})))
            .await;
    again.problem(409);

    // Scheduling keeps the approval: time is not content.
    let scheduled = call(
        &app,
        "POST",
        &format!("{path}/schedule"),
        e,
        Some(json!({"version": approved["version"],
        "at": "2030-06-01T09:00"})),
    )
    .await;
    let scheduled = scheduled.ok(200).clone();
    assert_eq!(scheduled["state"], "scheduled");
    assert_eq!(scheduled["approval_id"], approved["approval_id"]);
    assert_eq!(scheduled["schedule"]["at"], "2030-06-01T09:00:00");
    assert_eq!(scheduled["schedule"]["timezone"], "Europe/Berlin");
    assert_eq!(scheduled["schedule"]["instant"], "2030-06-01T07:00:00Z");

    // Any edit after approval voids it and sends the post back to review.
    let (variants, targets) = post_body("third caption");
    let reedited = call(
        &app,
        "PUT",
        &path,
        e,
        Some(json!({"version": scheduled["version"], "variants": variants,
        "targets": targets})),
    )
    .await;
    let reedited = reedited.ok(200).clone();
    assert_eq!(reedited["state"], "pending_review");
    assert_eq!(reedited["approval_id"], Value::Null);
    let view = get(&app, &path, &reviewer).await.ok(200).clone();
    assert_eq!(view["approvals"][0]["current"], false, "the old approval is kept as history, not in force");

    // A reviewer rejects the current digest with a reason.
    let rejected = call(
        &app,
        "POST",
        &format!("{path}/reject"),
        r,
        Some(json!({"content_digest": reedited["content_digest"],
        "reason": "Too salesy"})),
    )
    .await;
    let rejected = rejected.ok(200).clone();
    assert_eq!(rejected["state"], "rejected");
    assert_eq!(rejected["rejection_reason"], "Too salesy");
}

#[tokio::test]
async fn schedules_in_the_past_are_invalid_and_null_unschedules() {
    let app = TestApp::new().await;
    let team = app.team("sched").await;
    let owner = app.actor(team.user(Role::Owner), team.workspace).await;
    let token = app.api_token(team.user(Role::Owner), team.workspace, &Scope::ALL).await;
    let b = super::brand(&app, &owner, "Acme").await;
    let p = super::draft(&app, &owner, &b, "hi").await;
    let path = format!("/api/v1/posts/{}/schedule", p.id);
    let res =
        call(&app, "POST", &path, Some(&token), Some(json!({"version": p.version, "at": "2001-01-01T09:00"}))).await;
    res.problem_on(422, "at");
    let res =
        call(&app, "POST", &path, Some(&token), Some(json!({"version": p.version, "at": "2030-01-01T09:00"}))).await;
    let v = res.ok(200)["version"].clone();
    let res = call(&app, "POST", &path, Some(&token), Some(json!({"version": v, "at": null}))).await;
    assert_eq!(res.ok(200)["schedule"], Value::Null);
}

#[tokio::test]
async fn archive_then_delete() {
    let app = TestApp::new().await;
    let team = app.team("arch").await;
    let owner = app.actor(team.user(Role::Owner), team.workspace).await;
    let token = app.api_token(team.user(Role::Editor), team.workspace, &Scope::ALL).await;
    let b = super::brand(&app, &owner, "Acme").await;
    let p = super::draft(&app, &owner, &b, "hi").await;
    let path = format!("/api/v1/posts/{}", p.id);
    let res = call(&app, "POST", &format!("{path}/archive"), Some(&token), Some(json!({"version": p.version}))).await;
    assert_eq!(res.ok(200)["state"], "archived");
    call(&app, "DELETE", &path, Some(&token), None).await.ok(204);
    get(&app, &path, &token).await.problem(404);
    call(&app, "DELETE", &path, Some(&token), None).await.problem(404);
}

#[tokio::test]
async fn approving_a_post_whose_linkedin_account_is_not_chosen_is_422_on_targets() {
    let app = TestApp::new().await;
    let team = app.team("targets").await;
    let owner = app.actor(team.user(Role::Owner), team.workspace).await;
    let reviewer = app.api_token(team.user(Role::Reviewer), team.workspace, &Scope::ALL).await;
    let brand = super::brand(&app, &owner, "Acme").await;
    super::two_linkedin_accounts(&app, &brand).await;
    let post = super::pending_linkedin(&app, &owner, &brand, "Member or page?").await;
    let path = format!("/api/v1/posts/{}", post.id);

    let seen = json!({"content_digest": post.content.digest().as_str()});
    let res = call(&app, "POST", &format!("{path}/approve"), Some(&reviewer), Some(seen)).await;
    let body = res.problem_on(422, "targets");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message
            .starts_with("Choose which LinkedIn account this post goes to (the brand has 2: Ada Lovelace, Acme Page)"),
        "{message}"
    );
    let now = get(&app, &path, &reviewer).await.ok(200).clone();
    assert_eq!(now["state"], "pending_review");
    assert_eq!(now["version"], post.version);

    // The editor names the Company Page; the new digest is approved.
    let editor = app.api_token(team.user(Role::Editor), team.workspace, &Scope::ALL).await;
    let body = json!({"version": post.version, "variants": [{"network": "linkedin", "caption": "Member or page?"}],
        "targets": [{"network": "linkedin", "account": "urn:li:organization:2"}]});
    let edited = call(&app, "PUT", &path, Some(&editor), Some(body)).await.ok(200).clone();
    let seen = json!({"content_digest": edited["content_digest"]});
    let res = call(&app, "POST", &format!("{path}/approve"), Some(&reviewer), Some(seen)).await;
    assert_eq!(res.ok(200)["state"], "approved");
}
