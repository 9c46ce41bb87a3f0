//! Connected network accounts of a brand: connect through the network's consent page, list
//! (never any token material), disconnect (tokens deleted at once, then revoked), and the
//! scheduled refresh that tells the workspace owners when an account must be connected again.
//!
//! Connecting and disconnecting give a network the right to post for the brand, so they need
//! `ManageMembers` (owners and admins), like API tokens.

use crate::Services;
use crate::actor::Actor;
use crate::audit::{AuditAction, AuditEvent};
use crate::error::{Result, ServiceError};
use jiff::{SignedDuration, Timestamp};
use nanopost_domain::ValidationError;
use nanopost_domain::ids::{BrandId, WorkspaceId};
use nanopost_domain::network::Network;
use nanopost_domain::role::Permission;
use nanopost_platforms::network::Flavour;
use nanopost_platforms::vault::{StateProblem, Vault, VaultError};
use nanopost_platforms::{ErrorClass, Revocation};
use nanopost_storage::{AccountKind, AccountStatus, ConnectedAccount, ConnectedAccountId, User};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The audit-log target kind of a connected account.
const CONNECTED_ACCOUNT: &str = "connected_account";

/// A connected account as people see it: who it is and whether it works. No tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountView {
    pub id: ConnectedAccountId,
    pub brand_id: BrandId,
    pub network: Network,
    pub kind: AccountKind,
    /// The network's public id of the account (what a post's target names).
    pub external_id: String,
    pub display_name: String,
    pub handle: Option<String>,
    pub reconnect_needed: bool,
    pub status_reason: Option<String>,
    pub connected_at: Timestamp,
    pub access_expires_at: Option<Timestamp>,
}

impl From<&ConnectedAccount> for AccountView {
    fn from(a: &ConnectedAccount) -> Self {
        AccountView {
            id: a.id,
            brand_id: a.brand_id,
            network: a.network,
            kind: a.kind,
            external_id: a.external_id.clone(),
            display_name: a.display_name.clone(),
            handle: a.handle.clone(),
            reconnect_needed: a.status == AccountStatus::ReconnectNeeded,
            status_reason: a.status_reason.clone(),
            connected_at: a.created_at,
            access_expires_at: a.access_expires_at,
        }
    }
}

/// The outcome of a finished connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connected {
    pub workspace_id: WorkspaceId,
    pub brand_id: BrandId,
    pub accounts: Vec<AccountView>,
}

/// What a disconnect did at the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationOutcome {
    Revoked,
    /// No revocation endpoint, or another account of the same consent still uses the token.
    NotNeeded,
    /// The network could not be reached or refused; our copy is deleted all the same.
    Failed(String),
}

/// One pass of the refresh job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshSummary {
    pub refreshed: usize,
    pub deferred: usize,
    /// Marked "reconnect needed"; the workspace owners were mailed.
    pub reconnect_needed: Vec<ConnectedAccountId>,
}

/// The connected-accounts use cases: [`Services`] plus the token vault.
#[derive(Clone)]
pub struct Accounts {
    services: Services,
    vault: Arc<Vault>,
}

fn invalid(field: &str, message: impl Into<String>) -> ServiceError {
    ServiceError::Invalid(ValidationError::new(field, message).into())
}

/// Vault errors as the people connecting should read them.
fn service_error(e: VaultError) -> ServiceError {
    match e {
        VaultError::NotConfigured(n) => invalid("network", format!("{} is not set up on this installation", n.label())),
        VaultError::State(StateProblem::Foreign) => {
            ServiceError::Forbidden("this connection was started by someone else")
        }
        VaultError::State(p) => invalid("connection", VaultError::State(p).to_string()),
        VaultError::Refused(why) => {
            invalid("connection", format!("the connection was declined at the network ({why}); nothing was connected"))
        }
        VaultError::Callback(c) => invalid("connection", c.to_string()),
        VaultError::Platform(p) => match p.class {
            ErrorClass::ReconnectNeeded => {
                invalid("connection", format!("{} refused: {}", p.network.label(), p.message))
            }
            _ => ServiceError::Conflict(format!(
                "{} could not be reached or refused the request ({}); try again later",
                p.network.label(),
                p.code
            )),
        },
        VaultError::Storage(s) => s.into(),
        VaultError::Custody(c) => ServiceError::Internal(c.to_string()),
    }
}

impl Accounts {
    pub fn new(services: Services, vault: Arc<Vault>) -> Self {
        Self { services, vault }
    }

    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    pub(crate) fn services(&self) -> &Services {
        &self.services
    }

    pub(crate) fn shared_vault(&self) -> Arc<Vault> {
        self.vault.clone()
    }

    /// Networks with an app registration on this installation.
    pub fn configured_networks(&self) -> Vec<Network> {
        Network::ALL.into_iter().filter(|n| self.vault.networks().is_configured(*n)).collect()
    }

    /// The logins to offer for a network (Instagram may have two).
    pub fn logins(&self, network: Network) -> Vec<Flavour> {
        let networks = self.vault.networks();
        match network {
            Network::Instagram => match &networks.instagram {
                Some(ig) if ig.offers_facebook_login() => vec![Flavour::InstagramLogin, Flavour::FacebookLogin],
                Some(_) => vec![Flavour::InstagramLogin],
                None => vec![],
            },
            other if networks.is_configured(other) => vec![Flavour::default_for(other)],
            _ => vec![],
        }
    }

    /// Where the consent pages live (a page posting to them must allow these origins).
    pub fn consent_origins(&self) -> Vec<String> {
        self.vault.networks().consent_origins()
    }

    /// TikTok is configured but not audited: every post is private (SELF_ONLY).
    pub fn tiktok_posts_private(&self) -> bool {
        self.vault.networks().tiktok.as_ref().is_some_and(|t| !t.is_audited())
    }

    async fn require_brand(&self, actor: &Actor, brand: BrandId) -> Result<()> {
        self.services.store().brand(actor.workspace_id, brand).await?.ok_or(ServiceError::NotFound).map(|_| ())
    }

    /// Starts connecting `flavour` for `brand`: returns the network's consent URL.
    pub async fn begin_connect(&self, actor: &Actor, brand: BrandId, flavour: Flavour) -> Result<String> {
        actor.require(Permission::ManageMembers)?;
        self.require_brand(actor, brand).await?;
        self.vault
            .begin(actor.workspace_id, brand, actor.user_id, flavour, self.services.now())
            .await
            .map_err(service_error)
    }

    /// Finishes a connection from the network's callback. The workspace is the one the
    /// connection was started in; the user must still be allowed to connect accounts there.
    pub async fn complete_connect(&self, user: &User, params: &BTreeMap<String, String>) -> Result<Connected> {
        let now = self.services.now();
        let pending = self.vault.accept_callback(user.id, params, now).await.map_err(service_error)?;
        let actor = self.services.actor(user, pending.workspace_id).await?;
        actor.require(Permission::ManageMembers)?;
        let (workspace_id, brand_id) = (pending.workspace_id, pending.brand_id);
        let saved = self.vault.finish(pending, now).await.map_err(service_error)?;
        for account in &saved {
            self.services
                .audit(
                    AuditEvent::by(&actor, AuditAction::ConnectedAccountConnected)
                        .target(CONNECTED_ACCOUNT, account.id),
                )
                .await;
        }
        Ok(Connected { workspace_id, brand_id, accounts: saved.iter().map(AccountView::from).collect() })
    }

    /// The accounts connected to `brand`.
    pub async fn connected_accounts(&self, actor: &Actor, brand: BrandId) -> Result<Vec<AccountView>> {
        actor.require(Permission::Read)?;
        self.require_brand(actor, brand).await?;
        let accounts = self.services.store().connected_accounts(actor.workspace_id, Some(brand)).await?;
        Ok(accounts.iter().map(AccountView::from).collect())
    }

    /// Deletes the account's tokens at once, then asks the network to revoke them.
    pub async fn disconnect(&self, actor: &Actor, id: ConnectedAccountId) -> Result<(AccountView, RevocationOutcome)> {
        actor.require(Permission::ManageMembers)?;
        let (deleted, revocation) = self.vault.disconnect(actor.workspace_id, id).await.map_err(service_error)?;
        self.services
            .audit(AuditEvent::by(actor, AuditAction::ConnectedAccountDisconnected).target(CONNECTED_ACCOUNT, id))
            .await;
        let outcome = match revocation {
            Ok(Revocation::Revoked) => RevocationOutcome::Revoked,
            Ok(Revocation::NotOffered) => RevocationOutcome::NotNeeded,
            Err(e) => {
                tracing::warn!(account = %id, code = %e.code, "revocation failed; the tokens are deleted anyway");
                RevocationOutcome::Failed(e.message)
            }
        };
        Ok((AccountView::from(&deleted), outcome))
    }

    /// The job: refreshes every account due within `ahead`; each that now needs reconnecting is
    /// reported to the owners and admins of its workspace (in the app, and by e-mail).
    pub async fn refresh_due_accounts(&self, ahead: SignedDuration, limit: u32) -> Result<RefreshSummary> {
        let now = self.services.now();
        let report = self.vault.refresh_due(now, ahead, limit).await.map_err(service_error)?;
        let mut summary = RefreshSummary {
            refreshed: report.refreshed.len(),
            deferred: report.deferred.len(),
            reconnect_needed: vec![],
        };
        for (ws, id, reason) in report.reconnect_needed {
            self.notify_reconnect_needed(ws, id, &reason).await?;
            summary.reconnect_needed.push(id);
        }
        Ok(summary)
    }

    async fn notify_reconnect_needed(&self, ws: WorkspaceId, id: ConnectedAccountId, reason: &str) -> Result<()> {
        let store = self.services.store();
        let Some(account) = store.connected_account(ws, id).await? else { return Ok(()) };
        self.services
            .audit(
                AuditEvent::in_workspace(ws, AuditAction::ConnectedAccountReconnectNeeded)
                    .target(CONNECTED_ACCOUNT, id),
            )
            .await;
        // In-app for the owners and admins, and by mail to those who did not turn it off.
        let notice =
            crate::notify::Notice::ReconnectNeeded { account: id, network: account.network, reason: reason.into() };
        self.services.notify(ws, notice).await?;
        Ok(())
    }
}
