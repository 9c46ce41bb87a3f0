//! The structured-output tasks: for each, a strict JSON schema, instructions, the input (brand
//! and content data only) and the check of the answer.

use crate::brand::BrandVoice;
use crate::error::AiError;
use crate::imaging::sniff_mime;
use crate::output::{Captions, ImageAnalysis, NetworkCaption, PlannedPost, PostPlan};
use crate::request::{CaptionRequest, ImageAnalysisRequest, ImageInput, PlanRequest};
use crate::text::{count_hashtags, normalise_hashtag};
use base64::Engine;
use nanopost_domain::network::Network;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// One kind of structured answer.
pub trait StructuredTask: Send + Sync {
    type Raw: DeserializeOwned;
    type Output;
    /// `^[a-zA-Z0-9_-]{1,64}$`.
    fn schema_name(&self) -> &'static str;
    fn schema(&self) -> Value;
    fn instructions(&self) -> String;
    /// The data the answer is made from: brand and content, nothing else.
    fn input(&self) -> Value;
    /// Image parts for the user message (`data:` or `https:` URLs).
    fn image_urls(&self) -> Result<Vec<String>, AiError> {
        Ok(Vec::new())
    }
    fn finish(&self, raw: Self::Raw) -> Result<Self::Output, AiError>;
}

const JSON_ONLY: &str = "Answer with a single JSON object only, following the schema exactly.";

fn brand_rules(brand: &BrandVoice) -> String {
    let language = if brand.language.trim().is_empty() { "en" } else { brand.language.trim() };
    format!(
        "Write in the language with tag \"{language}\", in the brand's voice. Never use the brand's avoid_words \
         and never make any of its avoid_claims. Do not invent facts, prices, dates or people."
    )
}

fn network_limits(networks: &[Network]) -> Value {
    Value::Array(
        networks
            .iter()
            .map(|n| json!({"network": n.as_str(), "caption_limit": n.caption_limit(), "max_hashtags": n.max_hashtags()}))
            .collect(),
    )
}

fn unique(networks: &[Network]) -> Vec<Network> {
    let mut out = Vec::new();
    for n in networks {
        if !out.contains(n) {
            out.push(*n);
        }
    }
    out
}

pub struct CaptionTask<'a>(pub &'a CaptionRequest);

#[derive(Deserialize)]
pub struct RawCaptions {
    captions: Vec<RawCaption>,
}

#[derive(Deserialize)]
struct RawCaption {
    network: String,
    text: String,
    #[serde(default)]
    hashtags: Vec<String>,
    #[serde(default)]
    headline: String,
}

impl StructuredTask for CaptionTask<'_> {
    type Raw = RawCaptions;
    type Output = Captions;

    fn schema_name(&self) -> &'static str {
        "social_captions"
    }

    fn schema(&self) -> Value {
        let networks: Vec<&str> = unique(&self.0.networks).iter().map(|n| n.as_str()).collect();
        json!({
            "type": "object",
            "properties": {
                "captions": {
                    "type": "array",
                    "minItems": networks.len(),
                    "maxItems": networks.len(),
                    "items": {
                        "type": "object",
                        "properties": {
                            "network": {"type": "string", "enum": networks},
                            "text": {"type": "string", "description": "The caption without hashtags."},
                            "hashtags": {"type": "array", "items": {"type": "string"}, "description": "Without #."},
                            "headline": {"type": "string", "description": "At most 60 characters, for an image card."}
                        },
                        "required": ["network", "text", "hashtags", "headline"],
                        "additionalProperties": false
                    }
                }
            },
            "required": ["captions"],
            "additionalProperties": false
        })
    }

    fn instructions(&self) -> String {
        format!(
            "You write social media captions for the brand in the input. Write one caption for each network \
             listed, shaped for that network, within its caption_limit including hashtags, with at most \
             max_hashtags hashtags (fewer is better: 3 to 8). Put hashtags only in `hashtags`, without #. \
             End with the brand's call_to_action when it has one. If `feedback` is given, rewrite \
             `previous_caption` accordingly. {} {JSON_ONLY}",
            brand_rules(&self.0.brand)
        )
    }

    fn input(&self) -> Value {
        let c = &self.0.content;
        json!({
            "brand": self.0.brand,
            "networks": network_limits(&unique(&self.0.networks)),
            "topic": c.topic,
            "brief": c.brief,
            "feedback": c.feedback,
            "previous_caption": c.previous,
        })
    }

    fn finish(&self, raw: RawCaptions) -> Result<Captions, AiError> {
        let mut captions = Vec::new();
        for network in unique(&self.0.networks) {
            let found = raw
                .captions
                .iter()
                .find(|c| c.network.trim().eq_ignore_ascii_case(network.as_str()))
                .ok_or_else(|| AiError::Malformed(format!("the answer has no {} caption", network.label())))?;
            let text = found.text.trim();
            if text.is_empty() {
                return Err(AiError::Malformed(format!("the {} caption is empty", network.label())));
            }
            captions.push(assemble(network, text, &found.hashtags, found.headline.trim()));
        }
        Ok(Captions { captions })
    }
}

/// The caption text with its hashtags appended: duplicates and tags already in the text
/// dropped, and the count kept within the network's limit.
fn assemble(network: Network, text: &str, raw_tags: &[String], headline: &str) -> NetworkCaption {
    let room = network.max_hashtags().saturating_sub(count_hashtags(text));
    let mut hashtags: Vec<String> = Vec::new();
    for tag in raw_tags.iter().filter_map(|t| normalise_hashtag(t)) {
        let dup = hashtags.iter().any(|t| t.eq_ignore_ascii_case(&tag))
            || crate::text::contains_word(text, &format!("#{tag}"));
        if !dup && hashtags.len() < room {
            hashtags.push(tag);
        }
    }
    let full = if hashtags.is_empty() {
        text.to_owned()
    } else {
        let line = hashtags.iter().map(|t| format!("#{t}")).collect::<Vec<_>>().join(" ");
        format!("{text}\n\n{line}")
    };
    let headline = if headline.is_empty() { text.lines().next().unwrap_or("") } else { headline };
    NetworkCaption { network, text: full, hashtags, headline: crate::text::cut_at_word(headline, 60) }
}

pub struct PlanTask<'a>(pub &'a PlanRequest);

#[derive(Deserialize)]
pub struct RawPlan {
    posts: Vec<RawPlannedPost>,
}

#[derive(Deserialize)]
struct RawPlannedPost {
    topic: String,
    #[serde(default)]
    angle: String,
    #[serde(default)]
    headline: String,
    brief: String,
}

impl StructuredTask for PlanTask<'_> {
    type Raw = RawPlan;
    type Output = PostPlan;

    fn schema_name(&self) -> &'static str {
        "post_plan"
    }

    fn schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "posts": {
                    "type": "array",
                    "minItems": self.0.count,
                    "maxItems": self.0.count,
                    "items": {
                        "type": "object",
                        "properties": {
                            "topic": {"type": "string"},
                            "angle": {"type": "string", "description": "tip, behind the scenes, question, story…"},
                            "headline": {"type": "string"},
                            "brief": {"type": "string", "description": "What the post says, in two sentences."}
                        },
                        "required": ["topic", "angle", "headline", "brief"],
                        "additionalProperties": false
                    }
                }
            },
            "required": ["posts"],
            "additionalProperties": false
        })
    }

    fn instructions(&self) -> String {
        format!(
            "You plan social media posts for the brand in the input: exactly {} post ideas, varied in topic \
             (drawn from the brand's topics) and angle, suited to the networks listed, following the theme \
             if one is given. {} {JSON_ONLY}",
            self.0.count,
            brand_rules(&self.0.brand)
        )
    }

    fn input(&self) -> Value {
        json!({
            "brand": self.0.brand,
            "networks": network_limits(&unique(&self.0.networks)),
            "count": self.0.count,
            "theme": self.0.theme,
        })
    }

    fn finish(&self, raw: RawPlan) -> Result<PostPlan, AiError> {
        let posts: Vec<PlannedPost> = raw
            .posts
            .into_iter()
            .filter(|p| !p.brief.trim().is_empty())
            .take(self.0.count)
            .map(|p| PlannedPost {
                headline: if p.headline.trim().is_empty() { p.topic.clone() } else { p.headline.trim().to_owned() },
                topic: p.topic.trim().to_owned(),
                angle: p.angle.trim().to_owned(),
                brief: p.brief.trim().to_owned(),
            })
            .collect();
        if posts.len() < self.0.count {
            return Err(AiError::Malformed(format!(
                "the plan has {} of the {} posts asked for",
                posts.len(),
                self.0.count
            )));
        }
        Ok(PostPlan { posts })
    }
}

pub struct ImageAnalysisTask<'a>(pub &'a ImageAnalysisRequest);

#[derive(Deserialize)]
pub struct RawAnalysis {
    alt_text: String,
    #[serde(default)]
    suggested_caption: String,
}

impl StructuredTask for ImageAnalysisTask<'_> {
    type Raw = RawAnalysis;
    type Output = ImageAnalysis;

    fn schema_name(&self) -> &'static str {
        "image_analysis"
    }

    fn schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "alt_text": {"type": "string", "description": "What the image shows, for screen readers, at most 250 characters."},
                "suggested_caption": {"type": "string"}
            },
            "required": ["alt_text", "suggested_caption"],
            "additionalProperties": false
        })
    }

    fn instructions(&self) -> String {
        format!(
            "Describe the image for people who cannot see it (alt text: concrete, no \"image of\"), and suggest \
             a caption for the brand in the input, within the network's caption_limit. {} {JSON_ONLY}",
            brand_rules(&self.0.brand)
        )
    }

    fn input(&self) -> Value {
        json!({
            "brand": self.0.brand,
            "network": self.0.network.map(|n| network_limits(&[n])[0].clone()),
        })
    }

    fn image_urls(&self) -> Result<Vec<String>, AiError> {
        Ok(vec![match &self.0.image {
            ImageInput::Url(url) if url.starts_with("https://") || url.starts_with("http://") => url.clone(),
            ImageInput::Url(_) => return Err(AiError::InvalidInput("the image link must be an http(s) URL".into())),
            ImageInput::Bytes(bytes) => {
                if bytes.len() > crate::imaging::MAX_INPUT_BYTES {
                    return Err(AiError::InvalidInput("the image is larger than 20 MB".into()));
                }
                let mime = sniff_mime(bytes)
                    .ok_or_else(|| AiError::InvalidInput("the image must be JPEG, PNG, GIF or WebP".into()))?;
                format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes))
            }
        }])
    }

    fn finish(&self, raw: RawAnalysis) -> Result<ImageAnalysis, AiError> {
        let alt_text = raw.alt_text.trim().to_owned();
        if alt_text.is_empty() {
            return Err(AiError::Malformed("the answer has no alt text".into()));
        }
        Ok(ImageAnalysis { alt_text, suggested_caption: raw.suggested_caption.trim().to_owned() })
    }
}
