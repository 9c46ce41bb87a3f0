//! Invariant I1: nothing reaches a network without a human approval bound to the exact content.
//!
//! [`approve`] is the only way to record an approval, and [`ApprovedPublication`] the only value
//! a network adapter accepts. Its fields are private and [`authorize_publication`] is its only
//! constructor: it re-derives the content digest and refuses anything that changed since the
//! approval, so no code path outside this module can fabricate one.

pub use crate::ids::ApprovalId;
use crate::ids::{PostId, UserId, WorkspaceId};
use crate::post::{Post, PostAction, PostContent, PostError, PostState, TransitionError};
use crate::role::{Permission, Role};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// `sha256:<hex>` of the canonical JSON of a post's content (variants sorted by network,
/// targets sorted; media order kept, because order is content).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContentDigest(String);

impl ContentDigest {
    pub fn of(content: &PostContent) -> Self {
        let mut canonical = content.clone();
        canonical.variants.sort_by_key(|v| v.network);
        canonical.targets.sort();
        let bytes = serde_json::to_vec(&canonical).expect("post content always serialises");
        let hash = Sha256::digest(&bytes);
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        Self(format!("sha256:{hex}"))
    }

    /// Reads a digest a client sent back (the one it saw when it decided).
    pub fn parse(s: &str) -> Result<Self, crate::ValidationError> {
        let hex = s.strip_prefix("sha256:").unwrap_or("");
        if hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(crate::ValidationError::new("content_digest", "must be sha256: followed by 64 lower-case hex digits"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContentDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ContentDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentDigest({})", self.0)
    }
}

/// How the approver acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Web,
    Api,
    Telegram,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Api => "api",
            Channel::Telegram => "telegram",
        }
    }
}

impl FromStr for Channel {
    type Err = crate::ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Channel::Web, Channel::Api, Channel::Telegram]
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| crate::ValidationError::new("channel", "must be web, api or telegram"))
    }
}

/// The record of a human decision: who, when, through which channel, and on exactly what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub id: ApprovalId,
    pub workspace_id: WorkspaceId,
    pub post_id: PostId,
    pub approver: UserId,
    pub approver_role: Role,
    pub channel: Channel,
    pub digest: ContentDigest,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    #[error("your role ({0}) may not approve posts")]
    NotAllowed(Role),
    #[error("the post changed since you looked at it; review it again")]
    ContentChanged,
    #[error("{0}")]
    Post(#[from] PostError),
}

impl From<TransitionError> for ApprovalError {
    fn from(e: TransitionError) -> Self {
        ApprovalError::Post(e.into())
    }
}

/// A reviewer approves the content they saw (`seen`). On success the post is approved (or
/// scheduled, if it has a time) and the returned record must be stored with it.
pub fn approve(
    post: &mut Post,
    approver: UserId,
    role: Role,
    channel: Channel,
    seen: &ContentDigest,
    now: Timestamp,
) -> Result<Approval, ApprovalError> {
    if !role.can(Permission::Review) {
        return Err(ApprovalError::NotAllowed(role));
    }
    let digest = post.content.digest();
    if &digest != seen {
        return Err(ApprovalError::ContentChanged);
    }
    post.content.validate().map_err(PostError::from)?;
    let approval = Approval {
        id: ApprovalId::new(),
        workspace_id: post.workspace_id,
        post_id: post.id,
        approver,
        approver_role: role,
        channel,
        digest,
        at: now,
    };
    post.mark_approved(approval.id, now)?;
    Ok(approval)
}

/// A reviewer rejects the content they saw, with a reason.
pub fn reject(
    post: &mut Post,
    role: Role,
    seen: &ContentDigest,
    reason: &str,
    now: Timestamp,
) -> Result<(), ApprovalError> {
    if !role.can(Permission::Review) {
        return Err(ApprovalError::NotAllowed(role));
    }
    if &post.content.digest() != seen {
        return Err(ApprovalError::ContentChanged);
    }
    post.reject(reason, now)?;
    Ok(())
}

/// Content a human approved, exactly as approved. The only input network adapters accept.
#[derive(Debug, Clone)]
pub struct ApprovedPublication {
    workspace_id: WorkspaceId,
    post_id: PostId,
    approval_id: ApprovalId,
    approver: UserId,
    content: PostContent,
    digest: ContentDigest,
}

impl ApprovedPublication {
    pub fn workspace_id(&self) -> WorkspaceId {
        self.workspace_id
    }
    pub fn post_id(&self) -> PostId {
        self.post_id
    }
    pub fn approval_id(&self) -> ApprovalId {
        self.approval_id
    }
    pub fn approver(&self) -> UserId {
        self.approver
    }
    pub fn content(&self) -> &PostContent {
        &self.content
    }
    pub fn digest(&self) -> &ContentDigest {
        &self.digest
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotApproved {
    #[error("the post has no approval in force")]
    NoApproval,
    #[error("the approval belongs to another post")]
    WrongPost,
    #[error("the content changed after it was approved")]
    ContentChanged,
    #[error("the approver's role ({0}) may not approve")]
    ApproverNotAllowed(Role),
    #[error("a post that is {0} cannot be published")]
    WrongState(PostState),
}

/// Checks a post against the approval on record and, if everything matches, hands out the
/// publication. `approval` is the record stored under `post.approval_id`.
pub fn authorize_publication(post: &Post, approval: &Approval) -> Result<ApprovedPublication, NotApproved> {
    if post.approval_id != Some(approval.id) {
        return Err(NotApproved::NoApproval);
    }
    if approval.post_id != post.id || approval.workspace_id != post.workspace_id {
        return Err(NotApproved::WrongPost);
    }
    if !approval.approver_role.can(Permission::Review) {
        return Err(NotApproved::ApproverNotAllowed(approval.approver_role));
    }
    // A post mid-publish may resume after a crash; everything else must be approved or scheduled.
    if post.state.after(PostAction::StartPublishing).is_err() && post.state != PostState::Publishing {
        return Err(NotApproved::WrongState(post.state));
    }
    let digest = post.content.digest();
    if digest != approval.digest {
        return Err(NotApproved::ContentChanged);
    }
    Ok(ApprovedPublication {
        workspace_id: post.workspace_id,
        post_id: post.id,
        approval_id: approval.id,
        approver: approval.approver,
        content: post.content.clone(),
        digest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{BrandId, MediaId};
    use crate::network::Network;
    use crate::post::{MediaRef, Target, Variant};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn content(caption: &str) -> PostContent {
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

    fn post() -> Post {
        Post::new(WorkspaceId::new(), BrandId::new(), UserId::new(), content("hello"), Timestamp::UNIX_EPOCH).unwrap()
    }

    #[test]
    fn digest_ignores_variant_order_but_not_media_order() {
        let a = MediaRef { id: MediaId::new(), digest: "sha256:a".into() };
        let b = MediaRef { id: MediaId::new(), digest: "sha256:b".into() };
        let mut c = content("x");
        c.variants.push(Variant {
            network: Network::Linkedin,
            caption: "y".into(),
            media: vec![a.clone(), b.clone()],
            options: BTreeMap::new(),
        });
        let mut swapped = c.clone();
        swapped.variants.reverse();
        assert_eq!(c.digest(), swapped.digest());
        let mut reordered = c.clone();
        reordered.variants[1].media.reverse();
        assert_ne!(c.digest(), reordered.digest());
        assert!(ContentDigest::parse(c.digest().as_str()).is_ok());
        assert!(ContentDigest::parse("sha256:zz").is_err());
    }

    #[test]
    fn an_editor_cannot_approve_and_a_stale_view_is_refused() {
        let mut p = post();
        p.submit(Timestamp::UNIX_EPOCH).unwrap();
        let seen = p.content.digest();
        assert_eq!(
            approve(&mut p, UserId::new(), Role::Editor, Channel::Web, &seen, Timestamp::UNIX_EPOCH),
            Err(ApprovalError::NotAllowed(Role::Editor))
        );
        p.edit(content("changed"), Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(
            approve(&mut p, UserId::new(), Role::Reviewer, Channel::Web, &seen, Timestamp::UNIX_EPOCH),
            Err(ApprovalError::ContentChanged)
        );
        assert_eq!(p.state, PostState::PendingReview);
    }

    #[test]
    fn promise_no_content_published_without_an_explicit_human_approval_and_an_edit_voids_it() {
        let mut p = post();
        p.submit(Timestamp::UNIX_EPOCH).unwrap();
        let seen = p.content.digest();
        let a =
            approve(&mut p, UserId::new(), Role::Reviewer, Channel::Telegram, &seen, Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(p.state, PostState::Approved);
        let publication = authorize_publication(&p, &a).unwrap();
        assert_eq!(publication.digest(), &seen);
        p.edit(content("sneaky"), Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(authorize_publication(&p, &a).unwrap_err(), NotApproved::NoApproval);
        // Even if the approval id were put back, the digest no longer matches.
        p.approval_id = Some(a.id);
        p.state = PostState::Approved;
        assert_eq!(authorize_publication(&p, &a).unwrap_err(), NotApproved::ContentChanged);
    }

    #[derive(Debug, Clone)]
    enum Op {
        EditCaption(u8),
        AddMedia,
        ReorderMedia,
        AddTarget,
        SetOption(u8),
        Submit,
        ApproveCurrent(Role),
        ApproveStale(Role),
        Reject,
        Schedule,
        Unschedule,
        Archive,
        Retry,
        TamperStateToApproved,
    }

    fn op() -> impl Strategy<Value = Op> {
        let role = prop::sample::select(Role::ALL.to_vec());
        prop_oneof![
            any::<u8>().prop_map(Op::EditCaption),
            Just(Op::AddMedia),
            Just(Op::ReorderMedia),
            Just(Op::AddTarget),
            any::<u8>().prop_map(Op::SetOption),
            Just(Op::Submit),
            role.clone().prop_map(Op::ApproveCurrent),
            role.prop_map(Op::ApproveStale),
            Just(Op::Reject),
            Just(Op::Schedule),
            Just(Op::Unschedule),
            Just(Op::Archive),
            Just(Op::Retry),
            Just(Op::TamperStateToApproved),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Over any sequence of edits and decisions, a publication can only be had for content
        /// identical to what a reviewer-capable role approved, with no edit since.
        #[test]
        fn nothing_unapproved_or_changed_becomes_publishable(ops in prop::collection::vec(op(), 1..40)) {
            let now = Timestamp::UNIX_EPOCH;
            let mut p = post();
            let mut approvals: Vec<Approval> = Vec::new();
            // The model: content approved and not edited since.
            let mut approved_content: Option<PostContent> = None;
            let mut stale = p.content.digest();
            for op in ops {
                let before = p.content.clone();
                match op {
                    Op::EditCaption(n) => {
                        let mut c = p.content.clone();
                        c.variants[0].caption = format!("caption {n}");
                        let _ = p.edit(c, now);
                    }
                    Op::AddMedia => {
                        let mut c = p.content.clone();
                        c.variants[0].media.push(MediaRef { id: MediaId::new(), digest: "sha256:m".into() });
                        let _ = p.edit(c, now);
                    }
                    Op::ReorderMedia => {
                        let mut c = p.content.clone();
                        c.variants[0].media.reverse();
                        let _ = p.edit(c, now);
                    }
                    Op::AddTarget => {
                        let mut c = p.content.clone();
                        if c.variants.len() == 1 {
                            c.variants.push(Variant { network: Network::Tiktok, caption: "t".into(), media: vec![], options: BTreeMap::new() });
                            c.targets.push(Target { network: Network::Tiktok, account: None });
                        }
                        let _ = p.edit(c, now);
                    }
                    Op::SetOption(n) => {
                        let mut c = p.content.clone();
                        c.variants[0].options.insert("privacy".into(), format!("level{n}"));
                        let _ = p.edit(c, now);
                    }
                    Op::Submit => { let _ = p.submit(now); }
                    Op::ApproveCurrent(role) => {
                        let seen = p.content.digest();
                        if let Ok(a) = approve(&mut p, UserId::new(), role, Channel::Web, &seen, now) {
                            prop_assert!(role.can(Permission::Review));
                            approved_content = Some(p.content.clone());
                            approvals.push(a);
                        }
                    }
                    Op::ApproveStale(role) => {
                        if let Ok(a) = approve(&mut p, UserId::new(), role, Channel::Web, &stale, now) {
                            prop_assert_eq!(&a.digest, &p.content.digest());
                            approved_content = Some(p.content.clone());
                            approvals.push(a);
                        }
                    }
                    Op::Reject => { let seen = p.content.digest(); let _ = reject(&mut p, Role::Reviewer, &seen, "no", now); }
                    Op::Schedule => {
                        let s = crate::post::Schedule::new(jiff::civil::date(2030, 1, 1).at(9, 0, 0, 0), "UTC").unwrap();
                        let _ = p.set_schedule(Some(s), now);
                    }
                    Op::Unschedule => { let _ = p.set_schedule(None, now); }
                    Op::Archive => { let _ = p.archive(now); }
                    Op::Retry => { let _ = p.retry(now); }
                    // A buggy caller forcing the state: the digest check must still hold.
                    Op::TamperStateToApproved => { p.state = PostState::Approved; }
                }
                if p.content != before {
                    approved_content = None;
                }
                stale = before.digest();
                for a in &approvals {
                    if let Ok(publication) = authorize_publication(&p, a) {
                        let expected = approved_content.as_ref();
                        prop_assert_eq!(Some(publication.content()), expected);
                        prop_assert_eq!(publication.digest(), &a.digest);
                        prop_assert!(a.approver_role.can(Permission::Review));
                    }
                }
            }
        }
    }
}
