//! Asking for a generation: role, input and quota checked, the record and its job written
//! together. Nothing here talks to a provider; the job does.

use super::slots::{self, Period};
use super::{generation_job, month_of};
use crate::Services;
use crate::actor::Actor;
use crate::error::{Result, ServiceError};
use jiff::Timestamp;
use nanopost_ai::request::MAX_PLAN_POSTS;
use nanopost_domain::ValidationError;
use nanopost_domain::account::bounded_multiline;
use nanopost_domain::error::ValidationErrors;
use nanopost_domain::ids::{BrandId, GenerationId, MediaId, PostId};
use nanopost_domain::network::Network;
use nanopost_domain::post::Schedule;
use nanopost_domain::role::Permission;
use nanopost_storage::{Admission, GenerationKind, GenerationRecord, GenerationState, MediaType};
use serde::{Deserialize, Serialize};

/// Longest brief or plan theme.
pub const MAX_BRIEF_CHARS: usize = 2_000;
/// Longest feedback for a regeneration.
pub const MAX_FEEDBACK_CHARS: usize = 1_000;

/// "Generate a post": the networks to write for and what it is about.
#[derive(Debug, Clone, Default)]
pub struct PostInput {
    pub networks: Vec<Network>,
    /// Facts, offer, occasion; empty: the AI picks one of the brand's topics.
    pub brief: String,
}

/// "Plan a week/month".
#[derive(Debug, Clone)]
pub struct PlanInput {
    pub networks: Vec<Network>,
    pub period: Period,
    /// `None`: as many as the brand's cadence has in the period.
    pub count: Option<u32>,
    /// Guidance for the whole plan ("spring menu launch").
    pub theme: String,
}

/// What was asked, as the record keeps it (and the job reads it).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Asked {
    #[serde(default)]
    pub networks: Vec<Network>,
    /// The brief of a post, the theme of a plan.
    #[serde(default)]
    pub brief: String,
    #[serde(default)]
    pub period: Option<Period>,
    #[serde(default)]
    pub count: usize,
    #[serde(default)]
    pub feedback: Option<String>,
    /// A plan's suggested times, one per draft, in order.
    #[serde(default)]
    pub suggestions: Vec<Schedule>,
    /// Varies the output between requests, reproducibly.
    #[serde(default)]
    pub seed: u64,
}

impl Asked {
    pub(crate) fn of(g: &GenerationRecord) -> Asked {
        serde_json::from_value(g.request.clone()).unwrap_or_default()
    }
}

fn networks(raw: &[Network], errs: &mut ValidationErrors) -> Vec<Network> {
    let mut out = Vec::new();
    for n in raw {
        if !out.contains(n) {
            out.push(*n);
        }
    }
    if out.is_empty() {
        errs.push("networks", "choose at least one network");
    }
    out
}

fn text(field: &str, raw: &str, min: usize, max: usize, errs: &mut ValidationErrors) -> String {
    match bounded_multiline(field, &raw.replace("\r\n", "\n"), min, max) {
        Ok(s) => s,
        Err(e) => {
            errs.0.push(e);
            String::new()
        }
    }
}

fn seed() -> u64 {
    getrandom::u64().unwrap_or_else(|_| Timestamp::now().as_nanosecond() as u64)
}

/// The sentence a person sees when the month's quota is used up.
fn quota_sentence(quota: u32, now: Timestamp) -> String {
    let utc = now.to_zoned(jiff::tz::TimeZone::UTC);
    let next = utc.date().first_of_month().checked_add(jiff::Span::new().months(1)).unwrap_or(utc.date());
    format!(
        "this workspace has used its {quota} AI generations for {}; more can be asked for from {} (UTC), or ask the operator of this Nanopost to raise the monthly quota",
        utc.strftime("%B %Y"),
        next.strftime("%-d %B %Y")
    )
}

impl Services {
    /// Asks for one post for `input.networks`: a caption each and one image, landing as a
    /// draft pending review. Returns at once with the generation to follow.
    pub async fn generate_post(&self, actor: &Actor, brand: BrandId, input: PostInput) -> Result<GenerationRecord> {
        actor.require(Permission::EditContent)?;
        self.store().brand(actor.workspace_id, brand).await?.ok_or(ServiceError::NotFound)?;
        let mut errs = ValidationErrors::default();
        let networks = networks(&input.networks, &mut errs);
        let brief = text("brief", &input.brief, 0, MAX_BRIEF_CHARS, &mut errs);
        errs.into_result(())?;
        let asked = Asked { networks, brief, seed: seed(), ..Asked::default() };
        self.admit(actor, GenerationKind::Post, Some(brand), asked, None, None).await
    }

    /// Asks for a plan: `count` drafts (or the cadence's number) for the coming week or month,
    /// each with a suggested time from the brand's queue slots in its time zone. The times are
    /// shown to the reviewer; nothing is scheduled until a person approves and schedules.
    pub async fn generate_plan(&self, actor: &Actor, brand: BrandId, input: PlanInput) -> Result<GenerationRecord> {
        actor.require(Permission::EditContent)?;
        let b = self.store().brand(actor.workspace_id, brand).await?.ok_or(ServiceError::NotFound)?;
        let mut errs = ValidationErrors::default();
        let networks = networks(&input.networks, &mut errs);
        let theme = text("theme", &input.theme, 0, MAX_BRIEF_CHARS, &mut errs);
        let count = match input.count {
            Some(c) if c == 0 || c as usize > MAX_PLAN_POSTS => {
                errs.push("count", format!("must be between 1 and {MAX_PLAN_POSTS}"));
                0
            }
            Some(c) => c as usize,
            None => slots::default_count(&b.profile.cadence, input.period).min(MAX_PLAN_POSTS),
        };
        errs.into_result(())?;
        let suggestions =
            slots::suggested_times(&b.profile.cadence, &b.profile.timezone, self.now(), input.period, count)
                .map_err(|why| ValidationError::new("count", why))?;
        let asked = Asked {
            networks,
            brief: theme,
            period: Some(input.period),
            count,
            suggestions,
            seed: seed(),
            ..Asked::default()
        };
        self.admit(actor, GenerationKind::Plan, Some(brand), asked, None, None).await
    }

    /// Asks for new captions for a draft, with the person's feedback. The job applies them
    /// through the normal edit path: any approval is void and the post goes back to review.
    pub async fn regenerate(&self, actor: &Actor, post: PostId, feedback: &str) -> Result<GenerationRecord> {
        actor.require(Permission::EditContent)?;
        let p = self.store().post(actor.workspace_id, post).await?.ok_or(ServiceError::NotFound)?;
        if p.state.is_locked() {
            return Err(ServiceError::Conflict(format!("a post that is {} cannot be rewritten", p.state)));
        }
        let mut errs = ValidationErrors::default();
        let feedback = text("feedback", feedback, 1, MAX_FEEDBACK_CHARS, &mut errs);
        errs.into_result(())?;
        let networks = p.content.variants.iter().map(|v| v.network).collect();
        let asked = Asked { networks, feedback: Some(feedback), seed: seed(), ..Asked::default() };
        self.admit(actor, GenerationKind::Regenerate, Some(p.brand_id), asked, Some(post), None).await
    }

    /// Asks for alt text and a suggested caption for an image of the library. The result is
    /// kept as the item's alt-text suggestion; a person decides whether to use it.
    pub async fn describe_image(&self, actor: &Actor, media: MediaId) -> Result<GenerationRecord> {
        actor.require(Permission::EditContent)?;
        let m = self.store().media(actor.workspace_id, media).await?.ok_or(ServiceError::NotFound)?;
        if m.kind != MediaType::Image {
            return Err(ValidationError::new("media", "only images can be described").into());
        }
        let asked = Asked { seed: seed(), ..Asked::default() };
        self.admit(actor, GenerationKind::Describe, m.brand_id, asked, None, Some(media)).await
    }

    /// Records the generation and its job, counted against the month's quota.
    async fn admit(
        &self,
        actor: &Actor,
        kind: GenerationKind,
        brand: Option<BrandId>,
        asked: Asked,
        post: Option<PostId>,
        media: Option<MediaId>,
    ) -> Result<GenerationRecord> {
        let now = self.now();
        let g = GenerationRecord {
            id: GenerationId::new(),
            workspace_id: actor.workspace_id,
            brand_id: brand,
            kind,
            state: GenerationState::Queued,
            request: serde_json::to_value(&asked).map_err(|e| ServiceError::Internal(e.to_string()))?,
            work: serde_json::json!({}),
            progress: "Waiting for a worker to start.".into(),
            result: None,
            error: None,
            provider: None,
            offline: self.ai().text.label().is_offline(),
            post_id: post,
            media_id: media,
            requested_by: Some(actor.user_id),
            created_at: now,
            updated_at: now,
            finished_at: None,
        };
        let quota = self.config().generation.monthly_quota;
        let job = generation_job(&g, now);
        let in_tx = if self.queue_is_transactional() { vec![job.clone()] } else { vec![] };
        match self.store().insert_generation(&g, &month_of(now), quota, &in_tx).await? {
            Admission::Admitted => {}
            Admission::QuotaReached { quota, .. } => return Err(ServiceError::Conflict(quota_sentence(quota, now))),
        }
        if in_tx.is_empty()
            && let Err(e) = self.enqueue(&[job]).await
        {
            // Recorded without its job: the sweep enqueues it again.
            tracing::warn!(generation = %g.id, error = %e, "could not enqueue a generation; the sweep will");
        }
        tracing::info!(generation = %g.id, workspace = %g.workspace_id, kind = kind.as_str(), "generation asked for");
        Ok(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quota_sentence_names_the_month_and_when_it_resets() {
        let s = quota_sentence(20, "2027-03-15T10:00:00Z".parse().unwrap());
        assert!(s.contains("its 20 AI generations for March 2027"), "{s}");
        assert!(s.contains("from 1 April 2027 (UTC)"), "{s}");
        let dec = quota_sentence(1, "2027-12-31T23:59:00Z".parse().unwrap());
        assert!(dec.contains("1 January 2028"), "{dec}");
    }
}
