//! Fake LinkedIn, one listener (`"linkedin"`, [`FakeLinkedIn::base_url`]) standing for
//! `www.linkedin.com` and `api.linkedin.com`.
//!
//! OAuth (`www.linkedin.com`):
//! - `GET|POST /oauth/v2/authorization` (`response_type=code, client_id, redirect_uri, state,
//!   scope` space-separated): consent page; Allow → `302 {redirect_uri}?code=…&state=…`; Deny →
//!   `?error=user_cancelled_authorize&error_description=…&state=…`; an unknown scope (a
//!   comma-joined list is one unknown scope) → `?error=unauthorized_scope_error&…`.
//! - `POST /oauth/v2/accessToken` (form): `grant_type=authorization_code` → `{"access_token",
//!   "expires_in","refresh_token","refresh_token_expires_in","scope","token_type":"Bearer"
//!   [,"id_token" with openid]}`; `grant_type=refresh_token` → a new access token, the *same*
//!   refresh token with its clock not reset. Errors `{"error","error_description"}`.
//! - `POST /oauth/v2/revoke` (form `client_id, client_secret, token`) → 200; revokes every token
//!   of that member for that app (not in the reference; LinkedIn's documented revocation).
//!
//! API (`api.linkedin.com`), `Authorization: Bearer`:
//! - `GET /v2/userinfo` (needs `openid`), `GET /v2/me` (`vanityName` with `r_basicprofile`).
//! - `GET /rest/organizationAcls?q=roleAssignee[&role=][&state=][&projection=(elements*(*,
//!   organization~(localizedName,vanityName)))]`, also under `/v2/`; legacy
//!   `/v2/organizationalEntityAcls` (field `organizationalTarget`). Need `r_organization_admin`
//!   or `rw_organization_admin`.
//! - `GET /rest/organizations/{id}` → `{"id","localizedName","vanityName"}`.
//! - `POST /rest/images?action=initializeUpload` → `{"value":{"uploadUrlExpiresAt","uploadUrl",
//!   "image"}}`; `PUT <uploadUrl>` (raw bytes + Bearer) → 201; `GET /rest/images/{urn}` →
//!   `status` `WAITING_UPLOAD → PROCESSING → AVAILABLE | PROCESSING_FAILED` (per
//!   `image_readiness`; non-image bytes fail). Reading a member's image needs `r_member_social`
//!   (a `w_member_social`-only token gets 403) unless the setting is off.
//! - `POST /rest/posts` → `201`, empty body, `x-restli-id: urn:li:share:…`. Checks: author is the
//!   member (`w_member_social`) or an organization they may post for (`w_organization_social` +
//!   an APPROVED ADMINISTRATOR / CONTENT_ADMINISTRATOR / DIRECT_SPONSORED_CONTENT_POSTER role),
//!   commentary little-text ([`crate::little_text`]; unescaped reserved → 422), ≤ 3,000 chars,
//!   visibility, `distribution.feedDistribution`, `lifecycleState`, images AVAILABLE and owned by
//!   the author (`media` or `multiImage` with 2–20), duplicates → 422 `DUPLICATE_POST`.
//! - `GET /rest/posts?q=author&author={urn}&count=&start=` (newest first), `GET|DELETE
//!   /rest/posts/{urn}`; reading needs `r_member_social` / `r_organization_social`.
//! - `/rest/*` needs `LinkedIn-Version: YYYYMM[.RR]` (missing → 400 `VERSION_MISSING`, inactive →
//!   426 `NONEXISTENT_VERSION`) and `X-Restli-Protocol-Version: 2.0.0` (missing → 400).
//! - `GET /feed/update/{urn}`: the public link, an HTML page of the post.
//!
//! Errors: `{"message","serviceErrorCode","status"[,"code"]}`: no token → 401 "Empty
//! oauth2_access_token"; invalid 401/65600 `INVALID_ACCESS_TOKEN`; expired 401/65602
//! `EXPIRED_ACCESS_TOKEN`; revoked 401/65601 `REVOKED_ACCESS_TOKEN`; missing scope or role 403/100
//! `ACCESS_DENIED`. Injected: `RateLimited` → 429 (no `Retry-After` unless given);
//! `ServerError` → 503 "Service Unavailable"; `ContentRejected` → 422; `QuotaExhausted` → 429
//! (member day limit). [`rest_error`] builds any other.

mod errors;
mod oauth;
mod rest;
mod state;

pub use errors::rest_error;

use crate::common::{AppRegistration, Readiness};
use crate::consent::{Consent, ConsentError};
use crate::failure::Failure;
use crate::incoming::Incoming;
use crate::little_text::LittleText;
use crate::server::{self, FakeServer, Service, lock};
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};
use nanopost_domain::clock::{Clock, SystemClock};
use state::{Acl, State};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// Pre-registered LinkedIn app, accepted with any redirect URI.
pub const DEMO_CLIENT_ID: &str = "nanopost-demo-linkedin-client";
pub const DEMO_CLIENT_SECRET: &str = "nanopost-demo-linkedin-secret";

const LISTENER: &str = "linkedin";

/// What the fake does with commentary that breaks the little-text rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LittleTextMode {
    /// 422 naming the first unescaped reserved character (default: a test sees the bug).
    #[default]
    Reject,
    /// What LinkedIn really does: accept, and keep only the text before that character.
    Truncate,
}

/// The URN kind in `x-restli-id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PostUrnKind {
    #[default]
    Share,
    UgcPost,
}

#[derive(Debug, Clone)]
pub struct LinkedInSettings {
    pub code_ttl: SignedDuration,
    pub access_ttl: SignedDuration,
    pub refresh_ttl: SignedDuration,
    /// Programmatic refresh tokens exist only for approved partners; off = none issued.
    pub issue_refresh_tokens: bool,
    pub image_readiness: Readiness,
    pub little_text: LittleTextMode,
    pub commentary_limit: usize,
    pub post_urn_kind: PostUrnKind,
    /// `None`: every well-formed `YYYYMM[.RR]` is active; else only these.
    pub accepted_versions: Option<Vec<String>>,
    pub personal_image_read_needs_r_member_social: bool,
    /// Calls per member per UTC day before 429 (`None`: unlimited).
    pub daily_member_call_limit: Option<u32>,
}

impl Default for LinkedInSettings {
    fn default() -> Self {
        LinkedInSettings {
            code_ttl: SignedDuration::from_mins(30),
            access_ttl: SignedDuration::from_hours(24 * 60),
            refresh_ttl: SignedDuration::from_hours(24 * 365),
            issue_refresh_tokens: true,
            image_readiness: Readiness::AfterPolls(0),
            little_text: LittleTextMode::Reject,
            commentary_limit: 3_000,
            post_urn_kind: PostUrnKind::Share,
            accepted_versions: None,
            personal_image_read_needs_r_member_social: true,
            daily_member_call_limit: None,
        }
    }
}

#[derive(Clone)]
pub struct LinkedInConfig {
    pub clock: Arc<dyn Clock>,
    pub addr: SocketAddr,
    pub apps: Vec<AppRegistration>,
    pub settings: LinkedInSettings,
    /// Seed the demo member and organizations ([`FakeLinkedIn`] docs).
    pub seed_demo_data: bool,
}

impl Default for LinkedInConfig {
    fn default() -> Self {
        LinkedInConfig {
            clock: Arc::new(SystemClock),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            apps: vec![AppRegistration::new(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)],
            settings: LinkedInSettings::default(),
            seed_demo_data: true,
        }
    }
}

impl LinkedInConfig {
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

/// Tokens issued directly by [`FakeLinkedIn::issue_token`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedTokens {
    pub access_token: String,
    pub expires_at: Timestamp,
    pub refresh_token: Option<String>,
}

/// A post as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostInfo {
    pub urn: String,
    pub author: String,
    /// The commentary exactly as received (escaped).
    pub commentary: String,
    /// The parsed commentary (after truncation in [`LittleTextMode::Truncate`]).
    pub text: LittleText,
    pub visibility: String,
    pub images: Vec<String>,
    /// The whole request body.
    pub body: serde_json::Value,
    pub linkedin_version: String,
    pub created_at: Timestamp,
    pub deleted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    pub urn: String,
    pub owner: String,
    pub status: String,
    pub bytes: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberInfo {
    pub sub: String,
    pub name: String,
    pub urn: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationInfo {
    pub id: String,
    pub name: String,
    pub urn: String,
}

pub(crate) struct Inner {
    pub clock: Arc<dyn Clock>,
    pub state: Mutex<State>,
    pub base_url: Mutex<String>,
}

impl Inner {
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}

impl Service for Inner {
    fn handle(self: Arc<Self>, req: Incoming) -> impl std::future::Future<Output = Response> + Send {
        rest::handle(self, req)
    }

    fn render_failure(&self, failure: &Failure, req: &Incoming) -> Response {
        if req.path.starts_with("/oauth/v2/accessToken") {
            let (status, error) = match failure {
                Failure::RateLimited { .. } | Failure::QuotaExhausted => (429, "temporarily_unavailable"),
                Failure::ServerError => (503, "server_error"),
                Failure::Respond { status, headers, body } => {
                    return crate::instagram::raw_response(*status, headers, body);
                }
                _ => (400, "invalid_request"),
            };
            return errors::oauth_error(status, error, "injected failure");
        }
        let error = match failure {
            Failure::RateLimited { retry_after } => errors::throttled("APPLICATION", *retry_after),
            Failure::ServerError => errors::RestError::new(503, "Service Unavailable"),
            Failure::TokenExpired => errors::expired_token(),
            Failure::TokenInvalid => errors::invalid_token(),
            Failure::TokenRevoked => errors::revoked_token(),
            Failure::PermissionMissing => errors::forbidden(req.method.as_str(), &req.path),
            Failure::ContentRejected => errors::unprocessable("/commentary", "Content was rejected"),
            Failure::QuotaExhausted => errors::throttled("MEMBER", None),
            Failure::Respond { status, headers, body } => {
                return crate::instagram::raw_response(*status, headers, body);
            }
            _ => errors::RestError::new(503, "Service Unavailable"),
        };
        error.response()
    }
}

/// The running fake. Derefs to [`FakeServer`].
///
/// Seeded (unless `seed_demo_data` is off): member "Dana Demo" (`fakeSub0001`), organizations
/// "Nanopost Demo Co" (`10000001`, ADMINISTRATOR, APPROVED), "Analytics Only Inc" (`10000002`,
/// ANALYST, APPROVED: cannot post) and "Pending Org" (`10000003`, ADMINISTRATOR, REQUESTED).
#[derive(Clone)]
pub struct FakeLinkedIn {
    server: FakeServer,
    inner: Arc<Inner>,
}

impl std::ops::Deref for FakeLinkedIn {
    type Target = FakeServer;
    fn deref(&self) -> &FakeServer {
        &self.server
    }
}

impl FakeLinkedIn {
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(LinkedInConfig::default()).await
    }

    pub async fn start_with(config: LinkedInConfig) -> std::io::Result<Self> {
        let mut state = State::new(config.settings.clone(), config.apps.clone());
        if config.seed_demo_data {
            let member = state.add_member("Dana", "Demo");
            for (name, vanity, role, acl_state) in [
                ("Nanopost Demo Co", "nanopost-demo-co", "ADMINISTRATOR", "APPROVED"),
                ("Analytics Only Inc", "analytics-only", "ANALYST", "APPROVED"),
                ("Pending Org", "pending-org", "ADMINISTRATOR", "REQUESTED"),
            ] {
                let org = state.add_org(name, vanity);
                state.acls.push(Acl { member: member.clone(), org, role: role.into(), state: acl_state.into() });
            }
        }
        let inner = Arc::new(Inner {
            clock: config.clock.clone(),
            state: Mutex::new(state),
            base_url: Mutex::new(String::new()),
        });
        let server = server::start(inner.clone(), config.clock, &[(LISTENER, config.addr)]).await?;
        *lock(&inner.base_url) = server.base_url_of(LISTENER);
        Ok(FakeLinkedIn { server, inner })
    }

    /// Stands for `https://www.linkedin.com` and `https://api.linkedin.com`.
    pub fn base_url(&self) -> String {
        self.server.base_url_of(LISTENER)
    }

    /// Answers an authorize URL as the member would; returns the redirect `Location`.
    pub fn consent(&self, authorize_url: &str, consent: Consent) -> Result<String, ConsentError> {
        let (_, params) = crate::consent::url_query_pairs(authorize_url);
        oauth::decide(&self.inner, &params, &consent)
    }

    pub fn register_app(&self, app: AppRegistration) {
        lock(&self.inner.state).apps.push(app);
    }

    /// Adds a member; returns their `sub`.
    pub fn add_member(&self, given_name: &str, family_name: &str) -> String {
        lock(&self.inner.state).add_member(given_name, family_name)
    }

    /// Adds an organization; returns its numeric id.
    pub fn add_organization(&self, name: &str, vanity_name: &str) -> String {
        lock(&self.inner.state).add_org(name, vanity_name)
    }

    /// Gives a member a role on an organization (`ADMINISTRATOR`, `CONTENT_ADMINISTRATOR`,
    /// `ANALYST`…) in a state (`APPROVED`, `REQUESTED`, `REJECTED`, `REVOKED`).
    pub fn grant_role(&self, sub: &str, org_id: &str, role: &str, state: &str) {
        lock(&self.inner.state).acls.push(Acl {
            member: sub.into(),
            org: org_id.into(),
            role: role.into(),
            state: state.into(),
        });
    }

    pub fn members(&self) -> Vec<MemberInfo> {
        lock(&self.inner.state)
            .members
            .iter()
            .map(|m| MemberInfo { sub: m.sub.clone(), name: m.name(), urn: m.urn() })
            .collect()
    }

    pub fn organizations(&self) -> Vec<OrganizationInfo> {
        lock(&self.inner.state)
            .orgs
            .iter()
            .map(|o| OrganizationInfo {
                id: o.id.clone(),
                name: o.name.clone(),
                urn: format!("urn:li:organization:{}", o.id),
            })
            .collect()
    }

    /// Issues tokens for the member (first registered app) as if OAuth had run.
    pub fn issue_token(&self, sub: &str, scopes: &[&str]) -> IssuedTokens {
        let now = self.inner.now();
        let mut st = lock(&self.inner.state);
        let app = st.apps.first().map(|a| a.client_id.clone()).unwrap_or_default();
        let (access_token, expires_at, refresh) =
            st.issue_tokens(sub, &app, scopes.iter().map(|s| (*s).to_owned()).collect(), now, None);
        IssuedTokens { access_token, expires_at, refresh_token: refresh.map(|(v, _)| v) }
    }

    /// Whether an access token would be accepted now.
    pub fn token_is_valid(&self, access_token: &str) -> bool {
        lock(&self.inner.state).check_token(Some(access_token), self.inner.now()).is_ok()
    }

    /// Whether a refresh token would be accepted now.
    pub fn refresh_token_is_valid(&self, refresh_token: &str) -> bool {
        let now = self.inner.now();
        lock(&self.inner.state).refresh_tokens.get(refresh_token).is_some_and(|t| !t.revoked && t.expires_at > now)
    }

    /// The next image initialized ends in `PROCESSING_FAILED` once processed.
    pub fn fail_next_image(&self) {
        lock(&self.inner.state).next_image_failures.push_back(());
    }

    pub fn update_settings(&self, change: impl FnOnce(&mut LinkedInSettings)) {
        change(&mut lock(&self.inner.state).settings);
    }

    /// Every post, oldest first (deleted ones flagged).
    pub fn posts(&self) -> Vec<PostInfo> {
        lock(&self.inner.state)
            .posts
            .iter()
            .map(|p| PostInfo {
                urn: p.urn.clone(),
                author: p.author.clone(),
                commentary: p.commentary.clone(),
                text: p.text.clone(),
                visibility: p.visibility.clone(),
                images: p.images.clone(),
                body: p.body.clone(),
                linkedin_version: p.version.clone(),
                created_at: p.created_at,
                deleted: p.deleted,
            })
            .collect()
    }

    /// Every image, oldest first, with its status now (not counted as a poll).
    pub fn images(&self) -> Vec<ImageInfo> {
        let now = self.inner.now();
        lock(&self.inner.state)
            .images
            .iter()
            .map(|i| ImageInfo {
                urn: i.urn.clone(),
                owner: i.owner.clone(),
                status: i.status(now).to_owned(),
                bytes: i.bytes.clone(),
            })
            .collect()
    }
}
