//! The social networks Nanopost publishes to: Instagram (Instagram Login and Facebook Login),
//! LinkedIn (member and Company Pages) and TikTok.
//!
//! - [`SocialNetwork`] is the one trait: OAuth, account discovery, refresh, revocation, rules,
//!   and publishing in stored steps ([`publish`]) that take only an
//!   [`ApprovedPublication`](nanopost_domain::approval::ApprovedPublication) (invariant I1) and
//!   expose every created id as it comes back (invariant I2).
//! - [`error`] classifies every documented error into five classes.
//! - [`rules`] holds each network's caption and media rules as pure functions.
//! - [`custody`] keeps tokens encrypted at rest; [`vault`] connects, refreshes and disconnects
//!   accounts over the store.

pub mod config;
pub mod custody;
pub mod error;
pub mod http;
pub mod instagram;
mod json;
pub mod linkedin;
pub mod little_text;
pub mod network;
pub mod oauth;
pub mod publish;
pub mod rules;
pub mod secret;
pub mod tiktok;
pub mod vault;

pub use error::{ErrorClass, PlatformError};
pub use network::{Connection, DiscoveredAccount, Flavour, Revocation, SocialNetwork};
pub use secret::Secret;
