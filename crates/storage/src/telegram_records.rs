//! The Telegram review channel's rows: link codes, person ↔ chat links, drafts sent to a chat
//! (matched again when a button is pressed), and the long-polling offset.

use crate::records::TokenHash;
use jiff::Timestamp;
use nanopost_domain::approval::ContentDigest;
use nanopost_domain::ids::{PostId, UserId, WorkspaceId};
use std::fmt;
use std::str::FromStr;

/// A one-time code a person sends to the bot to link their chat; only its hash is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramLinkCode {
    pub code_hash: TokenHash,
    pub user_id: UserId,
    /// Where the code was made (its audit entry goes there).
    pub workspace_id: WorkspaceId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// What spending a link code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TakenLinkCode {
    /// Unused and unexpired: now spent by this caller, and nobody else.
    Fresh(TelegramLinkCode),
    Expired,
    AlreadyUsed,
    Unknown,
}

/// A person's linked Telegram chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramLink {
    pub user_id: UserId,
    pub chat_id: i64,
    /// How Telegram named the person when they linked (`@username` or first name), for the
    /// settings page.
    pub telegram_name: String,
    pub linked_at: Timestamp,
}

/// What a reviewer did with a draft in Telegram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TelegramDecision {
    Approved,
    Rejected,
    Regenerate,
    /// Pressed after the draft changed (or was decided elsewhere): nothing was decided.
    Stale,
}

impl TelegramDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            TelegramDecision::Approved => "approved",
            TelegramDecision::Rejected => "rejected",
            TelegramDecision::Regenerate => "regenerate",
            TelegramDecision::Stale => "stale",
        }
    }
}

impl fmt::Display for TelegramDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TelegramDecision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [TelegramDecision::Approved, TelegramDecision::Rejected, TelegramDecision::Regenerate, TelegramDecision::Stale]
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| format!("unknown Telegram decision {s:?}"))
    }
}

/// A draft as sent to one reviewer's chat: the buttons' `callback_data` carries `token`, which
/// leads back to the post and to the digest of the content the reviewer was shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramReviewMessage {
    pub token: String,
    pub workspace_id: WorkspaceId,
    pub post_id: PostId,
    pub user_id: UserId,
    pub chat_id: i64,
    /// The messages of the draft, in order; the last one carries the buttons.
    pub message_ids: Vec<i64>,
    pub digest: ContentDigest,
    pub sent_at: Timestamp,
    pub decision: Option<TelegramDecision>,
    pub decided_at: Option<Timestamp>,
}

impl TelegramReviewMessage {
    /// The message with the buttons (the one to edit after a press).
    pub fn keyboard_message_id(&self) -> Option<i64> {
        self.message_ids.last().copied()
    }
}
