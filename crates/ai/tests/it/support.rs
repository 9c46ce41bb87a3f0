//! Brands, configs and timing helpers shared by the tests.

use nanopost_ai::openai::{OpenAiCompatible, OpenAiConfig, RetryPolicy};
use nanopost_ai::{ApiKey, BrandVisual, BrandVoice, CaptionRequest, ContentBrief};
use nanopost_domain::network::Network;
use nanopost_fakes::openai::FakeOpenAi;

pub const KEY: &str = "sk-test-fake-key";

pub fn brand() -> BrandVoice {
    BrandVoice {
        name: "Acme Bakery".into(),
        description: "A family bakery in Berlin, baking sourdough since 1990.".into(),
        voice: "warm, playful".into(),
        audience: "bread lovers in Berlin".into(),
        language: "en".into(),
        topics: vec!["sourdough bread".into(), "seasonal pastries".into(), "baking classes".into()],
        hashtags: vec!["AcmeBakery".into(), "sourdough".into(), "berlinfood".into()],
        call_to_action: Some("Order at acme.example.".into()),
        avoid_words: vec!["cheap".into()],
        avoid_claims: vec!["gluten-free".into()],
    }
}

pub fn visual() -> BrandVisual {
    BrandVisual { name: "Acme Bakery".into(), colors: vec!["#7a3e1d".into(), "#f4d35e".into()], logo: None }
}

pub fn caption_request(networks: &[Network]) -> CaptionRequest {
    CaptionRequest {
        brand: brand(),
        networks: networks.to_vec(),
        content: ContentBrief::about("rye loaf", "Our new rye loaf is out of the oven every morning at 7."),
        seed: 42,
    }
}

/// Fast retries so failure tests take milliseconds.
pub fn config_for(fake: &FakeOpenAi) -> OpenAiConfig {
    OpenAiConfig {
        name: "fake".into(),
        base_url: fake.base_url(),
        api_key: Some(ApiKey::new(KEY)),
        text_model: "gpt-4o-mini".into(),
        image_model: Some("gpt-image-1".into()),
        request_timeout_ms: 2_000,
        image_timeout_ms: 5_000,
        retry: RetryPolicy { max_attempts: 3, base_delay_ms: 5, max_delay_ms: 20, max_retry_after_ms: 2_000 },
        ..OpenAiConfig::default()
    }
}

pub fn provider(fake: &FakeOpenAi) -> OpenAiCompatible {
    OpenAiCompatible::new(config_for(fake)).expect("valid config")
}

pub async fn fake() -> FakeOpenAi {
    FakeOpenAi::start().await.expect("fake starts")
}

/// A small real PNG (solid colour) made with the image crate.
pub fn png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(width, height, image::Rgb(rgb));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}
