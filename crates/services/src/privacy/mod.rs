//! The privacy centre: consents, marketing with one-click unsubscribe, export, deletion with a
//! grace period, retention, the register of data-subject requests, the sub-processor list and
//! breach support. What is stored and how it is classified lives in the storage inventory; this
//! module decides who may do what and when.

mod export;
mod rights;

pub use export::{EXPORT_FORMAT, EXPORT_JOB, export_archive, hex, tar};
pub use rights::{DUE_SOON, Keeper, Urgency, urgency};

use crate::Services;
use crate::actor::Actor;
use crate::audit::{AuditAction, AuditEvent};
use crate::auth::outbox_mail;
use crate::error::{Result, ServiceError};
use crate::secrets;
use jiff::{SignedDuration, Timestamp};
use nanopost_domain::account::Email;
use nanopost_domain::error::ValidationErrors;
use nanopost_domain::ids::UserId;
use nanopost_domain::role::{Permission, Role};
use nanopost_storage::inventory::DataClass;
use nanopost_storage::{
    AccountDeletion, AffectedPerson, AffectedWorkspace, Backend, ConsentRecord, PurgeReport, RetentionCutoffs,
    RetentionReport, User, Workspace, WorkspaceDeletion,
};
use uuid::Uuid;

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

#[cfg(test)]
mod tests {
    use super::*;

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
