//! `POST /images/generations`: parameters per model family (they differ: see the reference's
//! table), the answer as base64 or a URL, and the result fitted to the network's size as JPEG.

use super::OpenAiCompatible;
use super::transport::MAX_IMAGE_BODY;
use super::wire::ImagesResponse;
use crate::error::AiError;
use crate::format::CardFormat;
use crate::output::{Generated, GeneratedImage, Usage};
use crate::request::ImageRequest;
use crate::text::cut_at_word;
use base64::Engine;
use serde_json::{Value, json};
use std::time::Duration;

/// What a model family accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `gpt-image-*`: sizes 1024², 1536×1024, 1024×1536; no `response_format` (always base64).
    GptImage,
    /// `dall-e-3`: 1024², 1792×1024, 1024×1792; `n` must be 1.
    DallE3,
    /// `dall-e-2`: squares only.
    DallE2,
    /// xAI `grok-*-image`: no `size`, no `quality`.
    Grok,
    /// Local servers (LocalAI, vLLM-omni…): the common subset.
    Other,
}

impl Family {
    pub fn of(model: &str) -> Self {
        let m = model.to_ascii_lowercase();
        if m.starts_with("gpt-image") {
            Family::GptImage
        } else if m.starts_with("dall-e-3") {
            Family::DallE3
        } else if m.starts_with("dall-e-2") {
            Family::DallE2
        } else if m.starts_with("grok") {
            Family::Grok
        } else {
            Family::Other
        }
    }

    fn prompt_limit(self) -> usize {
        match self {
            Family::GptImage => 32_000,
            Family::DallE3 => 4_000,
            Family::DallE2 => 1_000,
            Family::Grok | Family::Other => 1_000,
        }
    }

    /// The model's size closest to the card's shape.
    fn size(self, format: CardFormat) -> Option<&'static str> {
        let tall = matches!(format, CardFormat::Portrait | CardFormat::Story);
        let wide = format == CardFormat::Landscape;
        match self {
            Family::GptImage if tall => Some("1024x1536"),
            Family::GptImage if wide => Some("1536x1024"),
            Family::DallE3 if tall => Some("1024x1792"),
            Family::DallE3 if wide => Some("1792x1024"),
            Family::GptImage | Family::DallE3 | Family::DallE2 | Family::Other => Some("1024x1024"),
            Family::Grok => None,
        }
    }
}

/// The prompt: brand name and colours, the headline, what to show. Nothing else.
pub fn prompt(request: &ImageRequest, format: CardFormat, family: Family) -> String {
    let shape = match format {
        CardFormat::Square => "square",
        CardFormat::Portrait => "portrait (4:5)",
        CardFormat::Landscape => "landscape (1.91:1)",
        CardFormat::Story => "vertical (9:16)",
    };
    let mut p = format!(
        "A {shape} image for a {} post by the brand \"{}\".",
        request.network.label(),
        request.brand.name.trim()
    );
    if !request.description.trim().is_empty() {
        p.push_str(&format!(" It shows: {}.", request.description.trim().trim_end_matches('.')));
    }
    if !request.brand.colors.is_empty() {
        p.push_str(&format!(" Use the brand colours {}.", request.brand.colors.join(", ")));
    }
    if !request.headline.trim().is_empty() {
        p.push_str(&format!(" If any text appears, it is only this headline: \"{}\".", request.headline.trim()));
    }
    p.push_str(" Clean, modern, no watermarks, no logos of other brands.");
    cut_at_word(&p, family.prompt_limit())
}

pub fn body(model: &str, prompt: String, format: CardFormat, quality: Option<&str>) -> Value {
    let family = Family::of(model);
    let mut body = json!({"model": model, "prompt": prompt, "n": 1});
    if let Some(size) = family.size(format) {
        body["size"] = json!(size);
    }
    if family != Family::GptImage {
        body["response_format"] = json!("b64_json");
    }
    if let Some(q) = quality
        && matches!(family, Family::GptImage | Family::DallE3)
    {
        body["quality"] = json!(q);
    }
    body
}

pub async fn generate(
    provider: &OpenAiCompatible,
    request: &ImageRequest,
) -> Result<Generated<GeneratedImage>, AiError> {
    let config = provider.config();
    let Some(model) = config.image_model.as_deref() else {
        return Err(AiError::InvalidInput("no image model is configured".into()));
    };
    let format = CardFormat::resolve(request.network, request.format)?;
    let family = Family::of(model);
    let body = body(model, prompt(request, format, family), format, config.image_quality.as_deref());
    let timeout = Duration::from_millis(config.image_timeout_ms);
    let (answer, requests) = provider
        .transport
        .post_json(config, "images/generations", &body, timeout, MAX_IMAGE_BODY, |answer| {
            let parsed: ImagesResponse = serde_json::from_slice(&answer.body)
                .map_err(|e| AiError::Malformed(format!("the image answer is not valid JSON: {e}")))?;
            if parsed.data.is_empty() {
                return Err(AiError::Malformed("the image answer has no image".into()));
            }
            Ok(parsed)
        })
        .await?;
    let datum = &answer.data[0];
    let bytes = match (&datum.b64_json, &datum.url) {
        (Some(b64), _) => base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|e| AiError::Malformed(format!("the image is not valid base64: {e}")))?,
        // DALL·E URLs expire after an hour: fetch now.
        (None, Some(url)) => provider.transport.download(url, timeout).await?,
        (None, None) => return Err(AiError::Malformed("the image answer has neither b64_json nor url".into())),
    };
    let (width, height) = format.size();
    let jpeg = crate::offline::blocking(move || {
        let image =
            crate::imaging::decode(&bytes).map_err(|e| AiError::Malformed(format!("the generated image: {e}")))?;
        crate::imaging::encode_jpeg(&crate::imaging::fill(&image, width, height))
    })
    .await?;
    let usage = answer.usage.as_ref().map_or(Usage::default(), |u| Usage {
        prompt_tokens: u.prompt_tokens,
        completion_tokens: u.completion_tokens,
        ..Usage::default()
    });
    let mut notes = Vec::new();
    if request.brand.logo.is_some() {
        notes.push("The logo is not sent to the image model; add it in the editor if wanted.".to_owned());
    }
    Ok(Generated {
        output: GeneratedImage { jpeg, width, height, format, revised_prompt: datum.revised_prompt.clone() },
        provider: provider.label_for(model),
        usage: Usage { images: 1, requests, ..usage },
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_follow_the_family() {
        let b = body("gpt-image-1", "p".into(), CardFormat::Portrait, Some("low"));
        assert_eq!(b["size"], "1024x1536");
        assert!(b.get("response_format").is_none());
        let b = body("dall-e-3", "p".into(), CardFormat::Landscape, None);
        assert_eq!((b["size"].as_str(), b["response_format"].as_str()), (Some("1792x1024"), Some("b64_json")));
        let b = body("grok-2-image", "p".into(), CardFormat::Story, Some("hd"));
        assert!(b.get("size").is_none() && b.get("quality").is_none());
    }
}
