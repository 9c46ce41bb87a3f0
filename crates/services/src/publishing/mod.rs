//! Publishing (invariant I2): an approved post goes out once per target, at its time, as a
//! sequence of jobs whose every step is written down before the next network call.
//!
//! - [`PUBLISH_POST`] runs when a scheduled post is due: it re-checks the approval (I1), finds
//!   the connected account for each target, records one [`Publication`] per target and
//!   enqueues one [`ADVANCE_PUBLICATION`] job for each, all in one transaction.
//! - [`ADVANCE_PUBLICATION`] drives one publication through the adapter's steps
//!   ([`nanopost_platforms::publish`]): after each step the progress is saved, with an
//!   optimistic version, *before* the next call; so after a crash the next attempt resumes from
//!   what exists, and two workers can never both make the creating call.
//! - When every publication is final the post settles: published, failed (with the reasons) or
//!   unconfirmed (a person checks the network before anything is retried).
//! - [`Publishing::sweep`] finds what a crash or an outage left behind and enqueues it again;
//!   a post that missed its time by more than the tolerance is not published late.

mod manage;
mod start;
mod step;

use crate::error::{Result, ServiceError};
use crate::{Accounts, Services};
use jiff::{SignedDuration, Timestamp};
use nanopost_domain::ids::{PostId, PublicationId, WorkspaceId};
use nanopost_domain::network::Network;
use nanopost_domain::post::{Post, PostState};
use nanopost_domain::publication::PublicationState;
use nanopost_jobs::{Handlers, Job, JobError, JobQueue, JobResult, JobState, NewJob};
use nanopost_platforms::vault::Vault;
use nanopost_storage::Publication;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub use start::{TargetMatch, account_facts, match_target};

/// Job kind: a scheduled post is due.
pub const PUBLISH_POST: &str = "post.publish";
/// Job kind: advance one publication by as many steps as it can take now.
pub const ADVANCE_PUBLICATION: &str = "publication.advance";

/// Attempts of one step before the publication is given up (failed, or unconfirmed if the
/// creating call may have reached the network).
pub const STEP_ATTEMPTS: u32 = 8;

/// How publishing behaves on this installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishingConfig {
    /// A post that missed its time by more than this (the service was down) is not published
    /// late: it is marked failed and the workspace is told.
    pub late_tolerance: SignedDuration,
    /// A pending publication untouched this long is looked at by the sweep (its job may be lost).
    pub stale_after: SignedDuration,
    /// Publications advancing at once per connected account, per network, across all worker
    /// processes.
    pub max_concurrent: AccountConcurrency,
}

impl Default for PublishingConfig {
    fn default() -> Self {
        Self {
            late_tolerance: SignedDuration::from_hours(2),
            stale_after: SignedDuration::from_mins(15),
            max_concurrent: AccountConcurrency::uniform(1),
        }
    }
}

/// How many publications may advance at once for one connected account of each network.
/// One by default everywhere: the networks rate-limit per account (TikTok also caps the shares
/// pending moderation), and posts of one account going out in order is what people expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountConcurrency {
    pub instagram: u32,
    pub linkedin: u32,
    pub tiktok: u32,
}

impl AccountConcurrency {
    pub const fn uniform(n: u32) -> Self {
        Self { instagram: n, linkedin: n, tiktok: n }
    }

    /// The cap for an account of `network`; never below one.
    pub fn for_network(&self, network: Network) -> u32 {
        let n = match network {
            Network::Instagram => self.instagram,
            Network::Linkedin => self.linkedin,
            Network::Tiktok => self.tiktok,
        };
        n.max(1)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PublishPostPayload {
    pub workspace_id: WorkspaceId,
    pub post_id: PostId,
    /// The instant the job was enqueued for; a post rescheduled since no longer matches it.
    pub due_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AdvancePayload {
    pub workspace_id: WorkspaceId,
    pub publication_id: PublicationId,
    /// Enqueued to recover from a crash or a lost job: the creating call may have been sent.
    /// (A retried job knows this from its attempt count.)
    #[serde(default)]
    pub recovering: bool,
}

/// The job that publishes `post` at its scheduled instant; `None` unless it is scheduled.
pub(crate) fn publish_job(post: &Post, now: Timestamp) -> Option<NewJob> {
    if post.state != PostState::Scheduled {
        return None;
    }
    let due_at = post.schedule.as_ref()?.instant();
    let payload = PublishPostPayload { workspace_id: post.workspace_id, post_id: post.id, due_at };
    Some(
        NewJob::new(PUBLISH_POST, serde_json::to_value(payload).expect("payload serialises"), now)
            .workspace(post.workspace_id)
            .due_at(due_at)
            .priority(10)
            .max_attempts(STEP_ATTEMPTS)
            .unique_key(format!("{PUBLISH_POST}:{}:{}", post.id, due_at.as_microsecond())),
    )
}

/// The job that advances `p`, due at `at`. One at a time per publication (unique key).
pub(crate) fn advance_job(p: &Publication, at: Timestamp, now: Timestamp) -> NewJob {
    advance_job_with(p, at, now, false)
}

/// [`advance_job`] for recovery (after a crash, or a job the queue lost).
pub(crate) fn recovery_job(p: &Publication, now: Timestamp) -> NewJob {
    advance_job_with(p, now, now, true)
}

pub(crate) fn advance_job_with(p: &Publication, at: Timestamp, now: Timestamp, recovering: bool) -> NewJob {
    let payload = AdvancePayload { workspace_id: p.workspace_id, publication_id: p.id, recovering };
    NewJob::new(ADVANCE_PUBLICATION, serde_json::to_value(payload).expect("payload serialises"), now)
        .workspace(p.workspace_id)
        .due_at(at)
        .priority(10)
        .max_attempts(STEP_ATTEMPTS)
        .unique_key(format!("{ADVANCE_PUBLICATION}:{}", p.id))
}

fn payload<T: serde::de::DeserializeOwned>(job: &Job) -> std::result::Result<T, JobError> {
    serde_json::from_value(job.payload.clone())
        .map_err(|e| JobError::permanent(format!("the {} job's payload is unreadable: {e}", job.kind)))
}

/// What one sweep pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// Scheduled posts whose publish job was enqueued again (it was lost, or is simply due).
    pub posts_requeued: usize,
    /// Pending publications whose advance job was enqueued again.
    pub publications_requeued: usize,
    /// Publications given up because their job died.
    pub publications_given_up: usize,
    /// Posts whose publications were all final and were settled.
    pub posts_settled: usize,
}

/// The publishing use cases: [`Services`] plus the token vault the adapters act through.
#[derive(Clone)]
pub struct Publishing {
    services: Services,
    vault: Arc<Vault>,
}

impl Publishing {
    pub fn new(accounts: &Accounts) -> Self {
        Self { services: accounts.services().clone(), vault: accounts.shared_vault() }
    }

    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Adds the publishing jobs' handlers (the one place they are registered).
    pub fn register<Q: JobQueue>(&self, handlers: Handlers<Q>) -> Handlers<Q> {
        let p = self.clone();
        let handlers = handlers.on(PUBLISH_POST, move |ctx| {
            let p = p.clone();
            async move { p.run_publish_post(&ctx.job).await }
        });
        let p = self.clone();
        handlers.on(ADVANCE_PUBLICATION, move |ctx| {
            let p = p.clone();
            async move { p.run_advance(&ctx.job).await }
        })
    }

    /// Handles a [`PUBLISH_POST`] job.
    pub async fn run_publish_post(&self, job: &Job) -> JobResult {
        let p: PublishPostPayload = payload(job)?;
        self.start(p, job).await
    }

    /// Handles an [`ADVANCE_PUBLICATION`] job.
    pub async fn run_advance(&self, job: &Job) -> JobResult {
        let p: AdvancePayload = payload(job)?;
        self.advance(p, job).await
    }

    /// Finds what a crash, a lost job or an outage left behind, and puts it back on track.
    /// Safe to run in every worker process at once: everything it enqueues has a unique key.
    pub async fn sweep(&self) -> Result<SweepReport> {
        let now = self.services.now();
        let cfg = self.services.config().publishing;
        let stale = now.checked_sub(cfg.stale_after).unwrap_or(now);
        let mut report = SweepReport::default();
        for post in self.services.store().posts_for_publishing_sweep(now, stale).await? {
            match post.state {
                PostState::Scheduled => {
                    if let Some(job) = publish_job(&post, now)
                        && self
                            .services
                            .enqueue(&[job])
                            .await?
                            .iter()
                            .any(|e| matches!(e, nanopost_jobs::Enqueued::New(_)))
                    {
                        report.posts_requeued += 1;
                    }
                }
                PostState::Publishing => {
                    let mut jobs = vec![];
                    for p in self.services.store().publications_of_post(post.workspace_id, post.id).await? {
                        if p.state.is_final() {
                            continue;
                        }
                        let job = recovery_job(&p, now);
                        let key = job.unique_key.clone().unwrap_or_default();
                        match self.services.queue().job_by_key(&key).await {
                            Ok(Some(dead)) if dead.state == JobState::Dead => {
                                let why = dead.last_error.unwrap_or_else(|| "the publishing job failed".into());
                                self.give_up(p, &why, "job_dead").await?;
                                report.publications_given_up += 1;
                            }
                            Ok(Some(_)) => {}
                            Ok(None) => jobs.push(job),
                            Err(e) => return Err(ServiceError::Internal(format!("job queue: {e}"))),
                        }
                    }
                    report.publications_requeued += self.services.enqueue(&jobs).await?.len();
                    if self.settle(post.workspace_id, post.id).await? {
                        report.posts_settled += 1;
                    }
                }
                _ => {}
            }
        }
        Ok(report)
    }
}

/// Ends a publication as failed with a sentence for a person.
pub(crate) fn mark_failed(p: &mut Publication, class: &str, why: impl Into<String>, now: Timestamp) {
    p.state = PublicationState::Failed;
    p.error_class = Some(class.to_owned());
    p.error = Some(why.into());
    p.updated_at = now;
    p.finished_at = Some(now);
}

/// A failed publication goes again from scratch, under the post's current approval.
fn reset_for_retry(p: &mut Publication, approval: nanopost_domain::approval::ApprovalId, now: Timestamp) {
    p.state = PublicationState::Pending;
    p.approval_id = approval;
    p.progress = nanopost_platforms::publish::PublishProgress::start().to_json();
    p.error = None;
    p.error_class = None;
    p.updated_at = now;
    p.finished_at = None;
}
