//! Use cases end to end over a real SQLite file: accounts, roles, tokens and the review flow.

use jiff::{SignedDuration, Timestamp};
use nanopost_domain::approval::Channel;
use nanopost_domain::clock::{Clock, ManualClock};
use nanopost_domain::ids::WorkspaceId;
use nanopost_domain::network::Network;
use nanopost_domain::post::{PostContent, PostState, Target, Variant};
use nanopost_domain::role::{Role, Scope};
use nanopost_services::{Actor, Argon2Params, LoginLimits, ServiceConfig, ServiceError, Services, SignUpInput};
use nanopost_storage::{Store, User};
use std::collections::BTreeMap;
use std::sync::Arc;

mod accounts;
mod concurrency;
mod generation;
mod media;
mod notify;
mod privacy;
mod publishing;
mod telegram;

const PASSWORD: &str = "correct horse battery staple";

pub(crate) struct Env {
    services: Services,
    clock: Arc<ManualClock>,
    path: std::path::PathBuf,
}

impl Drop for Env {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
    }
}

async fn env() -> Env {
    env_with(|_| {}).await
}

/// [`env`] with its configuration changed by `tune`.
async fn env_with(tune: impl FnOnce(&mut ServiceConfig)) -> Env {
    let path = std::env::temp_dir().join(format!("nanopost-services-{}.db", uuid::Uuid::new_v4().simple()));
    let store = Store::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    store.migrate().await.unwrap();
    let clock = Arc::new(ManualClock::new(Timestamp::from_second(1_800_000_000).unwrap()));
    let config = ServiceConfig {
        argon2: Argon2Params { memory_kib: 64, iterations: 1, parallelism: 1 },
        login_limits: LoginLimits { per_account: 3, per_ip: 5, window: SignedDuration::from_mins(15) },
        ..ServiceConfig::default()
    };
    let mut config = config;
    tune(&mut config);
    Env { services: Services::new(store, clock.clone(), config).unwrap(), clock, path }
}

fn input(email: &str) -> SignUpInput {
    SignUpInput {
        email: email.into(),
        password: PASSWORD.into(),
        display_name: "Ana".into(),
        workspace_name: "Acme".into(),
        age_confirmed: true,
    }
}

impl Env {
    async fn link_token(&self, to: &str) -> String {
        let mail = self.services.store().outbox(100).await.unwrap();
        let m = mail.iter().find(|m| m.to.as_str() == to).expect("a mail");
        let start = m.body.find("token=").unwrap() + 6;
        m.body[start..].split_whitespace().next().unwrap().to_owned()
    }

    async fn member(&self, owner: &Actor, email: &str, role: Role) -> (User, Actor) {
        let user = self.services.sign_up(input(email)).await.unwrap();
        self.services.invite(owner, email, role).await.unwrap();
        let token = self.link_token(email).await;
        let (ws, got) = self.services.accept_invitation(&user, &token).await.unwrap();
        assert_eq!((ws, got), (owner.workspace_id, role));
        let actor = self.services.actor(&user, ws).await.unwrap();
        (user, actor)
    }

    async fn owner(&self, email: &str) -> (User, Actor) {
        let user = self.services.sign_up(input(email)).await.unwrap();
        let ws = self.services.workspaces_of(&user).await.unwrap()[0].0.id;
        let actor = self.services.actor(&user, ws).await.unwrap();
        (user, actor)
    }
}

fn content(caption: &str) -> PostContent {
    PostContent {
        variants: vec![Variant {
            network: Network::Linkedin,
            caption: caption.into(),
            media: vec![],
            options: BTreeMap::new(),
        }],
        targets: vec![Target { network: Network::Linkedin, account: None }],
    }
}

fn brand_input() -> nanopost_domain::brand::BrandInput {
    nanopost_domain::brand::BrandInput { name: "Acme".into(), timezone: "Europe/Berlin".into(), ..Default::default() }
}

#[tokio::test]
async fn sign_up_requires_the_age_confirmation_and_sends_a_single_use_verification_link() {
    let e = env().await;
    let err = e.services.sign_up(SignUpInput { age_confirmed: false, ..input("ana@example.com") }).await.unwrap_err();
    assert!(matches!(&err, ServiceError::Invalid(v) if v.0.iter().any(|f| f.field == "age_confirmed")), "{err}");
    assert!(e.services.store().user_by_email(&"ana@example.com".parse_email()).await.unwrap().is_none());

    let user = e.services.sign_up(input("Ana@Example.com")).await.unwrap();
    assert_eq!(user.email.as_str(), "ana@example.com");
    assert!(user.email_verified_at.is_none());
    let token = e.link_token("ana@example.com").await;
    assert_eq!(e.services.verify_email(&token).await.unwrap(), user.id);
    assert!(matches!(e.services.verify_email(&token).await, Err(ServiceError::Conflict(_))));
    let stored = e.services.store().user_by_id(user.id).await.unwrap().unwrap();
    assert!(stored.email_verified_at.is_some());
    assert!(!stored.password_hash.contains(PASSWORD) && stored.password_hash.starts_with("$argon2id$"));
    assert!(matches!(e.services.sign_up(input("ana@example.com")).await, Err(ServiceError::Invalid(_))));
}

#[tokio::test]
async fn verification_links_expire() {
    let e = env().await;
    e.services.sign_up(input("ana@example.com")).await.unwrap();
    let token = e.link_token("ana@example.com").await;
    e.clock.advance(SignedDuration::from_hours(49));
    assert!(e.services.verify_email(&token).await.is_err());
}

#[tokio::test]
async fn login_is_rate_limited_per_account_and_resets_after_the_window() {
    let e = env().await;
    e.services.sign_up(input("ana@example.com")).await.unwrap();
    let ip = [10, 0, 0, 1].into();
    for _ in 0..3 {
        assert!(matches!(
            e.services.login("ana@example.com", "wrong password!", ip).await,
            Err(ServiceError::Unauthorized(_))
        ));
    }
    // Even the right password is refused while the account is locked out.
    assert!(matches!(e.services.login("ana@example.com", PASSWORD, ip).await, Err(ServiceError::RateLimited { .. })));
    e.clock.advance(SignedDuration::from_mins(16));
    let (_, token) = e.services.login("ana@example.com", PASSWORD, ip).await.unwrap();
    assert!(e.services.authenticate_session(token.expose()).await.unwrap().is_some());
}

#[tokio::test]
async fn login_is_rate_limited_per_address_across_accounts() {
    let e = env().await;
    let ip = [10, 0, 0, 2].into();
    for i in 0..5 {
        let _ = e.services.login(&format!("nobody{i}@example.com"), "whatever pass", ip).await;
    }
    assert!(matches!(
        e.services.login("other@example.com", "whatever pass", ip).await,
        Err(ServiceError::RateLimited { .. })
    ));
    assert!(matches!(
        e.services.login("other@example.com", "whatever pass", [10, 0, 0, 3].into()).await,
        Err(ServiceError::Unauthorized(_))
    ));
}

#[tokio::test]
async fn sessions_expire_and_logout_ends_them() {
    let e = env().await;
    e.services.sign_up(input("ana@example.com")).await.unwrap();
    let (_, t1) = e.services.login("ana@example.com", PASSWORD, [127, 0, 0, 1].into()).await.unwrap();
    let (_, t2) = e.services.login("ana@example.com", PASSWORD, [127, 0, 0, 1].into()).await.unwrap();
    e.services.logout(t1.expose()).await.unwrap();
    assert!(e.services.authenticate_session(t1.expose()).await.unwrap().is_none());
    assert!(e.services.authenticate_session(t2.expose()).await.unwrap().is_some());
    e.clock.advance(e.services.config().session_ttl + SignedDuration::from_secs(1));
    assert!(e.services.authenticate_session(t2.expose()).await.unwrap().is_none());
    assert_eq!(e.services.housekeeping().await.unwrap(), 1);
}

#[tokio::test]
async fn password_reset_ends_every_session_and_does_not_reveal_accounts() {
    let e = env().await;
    e.services.sign_up(input("ana@example.com")).await.unwrap();
    let (_, session) = e.services.login("ana@example.com", PASSWORD, [127, 0, 0, 1].into()).await.unwrap();
    e.services.request_password_reset("nobody@example.com").await.unwrap();
    e.services.request_password_reset("ana@example.com").await.unwrap();
    let token = e.services.store().outbox(10).await.unwrap()[0].body.clone();
    assert!(token.contains("/reset-password?token="));
    let token = e.link_token("ana@example.com").await;
    assert!(e.services.reset_password(&token, "short").await.is_err());
    e.services.reset_password(&token, "a brand new password").await.unwrap();
    assert!(e.services.authenticate_session(session.expose()).await.unwrap().is_none());
    assert!(e.services.login("ana@example.com", PASSWORD, [127, 0, 0, 1].into()).await.is_err());
    assert!(e.services.login("ana@example.com", "a brand new password", [127, 0, 0, 1].into()).await.is_ok());
    assert!(e.services.reset_password(&token, "another new password").await.is_err(), "reset links are single-use");
}

#[tokio::test]
async fn csrf_tokens_are_bound_to_the_session() {
    let e = env().await;
    let t = e.services.csrf_token("session-a");
    assert!(e.services.verify_csrf("session-a", &t));
    assert!(!e.services.verify_csrf("session-b", &t));
    assert!(!e.services.verify_csrf("session-a", ""));
}

#[tokio::test]
async fn roles_decide_who_edits_and_who_approves() {
    let e = env().await;
    let (_, owner) = e.owner("owner@example.com").await;
    let (_, editor) = e.member(&owner, "editor@example.com", Role::Editor).await;
    let (_, reviewer) = e.member(&owner, "reviewer@example.com", Role::Reviewer).await;
    let (_, viewer) = e.member(&owner, "viewer@example.com", Role::Viewer).await;

    assert!(matches!(e.services.create_brand(&viewer, &brand_input()).await, Err(ServiceError::Forbidden(_))));
    assert!(matches!(e.services.create_brand(&reviewer, &brand_input()).await, Err(ServiceError::Forbidden(_))));
    let brand = e.services.create_brand(&editor, &brand_input()).await.unwrap();
    let post = e.services.create_post(&editor, brand.id, content("Hello")).await.unwrap();
    let post = e.services.submit_post(&editor, post.id, post.version).await.unwrap();
    let digest = post.content.digest();
    assert!(matches!(e.services.approve_post(&editor, post.id, &digest).await, Err(ServiceError::Forbidden(_))));
    assert!(matches!(e.services.approve_post(&viewer, post.id, &digest).await, Err(ServiceError::Forbidden(_))));
    let approved = e.services.approve_post(&reviewer, post.id, &digest).await.unwrap();
    assert_eq!(approved.state, PostState::Approved);
    let view = e.services.post(&viewer, post.id).await.unwrap();
    assert_eq!(view.approvals.len(), 1);
    assert_eq!(view.approvals[0].approver, reviewer.user_id);
    assert_eq!(view.approvals[0].channel, Channel::Web);
    assert_eq!(view.approvals[0].digest, digest);
    let publication = e.services.authorized_publication(owner.workspace_id, post.id).await.unwrap();
    assert_eq!(publication.content(), &content("Hello"));

    // Admins cannot make owners; editors cannot invite.
    let (_, admin) = e.member(&owner, "admin@example.com", Role::Admin).await;
    assert!(matches!(e.services.invite(&admin, "x@example.com", Role::Owner).await, Err(ServiceError::Forbidden(_))));
    assert!(matches!(e.services.invite(&editor, "x@example.com", Role::Viewer).await, Err(ServiceError::Forbidden(_))));
    assert!(matches!(e.services.set_role(&admin, owner.user_id, Role::Viewer).await, Err(ServiceError::Forbidden(_))));
    assert!(
        matches!(e.services.remove_member(&owner, owner.user_id).await, Err(ServiceError::Conflict(_))),
        "the last owner stays"
    );
}

#[tokio::test]
async fn an_edit_racing_an_approval_wins_and_voids_nothing_silently() {
    let e = env().await;
    let (_, owner) = e.owner("owner@example.com").await;
    let (_, reviewer) = e.member(&owner, "reviewer@example.com", Role::Reviewer).await;
    let brand = e.services.create_brand(&owner, &brand_input()).await.unwrap();
    let post = e.services.create_post(&owner, brand.id, content("v1")).await.unwrap();
    let post = e.services.submit_post(&owner, post.id, post.version).await.unwrap();
    let seen = post.content.digest();
    // The editor changes the text while the reviewer looks at v1.
    let edited = e.services.edit_post(&owner, post.id, post.version, content("v2")).await.unwrap();
    let err = e.services.approve_post(&reviewer, post.id, &seen).await.unwrap_err();
    assert!(matches!(err, ServiceError::Conflict(_)), "{err}");
    let view = e.services.post(&reviewer, post.id).await.unwrap();
    assert_eq!(view.post.state, PostState::PendingReview);
    assert!(view.approvals.is_empty());
    // A writer holding the old version is refused too.
    assert!(matches!(
        e.services.edit_post(&owner, post.id, post.version, content("v3")).await,
        Err(ServiceError::Conflict(_))
    ));

    let approved = e.services.approve_post(&reviewer, post.id, &edited.content.digest()).await.unwrap();
    let edited_again = e.services.edit_post(&owner, post.id, approved.version, content("v4")).await.unwrap();
    assert_eq!(edited_again.state, PostState::PendingReview);
    assert!(edited_again.approval_id.is_none());
    assert!(e.services.authorized_publication(owner.workspace_id, post.id).await.is_err());
}

#[tokio::test]
async fn schedules_are_read_in_the_brand_time_zone_and_keep_the_approval() {
    let e = env().await;
    let (_, owner) = e.owner("owner@example.com").await;
    let brand = e.services.create_brand(&owner, &brand_input()).await.unwrap();
    let post = e.services.create_post(&owner, brand.id, content("hi")).await.unwrap();
    let post = e.services.submit_post(&owner, post.id, post.version).await.unwrap();
    let post = e.services.approve_post(&owner, post.id, &post.content.digest()).await.unwrap();
    let past = jiff::civil::date(2020, 1, 1).at(9, 0, 0, 0);
    assert!(matches!(
        e.services.schedule_post(&owner, post.id, post.version, Some(past)).await,
        Err(ServiceError::Invalid(_))
    ));
    let at = jiff::civil::date(2027, 7, 1).at(9, 0, 0, 0);
    let scheduled = e.services.schedule_post(&owner, post.id, post.version, Some(at)).await.unwrap();
    assert_eq!(scheduled.state, PostState::Scheduled);
    assert_eq!(scheduled.schedule.as_ref().unwrap().instant().to_string(), "2027-07-01T07:00:00Z");
    assert!(e.services.authorized_publication(owner.workspace_id, post.id).await.is_ok());
}

#[tokio::test]
async fn api_tokens_are_shown_once_narrowed_to_scopes_and_follow_the_creator_role() {
    let e = env().await;
    let (_, owner) = e.owner("owner@example.com").await;
    let (_, editor) = e.member(&owner, "editor@example.com", Role::Editor).await;
    let (record, plaintext) =
        e.services.create_api_token(&editor, "ci", &[Scope::Read, Scope::Write], Some(30)).await.unwrap();
    assert!(plaintext.starts_with("np_"));
    assert!(!format!("{record:?}").contains(&plaintext));
    let actor = e.services.actor_from_api_token(&plaintext).await.unwrap();
    assert_eq!(actor.channel, Channel::Api);
    e.services.create_brand(&actor, &brand_input()).await.unwrap();

    let (_, read_only) = e.services.create_api_token(&owner, "ro", &[Scope::Read], None).await.unwrap();
    let ro = e.services.actor_from_api_token(&read_only).await.unwrap();
    assert!(matches!(e.services.create_brand(&ro, &brand_input()).await, Err(ServiceError::Forbidden(_))));

    // Demote the editor: their token loses write at once.
    e.services.set_role(&owner, editor.user_id, Role::Viewer).await.unwrap();
    let actor = e.services.actor_from_api_token(&plaintext).await.unwrap();
    assert!(matches!(e.services.create_brand(&actor, &brand_input()).await, Err(ServiceError::Forbidden(_))));
    // Expired and revoked tokens stop working.
    e.clock.advance(SignedDuration::from_hours(24 * 31));
    assert!(matches!(e.services.actor_from_api_token(&plaintext).await, Err(ServiceError::Unauthorized(_))));
    e.services
        .revoke_api_token(
            &owner,
            e.services.api_tokens(&owner).await.unwrap().iter().find(|t| t.name == "ro").unwrap().id,
        )
        .await
        .unwrap();
    assert!(matches!(e.services.actor_from_api_token(&read_only).await, Err(ServiceError::Unauthorized(_))));
}

#[tokio::test]
async fn another_workspace_is_invisible() {
    let e = env().await;
    let (_, a) = e.owner("a@example.com").await;
    let (b_user, b) = e.owner("b@example.com").await;
    let brand = e.services.create_brand(&a, &brand_input()).await.unwrap();
    let post = e.services.create_post(&a, brand.id, content("secret")).await.unwrap();
    assert!(matches!(e.services.actor(&b_user, a.workspace_id).await, Err(ServiceError::NotFound)));
    assert!(matches!(e.services.brand(&b, brand.id).await, Err(ServiceError::NotFound)));
    assert!(matches!(e.services.post(&b, post.id).await, Err(ServiceError::NotFound)));
    assert!(matches!(e.services.create_post(&b, brand.id, content("x")).await, Err(ServiceError::NotFound)));
    assert!(matches!(e.services.delete_brand(&b, brand.id).await, Err(ServiceError::NotFound)));
    assert!(matches!(
        e.services.authorized_publication(WorkspaceId::new(), post.id).await,
        Err(ServiceError::NotFound)
    ));
    assert!(e.services.brand(&a, brand.id).await.is_ok());
    let _ = e.clock.now();
}

trait ParseEmail {
    fn parse_email(&self) -> nanopost_domain::account::Email;
}

impl ParseEmail for str {
    fn parse_email(&self) -> nanopost_domain::account::Email {
        nanopost_domain::account::Email::parse(self).unwrap()
    }
}
