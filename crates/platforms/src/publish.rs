//! Publishing as a sequence of small steps (invariant I2).
//!
//! [`PublishProgress`] is the whole memory of a publication on one account: which containers or
//! uploads the network created (ids stored as they come back) and whether a creating call is in
//! flight. The caller stores it after every step, before the next one, so after a crash the next
//! step resumes from what exists instead of creating it again. A step that would create the post
//! itself first records that it is about to ([`Stage::PublishInFlight`]); resuming from that stage
//! asks the network whether the post exists before anything else.

use crate::error::{PlatformError, Result};
use crate::rules::MediaFacts;
use crate::secret::Secret;
use jiff::Timestamp;
use nanopost_domain::approval::ApprovedPublication;
use nanopost_domain::ids::MediaId;
use nanopost_domain::network::Network;
use nanopost_domain::post::Variant;
use nanopost_storage::AccountKind;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::Duration;

/// Where a publication is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Nothing created yet.
    Start,
    /// Creating items (IG carousel children, LinkedIn image uploads); `items` holds those done.
    Items,
    /// Items ready; the container (IG) or nothing yet (LinkedIn, TikTok).
    Container,
    /// The call that creates the post may have been sent: resume by asking the network.
    PublishInFlight,
    /// The network accepted the post and is processing it (TikTok).
    Processing,
    Published,
}

/// The stored memory of one publication on one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishProgress {
    pub stage: Stage,
    /// IG carousel child container ids, LinkedIn image URNs, in media order, as they came back.
    #[serde(default)]
    pub items: Vec<String>,
    /// The IG container (single or carousel parent), or TikTok's `publish_id`.
    #[serde(default)]
    pub container: Option<String>,
    /// When the first status poll of the current container or publish began.
    #[serde(default)]
    pub polling_since: Option<Timestamp>,
    /// When the creating call was first attempted (to find the post among recent ones).
    #[serde(default)]
    pub in_flight_since: Option<Timestamp>,
    #[serde(default)]
    pub published: Option<Published>,
    /// Settings the network step chose and later steps reuse (TikTok's privacy level).
    #[serde(default)]
    pub chosen: BTreeMap<String, String>,
    /// Set by [`PublishProgress::resumed`]: the creating call may have reached the network.
    #[serde(default)]
    pub maybe_sent: bool,
    /// The stage the publication was at before the creating call was recorded as in flight
    /// (where [`PublishProgress::refused`] goes back to).
    #[serde(default)]
    pub before_in_flight: Option<Stage>,
}

impl Default for PublishProgress {
    fn default() -> Self {
        Self::start()
    }
}

impl PublishProgress {
    pub fn start() -> Self {
        Self {
            stage: Stage::Start,
            items: vec![],
            container: None,
            polling_since: None,
            in_flight_since: None,
            published: None,
            chosen: BTreeMap::new(),
            maybe_sent: false,
            before_in_flight: None,
        }
    }

    /// Records that the creating call is about to be sent. The caller saves this before the
    /// next step sends it (invariant I2).
    pub(crate) fn enter_in_flight(&mut self, now: Timestamp) {
        if self.stage != Stage::PublishInFlight {
            self.before_in_flight = Some(self.stage);
        }
        self.stage = Stage::PublishInFlight;
        self.in_flight_since = Some(now);
    }

    /// Call on stored progress when the step failed with a refusal the network answered
    /// (a rejected token, a rate limit, refused content): the creating call created nothing,
    /// so the next attempt goes back to the stage before it and records "in flight" anew
    /// before sending. Progress that is unsure whether an earlier call went through stays
    /// as it is: that doubt is not lifted by a later refusal.
    pub fn refused(mut self) -> Self {
        if self.stage == Stage::PublishInFlight && !self.maybe_sent {
            self.stage = self.before_in_flight.take().unwrap_or(Stage::Start);
            self.in_flight_since = None;
        }
        self
    }

    /// Call on stored progress before advancing it again after a restart, a crash or any failed
    /// step: if the creating call was in flight, the network may have the post, so the next step
    /// asks before creating (and reports "unconfirmed" where the network cannot tell).
    pub fn resumed(mut self) -> Self {
        if self.stage == Stage::PublishInFlight {
            self.maybe_sent = true;
        }
        self
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("progress always serialises")
    }

    pub fn from_json(s: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(s)
    }
}

/// The post on the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// IG media id, LinkedIn share/ugcPost URN, TikTok post id (or publish id until public).
    pub external_id: String,
    pub url: Option<String>,
}

/// What the caller does after storing the returned progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Call the next step now.
    Continue,
    /// The network is processing: call again after this long.
    PollAfter(Duration),
    Done(Published),
    /// The network cannot tell whether the post exists: a human must check (never re-post).
    Unconfirmed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub progress: PublishProgress,
    pub next: Next,
}

impl Step {
    pub(crate) fn go(progress: PublishProgress) -> Self {
        Self { progress, next: Next::Continue }
    }
    pub(crate) fn poll(progress: PublishProgress, after: Duration) -> Self {
        Self { progress, next: Next::PollAfter(after) }
    }
    pub(crate) fn done(mut progress: PublishProgress, published: Published) -> Self {
        progress.stage = Stage::Published;
        progress.published = Some(published.clone());
        Self { progress, next: Next::Done(published) }
    }
    pub(crate) fn unconfirmed(progress: PublishProgress, why: impl Into<String>) -> Self {
        Self { progress, next: Next::Unconfirmed(why.into()) }
    }
}

/// What the adapter needs of the account it publishes to.
#[derive(Debug, Clone)]
pub struct AccountAccess {
    pub kind: AccountKind,
    /// IG user id, `urn:li:person:…` / `urn:li:organization:…`, TikTok open_id.
    pub external_id: String,
    pub access_token: Secret,
    pub details: BTreeMap<String, String>,
}

/// One media item of the approved variant, resolved by the media store.
#[derive(Debug, Clone)]
pub struct MediaItem {
    pub id: MediaId,
    /// `sha256:<hex>`, as in the approved content.
    pub digest: String,
    pub facts: MediaFacts,
    /// Unguessable, expiring URL under the public URL (Instagram and TikTok fetch from it).
    pub url: String,
    /// The bytes, for networks that take uploads (LinkedIn). Checked against `digest`.
    pub bytes: Option<std::sync::Arc<Vec<u8>>>,
}

/// The approved variant for `network` and its media, checked to be exactly what was approved
/// (invariant I1): same ids, same order, same digests, and uploaded bytes that hash to them.
pub(crate) fn approved_variant<'a>(
    network: Network,
    publication: &'a ApprovedPublication,
    account: &AccountAccess,
    media: &[MediaItem],
) -> Result<&'a Variant> {
    let reject = |m: &str| PlatformError::new(network, crate::ErrorClass::ContentRejected, "not_approved", m);
    let content = publication.content();
    let variant = content
        .variants
        .iter()
        .find(|v| v.network == network)
        .ok_or_else(|| reject("the approved post has no variant for this network"))?;
    let targeted = content
        .targets
        .iter()
        .any(|t| t.network == network && t.account.as_deref().is_none_or(|a| a == account.external_id));
    if !targeted {
        return Err(reject("the approved post does not target this account"));
    }
    if variant.media.len() != media.len()
        || variant
            .media
            .iter()
            .zip(media)
            .any(|(approved, item)| approved.id != item.id || approved.digest != item.digest)
    {
        return Err(reject("the media differ from the approved ones"));
    }
    for item in media {
        if let Some(bytes) = &item.bytes {
            let hex: String = Sha256::digest(bytes.as_slice()).iter().map(|b| format!("{b:02x}")).collect();
            if item.digest != format!("sha256:{hex}") {
                return Err(reject("a media file changed since it was approved"));
            }
        }
    }
    Ok(variant)
}

/// What the network says it allows now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishingLimits {
    /// Posts left in the current window (`None`: the network does not say).
    pub remaining: Option<u32>,
    pub total: Option<u32>,
    pub window_secs: Option<u64>,
}

/// Whether the network has the post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Existence {
    Exists(Published),
    Absent,
    CannotTell(String),
}

pub(crate) fn elapsed(since: Option<Timestamp>, now: Timestamp) -> Duration {
    since.and_then(|s| now.duration_since(s).try_into().ok()).unwrap_or(Duration::ZERO)
}
