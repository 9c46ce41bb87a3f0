//! The operator's page of rights requests: operators only (404 for everybody else), overdue
//! first and marked, verify and close through CSRF-protected forms, the instance audit shown.

use super::Browser;
use crate::support::TestApp;
use axum::http::StatusCode;
use jiff::SignedDuration;
use nanopost_services::privacy::Keeper;
use nanopost_storage::RightKind;

const PAGE: &str = "/operator/rights-requests";
const DAY: SignedDuration = SignedDuration::from_hours(24);

#[tokio::test]
async fn only_operators_see_the_register_everybody_else_gets_404() {
    let app = TestApp::new().await;
    let (user, _) = app.user("member@example.com").await;
    let r = app.services.record_rights_request(Keeper::CommandLine, RightKind::Access, "a@example.com").await.unwrap();
    assert_eq!(Browser::new(&app).get(PAGE).await.status, StatusCode::NOT_FOUND, "anonymous");
    let mut b = Browser::signed_in(&app, &user).await;
    let page = b.get(PAGE).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "a signed-in non-operator");
    assert!(!page.body.contains("a@example.com"));
    let closed = b.submit(&format!("{PAGE}/{}/close", r.id), &[("result", "refused"), ("outcome", "no reason")]).await;
    assert_eq!(closed.status, StatusCode::NOT_FOUND, "forms too");
    let recorded = b.submit(PAGE, &[("kind", "access"), ("email", "b@example.com")]).await;
    assert_eq!(recorded.status, StatusCode::NOT_FOUND);
    assert_eq!(app.services.rights_requests_due(DAY * 60).await.unwrap().len(), 1, "nothing changed");
}

#[tokio::test]
async fn an_operator_sees_overdue_first_and_verifies_and_closes_through_forms() {
    let app = TestApp::new().await;
    let (op, _) = app.user("operator@example.com").await;
    app.services.grant_operator("operator@example.com").await.unwrap();
    let s = &app.services;
    let old = s.record_rights_request(Keeper::CommandLine, RightKind::Deletion, "late@example.com").await.unwrap();
    app.clock.advance(DAY * 27);
    let soon = s.record_rights_request(Keeper::CommandLine, RightKind::Access, "<b>x</b>@example.com").await;
    assert!(soon.is_err(), "not an address");
    let newer = s.record_rights_request(Keeper::CommandLine, RightKind::Objection, "new@example.com").await.unwrap();
    app.clock.advance(DAY * 4);

    let mut b = Browser::signed_in(&app, &op).await;
    let page = b.get(PAGE).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let (late_at, new_at) = (page.body.find("late@example.com").unwrap(), page.body.find("new@example.com").unwrap());
    assert!(late_at < new_at, "overdue first");
    assert!(page.body.contains(&format!("id=\"request-{}\" class=\"overdue\"", old.id)));
    assert!(page.body.contains("id=\"overdue-count\">1 overdue."));
    assert!(!page.body.contains(&format!("id=\"request-{}\" class=\"overdue\"", newer.id)));

    // A forged form changes nothing.
    let forged = b
        .post(&format!("{PAGE}/{}/verify", old.id), &[("csrf", "not-the-token"), ("how", "reply from the address")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // Completing before verifying is refused with a sentence; refusing needs no verification.
    let early = b.submit(&format!("{PAGE}/{}/close", old.id), &[("result", "completed"), ("outcome", "erased")]).await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    assert!(
        early.body.contains("verify the requester") || early.body.contains("Verify the requester"),
        "{}",
        early.body
    );
    let verified = b.submit(&format!("{PAGE}/{}/verify", old.id), &[("how", "reply from the address")]).await;
    assert_eq!(verified.status, StatusCode::SEE_OTHER, "{}", verified.body);
    let closed =
        b.submit(&format!("{PAGE}/{}/close", old.id), &[("result", "completed"), ("outcome", "account erased")]).await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER, "{}", closed.body);
    let bad = b.submit(&format!("{PAGE}/{}/close", newer.id), &[("result", "maybe"), ("outcome", "x")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(b.submit(&format!("{PAGE}/not-an-id/verify"), &[("how", "xyz")]).await.status, StatusCode::NOT_FOUND);
    let recorded = b.submit(PAGE, &[("kind", "rectification"), ("email", "fix@example.com")]).await;
    assert_eq!(recorded.status, StatusCode::SEE_OTHER);

    let page = b.get(PAGE).await;
    assert!(!page.body.contains("late@example.com"), "closed requests leave the list");
    assert!(page.body.contains("fix@example.com") && page.body.contains("new@example.com"));
    // The instance audit on the same page, by whom and with the register's steps.
    assert!(page.body.contains("id=\"instance-audit\""));
    for action in ["operator.granted", "rights_request.verified", "rights_request.closed", "rights_request.recorded"] {
        assert!(page.body.contains(action), "{action} missing");
    }
    // Revoked: the page is gone at once.
    app.services.revoke_operator("operator@example.com").await.unwrap();
    assert_eq!(b.get(PAGE).await.status, StatusCode::NOT_FOUND);
}
