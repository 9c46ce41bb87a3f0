//! AI providers for Nanopost: captions, post plans, image analysis and images, composed from the
//! brand profile.
//!
//! - [`provider`] is the one interface: [`TextGen`] (structured text: captions and plans, each
//!   with a JSON schema), [`ImageUnderstanding`] (alt text and a suggested caption) and
//!   [`ImageGen`] (an image for a network). [`AiProviders`] bundles one of each.
//! - [`openai`] speaks the OpenAI-compatible wire (OpenAI, xAI Grok, a local Ollama, vLLM or
//!   llama.cpp server), tolerant of vendors' deviations, with bounded retries.
//! - [`offline`] is the embedded default: templates with variety, and brand cards rendered
//!   locally. Its output is labelled [`ProviderLabel::Offline`] so the UI can say so.
//!
//! Privacy promise: "AI providers receive only the brand and content data needed for the
//! requested output". Requests are explicit structs ([`request`]) holding only that data: a
//! [`BrandVoice`] copied from the brand profile (no ids, no workspace, no people), and the
//! content brief. Nothing else can reach a provider because nothing else is in the request.

pub mod brand;
pub mod config;
pub mod error;
pub mod format;
pub mod imaging;
pub mod offline;
pub mod openai;
pub mod output;
pub mod provider;
pub mod request;
pub mod rng;
pub mod secret;
pub mod text;

pub use brand::{BrandVisual, BrandVoice, LogoImage};
pub use config::{AiConfig, AiProviders};
pub use error::AiError;
pub use format::CardFormat;
pub use output::{
    Captions, Generated, GeneratedImage, ImageAnalysis, NetworkCaption, PlannedPost, PostPlan, ProviderLabel, Usage,
};
pub use provider::{AiFuture, ImageGen, ImageUnderstanding, TextGen};
pub use request::{CaptionRequest, ContentBrief, ImageAnalysisRequest, ImageInput, ImageRequest, PlanRequest};
pub use secret::ApiKey;
