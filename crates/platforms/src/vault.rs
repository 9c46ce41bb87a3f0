//! Connected accounts over the store: connect (state, PKCE, consent, discovery, sealed tokens),
//! access with refresh, scheduled refresh, disconnect with revocation, key rotation, and a
//! publishing step that survives a token expiring mid-flow.
//!
//! Permission checks belong to the caller (`nanopost-services`); every method here is scoped by
//! the workspace it is given, except the two batch jobs (refresh, rotation).

use crate::custody::{CustodyError, KeyRing, PlainTokens, RowContext};
use crate::error::{ErrorClass, PlatformError};
use crate::instagram::Instagram;
use crate::linkedin::Linkedin;
use crate::network::{Flavour, Revocation, SocialNetwork};
use crate::oauth::{Callback, CallbackError, StateValue, TokenGrant, parse_callback, pkce_verifier};
use crate::publish::{AccountAccess, Existence, MediaItem, PublishProgress, PublishingLimits, Step};
use crate::secret::Secret;
use crate::tiktok::Tiktok;
use jiff::{SignedDuration, Timestamp};
use nanopost_domain::approval::ApprovedPublication;
use nanopost_domain::ids::{BrandId, UserId, WorkspaceId};
use nanopost_domain::network::Network;
use nanopost_storage::{
    AccountKind, AccountStatus, ConnectedAccount, ConnectedAccountId, OAuthState, StorageError, Store, TakenState,
    TokenUpdate,
};
use std::collections::BTreeMap;
use uuid::Uuid;

/// How long a started connection may take before its state expires.
pub const STATE_TTL: SignedDuration = SignedDuration::from_mins(15);
/// Tokens this close to expiry are refreshed before use.
const EXPIRY_SLACK: SignedDuration = SignedDuration::from_secs(120);

/// The configured networks (a network without an app registration is `None`).
#[derive(Default)]
pub struct Networks {
    pub instagram: Option<Instagram>,
    pub linkedin: Option<Linkedin>,
    pub tiktok: Option<Tiktok>,
}

/// Runs `$body` with `$n` bound to the adapter of `$network`, or fails with NotConfigured.
macro_rules! with_network {
    ($networks:expr, $network:expr, $n:ident => $body:expr) => {
        match $network {
            Network::Instagram => {
                let $n = $networks.instagram.as_ref().ok_or(VaultError::NotConfigured(Network::Instagram))?;
                $body
            }
            Network::Linkedin => {
                let $n = $networks.linkedin.as_ref().ok_or(VaultError::NotConfigured(Network::Linkedin))?;
                $body
            }
            Network::Tiktok => {
                let $n = $networks.tiktok.as_ref().ok_or(VaultError::NotConfigured(Network::Tiktok))?;
                $body
            }
        }
    };
}

impl Networks {
    /// The origins (`scheme://host[:port]`) of every configured consent page: a page whose
    /// form leads there must allow them in its `form-action`.
    pub fn consent_origins(&self) -> Vec<String> {
        let mut urls: Vec<&str> = Vec::new();
        urls.extend(self.instagram.iter().flat_map(Instagram::consent_urls));
        urls.extend(self.linkedin.iter().flat_map(Linkedin::consent_urls));
        urls.extend(self.tiktok.iter().flat_map(Tiktok::consent_urls));
        let mut origins: Vec<String> = urls
            .into_iter()
            .filter_map(|u| reqwest::Url::parse(u).ok())
            .map(|u| u.origin().ascii_serialization())
            .filter(|o| o != "null")
            .collect();
        origins.sort();
        origins.dedup();
        origins
    }

    /// How long after a creating call was sent its effect may still land: the client gives up
    /// on an answer after its total timeout; a little slack covers the network's own delay.
    pub fn call_settle_time(&self, network: Network) -> std::time::Duration {
        let http = match network {
            Network::Instagram => self.instagram.as_ref().map(Instagram::http_settings),
            Network::Linkedin => self.linkedin.as_ref().map(Linkedin::http_settings),
            Network::Tiktok => self.tiktok.as_ref().map(Tiktok::http_settings),
        };
        http.unwrap_or_default().total_timeout + std::time::Duration::from_secs(5)
    }

    pub fn is_configured(&self, network: Network) -> bool {
        match network {
            Network::Instagram => self.instagram.is_some(),
            Network::Linkedin => self.linkedin.is_some(),
            Network::Tiktok => self.tiktok.is_some(),
        }
    }
}

/// Why a state value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateProblem {
    /// No state on the callback.
    Missing,
    /// Never issued (or long purged).
    Unknown,
    /// Already used: a replayed callback.
    Reused,
    Expired,
    /// Issued to another user or workspace.
    Foreign,
}

/// A callback whose state checked out: a consent to finish for this workspace and brand.
pub struct PendingConnection {
    pub workspace_id: WorkspaceId,
    pub brand_id: BrandId,
    pub network: Network,
    flavour: Flavour,
    state: StateValue,
    code: Secret,
}

impl std::fmt::Debug for PendingConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingConnection")
            .field("workspace_id", &self.workspace_id)
            .field("brand_id", &self.brand_id)
            .field("network", &self.network)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("{} is not configured on this installation", .0.label())]
    NotConfigured(Network),
    #[error("{}", state_message(*.0))]
    State(StateProblem),
    #[error("the connection was refused at the network: {0}")]
    Refused(String),
    #[error("{0}")]
    Callback(CallbackError),
    #[error("{0}")]
    Platform(#[from] PlatformError),
    #[error("{0}")]
    Custody(#[from] CustodyError),
    #[error("{0}")]
    Storage(#[from] StorageError),
}

fn state_message(p: StateProblem) -> &'static str {
    match p {
        StateProblem::Missing => "the network sent no state back; start the connection again",
        StateProblem::Unknown => "this connection link is unknown; start the connection again",
        StateProblem::Reused => "this connection link was already used; start the connection again",
        StateProblem::Expired => "this connection link expired; start the connection again",
        StateProblem::Foreign => "this connection was started by someone else; start your own",
    }
}

impl VaultError {
    /// The network said the user must reconnect.
    pub fn is_reconnect_needed(&self) -> bool {
        matches!(self, VaultError::Platform(e) if e.class == ErrorClass::ReconnectNeeded)
    }
}

pub type Result<T, E = VaultError> = std::result::Result<T, E>;

/// The outcome of one pass of the refresh job.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RefreshReport {
    pub refreshed: Vec<ConnectedAccountId>,
    /// Marked "reconnect needed": the workspace should be told.
    pub reconnect_needed: Vec<(WorkspaceId, ConnectedAccountId, String)>,
    /// Transient failures; tried again on the next pass.
    pub deferred: Vec<ConnectedAccountId>,
}

pub struct Vault {
    store: Store,
    keys: KeyRing,
    pkce_key: [u8; 32],
    networks: Networks,
}

fn row(a: &ConnectedAccount) -> RowContext {
    RowContext { workspace_id: a.workspace_id, account_id: a.id }
}

impl Vault {
    /// `pkce_key` derives PKCE verifiers from state values (see [`pkce_verifier`]); take it from
    /// the installation secret with [`crate::custody::derive_key`].
    pub fn new(store: Store, keys: KeyRing, pkce_key: [u8; 32], networks: Networks) -> Self {
        Self { store, keys, pkce_key, networks }
    }

    pub fn networks(&self) -> &Networks {
        &self.networks
    }

    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// Starts a connection: stores the state's hash server-side and returns where to send the
    /// browser.
    pub async fn begin(
        &self,
        ws: WorkspaceId,
        brand: BrandId,
        user: UserId,
        flavour: Flavour,
        now: Timestamp,
    ) -> Result<String> {
        let network = flavour.network();
        let state = StateValue::generate();
        let url = with_network!(self.networks, network, n => {
            let verifier = n.uses_pkce(flavour).then(|| pkce_verifier(&self.pkce_key, &state));
            n.authorize_url(flavour, &state, verifier.as_ref())?
        });
        self.store
            .insert_oauth_state(&OAuthState {
                state_hash: state.hash(),
                workspace_id: ws,
                brand_id: brand,
                user_id: user,
                network,
                flavour: flavour.as_str().to_owned(),
                created_at: now,
                expires_at: now.checked_add(STATE_TTL).unwrap_or(now),
            })
            .await?;
        Ok(url)
    }

    /// Finishes a connection from the callback's query parameters, for the signed-in `user` in
    /// `ws`. The state is spent whatever happens next, so a callback can never be replayed.
    pub async fn complete(
        &self,
        ws: WorkspaceId,
        user: UserId,
        params: &BTreeMap<String, String>,
        now: Timestamp,
    ) -> Result<Vec<ConnectedAccount>> {
        let pending = self.accept_callback(user, params, now).await?;
        if pending.workspace_id != ws {
            return Err(VaultError::State(StateProblem::Foreign));
        }
        self.finish(pending, now).await
    }

    /// The first half of [`Self::complete`], for callers that learn the workspace from the state
    /// (the callback URL is one per network): spends the state and checks it was issued to
    /// `user`, unexpired, and that the user consented. The caller checks the user's permission in
    /// [`PendingConnection::workspace_id`] before calling [`Self::finish`].
    pub async fn accept_callback(
        &self,
        user: UserId,
        params: &BTreeMap<String, String>,
        now: Timestamp,
    ) -> Result<PendingConnection> {
        let callback = parse_callback(params).map_err(|e| match e {
            CallbackError::MissingState => VaultError::State(StateProblem::Missing),
            other => VaultError::Callback(other),
        })?;
        let (state, code) = match callback {
            Callback::Code { state, code } => (state, Ok(code)),
            Callback::Refused { state: Some(state), description, .. } => (state, Err(description)),
            Callback::Refused { state: None, .. } => return Err(VaultError::State(StateProblem::Missing)),
        };
        let st = match self.store.take_oauth_state(&state.hash(), now).await? {
            TakenState::Fresh(st) => st,
            TakenState::AlreadyUsed(_) => return Err(VaultError::State(StateProblem::Reused)),
            TakenState::Unknown => return Err(VaultError::State(StateProblem::Unknown)),
        };
        if st.user_id != user {
            return Err(VaultError::State(StateProblem::Foreign));
        }
        if st.expires_at <= now {
            return Err(VaultError::State(StateProblem::Expired));
        }
        let code = code.map_err(VaultError::Refused)?;
        let flavour: Flavour = st.flavour.parse().map_err(|e: String| StorageError::Corrupt(e))?;
        Ok(PendingConnection {
            workspace_id: st.workspace_id,
            brand_id: st.brand_id,
            network: st.network,
            flavour,
            state,
            code,
        })
    }

    /// Exchanges the code of an accepted callback and saves every account found, sealed.
    pub async fn finish(&self, pending: PendingConnection, now: Timestamp) -> Result<Vec<ConnectedAccount>> {
        let PendingConnection { workspace_id: ws, flavour, state, code, .. } = &pending;
        let ws = *ws;
        let st = &pending;
        let connection = with_network!(self.networks, st.network, n => {
            let verifier = n.uses_pkce(*flavour).then(|| pkce_verifier(&self.pkce_key, state));
            n.connect(*flavour, code, verifier.as_ref(), now).await?
        });
        let grant_id = Uuid::now_v7();
        let mut saved = Vec::new();
        for found in connection.accounts {
            let grant = found.own_grant.clone().unwrap_or_else(|| connection.grant.clone());
            let existing =
                self.store.connected_account_by_external(ws, st.brand_id, st.network, &found.external_id).await?;
            let id = existing.as_ref().map_or_else(ConnectedAccountId::new, |a| a.id);
            let refresh_due = with_network!(self.networks, st.network, n => n.refresh_due(found.kind, &grant));
            let account = ConnectedAccount {
                id,
                workspace_id: ws,
                brand_id: st.brand_id,
                network: st.network,
                kind: found.kind,
                grant_id,
                external_id: found.external_id,
                display_name: found.display_name,
                handle: found.handle,
                details: found.details,
                scopes: grant.scopes.clone(),
                tokens: self.keys.seal(
                    RowContext { workspace_id: ws, account_id: id },
                    &PlainTokens { access: grant.access.clone(), refresh: grant.refresh.clone() },
                ),
                token_version: 1,
                token_issued_at: grant.issued_at,
                access_expires_at: grant.access_expires_at,
                refresh_expires_at: grant.refresh_expires_at,
                refresh_due_at: refresh_due,
                status: AccountStatus::Active,
                status_reason: None,
                created_at: existing.as_ref().map_or(now, |a| a.created_at),
                updated_at: now,
            };
            self.store.save_connected_account(&account).await?;
            tracing::info!(workspace = %ws, account = %account.id, network = %account.network, kind = %account.kind, "account connected");
            saved.push(account);
        }
        Ok(saved)
    }

    fn grant_of(&self, a: &ConnectedAccount) -> Result<TokenGrant> {
        let plain = self.keys.open(row(a), &a.tokens)?;
        Ok(TokenGrant {
            access: plain.access,
            refresh: plain.refresh,
            issued_at: a.token_issued_at,
            access_expires_at: a.access_expires_at,
            refresh_expires_at: a.refresh_expires_at,
            scopes: a.scopes.clone(),
        })
    }

    async fn load(&self, ws: WorkspaceId, id: ConnectedAccountId) -> Result<ConnectedAccount> {
        Ok(self.store.connected_account(ws, id).await?.ok_or(StorageError::NotFound)?)
    }

    /// Refreshes one account's tokens now. A refusal marks it "reconnect needed"; a transient
    /// failure leaves it as it was. The new refresh token is stored before anything else is done
    /// with it (TikTok rotates them).
    pub async fn refresh_account(
        &self,
        ws: WorkspaceId,
        id: ConnectedAccountId,
        now: Timestamp,
    ) -> Result<ConnectedAccount> {
        let account = self.load(ws, id).await?;
        let current = self.grant_of(&account)?;
        let refreshed =
            with_network!(self.networks, account.network, n => n.refresh(account.kind, &current, now).await);
        let grant = match refreshed {
            Ok(g) => g,
            Err(e) if e.class == ErrorClass::ReconnectNeeded => {
                // Someone else may have refreshed (and rotated) meanwhile: then this is no failure.
                if let Some(latest) = self.store.connected_account(ws, id).await?
                    && latest.token_version != account.token_version
                {
                    return Ok(latest);
                }
                self.store.mark_account_reconnect_needed(ws, id, &e.message, now).await?;
                tracing::warn!(workspace = %ws, account = %id, code = %e.code, "refresh refused; reconnect needed");
                return Err(e.into());
            }
            Err(e) => return Err(e.into()),
        };
        let refresh_due = with_network!(self.networks, account.network, n => n.refresh_due(account.kind, &grant));
        let update = TokenUpdate {
            tokens: self
                .keys
                .seal(row(&account), &PlainTokens { access: grant.access.clone(), refresh: grant.refresh.clone() }),
            token_issued_at: grant.issued_at,
            access_expires_at: grant.access_expires_at,
            refresh_expires_at: grant.refresh_expires_at,
            refresh_due_at: refresh_due,
            reactivate: true,
        };
        let saved = self.store.update_account_tokens(ws, id, account.token_version, &update, now).await?;
        tracing::info!(workspace = %ws, account = %id, network = %account.network, "tokens refreshed");
        Ok(saved)
    }

    /// The job: refreshes every active account due before `now + ahead`.
    pub async fn refresh_due(&self, now: Timestamp, ahead: SignedDuration, limit: u32) -> Result<RefreshReport> {
        let mut report = RefreshReport::default();
        let before = now.checked_add(ahead).unwrap_or(now);
        for account in self.store.accounts_due_for_refresh(before, limit).await? {
            match self.refresh_account(account.workspace_id, account.id, now).await {
                Ok(_) => report.refreshed.push(account.id),
                Err(e) if e.is_reconnect_needed() => {
                    report.reconnect_needed.push((account.workspace_id, account.id, e.to_string()))
                }
                Err(VaultError::Custody(e)) => {
                    self.store
                        .mark_account_reconnect_needed(account.workspace_id, account.id, &e.to_string(), now)
                        .await?;
                    report.reconnect_needed.push((account.workspace_id, account.id, e.to_string()));
                }
                Err(_) => report.deferred.push(account.id),
            }
        }
        Ok(report)
    }

    /// What an adapter needs to act for the account, refreshing first if the token is about to
    /// expire.
    pub async fn access(&self, ws: WorkspaceId, id: ConnectedAccountId, now: Timestamp) -> Result<AccountAccess> {
        let mut account = self.load(ws, id).await?;
        if account.status == AccountStatus::ReconnectNeeded {
            return Err(PlatformError::new(
                account.network,
                ErrorClass::ReconnectNeeded,
                "reconnect_needed",
                account.status_reason.clone().unwrap_or_else(|| "the account must be connected again".into()),
            )
            .into());
        }
        let soon = now.checked_add(EXPIRY_SLACK).unwrap_or(now);
        if account.access_expires_at.is_some_and(|e| e <= soon) {
            account = self.refresh_account(ws, id, now).await?;
        }
        let plain = self.keys.open(row(&account), &account.tokens)?;
        Ok(AccountAccess {
            kind: account.kind,
            external_id: account.external_id,
            access_token: plain.access,
            details: account.details,
        })
    }

    /// One publishing step for a connected account. If the network refuses the token mid-flow,
    /// the tokens are refreshed once and the step is retried from the stored progress (marked
    /// resumed, so nothing is created twice).
    pub async fn advance(
        &self,
        ws: WorkspaceId,
        id: ConnectedAccountId,
        publication: &ApprovedPublication,
        media: &[MediaItem],
        progress: &PublishProgress,
        now: Timestamp,
    ) -> Result<Step> {
        let account = self.load(ws, id).await?;
        let access = self.access(ws, id, now).await?;
        let first = with_network!(self.networks, account.network, n => n.advance(&access, publication, media, progress, now).await);
        match first {
            Err(e) if e.class == ErrorClass::ReconnectNeeded && self.can_refresh(&account) => {
                match self.refresh_account(ws, id, now).await {
                    Ok(_) => {}
                    // Refused too: the account is marked "reconnect needed".
                    Err(refused) if refused.is_reconnect_needed() => return Err(refused),
                    // Could not refresh now (too young, network down): report the original refusal.
                    Err(_) => return Err(self.note_rejection(ws, id, e, now)),
                }
                let access = self.access(ws, id, now).await?;
                // The refusal was an answer: that call created nothing (unless an earlier one
                // may have, which `refused` keeps in mind).
                let again_from = progress.clone().refused();
                let again = with_network!(self.networks, account.network, n => n.advance(&access, publication, media, &again_from, now).await);
                again.map_err(|e| self.note_rejection(ws, id, e, now))
            }
            other => other.map_err(|e| self.note_rejection(ws, id, e, now)),
        }
    }

    fn can_refresh(&self, a: &ConnectedAccount) -> bool {
        match a.kind {
            AccountKind::InstagramLogin => true,
            AccountKind::InstagramFacebook => false,
            _ => a.tokens.refresh.is_some(),
        }
    }

    fn note_rejection(&self, ws: WorkspaceId, id: ConnectedAccountId, e: PlatformError, _now: Timestamp) -> VaultError {
        if e.class == ErrorClass::ReconnectNeeded {
            tracing::warn!(workspace = %ws, account = %id, code = %e.code, "network refused the token");
        }
        e.into()
    }

    /// Marks the account "reconnect needed" (after a refusal the caller decided is final).
    pub async fn mark_reconnect_needed(
        &self,
        ws: WorkspaceId,
        id: ConnectedAccountId,
        reason: &str,
        now: Timestamp,
    ) -> Result<()> {
        Ok(self.store.mark_account_reconnect_needed(ws, id, reason, now).await?)
    }

    pub async fn find_existing(
        &self,
        ws: WorkspaceId,
        id: ConnectedAccountId,
        publication: &ApprovedPublication,
        progress: &PublishProgress,
        now: Timestamp,
    ) -> Result<Existence> {
        let account = self.load(ws, id).await?;
        let access = self.access(ws, id, now).await?;
        Ok(with_network!(self.networks, account.network, n => n.find_existing(&access, publication, progress).await?))
    }

    pub async fn limits(&self, ws: WorkspaceId, id: ConnectedAccountId, now: Timestamp) -> Result<PublishingLimits> {
        let account = self.load(ws, id).await?;
        let access = self.access(ws, id, now).await?;
        Ok(with_network!(self.networks, account.network, n => n.limits(&access, now).await?))
    }

    /// Deletes the account and its tokens at once, then revokes the token at the network where
    /// it offers revocation. A failed revocation is reported but the tokens are gone either way.
    pub async fn disconnect(
        &self,
        ws: WorkspaceId,
        id: ConnectedAccountId,
    ) -> Result<(ConnectedAccount, Result<Revocation, PlatformError>)> {
        let deleted = self.store.delete_connected_account(ws, id).await?;
        tracing::info!(workspace = %ws, account = %id, network = %deleted.network, "account disconnected; tokens deleted");
        // Another account of the same grant still uses the token, or another workspace (or
        // brand) is connected to the same network account: revoking could cut that one off
        // (some networks end the user's whole authorization of the app). Our copy is gone.
        let shared = !self.store.accounts_of_grant(ws, deleted.grant_id).await?.is_empty()
            || self.store.other_connections_to(deleted.network, &deleted.external_id, deleted.id).await? > 0;
        let revocation = match self.keys.open(row(&deleted), &deleted.tokens) {
            Ok(_) if shared => Ok(Revocation::NotOffered),
            // The network's app was removed from the configuration: nothing to call.
            Ok(_) if !self.networks.is_configured(deleted.network) => Err(PlatformError::new(
                deleted.network,
                ErrorClass::Unknown,
                "not_configured",
                format!("{} is not configured here, so the token was not revoked", deleted.network.label()),
            )),
            Ok(plain) => with_network!(self.networks, deleted.network, n => n.revoke(deleted.kind, &plain).await),
            Err(e) => Err(PlatformError::new(deleted.network, ErrorClass::Unknown, "custody", e.to_string())),
        };
        Ok((deleted, revocation))
    }

    /// Re-seals up to `batch` accounts sealed under another key with the current key; returns
    /// how many moved. Run until it returns 0, then the old keys can be removed.
    pub async fn rotate_keys(&self, batch: u32, now: Timestamp) -> Result<usize> {
        let current = self.keys.current_key_id().to_owned();
        let accounts = self.store.accounts_sealed_with_other_keys(&current, batch).await?;
        let mut moved = 0;
        for a in accounts {
            let update = TokenUpdate {
                tokens: self.keys.reseal(row(&a), &a.tokens)?,
                token_issued_at: a.token_issued_at,
                access_expires_at: a.access_expires_at,
                refresh_expires_at: a.refresh_expires_at,
                refresh_due_at: a.refresh_due_at,
                reactivate: false,
            };
            match self.store.update_account_tokens(a.workspace_id, a.id, a.token_version, &update, now).await {
                // Refreshed meanwhile: it was sealed with the current key then.
                Ok(_) | Err(StorageError::Stale) | Err(StorageError::NotFound) => moved += 1,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(moved)
    }
}
