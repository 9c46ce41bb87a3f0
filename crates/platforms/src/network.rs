//! The one trait every network adapter implements, and what connecting returns.

use crate::custody::PlainTokens;
use crate::error::Result;
use crate::oauth::{StateValue, TokenGrant};
use crate::publish::{AccountAccess, Existence, MediaItem, PublishProgress, PublishingLimits, Step};
use crate::rules::{MediaFacts, RuleIssue};
use crate::secret::Secret;
use jiff::Timestamp;
use nanopost_domain::approval::ApprovedPublication;
use nanopost_domain::network::Network;
use nanopost_storage::AccountKind;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::str::FromStr;

/// Which login flow (Instagram has two; the others one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flavour {
    InstagramLogin,
    FacebookLogin,
    Linkedin,
    Tiktok,
}

impl Flavour {
    pub fn as_str(self) -> &'static str {
        match self {
            Flavour::InstagramLogin => "instagram_login",
            Flavour::FacebookLogin => "facebook_login",
            Flavour::Linkedin => "linkedin",
            Flavour::Tiktok => "tiktok",
        }
    }

    pub fn network(self) -> Network {
        match self {
            Flavour::InstagramLogin | Flavour::FacebookLogin => Network::Instagram,
            Flavour::Linkedin => Network::Linkedin,
            Flavour::Tiktok => Network::Tiktok,
        }
    }

    pub fn default_for(network: Network) -> Self {
        match network {
            Network::Instagram => Flavour::InstagramLogin,
            Network::Linkedin => Flavour::Linkedin,
            Network::Tiktok => Flavour::Tiktok,
        }
    }
}

impl fmt::Display for Flavour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Flavour {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Flavour::InstagramLogin, Flavour::FacebookLogin, Flavour::Linkedin, Flavour::Tiktok]
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| format!("unknown login {s:?}"))
    }
}

/// An account found behind a consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredAccount {
    pub kind: AccountKind,
    pub external_id: String,
    pub display_name: String,
    pub handle: Option<String>,
    pub details: BTreeMap<String, String>,
    /// The account's own token when it differs from the grant's (a Facebook Page token).
    pub own_grant: Option<TokenGrant>,
}

/// What a completed consent yields: the tokens and every account they can publish to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub grant: TokenGrant,
    pub accounts: Vec<DiscoveredAccount>,
}

/// Whether the network took the revocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    Revoked,
    /// The network has no revocation endpoint; deleting our copy is all there is.
    NotOffered,
}

/// A social network: OAuth, discovery, refresh, revocation, rules and stepwise publishing.
pub trait SocialNetwork: Send + Sync {
    fn network(&self) -> Network;

    /// Where to send the browser. `pkce_verifier` is given when [`Self::uses_pkce`] says so.
    fn authorize_url(&self, flavour: Flavour, state: &StateValue, pkce_verifier: Option<&Secret>) -> Result<String>;

    fn uses_pkce(&self, flavour: Flavour) -> bool;

    /// Exchanges the code and finds the accounts behind the consent.
    fn connect(
        &self,
        flavour: Flavour,
        code: &Secret,
        pkce_verifier: Option<&Secret>,
        now: Timestamp,
    ) -> impl Future<Output = Result<Connection>> + Send;

    /// New tokens for an account, following the network's rules. The answer is already folded
    /// into `current` with [`TokenGrant::refreshed`].
    fn refresh(
        &self,
        kind: AccountKind,
        current: &TokenGrant,
        now: Timestamp,
    ) -> impl Future<Output = Result<TokenGrant>> + Send;

    /// When the refresh job should renew this grant (`None`: never; the user reconnects).
    fn refresh_due(&self, kind: AccountKind, grant: &TokenGrant) -> Option<Timestamp>;

    fn revoke(&self, kind: AccountKind, tokens: &PlainTokens) -> impl Future<Output = Result<Revocation>> + Send;

    /// The live publishing quota, where the network publishes one.
    fn limits(&self, account: &AccountAccess, now: Timestamp) -> impl Future<Output = Result<PublishingLimits>> + Send;

    /// The network's rules for this caption and media (before review and before publishing).
    fn check(&self, caption: &str, media: &[MediaFacts]) -> Vec<RuleIssue> {
        crate::rules::check(self.network(), caption, media)
    }

    /// One step of publishing `publication` to `account`. Store the returned progress before
    /// acting on `next`.
    fn advance(
        &self,
        account: &AccountAccess,
        publication: &ApprovedPublication,
        media: &[MediaItem],
        progress: &PublishProgress,
        now: Timestamp,
    ) -> impl Future<Output = Result<Step>> + Send;

    /// Asks the network whether the publication already exists (recovery after a crash).
    fn find_existing(
        &self,
        account: &AccountAccess,
        publication: &ApprovedPublication,
        progress: &PublishProgress,
    ) -> impl Future<Output = Result<Existence>> + Send;
}
