//! What the privacy centre stores: audit entries, consents, export archives, scheduled
//! deletions and data-subject requests.

use jiff::Timestamp;
use nanopost_domain::account::Email;
use nanopost_domain::ids::{UserId, WorkspaceId};
use std::fmt;
use uuid::Uuid;

/// The id of the row that stands in for erased authors (posts and approvals keep a valid
/// author without keeping the person). Created by migration 0004.
pub const ERASED_USER: UserId = UserId::from_uuid(Uuid::nil());

/// One line of the append-only audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: Uuid,
    pub at: Timestamp,
    /// `None` for account-level events (sign-in, password reset).
    pub workspace_id: Option<WorkspaceId>,
    /// Who did it; `None` when nobody was signed in (a failed sign-in) or after erasure.
    pub actor_id: Option<UserId>,
    /// The account the event concerns, when that is not the actor (a failed sign-in).
    pub subject_id: Option<UserId>,
    /// `auth.sign_in`, `member.role_changed`, … (see the services' `AuditAction`).
    pub action: String,
    /// What was acted on, as `kind:id` (`user:…`, `post:…`) plus detail.
    pub target: Option<String>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// One consent decision: given or withdrawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    pub id: Uuid,
    pub user_id: Option<UserId>,
    /// A visitor without an account: the random id kept in their consent cookie.
    pub visitor_id: Option<String>,
    /// `cookies_optional`, `marketing_email`.
    pub purpose: String,
    pub granted: bool,
    pub policy_version: String,
    /// `cookie_banner`, `settings`, `unsubscribe_link`, …
    pub source: String,
    pub at: Timestamp,
}

/// A finished export archive. `Debug` leaves the bytes out.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivacyExport {
    pub id: Uuid,
    pub requested_by: UserId,
    /// `Some` for a workspace export, `None` for a personal one.
    pub workspace_id: Option<WorkspaceId>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// Hex SHA-256 of `archive`.
    pub sha256: String,
    pub archive: Vec<u8>,
}

impl fmt::Debug for PrivacyExport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivacyExport")
            .field("id", &self.id)
            .field("requested_by", &self.requested_by)
            .field("workspace_id", &self.workspace_id)
            .field("expires_at", &self.expires_at)
            .field("bytes", &self.archive.len())
            .finish_non_exhaustive()
    }
}

/// An export without its bytes, for lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportInfo {
    pub id: Uuid,
    pub workspace_id: Option<WorkspaceId>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub sha256: String,
    pub bytes: i64,
}

/// The rows of one table that concern a person or a workspace, columns already filtered
/// through the inventory (no secrets).
#[derive(Debug, Clone, PartialEq)]
pub struct TableDump {
    pub table: &'static str,
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// An account deactivated at once and purged at `purge_after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountDeletion {
    pub user_id: UserId,
    /// Where the confirmation goes: the account's address at the time of the request.
    pub contact: Email,
    pub requested_at: Timestamp,
    pub purge_after: Timestamp,
    /// Replaces the account's address at once, so nobody can sign in or reset the password.
    pub tombstone_email: Email,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceDeletion {
    pub workspace_id: WorkspaceId,
    pub workspace_name: String,
    /// The owners at the time of the request, told when the purge is done.
    pub contacts: Vec<Email>,
    pub requested_by: UserId,
    pub requested_at: Timestamp,
    pub purge_after: Timestamp,
}

/// What a purge removed, for the confirmation and the logs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeReport {
    pub accounts: Vec<AccountDeletion>,
    pub workspaces: Vec<WorkspaceDeletion>,
}

/// The kinds of request a data subject may make (GDPR art. 15-21).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RightKind {
    Access,
    Rectification,
    Deletion,
    Portability,
    Objection,
    Restriction,
}

impl RightKind {
    pub const ALL: [RightKind; 6] = [
        RightKind::Access,
        RightKind::Rectification,
        RightKind::Deletion,
        RightKind::Portability,
        RightKind::Objection,
        RightKind::Restriction,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RightKind::Access => "access",
            RightKind::Rectification => "rectification",
            RightKind::Deletion => "deletion",
            RightKind::Portability => "portability",
            RightKind::Objection => "objection",
            RightKind::Restriction => "restriction",
        }
    }
}

impl std::str::FromStr for RightKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RightKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| format!("unknown request kind {s:?}"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStatus {
    Received,
    Verified,
    Completed,
    Refused,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Received => "received",
            RequestStatus::Verified => "verified",
            RequestStatus::Completed => "completed",
            RequestStatus::Refused => "refused",
        }
    }

    pub fn is_open(self) -> bool {
        matches!(self, RequestStatus::Received | RequestStatus::Verified)
    }
}

impl std::str::FromStr for RequestStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [RequestStatus::Received, RequestStatus::Verified, RequestStatus::Completed, RequestStatus::Refused]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown request status {s:?}"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RightsRequest {
    pub id: Uuid,
    pub kind: RightKind,
    pub subject_email: Email,
    pub user_id: Option<UserId>,
    pub received_at: Timestamp,
    pub due_at: Timestamp,
    pub verified_at: Option<Timestamp>,
    /// How the identity was checked (`signed-in session`, `reply from the account address`, …).
    pub verification: Option<String>,
    pub status: RequestStatus,
    pub outcome: Option<String>,
    pub closed_at: Option<Timestamp>,
}

/// Everything retention removes in one pass, each cut-off computed by the services from the
/// configured periods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionCutoffs {
    pub now: Timestamp,
    /// Mail in the outbox, and in-app notifications, created before this go.
    pub outbox_before: Timestamp,
    /// Audit entries before this go.
    pub audit_before: Timestamp,
    /// Used or expired e-mail tokens and finished invitations older than this go.
    pub tokens_before: Timestamp,
    /// Revoked or expired API tokens older than this go.
    pub api_tokens_before: Timestamp,
    /// Cookie consents of visitors without an account older than this go.
    pub visitor_consents_before: Timestamp,
}

/// What one retention pass removed, per rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub sessions: u64,
    pub outbox: u64,
    pub audit: u64,
    pub user_tokens: u64,
    pub invitations: u64,
    pub api_tokens: u64,
    pub exports: u64,
    pub visitor_consents: u64,
    /// In-app notifications (same period as the outbox).
    pub notifications: u64,
}

impl RetentionReport {
    pub fn total(&self) -> u64 {
        self.sessions
            + self.outbox
            + self.audit
            + self.user_tokens
            + self.invitations
            + self.api_tokens
            + self.exports
            + self.visitor_consents
            + self.notifications
    }
}

/// A person a breach of a data class may concern, with how to reach them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffectedPerson {
    pub user_id: UserId,
    pub email: Email,
    pub display_name: String,
    /// The workspaces they belong to, with their role.
    pub workspaces: Vec<(WorkspaceId, String, String)>,
}

/// A workspace a breach may concern, with its owners' addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffectedWorkspace {
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub owners: Vec<Email>,
}

/// A person who operates this installation (sees the register of data-subject requests and
/// the instance's audit entries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub user_id: UserId,
    pub email: Email,
    pub display_name: String,
    pub granted_at: Timestamp,
}
