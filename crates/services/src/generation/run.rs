//! The generation job: asks the providers, checkpoints what it made on the record, and ends the
//! generation in one transaction (done with its drafts, or failed with a sentence and nothing
//! left behind).

use super::GenerationPayload;
use crate::Services;
use crate::actor::Actor;
use crate::error::ServiceError;
use jiff::Timestamp;
use nanopost_ai::{AiError, Generated, NetworkCaption, PlannedPost, ProviderLabel, Usage};
use nanopost_domain::approval::Channel;
use nanopost_domain::brand::Brand;
use nanopost_domain::ids::{GenerationId, MediaId};
use nanopost_domain::network::Network;
use nanopost_domain::post::{MediaRef, Post};
use nanopost_domain::role::Permission;
use nanopost_jobs::{Job, JobError, JobResult};
use nanopost_media::store::ObjectKey;
use nanopost_storage::{
    GeneratedPost, GenerationKind, GenerationOutcome, GenerationRecord, GenerationState, MediaFilter, PageRequest,
    UsageDelta,
};
use serde::{Deserialize, Serialize};

/// What the job has made so far (kept in the record's `work`, so a retry resumes).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Work {
    /// A plan's ideas, once the provider gave them.
    #[serde(default)]
    pub(super) plan: Option<Vec<PlannedPost>>,
    #[serde(default)]
    pub(super) drafts: Vec<DraftWork>,
    /// A regeneration's new captions, once written.
    #[serde(default)]
    pub(super) rewritten: Option<Vec<NetworkCaption>>,
    #[serde(default)]
    pub(super) notes: Vec<String>,
    #[serde(default)]
    pub(super) usage: Tally,
    #[serde(default)]
    pub(super) text_provider: Option<ProviderLabel>,
    #[serde(default)]
    pub(super) image_provider: Option<ProviderLabel>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct DraftWork {
    pub(super) captions: Vec<NetworkCaption>,
    #[serde(default)]
    pub(super) notes: Vec<String>,
    #[serde(default)]
    pub(super) image: Option<ImageWork>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ImageWork {
    pub(super) media_id: MediaId,
    /// The item as each network gets it (itself, or a rendition).
    #[serde(default)]
    pub(super) per_network: Vec<(Network, MediaRef)>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub(super) struct Tally {
    prompt_tokens: u64,
    completion_tokens: u64,
    images: u64,
}

impl Tally {
    fn add(&mut self, u: &Usage) {
        self.prompt_tokens += u.prompt_tokens;
        self.completion_tokens += u.completion_tokens;
        self.images += u64::from(u.images);
    }
}

/// Why a run stopped before the end.
pub(super) enum Stop {
    /// Try again later (the job engine's backoff, not before `retry_at`), saying so meanwhile.
    Retry(JobError, String),
    /// End the generation failed with this sentence.
    Fail(String),
}

pub(super) type Step<T> = std::result::Result<T, Stop>;

/// The tag every image of a generation gets, so a failed one finds and removes them all (even
/// one stored just before a crash, before the checkpoint named it).
pub(super) fn generation_tag(id: GenerationId) -> String {
    format!("gen-{}", id.as_uuid().simple())
}

pub(crate) const AI_TAG: &str = "ai-generated";

fn retry(e: impl std::fmt::Display) -> JobError {
    JobError::retry(e.to_string())
}

impl Services {
    /// Handles every generation job kind.
    pub(crate) async fn run_generation(&self, job: &Job) -> JobResult {
        let p: GenerationPayload = serde_json::from_value(job.payload.clone())
            .map_err(|e| JobError::permanent(format!("the {} job's payload is unreadable: {e}", job.kind)))?;
        let Some(mut g) = self.store().generation(p.workspace_id, p.generation_id).await.map_err(retry)? else {
            return Ok(vec![]); // Deleted with its brand, post, media or workspace.
        };
        if g.state.is_final() {
            return Ok(vec![]); // Ended by an earlier attempt.
        }
        let mut work: Work = serde_json::from_value(g.work.clone()).unwrap_or_default();
        g.state = GenerationState::Running;
        let outcome = match self.requester(&g).await {
            Ok(actor) => match g.kind {
                GenerationKind::Post | GenerationKind::Plan => self.make_drafts(&mut g, &mut work, &actor, job).await,
                GenerationKind::Regenerate => self.rewrite(&mut g, &mut work, &actor, job).await,
                GenerationKind::Describe => self.describe(&mut g, &mut work, job).await,
            },
            Err(stop) => Err(stop),
        };
        let outcome = match outcome {
            // Out of attempts: a problem on our side ends the generation too (a provider's
            // transient error was already turned into a failure by `ai_stop`).
            Err(Stop::Retry(error, _)) if job.attempts >= job.max_attempts => {
                tracing::warn!(generation = %g.id, error = %error, "generation out of attempts");
                Err(Stop::Fail("Something went wrong on our side while generating. Please try again.".into()))
            }
            other => other,
        };
        match outcome {
            Ok(()) => Ok(vec![]),
            Err(Stop::Retry(error, progress)) => {
                g.state = GenerationState::Queued;
                self.save(&mut g, &work, &progress).await.map_err(retry)?;
                tracing::info!(generation = %g.id, attempt = job.attempts, error = %error, "generation will be retried");
                Err(error)
            }
            Err(Stop::Fail(sentence)) => {
                g.work = serde_json::to_value(&work).unwrap_or_default();
                self.fail_generation(g, &sentence).await.map_err(retry)?;
                Ok(vec![])
            }
        }
    }

    /// The person who asked, acting now: still a member who may edit content.
    pub(super) async fn requester(&self, g: &GenerationRecord) -> Step<Actor> {
        let gone = || Stop::Fail("The person who asked for this is no longer a member of the workspace.".into());
        let user = g.requested_by.ok_or_else(gone)?;
        let role = self.store().role_of(g.workspace_id, user).await.map_err(|e| self.infra(e.to_string()))?;
        let actor = Actor {
            user_id: user,
            workspace_id: g.workspace_id,
            role: role.ok_or_else(gone)?,
            scopes: None,
            channel: Channel::Web,
        };
        if !actor.can(Permission::EditContent) {
            return Err(Stop::Fail("The person who asked for this may no longer edit content.".into()));
        }
        Ok(actor)
    }

    /// A storage or media-store problem: retried by the job engine (its last attempt fails the
    /// generation through the sweep, which sees the dead job).
    pub(super) fn infra(&self, e: String) -> Stop {
        tracing::warn!(error = %e, "generation hit an internal error; will retry");
        Stop::Retry(JobError::retry(e), "Waiting to try again after a problem on our side.".into())
    }

    /// A use case's refusal in the middle of a run.
    pub(super) fn service_stop(&self, e: ServiceError) -> Stop {
        match e {
            ServiceError::Internal(m) => self.infra(m),
            ServiceError::Invalid(v) => Stop::Fail(format!("The result could not be used: {v}.")),
            ServiceError::NotFound => Stop::Fail("Something this needed was deleted meanwhile.".into()),
            other => Stop::Fail(super::capitalise(&format!("{other}."))),
        }
    }

    /// Saves progress; a generation ended meanwhile is left alone.
    async fn save(&self, g: &mut GenerationRecord, work: &Work, progress: &str) -> crate::error::Result<()> {
        g.progress = progress.to_owned();
        g.work = serde_json::to_value(work).map_err(|e| ServiceError::Internal(e.to_string()))?;
        g.updated_at = self.now();
        self.store().update_generation(g).await?;
        Ok(())
    }

    pub(super) async fn checkpoint(&self, g: &mut GenerationRecord, work: &Work, progress: &str) -> Step<()> {
        self.save(g, work, progress).await.map_err(|e| self.infra(e.to_string()))
    }

    pub(super) async fn brand_of(&self, g: &GenerationRecord) -> Step<Brand> {
        let Some(id) = g.brand_id else { return Err(Stop::Fail("This generation has no brand.".into())) };
        match self.store().brand(g.workspace_id, id).await {
            Ok(Some(b)) => Ok(b),
            Ok(None) => Err(Stop::Fail("The brand was deleted.".into())),
            Err(e) => Err(self.infra(e.to_string())),
        }
    }

    /// Writes the end of a generation with its drafts, links and usage (one transaction).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn end(
        &self,
        g: &mut GenerationRecord,
        work: &Work,
        state: GenerationState,
        progress: &str,
        result: Option<serde_json::Value>,
        posts: &[Post],
        links: &[GeneratedPost],
    ) -> Step<()> {
        let now = self.now();
        g.state = state;
        g.progress = progress.to_owned();
        g.work = serde_json::to_value(work).unwrap_or_default();
        g.result = result;
        g.updated_at = now;
        g.finished_at = Some(now);
        label(g, work);
        let usage = UsageDelta {
            generations: 0,
            prompt_tokens: work.usage.prompt_tokens,
            completion_tokens: work.usage.completion_tokens,
            images: work.usage.images,
        };
        let month = super::month_of(g.created_at);
        let outcome = GenerationOutcome { generation: g, posts, links, usage, month: &month };
        let ended = self.store().finish_generation(&outcome).await.map_err(|e| self.infra(e.to_string()))?;
        if ended {
            tracing::info!(generation = %g.id, kind = g.kind.as_str(), drafts = posts.len(), "generation done");
        }
        Ok(())
    }

    /// Ends an open generation failed with `sentence`: the images it made are deleted (unless a
    /// person put one in a post meanwhile), and it no longer counts against the quota. False
    /// if it had already ended.
    pub(crate) async fn fail_generation(&self, mut g: GenerationRecord, sentence: &str) -> crate::error::Result<bool> {
        let work: Work = serde_json::from_value(g.work.clone()).unwrap_or_default();
        self.remove_generated_media(&g, &work).await?;
        let now = self.now();
        g.state = GenerationState::Failed;
        g.error = Some(sentence.to_owned());
        g.progress = "Failed.".into();
        g.updated_at = now;
        g.finished_at = Some(now);
        label(&mut g, &work);
        let usage = UsageDelta {
            generations: -1,
            prompt_tokens: work.usage.prompt_tokens,
            completion_tokens: work.usage.completion_tokens,
            images: work.usage.images,
        };
        let month = super::month_of(g.created_at);
        let ended = self
            .store()
            .finish_generation(&GenerationOutcome { generation: &g, posts: &[], links: &[], usage, month: &month })
            .await?;
        if ended {
            tracing::info!(generation = %g.id, reason = sentence, "generation failed");
        }
        Ok(ended)
    }

    /// Deletes the media a generation stored (found by its tag and by its checkpoint), with
    /// their renditions and files. An item a post or a brand uses meanwhile is kept.
    pub(super) async fn remove_generated_media(&self, g: &GenerationRecord, work: &Work) -> crate::error::Result<()> {
        let ws = g.workspace_id;
        let filter = MediaFilter { brand_id: None, tag: Some(generation_tag(g.id)), originals_only: true };
        let mut ids: Vec<MediaId> = self
            .store()
            .media_list(ws, &filter, PageRequest::first(PageRequest::MAX_LIMIT))
            .await?
            .items
            .iter()
            .map(|m| m.id)
            .collect();
        // The checkpoint names only items this generation stored (a reused library item has no tag).
        for id in work.drafts.iter().filter_map(|d| d.image.as_ref()).map(|i| i.media_id) {
            if let Some(m) = self.store().media(ws, id).await?
                && m.tags.iter().any(|t| *t == generation_tag(g.id))
                && !ids.contains(&id)
            {
                ids.push(id);
            }
        }
        for id in ids {
            let mut all = vec![id];
            all.extend(self.store().media_renditions(ws, id).await?.into_iter().map(|r| r.id));
            if !self.store().media_uses(ws, &all).await?.is_empty()
                || !self.store().brands_with_logo(ws, &all).await?.is_empty()
            {
                continue;
            }
            let keys = match self.store().delete_media(ws, id).await {
                Ok(keys) => keys,
                Err(nanopost_storage::StorageError::NotFound) => continue,
                Err(e) => return Err(e.into()),
            };
            for key in keys.iter().filter_map(|k| ObjectKey::parse(k)) {
                if let Err(e) = self.media_store().delete(&key).await {
                    // The media store's orphan sweep removes it later.
                    tracing::warn!(key = %key, error = %e, "could not delete a generated image's file");
                }
            }
            tracing::info!(generation = %g.id, media = %id, "removed an image of a failed generation");
        }
        Ok(())
    }
}

/// Keeps a provider's output, counting its usage and naming who made it.
pub(super) fn take<T>(work: &mut Work, out: Generated<T>, text: bool) -> T {
    work.usage.add(&out.usage);
    for n in out.notes {
        if !work.notes.contains(&n) {
            work.notes.push(n);
        }
    }
    if text {
        work.text_provider = Some(out.provider);
    } else {
        work.image_provider = Some(out.provider);
    }
    out.output
}

/// Keeps a generated image, counted as one image of the month's usage.
pub(super) fn take_image(work: &mut Work, out: Generated<nanopost_ai::GeneratedImage>) -> nanopost_ai::GeneratedImage {
    let mut out = out;
    out.usage.images = out.usage.images.max(1);
    // The card's own notes ("rendered offline") are said by the provider label.
    out.notes.clear();
    take(work, out, false)
}

/// Names the providers on the record: the text provider, and the image provider when it is
/// another ("openai (gpt-4o-mini); images: offline"). Offline only when all of it was.
fn label(g: &mut GenerationRecord, work: &Work) {
    let text = work.text_provider.as_ref();
    let image = work.image_provider.as_ref();
    g.provider = match (text, image) {
        (Some(t), Some(i)) if t != i => Some(format!("{t}; images: {i}")),
        (Some(t), _) => Some(t.to_string()),
        (None, Some(i)) => Some(i.to_string()),
        (None, None) => g.provider.take(),
    };
    if text.is_some() || image.is_some() {
        g.offline = text.is_none_or(ProviderLabel::is_offline) && image.is_none_or(ProviderLabel::is_offline);
    }
}

/// What a provider error means for the run: transient ones go back to the job engine while
/// attempts remain (a `Retry-After` sets the earliest retry); the rest end the generation.
pub(super) fn ai_stop(e: AiError, job: &Job, now: Timestamp) -> Stop {
    if e.is_transient() && job.attempts < job.max_attempts {
        let error = match &e {
            AiError::RateLimited { retry_after: Some(after) } => {
                let wait = jiff::SignedDuration::try_from(*after).unwrap_or(jiff::SignedDuration::from_hours(1));
                JobError::retry_at(e.to_string(), now.checked_add(wait).unwrap_or(now))
            }
            _ => JobError::retry(e.to_string()),
        };
        Stop::Retry(error, format!("Waiting to try again: {e}."))
    } else {
        Stop::Fail(e.user_message())
    }
}
