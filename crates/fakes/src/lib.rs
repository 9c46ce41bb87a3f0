//! Stateful, wire-faithful local fakes of the networks Nanopost publishes to: the Instagram Graph
//! API (Instagram Login on `graph.instagram.com` and Facebook Login on `graph.facebook.com`),
//! LinkedIn and TikTok. They follow `shared/reference/platform-apis.md`; where it tags a fact
//! [recall] or [conflict], the fake can produce every documented shape (see each module).
//!
//! # Starting
//!
//! Each fake is an in-process axum server on `127.0.0.1:0` (plain HTTP), state in memory:
//!
//! ```text
//! let ig = FakeInstagram::start().await?;          // or start_with(InstagramConfig { .. })
//! let li = FakeLinkedIn::start().await?;           // or start_with(LinkedInConfig { .. })
//! let tt = FakeTikTok::start().await?;             // or start_with(TikTokConfig { .. })
//! let all = FakeNetworks::start_all().await?;      // the three, demo apps pre-registered
//! ```
//!
//! Handles are cheap to clone; the listeners stop when the last clone is dropped.
//!
//! # Base URLs (what the adapters' configured hosts map to)
//!
//! | Real host | Fake |
//! |---|---|
//! | `www.instagram.com`, `api.instagram.com`, `graph.instagram.com` | `ig.instagram_base_url()` |
//! | `www.facebook.com`, `graph.facebook.com`, `rupload.facebook.com` | `ig.facebook_base_url()` |
//! | `www.linkedin.com`, `api.linkedin.com` (and upload URLs) | `li.base_url()` |
//! | `www.tiktok.com`, `open.tiktokapis.com`, `open-upload.tiktokapis.com` | `tt.base_url()` |
//! | `api.telegram.org` (the review bot; `GET /` is a chat simulator) | `tg.base_url()` ([`FakeTelegram`]) |
//!
//! Paths are the real ones, version segments included (`/v21.0/…` on Graph — any version is
//! accepted, and Graph paths also work without one; `/rest/…` with `LinkedIn-Version`;
//! `/v2/…` on TikTok). Upload URLs the fakes hand out point back at themselves.
//!
//! # Apps and users
//!
//! Every fake starts with a demo app registered that accepts **any** redirect URI (the constants
//! in [`demo`]); register more with `register_*_app(AppRegistration::new(id, secret)
//! .with_redirect_uris(&[..]))`. Each also seeds demo users (see each fake's docs) unless its
//! config says `seed_demo_data: false`; add users with `add_account` / `add_member` /
//! `add_creator` and friends.
//!
//! # Consent pages
//!
//! `GET <authorize URL>` shows an HTML page with Allow / Deny buttons (plus a user picker and
//! scope checkboxes); the form POSTs back to the same path and answers `302` to `redirect_uri`
//! with `code` & `state`, or with the network's refusal (`error=access_denied…`, LinkedIn
//! `error=user_cancelled_authorize`). Tests can skip HTML: `fake.consent(&authorize_url,
//! Consent::allow())` (or `Consent::deny()`, `.as_account(id)`, `.granting(&[..])`) returns the
//! redirect `Location` directly. See [`consent`] for the form fields.
//!
//! Tests that do not care about OAuth get a token directly: `ig.issue_token(ig_user_id, scopes)`,
//! `ig.issue_facebook_token(..)`, `li.issue_token(sub, scopes)`, `tt.issue_token(open_id, scopes)`.
//!
//! # Inspecting what the fake received
//!
//! `fake.requests()` returns every [`RecordedRequest`] (method, raw path, query, all headers,
//! body, arrival time) oldest first; `fake.requests_to(&Route::post("/rest/posts"))` filters;
//! `RecordedRequest::line()` gives `"POST /path?query"` for snapshots; `header()`, `query_param()`,
//! `form_param()`, `param()`, `json()` decode. State is inspectable too: `ig.containers()`,
//! `ig.media()`, `li.posts()`, `li.images()`, `tt.publishes()`…
//!
//! # Failure injection
//!
//! ```text
//! fake.fail_next(Route::post("**/media_publish"), Failure::DropAfterAction);
//! fake.fail_times(Route::any(), Failure::RateLimited { retry_after: Some(30) }, 2);
//! fake.fail_always(Route::get("/v2/userinfo"), Failure::TokenExpired);
//! fake.fail_next(Route::post("/v2/post/publish/video/init"), tiktok::api_error("spam_risk_too_many_posts"));
//! fake.clear_failures();
//! ```
//!
//! [`Failure`] covers every class: `RateLimited`, `ServerError`, `TokenExpired`, `TokenInvalid`,
//! `TokenRevoked`, `PermissionMissing`, `ContentRejected`, `QuotaExhausted` (each rendered in the
//! network's documented error shape), `Hang` (never answers), `Delay(d)`, `SlowAnswer(d)` (acts at once, answers after `d`), `DropBeforeAction`,
//! `DropAfterAction` (the fake performs the action, then closes the connection without a byte of
//! answer), and `Respond { status, headers, body }` for an exact answer —
//! [`instagram::graph_error`], [`instagram::publishing_error`], `linkedin::rest_error`,
//! `tiktok::api_error`, `tiktok::oauth_error` build documented ones. Besides injected failures,
//! the fakes fail on their own exactly where the real networks do: expired or revoked tokens,
//! quotas, containers not ready or expired, unaudited TikTok apps, PKCE mismatch, unescaped
//! LinkedIn commentary, missing version headers, rate windows.
//!
//! # Time
//!
//! Every expiry (codes, tokens, containers, quotas, rate windows) reads the config's `clock`
//! (`nanopost_domain::clock::Clock`). Pass an `Arc<ManualClock>` and `advance()` it to expire
//! things without sleeping. Ids, codes and tokens come from per-fake counters: the same calls
//! give the same values in every run.
//!
//! # For `nanopost demo`
//!
//! ```text
//! let fakes = FakeNetworks::start_all().await?;   // keep it alive as long as the app runs
//! let ep = fakes.endpoints();                     // base URLs + demo client ids/secrets
//! // point the app's network config at ep.instagram_base_url, ep.facebook_base_url,
//! // ep.linkedin_base_url, ep.tiktok_base_url with ep.instagram_app_id/secret, …
//! ```
//!
//! [`FakeNetworks::start_all`] starts the three on loopback with the [`demo`] apps
//! pre-registered (any redirect URI accepted), the demo users seeded, the system clock, and
//! media-URL checking on loopback; [`FakeNetworks::start_with`] takes a [`FakeNetworksConfig`]
//! (fixed ports via each config's `addr` fields, a shared clock via `with_clock`).

pub mod consent;
pub mod instagram;
pub mod linkedin;
pub mod little_text;
pub mod telegram;
pub mod tiktok;

mod common;
mod failure;
mod fetch;
mod incoming;
mod networks;
mod record;
mod server;

pub use common::{AppRegistration, Readiness};
pub use consent::{Consent, ConsentError};
pub use failure::{Failure, Route};
pub use instagram::{FakeInstagram, InstagramConfig};
pub use linkedin::{FakeLinkedIn, LinkedInConfig};
pub use networks::{FakeEndpoints, FakeNetworks, FakeNetworksConfig};
pub use record::RecordedRequest;
pub use server::FakeServer;
pub use telegram::{FakeTelegram, TelegramConfig};
pub use tiktok::{FakeTikTok, TikTokConfig};

/// The pre-registered demo apps (each accepts any redirect URI).
pub mod demo {
    pub use crate::instagram::{
        DEMO_FACEBOOK_APP_ID as FACEBOOK_APP_ID, DEMO_FACEBOOK_APP_SECRET as FACEBOOK_APP_SECRET,
        DEMO_INSTAGRAM_APP_ID as INSTAGRAM_APP_ID, DEMO_INSTAGRAM_APP_SECRET as INSTAGRAM_APP_SECRET,
    };
    pub use crate::linkedin::{DEMO_CLIENT_ID as LINKEDIN_CLIENT_ID, DEMO_CLIENT_SECRET as LINKEDIN_CLIENT_SECRET};
    pub use crate::tiktok::{DEMO_CLIENT_KEY as TIKTOK_CLIENT_KEY, DEMO_CLIENT_SECRET as TIKTOK_CLIENT_SECRET};
}
pub mod openai;
