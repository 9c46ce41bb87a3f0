//! Reading generations back: the status of one, the drafts it made with their suggested times,
//! a post's provenance and guardrail flags, an image's description, and the month's usage.

use super::guardrails::{self, Flag};
use super::month_of;
use super::requests::Asked;
use super::slots::Period;
use crate::Services;
use crate::actor::Actor;
use crate::error::{Result, ServiceError};
use crate::media::MediaUpdate;
use nanopost_domain::ids::{BrandId, GenerationId, MediaId, PostId};
use nanopost_domain::network::Network;
use nanopost_domain::post::{Post, Schedule};
use nanopost_domain::role::Permission;
use nanopost_storage::{GeneratedPost, GenerationRecord, MediaRecord, Page, PageRequest, PostProvenance};

/// One generation as its status page and the API show it.
#[derive(Debug, Clone)]
pub struct GenerationView {
    pub record: GenerationRecord,
    /// The drafts it made (or rewrote), in plan order, with suggested times.
    pub posts: Vec<GeneratedPost>,
    pub networks: Vec<Network>,
    pub brief: String,
    pub period: Option<Period>,
    pub count: usize,
    pub feedback: Option<String>,
    /// A plan's suggested times, known from the moment it is asked for.
    pub suggestions: Vec<Schedule>,
    /// What a description found.
    pub description: Option<ImageDescription>,
}

/// Alt text and a suggested caption for an image, as the AI proposed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageDescription {
    pub generation_id: GenerationId,
    pub alt_text: String,
    pub suggested_caption: String,
    pub provider: String,
    pub offline: bool,
    pub notes: Vec<String>,
}

impl ImageDescription {
    fn of(g: &GenerationRecord) -> Option<Self> {
        let r = g.result.as_ref()?;
        let text = |k: &str| r.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        let notes = r
            .get("notes")
            .and_then(|n| n.as_array())
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        Some(ImageDescription {
            generation_id: g.id,
            alt_text: text("alt_text"),
            suggested_caption: text("suggested_caption"),
            provider: g.provider.clone().unwrap_or_default(),
            offline: g.offline,
            notes,
        })
    }
}

/// What the post editor shows about the AI: flags, who wrote it, and a suggested time.
#[derive(Debug, Clone, Default)]
pub struct PostAiView {
    /// The guardrails' flags of the content as it is now.
    pub flags: Vec<Flag>,
    pub provenance: Option<PostProvenance>,
    /// The time a plan suggested for it (not a schedule).
    pub suggestion: Option<GeneratedPost>,
}

/// The workspace's AI use this month, and its quota.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageView {
    /// `YYYY-MM` (UTC).
    pub month: String,
    pub generations: u64,
    /// 0: no limit.
    pub quota: u32,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub images: u64,
}

impl UsageView {
    /// Generations left this month; `None` without a limit.
    pub fn remaining(&self) -> Option<u64> {
        (self.quota > 0).then(|| u64::from(self.quota).saturating_sub(self.generations))
    }
}

impl Services {
    pub async fn generation(&self, actor: &Actor, id: GenerationId) -> Result<GenerationView> {
        actor.require(Permission::Read)?;
        let record = self.store().generation(actor.workspace_id, id).await?.ok_or(ServiceError::NotFound)?;
        let posts = self.store().generated_posts(actor.workspace_id, id).await?;
        let asked = Asked::of(&record);
        Ok(GenerationView {
            description: ImageDescription::of(&record),
            posts,
            networks: asked.networks,
            brief: asked.brief,
            period: asked.period,
            count: asked.count,
            feedback: asked.feedback,
            suggestions: asked.suggestions,
            record,
        })
    }

    /// The workspace's generations, newest first (of one brand, if given).
    pub async fn generations(
        &self,
        actor: &Actor,
        brand: Option<BrandId>,
        page: PageRequest,
    ) -> Result<Page<GenerationRecord>> {
        actor.require(Permission::Read)?;
        Ok(self.store().generations(actor.workspace_id, brand, page).await?)
    }

    pub async fn ai_usage(&self, actor: &Actor) -> Result<UsageView> {
        actor.require(Permission::Read)?;
        let month = month_of(self.now());
        let u = self.store().ai_usage(actor.workspace_id, &month).await?;
        Ok(UsageView {
            month,
            generations: u.generations,
            quota: self.config().generation.monthly_quota,
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            images: u.images,
        })
    }

    /// The guardrail flags of `post` (as loaded by the caller), who wrote it, and its
    /// suggested time.
    pub async fn post_ai(&self, actor: &Actor, post: &Post) -> Result<PostAiView> {
        actor.require(Permission::Read)?;
        if post.workspace_id != actor.workspace_id {
            return Err(ServiceError::NotFound);
        }
        let brand = self.store().brand(actor.workspace_id, post.brand_id).await?.ok_or(ServiceError::NotFound)?;
        Ok(PostAiView {
            flags: guardrails::check(&brand.profile, &post.content),
            provenance: self.store().post_provenance(actor.workspace_id, post.id).await?,
            suggestion: self.store().post_suggestion(actor.workspace_id, post.id).await?,
        })
    }

    /// The guardrail flags of a post, by id (the API's).
    pub async fn post_flags(&self, actor: &Actor, id: PostId) -> Result<Vec<Flag>> {
        let post = self.post(actor, id).await?.post;
        Ok(self.post_ai(actor, &post).await?.flags)
    }

    /// The newest description the AI made of a media item: its alt-text suggestion.
    pub async fn image_description(&self, actor: &Actor, media: MediaId) -> Result<Option<ImageDescription>> {
        actor.require(Permission::Read)?;
        let g = self.store().latest_description(actor.workspace_id, media).await?;
        Ok(g.as_ref().and_then(ImageDescription::of))
    }

    /// Takes the newest suggestion as the item's alt text (a person's decision).
    pub async fn use_image_description(&self, actor: &Actor, media: MediaId) -> Result<MediaRecord> {
        actor.require(Permission::EditContent)?;
        let d = self.image_description(actor, media).await?.ok_or_else(|| {
            ServiceError::Conflict("there is no description of this image yet; ask for one first".into())
        })?;
        self.update_media(actor, media, MediaUpdate { alt_text: Some(d.alt_text), tags: None }).await
    }
}
