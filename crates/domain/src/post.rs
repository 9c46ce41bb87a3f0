//! Posts: content per network, a schedule, and the state machine every change goes through.

use crate::account::bounded_multiline;
use crate::approval::{ApprovalId, ContentDigest};
use crate::error::ValidationErrors;
use crate::ids::{BrandId, MediaId, PostId, UserId, WorkspaceId};
use crate::network::Network;
use jiff::{Timestamp, civil, tz::TimeZone};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Where a post is in its life. Every change goes through [`PostState::after`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostState {
    Draft,
    PendingReview,
    Approved,
    Scheduled,
    Publishing,
    Published,
    Failed,
    /// The network may or may not have the post (a crash between call and answer): a human checks.
    Unconfirmed,
    Rejected,
    Archived,
}

/// What can happen to a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PostAction {
    /// The editor asks for review.
    Submit,
    /// The content changed; any approval is void.
    Edit,
    Approve,
    Reject,
    /// A publication time was set on an approved post.
    Schedule,
    Unschedule,
    StartPublishing,
    MarkPublished,
    MarkFailed,
    MarkUnconfirmed,
    /// A human asks to publish a failed or unconfirmed post again.
    Retry,
    Archive,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a post that is {from} cannot be {}", action_verb(*.action))]
pub struct TransitionError {
    pub from: PostState,
    pub action: PostAction,
}

fn action_verb(a: PostAction) -> &'static str {
    match a {
        PostAction::Submit => "submitted for review",
        PostAction::Edit => "edited",
        PostAction::Approve => "approved",
        PostAction::Reject => "rejected",
        PostAction::Schedule => "scheduled",
        PostAction::Unschedule => "unscheduled",
        PostAction::StartPublishing => "published",
        PostAction::MarkPublished => "marked published",
        PostAction::MarkFailed => "marked failed",
        PostAction::MarkUnconfirmed => "marked unconfirmed",
        PostAction::Retry => "retried",
        PostAction::Archive => "archived",
    }
}

impl PostState {
    pub const ALL: [PostState; 10] = [
        PostState::Draft,
        PostState::PendingReview,
        PostState::Approved,
        PostState::Scheduled,
        PostState::Publishing,
        PostState::Published,
        PostState::Failed,
        PostState::Unconfirmed,
        PostState::Rejected,
        PostState::Archived,
    ];

    /// The one transition table. Anything not listed is refused.
    pub fn after(self, action: PostAction) -> Result<PostState, TransitionError> {
        use PostAction as A;
        use PostState as S;
        let next = match (self, action) {
            (S::Draft | S::Rejected, A::Submit) => S::PendingReview,
            (S::Draft, A::Edit) => S::Draft,
            (S::Rejected, A::Edit) => S::Draft,
            // Editing anything reviewed or approved sends it back to review (invariant I1).
            (S::PendingReview | S::Approved | S::Scheduled | S::Failed, A::Edit) => S::PendingReview,
            (S::PendingReview, A::Approve) => S::Approved,
            (S::PendingReview, A::Reject) => S::Rejected,
            (S::Approved | S::Scheduled, A::Schedule) => S::Scheduled,
            (S::Scheduled, A::Unschedule) => S::Approved,
            (S::Approved | S::Scheduled, A::StartPublishing) => S::Publishing,
            (S::Publishing, A::MarkPublished) => S::Published,
            (S::Publishing, A::MarkFailed) => S::Failed,
            (S::Publishing, A::MarkUnconfirmed) => S::Unconfirmed,
            (S::Failed | S::Unconfirmed, A::Retry) => S::Approved,
            (s, A::Archive) if s != S::Publishing && s != S::Archived => S::Archived,
            (from, action) => return Err(TransitionError { from, action }),
        };
        Ok(next)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PostState::Draft => "draft",
            PostState::PendingReview => "pending_review",
            PostState::Approved => "approved",
            PostState::Scheduled => "scheduled",
            PostState::Publishing => "publishing",
            PostState::Published => "published",
            PostState::Failed => "failed",
            PostState::Unconfirmed => "unconfirmed",
            PostState::Rejected => "rejected",
            PostState::Archived => "archived",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            PostState::PendingReview => "pending review",
            s => s.as_str(),
        }
    }

    /// States whose content is frozen because the network already has (or may have) it.
    pub fn is_locked(self) -> bool {
        matches!(self, PostState::Publishing | PostState::Published | PostState::Unconfirmed | PostState::Archived)
    }
}

impl fmt::Display for PostState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for PostState {
    type Err = crate::ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PostState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| crate::ValidationError::new("state", format!("{s:?} is not a post state")))
    }
}

/// A media item in a variant, pinned by the digest of its bytes so that swapping the file
/// behind an id changes the approved content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaRef {
    pub id: MediaId,
    /// `sha256:<hex>` of the stored bytes.
    pub digest: String,
}

/// What goes to one network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    pub network: Network,
    pub caption: String,
    pub media: Vec<MediaRef>,
    /// The network's own options (privacy level, first comment, …), as text.
    pub options: BTreeMap<String, String>,
}

/// Where the post goes: a network and, once accounts are connected, which account there.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Target {
    pub network: Network,
    pub account: Option<String>,
}

/// Everything an approval covers. Its digest is what a reviewer signs off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostContent {
    pub variants: Vec<Variant>,
    pub targets: Vec<Target>,
}

impl PostContent {
    /// Checks the content against each network's limits and its own consistency.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errs = ValidationErrors::default();
        if self.variants.is_empty() {
            errs.push("variants", "a post needs a caption for at least one network");
        }
        let mut seen = Vec::new();
        for v in &self.variants {
            let field = format!("variants.{}", v.network);
            if seen.contains(&v.network) {
                errs.push(&field, "only one variant per network");
            }
            seen.push(v.network);
            if let Err(e) = bounded_multiline(&format!("{field}.caption"), &v.caption, 0, v.network.caption_limit()) {
                errs.0.push(e);
            }
            let tags = v.caption.split_whitespace().filter(|w| w.starts_with('#')).count();
            if tags > v.network.max_hashtags() {
                errs.push(
                    format!("{field}.caption"),
                    format!("{} allows at most {} hashtags", v.network.label(), v.network.max_hashtags()),
                );
            }
            if v.media.len() > v.network.max_media() {
                errs.push(
                    format!("{field}.media"),
                    format!("{} allows at most {} media items", v.network.label(), v.network.max_media()),
                );
            }
            if v.caption.trim().is_empty() && v.media.is_empty() {
                errs.push(&field, "needs a caption or media");
            }
            if v.options.len() > 20 || v.options.iter().any(|(k, val)| k.len() > 64 || val.len() > 1_000) {
                errs.push(format!("{field}.options"), "too many or too long options");
            }
        }
        let mut targets = self.targets.clone();
        targets.sort();
        targets.dedup();
        if targets.len() != self.targets.len() {
            errs.push("targets", "a target is listed twice");
        }
        for t in &self.targets {
            if !seen.contains(&t.network) {
                errs.push("targets", format!("{} is a target but has no variant", t.network.label()));
            }
        }
        errs.into_result(())
    }

    /// The SHA-256 of the canonical JSON of this content.
    pub fn digest(&self) -> ContentDigest {
        ContentDigest::of(self)
    }
}

/// A wall-clock time in a time zone: "09:00 in Europe/Berlin", kept as the person meant it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub local: civil::DateTime,
    pub timezone: String,
}

impl Schedule {
    pub fn new(local: civil::DateTime, timezone: &str) -> Result<Self, crate::ValidationError> {
        TimeZone::get(timezone)
            .map_err(|_| crate::ValidationError::new("timezone", "must be an IANA time zone such as Europe/Berlin"))?;
        Ok(Self { local, timezone: timezone.to_owned() })
    }

    /// The instant this schedule names. A time skipped by a DST jump moves forward by the gap;
    /// a time that occurs twice takes the first occurrence.
    pub fn instant(&self) -> Timestamp {
        let tz = TimeZone::get(&self.timezone).unwrap_or(TimeZone::UTC);
        tz.to_ambiguous_zoned(self.local).compatible().map(|z| z.timestamp()).unwrap_or(Timestamp::MAX)
    }
}

/// A stored post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    pub id: PostId,
    pub workspace_id: WorkspaceId,
    pub brand_id: BrandId,
    pub content: PostContent,
    pub schedule: Option<Schedule>,
    pub state: PostState,
    /// The approval in force, if any. Cleared by any edit.
    pub approval_id: Option<ApprovalId>,
    pub rejection_reason: Option<String>,
    /// Bumped by every write; writers name the version they read (optimistic concurrency).
    pub version: i64,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Post {
    pub fn new(
        workspace_id: WorkspaceId,
        brand_id: BrandId,
        created_by: UserId,
        content: PostContent,
        now: Timestamp,
    ) -> Result<Self, ValidationErrors> {
        content.validate()?;
        Ok(Post {
            id: PostId::new(),
            workspace_id,
            brand_id,
            content,
            schedule: None,
            state: PostState::Draft,
            approval_id: None,
            rejection_reason: None,
            version: 1,
            created_by,
            created_at: now,
            updated_at: now,
        })
    }

    fn apply(&mut self, action: PostAction, now: Timestamp) -> Result<(), TransitionError> {
        self.state = self.state.after(action)?;
        self.updated_at = now;
        Ok(())
    }

    /// Replaces the content. A real change voids the approval and returns the post to review.
    pub fn edit(&mut self, content: PostContent, now: Timestamp) -> Result<(), PostError> {
        content.validate()?;
        if content == self.content {
            return Ok(());
        }
        if self.state.is_locked() {
            return Err(TransitionError { from: self.state, action: PostAction::Edit }.into());
        }
        self.apply(PostAction::Edit, now)?;
        self.content = content;
        self.approval_id = None;
        self.rejection_reason = None;
        Ok(())
    }

    pub fn submit(&mut self, now: Timestamp) -> Result<(), PostError> {
        self.content.validate()?;
        self.apply(PostAction::Submit, now)?;
        self.rejection_reason = None;
        Ok(())
    }

    pub fn reject(&mut self, reason: &str, now: Timestamp) -> Result<(), PostError> {
        let reason = bounded_multiline("reason", reason, 1, 2_000)?;
        self.apply(PostAction::Reject, now)?;
        self.rejection_reason = Some(reason);
        Ok(())
    }

    /// Sets or clears the publication time. The approval stands: time is not content.
    pub fn set_schedule(&mut self, schedule: Option<Schedule>, now: Timestamp) -> Result<(), PostError> {
        if self.state.is_locked() {
            return Err(TransitionError { from: self.state, action: PostAction::Schedule }.into());
        }
        match (&schedule, self.state) {
            (Some(_), PostState::Approved | PostState::Scheduled) => self.apply(PostAction::Schedule, now)?,
            (None, PostState::Scheduled) => self.apply(PostAction::Unschedule, now)?,
            _ => self.updated_at = now,
        }
        self.schedule = schedule;
        Ok(())
    }

    pub fn archive(&mut self, now: Timestamp) -> Result<(), PostError> {
        self.apply(PostAction::Archive, now)?;
        Ok(())
    }

    /// Moves a failed or unconfirmed post back to approved (or scheduled) for another attempt.
    pub fn retry(&mut self, now: Timestamp) -> Result<(), PostError> {
        self.apply(PostAction::Retry, now)?;
        if self.schedule.is_some() {
            self.apply(PostAction::Schedule, now)?;
        }
        Ok(())
    }

    /// The job engine starts publishing an approved (or due scheduled) post.
    pub fn start_publishing(&mut self, now: Timestamp) -> Result<(), PostError> {
        self.apply(PostAction::StartPublishing, now)?;
        Ok(())
    }

    /// Every publication is final: the post becomes published, failed or unconfirmed
    /// (`outcome` comes from [`crate::publication::post_outcome`]).
    pub fn settle_publishing(&mut self, outcome: PostAction, now: Timestamp) -> Result<(), PostError> {
        if !matches!(outcome, PostAction::MarkPublished | PostAction::MarkFailed | PostAction::MarkUnconfirmed) {
            return Err(TransitionError { from: self.state, action: outcome }.into());
        }
        self.apply(outcome, now)?;
        Ok(())
    }

    /// Used by the approval module only, after it checked who approves what.
    pub(crate) fn mark_approved(&mut self, approval: ApprovalId, now: Timestamp) -> Result<(), TransitionError> {
        self.apply(PostAction::Approve, now)?;
        if self.schedule.is_some() {
            self.apply(PostAction::Schedule, now)?;
        }
        self.approval_id = Some(approval);
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostError {
    #[error("{0}")]
    Invalid(#[from] ValidationErrors),
    #[error("{0}")]
    Transition(#[from] TransitionError),
}

impl From<crate::ValidationError> for PostError {
    fn from(e: crate::ValidationError) -> Self {
        PostError::Invalid(e.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn content(caption: &str) -> PostContent {
        PostContent {
            variants: vec![Variant {
                network: Network::Instagram,
                caption: caption.into(),
                media: vec![],
                options: BTreeMap::new(),
            }],
            targets: vec![Target { network: Network::Instagram, account: None }],
        }
    }

    #[test]
    fn transitions_not_in_the_table_are_refused() {
        assert!(PostState::Draft.after(PostAction::Approve).is_err());
        assert!(PostState::Published.after(PostAction::Edit).is_err());
        assert!(PostState::Publishing.after(PostAction::Archive).is_err());
        assert_eq!(PostState::Scheduled.after(PostAction::Edit).unwrap(), PostState::PendingReview);
        let e = PostState::Published.after(PostAction::Edit).unwrap_err();
        assert_eq!(e.to_string(), "a post that is published cannot be edited");
    }

    #[test]
    fn content_checks_limits_and_consistency() {
        let mut c = content(&"x".repeat(2_201));
        assert!(c.validate().is_err());
        c = content("ok");
        c.targets.push(Target { network: Network::Tiktok, account: None });
        assert!(c.validate().unwrap_err().to_string().contains("TikTok is a target but has no variant"));
        c = content(&"#a ".repeat(31));
        assert!(c.validate().is_err());
    }

    #[test]
    fn schedule_follows_dst() {
        // 2026-03-29 02:30 does not exist in Berlin (clocks jump 02:00 → 03:00).
        let s = Schedule::new(civil::date(2026, 3, 29).at(2, 30, 0, 0), "Europe/Berlin").unwrap();
        assert_eq!(s.instant().to_string(), "2026-03-29T01:30:00Z");
        let s = Schedule::new(civil::date(2026, 7, 1).at(9, 0, 0, 0), "Europe/Berlin").unwrap();
        assert_eq!(s.instant().to_string(), "2026-07-01T07:00:00Z");
        assert!(Schedule::new(civil::date(2026, 7, 1).at(9, 0, 0, 0), "Nowhere/Land").is_err());
    }

    #[test]
    fn editing_the_same_content_is_a_no_op() {
        let now = Timestamp::UNIX_EPOCH;
        let mut p = Post::new(WorkspaceId::new(), BrandId::new(), UserId::new(), content("hi"), now).unwrap();
        p.submit(now).unwrap();
        p.edit(content("hi"), now).unwrap();
        assert_eq!(p.state, PostState::PendingReview);
        p.edit(content("changed"), now).unwrap();
        assert_eq!(p.state, PostState::PendingReview);
    }
}
