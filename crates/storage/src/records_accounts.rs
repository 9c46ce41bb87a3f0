//! What the connected-accounts repository stores and returns. Tokens appear here only as
//! ciphertext ([`SealedTokens`]); sealing and opening them is `nanopost-platforms`' custody.

use crate::records::TokenHash;
use jiff::Timestamp;
use nanopost_domain::ids::{BrandId, UserId, WorkspaceId};
use nanopost_domain::network::Network;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// The id of a connected account (UUIDv7). Part of the tokens' associated data.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectedAccountId(Uuid);

impl ConnectedAccountId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
    pub const fn from_uuid(u: Uuid) -> Self {
        Self(u)
    }
    pub const fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl Default for ConnectedAccountId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for ConnectedAccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for ConnectedAccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnectedAccountId({})", self.0)
    }
}

impl FromStr for ConnectedAccountId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// Which kind of account on the network, and through which login it was connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountKind {
    /// Instagram professional account through Instagram Login (graph.instagram.com).
    InstagramLogin,
    /// Instagram account behind a Facebook Page, through Facebook Login (graph.facebook.com).
    InstagramFacebook,
    LinkedinMember,
    LinkedinOrganization,
    Tiktok,
}

impl AccountKind {
    pub const ALL: [AccountKind; 5] = [
        AccountKind::InstagramLogin,
        AccountKind::InstagramFacebook,
        AccountKind::LinkedinMember,
        AccountKind::LinkedinOrganization,
        AccountKind::Tiktok,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::InstagramLogin => "instagram_login",
            AccountKind::InstagramFacebook => "instagram_facebook",
            AccountKind::LinkedinMember => "linkedin_member",
            AccountKind::LinkedinOrganization => "linkedin_organization",
            AccountKind::Tiktok => "tiktok",
        }
    }

    pub fn network(self) -> Network {
        match self {
            AccountKind::InstagramLogin | AccountKind::InstagramFacebook => Network::Instagram,
            AccountKind::LinkedinMember | AccountKind::LinkedinOrganization => Network::Linkedin,
            AccountKind::Tiktok => Network::Tiktok,
        }
    }
}

impl fmt::Display for AccountKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AccountKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AccountKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| format!("unknown account kind {s:?}"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountStatus {
    Active,
    /// A refresh failed or the network refused the token: the user must connect again.
    ReconnectNeeded,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::ReconnectNeeded => "reconnect_needed",
        }
    }
}

impl FromStr for AccountStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(AccountStatus::Active),
            "reconnect_needed" => Ok(AccountStatus::ReconnectNeeded),
            _ => Err(format!("unknown account status {s:?}")),
        }
    }
}

/// One secret under the row's data key: a 24-byte nonce and the ciphertext with its tag.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret {
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

/// The tokens of one account as stored: the row's data key wrapped by key-encryption key
/// `key_id`, and the access (and maybe refresh) token under that data key.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedTokens {
    pub key_id: String,
    pub wrapped_key: Vec<u8>,
    pub access: SealedSecret,
    pub refresh: Option<SealedSecret>,
}

impl fmt::Debug for SealedTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedTokens")
            .field("key_id", &self.key_id)
            .field("has_refresh", &self.refresh.is_some())
            .finish_non_exhaustive()
    }
}

/// A connected social account of a brand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectedAccount {
    pub id: ConnectedAccountId,
    pub workspace_id: WorkspaceId,
    pub brand_id: BrandId,
    pub network: Network,
    pub kind: AccountKind,
    /// Accounts connected through the same consent (and sharing its token).
    pub grant_id: Uuid,
    /// The network's id (IG user id, `urn:li:person:…`/`urn:li:organization:…`, TikTok open_id).
    pub external_id: String,
    pub display_name: String,
    pub handle: Option<String>,
    /// Network-specific facts (the Page behind an Instagram account, the member of an org, …).
    pub details: BTreeMap<String, String>,
    pub scopes: Vec<String>,
    pub tokens: SealedTokens,
    /// Bumped on each token write; a write that expects an older version is refused (Stale).
    pub token_version: i64,
    pub token_issued_at: Timestamp,
    pub access_expires_at: Option<Timestamp>,
    pub refresh_expires_at: Option<Timestamp>,
    /// When the refresh job should renew the tokens; `None` if they never need it.
    pub refresh_due_at: Option<Timestamp>,
    pub status: AccountStatus,
    pub status_reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// New tokens for an account (after a refresh or a key rotation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenUpdate {
    pub tokens: SealedTokens,
    pub token_issued_at: Timestamp,
    pub access_expires_at: Option<Timestamp>,
    pub refresh_expires_at: Option<Timestamp>,
    pub refresh_due_at: Option<Timestamp>,
    /// Marks the account active again (a successful refresh); false keeps its status (rotation).
    pub reactivate: bool,
}

/// A connection in progress: who started it, for which brand and network, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthState {
    pub state_hash: TokenHash,
    pub workspace_id: WorkspaceId,
    pub brand_id: BrandId,
    pub user_id: UserId,
    pub network: Network,
    /// Which login (Instagram has two).
    pub flavour: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// What presenting a state value found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TakenState {
    /// First use: the state is now spent.
    Fresh(OAuthState),
    /// It was used before (a replayed callback).
    AlreadyUsed(OAuthState),
    Unknown,
}
