//! What notifications store: in-app notices, each person's e-mail preferences, and the
//! delivery state of the e-mail outbox.

use crate::records::OutboxEmail;
use jiff::Timestamp;
use nanopost_domain::ids::{UserId, WorkspaceId};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// One in-app notice for one member of a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: Uuid,
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    /// `publish_failed`, `reconnect_needed`, `drafts_ready`, …
    pub kind: String,
    pub subject: String,
    pub body: String,
    /// A path inside the app (`/posts/…`) where the person can act on it.
    pub link: Option<String>,
    pub created_at: Timestamp,
    pub read_at: Option<Timestamp>,
}

/// Whether a person gets a kind of notice by e-mail too. Without a row, the kind's default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationPreference {
    pub user_id: UserId,
    pub kind: String,
    pub email_enabled: bool,
    pub updated_at: Timestamp,
}

/// Where a mail of the outbox stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Waiting for its (next) attempt, or being sent right now under a lease.
    Pending,
    /// The SMTP server accepted it.
    Sent,
    /// Refused for good (a 5xx answer) or out of attempts; `last_error` says why.
    Failed,
    /// Not sent on purpose (the recipient turned this kind of mail off meanwhile).
    Skipped,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
            DeliveryState::Skipped => "skipped",
        }
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DeliveryState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(DeliveryState::Pending),
            "sent" => Ok(DeliveryState::Sent),
            "failed" => Ok(DeliveryState::Failed),
            "skipped" => Ok(DeliveryState::Skipped),
            other => Err(format!("unknown delivery state {other:?}")),
        }
    }
}

/// The delivery record of one outbox mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub state: DeliveryState,
    /// Attempts started (a claim counts as one).
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    pub last_error: Option<String>,
    /// When it was sent, failed for good or was skipped.
    pub finished_at: Option<Timestamp>,
}

/// A mail leased for sending. Only the holder of `claim` may record its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedMail {
    pub mail: OutboxEmail,
    pub claim: Uuid,
    /// This attempt's number (1 for the first).
    pub attempt: u32,
}

/// Which mails to lease: pending, due at `now`, not leased by a live sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailClaim {
    pub now: Timestamp,
    /// The lease: after this, another sender may take the mail (the holder crashed).
    pub until: Timestamp,
    pub limit: u32,
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailOutcome {
    Sent,
    /// Try again at `at`.
    Retry {
        at: Timestamp,
        error: String,
    },
    Failed {
        error: String,
    },
    Skipped {
        reason: String,
    },
}

/// The outbox at a glance (operators, `doctor`, the start-up log).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub pending: u64,
    pub sent: u64,
    pub failed: u64,
    pub skipped: u64,
}
