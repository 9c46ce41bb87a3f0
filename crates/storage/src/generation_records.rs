//! AI generations as stored: the request and its job's progress, the drafts it produced (with
//! their suggested times), and the workspace's monthly usage.

use jiff::{Timestamp, civil};
use nanopost_domain::ids::{BrandId, GenerationId, MediaId, PostId, UserId, WorkspaceId};
use std::fmt;
use std::str::FromStr;

/// What was asked of the AI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GenerationKind {
    /// One post for chosen networks: a caption each and an image.
    Post,
    /// Several posts spread over the brand's cadence.
    Plan,
    /// New captions for an existing draft, with feedback.
    Regenerate,
    /// Alt text and a suggested caption for a media item.
    Describe,
}

impl GenerationKind {
    pub const ALL: [GenerationKind; 4] =
        [GenerationKind::Post, GenerationKind::Plan, GenerationKind::Regenerate, GenerationKind::Describe];

    pub fn as_str(self) -> &'static str {
        match self {
            GenerationKind::Post => "post",
            GenerationKind::Plan => "plan",
            GenerationKind::Regenerate => "regenerate",
            GenerationKind::Describe => "describe",
        }
    }
}

impl fmt::Display for GenerationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GenerationKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| format!("{s:?} is not a generation kind"))
    }
}

/// Where a generation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GenerationState {
    Queued,
    Running,
    Done,
    Failed,
}

impl GenerationState {
    pub const ALL: [GenerationState; 4] =
        [GenerationState::Queued, GenerationState::Running, GenerationState::Done, GenerationState::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            GenerationState::Queued => "queued",
            GenerationState::Running => "running",
            GenerationState::Done => "done",
            GenerationState::Failed => "failed",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, GenerationState::Done | GenerationState::Failed)
    }
}

impl fmt::Display for GenerationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GenerationState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| format!("{s:?} is not a generation state"))
    }
}

/// One request to the AI and how far its job got.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationRecord {
    pub id: GenerationId,
    pub workspace_id: WorkspaceId,
    /// The brand written for; `None` for the description of a media item without a brand.
    pub brand_id: Option<BrandId>,
    pub kind: GenerationKind,
    pub state: GenerationState,
    /// What was asked (networks, brief, period, count, feedback), as the use case wrote it.
    pub request: serde_json::Value,
    /// The job's checkpoint: what is already made (captions, media), so a retry resumes and a
    /// failure can remove what it made.
    pub work: serde_json::Value,
    /// A sentence for the status page ("Writing captions…").
    pub progress: String,
    /// What a description found (alt text and a suggested caption).
    pub result: Option<serde_json::Value>,
    /// Why it failed, as a sentence for a person.
    pub error: Option<String>,
    /// Who wrote it: `offline`, or `name (model)` of the configured endpoint.
    pub provider: Option<String>,
    /// Written by the offline provider (the UI says so).
    pub offline: bool,
    /// The draft a regeneration rewrites.
    pub post_id: Option<PostId>,
    /// The media item a description is about.
    pub media_id: Option<MediaId>,
    /// `None` once the person is erased.
    pub requested_by: Option<UserId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

/// A draft a generation produced, with the time it suggests (not a schedule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedPost {
    pub workspace_id: WorkspaceId,
    pub generation_id: GenerationId,
    pub post_id: PostId,
    /// Its place in a plan (0 for a single post).
    pub position: u32,
    /// The suggested wall-clock time in the brand's time zone, and the instant it names.
    pub suggested_local: Option<civil::DateTime>,
    pub suggested_tz: Option<String>,
    pub suggested_at: Option<Timestamp>,
    /// What the reviewer should know about how it was made ("the caption was cut to fit").
    pub notes: Vec<String>,
    pub created_at: Timestamp,
}

/// A draft's provenance: the link to the generation that made (or last rewrote) it.
#[derive(Debug, Clone, PartialEq)]
pub struct PostProvenance {
    pub link: GeneratedPost,
    pub kind: GenerationKind,
    pub provider: Option<String>,
    pub offline: bool,
}

/// A workspace's AI use in one month (UTC).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AiUsage {
    /// `YYYY-MM`.
    pub month: String,
    pub generations: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub images: u64,
}

/// What to add to a month's usage when a generation ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageDelta {
    /// -1 gives back the generation counted when it was asked for (it failed).
    pub generations: i64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub images: u64,
}

/// Whether a new generation was accepted under the workspace's monthly quota.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Recorded (and its job enqueued, when jobs were given).
    Admitted,
    /// The month's quota is used up: nothing was written.
    QuotaReached { used: u64, quota: u32 },
}

/// How a generation ends: the row as it ends, the drafts to insert with their links, and
/// the usage to add. Written in one transaction, so drafts never exist without their record.
#[derive(Debug, Clone)]
pub struct GenerationOutcome<'a> {
    pub generation: &'a GenerationRecord,
    pub posts: &'a [nanopost_domain::post::Post],
    pub links: &'a [GeneratedPost],
    pub usage: UsageDelta,
    /// The month the usage belongs to (`YYYY-MM`, when the generation was asked for).
    pub month: &'a str,
}
