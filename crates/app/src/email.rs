//! E-mail delivery in the worker: keeping its one `email.deliver` job alive (the handler is
//! registered with the other services' jobs).
//!
//! The job delivers what is due, then schedules itself again (see
//! `nanopost_services::mail_delivery`). Its unique key means one job exists however many
//! processes run workers; each makes sure it exists at start and on every housekeeping tick, so
//! a job lost with a Redis restart, say, comes back within a minute.

use crate::config::Config;
use nanopost_jobs::{AnyQueue, Enqueued, JobQueue, JobState};
use nanopost_services::Services;
use nanopost_services::mail_delivery::delivery_job;

/// Enqueues the delivery job unless it exists; revives it if it died. Nothing when delivery
/// is off.
pub async fn ensure_delivery_job(queue: &AnyQueue, services: &Services) {
    if services.config().email.is_none() {
        return;
    }
    match queue.enqueue(&delivery_job(services.now())).await {
        Ok(Enqueued::New(_)) => tracing::debug!("e-mail delivery job enqueued"),
        Ok(Enqueued::Duplicate(id)) => match queue.job(id).await {
            Ok(Some(job)) if job.state == JobState::Dead => {
                tracing::warn!(error = ?job.last_error, "the e-mail delivery job had died; starting it again");
                if let Err(e) = queue.retry_dead(id, services.now()).await {
                    tracing::warn!(error = %e, "cannot restart the e-mail delivery job; will try again");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the e-mail delivery job; will try again"),
        },
        Err(e) => tracing::warn!(error = %e, "cannot enqueue the e-mail delivery job; will try again"),
    }
}

/// Says once, at start, where mail goes.
pub fn log_status(config: &Config) {
    match config.email.mailer() {
        Some(m) => tracing::info!(server = %m.transport.describe(), from = %m.from, "e-mail delivery is on"),
        None => tracing::warn!(
            "e-mail delivery is off ([email] enabled = false): sign-up, password-reset and notification mail \
             waits in the outbox until it is configured (see docs/configuration.md)"
        ),
    }
}
