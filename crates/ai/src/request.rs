//! What each output needs, and nothing more (the privacy promise is the shape of these types).

use crate::brand::{BrandVisual, BrandVoice};
use crate::format::CardFormat;
use nanopost_domain::network::Network;
use serde::Serialize;

/// What a post is about, as the person asked for it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ContentBrief {
    /// "Our new rye loaf"; empty: the provider picks one of the brand's topics.
    pub topic: String,
    /// Free text: facts, offer, occasion.
    pub brief: String,
    /// "Regenerate with this feedback": "shorter, no emoji".
    pub feedback: Option<String>,
    /// The caption being regenerated, so feedback has something to apply to.
    pub previous: Option<String>,
}

impl ContentBrief {
    pub fn about(topic: impl Into<String>, brief: impl Into<String>) -> Self {
        ContentBrief { topic: topic.into(), brief: brief.into(), feedback: None, previous: None }
    }

    pub fn with_feedback(mut self, feedback: impl Into<String>, previous: Option<String>) -> Self {
        self.feedback = Some(feedback.into());
        self.previous = previous;
        self
    }
}

/// One post's captions, one per network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptionRequest {
    pub brand: BrandVoice,
    pub networks: Vec<Network>,
    pub content: ContentBrief,
    /// Chooses among the variants (offline) so results are reproducible; regenerate with a new one.
    pub seed: u64,
}

/// Ideas for `count` posts (a week or month of content); dates and slots are chosen by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRequest {
    pub brand: BrandVoice,
    pub networks: Vec<Network>,
    pub count: usize,
    /// "Spring menu launch in May": optional guidance for the whole plan.
    pub theme: String,
    pub seed: u64,
}

/// Most posts one plan may ask for (a month at two a day).
pub const MAX_PLAN_POSTS: usize = 62;

/// An image to describe.
#[derive(Clone, PartialEq, Eq)]
pub enum ImageInput {
    /// The file's bytes (sent as a `data:` URL; its type is sniffed from the bytes).
    Bytes(Vec<u8>),
    /// A URL the provider can fetch itself (the offline provider cannot).
    Url(String),
}

impl std::fmt::Debug for ImageInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageInput::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            ImageInput::Url(u) => write!(f, "Url({u})"),
        }
    }
}

/// Alt text and a suggested caption for an uploaded image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageAnalysisRequest {
    pub image: ImageInput,
    /// The voice the suggested caption is written in.
    pub brand: BrandVoice,
    pub network: Option<Network>,
    pub seed: u64,
}

/// An image for one network's post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRequest {
    pub brand: BrandVisual,
    pub network: Network,
    /// `None`: the network's default ([`CardFormat::default_for`]).
    pub format: Option<CardFormat>,
    /// The card's headline (a short line from the caption).
    pub headline: String,
    /// What the picture should show (used by image models; the offline card ignores it).
    pub description: String,
    pub seed: u64,
}
