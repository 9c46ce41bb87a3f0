//! The offline provider: no network, no model. Captions and plans from the brand profile
//! through templates with variety (seeded, so reproducible), basic image descriptions from
//! pixels, and brand cards rendered locally. Every output says `provider: offline`.

mod analysis;
mod captions;
mod card;
mod plan;
pub mod templates;

use crate::brand::BrandVoice;
use crate::error::AiError;
use crate::format::CardFormat;
use crate::imaging;
use crate::output::{Captions, Generated, GeneratedImage, ImageAnalysis, PostPlan, ProviderLabel, Usage};
use crate::provider::{AiFuture, ImageGen, ImageUnderstanding, TextGen};
use crate::request::{
    CaptionRequest, ContentBrief, ImageAnalysisRequest, ImageInput, ImageRequest, MAX_PLAN_POSTS, PlanRequest,
};
use crate::rng::SeededRng;
use crate::text::first_avoided;
pub use captions::{Adjustments, Length};
use nanopost_domain::network::Network;
use std::sync::Arc;
use templates::{Pack, Tone};

#[derive(Clone)]
pub struct OfflineProvider {
    fonts: Arc<card::Fonts>,
}

impl Default for OfflineProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for OfflineProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OfflineProvider")
    }
}

impl OfflineProvider {
    pub fn new() -> Self {
        OfflineProvider { fonts: Arc::new(card::Fonts::load()) }
    }

    /// The captions, computed synchronously (cheap: no I/O).
    pub fn write_captions(&self, request: &CaptionRequest) -> Result<Generated<Captions>, AiError> {
        if request.networks.is_empty() {
            return Err(AiError::InvalidInput("choose at least one network".into()));
        }
        let mut notes = Vec::new();
        let pack = pack_with_note(&request.brand, &mut notes);
        let adjust = Adjustments::from_feedback(request.content.feedback.as_deref());
        if let Some(feedback) = request.content.feedback.as_deref().filter(|f| !f.trim().is_empty()) {
            if adjust.understood.is_empty() {
                notes.push(format!(
                    "Offline mode could not apply the feedback \"{}\"; this is a new variant.",
                    crate::text::cut_at_word(feedback, 80)
                ));
            } else {
                notes.push(format!("Applied feedback: {}.", adjust.understood.join(", ")));
            }
        }
        let seed = feedback_seed(request.seed, &request.content);
        let topic = choose_topic(&request.brand, &request.content, pack, seed);
        for word in [&request.content.topic, &request.content.brief]
            .into_iter()
            .filter_map(|t| first_avoided(t, &request.brand.avoid_words))
        {
            notes.push(format!("The brief uses \"{word}\", a word the brand avoids."));
        }
        let ctx = captions::Context {
            brand: &request.brand,
            pack,
            topic,
            tone: adjust.tone.unwrap_or_else(|| Tone::from_voice(&request.brand.voice)),
            adjust: &adjust,
            brief: &request.content.brief,
        };
        let mut seen = Vec::<Network>::new();
        let captions = request
            .networks
            .iter()
            .filter(|n| {
                let first = !seen.contains(n);
                seen.push(**n);
                first
            })
            .map(|n| captions::compose(&ctx, *n, seed))
            .collect();
        Ok(offline(Captions { captions }, notes))
    }

    pub fn write_plan(&self, request: &PlanRequest) -> Result<Generated<PostPlan>, AiError> {
        validate_plan(request)?;
        let mut notes = Vec::new();
        let pack = pack_with_note(&request.brand, &mut notes);
        Ok(offline(plan::plan(request, pack), notes))
    }

    /// Alt text from what the pixels say, and a caption in the brand's voice.
    pub fn describe(&self, request: &ImageAnalysisRequest) -> Result<Generated<ImageAnalysis>, AiError> {
        let ImageInput::Bytes(bytes) = &request.image else {
            return Err(AiError::InvalidInput("offline analysis needs the image file, not a link".into()));
        };
        let facts = analysis::facts(bytes)?;
        let mut notes = Vec::new();
        let pack = pack_with_note(&request.brand, &mut notes);
        notes.push("Offline analysis sees only size and colours: say what the image shows before publishing.".into());
        let mut rng = SeededRng::derive(request.seed, "image-caption");
        let topic = choose_topic(&request.brand, &ContentBrief::default(), pack, request.seed);
        let hook = rng.pick(pack.image_caption_hooks).copied().unwrap_or("{Topic}");
        let brief = templates::fill(hook, &topic, request.brand.name.trim(), request.brand.audience.trim());
        let caption_request = CaptionRequest {
            brand: request.brand.clone(),
            networks: vec![request.network.unwrap_or(Network::Instagram)],
            content: ContentBrief::about(topic, brief),
            seed: request.seed,
        };
        let suggested = self.write_captions(&caption_request)?;
        let suggested_caption = suggested.output.captions.into_iter().next().map(|c| c.text).unwrap_or_default();
        Ok(offline(ImageAnalysis { alt_text: analysis::alt_text(&facts, pack), suggested_caption }, notes))
    }

    /// A brand card as a JPEG of the network's size (CPU work: call from a blocking context).
    pub fn render_card(&self, request: &ImageRequest) -> Result<Generated<GeneratedImage>, AiError> {
        let format = CardFormat::resolve(request.network, request.format)?;
        let headline = if request.headline.trim().is_empty() { request.brand.name.as_str() } else { &request.headline };
        let spec = card::CardSpec {
            format,
            brand_name: &request.brand.name,
            colors: &request.brand.colors,
            headline,
            logo: request.brand.logo.as_ref().map(|l| l.0.as_slice()),
            seed: request.seed,
        };
        let card = card::render(&self.fonts, &spec)?;
        let jpeg = imaging::encode_jpeg(&card.image)?;
        let (width, height) = card.image.dimensions();
        let mut notes = card.notes;
        notes.push("Rendered offline as a brand card.".into());
        Ok(offline(GeneratedImage { jpeg, width, height, format, revised_prompt: None }, notes))
    }
}

pub(crate) fn validate_plan(request: &PlanRequest) -> Result<(), AiError> {
    if request.count == 0 || request.count > MAX_PLAN_POSTS {
        return Err(AiError::InvalidInput(format!("a plan has 1 to {MAX_PLAN_POSTS} posts")));
    }
    Ok(())
}

fn offline<T>(output: T, notes: Vec<String>) -> Generated<T> {
    Generated { output, provider: ProviderLabel::Offline, usage: Usage::default(), notes }
}

fn pack_with_note(brand: &BrandVoice, notes: &mut Vec<String>) -> &'static Pack {
    let primary = brand.primary_language();
    templates::pack_for(&primary).unwrap_or_else(|| {
        notes.push(format!("Offline mode has no {} templates yet: written in English.", brand.language.trim()));
        templates::english()
    })
}

/// The request's topic, else one of the brand's (chosen by the seed), else the pack's fallback.
fn choose_topic(brand: &BrandVoice, content: &ContentBrief, pack: &Pack, seed: u64) -> String {
    if !content.topic.trim().is_empty() {
        return content.topic.trim().to_owned();
    }
    let topics: Vec<&String> = brand.topics.iter().filter(|t| !t.trim().is_empty()).collect();
    let mut rng = SeededRng::derive(seed, "topic");
    rng.pick(&topics).map(|t| t.trim().to_owned()).unwrap_or_else(|| pack.fallback_topic.to_owned())
}

/// Feedback changes the variant too, so "regenerate" never returns the same text.
fn feedback_seed(seed: u64, content: &ContentBrief) -> u64 {
    match content.feedback.as_deref() {
        Some(f) if !f.trim().is_empty() => SeededRng::derive(seed, f).next_u64(),
        _ => seed,
    }
}

impl TextGen for OfflineProvider {
    fn label(&self) -> ProviderLabel {
        ProviderLabel::Offline
    }

    fn captions<'a>(&'a self, request: &'a CaptionRequest) -> AiFuture<'a, Captions> {
        Box::pin(async move { self.write_captions(request) })
    }

    fn plan<'a>(&'a self, request: &'a PlanRequest) -> AiFuture<'a, PostPlan> {
        Box::pin(async move { self.write_plan(request) })
    }
}

impl ImageUnderstanding for OfflineProvider {
    fn label(&self) -> ProviderLabel {
        ProviderLabel::Offline
    }

    fn analyse_image<'a>(&'a self, request: &'a ImageAnalysisRequest) -> AiFuture<'a, ImageAnalysis> {
        let (this, request) = (self.clone(), request.clone());
        Box::pin(async move { blocking(move || this.describe(&request)).await })
    }
}

impl ImageGen for OfflineProvider {
    fn label(&self) -> ProviderLabel {
        ProviderLabel::Offline
    }

    fn generate_image<'a>(&'a self, request: &'a ImageRequest) -> AiFuture<'a, GeneratedImage> {
        let (this, request) = (self.clone(), request.clone());
        Box::pin(async move { blocking(move || this.render_card(&request)).await })
    }
}

/// Pixel work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AiError> + Send + 'static,
) -> Result<T, AiError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| AiError::Image(format!("image work stopped: {e}")))?
}
