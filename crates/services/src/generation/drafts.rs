//! Making drafts: one post, or a plan of posts, each with a caption per network and one image
//! stored in the media library (fitted per network), checkpointed as they are made and ended
//! in one transaction.

use super::guardrails::fit_caption;
use super::requests::Asked;
use super::run::{AI_TAG, DraftWork, ImageWork, Step, Stop, Work, ai_stop, generation_tag, take, take_image};
use crate::Services;
use crate::actor::Actor;
use crate::media::{MAX_ALT_TEXT, MediaUpload};
use crate::notify::Notice;
use nanopost_ai::text::cut_at_word;
use nanopost_ai::{
    BrandVisual, BrandVoice, CaptionRequest, ContentBrief, ImageRequest, LogoImage, NetworkCaption, PlanRequest,
    PlannedPost,
};
use nanopost_domain::brand::Brand;
use nanopost_domain::ids::{MediaId, WorkspaceId};
use nanopost_domain::post::{Post, PostContent, PostState, Target, Variant};
use nanopost_jobs::Job;
use nanopost_storage::{GeneratedPost, GenerationKind, GenerationRecord, GenerationState};
use std::collections::BTreeMap;

impl Services {
    // -----------------------------------------------------------------------------------------
    // A post, or a plan of posts.

    pub(super) async fn make_drafts(
        &self,
        g: &mut GenerationRecord,
        work: &mut Work,
        actor: &Actor,
        job: &Job,
    ) -> Step<()> {
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
        // An image an earlier attempt stored before it crashed (and before its checkpoint named
        // it) is in no draft: it goes. The drafts' own images are in use and stay.
        if let Err(e) = self.remove_generated_media(g, &Work::default()).await {
            tracing::warn!(generation = %g.id, error = %e, "could not remove a left-over generated image");
        }
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
}
