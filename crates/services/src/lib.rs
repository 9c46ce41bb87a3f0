//! The use cases of Nanopost: each public method of [`Services`] is one thing a person (or a
//! job) can do, with its permission check, its domain rule and its storage write in one place.
//! HTTP handlers and CLI commands are thin callers of these.

mod accounts;
mod actor;
pub mod audit;
mod auth;
mod brands;
pub mod calendar;
mod config;
mod error;
pub mod generation;
mod jobs;
pub mod mail_delivery;
pub mod mail_templates;
pub mod media;
pub mod notify;
mod post_media;
mod posts;
pub mod privacy;
pub mod publishing;
mod queue;
mod ratelimit;
pub mod secrets;
pub mod telegram;
mod workspaces;

pub use accounts::{AccountView, Accounts, Connected, RefreshSummary, RevocationOutcome};
pub use actor::Actor;
pub use audit::{AuditAction, AuditEvent, RequestOrigin};
pub use auth::SignUpInput;
pub use config::{Argon2Params, LoginLimits, SecretKey, ServiceConfig};
pub use error::ServiceError;
pub use mail_delivery::{DeliveryPolicy, DeliveryReport, EmailDelivery, Mailer};
pub use mail_templates::MailKind;
pub use notify::{EmailPreference, Notice};
pub use post_media::AttachedMedia;
pub use posts::PostView;
pub use secrets::SecretToken;

use nanopost_domain::clock::Clock;
use nanopost_jobs::{AnyQueue, SqlQueue};
use nanopost_storage::Store;
use std::sync::Arc;

/// Everything the use cases share. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    config: ServiceConfig,
    hashing: secrets::PasswordHashing,
    /// Verified against when an address is unknown, so a login takes as long either way.
    /// Made on first need, not at start-up (hashing costs tens of milliseconds).
    dummy_hash: Arc<std::sync::OnceLock<String>>,
    login_failures: ratelimit::FailureCounter,
    /// Where follow-up work goes: the database's own job tables (enqueued in the same
    /// transaction as the change that causes it) unless Redis is configured.
    queue: AnyQueue,
    /// The Telegram bot, when configured (`with_telegram`).
    telegram: Option<telegram::TelegramChannel>,
    /// The AI providers (`with_ai`); offline until configured ones are attached.
    ai: Arc<nanopost_ai::AiProviders>,
}

impl Services {
    /// Fails only if the Argon2 parameters are unusable.
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: ServiceConfig) -> Result<Self, ServiceError> {
        let hashing = secrets::PasswordHashing::new(config.argon2)?;
        let queue = AnyQueue::Sql(SqlQueue::new(store.clone()));
        let inner = Inner {
            store,
            clock,
            config,
            hashing,
            dummy_hash: Default::default(),
            login_failures: Default::default(),
            queue,
            telegram: None,
            ai: Arc::new(nanopost_ai::AiProviders::offline()),
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.inner.config
    }

    pub fn now(&self) -> jiff::Timestamp {
        self.inner.clock.now()
    }
}
