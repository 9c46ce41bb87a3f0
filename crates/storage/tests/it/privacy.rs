//! The privacy centre's storage, on SQLite and PostgreSQL: the inventory covers the schema, the
//! audit log is append-only, exports carry no secrets, deletion leaves nothing behind, retention
//! removes what is due and nothing else.

use crate::fixtures::*;
use crate::harness::{self, TestDb};
use jiff::Timestamp;
use nanopost_domain::approval::{Channel, approve};
use nanopost_domain::role::{Role, Scope};
use nanopost_storage::inventory::{self, DataClass, Kind};
use nanopost_storage::{
    AccountDeletion, AuditEntry, ConsentRecord, ERASED_USER, PageRequest, PrivacyExport, RequestStatus,
    RetentionCutoffs, RightKind, RightsRequest, Session, Store, WorkspaceDeletion,
};
use sqlx::{Connection as _, Row as _};
use uuid::Uuid;

/// Each case gets the store and the database URL (to look under the hood), on both backends.
macro_rules! privacy_contract {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $case() {
                super::run(crate::harness::sqlite().await, super::$case).await
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $case() {
                super::run(crate::harness::postgres().await, super::$case).await
            })*
        }
    };
}

privacy_contract![
    inventory_classifies_every_table_and_column,
    audit_log_is_append_only_and_paged_newest_first,
    the_newest_consent_decision_is_in_force,
    promise_rights_of_access_and_portability_export_has_no_secrets,
    promise_verified_deletion_within_30_days_leaves_no_rows,
    workspace_deletion_deactivates_then_purges,
    retention_removes_what_is_due_and_nothing_else,
    rights_requests_are_listed_soonest_due_first,
    promise_breach_notify_lists_affected_people_and_workspaces,
    operators_are_granted_revoked_and_lose_the_right_on_deactivation,
    the_config_fingerprint_is_replaced_with_its_audit_entry_in_one_go,
];

async fn run<F, Fut>(db: TestDb, case: F)
where
    F: FnOnce(Store, String) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let url = db.url.clone();
    harness::run(db, true, move |s| case(s, url)).await
}

// ---------------------------------------------------------------------------------------------
// Looking under the hood.

enum Raw {
    Sqlite(sqlx::SqliteConnection),
    Pg(sqlx::PgConnection),
}

impl Raw {
    async fn open(url: &str) -> Raw {
        if url.starts_with("sqlite:") {
            Raw::Sqlite(sqlx::SqliteConnection::connect(url).await.unwrap())
        } else {
            Raw::Pg(sqlx::PgConnection::connect(url).await.unwrap())
        }
    }

    /// Every (table, column) of the migrated schema.
    async fn schema(&mut self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        match self {
            Raw::Sqlite(c) => {
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
                )
                .fetch_all(&mut *c)
                .await
                .unwrap();
                for t in tables {
                    let cols: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info($1)")
                        .bind(&t)
                        .fetch_all(&mut *c)
                        .await
                        .unwrap();
                    out.extend(cols.into_iter().map(|col| (t.clone(), col)));
                }
            }
            Raw::Pg(c) => {
                for r in sqlx::query(
                    "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
                     WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
                )
                .fetch_all(&mut *c)
                .await
                .unwrap()
                {
                    out.push((r.get("t"), r.get("c")));
                }
            }
        }
        out
    }

    /// Rows of any table, any column, that still mention `needle` (an id or an address), as
    /// `table.column`.
    async fn mentions(&mut self, id: Uuid, needle_text: &str) -> Vec<String> {
        let schema = self.schema().await;
        let mut hits = Vec::new();
        for (t, col) in schema.iter().filter(|(t, _)| !inventory::IGNORED_TABLES.contains(&t.as_str())) {
            let n: i64 = match self {
                Raw::Sqlite(c) => {
                    let sql = format!(
                        "SELECT COUNT(*) FROM {t} WHERE instr(CAST({col} AS BLOB), $1) > 0 \
                         OR instr(lower(CAST({col} AS TEXT)), $2) > 0 OR instr(lower(CAST({col} AS TEXT)), $3) > 0"
                    );
                    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                        .bind(id.as_bytes().as_slice())
                        .bind(id.to_string())
                        .bind(needle_text)
                        .fetch_one(&mut *c)
                        .await
                        .unwrap()
                }
                Raw::Pg(c) => {
                    let sql = format!(
                        "SELECT COUNT(*) FROM {t} WHERE strpos(lower({col}::text), $1) > 0 \
                         OR strpos(lower({col}::text), $2) > 0 OR strpos(lower({col}::text), $3) > 0"
                    );
                    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                        .bind(id.to_string())
                        .bind(id.simple().to_string())
                        .bind(needle_text)
                        .fetch_one(&mut *c)
                        .await
                        .unwrap()
                }
            };
            if n > 0 {
                hits.push(format!("{t}.{col} ({n})"));
            }
        }
        hits
    }

    async fn exec(&mut self, sql: &str) -> Result<u64, sqlx::Error> {
        match self {
            Raw::Sqlite(c) => {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut *c).await.map(|r| r.rows_affected())
            }
            Raw::Pg(c) => {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut *c).await.map(|r| r.rows_affected())
            }
        }
    }
}

fn audit(
    ws: Option<nanopost_domain::ids::WorkspaceId>,
    actor: Option<nanopost_domain::ids::UserId>,
    action: &str,
    at: Timestamp,
) -> AuditEntry {
    AuditEntry {
        id: Uuid::now_v7(),
        at,
        workspace_id: ws,
        actor_id: actor,
        subject_id: None,
        action: action.into(),
        target: None,
        client_ip: Some("192.0.2.7".into()),
        user_agent: Some("TestBrowser/1.0".into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Cases.

/// A migration that adds a table or a column without classifying it in the inventory fails
/// here; so does an inventory entry for something the schema does not have.
async fn inventory_classifies_every_table_and_column(s: Store, url: String) {
    let _ = s;
    let mut raw = Raw::open(&url).await;
    let schema = raw.schema().await;
    let mut missing = Vec::new();
    for (t, col) in &schema {
        if inventory::IGNORED_TABLES.contains(&t.as_str()) {
            continue;
        }
        match inventory::table(t) {
            None => missing.push(format!("table {t}")),
            Some(entry) if entry.column(col).is_none() => missing.push(format!("column {t}.{col}")),
            Some(_) => {}
        }
    }
    assert!(missing.is_empty(), "not classified in crates/storage/src/inventory.rs: {missing:?}");
    for t in inventory::TABLES {
        for c in t.columns {
            assert!(
                schema.iter().any(|(st, sc)| st == t.name && sc == c.name),
                "the inventory lists {}.{} but the schema has no such column",
                t.name,
                c.name
            );
        }
    }
}

async fn audit_log_is_append_only_and_paged_newest_first(s: Store, url: String) {
    let (o, ws) = owner(&s, "owner@example.com").await;
    let (_, other) = owner(&s, "other@example.com").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let e = audit(Some(ws.id), Some(o.id), &format!("action.{i}"), t(i));
        s.append_audit(&e).await.unwrap();
        ids.push(e.id);
    }
    s.append_audit(&audit(Some(other.id), Some(o.id), "elsewhere", t(9))).await.unwrap();
    let first = s.audit_log(ws.id, PageRequest::first(3)).await.unwrap();
    assert_eq!(first.items.iter().map(|e| e.id).collect::<Vec<_>>(), vec![ids[4], ids[3], ids[2]]);
    assert_eq!(first.items[0].client_ip.as_deref(), Some("192.0.2.7"));
    let second = s.audit_log(ws.id, PageRequest { limit: 3, after: first.next }).await.unwrap();
    assert_eq!(second.items.iter().map(|e| e.id).collect::<Vec<_>>(), vec![ids[1], ids[0]]);
    assert_eq!(second.next, None);

    // The database itself refuses rewriting history; only anonymisation passes.
    let mut raw = Raw::open(&url).await;
    assert!(raw.exec("UPDATE audit_log SET action = 'nothing.happened'").await.is_err());
    assert!(raw.exec("UPDATE audit_log SET client_ip = '198.51.100.1'").await.is_err());
    assert!(raw.exec("UPDATE audit_log SET client_ip = NULL, user_agent = NULL, actor_id = NULL").await.is_ok());
}

async fn the_newest_consent_decision_is_in_force(s: Store, _url: String) {
    let (u, _) = owner(&s, "person@example.com").await;
    let decide = |granted: bool, secs: i64| ConsentRecord {
        id: Uuid::now_v7(),
        user_id: Some(u.id),
        visitor_id: None,
        purpose: "marketing_email".into(),
        granted,
        policy_version: "2026-01".into(),
        source: "settings".into(),
        at: t(secs),
    };
    assert_eq!(s.current_consent(u.id, "marketing_email").await.unwrap(), None);
    s.record_consent(&decide(true, 1)).await.unwrap();
    s.record_consent(&decide(false, 2)).await.unwrap();
    let now = s.current_consent(u.id, "marketing_email").await.unwrap().unwrap();
    assert!(!now.granted);
    assert_eq!(s.consents_of(u.id).await.unwrap().len(), 2, "withdrawal is recorded, not overwritten");
    // A visitor without an account.
    let visitor = ConsentRecord { user_id: None, visitor_id: Some("v-123".into()), ..decide(true, 3) };
    s.record_consent(&visitor).await.unwrap();
}

async fn promise_rights_of_access_and_portability_export_has_no_secrets(s: Store, _url: String) {
    let (o, ws) = owner(&s, "owner@example.com").await;
    let m = member(&s, ws.id, o.id, "member@example.com", Role::Editor).await;
    let tok = api_token(ws.id, o.id, &[Scope::Read], None);
    s.create_api_token(&tok).await.unwrap();
    s.create_session(&Session { hash: hash(), user_id: o.id, created_at: t(0), expires_at: t(100) }).await.unwrap();
    let b = brand(ws.id, "Bakery");
    s.insert_brand(&b).await.unwrap();
    s.insert_post(&post(ws.id, b.id, o.id, "fresh bread")).await.unwrap();
    s.append_audit(&audit(Some(ws.id), Some(o.id), "auth.sign_in", t(1))).await.unwrap();

    let dump = s.dump_person(o.id, &o.email).await.unwrap();
    let tables: Vec<_> = dump.iter().map(|d| d.table).collect();
    for expected in ["users", "sessions", "memberships", "api_tokens", "posts", "audit_log", "email_outbox"] {
        assert!(tables.contains(&expected), "{expected} missing from the export: {tables:?}");
    }
    let text = serde_json::to_string(&dump.iter().map(|d| (d.table, &d.rows)).collect::<Vec<_>>()).unwrap();
    assert!(text.contains("owner@example.com") && text.contains("fresh bread"));
    assert!(!text.contains("argon2"), "password hash exported");
    assert!(!text.contains("password_hash") && !text.contains("\"hash\""), "a secret column was exported");
    // The invitation the owner sent names its addressee; nothing of the member's own is there.
    assert!(!text.contains(&m.id.to_string()), "another person's data in a personal export");
    for d in &dump {
        let table = inventory::table(d.table).unwrap();
        for row in &d.rows {
            for key in row.keys() {
                assert_ne!(table.column(key).unwrap().kind, Kind::Secret, "{}.{key}", d.table);
            }
        }
    }
    // The workspace export holds the workspace's rows, members included, secrets excluded.
    let wdump = s.dump_workspace(ws.id).await.unwrap();
    let wtext = serde_json::to_string(&wdump.iter().map(|d| (d.table, &d.rows)).collect::<Vec<_>>()).unwrap();
    assert!(wtext.contains(&m.id.to_string()) && wtext.contains("Bakery"));
    assert!(!wtext.contains("argon2") && !wtext.contains("\"hash\""));

    // Archives are handed only to their requester, and only until they expire.
    let x = PrivacyExport {
        id: Uuid::now_v7(),
        requested_by: o.id,
        workspace_id: None,
        created_at: t(0),
        expires_at: t(100),
        sha256: "00".into(),
        archive: b"archive bytes".to_vec(),
    };
    s.insert_export(&x).await.unwrap();
    assert_eq!(s.privacy_export(x.id, o.id, t(50)).await.unwrap().unwrap().archive, b"archive bytes");
    assert_eq!(s.privacy_export(x.id, m.id, t(50)).await.unwrap(), None);
    assert_eq!(s.privacy_export(x.id, o.id, t(100)).await.unwrap(), None);
    assert_eq!(s.exports_of(o.id, t(50)).await.unwrap()[0].bytes, 13);
}

async fn promise_verified_deletion_within_30_days_leaves_no_rows(s: Store, url: String) {
    // The person owns a workspace alone and is an editor in someone else's.
    let (u, own) = owner(&s, "leaving@example.com").await;
    let (boss, shared) = owner(&s, "boss@example.com").await;
    let invite = invitation(shared.id, "leaving@example.com", Role::Editor, boss.id, t(86_400));
    s.create_invitation(&invite, &mail("leaving@example.com", "invitation", t(0))).await.unwrap();
    s.accept_invitation(&invite.hash, &u, t(1)).await.unwrap();
    let b = brand(shared.id, "Shared brand");
    s.insert_brand(&b).await.unwrap();
    let mut p = post(shared.id, b.id, u.id, "written by the leaver");
    p.submit(t(2)).unwrap();
    s.insert_post(&p).await.unwrap();
    let seen = p.content.digest();
    // The boss approves; the post stays the leaver's.
    let a = approve(&mut p, boss.id, Role::Owner, Channel::Web, &seen, t(3)).unwrap();
    s.save_approved_post(&p, &a).await.unwrap();
    let tok = api_token(shared.id, u.id, &[Scope::Read], None);
    s.create_api_token(&tok).await.unwrap();
    let session = Session { hash: hash(), user_id: u.id, created_at: t(0), expires_at: t(1_000_000) };
    s.create_session(&session).await.unwrap();
    let mut entry = audit(Some(shared.id), Some(u.id), "post.created", t(4));
    entry.target = Some(format!("user:{}", u.id));
    s.append_audit(&entry).await.unwrap();
    s.append_audit(&AuditEntry {
        subject_id: Some(u.id),
        actor_id: None,
        ..audit(None, None, "auth.sign_in_failed", t(5))
    })
    .await
    .unwrap();
    s.record_consent(&ConsentRecord {
        id: Uuid::now_v7(),
        user_id: Some(u.id),
        visitor_id: None,
        purpose: "marketing_email".into(),
        granted: true,
        policy_version: "1".into(),
        source: "settings".into(),
        at: t(5),
    })
    .await
    .unwrap();

    let grace = jiff::SignedDuration::from_hours(24 * 30);
    let deletion = AccountDeletion {
        user_id: u.id,
        contact: u.email.clone(),
        requested_at: t(10),
        purge_after: t(10) + grace,
        tombstone_email: email(&format!("deactivated-{}@nanopost.invalid", u.id.as_uuid().simple())),
    };
    let own_deletion = WorkspaceDeletion {
        workspace_id: own.id,
        workspace_name: own.name.clone(),
        contacts: vec![u.email.clone()],
        requested_by: u.id,
        requested_at: t(10),
        purge_after: t(10) + grace,
    };
    s.deactivate_account(&deletion, std::slice::from_ref(&own_deletion)).await.unwrap();

    // At once: no session, no token, no membership, no way back in by address.
    assert_eq!(s.session(&session.hash, t(11)).await.unwrap(), None);
    assert_eq!(s.api_token_by_hash(&tok.hash, t(11)).await.unwrap(), None);
    assert_eq!(s.workspaces_of(u.id).await.unwrap(), vec![]);
    assert_eq!(s.user_by_email(&u.email).await.unwrap(), None);
    assert_eq!(s.members(own.id).await.unwrap(), vec![]);
    assert_eq!(s.due_account_deletions(t(11), 10).await.unwrap(), vec![]);

    // After the grace period the purge erases the person.
    let due = s.due_account_deletions(t(10) + grace, 10).await.unwrap();
    assert_eq!(due, vec![deletion.clone()]);
    let due_ws = s.due_workspace_deletions(t(10) + grace, 10).await.unwrap();
    assert_eq!(due_ws, vec![own_deletion.clone()]);
    s.purge_workspace(&own_deletion, &[]).await.unwrap();
    let confirmation = mail("leaving@example.com", "account_deleted", t(10) + grace);
    s.purge_account(&deletion, &confirmation).await.unwrap();

    let mut raw = Raw::open(&url).await;
    let left = raw.mentions(u.id.as_uuid(), "leaving@").await;
    // The one mention left is the confirmation mail itself (kept under the outbox's retention).
    assert_eq!(left, vec!["email_outbox.recipient (1)".to_owned(), "email_outbox.subject (1)".to_owned()]);
    assert!(
        raw.mentions(own.id.as_uuid(), "leaving@example.com's workspace")
            .await
            .iter()
            .all(|h| h.starts_with("email_outbox"))
    );
    // The shared workspace keeps its post and approval, by an erased author.
    let kept = s.post(shared.id, p.id).await.unwrap().unwrap();
    assert_eq!(kept.created_by, ERASED_USER);
    assert_eq!(s.approvals_of(shared.id, p.id).await.unwrap().len(), 1);
    assert_eq!(s.due_account_deletions(t(10) + grace, 10).await.unwrap(), vec![]);
}

async fn workspace_deletion_deactivates_then_purges(s: Store, url: String) {
    let (o, ws) = owner(&s, "owner@example.com").await;
    let m = member(&s, ws.id, o.id, "member@example.com", Role::Editor).await;
    let b = brand(ws.id, "Doomed brand");
    s.insert_brand(&b).await.unwrap();
    s.insert_post(&post(ws.id, b.id, m.id, "doomed post")).await.unwrap();
    let tok = api_token(ws.id, o.id, &[Scope::Read], None);
    s.create_api_token(&tok).await.unwrap();
    s.append_audit(&audit(Some(ws.id), Some(o.id), "brand.created", t(1))).await.unwrap();
    let d = WorkspaceDeletion {
        workspace_id: ws.id,
        workspace_name: ws.name.clone(),
        contacts: vec![o.email.clone()],
        requested_by: o.id,
        requested_at: t(10),
        purge_after: t(20),
    };
    s.deactivate_workspace(&d).await.unwrap();
    assert_eq!(s.role_of(ws.id, m.id).await.unwrap(), None, "members lose access at once");
    assert_eq!(s.api_token_by_hash(&tok.hash, t(11)).await.unwrap(), None);
    assert_eq!(s.workspace_deletion(ws.id).await.unwrap(), Some(d.clone()));
    assert!(s.due_workspace_deletions(t(19), 10).await.unwrap().is_empty());
    assert_eq!(s.due_workspace_deletions(t(20), 10).await.unwrap(), vec![d.clone()]);
    s.purge_workspace(&d, &[mail("owner@example.com", "workspace_deleted", t(20))]).await.unwrap();
    let mut raw = Raw::open(&url).await;
    assert_eq!(raw.mentions(ws.id.as_uuid(), "doomed").await, Vec::<String>::new());
    // The people themselves stay: deleting a workspace is not deleting its members.
    assert!(s.user_by_id(m.id).await.unwrap().is_some());
}

async fn retention_removes_what_is_due_and_nothing_else(s: Store, _url: String) {
    let (o, ws) = owner(&s, "owner@example.com").await;
    // Old and new of each kind.
    s.create_session(&Session { hash: hash(), user_id: o.id, created_at: t(0), expires_at: t(10) }).await.unwrap();
    let live = Session { hash: hash(), user_id: o.id, created_at: t(0), expires_at: t(10_000) };
    s.create_session(&live).await.unwrap();
    s.enqueue_email(&mail("old@example.com", "x", t(1))).await.unwrap();
    s.enqueue_email(&mail("new@example.com", "x", t(500))).await.unwrap();
    s.append_audit(&audit(Some(ws.id), Some(o.id), "old", t(1))).await.unwrap();
    s.append_audit(&audit(Some(ws.id), Some(o.id), "new", t(500))).await.unwrap();
    let mut revoked = api_token(ws.id, o.id, &[Scope::Read], None);
    revoked.revoked_at = Some(t(2));
    s.create_api_token(&revoked).await.unwrap();
    let kept = api_token(ws.id, o.id, &[Scope::Read], None);
    s.create_api_token(&kept).await.unwrap();
    let stale_inv = invitation(ws.id, "late@example.com", Role::Viewer, o.id, t(5));
    s.create_invitation(&stale_inv, &mail("late@example.com", "invitation", t(0))).await.unwrap();
    let fresh_inv = invitation(ws.id, "soon@example.com", Role::Viewer, o.id, t(5_000));
    s.create_invitation(&fresh_inv, &mail("soon@example.com", "invitation", t(450))).await.unwrap();

    let report = s
        .apply_retention(&RetentionCutoffs {
            now: t(400),
            outbox_before: t(100),
            audit_before: t(100),
            tokens_before: t(100),
            api_tokens_before: t(100),
            visitor_consents_before: t(100),
        })
        .await
        .unwrap();
    assert_eq!(report.sessions, 1);
    assert_eq!(report.audit, 1);
    assert_eq!(report.api_tokens, 1);
    assert_eq!(report.invitations, 1);
    // The sign-up mail, the old mail and the stale invitation's mail (all created before t(100)).
    assert_eq!(report.outbox, 3);
    assert_eq!(report.user_tokens, 0, "the verification link expires after the cut-off");
    assert!(s.session(&live.hash, t(400)).await.unwrap().is_some());
    let outbox: Vec<_> = s.outbox(10).await.unwrap().into_iter().map(|m| m.to.as_str().to_owned()).collect();
    assert_eq!(outbox, vec!["new@example.com", "soon@example.com"]);
    let audit = s.audit_log(ws.id, PageRequest::first(10)).await.unwrap().items;
    assert_eq!(audit.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), vec!["new"]);
    let tokens: Vec<_> = s.api_tokens(ws.id).await.unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(tokens, vec![kept.id]);
    assert_eq!(s.invitations(ws.id, t(400)).await.unwrap().len(), 1);
}

async fn rights_requests_are_listed_soonest_due_first(s: Store, _url: String) {
    let day = jiff::SignedDuration::from_hours(24);
    let request = |kind: RightKind, received: Timestamp| RightsRequest {
        id: Uuid::now_v7(),
        kind,
        subject_email: email("subject@example.com"),
        user_id: None,
        received_at: received,
        due_at: received + day * 30,
        verified_at: None,
        verification: None,
        status: RequestStatus::Received,
        outcome: None,
        closed_at: None,
    };
    let late = request(RightKind::Access, t(0) + day * 10);
    let early = request(RightKind::Deletion, t(0));
    let mut done = request(RightKind::Objection, t(0));
    s.insert_rights_request(&late).await.unwrap();
    s.insert_rights_request(&early).await.unwrap();
    s.insert_rights_request(&done).await.unwrap();
    done.status = RequestStatus::Completed;
    done.outcome = Some("processing stopped".into());
    done.closed_at = Some(t(5));
    s.update_rights_request(&done).await.unwrap();
    let open: Vec<_> = s.open_rights_requests(None).await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(open, vec![early.id, late.id]);
    let soon: Vec<_> = s.open_rights_requests(Some(t(0) + day * 31)).await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(soon, vec![early.id]);
    assert_eq!(s.rights_request(done.id).await.unwrap().unwrap(), done);
}

async fn promise_breach_notify_lists_affected_people_and_workspaces(s: Store, _url: String) {
    let (o, ws) = owner(&s, "owner@example.com").await;
    let m = member(&s, ws.id, o.id, "member@example.com", Role::Editor).await;
    let (_lonely, empty_ws) = owner(&s, "lonely@example.com").await;
    s.insert_brand(&brand(ws.id, "Has content")).await.unwrap();

    let people = s.affected_people(DataClass::Account).await.unwrap();
    let mut addrs: Vec<_> = people.iter().map(|p| p.email.as_str()).collect();
    addrs.sort_unstable();
    assert_eq!(addrs, vec!["lonely@example.com", "member@example.com", "owner@example.com"]);
    assert!(people.iter().all(|p| p.user_id != ERASED_USER));

    let content = s.affected_workspaces(DataClass::BrandContent).await.unwrap();
    assert_eq!(content.len(), 1);
    assert_eq!(content[0].workspace_id, ws.id);
    assert_eq!(content[0].owners, vec![o.email.clone()]);
    assert!(content.iter().all(|w| w.workspace_id != empty_ws.id));
    let content_people: Vec<_> =
        s.affected_people(DataClass::BrandContent).await.unwrap().into_iter().map(|p| p.user_id).collect();
    assert!(content_people.contains(&o.id) && content_people.contains(&m.id));
    assert_eq!(content_people.len(), 2);
}

async fn operators_are_granted_revoked_and_lose_the_right_on_deactivation(s: Store, _url: String) {
    let now = t(1_800_000_000);
    let (u, ws) = owner(&s, "op@example.com").await;
    let (other, _) = owner(&s, "other@example.com").await;
    let granted = audit(None, None, "operator.granted", now);
    assert!(!s.is_operator(u.id).await.unwrap());
    assert!(s.grant_operator(u.id, now, &granted).await.unwrap());
    assert!(!s.grant_operator(u.id, now, &audit(None, None, "operator.granted", now)).await.unwrap(), "once");
    assert!(s.is_operator(u.id).await.unwrap() && !s.is_operator(other.id).await.unwrap());
    let ops = s.operators().await.unwrap();
    assert_eq!(ops.iter().map(|o| o.email.as_str()).collect::<Vec<_>>(), ["op@example.com"]);
    // The grant is an instance entry; an entry of a workspace or of an account is not.
    s.append_audit(&audit(None, Some(u.id), "auth.sign_in", now)).await.unwrap();
    let instance = s.instance_audit_log(PageRequest::first(10)).await.unwrap().items;
    assert_eq!(instance.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["operator.granted"]);
    // …and the operator's workspace does not see it (its sign-in, yes).
    let in_ws = s.audit_log(ws.id, PageRequest::first(10)).await.unwrap().items;
    assert_eq!(in_ws.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["auth.sign_in"]);

    assert!(s.revoke_operator(u.id, &audit(None, None, "operator.revoked", now)).await.unwrap());
    assert!(!s.revoke_operator(u.id, &audit(None, None, "operator.revoked", now)).await.unwrap());
    assert!(!s.is_operator(u.id).await.unwrap());
    assert_eq!(s.instance_audit_log(PageRequest::first(10)).await.unwrap().items.len(), 2, "nothing for a no-op");

    // A deactivated account operates nothing, at once.
    s.grant_operator(u.id, now, &audit(None, None, "operator.granted", now)).await.unwrap();
    let d = AccountDeletion {
        user_id: u.id,
        contact: u.email.clone(),
        requested_at: now,
        purge_after: now,
        tombstone_email: nanopost_domain::account::Email::parse("gone@nanopost.invalid").unwrap(),
    };
    s.deactivate_account(&d, &[]).await.unwrap();
    assert!(!s.is_operator(u.id).await.unwrap());
}

async fn the_config_fingerprint_is_replaced_with_its_audit_entry_in_one_go(s: Store, _url: String) {
    let now = t(1_800_000_000);
    assert!(s.config_fingerprint().await.unwrap().is_empty());
    let first: std::collections::BTreeMap<String, String> =
        [("listen".to_owned(), "a".to_owned()), ("log".to_owned(), "b".to_owned())].into();
    s.replace_config_fingerprint(&first, now, Some(&audit(None, None, "config.changed", now))).await.unwrap();
    assert_eq!(s.config_fingerprint().await.unwrap(), first);
    let second: std::collections::BTreeMap<String, String> = [("listen".to_owned(), "c".to_owned())].into();
    s.replace_config_fingerprint(&second, now, None).await.unwrap();
    assert_eq!(s.config_fingerprint().await.unwrap(), second, "keys gone from the configuration go");
    let log = s.instance_audit_log(PageRequest::first(10)).await.unwrap();
    assert_eq!(log.items.len(), 1);
    assert_eq!(log.items[0].action, "config.changed");
    // Paging works from an entry on.
    let next = s.instance_audit_log(PageRequest { limit: 10, after: Some(log.items[0].id) }).await.unwrap();
    assert!(next.items.is_empty());
}
