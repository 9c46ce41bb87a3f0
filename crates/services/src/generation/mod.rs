//! Generation: captions, images, plans and image descriptions from the brand profile, asked
//! for by a person and made by a job, with guardrails, usage metering and a monthly quota.
//!
//! - The use cases ([`Services::generate_post`], [`Services::generate_plan`],
//!   [`Services::regenerate`], [`Services::describe_image`]) check the role, the input and the
//!   workspace's monthly quota, record a [`GenerationRecord`] and enqueue its job, in one
//!   transaction where the queue allows. The person gets the generation's id at once and can
//!   leave: its status page shows the progress.
//! - The job ([`Generation::register`]) asks the configured providers (offline unless an
//!   OpenAI-compatible endpoint is set) and checkpoints what it made on the record, so a retry
//!   resumes. It ends in one transaction: every draft in `PendingReview` (never approved, never
//!   scheduled: invariant I1) with its captions and image, the links that say it was written by
//!   the AI and which provider, and the usage. A failure ends with a sentence, deletes the
//!   media it made, and gives the generation back to the quota: nothing is half-written.
//! - Provider timeouts, 429s and 5xx the provider's own retries did not absorb go back to the
//!   job engine (a `Retry-After` becomes the retry's earliest time); refusals, cut-off or
//!   unusable answers, and whatever is still failing at the last attempt, fail the generation.
//! - Privacy promise: providers receive only the brand and content data the output needs
//!   ([`nanopost_ai::BrandVoice`], the brief); never ids, e-mail addresses, members, time zone,
//!   cadence or competitor handles.

mod drafts;
pub mod guardrails;
mod requests;
mod revise;
mod run;
pub mod slots;
mod views;

pub use guardrails::{Flag, FlagKind};
pub use requests::{PlanInput, PostInput};
/// The tag of every image generated for a draft (the media library shows it; a deleted post takes
/// its generated images with it).
pub(crate) use run::AI_TAG;
pub use slots::Period;
pub use views::{GenerationView, ImageDescription, PostAiView, UsageView};

use crate::Services;
use crate::error::{Result, ServiceError};
use jiff::{SignedDuration, Timestamp};
use nanopost_ai::AiProviders;
use nanopost_domain::ids::{GenerationId, WorkspaceId};
use nanopost_jobs::{Handlers, JobQueue, JobState, NewJob};
use nanopost_storage::{GenerationKind, GenerationRecord, GenerationState};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Job kinds, one per use case (all run by the same handler).
pub const GENERATE_POST: &str = "generation.post";
pub const GENERATE_PLAN: &str = "generation.plan";
pub const REGENERATE_POST: &str = "generation.regenerate";
pub const DESCRIBE_IMAGE: &str = "generation.describe";

/// Attempts of a generation's job; the last one that still fails ends the generation failed.
pub const GENERATION_ATTEMPTS: u32 = 5;
/// An open generation untouched this long is looked at by the sweep (its job may be lost).
const STALE_AFTER: SignedDuration = SignedDuration::from_mins(15);

/// How generation behaves on this installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GenerationSettings {
    /// Generations a workspace may ask for per calendar month (UTC); 0: no limit.
    pub monthly_quota: u32,
}

fn kind_job(kind: GenerationKind) -> &'static str {
    match kind {
        GenerationKind::Post => GENERATE_POST,
        GenerationKind::Plan => GENERATE_PLAN,
        GenerationKind::Regenerate => REGENERATE_POST,
        GenerationKind::Describe => DESCRIBE_IMAGE,
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct GenerationPayload {
    pub workspace_id: WorkspaceId,
    pub generation_id: GenerationId,
}

/// The one job of a generation (unique per generation).
pub(crate) fn generation_job(g: &GenerationRecord, now: Timestamp) -> NewJob {
    let payload = GenerationPayload { workspace_id: g.workspace_id, generation_id: g.id };
    NewJob::new(kind_job(g.kind), serde_json::to_value(payload).expect("payload serialises"), now)
        .workspace(g.workspace_id)
        .max_attempts(GENERATION_ATTEMPTS)
        .unique_key(job_key(g.id))
}

fn job_key(id: GenerationId) -> String {
    format!("generation:{id}")
}

/// `YYYY-MM` of an instant, in UTC: the month usage is counted in.
pub fn month_of(t: Timestamp) -> String {
    t.strftime("%Y-%m").to_string()
}

/// "allows at most…" → "Allows at most…".
pub(crate) fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|f| f.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

impl Services {
    /// The same services with these AI providers (the configured ones). Call once at start-up,
    /// before the services are shared. Without it the offline provider is used.
    pub fn with_ai(self, ai: Arc<AiProviders>) -> Self {
        let Ok(mut inner) = Arc::try_unwrap(self.inner) else {
            panic!("Services::with_ai is called at start-up, before the services are shared");
        };
        inner.ai = ai;
        Self { inner: Arc::new(inner) }
    }

    pub fn ai(&self) -> &AiProviders {
        &self.inner.ai
    }
}

/// What one sweep pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GenerationSweep {
    /// Generations whose job was lost (Redis, a crash before it was enqueued): enqueued again.
    pub requeued: usize,
    /// Generations whose job died without ending them: ended failed.
    pub failed: usize,
}

/// The generation jobs: registered once with the runtime, and swept by the housekeeping.
#[derive(Clone)]
pub struct Generation {
    services: Services,
}

impl Generation {
    pub fn new(services: &Services) -> Self {
        Self { services: services.clone() }
    }

    /// Adds the generation jobs' handlers (the one place they are registered).
    pub fn register<Q: JobQueue>(&self, handlers: Handlers<Q>) -> Handlers<Q> {
        [GENERATE_POST, GENERATE_PLAN, REGENERATE_POST, DESCRIBE_IMAGE].into_iter().fold(handlers, |h, kind| {
            let g = self.clone();
            h.on(kind, move |ctx| {
                let g = g.clone();
                async move { g.services.run_generation(&ctx.job).await }
            })
        })
    }

    /// Finds open generations whose job is gone (enqueues it again) or dead (ends them
    /// failed). Safe in every worker process at once: jobs have a unique key, and a generation
    /// ends once.
    pub async fn sweep(&self) -> Result<GenerationSweep> {
        let s = &self.services;
        let now = s.now();
        let mut report = GenerationSweep::default();
        for g in s.store().stale_generations(now.checked_sub(STALE_AFTER).unwrap_or(now)).await? {
            let key = job_key(g.id);
            match s.queue().job_by_key(&key).await {
                Ok(None) => {
                    s.enqueue(&[generation_job(&g, now)]).await?;
                    report.requeued += 1;
                }
                Ok(Some(job)) if job.state == JobState::Dead => {
                    tracing::warn!(generation = %g.id, error = ?job.last_error, "a generation's job died; ending it failed");
                    let sentence = "Something went wrong on our side while generating. Please try again.";
                    if s.fail_generation(g, sentence).await? {
                        report.failed += 1;
                    }
                }
                Ok(Some(_)) => {}
                Err(e) => return Err(ServiceError::Internal(format!("job queue: {e}"))),
            }
        }
        Ok(report)
    }
}

/// What the status page and the API say about a state.
pub fn state_label(state: GenerationState) -> &'static str {
    match state {
        GenerationState::Queued => "waiting",
        GenerationState::Running => "working",
        GenerationState::Done => "done",
        GenerationState::Failed => "failed",
    }
}
