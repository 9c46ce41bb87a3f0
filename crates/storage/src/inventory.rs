//! The data inventory: every table and column the migrations create, with its data class and
//! whether the installation's operator acts as controller or as processor for it.
//!
//! One registry serves four purposes: the record of processing (what is held and why), the
//! export (which rows concern a person or a workspace, and which columns never leave: secrets),
//! the breach report (which classes a table holds), and a guard: a storage test reads the
//! migrated schema of both databases and fails when a table or column is missing here, so no
//! migration can add data nobody classified.

/// What kind of personal data a column holds (PRODUCT.md, privacy centre).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataClass {
    /// People's accounts: identity, credentials, membership, consents, requests.
    Account,
    /// What workspaces write: brand profiles, posts, approvals.
    BrandContent,
    /// Access and refresh tokens of connected social accounts, and the accounts' identities.
    ConnectedAccountTokens,
    /// Commenters and audiences on the networks.
    AudienceCommenter,
    /// Public posts collected for research.
    CollectedPublicPosts,
    Billing,
    /// Metering and operational state (jobs, quotas).
    Usage,
    /// Audit trail and delivery logs.
    Logs,
}

impl DataClass {
    pub const ALL: [DataClass; 8] = [
        DataClass::Account,
        DataClass::BrandContent,
        DataClass::ConnectedAccountTokens,
        DataClass::AudienceCommenter,
        DataClass::CollectedPublicPosts,
        DataClass::Billing,
        DataClass::Usage,
        DataClass::Logs,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DataClass::Account => "account",
            DataClass::BrandContent => "brand_content",
            DataClass::ConnectedAccountTokens => "connected_account_tokens",
            DataClass::AudienceCommenter => "audience_commenter",
            DataClass::CollectedPublicPosts => "collected_public_posts",
            DataClass::Billing => "billing",
            DataClass::Usage => "usage",
            DataClass::Logs => "logs",
        }
    }

    pub fn parse(s: &str) -> Option<DataClass> {
        DataClass::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// GDPR role of the operator for a table's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessingRole {
    /// The operator decides why and how (accounts, security logs).
    Controller,
    /// The operator processes on behalf of the workspace (its brands, posts, connected accounts).
    Processor,
}

/// How a column's value is read for an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Id,
    /// i64 microseconds since the epoch.
    Instant,
    Text,
    Int,
    Bool,
    Json,
    /// Hashes, ciphertext, keys, nonces, archives: never exported, never shown.
    Secret,
}

#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub class: DataClass,
    pub kind: Kind,
}

/// How a row concerns a person, for their export.
#[derive(Debug, Clone, Copy)]
pub enum PersonLink {
    /// The column holds the user's id.
    UserId(&'static str),
    /// The column holds an e-mail address (mail sent to them, invitations addressed to them).
    Email(&'static str),
}

#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub name: &'static str,
    pub role: ProcessingRole,
    pub purpose: &'static str,
    pub columns: &'static [Column],
    /// Columns through which a row concerns a person (their export, their erasure).
    pub person: &'static [PersonLink],
    /// The column naming the workspace a row belongs to (the workspace export).
    pub workspace: Option<&'static str>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn classes(&self) -> impl Iterator<Item = DataClass> + '_ {
        self.columns.iter().map(|c| c.class)
    }

    /// The columns an export may contain.
    pub fn exportable(&self) -> impl Iterator<Item = &Column> + '_ {
        self.columns.iter().filter(|c| c.kind != Kind::Secret)
    }
}

const fn c(name: &'static str, class: DataClass, kind: Kind) -> Column {
    Column { name, class, kind }
}

use DataClass::{Account, BrandContent, ConnectedAccountTokens, Logs, Usage};
use Kind::{Bool, Id, Instant, Int, Json, Secret, Text};
use ProcessingRole::{Controller, Processor};

/// Every table of every migration. Tables of other features are added here with their
/// migration (the inventory test fails until they are).
pub static TABLES: &[Table] = &[
    // 0001 foundation -------------------------------------------------------------------------
    Table {
        name: "users",
        role: Controller,
        purpose: "sign-in and contact of account holders",
        columns: &[
            c("id", Account, Id),
            c("email", Account, Text),
            c("display_name", Account, Text),
            c("password_hash", Account, Secret),
            c("email_verified_at", Account, Instant),
            c("age_confirmed_at", Account, Instant),
            c("created_at", Account, Instant),
        ],
        person: &[PersonLink::UserId("id")],
        workspace: None,
    },
    Table {
        name: "user_tokens",
        role: Controller,
        purpose: "e-mailed verification and password-reset links",
        columns: &[
            c("hash", Account, Secret),
            c("user_id", Account, Id),
            c("purpose", Account, Text),
            c("created_at", Account, Instant),
            c("expires_at", Account, Instant),
            c("used_at", Account, Instant),
        ],
        person: &[PersonLink::UserId("user_id")],
        workspace: None,
    },
    Table {
        name: "sessions",
        role: Controller,
        purpose: "keeping people signed in",
        columns: &[
            c("hash", Account, Secret),
            c("user_id", Account, Id),
            c("created_at", Account, Instant),
            c("expires_at", Account, Instant),
        ],
        person: &[PersonLink::UserId("user_id")],
        workspace: None,
    },
    Table {
        name: "workspaces",
        role: Controller,
        purpose: "the customer account that holds brands and members",
        columns: &[c("id", Account, Id), c("name", Account, Text), c("created_at", Account, Instant)],
        person: &[],
        workspace: Some("id"),
    },
    Table {
        name: "memberships",
        role: Controller,
        purpose: "who may do what in a workspace",
        columns: &[
            c("workspace_id", Account, Id),
            c("user_id", Account, Id),
            c("role", Account, Text),
            c("joined_at", Account, Instant),
        ],
        person: &[PersonLink::UserId("user_id")],
        workspace: Some("workspace_id"),
    },
    Table {
        name: "invitations",
        role: Controller,
        purpose: "inviting people into a workspace",
        columns: &[
            c("id", Account, Id),
            c("workspace_id", Account, Id),
            c("email", Account, Text),
            c("role", Account, Text),
            c("hash", Account, Secret),
            c("invited_by", Account, Id),
            c("created_at", Account, Instant),
            c("expires_at", Account, Instant),
            c("accepted_at", Account, Instant),
            c("revoked_at", Account, Instant),
        ],
        person: &[PersonLink::UserId("invited_by"), PersonLink::Email("email")],
        workspace: Some("workspace_id"),
    },
    Table {
        name: "api_tokens",
        role: Controller,
        purpose: "access to the JSON API",
        columns: &[
            c("id", Account, Id),
            c("workspace_id", Account, Id),
            c("name", Account, Text),
            c("scopes", Account, Text),
            c("hash", Account, Secret),
            c("created_by", Account, Id),
            c("created_at", Account, Instant),
            c("expires_at", Account, Instant),
            c("last_used_at", Account, Instant),
            c("revoked_at", Account, Instant),
        ],
        person: &[PersonLink::UserId("created_by")],
        workspace: Some("workspace_id"),
    },
    Table {
        name: "email_outbox",
        role: Controller,
        purpose: "e-mail waiting to be delivered, and a short record of what was sent",
        columns: &[
            c("id", Logs, Id),
            c("recipient", Logs, Text),
            c("kind", Logs, Text),
            c("subject", Logs, Text),
            // Bodies carry single-use links: secret.
            c("body", Logs, Secret),
            c("created_at", Logs, Instant),
            c("sent_at", Logs, Instant),
            // 0008: delivery state.
            c("state", Logs, Text),
            c("attempts", Logs, Int),
            c("next_attempt_at", Logs, Instant),
            c("claim_id", Logs, Id),
            c("claimed_until", Logs, Instant),
            c("last_error", Logs, Text),
            c("finished_at", Logs, Instant),
        ],
        person: &[PersonLink::Email("recipient")],
        workspace: None,
    },
    Table {
        name: "brands",
        role: Processor,
        purpose: "brand profiles the workspace describes",
        columns: &[
            c("id", BrandContent, Id),
            c("workspace_id", BrandContent, Id),
            c("name", BrandContent, Text),
            c("profile", BrandContent, Json),
            c("created_at", BrandContent, Instant),
            c("updated_at", BrandContent, Instant),
        ],
        person: &[],
        workspace: Some("workspace_id"),
    },
    Table {
        name: "posts",
        role: Processor,
        purpose: "drafts and posts of the workspace",
        columns: &[
            c("id", BrandContent, Id),
            c("workspace_id", BrandContent, Id),
            c("brand_id", BrandContent, Id),
            c("state", BrandContent, Text),
            c("content", BrandContent, Json),
            c("schedule_local", BrandContent, Text),
            c("schedule_tz", BrandContent, Text),
            c("due_at", BrandContent, Instant),
            c("approval_id", BrandContent, Id),
            c("rejection_reason", BrandContent, Text),
            c("version", BrandContent, Int),
            c("created_by", BrandContent, Id),
            c("created_at", BrandContent, Instant),
            c("updated_at", BrandContent, Instant),
        ],
        person: &[PersonLink::UserId("created_by")],
        workspace: Some("workspace_id"),
    },
    Table {
        name: "approvals",
        role: Processor,
        purpose: "proof of the human approval of each publication",
        columns: &[
            c("id", BrandContent, Id),
            c("workspace_id", BrandContent, Id),
            c("post_id", BrandContent, Id),
            c("approver", BrandContent, Id),
            c("approver_role", BrandContent, Text),
            c("channel", BrandContent, Text),
            c("digest", BrandContent, Text),
            c("at", BrandContent, Instant),
        ],
        person: &[PersonLink::UserId("approver")],
        workspace: Some("workspace_id"),
    },
    // 0002 jobs -------------------------------------------------------------------------------
    Table {
        name: "publishing_slots",
        role: Processor,
        purpose: "which worker is publishing to which connected account right now (a short lease)",
        columns: &[c("account_id", Usage, Id), c("holder", Usage, Id), c("expires_at", Usage, Instant)],
        person: &[],
        workspace: None,
    },
    Table {
        name: "publishing_pauses",
        role: Processor,
        purpose: "connected accounts a network told to wait before publishing again, and until when",
        columns: &[c("account_id", Usage, Id), c("until_at", Usage, Instant), c("reason", Usage, Text)],
        person: &[],
        workspace: None,
    },
    Table {
        name: "publications",
        role: Processor,
        purpose: "where each approved post went out, with the network's ids and permalinks",
        columns: &[
            c("id", BrandContent, Id),
            c("workspace_id", BrandContent, Id),
            c("post_id", BrandContent, Id),
            c("approval_id", BrandContent, Id),
            c("network", BrandContent, Text),
            c("target", ConnectedAccountTokens, Text),
            c("account_id", ConnectedAccountTokens, Id),
            c("account_name", ConnectedAccountTokens, Text),
            c("state", BrandContent, Text),
            c("progress", BrandContent, Text),
            c("external_id", BrandContent, Text),
            c("url", BrandContent, Text),
            c("error_class", BrandContent, Text),
            c("error", BrandContent, Text),
            c("version", BrandContent, Int),
            c("created_at", BrandContent, Instant),
            c("updated_at", BrandContent, Instant),
            c("finished_at", BrandContent, Instant),
        ],
        person: &[],
        workspace: Some("workspace_id"),
    },
    Table {
        name: "jobs",
        role: Processor,
        purpose: "background work waiting or running",
        columns: &[
            c("id", Usage, Id),
            c("lane", Usage, Id),
            c("kind", Usage, Text),
            // Payloads name rows (ids), never secrets; not exported (they are transient).
            c("payload", Usage, Secret),
            c("state", Usage, Text),
            c("due_at", Usage, Instant),
            c("priority", Usage, Int),
            c("attempts", Usage, Int),
            c("max_attempts", Usage, Int),
            c("unique_key", Usage, Text),
            c("lease_token", Usage, Secret),
            c("lease_until", Usage, Instant),
            c("cancel_requested", Usage, Bool),
            c("last_error", Usage, Text),
            c("created_at", Usage, Instant),
            c("updated_at", Usage, Instant),
        ],
        person: &[],
        workspace: None,
    },
    Table {
        name: "job_lanes",
        role: Processor,
        purpose: "fair scheduling between workspaces",
        columns: &[
            c("lane", Usage, Id),
            c("next_due_at", Usage, Instant),
            c("turn", Usage, Int),
            c("version", Usage, Int),
        ],
        person: &[],
        workspace: None,
    },
    // 0003 connected accounts -----------------------------------------------------------------
    Table {
        name: "connected_accounts",
        role: Processor,
        purpose: "social accounts connected by the workspace, with their encrypted tokens",
        columns: &[
            c("id", ConnectedAccountTokens, Id),
            c("workspace_id", ConnectedAccountTokens, Id),
            c("brand_id", ConnectedAccountTokens, Id),
            c("network", ConnectedAccountTokens, Text),
            c("kind", ConnectedAccountTokens, Text),
            c("grant_id", ConnectedAccountTokens, Id),
            c("external_id", ConnectedAccountTokens, Text),
            c("display_name", ConnectedAccountTokens, Text),
            c("handle", ConnectedAccountTokens, Text),
            c("details", ConnectedAccountTokens, Text),
            c("scopes", ConnectedAccountTokens, Text),
            c("key_id", ConnectedAccountTokens, Text),
            c("wrapped_key", ConnectedAccountTokens, Secret),
            c("access_nonce", ConnectedAccountTokens, Secret),
            c("access_ciphertext", ConnectedAccountTokens, Secret),
            c("refresh_nonce", ConnectedAccountTokens, Secret),
            c("refresh_ciphertext", ConnectedAccountTokens, Secret),
            c("token_version", ConnectedAccountTokens, Int),
            c("token_issued_at", ConnectedAccountTokens, Instant),
            c("access_expires_at", ConnectedAccountTokens, Instant),
            c("refresh_expires_at", ConnectedAccountTokens, Instant),
            c("refresh_due_at", ConnectedAccountTokens, Instant),
            c("status", ConnectedAccountTokens, Text),
            c("status_reason", ConnectedAccountTokens, Text),
            c("created_at", ConnectedAccountTokens, Instant),
            c("updated_at", ConnectedAccountTokens, Instant),
        ],
        person: &[],
        workspace: Some("workspace_id"),
    },
    Table {
        name: "oauth_states",
        role: Processor,
        purpose: "connections in progress (minutes)",
        columns: &[
            c("state_hash", ConnectedAccountTokens, Secret),
            c("workspace_id", ConnectedAccountTokens, Id),
            c("brand_id", ConnectedAccountTokens, Id),
            c("user_id", ConnectedAccountTokens, Id),
            c("network", ConnectedAccountTokens, Text),
            c("flavour", ConnectedAccountTokens, Text),
            c("created_at", ConnectedAccountTokens, Instant),
            c("expires_at", ConnectedAccountTokens, Instant),
            c("used_at", ConnectedAccountTokens, Instant),
        ],
        person: &[],
        workspace: None,
    },
    // 0004 privacy ----------------------------------------------------------------------------
    Table {
        name: "audit_log",
        role: Controller,
        purpose: "security and accountability: who did what, when, from where",
        columns: &[
            c("id", Logs, Id),
            c("at", Logs, Instant),
            c("workspace_id", Logs, Id),
            c("actor_id", Logs, Id),
            c("subject_id", Logs, Id),
            c("action", Logs, Text),
            c("target", Logs, Text),
            c("client_ip", Logs, Text),
            c("user_agent", Logs, Text),
        ],
        person: &[PersonLink::UserId("actor_id"), PersonLink::UserId("subject_id")],
        workspace: Some("workspace_id"),
    },
    Table {
        name: "consents",
        role: Controller,
        purpose: "proof of consent (cookies, marketing) and of its withdrawal",
        columns: &[
            c("id", Account, Id),
            c("user_id", Account, Id),
            c("visitor_id", Account, Text),
            c("purpose", Account, Text),
            c("granted", Account, Bool),
            c("policy_version", Account, Text),
            c("source", Account, Text),
            c("at", Account, Instant),
        ],
        person: &[PersonLink::UserId("user_id")],
        workspace: None,
    },
    Table {
        name: "privacy_exports",
        role: Controller,
        purpose: "export archives until their download link expires",
        columns: &[
            c("id", Account, Id),
            c("requested_by", Account, Id),
            c("workspace_id", Account, Id),
            c("created_at", Account, Instant),
            c("expires_at", Account, Instant),
            c("sha256", Account, Text),
            c("archive", Account, Secret),
        ],
        person: &[PersonLink::UserId("requested_by")],
        workspace: None,
    },
    Table {
        name: "account_deletions",
        role: Controller,
        purpose: "accounts deactivated and waiting for their purge",
        columns: &[
            c("user_id", Account, Id),
            c("contact", Account, Text),
            c("requested_at", Account, Instant),
            c("purge_after", Account, Instant),
        ],
        person: &[PersonLink::UserId("user_id")],
        workspace: None,
    },
    Table {
        name: "workspace_deletions",
        role: Controller,
        purpose: "workspaces deactivated and waiting for their purge",
        columns: &[
            c("workspace_id", Account, Id),
            c("workspace_name", Account, Text),
            c("contacts", Account, Json),
            c("requested_by", Account, Id),
            c("requested_at", Account, Instant),
            c("purge_after", Account, Instant),
        ],
        person: &[PersonLink::UserId("requested_by")],
        workspace: None,
    },
    Table {
        name: "rights_requests",
        role: Controller,
        purpose: "the register of data-subject requests and how each was answered",
        columns: &[
            c("id", Account, Id),
            c("kind", Account, Text),
            c("subject_email", Account, Text),
            c("user_id", Account, Id),
            c("received_at", Account, Instant),
            c("due_at", Account, Instant),
            c("verified_at", Account, Instant),
            c("verification", Account, Text),
            c("status", Account, Text),
            c("outcome", Account, Text),
            c("closed_at", Account, Instant),
        ],
        person: &[PersonLink::UserId("user_id"), PersonLink::Email("subject_email")],
        workspace: None,
    },
    // 0005 media ------------------------------------------------------------------------------
    Table {
        name: "media",
        role: Processor,
        purpose: "the workspace's uploaded images and videos, and the renditions made for each network",
        columns: &[
            c("id", BrandContent, Id),
            c("workspace_id", BrandContent, Id),
            c("brand_id", BrandContent, Id),
            c("kind", BrandContent, Text),
            c("mime", BrandContent, Text),
            c("bytes", BrandContent, Int),
            c("width", BrandContent, Int),
            c("height", BrandContent, Int),
            c("duration_ms", BrandContent, Int),
            c("digest", BrandContent, Text),
            c("storage_key", BrandContent, Text),
            c("file_name", BrandContent, Text),
            c("alt_text", BrandContent, Text),
            c("parent_id", BrandContent, Id),
            c("fixes", BrandContent, Json),
            c("created_by", BrandContent, Id),
            c("created_at", BrandContent, Instant),
        ],
        person: &[PersonLink::UserId("created_by")],
        workspace: Some("workspace_id"),
    },
    Table {
        name: "media_tags",
        role: Processor,
        purpose: "the tags people give media to find them again",
        columns: &[c("workspace_id", BrandContent, Id), c("media_id", BrandContent, Id), c("tag", BrandContent, Text)],
        person: &[],
        workspace: Some("workspace_id"),
    },
    // 0007 telegram ---------------------------------------------------------------------------
    Table {
        name: "telegram_link_codes",
        role: Controller,
        purpose: "one-time codes that link a person's Telegram chat (minutes)",
        columns: &[
            c("code_hash", Account, Secret),
            c("user_id", Account, Id),
            c("workspace_id", Account, Id),
            c("created_at", Account, Instant),
            c("expires_at", Account, Instant),
            c("used_at", Account, Instant),
        ],
        person: &[PersonLink::UserId("user_id")],
        workspace: Some("workspace_id"),
    },
    Table {
        name: "telegram_links",
        role: Controller,
        purpose: "the Telegram chat where a reviewer receives drafts",
        columns: &[
            c("user_id", Account, Id),
            c("chat_id", Account, Int),
            c("telegram_name", Account, Text),
            c("linked_at", Account, Instant),
        ],
        person: &[PersonLink::UserId("user_id")],
        workspace: None,
    },
    Table {
        name: "telegram_review_messages",
        role: Processor,
        purpose: "drafts sent to reviewers in Telegram, to match their button presses",
        columns: &[
            c("token", BrandContent, Text),
            c("workspace_id", BrandContent, Id),
            c("post_id", BrandContent, Id),
            c("user_id", BrandContent, Id),
            c("chat_id", Account, Int),
            c("message_ids", BrandContent, Text),
            c("digest", BrandContent, Text),
            c("sent_at", BrandContent, Instant),
            c("decision", BrandContent, Text),
            c("decided_at", BrandContent, Instant),
        ],
        person: &[PersonLink::UserId("user_id")],
        workspace: Some("workspace_id"),
    },
    Table {
        name: "telegram_poll_state",
        role: Controller,
        purpose: "where long polling of the Telegram bot resumes",
        columns: &[c("bot_id", Usage, Text), c("next_offset", Usage, Int), c("updated_at", Usage, Instant)],
        person: &[],
        workspace: None,
    },
    // 0008 email ------------------------------------------------------------------------------
    Table {
        name: "notification_preferences",
        role: Controller,
        purpose: "which notices each person also wants by e-mail",
        columns: &[
            c("user_id", Account, Id),
            c("kind", Account, Text),
            c("email_enabled", Account, Bool),
            c("updated_at", Account, Instant),
        ],
        person: &[PersonLink::UserId("user_id")],
        workspace: None,
    },
    Table {
        name: "notifications",
        role: Processor,
        purpose: "in-app notices about the workspace's posts and accounts (kept as long as the outbox)",
        columns: &[
            c("id", Logs, Id),
            c("workspace_id", Logs, Id),
            c("user_id", Logs, Id),
            c("kind", Logs, Text),
            c("subject", BrandContent, Text),
            c("body", BrandContent, Text),
            c("link", Logs, Text),
            c("created_at", Logs, Instant),
            c("read_at", Logs, Instant),
        ],
        person: &[PersonLink::UserId("user_id")],
        workspace: Some("workspace_id"),
    },
    // 0009 generations ------------------------------------------------------------------------
    Table {
        name: "generations",
        role: Processor,
        purpose: "what people asked the AI to write or describe, its progress, and what a description found",
        columns: &[
            c("id", BrandContent, Id),
            c("workspace_id", BrandContent, Id),
            c("brand_id", BrandContent, Id),
            c("kind", BrandContent, Text),
            c("state", BrandContent, Text),
            c("request", BrandContent, Json),
            c("work", BrandContent, Json),
            c("progress", BrandContent, Text),
            c("result", BrandContent, Json),
            c("error", BrandContent, Text),
            c("provider", BrandContent, Text),
            c("offline", BrandContent, Bool),
            c("post_id", BrandContent, Id),
            c("media_id", BrandContent, Id),
            c("requested_by", BrandContent, Id),
            c("created_at", BrandContent, Instant),
            c("updated_at", BrandContent, Instant),
            c("finished_at", BrandContent, Instant),
        ],
        person: &[PersonLink::UserId("requested_by")],
        workspace: Some("workspace_id"),
    },
    Table {
        name: "generation_posts",
        role: Processor,
        purpose: "which drafts the AI wrote, with the time it suggested for each (never a schedule)",
        columns: &[
            c("workspace_id", BrandContent, Id),
            c("generation_id", BrandContent, Id),
            c("post_id", BrandContent, Id),
            c("position", BrandContent, Int),
            c("suggested_local", BrandContent, Text),
            c("suggested_tz", BrandContent, Text),
            c("suggested_at", BrandContent, Instant),
            c("notes", BrandContent, Json),
            c("created_at", BrandContent, Instant),
        ],
        person: &[],
        workspace: Some("workspace_id"),
    },
    Table {
        name: "ai_usage",
        role: Controller,
        purpose: "AI generations, tokens and images per workspace and month, for the usage shown and the quota",
        columns: &[
            c("workspace_id", Usage, Id),
            c("month", Usage, Text),
            c("generations", Usage, Int),
            c("prompt_tokens", Usage, Int),
            c("completion_tokens", Usage, Int),
            c("images", Usage, Int),
            c("updated_at", Usage, Instant),
        ],
        person: &[],
        workspace: Some("workspace_id"),
    },
    // 0012 operators and configuration ----------------------------------------------------------
    Table {
        name: "operators",
        role: Controller,
        purpose: "who operates this installation (sees the register of data-subject requests and the instance audit)",
        columns: &[c("user_id", Account, Id), c("granted_at", Account, Instant)],
        person: &[PersonLink::UserId("user_id")],
        workspace: None,
    },
    Table {
        name: "config_fingerprints",
        role: Controller,
        purpose: "a digest per configuration key as last started, to audit configuration changes (no values)",
        columns: &[c("key", Usage, Text), c("digest", Usage, Secret), c("recorded_at", Usage, Instant)],
        person: &[],
        workspace: None,
    },
];

/// Tables that belong to the database engine or the migration tool, not to Nanopost.
pub const IGNORED_TABLES: &[&str] = &["_sqlx_migrations"];

pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

/// The tables holding data of `class`.
pub fn tables_with(class: DataClass) -> impl Iterator<Item = &'static Table> {
    TABLES.iter().filter(move |t| t.classes().any(|c| c == class))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_links_point_at_columns() {
        let mut names: Vec<_> = TABLES.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TABLES.len(), "a table is listed twice");
        for t in TABLES {
            let mut cols: Vec<_> = t.columns.iter().map(|c| c.name).collect();
            cols.sort_unstable();
            cols.dedup();
            assert_eq!(cols.len(), t.columns.len(), "{}: a column is listed twice", t.name);
            for link in t.person {
                let (PersonLink::UserId(col) | PersonLink::Email(col)) = link;
                assert!(t.column(col).is_some(), "{}: person link {col} is not a column", t.name);
            }
            if let Some(ws) = t.workspace {
                assert!(t.column(ws).is_some(), "{}: workspace column {ws} is not a column", t.name);
            }
        }
    }

    #[test]
    fn classes_round_trip() {
        for c in DataClass::ALL {
            assert_eq!(DataClass::parse(c.as_str()), Some(c));
        }
        assert_eq!(DataClass::parse("nope"), None);
    }
}
