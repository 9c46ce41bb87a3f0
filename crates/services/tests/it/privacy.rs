//! The privacy centre's use cases, with a clock the tests move and the raw database read back.

use super::{Env, PASSWORD, brand_input, content, env, input};
use jiff::SignedDuration;
use nanopost_domain::role::{Role, Scope};
use nanopost_services::privacy::{Keeper, PURPOSE_MARKETING_EMAIL, Urgency, tar, urgency};
use nanopost_services::{RequestOrigin, ServiceError, SignUpInput, audit::with_origin};
use nanopost_storage::inventory::DataClass;
use nanopost_storage::{ERASED_USER, PageRequest, RightKind};
use sha2::{Digest, Sha256};
use sqlx::Connection as _;

const DAY: SignedDuration = SignedDuration::from_hours(24);
const CLI: Keeper = Keeper::CommandLine;

impl Env {
    fn url(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }

    /// `table.column` of every place the raw database still holds `id` (as bytes or text) or
    /// `text`.
    async fn mentions(&self, id: uuid::Uuid, text: &str) -> Vec<String> {
        let mut c = sqlx::SqliteConnection::connect(&self.url()).await.unwrap();
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
        )
        .fetch_all(&mut c)
        .await
        .unwrap();
        let mut hits = Vec::new();
        for t in tables {
            let cols: Vec<String> =
                sqlx::query_scalar("SELECT name FROM pragma_table_info($1)").bind(&t).fetch_all(&mut c).await.unwrap();
            for col in cols {
                let sql = format!(
                    "SELECT COUNT(*) FROM {t} WHERE instr(CAST({col} AS BLOB), $1) > 0 \
                     OR instr(lower(CAST({col} AS TEXT)), $2) > 0 OR instr(lower(CAST({col} AS TEXT)), $3) > 0"
                );
                let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(id.as_bytes().as_slice())
                    .bind(id.to_string())
                    .bind(text)
                    .fetch_one(&mut c)
                    .await
                    .unwrap();
                if n > 0 {
                    hits.push(format!("{t}.{col}"));
                }
            }
        }
        hits
    }
}

#[tokio::test]
async fn promise_service_for_18_plus_only_sign_up_needs_the_confirmation() {
    let e = env().await;
    let refused = e.services.sign_up(SignUpInput { age_confirmed: false, ..input("young@example.com") }).await;
    assert!(matches!(refused, Err(ServiceError::Invalid(v)) if v.0.iter().any(|f| f.field == "age_confirmed")));
    let user = e.services.sign_up(input("adult@example.com")).await.unwrap();
    assert_eq!(user.age_confirmed_at, e.services.now(), "the confirmation is recorded with its time");
}

#[tokio::test]
async fn use_cases_write_the_audit_log_with_who_what_and_from_where() {
    let e = env().await;
    let (owner, actor) = e.owner("owner@example.com").await;
    let (member, _) = e.member(&actor, "member@example.com", Role::Editor).await;
    let origin = RequestOrigin { client_ip: Some([192, 0, 2, 10].into()), user_agent: Some("Firefox/140".into()) };
    let s = &e.services;
    with_origin(origin, async {
        s.login("owner@example.com", PASSWORD, [192, 0, 2, 10].into()).await.unwrap();
        assert!(s.login("member@example.com", "wrong password!", [192, 0, 2, 10].into()).await.is_err());
        s.set_role(&actor, member.id, Role::Reviewer).await.unwrap();
        let (tok, _) = s.create_api_token(&actor, "ci", &[Scope::Read], None).await.unwrap();
        s.revoke_api_token(&actor, tok.id).await.unwrap();
        let brand = s.create_brand(&actor, &brand_input()).await.unwrap();
        let post = s.create_post(&actor, brand.id, content("hello")).await.unwrap();
        s.delete_post(&actor, post.id).await.unwrap();
        s.delete_brand(&actor, brand.id).await.unwrap();
        s.remove_member(&actor, member.id).await.unwrap();
    })
    .await;
    let log = s.audit_log(&actor, PageRequest::first(100)).await.unwrap().items;
    let actions: Vec<_> = log.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "member.invited",
            "auth.sign_in",
            "member.role_changed",
            "api_token.created",
            "api_token.revoked",
            "post.deleted",
            "brand.deleted",
            "member.removed",
        ],
        "the failed sign-in of a member who has since left is not this workspace's business"
    );
    let role_change = log.iter().find(|e| e.action == "member.role_changed").unwrap();
    assert_eq!(role_change.actor_id, Some(owner.id));
    assert_eq!(role_change.target, Some(format!("user:{}", member.id)));
    assert_eq!(role_change.client_ip.as_deref(), Some("192.0.2.10"));
    assert_eq!(role_change.user_agent.as_deref(), Some("Firefox/140"));
    assert!(log.iter().find(|e| e.action == "member.invited").unwrap().client_ip.is_none(), "no request, no address");

    // Only owners and admins read it.
    let (_, viewer) = e.member(&actor, "viewer@example.com", Role::Viewer).await;
    assert!(matches!(s.audit_log(&viewer, PageRequest::first(10)).await, Err(ServiceError::Forbidden(_))));
}

#[tokio::test]
async fn promise_marketing_only_with_consent_unsubscribe_in_every_message() {
    let e = env().await;
    let (user, _) = e.owner("news@example.com").await;
    let s = &e.services;
    assert!(!s.send_marketing(&user, "News", "We shipped things.").await.unwrap(), "no consent, no mail");
    assert!(s.store().outbox(100).await.unwrap().iter().all(|m| m.kind != "marketing"));

    s.set_marketing_consent(&user, true).await.unwrap();
    assert!(s.send_marketing(&user, "News", "We shipped things.").await.unwrap());
    let mail = s.store().outbox(100).await.unwrap().into_iter().find(|m| m.kind == "marketing").unwrap();
    let link = s.unsubscribe_link(user.id);
    assert!(mail.body.contains(&link), "every marketing message carries the unsubscribe link");

    // The link works without signing in, at once; a tampered one does nothing.
    let query = link.split_once('?').unwrap().1;
    let (u, sig) = query.split_once('&').unwrap();
    let (u, sig) = (u.strip_prefix("u=").unwrap(), sig.strip_prefix("sig=").unwrap());
    assert!(s.unsubscribe(u, "AAAA").await.is_err());
    let (other, _) = e.owner("other@example.com").await;
    assert!(s.unsubscribe(&other.id.to_string(), sig).await.is_err(), "a signature is bound to its user");
    assert!(s.marketing_consent(&user).await.unwrap());
    s.unsubscribe(u, sig).await.unwrap();
    assert!(!s.marketing_consent(&user).await.unwrap());
    assert!(!s.send_marketing(&user, "More news", "…").await.unwrap());

    // Given and withdrawn are both on record, with the policy version and the source.
    let records = s.consents_of(&user).await.unwrap();
    let sources: Vec<_> = records.iter().map(|c| (c.purpose.as_str(), c.granted, c.source.as_str())).collect();
    assert_eq!(
        sources,
        vec![(PURPOSE_MARKETING_EMAIL, true, "settings"), (PURPOSE_MARKETING_EMAIL, false, "unsubscribe_link")]
    );
    assert!(records.iter().all(|c| c.policy_version == nanopost_services::privacy::PRIVACY_POLICY_VERSION));
}

#[tokio::test]
async fn promise_rights_of_access_and_portability_export_is_complete_and_secret_free() {
    let e = env().await;
    let (user, actor) = e.owner("me@example.com").await;
    let s = &e.services;
    let (_, session) = s.login("me@example.com", PASSWORD, [127, 0, 0, 1].into()).await.unwrap();
    let (_, api_plain) = s.create_api_token(&actor, "ci", &[Scope::Read], None).await.unwrap();
    let brand = s.create_brand(&actor, &brand_input()).await.unwrap();
    s.create_post(&actor, brand.id, content("my words")).await.unwrap();
    s.set_marketing_consent(&user, true).await.unwrap();
    let stored = s.store().user_by_id(user.id).await.unwrap().unwrap();

    let info = s.export_my_data(&user).await.unwrap();
    let x = s.download_export(&user, info.id).await.unwrap();
    assert_eq!(nanopost_services::privacy::hex(&Sha256::digest(&x.archive)), info.sha256);
    let files = tar::read(&x.archive).unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&files[0].1).unwrap();
    assert_eq!(files[0].0, "manifest.json");
    for (i, listed) in manifest["files"].as_array().unwrap().iter().enumerate() {
        let (name, bytes) = &files[i + 1];
        assert_eq!(listed["path"], name.as_str());
        assert_eq!(listed["sha256"], nanopost_services::privacy::hex(&Sha256::digest(bytes)), "{name}");
    }
    let names: Vec<_> = files.iter().map(|f| f.0.as_str()).collect();
    for expected in
        ["data/users.json", "data/sessions.json", "data/api_tokens.json", "data/posts.json", "data/consents.json"]
    {
        assert!(names.contains(&expected), "{expected} missing: {names:?}");
    }
    let text = String::from_utf8_lossy(&x.archive).into_owned();
    assert!(text.contains("me@example.com") && text.contains("my words"));
    // Never a password hash, a token, a token hash, or a mailed link.
    for secret in [
        stored.password_hash.as_str(),
        "$argon2",
        session.expose(),
        api_plain.as_str(),
        &nanopost_services::privacy::hex(&session.hash().0),
        "token=",
    ] {
        assert!(!text.contains(secret), "the export contains a secret ({})", &secret[..secret.len().min(8)]);
    }

    // Only the requester downloads it, only until it expires.
    let (other, other_actor) = e.owner("other@example.com").await;
    assert!(matches!(s.download_export(&other, info.id).await, Err(ServiceError::NotFound)));
    e.clock.advance(s.config().privacy.export_ttl);
    assert!(matches!(s.download_export(&user, info.id).await, Err(ServiceError::NotFound)));

    // The workspace export: owners only.
    let (_, editor) = e.member(&other_actor, "editor@example.com", Role::Editor).await;
    assert!(matches!(s.export_workspace(&editor).await, Err(ServiceError::Forbidden(_))));
    let wx = s.export_workspace(&actor).await.unwrap();
    let wfiles = tar::read(&s.download_export(&user, wx.id).await.unwrap().archive).unwrap();
    assert!(wfiles.iter().any(|f| f.0 == "data/brands.json") && wfiles.iter().any(|f| f.0 == "data/members.json"));
    let _ = other;
}

#[tokio::test]
async fn promise_verified_deletion_within_30_days_deactivates_at_once_and_purges_everything() {
    let e = env().await;
    let s = &e.services;
    let (boss, boss_actor) = e.owner("boss@example.com").await;
    let (leaver, leaver_in_boss_ws) = e.member(&boss_actor, "leaver@example.com", Role::Editor).await;
    let own_ws = s.workspaces_of(&leaver).await.unwrap().into_iter().find(|(_, r)| *r == Role::Owner).unwrap().0;
    let own_actor = s.actor(&leaver, own_ws.id).await.unwrap();
    let (_, session) = s.login("leaver@example.com", PASSWORD, [127, 0, 0, 1].into()).await.unwrap();
    let (_, api) = s.create_api_token(&leaver_in_boss_ws, "mine", &[Scope::Read], None).await.unwrap();
    let brand = s.create_brand(&boss_actor, &brand_input()).await.unwrap();
    let shared_post = s.create_post(&leaver_in_boss_ws, brand.id, content("the leaver wrote this")).await.unwrap();
    s.create_brand(&own_actor, &brand_input()).await.unwrap();
    s.set_marketing_consent(&leaver, true).await.unwrap();
    s.export_my_data(&leaver).await.unwrap();

    assert_eq!(
        s.sole_owned_workspaces(&leaver).await.unwrap().iter().map(|w| w.id).collect::<Vec<_>>(),
        vec![own_ws.id]
    );
    assert!(matches!(s.delete_account(&leaver, "not my password").await, Err(ServiceError::Invalid(_))));
    let d = s.delete_account(&leaver, PASSWORD).await.unwrap();
    assert_eq!(d.purge_after, s.now() + DAY * 30);

    // At once: no session, no API token, no way back in (not even by a password reset).
    assert!(s.authenticate_session(session.expose()).await.unwrap().is_none());
    assert!(s.actor_from_api_token(&api).await.is_err());
    assert!(s.login("leaver@example.com", PASSWORD, [127, 0, 0, 1].into()).await.is_err());
    s.request_password_reset("leaver@example.com").await.unwrap();
    assert!(s.store().outbox(100).await.unwrap().iter().all(|m| m.kind != "reset_password"));
    assert!(!s.send_marketing(&leaver, "News", "…").await.unwrap(), "no marketing to a deactivated account");

    // Day 29: still there (the grace period), nothing purged.
    e.clock.advance(DAY * 29);
    let early = s.purge_due_deletions().await.unwrap();
    assert!(early.accounts.is_empty() && early.workspaces.is_empty());
    assert!(s.store().user_by_id(leaver.id).await.unwrap().is_some());

    // Day 30: gone, and confirmed by e-mail.
    e.clock.advance(DAY);
    s.privacy_housekeeping().await.unwrap();
    assert!(s.store().user_by_id(leaver.id).await.unwrap().is_none());
    let outbox = s.store().outbox(100).await.unwrap();
    let confirmation: Vec<_> = outbox.iter().filter(|m| m.to.as_str() == "leaver@example.com").collect();
    assert_eq!(confirmation.len(), 2, "the account and its workspace, each confirmed: {confirmation:?}");
    assert!(confirmation.iter().any(|m| m.kind == "account_deleted"));
    assert!(confirmation.iter().any(|m| m.kind == "workspace_deleted"));

    // The raw database holds nothing of the person but the confirmations just queued.
    let left = e.mentions(leaver.id.as_uuid(), "leaver@").await;
    assert_eq!(left, vec!["email_outbox.recipient".to_owned()], "rows left for the erased person");
    assert_eq!(
        e.mentions(own_ws.id.as_uuid(), "no-such-text-anywhere").await,
        Vec::<String>::new(),
        "their workspace is gone"
    );
    // What they wrote for someone else's workspace stays there, by nobody in particular.
    let kept = s.post(&boss_actor, shared_post.id).await.unwrap().post;
    assert_eq!(kept.created_by, ERASED_USER);
    assert!(s.store().user_by_id(boss.id).await.unwrap().is_some());
}

#[tokio::test]
async fn workspace_deletion_is_for_owners_confirmed_by_name_and_purged_after_the_grace_period() {
    let e = env().await;
    let s = &e.services;
    let (_, owner) = e.owner("owner@example.com").await;
    let (admin, admin_actor) = e.member(&owner, "admin@example.com", Role::Admin).await;
    let ws = s.workspace(&owner).await.unwrap();
    assert!(matches!(s.delete_workspace(&admin_actor, &ws.name).await, Err(ServiceError::Forbidden(_))));
    assert!(matches!(s.delete_workspace(&owner, "wrong name").await, Err(ServiceError::Invalid(_))));
    s.delete_workspace(&owner, &ws.name).await.unwrap();
    assert!(s.actor(&admin, ws.id).await.is_err(), "members lose access at once");
    e.clock.advance(DAY * 30);
    let report = s.purge_due_deletions().await.unwrap();
    assert_eq!(report.workspaces.len(), 1);
    assert!(s.store().workspace(ws.id).await.unwrap().is_none());
    assert!(
        s.store()
            .outbox(100)
            .await
            .unwrap()
            .iter()
            .any(|m| m.kind == "workspace_deleted" && m.to.as_str() == "owner@example.com")
    );
    assert_eq!(e.mentions(ws.id.as_uuid(), "no-such-text-anywhere").await, Vec::<String>::new());
}

#[tokio::test]
async fn retention_enforces_each_rule_with_the_clock() {
    let e = env().await;
    let s = &e.services;
    let (_, actor) = e.owner("owner@example.com").await;
    let (tok, _) = s.create_api_token(&actor, "ci", &[Scope::Read], None).await.unwrap();
    s.revoke_api_token(&actor, tok.id).await.unwrap();
    s.login("owner@example.com", PASSWORD, [127, 0, 0, 1].into()).await.unwrap();
    let r = s.config().privacy.retention;

    // Day 29: nothing due yet except the verification link (7 days after expiry).
    e.clock.advance(DAY * 29);
    let early = s.apply_retention().await.unwrap();
    assert_eq!((early.outbox, early.api_tokens, early.audit), (0, 0, 0));
    assert_eq!(early.user_tokens, 1);
    assert_eq!(early.sessions, 1, "the session expired after 14 days");

    // Past the outbox and revoked-token periods.
    e.clock.advance(DAY * 2);
    let later = s.apply_retention().await.unwrap();
    assert_eq!(later.outbox, 1, "the verification mail, {} days", r.outbox_days);
    assert_eq!(later.api_tokens, 1);
    assert_eq!(later.audit, 0);
    // Past the audit period.
    e.clock.advance(DAY * i32::try_from(r.audit_log_days).unwrap());
    assert!(s.apply_retention().await.unwrap().audit >= 3);
    assert!(s.audit_log(&actor, PageRequest::first(10)).await.unwrap().items.is_empty());
}

#[tokio::test]
async fn rights_requests_are_due_in_30_days_and_completed_only_once_verified() {
    let e = env().await;
    let s = &e.services;
    let r = s.record_rights_request(CLI, RightKind::Access, "someone@example.com").await.unwrap();
    assert_eq!(r.due_at, s.now() + DAY * 30);
    assert!(matches!(s.close_rights_request(CLI, r.id, true, "sent the export").await, Err(ServiceError::Conflict(_))));
    assert_eq!(s.rights_requests_due(DAY * 7).await.unwrap(), vec![]);
    e.clock.advance(DAY * 25);
    assert_eq!(s.rights_requests_due(DAY * 7).await.unwrap().len(), 1, "due within a week: shown");
    s.verify_rights_request(CLI, r.id, "reply from the account's address").await.unwrap();
    let done = s.close_rights_request(CLI, r.id, true, "sent the export").await.unwrap();
    assert!(done.closed_at.is_some());
    assert_eq!(s.rights_requests_due(DAY * 7).await.unwrap(), vec![]);
}

#[tokio::test]
async fn promise_breach_notify_reports_people_and_workspaces_by_data_class() {
    let e = env().await;
    let s = &e.services;
    let (_, actor) = e.owner("owner@example.com").await;
    e.member(&actor, "member@example.com", Role::Viewer).await;
    e.owner("bystander@example.com").await;
    s.create_brand(&actor, &brand_input()).await.unwrap();
    let report = s.breach_report(DataClass::BrandContent).await.unwrap();
    let mut people: Vec<_> = report.people.iter().map(|p| p.email.as_str()).collect();
    people.sort_unstable();
    assert_eq!(people, vec!["member@example.com", "owner@example.com"]);
    assert_eq!(report.workspaces.len(), 1);
    assert_eq!(report.workspaces[0].owners[0].as_str(), "owner@example.com");
    assert_eq!(s.breach_report(DataClass::Account).await.unwrap().people.len(), 3);
}

#[tokio::test]
async fn promise_rights_of_access_rectification_deletion_portability_objection_are_registered_for_operators() {
    let e = env().await;
    let s = &e.services;
    let (op, _) = e.owner("operator@example.com").await;
    let (someone, _) = e.owner("someone@example.com").await;
    // Every right the policy names can be recorded, each due within the law's 30 days.
    for kind in RightKind::ALL {
        let r = s.record_rights_request(CLI, kind, "subject@example.com").await.unwrap();
        assert_eq!(r.due_at, s.now() + DAY * 30, "{}", kind.as_str());
    }
    // Only operators see or keep the register on the web; for anybody else it does not exist.
    assert!(matches!(s.open_rights_requests(&someone).await, Err(ServiceError::NotFound)));
    let by_someone = s.record_rights_request(Keeper::Operator(someone.id), RightKind::Access, "x@example.com").await;
    assert!(matches!(by_someone, Err(ServiceError::NotFound)));
    assert!(s.grant_operator("operator@example.com").await.unwrap());
    assert!(!s.grant_operator("Operator@Example.com").await.unwrap(), "granting twice changes nothing");
    assert!(matches!(s.grant_operator("nobody@example.com").await, Err(ServiceError::Conflict(_))));
    let open = s.open_rights_requests(&op).await.unwrap();
    assert_eq!(open.len(), RightKind::ALL.len());

    // Due soon, then overdue, as the clock moves; closing takes a verified identity first.
    let r = &open[0];
    assert_eq!(urgency(r, s.now()), Urgency::Later);
    e.clock.advance(DAY * 25);
    assert_eq!(urgency(r, s.now()), Urgency::DueSoon);
    e.clock.advance(DAY * 6);
    assert_eq!(urgency(r, s.now()), Urgency::Overdue);
    let me = Keeper::Operator(op.id);
    assert!(matches!(s.close_rights_request(me, r.id, true, "done").await, Err(ServiceError::Conflict(_))));
    s.verify_rights_request(me, r.id, "reply from the account's address").await.unwrap();
    let done = s.close_rights_request(me, r.id, true, "sent the export").await.unwrap();
    assert_eq!(done.status.as_str(), "completed");
    assert_eq!(s.open_rights_requests(&op).await.unwrap().len(), RightKind::ALL.len() - 1);

    // Each step is in the instance audit, by whom; revoking takes the page away at once.
    let log = s.instance_audit_log(&op, PageRequest::first(50)).await.unwrap().items;
    let by_op: Vec<_> = log.iter().filter(|l| l.actor_id == Some(op.id)).map(|l| l.action.as_str()).collect();
    assert_eq!(by_op, ["rights_request.closed", "rights_request.verified"]);
    assert!(log.iter().any(|l| l.action == "operator.granted" && l.subject_id == Some(op.id)));
    assert_eq!(log.iter().filter(|l| l.action == "rights_request.recorded").count(), RightKind::ALL.len());
    assert!(s.revoke_operator("operator@example.com").await.unwrap());
    assert!(matches!(s.open_rights_requests(&op).await, Err(ServiceError::NotFound)));
    assert!(matches!(s.instance_audit_log(&op, PageRequest::first(5)).await, Err(ServiceError::NotFound)));
}

#[tokio::test]
async fn settings_changes_are_audited_with_the_fields_that_changed_never_their_values() {
    let e = env().await;
    let s = &e.services;
    let (user, actor) = e.owner("owner@example.com").await;
    let brand = s.create_brand(&actor, &brand_input()).await.unwrap();
    let origin = RequestOrigin { client_ip: Some([192, 0, 2, 7].into()), user_agent: Some("Browser/1".into()) };
    let mut edit = brand_input();
    edit.voice = "warm and secret-voice-text".into();
    edit.description = "A new description".into();
    with_origin(origin, s.update_brand(&actor, brand.id, &edit)).await.unwrap();
    // Saving the same profile again changes nothing, so records nothing.
    s.update_brand(&actor, brand.id, &edit).await.unwrap();
    s.set_email_preference(&user, nanopost_services::MailKind::DraftsReady, false).await.unwrap();

    let log = s.audit_log(&actor, PageRequest::first(50)).await.unwrap().items;
    let changed: Vec<_> = log.iter().filter(|l| l.action == "brand.settings_changed").collect();
    assert_eq!(changed.len(), 1, "{log:?}");
    let target = changed[0].target.as_deref().unwrap();
    assert_eq!(target, format!("brand:{} fields=description,voice", brand.id));
    assert!(!target.contains("secret-voice-text"));
    assert_eq!((changed[0].actor_id, changed[0].client_ip.as_deref()), (Some(user.id), Some("192.0.2.7")));
    assert_eq!(changed[0].user_agent.as_deref(), Some("Browser/1"));
    let prefs = log.iter().find(|l| l.action == "settings.email_preferences_changed").unwrap();
    assert_eq!(prefs.actor_id, Some(user.id));
    assert!(prefs.target.as_deref().unwrap().ends_with("email=false"), "{prefs:?}");
}

#[tokio::test]
async fn configuration_changes_are_audited_once_per_change_with_the_keys_and_the_host() {
    let e = env().await;
    let s = &e.services;
    let digests = |pairs: &[(&str, &str)]| -> nanopost_services::audit::ConfigDigests {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    };
    let first = digests(&[("listen", "d1"), ("log", "d2"), ("telegram.bot_token", "secret:unset")]);
    assert_eq!(s.audit_config(&first, "host-a (serve)").await.unwrap().len(), 3, "the first start records every key");
    assert!(s.audit_config(&first, "host-a (worker)").await.unwrap().is_empty(), "unchanged: nothing recorded");
    let second = digests(&[("listen", "d9"), ("log", "d2"), ("telegram.bot_token", "secret:abc"), ("ai.x", "d3")]);
    let changed = s.audit_config(&second, "host-b (serve)").await.unwrap();
    assert_eq!(changed, ["ai.x", "listen", "telegram.bot_token"]);

    let (op, _) = e.owner("op@example.com").await;
    s.grant_operator("op@example.com").await.unwrap();
    let log = s.instance_audit_log(&op, PageRequest::first(10)).await.unwrap().items;
    let config: Vec<_> = log.iter().filter(|l| l.action == "config.changed").collect();
    assert_eq!(config.len(), 2);
    assert_eq!(config[0].target.as_deref(), Some("config:ai.x,listen,telegram.bot_token"));
    assert_eq!(config[0].user_agent.as_deref(), Some("operator on host host-b (serve)"));
    assert_eq!((config[0].workspace_id, config[0].actor_id), (None, None));
    assert!(!config[0].target.as_deref().unwrap().contains("abc"));
    // Workspace admins do not see instance entries in their workspace's log.
    let (_, actor) = e.owner("admin@example.com").await;
    assert!(
        s.audit_log(&actor, PageRequest::first(50)).await.unwrap().items.iter().all(|l| l.action != "config.changed")
    );
}

#[tokio::test]
async fn a_persons_own_export_holds_the_media_they_uploaded_with_digests() {
    use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
    let e = env().await;
    let s = &e.services;
    let (user, actor) = e.owner("photographer@example.com").await;
    let (other, other_actor) = e.member(&actor, "colleague@example.com", Role::Editor).await;
    let img = |shade: u8| {
        let mut out = std::io::Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(RgbImage::from_fn(8, 8, |x, _| Rgb([shade, x as u8, 9])))
            .write_to(&mut out, ImageFormat::Png)
            .unwrap();
        out.into_inner()
    };
    let up = |bytes: Vec<u8>| nanopost_services::media::MediaUpload {
        brand_id: None,
        file_name: "photo.png".into(),
        bytes,
        alt_text: String::new(),
        tags: vec![],
    };
    let mine = s.upload_media(&actor, up(img(10))).await.unwrap().media;
    let theirs = s.upload_media(&other_actor, up(img(200))).await.unwrap().media;

    let info = s.export_my_data(&user).await.unwrap();
    let files = tar::read(&s.download_export(&user, info.id).await.unwrap().archive).unwrap();
    let media_files: Vec<_> = files.iter().filter(|f| f.0.starts_with("media/")).collect();
    assert_eq!(media_files.len(), 1, "only what they uploaded: {:?}", files.iter().map(|f| &f.0).collect::<Vec<_>>());
    let (name, bytes) = media_files[0];
    assert_eq!(name, &format!("media/{}.png", mine.id));
    assert_eq!(nanopost_media::digest(bytes), mine.digest, "the file is the stored one");
    let manifest: serde_json::Value = serde_json::from_slice(&files[0].1).unwrap();
    let listed = manifest["files"].as_array().unwrap().iter().find(|f| f["path"] == name.as_str()).unwrap();
    assert_eq!(listed["sha256"], nanopost_services::privacy::hex(&Sha256::digest(bytes)));
    let rows: serde_json::Value =
        serde_json::from_slice(&files.iter().find(|f| f.0 == "data/media.json").unwrap().1).unwrap();
    assert_eq!(rows[0]["digest"], mine.digest.as_str());
    assert!(!files.iter().any(|f| f.0.contains(&theirs.id.to_string())));
    let _ = other;
}
