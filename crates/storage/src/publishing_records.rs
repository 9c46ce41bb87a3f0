//! Publications as stored: one approved post going out to one connected account.

use crate::records_accounts::ConnectedAccountId;
use jiff::Timestamp;
use nanopost_domain::approval::ApprovalId;
use nanopost_domain::ids::{PostId, PublicationId, WorkspaceId};
use nanopost_domain::network::Network;
use nanopost_domain::publication::PublicationState;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    pub id: PublicationId,
    pub workspace_id: WorkspaceId,
    pub post_id: PostId,
    /// The approval this publication carries out (re-checked before every step).
    pub approval_id: ApprovalId,
    pub network: Network,
    /// The target as the post names it: the account's external id, or empty for "the brand's
    /// one account on this network".
    pub target: String,
    /// The connected account it goes to; `None` when none matched (the publication failed) or
    /// the account was disconnected since.
    pub account_id: Option<ConnectedAccountId>,
    /// The account's name when publishing started, kept for the record.
    pub account_name: String,
    pub state: PublicationState,
    /// The adapter's progress as JSON (`nanopost_platforms::publish::PublishProgress`).
    pub progress: String,
    pub external_id: Option<String>,
    pub url: Option<String>,
    /// How the last failure was classified (`retry_later`, `reconnect_needed`, …).
    pub error_class: Option<String>,
    /// A sentence for a person.
    pub error: Option<String>,
    /// Bumped by every write; a write naming an older version is refused (`Stale`).
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}
