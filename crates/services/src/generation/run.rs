//! The generation job: asks the providers, checkpoints what it made on the record, and ends the
//! generation in one transaction (done with its drafts, or failed with a sentence and nothing
//! left behind).

use super::GenerationPayload;
use super::guardrails::fit_caption;
use super::requests::Asked;
use crate::Services;
use crate::actor::Actor;
use crate::error::ServiceError;
use crate::media::{MAX_ALT_TEXT, MediaUpload};
use crate::notify::Notice;
use jiff::Timestamp;
use nanopost_ai::text::cut_at_word;
use nanopost_ai::{
    AiError, BrandVisual, BrandVoice, CaptionRequest, ContentBrief, Generated, ImageAnalysisRequest, ImageInput,
    ImageRequest, LogoImage, NetworkCaption, PlanRequest, PlannedPost, ProviderLabel, Usage,
};
use nanopost_domain::approval::Channel;
use nanopost_domain::brand::Brand;
use nanopost_domain::ids::{GenerationId, MediaId, WorkspaceId};
use nanopost_domain::network::Network;
use nanopost_domain::post::{MediaRef, Post, PostContent, PostState, Target, Variant};
use nanopost_domain::role::Permission;
use nanopost_jobs::{Job, JobError, JobResult};
use nanopost_media::store::ObjectKey;
use nanopost_storage::{
    GeneratedPost, GenerationKind, GenerationOutcome, GenerationRecord, GenerationState, MediaFilter, PageRequest,
    UsageDelta,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the job has made so far (kept in the record's `work`, so a retry resumes).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Work {
    /// A plan's ideas, once the provider gave them.
    #[serde(default)]
    plan: Option<Vec<PlannedPost>>,
    #[serde(default)]
    drafts: Vec<DraftWork>,
    /// A regeneration's new captions, once written.
    #[serde(default)]
    rewritten: Option<Vec<NetworkCaption>>,
    #[serde(default)]
    notes: Vec<String>,
    #[serde(default)]
    usage: Tally,
    #[serde(default)]
    text_provider: Option<ProviderLabel>,
    #[serde(default)]
    image_provider: Option<ProviderLabel>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DraftWork {
    captions: Vec<NetworkCaption>,
    #[serde(default)]
    notes: Vec<String>,
    #[serde(default)]
    image: Option<ImageWork>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ImageWork {
    media_id: MediaId,
    /// The item as each network gets it (itself, or a rendition).
    #[serde(default)]
    per_network: Vec<(Network, MediaRef)>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct Tally {
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
enum Stop {
    /// Try again later (the job engine's backoff, not before `retry_at`), saying so meanwhile.
    Retry(JobError, String),
    /// End the generation failed with this sentence.
    Fail(String),
}

type Step<T> = std::result::Result<T, Stop>;

/// The tag every image of a generation gets, so a failed one finds and removes them all (even
/// one stored just before a crash, before the checkpoint named it).
fn generation_tag(id: GenerationId) -> String {
    format!("gen-{}", id.as_uuid().simple())
}

const AI_TAG: &str = "ai-generated";

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
    async fn requester(&self, g: &GenerationRecord) -> Step<Actor> {
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
    fn infra(&self, e: String) -> Stop {
        tracing::warn!(error = %e, "generation hit an internal error; will retry");
        Stop::Retry(JobError::retry(e), "Waiting to try again after a problem on our side.".into())
    }

    /// A use case's refusal in the middle of a run.
    fn service_stop(&self, e: ServiceError) -> Stop {
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

    async fn checkpoint(&self, g: &mut GenerationRecord, work: &Work, progress: &str) -> Step<()> {
        self.save(g, work, progress).await.map_err(|e| self.infra(e.to_string()))
    }

    async fn brand_of(&self, g: &GenerationRecord) -> Step<Brand> {
        let Some(id) = g.brand_id else { return Err(Stop::Fail("This generation has no brand.".into())) };
        match self.store().brand(g.workspace_id, id).await {
            Ok(Some(b)) => Ok(b),
            Ok(None) => Err(Stop::Fail("The brand was deleted.".into())),
            Err(e) => Err(self.infra(e.to_string())),
        }
    }

    // -----------------------------------------------------------------------------------------
    // A post, or a plan of posts.

    async fn make_drafts(&self, g: &mut GenerationRecord, work: &mut Work, actor: &Actor, job: &Job) -> Step<()> {
        let brand = self.brand_of(g).await?;
        let asked = Asked::of(g);
        if asked.networks.is_empty() {
            return Err(Stop::Fail("No network was chosen.".into()));
        }
        let voice = BrandVoice::from_profile(&brand.profile);
        if g.kind == GenerationKind::Plan && work.plan.is_none() {
            self.checkpoint(g, work, &format!("Planning {} posts…", asked.count)).await?;
            let request = PlanRequest {
                brand: voice.clone(),
                networks: asked.networks.clone(),
                count: asked.count,
                theme: asked.brief.clone(),
                seed: asked.seed,
            };
            let plan = self.ai().text.plan(&request).await.map_err(|e| ai_stop(e, job, self.now()))?;
            let ideas = take(work, plan, true);
            if ideas.posts.is_empty() {
                return Err(Stop::Fail("The AI answer could not be used: it planned no posts. Try again.".into()));
            }
            work.plan = Some(ideas.posts.into_iter().take(asked.count).collect());
        }
        let ideas: Vec<PlannedPost> = match &work.plan {
            Some(plan) => plan.clone(),
            None => vec![PlannedPost {
                topic: String::new(),
                angle: String::new(),
                headline: String::new(),
                brief: asked.brief.clone(),
            }],
        };
        let n = ideas.len();
        for (i, idea) in ideas.iter().enumerate() {
            let of = if n > 1 { format!(" for draft {} of {n}", i + 1) } else { String::new() };
            if work.drafts.len() <= i {
                self.checkpoint(g, work, &format!("Writing captions{of}…")).await?;
                let request = CaptionRequest {
                    brand: voice.clone(),
                    networks: asked.networks.clone(),
                    content: ContentBrief::about(idea.topic.clone(), idea.brief.clone()),
                    seed: asked.seed.wrapping_add(i as u64),
                };
                let out = self.ai().text.captions(&request).await.map_err(|e| ai_stop(e, job, self.now()))?;
                let captions = take(work, out, true);
                let mut notes = Vec::new();
                let mut fitted = Vec::new();
                for network in &asked.networks {
                    let Some(c) = captions.for_network(*network) else {
                        return Err(Stop::Fail(format!(
                            "The AI answer could not be used: it wrote no {} caption. Try again.",
                            network.label()
                        )));
                    };
                    let (text, fit_notes) = fit_caption(*network, &c.text);
                    notes.extend(fit_notes);
                    fitted.push(NetworkCaption { text, ..c.clone() });
                }
                work.drafts.push(DraftWork { captions: fitted, notes, image: None });
            }
            if work.drafts[i].image.is_none() {
                self.checkpoint(g, work, &format!("Making the image{of}…")).await?;
                let headline = Some(idea.headline.trim())
                    .filter(|h| !h.is_empty())
                    .map(str::to_owned)
                    .or_else(|| work.drafts[i].captions.first().map(|c| c.headline.clone()))
                    .unwrap_or_default();
                let media = self.make_image(g, work, actor, &brand, &asked, i, &headline, &idea.brief, job).await?;
                work.drafts[i].image = Some(ImageWork { media_id: media, per_network: vec![] });
                // Named before anything else can fail, so a failure removes it.
                self.checkpoint(g, work, &format!("Fitting the image to each network{of}…")).await?;
                let mut per_network = Vec::new();
                for network in &asked.networks {
                    let (r, _fixes) =
                        self.rendition_for(g.workspace_id, media, *network).await.map_err(|e| self.service_stop(e))?;
                    per_network.push((*network, r));
                }
                work.drafts[i].image = Some(ImageWork { media_id: media, per_network });
                self.checkpoint(g, work, &format!("Image ready{of}.")).await?;
            }
        }
        self.finish_drafts(g, work, actor, &brand, &asked).await
    }

    /// An image for draft `i`, stored in the media library (sniffed, digested) with the tags
    /// that tie it to this generation.
    #[allow(clippy::too_many_arguments)]
    async fn make_image(
        &self,
        g: &GenerationRecord,
        work: &mut Work,
        actor: &Actor,
        brand: &Brand,
        asked: &Asked,
        i: usize,
        headline: &str,
        description: &str,
        job: &Job,
    ) -> Step<MediaId> {
        let mut visual = BrandVisual::from_profile(&brand.profile);
        if let Some(logo) = brand.profile.logo {
            // Drawn only by the offline renderer; never sent to a remote provider.
            match self.store().media(g.workspace_id, logo).await {
                Ok(Some(m)) => match self.media_bytes(&m).await {
                    Ok(bytes) => visual = visual.with_logo(LogoImage(bytes)),
                    Err(e) => {
                        tracing::warn!(brand = %brand.id, error = %e, "the brand's logo cannot be read; the card goes without")
                    }
                },
                Ok(None) => {}
                Err(e) => return Err(self.infra(e.to_string())),
            }
        }
        let request = ImageRequest {
            brand: visual,
            network: asked.networks[0],
            format: None,
            headline: headline.to_owned(),
            description: if description.trim().is_empty() { headline.to_owned() } else { description.to_owned() },
            seed: asked.seed.wrapping_add(i as u64),
        };
        let out = self.ai().images.generate_image(&request).await.map_err(|e| ai_stop(e, job, self.now()))?;
        let offline = out.provider.is_offline();
        let image = take_image(work, out);
        let alt = if offline {
            format!("{} brand card with the words \"{}\"", brand.profile.name, headline)
        } else {
            format!("Image for {}: {}", brand.profile.name, request.description)
        };
        let upload = MediaUpload {
            brand_id: Some(brand.id),
            file_name: "ai-image.jpg".into(),
            bytes: image.jpeg,
            alt_text: cut_at_word(&alt, MAX_ALT_TEXT),
            tags: vec![AI_TAG.into(), generation_tag(g.id)],
        };
        match self.upload_media(actor, upload).await {
            Ok(stored) => Ok(stored.media.id),
            Err(crate::media::UploadError::File(e)) => {
                Err(Stop::Fail(format!("The generated image could not be stored: {e}.")))
            }
            Err(crate::media::UploadError::Service(e)) => Err(self.service_stop(e)),
        }
    }

    async fn finish_drafts(
        &self,
        g: &mut GenerationRecord,
        work: &Work,
        actor: &Actor,
        brand: &Brand,
        asked: &Asked,
    ) -> Step<()> {
        let now = self.now();
        let mut posts = Vec::with_capacity(work.drafts.len());
        let mut links = Vec::with_capacity(work.drafts.len());
        for (i, d) in work.drafts.iter().enumerate() {
            let Some(image) = &d.image else {
                return Err(Stop::Fail("The image of a draft is missing.".into()));
            };
            let variants = d
                .captions
                .iter()
                .map(|c| Variant {
                    network: c.network,
                    caption: c.text.clone(),
                    media: image.per_network.iter().filter(|(n, _)| *n == c.network).map(|(_, r)| r.clone()).collect(),
                    options: BTreeMap::new(),
                })
                .collect();
            let targets = d.captions.iter().map(|c| Target { network: c.network, account: None }).collect();
            let content = PostContent { variants, targets };
            let mut post = Post::new(g.workspace_id, brand.id, actor.user_id, content, now)
                .map_err(|e| Stop::Fail(format!("The AI's draft could not be used: {e}.")))?;
            // Straight to review: never approved, never scheduled (invariant I1).
            post.submit(now).map_err(|e| Stop::Fail(format!("The AI's draft could not be submitted: {e}.")))?;
            debug_assert_eq!(post.state, PostState::PendingReview);
            let suggestion = asked.suggestions.get(i);
            let mut notes = d.notes.clone();
            if i == 0 {
                notes.extend(work.notes.iter().cloned());
            }
            notes.dedup();
            links.push(GeneratedPost {
                workspace_id: g.workspace_id,
                generation_id: g.id,
                post_id: post.id,
                position: i as u32,
                suggested_local: suggestion.map(|s| s.local),
                suggested_tz: suggestion.map(|s| s.timezone.clone()),
                suggested_at: suggestion.map(|s| s.instant()),
                notes,
                created_at: now,
            });
            posts.push(post);
        }
        let count = posts.len();
        let progress = if count == 1 {
            "Done: the draft waits for review.".to_owned()
        } else {
            format!("Done: {count} drafts wait for review.")
        };
        self.end(g, work, GenerationState::Done, &progress, None, &posts, &links).await?;
        self.after_drafts(g.workspace_id, brand, &posts).await;
        Ok(())
    }

    /// Tells the reviewers (in the app, by e-mail, in Telegram); never fails the generation.
    async fn after_drafts(&self, ws: WorkspaceId, brand: &Brand, posts: &[Post]) {
        if posts.is_empty() {
            return;
        }
        let count = u32::try_from(posts.len()).unwrap_or(u32::MAX);
        if let Err(e) = self.notify(ws, Notice::DraftsReady { brand: brand.id, count }).await {
            tracing::warn!(error = %e, "could not tell the reviewers about new drafts");
        }
        for p in posts {
            self.telegram_review_requested(p).await;
        }
    }

    /// Writes the end of a generation with its drafts, links and usage (one transaction).
    #[allow(clippy::too_many_arguments)]
    async fn end(
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
    async fn remove_generated_media(&self, g: &GenerationRecord, work: &Work) -> crate::error::Result<()> {
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

    // -----------------------------------------------------------------------------------------
    // Regenerate with feedback.

    async fn rewrite(&self, g: &mut GenerationRecord, work: &mut Work, actor: &Actor, job: &Job) -> Step<()> {
        let brand = self.brand_of(g).await?;
        let asked = Asked::of(g);
        let Some(post_id) = g.post_id else { return Err(Stop::Fail("This regeneration names no post.".into())) };
        let post = match self.store().post(g.workspace_id, post_id).await {
            Ok(Some(p)) => p,
            Ok(None) => return Err(Stop::Fail("The post was deleted before it could be rewritten.".into())),
            Err(e) => return Err(self.infra(e.to_string())),
        };
        if post.state.is_locked() {
            return Err(Stop::Fail(format!("The post is {} now and cannot be rewritten.", post.state)));
        }
        if work.rewritten.is_none() {
            self.checkpoint(g, work, "Rewriting the captions…").await?;
            // What the post was first asked to be about, if the AI wrote it.
            let origin_brief = match self.store().post_provenance(g.workspace_id, post.id).await {
                Ok(Some(p)) => match self.store().generation(g.workspace_id, p.link.generation_id).await {
                    Ok(Some(origin)) => Asked::of(&origin).brief,
                    Ok(None) => String::new(),
                    Err(e) => return Err(self.infra(e.to_string())),
                },
                Ok(None) => String::new(),
                Err(e) => return Err(self.infra(e.to_string())),
            };
            let networks: Vec<Network> = post.content.variants.iter().map(|v| v.network).collect();
            let previous = post.content.variants.first().map(|v| v.caption.clone());
            let feedback = asked.feedback.clone().unwrap_or_default();
            let request = CaptionRequest {
                brand: BrandVoice::from_profile(&brand.profile),
                networks: networks.clone(),
                content: ContentBrief::about("", origin_brief).with_feedback(feedback, previous),
                seed: asked.seed,
            };
            let out = self.ai().text.captions(&request).await.map_err(|e| ai_stop(e, job, self.now()))?;
            let captions = take(work, out, true);
            let mut fitted = Vec::new();
            for network in networks {
                let c = captions.for_network(network).ok_or_else(|| {
                    Stop::Fail(format!(
                        "The AI answer could not be used: it wrote no {} caption. Try again.",
                        network.label()
                    ))
                })?;
                let (text, notes) = fit_caption(network, &c.text);
                work.notes.extend(notes);
                fitted.push(NetworkCaption { text, ..c.clone() });
            }
            work.rewritten = Some(fitted);
            self.checkpoint(g, work, "Saving the new captions…").await?;
        }
        let rewritten = work.rewritten.clone().unwrap_or_default();
        let mut content = post.content.clone();
        for v in &mut content.variants {
            if let Some(c) = rewritten.iter().find(|c| c.network == v.network) {
                v.caption = c.text.clone();
            }
        }
        let mut saved = post.clone();
        if content != post.content {
            // The normal edit path: any approval is void and the post goes back to review.
            saved = self.edit_post(actor, post.id, post.version, content).await.map_err(|e| self.service_stop(e))?;
        }
        if saved.state == PostState::Draft {
            saved = self.submit_post(actor, saved.id, saved.version).await.map_err(|e| self.service_stop(e))?;
        }
        let link = GeneratedPost {
            workspace_id: g.workspace_id,
            generation_id: g.id,
            post_id: saved.id,
            position: 0,
            suggested_local: None,
            suggested_tz: None,
            suggested_at: None,
            notes: work.notes.clone(),
            created_at: self.now(),
        };
        self.end(g, work, GenerationState::Done, "Done: the new version waits for review.", None, &[], &[link]).await?;
        if let Err(e) = self.notify(g.workspace_id, Notice::DraftsReady { brand: brand.id, count: 1 }).await {
            tracing::warn!(error = %e, "could not tell the reviewers about a rewritten draft");
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Describe an image.

    async fn describe(&self, g: &mut GenerationRecord, work: &mut Work, job: &Job) -> Step<()> {
        let Some(media_id) = g.media_id else { return Err(Stop::Fail("This description names no image.".into())) };
        let media = match self.store().media(g.workspace_id, media_id).await {
            Ok(Some(m)) => m,
            Ok(None) => return Err(Stop::Fail("The image was deleted before it could be described.".into())),
            Err(e) => return Err(self.infra(e.to_string())),
        };
        let voice = match g.brand_id {
            Some(_) => BrandVoice::from_profile(&self.brand_of(g).await?.profile),
            None => BrandVoice { language: "en".into(), ..BrandVoice::default() },
        };
        self.checkpoint(g, work, "Looking at the image…").await?;
        let bytes = self.media_bytes(&media).await.map_err(|e| self.service_stop(e))?;
        let asked = Asked::of(g);
        let request =
            ImageAnalysisRequest { image: ImageInput::Bytes(bytes), brand: voice, network: None, seed: asked.seed };
        let out = self.ai().vision.analyse_image(&request).await.map_err(|e| ai_stop(e, job, self.now()))?;
        let notes = out.notes.clone();
        let analysis = take(work, out, true);
        let result = serde_json::json!({
            "alt_text": cut_at_word(&analysis.alt_text, MAX_ALT_TEXT),
            "suggested_caption": analysis.suggested_caption,
            "notes": notes,
        });
        self.end(g, work, GenerationState::Done, "Done: the description is ready.", Some(result), &[], &[]).await
    }
}

/// Keeps a provider's output, counting its usage and naming who made it.
fn take<T>(work: &mut Work, out: Generated<T>, text: bool) -> T {
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
fn take_image(work: &mut Work, out: Generated<nanopost_ai::GeneratedImage>) -> nanopost_ai::GeneratedImage {
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
fn ai_stop(e: AiError, job: &Job, now: Timestamp) -> Stop {
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
