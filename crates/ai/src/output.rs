//! What providers return, always labelled with who made it.

use crate::format::CardFormat;
use nanopost_domain::network::Network;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Who produced an output. Serialises as `"offline"` or `"openai_compatible"` under `kind`, so the
/// UI can say "written offline".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProviderLabel {
    Offline,
    /// `name` is the configured label (`openai`, `xai`, `ollama`…), `model` the model used.
    OpenaiCompatible {
        name: String,
        model: String,
    },
}

impl ProviderLabel {
    pub fn is_offline(&self) -> bool {
        matches!(self, ProviderLabel::Offline)
    }
}

impl fmt::Display for ProviderLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProviderLabel::Offline => f.write_str("offline"),
            ProviderLabel::OpenaiCompatible { name, model } => write!(f, "{name} ({model})"),
        }
    }
}

/// What a generation cost, for the workspace's usage and quota.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub images: u32,
    /// HTTP requests made, retries included (0 offline).
    pub requests: u32,
}

/// An output with its provenance.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated<T> {
    pub output: T,
    pub provider: ProviderLabel,
    pub usage: Usage,
    /// Things the reviewer should know ("no Portuguese templates: written in English").
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkCaption {
    pub network: Network,
    /// The whole caption as it would be published, hashtags included.
    pub text: String,
    /// The hashtags appended to `text`, without `#`.
    pub hashtags: Vec<String>,
    /// A short line for the image card.
    pub headline: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Captions {
    /// In the order the networks were asked for.
    pub captions: Vec<NetworkCaption>,
}

impl Captions {
    pub fn for_network(&self, network: Network) -> Option<&NetworkCaption> {
        self.captions.iter().find(|c| c.network == network)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedPost {
    pub topic: String,
    /// The kind of post: "behind the scenes", "tip", "question"…
    pub angle: String,
    pub headline: String,
    /// What the post says, to be turned into captions.
    pub brief: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostPlan {
    pub posts: Vec<PlannedPost>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageAnalysis {
    pub alt_text: String,
    pub suggested_caption: String,
}

/// A JPEG ready for the media library.
#[derive(Clone, PartialEq, Eq)]
pub struct GeneratedImage {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub format: CardFormat,
    /// An image model's rewrite of the prompt (dall-e-3), for the record.
    pub revised_prompt: Option<String>,
}

impl GeneratedImage {
    pub const MIME: &'static str = "image/jpeg";
}

impl fmt::Debug for GeneratedImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedImage")
            .field("jpeg", &format_args!("{} bytes", self.jpeg.len()))
            .field("width", &self.width)
            .field("height", &self.height)
            .field("format", &self.format)
            .field("revised_prompt", &self.revised_prompt)
            .finish()
    }
}
