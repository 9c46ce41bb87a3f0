//! The background jobs of [`Services`]' own use cases, registered in one place. (Publishing
//! registers its own, with the token vault: [`crate::publishing::Publishing::register`].)

use crate::Services;
use crate::mail_delivery::DELIVER_JOB;
use crate::privacy::EXPORT_JOB;
use crate::telegram::SEND_REVIEW;
use nanopost_jobs::{Handlers, JobError, JobQueue};

impl Services {
    /// Adds the handlers of e-mail delivery, Telegram review messages and privacy exports.
    pub fn register<Q: JobQueue>(&self, handlers: Handlers<Q>) -> Handlers<Q> {
        let s = self.clone();
        let handlers = handlers.on(DELIVER_JOB, move |_ctx| {
            let s = s.clone();
            async move {
                match s.run_mail_delivery().await {
                    Ok(next) => Ok(next.into_iter().collect()),
                    Err(e) => Err(JobError::retry(format!("e-mail delivery failed: {e}"))),
                }
            }
        });
        let s = self.clone();
        let handlers = handlers.on(SEND_REVIEW, move |ctx| {
            let s = s.clone();
            async move { s.run_telegram_send_review(&ctx.job).await }
        });
        let s = self.clone();
        handlers.on(EXPORT_JOB, move |ctx| {
            let s = s.clone();
            async move { s.run_export(&ctx.job).await }
        })
    }
}
