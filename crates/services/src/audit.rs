//! The audit log: who did what, in which workspace, to what, when and from where.
//!
//! Use cases record an entry with one call, `self.audit(AuditEvent::…).await`, after the change
//! succeeded. "From where" (client address, user agent) is not a parameter of every use case: the
//! HTTP layer runs each request inside [`with_origin`], and the entry picks it up from there.
//! Work that has no request (the CLI, the worker) records no address.
//!
//! Writing the entry never fails the use case it describes (the change is already made); a
//! failed write is logged as an error instead.

use crate::Services;
use crate::actor::Actor;
use crate::error::Result;
use nanopost_domain::ids::{UserId, WorkspaceId};
use nanopost_domain::role::Permission;
use nanopost_storage::{AuditEntry, Page, PageRequest, User};
use std::fmt::Display;
use std::future::Future;
use std::net::IpAddr;

/// Longest user agent kept; the rest is cut (it is a hint, not evidence).
const MAX_USER_AGENT: usize = 256;

/// Where a request came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOrigin {
    pub client_ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

tokio::task_local! {
    static ORIGIN: RequestOrigin;
}

/// Runs `fut` with `origin` as the origin of every audit entry it records.
pub async fn with_origin<F: Future>(origin: RequestOrigin, fut: F) -> F::Output {
    ORIGIN.scope(origin, fut).await
}

fn current_origin() -> RequestOrigin {
    ORIGIN.try_with(Clone::clone).unwrap_or_default()
}

/// What happened. The text form is what the log stores and shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    SignIn,
    SignInFailed,
    SignOut,
    PasswordReset,
    MemberInvited,
    RoleChanged,
    MemberRemoved,
    ApiTokenCreated,
    ApiTokenRevoked,
    PostApproved,
    PostRejected,
    PostDeleted,
    MediaDeleted,
    BrandDeleted,
    DataExported,
    AccountDeletionRequested,
    WorkspaceDeletionRequested,
    MarketingConsentChanged,
    ConnectedAccountConnected,
    ConnectedAccountDisconnected,
    ConnectedAccountReconnectNeeded,
    PostPublishRequested,
    PublicationPublished,
    PublicationFailed,
    PublicationUnconfirmed,
    PublicationResolved,
    TelegramLinked,
    TelegramUnlinked,
    /// A brand profile was edited; the target names the fields that changed.
    BrandSettingsChanged,
    /// A person turned a kind of e-mail on or off.
    EmailPreferencesChanged,
    /// The instance's configuration differs from the last start (keys named, never values).
    ConfigChanged,
    OperatorGranted,
    OperatorRevoked,
    RightsRequestRecorded,
    RightsRequestVerified,
    RightsRequestClosed,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::SignIn => "auth.sign_in",
            AuditAction::SignInFailed => "auth.sign_in_failed",
            AuditAction::SignOut => "auth.sign_out",
            AuditAction::PasswordReset => "auth.password_reset",
            AuditAction::MemberInvited => "member.invited",
            AuditAction::RoleChanged => "member.role_changed",
            AuditAction::MemberRemoved => "member.removed",
            AuditAction::ApiTokenCreated => "api_token.created",
            AuditAction::ApiTokenRevoked => "api_token.revoked",
            AuditAction::PostApproved => "post.approved",
            AuditAction::PostRejected => "post.rejected",
            AuditAction::PostDeleted => "post.deleted",
            AuditAction::MediaDeleted => "media.deleted",
            AuditAction::BrandDeleted => "brand.deleted",
            AuditAction::DataExported => "privacy.exported",
            AuditAction::AccountDeletionRequested => "privacy.account_deletion_requested",
            AuditAction::WorkspaceDeletionRequested => "privacy.workspace_deletion_requested",
            AuditAction::MarketingConsentChanged => "privacy.marketing_consent_changed",
            AuditAction::ConnectedAccountConnected => "connected_account.connected",
            AuditAction::ConnectedAccountDisconnected => "connected_account.disconnected",
            AuditAction::ConnectedAccountReconnectNeeded => "connected_account.reconnect_needed",
            AuditAction::PostPublishRequested => "post.publish_requested",
            AuditAction::PublicationPublished => "publication.published",
            AuditAction::PublicationFailed => "publication.failed",
            AuditAction::PublicationUnconfirmed => "publication.unconfirmed",
            AuditAction::PublicationResolved => "publication.resolved",
            AuditAction::TelegramLinked => "telegram.linked",
            AuditAction::TelegramUnlinked => "telegram.unlinked",
            AuditAction::BrandSettingsChanged => "brand.settings_changed",
            AuditAction::EmailPreferencesChanged => "settings.email_preferences_changed",
            AuditAction::ConfigChanged => "config.changed",
            AuditAction::OperatorGranted => "operator.granted",
            AuditAction::OperatorRevoked => "operator.revoked",
            AuditAction::RightsRequestRecorded => "rights_request.recorded",
            AuditAction::RightsRequestVerified => "rights_request.verified",
            AuditAction::RightsRequestClosed => "rights_request.closed",
        }
    }
}

/// One entry to record, built by the use case that did the thing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub action: AuditAction,
    pub workspace_id: Option<WorkspaceId>,
    pub actor_id: Option<UserId>,
    pub subject_id: Option<UserId>,
    pub target: Option<String>,
}

impl AuditEvent {
    /// Something an actor did in their workspace.
    pub fn by(actor: &Actor, action: AuditAction) -> Self {
        Self {
            action,
            workspace_id: Some(actor.workspace_id),
            actor_id: Some(actor.user_id),
            subject_id: None,
            target: None,
        }
    }

    /// Something a person did to their own account (sign-in, password reset).
    pub fn account(user: UserId, action: AuditAction) -> Self {
        Self { action, workspace_id: None, actor_id: Some(user), subject_id: None, target: None }
    }

    /// Something that happened to an account without its holder (a failed sign-in).
    pub fn about(user: Option<UserId>, action: AuditAction) -> Self {
        Self { action, workspace_id: None, actor_id: None, subject_id: user, target: None }
    }

    /// Something that happened in a workspace without a person doing it (a background job).
    pub fn in_workspace(workspace: WorkspaceId, action: AuditAction) -> Self {
        Self { action, workspace_id: Some(workspace), actor_id: None, subject_id: None, target: None }
    }

    /// What was acted on: `kind:id`.
    pub fn target(mut self, kind: &str, id: impl Display) -> Self {
        self.target = Some(format!("{kind}:{id}"));
        self
    }

    /// What was acted on and which of its fields changed: `kind:id fields=a,b` (names only:
    /// values may be secret or personal).
    pub fn changed(self, kind: &str, id: impl Display, fields: &[String]) -> Self {
        self.target(kind, format!("{id} fields={}", cap(&fields.join(","), MAX_TARGET)))
    }
}

/// Longest list of field or key names kept in a target.
const MAX_TARGET: usize = 1000;

/// The names of the fields that differ between two versions of a settings value, as dotted
/// paths (`cadence.slots`), compared through their serialised form. Only names: never values.
pub fn changed_fields<T: serde::Serialize>(before: &T, after: &T) -> Vec<String> {
    let (Ok(a), Ok(b)) = (serde_json::to_value(before), serde_json::to_value(after)) else {
        return vec!["(unreadable)".into()];
    };
    let mut out = Vec::new();
    diff_paths("", &a, &b, &mut out);
    out
}

fn diff_paths(prefix: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    let name = |k: &str| if prefix.is_empty() { k.to_owned() } else { format!("{prefix}.{k}") };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let null = Value::Null;
                diff_paths(&name(k), x.get(k).unwrap_or(&null), y.get(k).unwrap_or(&null), out);
            }
        }
        _ if a != b => out.push(if prefix.is_empty() { "(value)".into() } else { prefix.to_owned() }),
        _ => {}
    }
}

fn cap(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The instance configuration as recorded: a digest per key (see `config_audit` in the app).
pub type ConfigDigests = std::collections::BTreeMap<String, String>;

impl Services {
    /// Records `event` with the current request's origin. Never fails the caller.
    pub async fn audit(&self, event: AuditEvent) {
        let entry = self.audit_entry(event);
        if let Err(e) = self.store().append_audit(&entry).await {
            tracing::error!(error = %e, action = entry.action, "could not write the audit log");
        }
    }

    /// The entry `event` becomes, for writes that record it in their own transaction.
    pub(crate) fn audit_entry(&self, event: AuditEvent) -> AuditEntry {
        let origin = current_origin();
        AuditEntry {
            id: uuid::Uuid::now_v7(),
            at: self.now(),
            workspace_id: event.workspace_id,
            actor_id: event.actor_id,
            subject_id: event.subject_id,
            action: event.action.as_str().to_owned(),
            target: event.target,
            client_ip: origin.client_ip.map(|ip| ip.to_string()),
            user_agent: origin.user_agent.map(|ua| truncate(&ua, MAX_USER_AGENT)),
        }
    }

    /// Records the end of the session `token` belongs to (before it is deleted).
    pub async fn audit_sign_out(&self, token: &str) {
        if let Ok(Some(s)) = self.store().session(&crate::secrets::hash_token(token), self.now()).await {
            self.audit(AuditEvent::account(s.user_id, AuditAction::SignOut)).await;
        }
    }

    /// The workspace's audit log, newest first. Owners and admins only.
    pub async fn audit_log(&self, actor: &Actor, page: PageRequest) -> Result<Page<AuditEntry>> {
        actor.require(Permission::ManageMembers)?;
        Ok(self.store().audit_log(actor.workspace_id, page).await?)
    }

    /// The installation's own entries (configuration changes, operators, the register of
    /// requests), in no workspace. Operators only.
    pub async fn instance_audit_log(&self, user: &User, page: PageRequest) -> Result<Page<AuditEntry>> {
        self.require_operator(user).await?;
        Ok(self.store().instance_audit_log(page).await?)
    }

    /// Compares the configuration this process started with (`digests`: a digest per key,
    /// never a value) with the one recorded at the last start, and records the new one. When
    /// keys were added, removed or changed, writes `config.changed` naming them, as the
    /// operator from `from` (the host name). Returns the keys that changed (empty: none).
    pub async fn audit_config(&self, digests: &ConfigDigests, from: &str) -> Result<Vec<String>> {
        let before = self.store().config_fingerprint().await?;
        let changed = changed_keys(&before, digests);
        if changed.is_empty() {
            return Ok(changed);
        }
        let what =
            if before.is_empty() { vec!["(first start: every key recorded)".to_owned()] } else { changed.clone() };
        let mut entry = self.audit_entry(AuditEvent {
            action: AuditAction::ConfigChanged,
            workspace_id: None,
            actor_id: None,
            subject_id: None,
            target: None,
        });
        entry.target = Some(format!("config:{}", cap(&what.join(","), MAX_TARGET)));
        entry.client_ip = None;
        entry.user_agent = Some(truncate(&format!("operator on host {from}"), MAX_USER_AGENT));
        self.store().replace_config_fingerprint(digests, self.now(), Some(&entry)).await?;
        tracing::info!(keys = %what.join(","), "the configuration changed since the last start; recorded in the audit log");
        Ok(changed)
    }
}

/// Keys added, removed or with another digest, in key order.
pub fn changed_keys(before: &ConfigDigests, after: &ConfigDigests) -> Vec<String> {
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter().filter(|k| before.get(*k) != after.get(*k)).cloned().collect()
}

fn truncate(s: &str, max: usize) -> String {
    let clean: String = s.chars().filter(|c| !c.is_control()).collect();
    if clean.len() <= max {
        return clean;
    }
    let mut end = max;
    while !clean.is_char_boundary(end) {
        end -= 1;
    }
    clean[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_are_cut_on_a_character_boundary_and_lose_control_characters() {
        assert_eq!(truncate("Mozilla\n/5.0", 100), "Mozilla/5.0");
        let long = "é".repeat(200);
        let cut = truncate(&long, 255);
        assert!(cut.len() <= 255 && cut.chars().all(|c| c == 'é'));
    }

    #[test]
    fn changed_fields_names_paths_never_values() {
        let a = serde_json::json!({"name": "A", "cadence": {"slots": ["09:00"], "posts_per_week": 3}, "secret": "x"});
        let b = serde_json::json!({"name": "A", "cadence": {"slots": ["10:00"], "posts_per_week": 3}, "secret": "y"});
        let fields = changed_fields(&a, &b);
        assert_eq!(fields, vec!["cadence.slots".to_owned(), "secret".to_owned()]);
        assert!(!fields.iter().any(|f| f.contains('x') || f.contains('y')));
        assert!(changed_fields(&a, &a).is_empty());
    }

    #[test]
    fn changed_keys_covers_added_removed_and_changed() {
        let before: ConfigDigests = [("a", "1"), ("b", "2"), ("c", "3")].map(|(k, v)| (k.into(), v.into())).into();
        let after: ConfigDigests = [("a", "1"), ("b", "9"), ("d", "4")].map(|(k, v)| (k.into(), v.into())).into();
        assert_eq!(changed_keys(&before, &after), vec!["b", "c", "d"]);
        assert!(changed_keys(&after, &after).is_empty());
    }

    #[tokio::test]
    async fn the_origin_is_seen_inside_the_scope_only() {
        assert_eq!(current_origin(), RequestOrigin::default());
        let o = RequestOrigin { client_ip: Some([192, 0, 2, 1].into()), user_agent: Some("UA".into()) };
        let seen = with_origin(o.clone(), async { current_origin() }).await;
        assert_eq!(seen, o);
    }
}
