//! Fake Instagram Graph API, both variants, on two listeners that share one state.
//!
//! **Listener `"instagram"`** ([`FakeInstagram::instagram_base_url`]) stands for every Instagram
//! host: `www.instagram.com` and `api.instagram.com` (OAuth) and `graph.instagram.com` (Graph).
//! - `GET|POST /oauth/authorize`: consent page (`client_id, redirect_uri, response_type=code,
//!   scope` comma-separated, `state`); Allow → `302 {redirect_uri}?code=…&state=…#_`, Deny →
//!   `?error=access_denied&error_reason=user_denied&error_description=…&state=…#_`.
//! - `POST /oauth/access_token` (form: `client_id, client_secret, grant_type=authorization_code,
//!   redirect_uri, code`) → short-lived token, flat (`{"access_token","user_id":<number>,
//!   "permissions":[…]}`) or wrapped (`{"data":[{"access_token","user_id":"<string>",
//!   "permissions":"a,b"}]}`) per [`CodeExchangeShape`]. Errors: `{"error_type":"OAuthException",
//!   "code":400,"error_message":…}`. A code with `#_` left on is refused.
//! - `GET /access_token?grant_type=ig_exchange_token&client_secret&access_token` → long-lived
//!   `{"access_token","token_type":"bearer","expires_in"}`.
//! - `GET /refresh_access_token?grant_type=ig_refresh_token&access_token` → same shape; the token
//!   must be long-lived, ≥ 24 h old and unexpired.
//! - Graph paths, with or without a version segment (`/v21.0/…`): see below.
//! - `POST /ig-api-upload/{v}/{container-id}` (stands for `rupload.facebook.com`; served on both
//!   listeners; for `upload_type=resumable` containers): headers
//!   `Authorization: OAuth <token>`, `offset`, `file_size`; body = the video bytes →
//!   `{"success":true,"message":"Upload successful."}`.
//! - `GET /p/{shortcode}/`, `/reel/{shortcode}/`: the permalink, an HTML page showing the post.
//!
//! **Listener `"facebook"`** ([`FakeInstagram::facebook_base_url`]) stands for `www.facebook.com`
//! and `graph.facebook.com`:
//! - `GET|POST /{v}/dialog/oauth`: consent page (`client_id, redirect_uri, state, scope` or
//!   `config_id`); Allow → `?code=…&state=…#_`; Deny → `?error=access_denied&error_code=200&
//!   error_description=Permissions+error&error_reason=user_denied&state=…#_`.
//! - `GET /{v}/oauth/access_token?client_id&redirect_uri&client_secret&code` → short-lived user
//!   token; `?grant_type=fb_exchange_token&client_id&client_secret&fb_exchange_token` → long-lived.
//! - `GET /{v}/me/accounts?fields=id,name,access_token,instagram_business_account` → the Pages,
//!   each with a Page token and, when linked, `instagram_business_account.id`.
//!
//! **Graph paths (both listeners)**; tokens as `access_token` (query or form) or `Authorization:
//! Bearer|OAuth`. Instagram-Login tokens work only on `"instagram"`, Facebook tokens only on
//! `"facebook"`:
//! - `GET /me`, `GET /me/permissions`, `DELETE /me/permissions` (revokes the app: every token of
//!   the user for that app then fails with 190/458).
//! - `GET /{id}?fields=…` for an IG user, a Page, a container (`status_code,status`), a media
//!   (`permalink,caption,media_type,media_product_type,timestamp,shortcode,children`).
//! - `POST /{ig-user-id}/media` (query or form): image, carousel item (`is_carousel_item=true`,
//!   `image_url` or `media_type=VIDEO&video_url`), `media_type=CAROUSEL&children=a,b`,
//!   `media_type=REELS&video_url` (or `upload_type=resumable`), `media_type=STORIES`.
//! - `GET /{container-id}?fields=status_code,status`: `IN_PROGRESS` → `FINISHED` (after
//!   [`Readiness`]) → `PUBLISHED` after `media_publish`; `EXPIRED` after `container_ttl`; `ERROR`
//!   when injected ([`FakeInstagram::fail_next_container`]) or when a checked media URL fails.
//! - `POST /{ig-user-id}/media_publish?creation_id=` → `{"id":"<media-id>"}`; refused with
//!   9007/2207027 (not ready), -2/2207020 (expired), 24/2207008 (unknown or already published),
//!   -1/2207032 (container in ERROR), 9/2207042 (quota).
//! - `GET /{ig-user-id}/media?fields=…&limit=&after=`: recent media, newest first.
//! - `GET /{ig-user-id}/content_publishing_limit?fields=quota_usage,config&since=` →
//!   `{"data":[{"quota_usage":n,"config":{"quota_total":50,"quota_duration":86400}}]}`.
//!
//! Injected generic failures render as: `RateLimited` → 400 code 4 (+ `X-App-Usage`, and
//! `X-Business-Use-Case-Usage` + `Retry-After` when `retry_after` is set); `ServerError` → 500
//! code 2; `TokenExpired` 190/463; `TokenInvalid` 190/467; `TokenRevoked` 190/458;
//! `PermissionMissing` 403 code 10; `ContentRejected` 36003/2207009; `QuotaExhausted` 9/2207042.
//! Use [`graph_error`] / [`publishing_error`] for any other code.

mod errors;
mod graph;
mod oauth;
mod state;

pub use errors::{graph_error, publishing_error};

use crate::common::{AppRegistration, Readiness};
use crate::consent::{Consent, ConsentError};
use crate::failure::Failure;
use crate::incoming::Incoming;
use crate::server::{self, FakeServer, Service, lock};
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};
use nanopost_domain::clock::{Clock, SystemClock};
use state::{State, Subject, TokenKind};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// Pre-registered Instagram app (Instagram Login), accepted with any redirect URI.
pub const DEMO_INSTAGRAM_APP_ID: &str = "nanopost-demo-instagram-app";
pub const DEMO_INSTAGRAM_APP_SECRET: &str = "nanopost-demo-instagram-secret";
/// Pre-registered Facebook app (Facebook Login), accepted with any redirect URI.
pub const DEMO_FACEBOOK_APP_ID: &str = "nanopost-demo-facebook-app";
pub const DEMO_FACEBOOK_APP_SECRET: &str = "nanopost-demo-facebook-secret";

/// The two shapes documented for the Instagram-Login code exchange ([conflict] in the reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CodeExchangeShape {
    /// `{"access_token","user_id":17841400000000001,"permissions":["…"]}` (what Postiz reads).
    #[default]
    Flat,
    /// `{"data":[{"access_token","user_id":"17841400000000001","permissions":"a,b"}]}` (some doc versions).
    DataArray,
}

/// Everything about the fake that can change while it runs.
#[derive(Debug, Clone)]
pub struct InstagramSettings {
    pub code_exchange_shape: CodeExchangeShape,
    pub code_ttl: SignedDuration,
    pub short_lived_ttl: SignedDuration,
    pub long_lived_ttl: SignedDuration,
    /// A long-lived token can be refreshed only once it is this old.
    pub refresh_min_age: SignedDuration,
    pub facebook_short_lived_ttl: SignedDuration,
    pub facebook_long_lived_ttl: SignedDuration,
    /// An unpublished container turns EXPIRED after this.
    pub container_ttl: SignedDuration,
    pub image_readiness: Readiness,
    pub video_readiness: Readiness,
    pub carousel_readiness: Readiness,
    pub quota_total: u32,
    pub quota_duration: SignedDuration,
    pub caption_limit: usize,
    /// Most `#hashtags` and `@mentions` a caption may carry (30 and 20 [recall]).
    pub hashtag_limit: usize,
    pub mention_limit: usize,
    /// GET `image_url`/`video_url` over loopback at container creation (non-loopback URLs then
    /// count as unreachable): 2207052 for images, an ERROR container for video; also checks
    /// image size (2207004), JPEG (2207005) and aspect ratio 4:5–1.91:1 (2207009).
    pub check_media_urls: bool,
    pub max_image_bytes: usize,
}

impl Default for InstagramSettings {
    fn default() -> Self {
        InstagramSettings {
            code_exchange_shape: CodeExchangeShape::Flat,
            code_ttl: SignedDuration::from_hours(1),
            short_lived_ttl: SignedDuration::from_hours(1),
            long_lived_ttl: SignedDuration::from_hours(24 * 60),
            refresh_min_age: SignedDuration::from_hours(24),
            facebook_short_lived_ttl: SignedDuration::from_hours(2),
            facebook_long_lived_ttl: SignedDuration::from_hours(24 * 60),
            container_ttl: SignedDuration::from_hours(24),
            image_readiness: Readiness::AfterPolls(0),
            video_readiness: Readiness::AfterPolls(2),
            carousel_readiness: Readiness::AfterPolls(0),
            quota_total: 50,
            quota_duration: SignedDuration::from_hours(24),
            caption_limit: 2_200,
            hashtag_limit: 30,
            mention_limit: 20,
            check_media_urls: false,
            max_image_bytes: 8 * 1024 * 1024,
        }
    }
}

/// How to start the fake.
#[derive(Clone)]
pub struct InstagramConfig {
    pub clock: Arc<dyn Clock>,
    pub instagram_addr: SocketAddr,
    pub facebook_addr: SocketAddr,
    pub instagram_apps: Vec<AppRegistration>,
    pub facebook_apps: Vec<AppRegistration>,
    pub settings: InstagramSettings,
    /// Seed the demo users ([`FakeInstagram`] docs); off gives an empty fake.
    pub seed_demo_data: bool,
}

impl Default for InstagramConfig {
    fn default() -> Self {
        InstagramConfig {
            clock: Arc::new(SystemClock),
            instagram_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            facebook_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            instagram_apps: vec![AppRegistration::new(DEMO_INSTAGRAM_APP_ID, DEMO_INSTAGRAM_APP_SECRET)],
            facebook_apps: vec![AppRegistration::new(DEMO_FACEBOOK_APP_ID, DEMO_FACEBOOK_APP_SECRET)],
            settings: InstagramSettings::default(),
            seed_demo_data: true,
        }
    }
}

impl InstagramConfig {
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

/// A token the fake issued, for tests that skip the OAuth dance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub access_token: String,
    pub expires_at: Option<Timestamp>,
}

/// The kinds of media container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerKind {
    Image,
    CarouselImage,
    CarouselVideo,
    Carousel,
    Reels,
    Stories,
}

/// A container as the fake sees it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    pub id: String,
    pub owner: String,
    pub kind: ContainerKind,
    /// Every parameter received at creation (query and form, minus `access_token`).
    pub params: Vec<(String, String)>,
    pub children: Vec<String>,
    pub status_code: String,
    pub polls: u32,
    pub published_media_id: Option<String>,
    pub created_at: Timestamp,
}

/// A published media.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaInfo {
    pub id: String,
    pub owner: String,
    pub container_id: String,
    pub caption: Option<String>,
    /// `IMAGE`, `VIDEO`, `CAROUSEL_ALBUM`.
    pub media_type: String,
    /// `FEED`, `REELS`, `STORY`.
    pub media_product_type: String,
    pub permalink: String,
    pub timestamp: Timestamp,
    /// Media URLs: the one of a single image or video, the children's for a carousel.
    pub media_urls: Vec<String>,
}

/// An Instagram professional account of the fake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    /// The IG user id used for publishing (`user_id` in `/me`).
    pub id: String,
    pub app_scoped_id: String,
    pub username: String,
    pub name: String,
}

pub(crate) struct Inner {
    pub clock: Arc<dyn Clock>,
    pub state: Mutex<State>,
    pub base_urls: Mutex<(String, String)>,
}

impl Inner {
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}

/// The running fake. Derefs to [`FakeServer`] (journal, failures, clock).
///
/// Seeded (unless `seed_demo_data` is off): Instagram account `nanopost_demo` (Instagram Login),
/// Facebook user "Demo Person" administering Page "Nanopost Demo Page" (linked to
/// `nanopost_demo`) and Page "Page Without Instagram" (no IG account).
#[derive(Clone)]
pub struct FakeInstagram {
    server: FakeServer,
    inner: Arc<Inner>,
}

impl std::ops::Deref for FakeInstagram {
    type Target = FakeServer;
    fn deref(&self) -> &FakeServer {
        &self.server
    }
}

impl Service for Inner {
    fn handle(self: Arc<Self>, req: Incoming) -> impl std::future::Future<Output = Response> + Send {
        graph::handle(self, req)
    }

    fn render_failure(&self, failure: &Failure, req: &Incoming) -> Response {
        let trace = lock(&self.state).trace();
        let error = match failure {
            Failure::RateLimited { retry_after } => errors::rate_limited(*retry_after),
            Failure::ServerError => errors::server_error(),
            Failure::TokenExpired => errors::expired_token("an earlier date", "now"),
            Failure::TokenInvalid => errors::invalid_token(),
            Failure::TokenRevoked => errors::revoked_token("the app"),
            Failure::PermissionMissing => errors::permission("instagram_business_content_publish"),
            Failure::ContentRejected => errors::by_subcode(2207009),
            Failure::QuotaExhausted => errors::by_subcode(2207042),
            Failure::Respond { status, headers, body } => return raw_response(*status, headers, body),
            // Timing failures are handled by the server before this is called.
            _ => errors::server_error(),
        };
        if req.path.starts_with("/oauth/access_token") {
            return errors::oauth_exchange_error(&error.message);
        }
        error.response(&trace)
    }
}

pub(crate) fn raw_response(status: u16, headers: &[(String, String)], body: &str) -> Response {
    let mut response = Response::new(axum::body::Body::from(body.to_owned()));
    *response.status_mut() = axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::BAD_REQUEST);
    for (k, v) in headers {
        if let (Ok(name), Ok(value)) =
            (axum::http::HeaderName::try_from(k.as_str()), axum::http::HeaderValue::from_str(v))
        {
            response.headers_mut().append(name, value);
        }
    }
    response
}

impl FakeInstagram {
    /// Starts with the default config (demo apps and data, system clock, random ports).
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(InstagramConfig::default()).await
    }

    pub async fn start_with(config: InstagramConfig) -> std::io::Result<Self> {
        let mut state =
            State::new(config.settings.clone(), config.instagram_apps.clone(), config.facebook_apps.clone());
        if config.seed_demo_data {
            let ig = state.add_account("nanopost_demo", "Nanopost Demo");
            let user = state.add_fb_user("Demo Person");
            state.add_page(&user, "Nanopost Demo Page", Some(&ig));
            state.add_page(&user, "Page Without Instagram", None);
        }
        let inner = Arc::new(Inner {
            clock: config.clock.clone(),
            state: Mutex::new(state),
            base_urls: Mutex::new((String::new(), String::new())),
        });
        let server = server::start(
            inner.clone(),
            config.clock,
            &[(state::IG_LISTENER, config.instagram_addr), (state::FB_LISTENER, config.facebook_addr)],
        )
        .await?;
        *lock(&inner.base_urls) = (server.base_url_of(state::IG_LISTENER), server.base_url_of(state::FB_LISTENER));
        Ok(FakeInstagram { server, inner })
    }

    /// Base URL standing for `www.instagram.com`, `api.instagram.com` and `graph.instagram.com`.
    pub fn instagram_base_url(&self) -> String {
        self.server.base_url_of(state::IG_LISTENER)
    }

    /// Base URL standing for `www.facebook.com` and `graph.facebook.com`.
    pub fn facebook_base_url(&self) -> String {
        self.server.base_url_of(state::FB_LISTENER)
    }

    /// Answers an authorize URL (either variant) as a user clicking Allow or Deny would; returns
    /// the redirect `Location`. The request is not recorded (it is the browser's, not the app's).
    pub fn consent(&self, authorize_url: &str, consent: Consent) -> Result<String, ConsentError> {
        oauth::consent_in_process(&self.inner, authorize_url, &consent)
    }

    pub fn register_instagram_app(&self, app: AppRegistration) {
        lock(&self.inner.state).instagram_apps.push(app);
    }

    pub fn register_facebook_app(&self, app: AppRegistration) {
        lock(&self.inner.state).facebook_apps.push(app);
    }

    /// Adds an Instagram professional account reachable through Instagram Login; returns its
    /// IG user id.
    pub fn add_account(&self, username: &str, name: &str) -> String {
        lock(&self.inner.state).add_account(username, name)
    }

    /// Adds a Facebook user (for Facebook Login); returns the user id.
    pub fn add_facebook_user(&self, name: &str) -> String {
        lock(&self.inner.state).add_fb_user(name)
    }

    /// Adds a Page administered by `admin` (a Facebook user id), optionally linked to an IG
    /// account; returns the Page id.
    pub fn add_page(&self, admin: &str, name: &str, instagram_account: Option<&str>) -> String {
        lock(&self.inner.state).add_page(admin, name, instagram_account)
    }

    pub fn accounts(&self) -> Vec<AccountInfo> {
        lock(&self.inner.state)
            .accounts
            .iter()
            .map(|a| AccountInfo {
                id: a.id.clone(),
                app_scoped_id: a.app_scoped_id.clone(),
                username: a.username.clone(),
                name: a.name.clone(),
            })
            .collect()
    }

    /// Facebook users as (id, name).
    pub fn facebook_users(&self) -> Vec<(String, String)> {
        lock(&self.inner.state).fb_users.iter().map(|u| (u.id.clone(), u.name.clone())).collect()
    }

    /// Pages as (id, name, linked IG account id).
    pub fn pages(&self) -> Vec<(String, String, Option<String>)> {
        lock(&self.inner.state).pages.iter().map(|p| (p.id.clone(), p.name.clone(), p.ig_account.clone())).collect()
    }

    /// Issues a long-lived Instagram-Login token for the account (first registered app), as if
    /// the whole OAuth flow had run.
    pub fn issue_token(&self, ig_user_id: &str, scopes: &[&str]) -> IssuedToken {
        let now = self.inner.now();
        let mut st = lock(&self.inner.state);
        let app = st.instagram_apps.first().map(|a| a.client_id.clone()).unwrap_or_default();
        st.issue_token(
            TokenKind::IgLong,
            Subject::Ig(ig_user_id.to_owned()),
            &app,
            scopes.iter().map(|s| (*s).to_owned()).collect(),
            Vec::new(),
            now,
            None,
        )
    }

    /// Issues a long-lived Facebook user token (first registered Facebook app).
    pub fn issue_facebook_token(&self, fb_user_id: &str, scopes: &[&str]) -> IssuedToken {
        let now = self.inner.now();
        let mut st = lock(&self.inner.state);
        let app = st.facebook_apps.first().map(|a| a.client_id.clone()).unwrap_or_default();
        st.issue_token(
            TokenKind::FbLong,
            Subject::FbUser(fb_user_id.to_owned()),
            &app,
            scopes.iter().map(|s| (*s).to_owned()).collect(),
            Vec::new(),
            now,
            None,
        )
    }

    /// Makes a token fail as after a password change (190/460).
    pub fn invalidate_token(&self, token: &str) {
        if let Some(t) = lock(&self.inner.state).tokens.get_mut(token) {
            t.invalidated = true;
        }
    }

    /// Whether the token would be accepted now (exists, not revoked, invalidated or expired).
    pub fn token_is_valid(&self, token: &str) -> bool {
        let now = self.inner.now();
        let st = lock(&self.inner.state);
        let listener = st.tokens.get(token).map(|t| t.kind.listener()).unwrap_or(state::IG_LISTENER);
        st.check_token(Some(token), listener, now).is_ok()
    }

    /// The next container created ends in `ERROR` with this `status` text once processed.
    pub fn fail_next_container(&self, status: &str) {
        lock(&self.inner.state).next_container_errors.push_back(status.to_owned());
    }

    /// Puts an existing container into `ERROR` (once processed) with this `status` text.
    pub fn set_container_error(&self, container_id: &str, status: &str) {
        if let Some(c) = lock(&self.inner.state).containers.get_mut(container_id) {
            c.error = Some(status.to_owned());
        }
    }

    /// Changes settings while running (quota, readiness, media checks, lifetimes…).
    pub fn update_settings(&self, change: impl FnOnce(&mut InstagramSettings)) {
        change(&mut lock(&self.inner.state).settings);
    }

    /// Every container, oldest first, with its status as of now (reading does not count as a poll).
    pub fn containers(&self) -> Vec<ContainerInfo> {
        let now = self.inner.now();
        let st = lock(&self.inner.state);
        st.containers
            .values()
            .map(|c| ContainerInfo {
                id: c.id.clone(),
                owner: c.owner.clone(),
                kind: c.kind,
                params: c.params.clone(),
                children: c.children.clone(),
                status_code: state::evaluate(c, now, st.settings.container_ttl).as_str().to_owned(),
                polls: c.polls,
                published_media_id: c.published_media.clone(),
                created_at: c.created_at,
            })
            .collect()
    }

    /// Every published media, oldest first.
    pub fn media(&self) -> Vec<MediaInfo> {
        lock(&self.inner.state)
            .media
            .iter()
            .map(|m| MediaInfo {
                id: m.id.clone(),
                owner: m.owner.clone(),
                container_id: m.container_id.clone(),
                caption: m.caption.clone(),
                media_type: m.media_type.to_owned(),
                media_product_type: m.media_product_type.to_owned(),
                permalink: m.permalink.clone(),
                timestamp: m.timestamp,
                media_urls: if m.children.is_empty() {
                    m.media_url.iter().cloned().collect()
                } else {
                    m.children.iter().filter_map(|c| c.media_url.clone()).collect()
                },
            })
            .collect()
    }

    /// Publishes `n` placeholder posts for the account now, to use up quota in a test.
    pub fn use_quota(&self, ig_user_id: &str, n: u32) {
        let now = self.inner.now();
        let base = lock(&self.inner.base_urls).0.clone();
        let mut st = lock(&self.inner.state);
        for _ in 0..n {
            graph::record_media(&mut st, &base, ig_user_id, "", None, "IMAGE", "FEED", None, Vec::new(), now);
        }
    }
}
