//! Fake TikTok, one listener (`"tiktok"`, [`FakeTikTok::base_url`]) standing for
//! `www.tiktok.com`, `open.tiktokapis.com` and `open-upload.tiktokapis.com`.
//!
//! OAuth:
//! - `GET|POST /v2/auth/authorize/` (`client_key, scope` comma-separated, `response_type=code,
//!   redirect_uri, state`, optional `code_challenge` + `code_challenge_method=S256`): consent page;
//!   Allow → `302 {redirect_uri}?code=…&scopes=…&state=…`; Deny → `?error=access_denied&
//!   error_description=…&state=…`.
//! - `POST /v2/oauth/token/` (form): `authorization_code` (`client_key, client_secret, code,
//!   redirect_uri[, code_verifier]`: when the authorize request had a challenge, the verifier must
//!   satisfy BASE64URL(SHA256(verifier)) == challenge) and `refresh_token`. Response `{"open_id",
//!   "scope","access_token","expires_in","refresh_token","refresh_expires_in","token_type"}`.
//!   With rotation (default) every refresh returns a NEW refresh token and the old one fails with
//!   `invalid_grant`. Errors `{"error","error_description","log_id"}`.
//! - `POST /v2/oauth/revoke/` (form `client_key, client_secret, token`) → `{}`; revokes every
//!   grant of that user for the app (or only the token's grant, by a setting: the reference
//!   recalls the endpoint without saying which).
//!
//! API (`Authorization: Bearer`, envelope `{"data":…,"error":{"code":"ok","message","log_id"}}`):
//! - `GET /v2/user/info/?fields=open_id,union_id,avatar_url,display_name,username` (`username`
//!   needs `user.info.profile`).
//! - `POST /v2/post/publish/creator_info/query/` (20/min per token; configurable creator).
//! - `POST /v2/post/publish/video/init/` (6/min): `PULL_FROM_URL` or `FILE_UPLOAD` (chunking
//!   rules checked; `upload_url` points at `PUT /video/?upload_id=…`, `Content-Range` chunks in
//!   order, 206 then 201).
//! - `POST /v2/post/publish/inbox/video/init/` (scope `video.upload`) → ends `SEND_TO_USER_INBOX`.
//! - `POST /v2/post/publish/content/init/` photos: `media_type=PHOTO`, `post_mode=DIRECT_POST|
//!   MEDIA_UPLOAD`, `PULL_FROM_URL` only, 1–35 images, title ≤ 90, description ≤ 4,000.
//! - `POST /v2/post/publish/status/fetch/` (30/min): `PROCESSING_UPLOAD` / `PROCESSING_DOWNLOAD`
//!   → `PUBLISH_COMPLETE` (or `SEND_TO_USER_INBOX`) | `FAILED` + `fail_reason`, per
//!   `publish_readiness`; `publicaly_available_post_id` (sic) filled for non-SELF_ONLY posts
//!   `post_id_delay_polls` fetches after completion.
//! - `POST /v2/video/list/?fields=id,title,create_time,share_url` (scope `video.list`, body
//!   `{"max_count","cursor"}`): the creator's completed direct posts, newest first, private ones
//!   included (beyond the reference: TikTok's Display API, so a client can check what exists).
//! - `GET /@{username}/video/{id}`: the share URL, an HTML page.
//!
//! Refusals on their own: unaudited app (default) and `privacy_level` ≠ SELF_ONLY → 403
//! `unaudited_client_can_only_post_to_private_accounts`; more than 5 posting users a day →
//! `reached_active_user_cap`; privacy not among the creator's options → 400
//! `privacy_level_option_mismatch`; daily post cap → 403 `spam_risk_too_many_posts`; unverified
//! URL prefix → 403 `url_ownership_unverified`; rate windows → 429 `rate_limit_exceeded` (with
//! `Retry-After`); bad token → 401 `access_token_invalid`; missing scope → 401
//! `scope_not_authorized`. Injected: `ContentRejected` → 403 `spam_risk_text`, `QuotaExhausted`
//! → 403 `spam_risk_too_many_posts`, `PermissionMissing` → 401 `scope_not_authorized`, token
//! classes → 401 `access_token_invalid`, `ServerError` → 500 `internal_error`; on
//! `/v2/oauth/*` the OAuth shape. [`api_error`] / [`oauth_error`] build any other.

mod errors;
mod oauth;
mod posting;
mod state;

pub use errors::{api_error, oauth_error};

use crate::common::{AppRegistration, Readiness};
use crate::consent::{Consent, ConsentError};
use crate::failure::Failure;
use crate::incoming::Incoming;
use crate::server::{self, FakeServer, Service, lock};
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};
use nanopost_domain::clock::{Clock, SystemClock};
use state::{Source, State};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// Pre-registered TikTok app, accepted with any redirect URI.
pub const DEMO_CLIENT_KEY: &str = "nanopost-demo-tiktok-key";
pub const DEMO_CLIENT_SECRET: &str = "nanopost-demo-tiktok-secret";

const LISTENER: &str = "tiktok";

/// Per-token, per-minute limits (`None`: unlimited).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    pub creator_info_per_minute: Option<u32>,
    pub init_per_minute: Option<u32>,
    pub status_per_minute: Option<u32>,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits { creator_info_per_minute: Some(20), init_per_minute: Some(6), status_per_minute: Some(30) }
    }
}

#[derive(Debug, Clone)]
pub struct TikTokSettings {
    pub code_ttl: SignedDuration,
    /// 2 h with rotation per the newer docs; the older docs said 24 h / 365 d.
    pub access_ttl: SignedDuration,
    pub refresh_ttl: SignedDuration,
    pub rotate_refresh_tokens: bool,
    /// Unaudited apps may only post SELF_ONLY, with at most `unaudited_daily_user_cap` users a day.
    pub audited: bool,
    pub unaudited_daily_user_cap: u32,
    pub daily_post_cap: Option<u32>,
    /// `Some`: PULL_FROM_URL URLs must start with one of these prefixes.
    pub verified_url_prefixes: Option<Vec<String>>,
    /// GET pulled URLs over loopback (non-loopback counts as unreachable): `video_pull_failed` /
    /// `photo_pull_failed` / `file_format_check_failed`.
    pub check_media_urls: bool,
    pub publish_readiness: Readiness,
    pub post_id_delay_polls: u32,
    /// `None`: no rate limiting at all.
    pub rate_limits: Option<RateLimits>,
    /// TikTok wants HTTPS redirect URIs; off by default so loopback apps can connect.
    pub require_https_redirect: bool,
    pub video_title_limit: usize,
    pub photo_title_limit: usize,
    pub photo_description_limit: usize,
    pub max_photos: usize,
    /// Revocation is documented only from memory [recall]: `true` models a revoke that ends
    /// the user's whole authorization of the app (every grant of that open_id), `false` one
    /// that ends only the grant of the token given.
    pub revoke_ends_every_grant_of_the_user: bool,
}

impl Default for TikTokSettings {
    fn default() -> Self {
        TikTokSettings {
            code_ttl: SignedDuration::from_mins(10),
            access_ttl: SignedDuration::from_hours(2),
            refresh_ttl: SignedDuration::from_hours(24 * 180),
            rotate_refresh_tokens: true,
            audited: false,
            unaudited_daily_user_cap: 5,
            daily_post_cap: Some(15),
            verified_url_prefixes: None,
            check_media_urls: false,
            publish_readiness: Readiness::AfterPolls(1),
            post_id_delay_polls: 0,
            rate_limits: Some(RateLimits::default()),
            require_https_redirect: false,
            video_title_limit: 2_200,
            photo_title_limit: 90,
            photo_description_limit: 4_000,
            max_photos: 35,
            revoke_ends_every_grant_of_the_user: true,
        }
    }
}

/// A creator account and what `creator_info` reports for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatorSpec {
    pub username: String,
    pub nickname: String,
    pub privacy_level_options: Vec<String>,
    pub comment_disabled: bool,
    pub duet_disabled: bool,
    pub stitch_disabled: bool,
    pub max_video_post_duration_sec: u32,
}

impl CreatorSpec {
    /// A public account offering every privacy level.
    pub fn new(username: &str, nickname: &str) -> Self {
        CreatorSpec {
            username: username.to_owned(),
            nickname: nickname.to_owned(),
            privacy_level_options: ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"]
                .map(str::to_owned)
                .to_vec(),
            comment_disabled: false,
            duet_disabled: false,
            stitch_disabled: false,
            max_video_post_duration_sec: 600,
        }
    }
}

#[derive(Clone)]
pub struct TikTokConfig {
    pub clock: Arc<dyn Clock>,
    pub addr: SocketAddr,
    pub apps: Vec<AppRegistration>,
    pub settings: TikTokSettings,
    /// Seed the demo creator ([`FakeTikTok`] docs).
    pub seed_demo_data: bool,
}

impl Default for TikTokConfig {
    fn default() -> Self {
        TikTokConfig {
            clock: Arc::new(SystemClock),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            apps: vec![AppRegistration::new(DEMO_CLIENT_KEY, DEMO_CLIENT_SECRET)],
            settings: TikTokSettings::default(),
            seed_demo_data: true,
        }
    }
}

impl TikTokConfig {
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedTokens {
    pub open_id: String,
    pub access_token: String,
    pub expires_at: Timestamp,
    pub refresh_token: String,
}

/// A publish as the fake sees it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishInfo {
    pub publish_id: String,
    pub open_id: String,
    /// `DIRECT_VIDEO`, `INBOX_VIDEO`, `DIRECT_PHOTO`, `INBOX_PHOTO`.
    pub kind: String,
    /// `PULL_FROM_URL` or `FILE_UPLOAD`.
    pub source: String,
    pub urls: Vec<String>,
    pub uploaded_bytes: u64,
    pub privacy_level: Option<String>,
    pub title: String,
    pub status: String,
    pub fail_reason: Option<String>,
    pub post_id: Option<String>,
    /// The whole init request body.
    pub body: serde_json::Value,
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
        posting::handle(self, req)
    }

    fn render_failure(&self, failure: &Failure, req: &Incoming) -> Response {
        let log_id = lock(&self.state).log_id();
        if let Failure::Respond { status, headers, body } = failure {
            return crate::instagram::raw_response(*status, headers, body);
        }
        if req.path.starts_with("/v2/oauth/") {
            let (status, error) = match failure {
                Failure::RateLimited { .. } => (429, "rate_limit_exceeded"),
                Failure::ServerError => (500, "server_error"),
                Failure::PermissionMissing => (400, "invalid_scope"),
                _ => (400, "invalid_grant"),
            };
            return errors::oauth(status, error, "injected failure", &log_id);
        }
        let mut error = match failure {
            Failure::RateLimited { .. } => errors::api("rate_limit_exceeded"),
            Failure::ServerError => errors::api("internal_error"),
            Failure::TokenExpired | Failure::TokenInvalid | Failure::TokenRevoked => {
                errors::api("access_token_invalid")
            }
            Failure::PermissionMissing => errors::api("scope_not_authorized"),
            Failure::ContentRejected => errors::api("spam_risk_text"),
            Failure::QuotaExhausted => errors::api("spam_risk_too_many_posts"),
            _ => errors::api("internal_error"),
        };
        if let Failure::RateLimited { retry_after } = failure {
            error.retry_after = *retry_after;
        }
        error.response(&log_id)
    }
}

/// The running fake. Derefs to [`FakeServer`].
///
/// Seeded (unless `seed_demo_data` is off): creator `nanopost.demo` (`fake-open-id-0001`), a
/// public account offering every privacy level, 600 s max video.
#[derive(Clone)]
pub struct FakeTikTok {
    server: FakeServer,
    inner: Arc<Inner>,
}

impl std::ops::Deref for FakeTikTok {
    type Target = FakeServer;
    fn deref(&self) -> &FakeServer {
        &self.server
    }
}

impl FakeTikTok {
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(TikTokConfig::default()).await
    }

    pub async fn start_with(config: TikTokConfig) -> std::io::Result<Self> {
        let mut state = State::new(config.settings.clone(), config.apps.clone());
        if config.seed_demo_data {
            state.add_creator(CreatorSpec::new("nanopost.demo", "Nanopost Demo"));
        }
        let inner = Arc::new(Inner {
            clock: config.clock.clone(),
            state: Mutex::new(state),
            base_url: Mutex::new(String::new()),
        });
        let server = server::start(inner.clone(), config.clock, &[(LISTENER, config.addr)]).await?;
        *lock(&inner.base_url) = server.base_url_of(LISTENER);
        Ok(FakeTikTok { server, inner })
    }

    /// Stands for `https://www.tiktok.com`, `https://open.tiktokapis.com` and the upload host.
    pub fn base_url(&self) -> String {
        self.server.base_url_of(LISTENER)
    }

    /// Answers an authorize URL as the creator would; returns the redirect `Location`.
    pub fn consent(&self, authorize_url: &str, consent: Consent) -> Result<String, ConsentError> {
        let (_, params) = crate::consent::url_query_pairs(authorize_url);
        oauth::decide(&self.inner, &params, &consent)
    }

    pub fn register_app(&self, app: AppRegistration) {
        lock(&self.inner.state).apps.push(app);
    }

    /// Adds a creator; returns their `open_id`.
    pub fn add_creator(&self, spec: CreatorSpec) -> String {
        lock(&self.inner.state).add_creator(spec)
    }

    /// Changes what `creator_info` reports for a creator.
    pub fn update_creator(&self, open_id: &str, change: impl FnOnce(&mut CreatorSpec)) {
        if let Some(c) = lock(&self.inner.state).creators.iter_mut().find(|c| c.open_id == open_id) {
            change(&mut c.spec);
        }
    }

    /// Creators as (open_id, username).
    pub fn creators(&self) -> Vec<(String, String)> {
        lock(&self.inner.state).creators.iter().map(|c| (c.open_id.clone(), c.spec.username.clone())).collect()
    }

    /// Issues tokens for the creator (first registered app) as if OAuth had run.
    pub fn issue_token(&self, open_id: &str, scopes: &[&str]) -> IssuedTokens {
        let now = self.inner.now();
        let mut st = lock(&self.inner.state);
        let key = st.apps.first().map(|a| a.client_id.clone()).unwrap_or_default();
        let (access, token, refresh, _) =
            st.issue(open_id, &key, scopes.iter().map(|s| (*s).to_owned()).collect(), now, None);
        IssuedTokens {
            open_id: open_id.to_owned(),
            access_token: access,
            expires_at: token.expires_at,
            refresh_token: refresh,
        }
    }

    pub fn token_is_valid(&self, access_token: &str) -> bool {
        lock(&self.inner.state).check_token(Some(access_token), self.inner.now()).is_ok()
    }

    pub fn refresh_token_is_valid(&self, refresh_token: &str) -> bool {
        let now = self.inner.now();
        lock(&self.inner.state).refresh_tokens.get(refresh_token).is_some_and(|t| !t.revoked && t.expires_at > now)
    }

    /// The next publish initialized ends `FAILED` with this `fail_reason` once processed.
    pub fn fail_next_publish(&self, fail_reason: &str) {
        lock(&self.inner.state).next_publish_failures.push_back(fail_reason.to_owned());
    }

    pub fn update_settings(&self, change: impl FnOnce(&mut TikTokSettings)) {
        change(&mut lock(&self.inner.state).settings);
    }

    /// Every publish, oldest first, with its status now (not counted as a poll).
    pub fn publishes(&self) -> Vec<PublishInfo> {
        let now = self.inner.now();
        lock(&self.inner.state)
            .publishes
            .iter()
            .map(|p| {
                let (source, urls, uploaded_bytes) = match &p.source {
                    Source::Pull { urls } => ("PULL_FROM_URL", urls.clone(), 0),
                    Source::Upload { received, .. } => ("FILE_UPLOAD", Vec::new(), *received),
                };
                PublishInfo {
                    publish_id: p.publish_id.clone(),
                    open_id: p.open_id.clone(),
                    kind: p.kind.as_str().to_owned(),
                    source: source.to_owned(),
                    urls,
                    uploaded_bytes,
                    privacy_level: p.privacy_level.clone(),
                    title: p.title.clone(),
                    status: p.status(now).to_owned(),
                    fail_reason: p.fail_reason.clone(),
                    post_id: p.post_id.map(|n| n.to_string()),
                    body: p.body.clone(),
                }
            })
            .collect()
    }
}
