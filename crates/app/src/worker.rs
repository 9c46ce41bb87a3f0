//! Background work: the job runtime (scheduled and queued jobs, on the configured queue) and
//! housekeeping (expired sessions and the like) once a minute. `serve` runs them in-process;
//! `nanopost worker` runs them alone. Both stop on the shutdown signal: no new work is taken,
//! running jobs finish or are handed back.

use crate::config::{Config, QueueBackend};
use crate::shutdown::Shutdown;
use anyhow::{Context, Result};
use nanopost_domain::clock::SystemClock;
use nanopost_jobs::{AnyQueue, Handlers, RedisQueue, Runtime, RuntimeConfig, SqlQueue};
use nanopost_services::Services;
use nanopost_services::generation::{Generation, GenerationSweep};
use nanopost_services::publishing::{Publishing, SweepReport};
use nanopost_storage::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// How often housekeeping runs.
pub const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(60);

/// The queue jobs wait in: the database's own tables, or Redis when configured.
pub async fn open_queue(config: &Config, store: &Store) -> Result<AnyQueue> {
    match (config.queue.backend, &config.queue.redis_url) {
        (QueueBackend::Redis, Some(url)) => {
            let q = RedisQueue::connect(url.expose(), &config.queue.redis_prefix)
                .await
                .with_context(|| format!("cannot connect to the Redis queue {}", url.redacted()))?;
            Ok(AnyQueue::Redis(q))
        }
        _ => Ok(AnyQueue::Sql(SqlQueue::new(store.clone()))),
    }
}

/// The handlers by job kind. Each is a thin call into a use case; a kind with no handler here
/// is retried, then dead-lettered with a message naming it.
fn handlers(services: &Services, publishing: &Publishing) -> Handlers<AnyQueue> {
    // Publishing (invariant I2): a due post starts, then each publication advances step by step.
    let handlers = publishing.register(Handlers::new());
    // Generation: a post, a plan, a regeneration or an image description, one job each.
    let handlers = Generation::new(services).register(handlers);
    // E-mail delivery, Telegram review messages, privacy exports.
    services.register(handlers)
}

/// Starts the workers; they stop when `shutdown` triggers. A housekeeping run that already
/// started is finished, never cut in the middle.
pub fn spawn(
    services: Services,
    publishing: Publishing,
    queue: AnyQueue,
    runtime: RuntimeConfig,
    shutdown: Shutdown,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        tracing::info!(every_secs = HOUSEKEEPING_EVERY.as_secs(), queue = queue.backend_name(), "workers started");
        let mail_queue = queue.clone();
        let runtime = Runtime::new(queue, handlers(&services, &publishing), runtime, Arc::new(SystemClock));
        let jobs = tokio::spawn(runtime.run(shutdown.wait()));
        let mut tick = tokio::time::interval(HOUSEKEEPING_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let stop = shutdown.wait();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                biased;
                _ = &mut stop => break,
                _ = tick.tick() => {}
            }
            match services.housekeeping().await {
                Ok(0) => tracing::debug!("housekeeping: nothing to do"),
                Ok(n) => tracing::info!(removed = n, "housekeeping done"),
                Err(e) => tracing::warn!(error = %e, "housekeeping failed; will retry"),
            }
            if let Err(e) = services.privacy_housekeeping().await {
                tracing::warn!(error = %e, "privacy purge and retention failed; will retry");
            }
            crate::email::ensure_delivery_job(&mail_queue, &services).await;
            match publishing.sweep().await {
                Ok(r) if r == SweepReport::default() => {}
                Ok(r) => tracing::info!(?r, "publishing sweep put work back on track"),
                Err(e) => tracing::warn!(error = %e, "publishing sweep failed; will retry"),
            }
            match Generation::new(&services).sweep().await {
                Ok(r) if r == GenerationSweep::default() => {}
                Ok(r) => tracing::info!(?r, "generation sweep put work back on track"),
                Err(e) => tracing::warn!(error = %e, "generation sweep failed; will retry"),
            }
        }
        if let Err(e) = jobs.await {
            tracing::error!(error = %e, "the job runtime failed");
        }
        tracing::info!("workers stopped");
    })
}
