//! Every route × every role (full-scope tokens), and narrowed scopes: allowed routes succeed,
//! the others answer 403 and change nothing.

use super::{Res, brand, call, draft, pending, snapshot};
use crate::support::{Team, TestApp};
use nanopost_domain::approval::Channel;
use nanopost_domain::ids::{ApiTokenId, BrandId, InvitationId, UserId};
use nanopost_domain::post::Post;
use nanopost_domain::role::{Permission, Role, Scope};
use nanopost_services::Actor;
use serde_json::{Value, json};

/// What a route needs.
#[derive(Debug, Clone, Copy)]
enum Needs {
    /// Any valid token.
    Token,
    Perm(Permission),
    /// Refused to every API token (tokens cannot mint tokens; that is done signed in).
    NoToken,
}

/// The objects one request may touch, fresh for each request so that requests do not
/// interfere.
struct Fixture {
    brand: BrandId,
    draft: Post,
    pending: Post,
    invitation: InvitationId,
    member: Option<UserId>,
    own_token: ApiTokenId,
}

struct Case {
    method: &'static str,
    path: &'static str,
    needs: Needs,
    success: u16,
    body: fn(&Fixture, usize) -> Option<Value>,
}

fn none(_: &Fixture, _: usize) -> Option<Value> {
    None
}

fn cases() -> Vec<Case> {
    use Needs::*;
    use Permission::*;
    let c = |method, path, needs, success, body| Case { method, path, needs, success, body };
    vec![
        c("GET", "/api/v1/me", Token, 200, none),
        c("GET", "/api/v1/workspace", Perm(Read), 200, none),
        c("GET", "/api/v1/members", Perm(Read), 200, none),
        c("PATCH", "/api/v1/members/{member}", Perm(ManageMembers), 204, |_, _| Some(json!({"role": "editor"}))),
        c("DELETE", "/api/v1/members/{member}", Perm(ManageMembers), 204, none),
        c("GET", "/api/v1/invitations", Perm(ManageMembers), 200, none),
        c("POST", "/api/v1/invitations", Perm(ManageMembers), 201, |_, n| {
            Some(json!({"email": format!("new{n}@invited.test"), "role": "viewer"}))
        }),
        c("DELETE", "/api/v1/invitations/{invitation}", Perm(ManageMembers), 204, none),
        c("GET", "/api/v1/tokens", Perm(Read), 200, none),
        c("POST", "/api/v1/tokens", NoToken, 201, |_, _| Some(json!({"name": "ci", "scopes": ["read"]}))),
        c("DELETE", "/api/v1/tokens/{own_token}", Perm(Read), 204, none),
        c("GET", "/api/v1/brands", Perm(Read), 200, none),
        c("POST", "/api/v1/brands", Perm(EditContent), 201, |_, _| Some(json!({"name": "New brand"}))),
        c("GET", "/api/v1/brands/{brand}", Perm(Read), 200, none),
        c("PUT", "/api/v1/brands/{brand}", Perm(EditContent), 200, |_, _| Some(json!({"name": "Renamed"}))),
        c("DELETE", "/api/v1/brands/{brand}", Perm(EditContent), 204, none),
        c("GET", "/api/v1/posts", Perm(Read), 200, none),
        c("POST", "/api/v1/posts", Perm(EditContent), 201, |f, _| {
            Some(json!({"brand_id": f.brand, "variants": [{"network": "instagram", "caption": "new"}],
                "targets": [{"network": "instagram"}]}))
        }),
        c("GET", "/api/v1/posts/{draft}", Perm(Read), 200, none),
        c("PUT", "/api/v1/posts/{draft}", Perm(EditContent), 200, |f, _| {
            Some(json!({"version": f.draft.version, "variants": [{"network": "instagram", "caption": "edited"}],
                "targets": [{"network": "instagram"}]}))
        }),
        c("POST", "/api/v1/posts/{draft}/submit", Perm(EditContent), 200, |f, _| {
            Some(json!({"version": f.draft.version}))
        }),
        c("POST", "/api/v1/posts/{pending}/approve", Perm(Review), 200, |f, _| {
            Some(json!({"content_digest": f.pending.content.digest().to_string()}))
        }),
        c("POST", "/api/v1/posts/{pending}/reject", Perm(Review), 200, |f, _| {
            Some(json!({"content_digest": f.pending.content.digest().to_string(), "reason": "off-brand"}))
        }),
        c("POST", "/api/v1/posts/{draft}/schedule", Perm(EditContent), 200, |f, _| {
            Some(json!({"version": f.draft.version, "at": "2030-01-01T09:00"}))
        }),
        c("POST", "/api/v1/posts/{draft}/archive", Perm(EditContent), 200, |f, _| {
            Some(json!({"version": f.draft.version}))
        }),
        c("DELETE", "/api/v1/posts/{draft}", Perm(EditContent), 204, none),
    ]
}

/// Who calls: a team member's role and their token's scopes.
struct Caller {
    role: Role,
    scopes: Vec<Scope>,
}

impl Caller {
    fn may(&self, needs: Needs, team: &Team) -> bool {
        let actor = Actor {
            user_id: team.user(self.role).id,
            workspace_id: team.workspace,
            role: self.role,
            scopes: Some(self.scopes.clone()),
            channel: Channel::Api,
        };
        match needs {
            Needs::Token => true,
            Needs::Perm(p) => actor.can(p),
            Needs::NoToken => false,
        }
    }
}

async fn fixture(app: &TestApp, team: &Team, caller: &Caller, n: usize, needs_member: bool) -> Fixture {
    let owner = app.actor(team.user(Role::Owner), team.workspace).await;
    let b = brand(app, &owner, &format!("Brand {n}")).await;
    let draft = draft(app, &owner, &b, &format!("draft {n}")).await;
    let pending = pending(app, &owner, &b, &format!("pending {n}")).await;
    let invitation = app.services.invite(&owner, &format!("invitee{n}@elsewhere.test"), Role::Viewer).await.unwrap().id;
    let member = if needs_member {
        let (user, _) = app.user(&format!("member{n}@elsewhere.test")).await;
        app.services.invite(&owner, user.email.as_str(), Role::Viewer).await.unwrap();
        let token = app.last_link_token(user.email.as_str()).await;
        app.services.accept_invitation(&user, &token).await.unwrap();
        Some(user.id)
    } else {
        None
    };
    let me = app.actor(team.user(caller.role), team.workspace).await;
    let own_token = app.services.create_api_token(&me, "spare", &Scope::ALL, None).await.unwrap().0.id;
    Fixture { brand: b.id, draft, pending, invitation, member, own_token }
}

fn path(template: &str, f: &Fixture) -> String {
    template
        .replace("{member}", &f.member.map(|m| m.to_string()).unwrap_or_default())
        .replace("{invitation}", &f.invitation.to_string())
        .replace("{own_token}", &f.own_token.to_string())
        .replace("{brand}", &f.brand.to_string())
        .replace("{draft}", &f.draft.id.to_string())
        .replace("{pending}", &f.pending.id.to_string())
}

async fn run_matrix(callers: &[Caller]) {
    let app = TestApp::new().await;
    let team = app.team("matrix").await;
    let owner = app.actor(team.user(Role::Owner), team.workspace).await;
    let mut failures = Vec::new();
    let mut n = 0;
    for caller in callers {
        let token = app.api_token(team.user(caller.role), team.workspace, &caller.scopes).await;
        for case in cases() {
            n += 1;
            let f = fixture(&app, &team, caller, n, case.path.contains("{member}")).await;
            let allowed = caller.may(case.needs, &team);
            let before = snapshot(&app, &owner).await;
            let res: Res = call(&app, case.method, &path(case.path, &f), Some(&token), (case.body)(&f, n)).await;
            let expected = if allowed { case.success } else { 403 };
            let what = format!("{} {} as {} {:?}", case.method, case.path, caller.role, caller.scopes);
            if res.status.as_u16() != expected {
                failures.push(format!("{what}: expected {expected}, got {} {}", res.status, res.text));
                continue;
            }
            if !allowed {
                res.problem(403);
                if snapshot(&app, &owner).await != before {
                    failures.push(format!("{what}: refused, yet the workspace changed"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {n} cases wrong:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test]
async fn every_route_for_every_role_with_full_scope_tokens() {
    let callers: Vec<Caller> = Role::ALL.into_iter().map(|role| Caller { role, scopes: Scope::ALL.to_vec() }).collect();
    run_matrix(&callers).await;
}

#[tokio::test]
async fn scopes_narrow_what_a_token_of_an_owner_may_do() {
    let callers = [
        Caller { role: Role::Owner, scopes: vec![Scope::Read] },
        Caller { role: Role::Owner, scopes: vec![Scope::Read, Scope::Write] },
        Caller { role: Role::Owner, scopes: vec![Scope::Review, Scope::Read] },
        Caller { role: Role::Admin, scopes: vec![Scope::Admin, Scope::Read] },
        // A scope beyond the role grants nothing: an editor's review scope is still no review.
        Caller { role: Role::Editor, scopes: vec![Scope::Review, Scope::Read] },
    ];
    run_matrix(&callers).await;
}

/// Tokens without the read scope can still do what their scope allows: writing does not need
/// reading rights to the brand it writes into.
#[tokio::test]
async fn scopes_without_read() {
    let callers = [
        Caller { role: Role::Owner, scopes: vec![Scope::Write] },
        Caller { role: Role::Owner, scopes: vec![Scope::Review] },
        Caller { role: Role::Admin, scopes: vec![Scope::Admin] },
    ];
    run_matrix(&callers).await;
}

#[tokio::test]
async fn a_read_only_token_of_an_owner_gets_403_on_every_write() {
    let app = TestApp::new().await;
    let team = app.team("ro").await;
    let owner = app.actor(team.user(Role::Owner), team.workspace).await;
    let token = app.api_token(team.user(Role::Owner), team.workspace, &[Scope::Read]).await;
    let b = brand(&app, &owner, "Acme").await;
    let before = snapshot(&app, &owner).await;
    let res = call(&app, "POST", "/api/v1/brands", Some(&token), Some(json!({"name": "x"}))).await;
    assert!(res.problem(403)["detail"].as_str().unwrap().contains("token"));
    call(&app, "PUT", &format!("/api/v1/brands/{}", b.id), Some(&token), Some(json!({"name": "x"}))).await.problem(403);
    call(&app, "DELETE", &format!("/api/v1/brands/{}", b.id), Some(&token), None).await.problem(403);
    assert_eq!(snapshot(&app, &owner).await, before);
    call(&app, "GET", &format!("/api/v1/brands/{}", b.id), Some(&token), None).await.ok(200);
}

#[tokio::test]
async fn me_reports_role_scopes_and_effective_permissions() {
    let app = TestApp::new().await;
    let team = app.team("me").await;
    let token = app.api_token(team.user(Role::Editor), team.workspace, &[Scope::Read, Scope::Review]).await;
    let res = call(&app, "GET", "/api/v1/me", Some(&token), None).await;
    let me = res.ok(200);
    assert_eq!(me["role"], "editor");
    assert_eq!(me["workspace_id"], team.workspace.to_string());
    assert_eq!(me["user_id"], team.user(Role::Editor).id.to_string());
    assert_eq!(me["scopes"], json!(["read", "review"]));
    // Review is in the scopes but not in the editor's role.
    assert_eq!(me["permissions"], json!(["read"]));
}
