//! The post editor: drafting, submitting, approving and rejecting bound to the content digest
//! the reviewer saw (invariant I1), scheduling in the brand's time zone, archiving.

use super::{Browser, brand, html_escape};
use crate::support::TestApp;
use axum::http::StatusCode;
use jiff::SignedDuration;
use nanopost_domain::approval::Channel;
use nanopost_domain::ids::PostId;
use nanopost_domain::network::Network;
use nanopost_domain::post::PostState;
use nanopost_domain::role::Role;

#[tokio::test]
async fn approve_and_reject_from_the_editor_including_a_racing_edit() {
    let app = TestApp::new().await;
    let team = app.team("review").await;
    let ws = team.workspace;
    let b = brand(&app, team.user(Role::Owner), ws, "Acme").await;
    let w = format!("/w/{ws}");
    let mut editor = Browser::signed_in(&app, team.user(Role::Editor)).await;
    let mut reviewer = Browser::signed_in(&app, team.user(Role::Reviewer)).await;
    let actor = app.actor(team.user(Role::Reviewer), ws).await;

    // The editor drafts for two networks and submits.
    let new = editor.get(&format!("{w}/posts/new?brand={}", b.id)).await;
    assert_eq!(new.status, StatusCode::OK);
    let res = editor
        .submit(
            &format!("{w}/posts"),
            &[
                ("brand_id", &b.id.to_string()),
                ("target_instagram", "on"),
                ("caption_instagram", "Fresh bread at 7"),
                ("target_linkedin", "on"),
                ("caption_linkedin", "We are hiring bakers"),
                ("caption_tiktok", ""),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let path = res.location().unwrap().split('?').next().unwrap().to_owned();
    let id: PostId = path.rsplit('/').next().unwrap().parse().unwrap();
    let page = editor.get(res.location().unwrap()).await;
    assert!(page.body.contains("Draft created."));
    assert!(page.body.contains(">Submit for review</button>"));
    assert!(!page.body.contains(">Approve</button>"), "editors do not approve");
    let view = app.services.post(&actor, id).await.unwrap();
    assert_eq!(view.post.content.targets.len(), 2);
    assert!(view.post.content.variants.iter().all(|v| v.network != Network::Tiktok));

    let version = page.hidden("version").unwrap();
    let res = editor.submit(&format!("{path}/submit"), &[("version", &version)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);

    // The reviewer opens the post; the form carries the digest shown.
    let seen = reviewer.get(&path).await;
    assert_eq!(seen.status, StatusCode::OK);
    assert!(seen.body.contains(">Approve</button>") && seen.body.contains(">Reject</button>"));
    assert!(!seen.body.contains(">Save changes</button>"), "reviewers do not edit");
    let digest = seen.hidden("content_digest").unwrap();
    assert_eq!(digest, app.services.post(&actor, id).await.unwrap().digest.as_str());

    // Meanwhile the editor changes the caption.
    let current = editor.get(&path).await;
    let version = current.hidden("version").unwrap();
    let res = editor
        .submit(
            &path,
            &[
                ("version", &version),
                ("target_instagram", "on"),
                ("caption_instagram", "Fresh bread at 8"),
                ("target_linkedin", "on"),
                ("caption_linkedin", "We are hiring bakers"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);

    // The approval of what the reviewer saw is refused: 409 and nothing approved.
    let res = reviewer.submit(&format!("{path}/approve"), &[("content_digest", &digest)]).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    res.assert_html();
    assert!(res.body.to_lowercase().contains("the post changed since you looked at it"), "{}", res.body);
    assert!(res.body.contains("Fresh bread at 8"), "the page now shows the current content");
    let view = app.services.post(&actor, id).await.unwrap();
    assert_eq!(view.post.state, PostState::PendingReview);
    assert!(view.approvals.is_empty() && view.post.approval_id.is_none());
    // The same for a rejection.
    let res = reviewer.submit(&format!("{path}/reject"), &[("content_digest", &digest), ("reason", "typo")]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(app.services.post(&actor, id).await.unwrap().post.state, PostState::PendingReview);

    // With the digest of the current content, the approval goes through and is recorded.
    let fresh = res.hidden("content_digest").unwrap();
    assert_ne!(fresh, digest);
    let res = reviewer.submit(&format!("{path}/approve"), &[("content_digest", &fresh)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), Some(format!("{path}?msg=post_approved").as_str()));
    let view = app.services.post(&actor, id).await.unwrap();
    assert_eq!(view.post.state, PostState::Approved);
    assert_eq!(view.approvals.len(), 1);
    let a = &view.approvals[0];
    assert_eq!((a.approver, a.approver_role, a.channel), (team.user(Role::Reviewer).id, Role::Reviewer, Channel::Web));
    assert_eq!(a.digest.as_str(), fresh);
    let page = reviewer.get(&format!("{path}?msg=post_approved")).await;
    assert!(page.body.contains("Post approved."));
    assert!(page.body.contains("in force"));
    assert!(page.body.contains("via web"));

    // Schedule in the brand's time zone (Europe/Berlin): the approval stands.
    let version = editor.get(&path).await.hidden("version").unwrap();
    let at =
        (app.clock_now() + SignedDuration::from_hours(48)).to_zoned(jiff::tz::TimeZone::get("Europe/Berlin").unwrap());
    let local = at.datetime().strftime("%Y-%m-%dT%H:%M").to_string();
    let res = editor.submit(&format!("{path}/schedule"), &[("version", &version), ("at", &local)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let view = app.services.post(&actor, id).await.unwrap();
    assert_eq!(view.post.state, PostState::Scheduled);
    let schedule = view.post.schedule.unwrap();
    assert_eq!(schedule.timezone, "Europe/Berlin");
    assert_eq!(schedule.local.strftime("%Y-%m-%dT%H:%M").to_string(), local);
    let page = editor.get(&path).await;
    assert!(page.body.contains(&format!("value=\"{local}\"")), "the input shows the local time");
    // A time in the past is refused.
    let version = page.hidden("version").unwrap();
    let res = editor.submit(&format!("{path}/schedule"), &[("version", &version), ("at", "2001-01-01T09:00")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("must be in the future"), "{}", res.body);
    // A stale version is a conflict.
    let res = editor.submit(&format!("{path}/archive"), &[("version", "1")]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains("reload and try again"), "{}", res.body);

    // Editing the approved content voids the approval and sends it back to review.
    let version = editor.get(&path).await.hidden("version").unwrap();
    let res = editor
        .submit(&path, &[("version", &version), ("target_instagram", "on"), ("caption_instagram", "Fresh bread at 9")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let view = app.services.post(&actor, id).await.unwrap();
    assert_eq!(view.post.state, PostState::PendingReview);
    assert!(view.post.approval_id.is_none());
    assert!(reviewer.get(&path).await.body.contains("void"));

    // A rejection needs a reason, then is shown with it.
    let digest = reviewer.get(&path).await.hidden("content_digest").unwrap();
    let res = reviewer.submit(&format!("{path}/reject"), &[("content_digest", &digest), ("reason", "  ")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    let res = reviewer
        .submit(&format!("{path}/reject"), &[("content_digest", &digest), ("reason", "Say 9 <b>sharp</b>")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let view = app.services.post(&actor, id).await.unwrap();
    assert_eq!(view.post.state, PostState::Rejected);
    let page = editor.get(&path).await;
    assert!(page.body.contains(&html_escape("Say 9 <b>sharp</b>")), "{}", page.body);

    // Archive, then delete.
    let version = page.hidden("version").unwrap();
    let res = editor.submit(&format!("{path}/archive"), &[("version", &version)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(app.services.post(&actor, id).await.unwrap().post.state, PostState::Archived);
    let page = editor.get(&path).await;
    assert!(!page.body.contains(">Save changes</button>"), "archived content is locked");
    let res = editor.submit(&format!("{path}/delete"), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(editor.get(&path).await.status, StatusCode::NOT_FOUND);

    // The list filters by state and brand.
    let list = editor.get(&format!("{w}/posts?state=archived")).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("No posts match."));
}

#[tokio::test]
async fn members_and_tokens_pages_work_end_to_end() {
    let app = TestApp::new().await;
    let team = app.team("admin").await;
    let ws = team.workspace;
    let w = format!("/w/{ws}");
    let mut admin = Browser::signed_in(&app, team.user(Role::Admin)).await;
    let viewer = team.user(Role::Viewer);
    let actor = app.actor(team.user(Role::Admin), ws).await;

    let page = admin.get(&format!("{w}/members")).await;
    assert!(page.body.contains(&viewer.email.to_string()));
    assert!(!page.body.contains("<option value=\"owner\""), "admins cannot grant ownership");
    let res = admin.submit(&format!("{w}/members/{}/role", viewer.id), &[("role", "editor")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(
        app.services.members(&actor).await.unwrap().iter().find(|m| m.user_id == viewer.id).unwrap().role,
        Role::Editor
    );

    let res = admin.submit(&format!("{w}/members/invite"), &[("email", "new@example.com"), ("role", "reviewer")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let inv = app.services.invitations(&actor).await.unwrap().remove(0);
    let res = admin.submit(&format!("{w}/invitations/{}/revoke", inv.id), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(app.services.invitations(&actor).await.unwrap().is_empty());

    let res = admin.submit(&format!("{w}/members/{}/remove", viewer.id), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(app.services.members(&actor).await.unwrap().iter().all(|m| m.user_id != viewer.id));

    // Tokens: the plaintext is shown once.
    let res = admin
        .submit(
            &format!("{w}/tokens"),
            &[("name", "zapier"), ("scope_read", "on"), ("scope_review", "on"), ("expires_in_days", "30")],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let start = res.body.find("np_").expect("the plaintext token");
    let plaintext: String =
        res.body[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').collect();
    let api_actor = app.services.actor_from_api_token(&plaintext).await.unwrap();
    assert_eq!(api_actor.workspace_id, ws);
    let list = admin.get(&format!("{w}/tokens")).await;
    assert!(list.body.contains("zapier") && list.body.contains("read, review"));
    assert!(!list.body.contains(&plaintext), "never shown again");
    let res = admin.submit(&format!("{w}/tokens"), &[("name", "none")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("choose at least one scope"));
    let tok = app.services.api_tokens(&actor).await.unwrap().into_iter().find(|t| t.name == "zapier").unwrap();
    let res = admin.submit(&format!("{w}/tokens/{}/revoke", tok.id), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(app.services.actor_from_api_token(&plaintext).await.is_err());

    // A second workspace, and the switcher.
    let res = admin.submit("/workspaces", &[("name", "Side project")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let dash = admin.get(res.location().unwrap()).await;
    assert!(dash.body.contains("Side project") && dash.body.contains("Workspace created."));
    let res = admin.get(&format!("/switch?ws={ws}")).await;
    assert_eq!(res.location(), Some(w.as_str()));
}
