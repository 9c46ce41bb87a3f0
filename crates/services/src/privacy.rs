//! The privacy centre: consents, marketing with one-click unsubscribe, export, deletion with a
//! grace period, retention, the register of data-subject requests, the sub-processor list and
//! breach support. What is stored and how it is classified lives in the storage inventory; this
//! module decides who may do what and when.

use crate::Services;
use crate::actor::Actor;
use crate::audit::{AuditAction, AuditEvent};
use crate::auth::outbox_mail;
use crate::error::{Result, ServiceError};
use crate::secrets;
use jiff::{SignedDuration, Timestamp};
use nanopost_domain::account::Email;
use nanopost_domain::error::ValidationErrors;
use nanopost_domain::ids::{UserId, WorkspaceId};
use nanopost_domain::role::{Permission, Role};
use nanopost_storage::inventory::DataClass;
use nanopost_storage::{
    AccountDeletion, AffectedPerson, AffectedWorkspace, Backend, ConsentRecord, ExportInfo, PrivacyExport, PurgeReport,
    RequestStatus, RetentionCutoffs, RetentionReport, RightKind, RightsRequest, TableDump, User, Workspace,
    WorkspaceDeletion,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Job kind: build a privacy export archive.
pub const EXPORT_JOB: &str = "privacy.export";

#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct ExportPayload {
    user_id: UserId,
    workspace_id: Option<WorkspaceId>,
}

fn export_key(p: &ExportPayload) -> String {
    match p.workspace_id {
        Some(ws) => format!("{EXPORT_JOB}:{}:{ws}", p.user_id),
        None => format!("{EXPORT_JOB}:{}:me", p.user_id),
    }
}

/// The privacy policy and terms the app serves; a new text needs a new version (consents record
/// the version they were given under).
pub const PRIVACY_POLICY_VERSION: &str = "2026-11-01";
pub const PRIVACY_POLICY_DATE: &str = "1 November 2026";
pub const TERMS_VERSION: &str = "2026-11-01";
pub const TERMS_DATE: &str = "1 November 2026";

/// Consent purposes.
pub const PURPOSE_OPTIONAL_COOKIES: &str = "cookies_optional";
pub const PURPOSE_MARKETING_EMAIL: &str = "marketing_email";

/// The longest grace period between a deletion request and the purge (the policy's promise).
pub const MAX_DELETION_GRACE: SignedDuration = SignedDuration::from_hours(24 * 30);
/// The law's period for answering a data-subject request.
pub const RIGHTS_REQUEST_PERIOD: SignedDuration = SignedDuration::from_hours(24 * 30);
/// Purges handled per data class in one housekeeping pass.
const PURGE_BATCH: u32 = 100;

const DAY: SignedDuration = SignedDuration::from_hours(24);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivacyConfig {
    /// Between a deletion request (account or workspace) and the purge; at most 30 days.
    pub deletion_grace: SignedDuration,
    /// How long an export archive can be downloaded.
    pub export_ttl: SignedDuration,
    pub retention: RetentionPolicy,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self {
            deletion_grace: MAX_DELETION_GRACE,
            export_ttl: SignedDuration::from_hours(72),
            retention: Default::default(),
        }
    }
}

/// Days each kind of data is kept once it has no more use. Account and brand data live as long
/// as the account or workspace (then deletion applies); these are the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Logs: the audit log.
    pub audit_log_days: u32,
    /// Logs: e-mail in the outbox, sent or not.
    pub outbox_days: u32,
    /// Account: used or expired e-mail links and finished invitations.
    pub expired_tokens_days: u32,
    /// Account: revoked or expired API tokens (kept a while so their owners see what happened).
    pub revoked_api_tokens_days: u32,
    /// Account: cookie choices of visitors without an account.
    pub visitor_consents_days: u32,
    /// Collected public posts (research): the shortest period.
    pub collected_public_posts_days: u32,
    /// Audience and commenter data: short as well.
    pub audience_commenter_days: u32,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self {
            audit_log_days: 365,
            outbox_days: 30,
            expired_tokens_days: 7,
            revoked_api_tokens_days: 30,
            visitor_consents_days: 365,
            collected_public_posts_days: 30,
            audience_commenter_days: 30,
        }
    }
}

/// One retention rule, as the privacy page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionRule {
    pub class: DataClass,
    pub what: &'static str,
    pub kept: String,
}

impl RetentionPolicy {
    /// A rule for every data class, including those with no data in this version yet.
    pub fn rules(&self, deletion_grace: SignedDuration) -> Vec<RetentionRule> {
        let days = |d: u32| format!("{d} days");
        let grace =
            format!("until the account or workspace is deleted, then at most {} days", deletion_grace.as_hours() / 24);
        vec![
            RetentionRule { class: DataClass::Account, what: "accounts, memberships, consents", kept: grace.clone() },
            RetentionRule {
                class: DataClass::Account,
                what: "used or expired e-mail links and invitations",
                kept: days(self.expired_tokens_days),
            },
            RetentionRule {
                class: DataClass::Account,
                what: "revoked or expired API tokens",
                kept: days(self.revoked_api_tokens_days),
            },
            RetentionRule {
                class: DataClass::Account,
                what: "cookie choices of visitors without an account",
                kept: days(self.visitor_consents_days),
            },
            RetentionRule { class: DataClass::BrandContent, what: "brands, posts, approvals", kept: grace.clone() },
            RetentionRule {
                class: DataClass::ConnectedAccountTokens,
                what: "connected-account tokens",
                kept: "until disconnected, or the workspace is deleted (deleted at once)".into(),
            },
            RetentionRule {
                class: DataClass::AudienceCommenter,
                what: "commenters and audience data",
                kept: days(self.audience_commenter_days),
            },
            RetentionRule {
                class: DataClass::CollectedPublicPosts,
                what: "collected public posts",
                kept: days(self.collected_public_posts_days),
            },
            RetentionRule { class: DataClass::Billing, what: "billing records", kept: grace },
            RetentionRule { class: DataClass::Usage, what: "background jobs", kept: "until done".into() },
            RetentionRule { class: DataClass::Logs, what: "audit log", kept: days(self.audit_log_days) },
            RetentionRule {
                class: DataClass::Logs,
                what: "e-mail outbox and in-app notifications",
                kept: days(self.outbox_days),
            },
        ]
    }
}

// ---------------------------------------------------------------------------------------------
// Sub-processors

/// An external service that receives personal data from this installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubProcessor {
    pub name: &'static str,
    pub purpose: &'static str,
    pub data: &'static str,
    pub operated_by: &'static str,
}

/// The external services this installation has enabled, read from its configuration. Each
/// integration that sends personal data out adds its switch here (and a line to
/// [`sub_processors`]), so the public list follows the configuration and cannot go stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnabledServices {
    pub database: Backend,
}

/// The sub-processor list for `enabled`. The embedded database is part of the app, so a
/// default installation lists nobody.
pub fn sub_processors(enabled: &EnabledServices) -> Vec<SubProcessor> {
    let mut out = Vec::new();
    if enabled.database == Backend::Postgres {
        out.push(SubProcessor {
            name: "PostgreSQL database server",
            purpose: "stores all data of this installation",
            data: "all data classes",
            operated_by: "the operator of this installation (or the hosting provider they chose)",
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Export archives

/// The archive format: a POSIX tar of JSON files with `manifest.json` listing every other file
/// with its size and SHA-256.
pub const EXPORT_FORMAT: &str = "nanopost-export/1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreachReport {
    pub class: DataClass,
    pub people: Vec<AffectedPerson>,
    pub workspaces: Vec<AffectedWorkspace>,
}

impl Services {
    // -----------------------------------------------------------------------------------------
    // Policies and sub-processors.

    pub fn sub_processors(&self) -> Vec<SubProcessor> {
        sub_processors(&EnabledServices { database: self.store().backend() })
    }

    pub fn retention_rules(&self) -> Vec<RetentionRule> {
        let p = &self.config().privacy;
        p.retention.rules(effective_grace(p.deletion_grace))
    }

    // -----------------------------------------------------------------------------------------
    // Consents.

    /// Records a cookie-banner choice: optional cookies allowed or not. `visitor_id` is the
    /// random id in the consent cookie, so a visitor without an account has a record too.
    pub async fn record_cookie_choice(
        &self,
        user: Option<UserId>,
        visitor_id: &str,
        allow_optional: bool,
    ) -> Result<()> {
        let visitor = visitor_id.trim();
        if visitor.is_empty()
            || visitor.len() > 64
            || !visitor.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(nanopost_domain::ValidationError::new("visitor", "is not a valid visitor id").into());
        }
        let record = ConsentRecord {
            id: Uuid::now_v7(),
            user_id: user,
            visitor_id: Some(visitor.to_owned()),
            purpose: PURPOSE_OPTIONAL_COOKIES.into(),
            granted: allow_optional,
            policy_version: PRIVACY_POLICY_VERSION.into(),
            source: "cookie_banner".into(),
            at: self.now(),
        };
        Ok(self.store().record_consent(&record).await?)
    }

    /// Whether the user agreed to marketing e-mail (and has not withdrawn).
    pub async fn marketing_consent(&self, user: &User) -> Result<bool> {
        Ok(self.store().current_consent(user.id, PURPOSE_MARKETING_EMAIL).await?.is_some_and(|c| c.granted))
    }

    pub async fn set_marketing_consent(&self, user: &User, granted: bool) -> Result<()> {
        self.write_marketing_consent(user.id, granted, "settings").await?;
        self.audit(AuditEvent::account(user.id, AuditAction::MarketingConsentChanged).target("marketing", granted))
            .await;
        Ok(())
    }

    /// The one-click unsubscribe link every marketing message carries: signed with the
    /// installation secret, no sign-in needed.
    pub fn unsubscribe_link(&self, user: UserId) -> String {
        let sig = secrets::sign(&self.config().secret_key, "unsubscribe", user.as_uuid().as_bytes());
        format!("{}/unsubscribe?u={user}&sig={sig}", self.public_url())
    }

    /// Withdraws marketing consent at once, for whoever holds a correctly signed link.
    pub async fn unsubscribe(&self, user: &str, sig: &str) -> Result<()> {
        let invalid = || ServiceError::Conflict("this unsubscribe link is not valid".into());
        let user: UserId = user.trim().parse().map_err(|_| invalid())?;
        if !secrets::verify(&self.config().secret_key, "unsubscribe", user.as_uuid().as_bytes(), sig.trim()) {
            return Err(invalid());
        }
        if self.store().user_by_id(user).await?.is_none() {
            // Erased meanwhile: there is nobody left to write to. Same answer, nothing to record.
            return Ok(());
        }
        self.write_marketing_consent(user, false, "unsubscribe_link").await
    }

    /// Queues a marketing message, only with the recipient's consent in force, always with the
    /// unsubscribe link. `false`: no consent, nothing queued.
    pub async fn send_marketing(&self, user: &User, subject: &str, body: &str) -> Result<bool> {
        // Read afresh: a deactivated account (deletion pending) gets nothing, consent or not.
        let Some(user) = self.store().user_by_id(user.id).await? else { return Ok(false) };
        if self.store().account_deletion(user.id).await?.is_some() || !self.marketing_consent(&user).await? {
            return Ok(false);
        }
        let body = format!(
            "{body}\n\n--\nYou receive this because you agreed to news from Nanopost.\nUnsubscribe with one click: {}\n",
            self.unsubscribe_link(user.id)
        );
        self.store().enqueue_email(&outbox_mail(&user.email, "marketing", subject, body, self.now())).await?;
        Ok(true)
    }

    async fn write_marketing_consent(&self, user: UserId, granted: bool, source: &str) -> Result<()> {
        let record = ConsentRecord {
            id: Uuid::now_v7(),
            user_id: Some(user),
            visitor_id: None,
            purpose: PURPOSE_MARKETING_EMAIL.into(),
            granted,
            policy_version: PRIVACY_POLICY_VERSION.into(),
            source: source.into(),
            at: self.now(),
        };
        Ok(self.store().record_consent(&record).await?)
    }

    pub async fn consents_of(&self, user: &User) -> Result<Vec<ConsentRecord>> {
        Ok(self.store().consents_of(user.id).await?)
    }

    // -----------------------------------------------------------------------------------------
    // Export.
    //
    // A request enqueues an export job (one at a time per person and scope: a double click
    // does not build two); the job builds the archive and the page lists it when it is ready.

    /// Asks for an archive of everything held about the user; a job builds it.
    pub async fn request_my_export(&self, user: &User) -> Result<()> {
        self.enqueue_export(ExportPayload { user_id: user.id, workspace_id: None }).await
    }

    /// Asks for an archive of everything in the workspace. Owners only.
    pub async fn request_workspace_export(&self, actor: &Actor) -> Result<()> {
        actor.require(Permission::ManageWorkspace)?;
        self.enqueue_export(ExportPayload { user_id: actor.user_id, workspace_id: Some(actor.workspace_id) }).await
    }

    /// Whether an archive the user asked for (theirs, or the workspace's) is still being built.
    pub async fn export_in_progress(&self, user: &User, ws: Option<WorkspaceId>) -> Result<bool> {
        let key = export_key(&ExportPayload { user_id: user.id, workspace_id: ws });
        let job = nanopost_jobs::JobQueue::job_by_key(self.queue(), &key)
            .await
            .map_err(|e| ServiceError::Internal(format!("job queue: {e}")))?;
        Ok(job.is_some_and(|j| j.state != nanopost_jobs::JobState::Dead))
    }

    async fn enqueue_export(&self, p: ExportPayload) -> Result<()> {
        let job = nanopost_jobs::NewJob::new(EXPORT_JOB, serde_json::to_value(p).unwrap_or_default(), self.now())
            .unique_key(export_key(&p))
            .max_attempts(5);
        let job = match p.workspace_id {
            Some(ws) => job.workspace(ws),
            None => job,
        };
        self.enqueue(&[job]).await?;
        Ok(())
    }

    /// Handles an [`EXPORT_JOB`]: builds the archive as the requester may see it now (a
    /// member who lost the owner role meanwhile gets nothing).
    pub async fn run_export(&self, job: &nanopost_jobs::Job) -> nanopost_jobs::JobResult {
        use nanopost_jobs::JobError;
        let p: ExportPayload = serde_json::from_value(job.payload.clone())
            .map_err(|e| JobError::permanent(format!("malformed {EXPORT_JOB} payload: {e}")))?;
        let retry = |e: ServiceError| match e {
            ServiceError::Internal(m) => JobError::retry(m),
            other => JobError::permanent(format!("the export was not built: {other}")),
        };
        let user = self.store().user_by_id(p.user_id).await.map_err(|e| retry(e.into()))?;
        let deleting = self.store().account_deletion(p.user_id).await.map_err(|e| retry(e.into()))?.is_some();
        let Some(user) = user.filter(|_| !deleting) else {
            return Ok(vec![]); // The account is gone or being deleted: nothing to hand out.
        };
        match p.workspace_id {
            None => self.export_my_data(&user).await.map_err(retry)?,
            Some(ws) => {
                let actor = self.actor(&user, ws).await.map_err(retry)?;
                self.export_workspace(&actor).await.map_err(retry)?
            }
        };
        Ok(vec![])
    }

    /// Builds the archive of everything held about the user; downloadable until it expires.
    /// (Called by the export job; people ask through [`Services::request_my_export`].)
    pub async fn export_my_data(&self, user: &User) -> Result<ExportInfo> {
        let dump = self.store().dump_person(user.id, &user.email).await?;
        let subject = serde_json::json!({ "kind": "person", "user_id": user.id, "email": user.email.as_str() });
        let info = self.store_export(user.id, None, subject, dump, vec![]).await?;
        self.audit(AuditEvent::account(user.id, AuditAction::DataExported).target("export", info.id)).await;
        Ok(info)
    }

    /// Builds the archive of everything in the workspace. Owners only.
    pub async fn export_workspace(&self, actor: &Actor) -> Result<ExportInfo> {
        actor.require(Permission::ManageWorkspace)?;
        let ws = self.store().workspace(actor.workspace_id).await?.ok_or(ServiceError::NotFound)?;
        let dump = self.store().dump_workspace(ws.id).await?;
        let members: Vec<_> = self
            .store()
            .members(ws.id)
            .await?
            .into_iter()
            .map(|m| {
                serde_json::json!({
                    "user_id": m.user_id, "email": m.email.as_str(), "display_name": m.display_name,
                    "role": m.role.as_str(), "joined_at": m.joined_at.to_string(),
                })
            })
            .collect();
        let mut extra = vec![("data/members.json".to_owned(), pretty(&serde_json::Value::Array(members)))];
        // The media files themselves, beside their rows in data/media.json (same digests).
        extra.extend(self.media_export_files(ws.id).await?);
        let subject = serde_json::json!({ "kind": "workspace", "workspace_id": ws.id, "name": ws.name });
        let info = self.store_export(actor.user_id, Some(ws.id), subject, dump, extra).await?;
        self.audit(AuditEvent::by(actor, AuditAction::DataExported).target("export", info.id)).await;
        Ok(info)
    }

    pub async fn my_exports(&self, user: &User) -> Result<Vec<ExportInfo>> {
        Ok(self.store().exports_of(user.id, self.now()).await?)
    }

    /// The archive, to its requester only, until it expires.
    pub async fn download_export(&self, user: &User, id: Uuid) -> Result<PrivacyExport> {
        self.store().privacy_export(id, user.id, self.now()).await?.ok_or(ServiceError::NotFound)
    }

    async fn store_export(
        &self,
        requester: UserId,
        ws: Option<WorkspaceId>,
        subject: serde_json::Value,
        dump: Vec<TableDump>,
        extra: Vec<(String, Vec<u8>)>,
    ) -> Result<ExportInfo> {
        let now = self.now();
        let mut files: Vec<(String, Vec<u8>)> = dump
            .into_iter()
            .map(|d| {
                (
                    format!("data/{}.json", d.table),
                    pretty(&serde_json::Value::Array(d.rows.into_iter().map(serde_json::Value::Object).collect())),
                )
            })
            .collect();
        files.extend(extra);
        files.push(("README.txt".into(), README.as_bytes().to_vec()));
        let archive = export_archive(&subject, now, files);
        let export = PrivacyExport {
            id: Uuid::now_v7(),
            requested_by: requester,
            workspace_id: ws,
            created_at: now,
            expires_at: now + self.config().privacy.export_ttl,
            sha256: hex(&Sha256::digest(&archive)),
            archive,
        };
        self.store().insert_export(&export).await?;
        Ok(ExportInfo {
            id: export.id,
            workspace_id: ws,
            created_at: export.created_at,
            expires_at: export.expires_at,
            sha256: export.sha256,
            bytes: i64::try_from(export.archive.len()).unwrap_or(i64::MAX),
        })
    }

    // -----------------------------------------------------------------------------------------
    // Deletion.

    /// The workspaces the user owns alone: deleting the account deletes these too.
    pub async fn sole_owned_workspaces(&self, user: &User) -> Result<Vec<Workspace>> {
        let mut out = Vec::new();
        for (ws, role) in self.store().workspaces_of(user.id).await? {
            if role != Role::Owner {
                continue;
            }
            let owners = self.store().members(ws.id).await?.iter().filter(|m| m.role == Role::Owner).count();
            if owners <= 1 {
                out.push(ws);
            }
        }
        Ok(out)
    }

    /// Deletes the account, confirmed with its password: deactivated at once (sessions, API
    /// tokens, links and memberships gone; workspaces it alone owns deactivated too), purged
    /// after the grace period, then confirmed by e-mail.
    pub async fn delete_account(&self, user: &User, password: &str) -> Result<AccountDeletion> {
        if !self.password_matches(user, password).await? {
            let mut errs = ValidationErrors::default();
            errs.push("password", "is not the password of this account");
            return Err(ServiceError::Invalid(errs));
        }
        let now = self.now();
        let purge_after = now + effective_grace(self.config().privacy.deletion_grace);
        let mut workspaces = Vec::new();
        for ws in self.sole_owned_workspaces(user).await? {
            workspaces.push(self.workspace_deletion_record(ws, user.id, now, purge_after).await?);
        }
        let tombstone = Email::parse(&format!("deactivated-{}@nanopost.invalid", user.id.as_uuid().simple()))?;
        let deletion = AccountDeletion {
            user_id: user.id,
            contact: user.email.clone(),
            requested_at: now,
            purge_after,
            tombstone_email: tombstone,
        };
        self.audit(AuditEvent::account(user.id, AuditAction::AccountDeletionRequested)).await;
        for w in &workspaces {
            self.audit(AuditEvent {
                workspace_id: Some(w.workspace_id),
                ..AuditEvent::account(user.id, AuditAction::WorkspaceDeletionRequested)
            })
            .await;
        }
        self.store().deactivate_account(&deletion, &workspaces).await?;
        tracing::info!(user = %user.id, purge_after = %purge_after, "account deactivated; purge scheduled");
        Ok(deletion)
    }

    /// Deletes the workspace, confirmed by typing its name. Owners only.
    pub async fn delete_workspace(&self, actor: &Actor, confirm_name: &str) -> Result<WorkspaceDeletion> {
        actor.require(Permission::ManageWorkspace)?;
        let ws = self.store().workspace(actor.workspace_id).await?.ok_or(ServiceError::NotFound)?;
        if confirm_name.trim() != ws.name.trim() {
            let mut errs = ValidationErrors::default();
            errs.push("confirm_name", "type the workspace's name exactly to confirm");
            return Err(ServiceError::Invalid(errs));
        }
        let now = self.now();
        let purge_after = now + effective_grace(self.config().privacy.deletion_grace);
        let record = self.workspace_deletion_record(ws, actor.user_id, now, purge_after).await?;
        self.audit(AuditEvent::by(actor, AuditAction::WorkspaceDeletionRequested)).await;
        self.store().deactivate_workspace(&record).await?;
        tracing::info!(workspace = %record.workspace_id, purge_after = %purge_after, "workspace deactivated; purge scheduled");
        Ok(record)
    }

    async fn workspace_deletion_record(
        &self,
        ws: Workspace,
        by: UserId,
        now: Timestamp,
        purge_after: Timestamp,
    ) -> Result<WorkspaceDeletion> {
        let contacts =
            self.store().members(ws.id).await?.into_iter().filter(|m| m.role == Role::Owner).map(|m| m.email).collect();
        Ok(WorkspaceDeletion {
            workspace_id: ws.id,
            workspace_name: ws.name,
            contacts,
            requested_by: by,
            requested_at: now,
            purge_after,
        })
    }

    /// Purges every account and workspace whose grace period is over, each with its
    /// confirmation mail in the same transaction. Run by the worker.
    pub async fn purge_due_deletions(&self) -> Result<PurgeReport> {
        let now = self.now();
        let mut report = PurgeReport::default();
        // Workspaces first: an account's sole-owned workspaces go before the account.
        for d in self.store().due_workspace_deletions(now, PURGE_BATCH).await? {
            let mails: Vec<_> = d
                .contacts
                .iter()
                .filter(|c| !c.as_str().ends_with(".invalid"))
                .map(|c| {
                    outbox_mail(
                        c,
                        "workspace_deleted",
                        "Your Nanopost workspace has been deleted",
                        format!(
                            "The workspace \"{}\" and everything in it (brands, posts, approvals, media, connected accounts, tokens, audit log) have been deleted from Nanopost for good.\n\nDeletion was requested on {}.",
                            d.workspace_name,
                            d.requested_at.strftime("%Y-%m-%d")
                        ),
                        now,
                    )
                })
                .collect();
            // Media objects first: once the rows are gone nothing names them. A failure stops
            // here and the purge is retried on the next run.
            let objects = self.purge_media_objects(d.workspace_id).await?;
            self.store().purge_workspace(&d, &mails).await?;
            tracing::info!(workspace = %d.workspace_id, objects, "workspace media deleted");
            tracing::info!(workspace = %d.workspace_id, "workspace purged");
            report.workspaces.push(d);
        }
        for d in self.store().due_account_deletions(now, PURGE_BATCH).await? {
            let mail = outbox_mail(
                &d.contact,
                "account_deleted",
                "Your Nanopost account has been deleted",
                format!(
                    "Your Nanopost account and the personal data it held have been deleted for good, as you asked on {}.\n\nPosts you wrote in workspaces that still exist stay with those workspaces, no longer linked to you. Backups that still hold your data are overwritten in their normal rotation.\n\nThis is the last message you will receive from us.",
                    d.requested_at.strftime("%Y-%m-%d")
                ),
                now,
            );
            self.store().purge_account(&d, &mail).await?;
            tracing::info!(user = %d.user_id, "account purged");
            report.accounts.push(d);
        }
        Ok(report)
    }

    // -----------------------------------------------------------------------------------------
    // Retention.

    /// Removes what each retention rule says has been kept long enough.
    pub async fn apply_retention(&self) -> Result<RetentionReport> {
        let now = self.now();
        let r = self.config().privacy.retention;
        let ago = |d: u32| now - DAY * i32::try_from(d).unwrap_or(i32::MAX);
        let cutoffs = RetentionCutoffs {
            now,
            outbox_before: ago(r.outbox_days),
            audit_before: ago(r.audit_log_days),
            tokens_before: ago(r.expired_tokens_days),
            api_tokens_before: ago(r.revoked_api_tokens_days),
            visitor_consents_before: ago(r.visitor_consents_days),
        };
        Ok(self.store().apply_retention(&cutoffs).await?)
    }

    /// The worker's privacy pass: purges that are due, then retention. Returns rows removed.
    pub async fn privacy_housekeeping(&self) -> Result<u64> {
        let purged = self.purge_due_deletions().await?;
        let retained = self.apply_retention().await?;
        let states = self.store().delete_expired_oauth_states(self.now()).await?;
        // Media objects no row names (brands deleted with their media, interrupted uploads) and
        // renditions no post uses. An unreachable media store does not hold up the rest.
        let orphans = self.sweep_media().await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the media sweep failed; will retry");
            0
        });
        let n = (purged.accounts.len() + purged.workspaces.len()) as u64 + retained.total() + states + orphans;
        Ok(n)
    }

    // -----------------------------------------------------------------------------------------
    // Rights requests (recorded by the operator).

    /// Records a request received (by e-mail, letter, …); due in 30 days.
    pub async fn record_rights_request(&self, kind: RightKind, email: &str) -> Result<RightsRequest> {
        let email = Email::parse(email)?;
        let now = self.now();
        let user = self.store().user_by_email(&email).await?.map(|u| u.id);
        let r = RightsRequest {
            id: Uuid::now_v7(),
            kind,
            subject_email: email,
            user_id: user,
            received_at: now,
            due_at: now + RIGHTS_REQUEST_PERIOD,
            verified_at: None,
            verification: None,
            status: RequestStatus::Received,
            outcome: None,
            closed_at: None,
        };
        self.store().insert_rights_request(&r).await?;
        Ok(r)
    }

    /// Notes how the requester's identity was checked.
    pub async fn verify_rights_request(&self, id: Uuid, how: &str) -> Result<RightsRequest> {
        let how = nanopost_domain::account::bounded_text("verification", how, 3, 500)?;
        let mut r = self.store().rights_request(id).await?.ok_or(ServiceError::NotFound)?;
        if !r.status.is_open() {
            return Err(ServiceError::Conflict("the request is already closed".into()));
        }
        r.verified_at = Some(self.now());
        r.verification = Some(how);
        r.status = RequestStatus::Verified;
        self.store().update_rights_request(&r).await?;
        Ok(r)
    }

    /// Closes a request with its outcome. Completing needs a verified identity first.
    pub async fn close_rights_request(&self, id: Uuid, completed: bool, outcome: &str) -> Result<RightsRequest> {
        let outcome = nanopost_domain::account::bounded_text("outcome", outcome, 3, 2000)?;
        let mut r = self.store().rights_request(id).await?.ok_or(ServiceError::NotFound)?;
        if !r.status.is_open() {
            return Err(ServiceError::Conflict("the request is already closed".into()));
        }
        if completed && r.verified_at.is_none() {
            return Err(ServiceError::Conflict("verify the requester's identity before completing the request".into()));
        }
        r.status = if completed { RequestStatus::Completed } else { RequestStatus::Refused };
        r.outcome = Some(outcome);
        r.closed_at = Some(self.now());
        self.store().update_rights_request(&r).await?;
        Ok(r)
    }

    /// Open requests due within `within` from now (overdue ones included), soonest first.
    pub async fn rights_requests_due(&self, within: SignedDuration) -> Result<Vec<RightsRequest>> {
        Ok(self.store().open_rights_requests(Some(self.now() + within)).await?)
    }

    // -----------------------------------------------------------------------------------------
    // Breach support.

    /// Who a breach of `class` concerns, with contact addresses.
    pub async fn breach_report(&self, class: DataClass) -> Result<BreachReport> {
        Ok(BreachReport {
            class,
            people: self.store().affected_people(class).await?,
            workspaces: self.store().affected_workspaces(class).await?,
        })
    }

    async fn password_matches(&self, user: &User, password: &str) -> Result<bool> {
        let hashing = self.inner.hashing.clone();
        let (password, phc) = (password.to_owned(), user.password_hash.clone());
        tokio::task::spawn_blocking(move || hashing.verify(&password, &phc))
            .await
            .map_err(|e| ServiceError::Internal(format!("hashing task failed: {e}")))
    }
}

/// The configured grace period, never more than the promised 30 days nor less than none.
fn effective_grace(configured: SignedDuration) -> SignedDuration {
    configured.clamp(SignedDuration::ZERO, MAX_DELETION_GRACE)
}

const README: &str = "This archive holds the personal data Nanopost keeps about you (or your workspace).\n\
\n\
- manifest.json lists every file with its size and SHA-256 digest.\n\
- data/<table>.json holds the rows of one table, one JSON object per row; times are RFC 3339 (UTC).\n\
- media/<id>.<ext> holds each media file as stored (metadata removed); data/media.json has its digest.\n\
\n\
Passwords, token hashes, encrypted tokens and keys are never included.\n";

fn pretty(v: &serde_json::Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(v).unwrap_or_default();
    out.push(b'\n');
    out
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The archive: `manifest.json` first (format, subject, time, and each file's size and
/// SHA-256), then the files.
pub fn export_archive(subject: &serde_json::Value, now: Timestamp, files: Vec<(String, Vec<u8>)>) -> Vec<u8> {
    let listed: Vec<_> = files
        .iter()
        .map(|(path, bytes)| serde_json::json!({ "path": path, "bytes": bytes.len(), "sha256": hex(&Sha256::digest(bytes)) }))
        .collect();
    let manifest = serde_json::json!({
        "format": EXPORT_FORMAT,
        "generated_at": now.to_string(),
        "privacy_policy_version": PRIVACY_POLICY_VERSION,
        "subject": subject,
        "files": listed,
    });
    let mut all = vec![("manifest.json".to_owned(), pretty(&manifest))];
    all.extend(files);
    tar::write(&all, now.as_second())
}

/// A minimal POSIX (ustar) tar writer: regular files only, names under 100 bytes.
pub mod tar {
    const BLOCK: usize = 512;

    pub fn write(files: &[(String, Vec<u8>)], mtime: i64) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, data) in files {
            out.extend_from_slice(&header(name, data.len(), mtime));
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
        }
        out.resize(out.len() + 2 * BLOCK, 0);
        out
    }

    fn header(name: &str, size: usize, mtime: i64) -> [u8; BLOCK] {
        let mut h = [0u8; BLOCK];
        let name = name.as_bytes();
        let n = name.len().min(99);
        h[..n].copy_from_slice(&name[..n]);
        octal(&mut h[100..108], 0o644);
        octal(&mut h[108..116], 0);
        octal(&mut h[116..124], 0);
        octal(&mut h[124..136], size as u64);
        octal(&mut h[136..148], u64::try_from(mtime).unwrap_or(0));
        h[148..156].fill(b' ');
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        let s = format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(s.as_bytes());
        h
    }

    /// Zero-padded octal filling the field but its last byte (a NUL).
    fn octal(field: &mut [u8], v: u64) {
        let w = field.len() - 1;
        let s = format!("{v:0w$o}");
        let s = s.as_bytes();
        field[..w].copy_from_slice(&s[s.len() - w..]);
        field[w] = 0;
    }

    /// Reads back what [`write`] wrote (for tests and checks): (name, bytes) per file.
    pub fn read(mut archive: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
        let mut out = Vec::new();
        while archive.len() >= BLOCK {
            let h = &archive[..BLOCK];
            if h.iter().all(|&b| b == 0) {
                break;
            }
            let name_end = h[..100].iter().position(|&b| b == 0).unwrap_or(100);
            let name = String::from_utf8(h[..name_end].to_vec()).map_err(|_| "file name is not UTF-8")?;
            let size_text = std::str::from_utf8(&h[124..135]).map_err(|_| "bad size field")?;
            let size =
                usize::from_str_radix(size_text.trim_matches(|c| c == '\0' || c == ' '), 8).map_err(|_| "bad size")?;
            let start = BLOCK;
            let end = start + size;
            if archive.len() < end {
                return Err(format!("{name}: truncated"));
            }
            out.push((name, archive[start..end].to_vec()));
            archive = &archive[(end.div_ceil(BLOCK) * BLOCK).min(archive.len())..];
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_round_trips_and_pads_to_blocks() {
        let files = vec![("a.json".to_owned(), b"{}".to_vec()), ("data/b.json".to_owned(), vec![b'x'; 1000])];
        let bytes = tar::write(&files, 1_800_000_000);
        assert_eq!(bytes.len() % 512, 0);
        assert_eq!(tar::read(&bytes).unwrap(), files);
    }

    #[test]
    fn the_manifest_lists_every_file_with_its_digest() {
        let files = vec![("data/users.json".to_owned(), b"[]\n".to_vec())];
        let archive = export_archive(&serde_json::json!({}), Timestamp::from_second(0).unwrap(), files);
        let read = tar::read(&archive).unwrap();
        assert_eq!(read[0].0, "manifest.json");
        let manifest: serde_json::Value = serde_json::from_slice(&read[0].1).unwrap();
        assert_eq!(manifest["files"][0]["path"], "data/users.json");
        assert_eq!(manifest["files"][0]["sha256"], hex(&Sha256::digest(b"[]\n")));
    }

    #[test]
    fn grace_is_clamped_to_the_promise() {
        assert_eq!(effective_grace(SignedDuration::from_hours(24 * 90)), MAX_DELETION_GRACE);
        assert_eq!(effective_grace(SignedDuration::from_hours(-1)), SignedDuration::ZERO);
    }

    #[test]
    fn promise_sub_processors_listed_from_configuration() {
        assert_eq!(sub_processors(&EnabledServices { database: Backend::Sqlite }), vec![]);
        let pg = sub_processors(&EnabledServices { database: Backend::Postgres });
        assert_eq!(pg.len(), 1);
        assert!(pg[0].name.contains("PostgreSQL"));
    }

    #[test]
    fn every_data_class_has_a_retention_rule() {
        let rules = RetentionPolicy::default().rules(MAX_DELETION_GRACE);
        for class in DataClass::ALL {
            assert!(rules.iter().any(|r| r.class == class), "{class:?} has no retention rule");
        }
        let d = RetentionPolicy::default();
        let shortest = [d.audit_log_days, d.outbox_days, d.revoked_api_tokens_days, d.visitor_consents_days];
        assert!(shortest.iter().all(|&x| x >= d.collected_public_posts_days && x >= d.audience_commenter_days));
    }
}
