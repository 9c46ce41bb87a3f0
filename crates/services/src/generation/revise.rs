//! Rewriting a draft with a person's feedback (through the normal edit path), and describing an
//! image of the library.

use super::guardrails::fit_caption;
use super::requests::Asked;
use super::run::{Step, Stop, Work, ai_stop, take};
use crate::Services;
use crate::actor::Actor;
use crate::media::MAX_ALT_TEXT;
use crate::notify::Notice;
use nanopost_ai::text::cut_at_word;
use nanopost_ai::{BrandVoice, CaptionRequest, ContentBrief, ImageAnalysisRequest, ImageInput, NetworkCaption};
use nanopost_domain::network::Network;
use nanopost_domain::post::PostState;
use nanopost_jobs::Job;
use nanopost_storage::{GeneratedPost, GenerationRecord, GenerationState};

impl Services {
    // -----------------------------------------------------------------------------------------
    // Regenerate with feedback.

    pub(super) async fn rewrite(
        &self,
        g: &mut GenerationRecord,
        work: &mut Work,
        actor: &Actor,
        job: &Job,
    ) -> Step<()> {
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

    pub(super) async fn describe(&self, g: &mut GenerationRecord, work: &mut Work, job: &Job) -> Step<()> {
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
