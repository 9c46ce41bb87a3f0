//! The OpenAI-compatible provider against the fake: every output, every dialect, and the shape
//! of what was sent.

use crate::support::{self, KEY};
use nanopost_ai::openai::{OpenAiCompatible, OpenAiConfig, StructuredOutput, TokenLimitField};
use nanopost_ai::{
    CardFormat, ImageAnalysisRequest, ImageGen, ImageInput, ImageRequest, ImageUnderstanding, PlanRequest,
    ProviderLabel, TextGen,
};
use nanopost_domain::network::Network;
use nanopost_fakes::openai::{Dialect, FakeOpenAi, Misbehaviour};
use nanopost_fakes::{Failure, Route};
use serde_json::json;

#[tokio::test]
async fn captions_follow_the_schema_in_every_dialect() {
    let fake = support::fake().await;
    let ai = support::provider(&fake);
    for dialect in [Dialect::OpenAi, Dialect::Xai, Dialect::Ollama, Dialect::Lenient] {
        fake.set_dialect(dialect);
        let out =
            ai.captions(&support::caption_request(&Network::ALL)).await.unwrap_or_else(|e| panic!("{dialect:?}: {e}"));
        assert_eq!(out.output.captions.len(), 3, "{dialect:?}");
        for (caption, network) in out.output.captions.iter().zip(Network::ALL) {
            assert_eq!(caption.network, network);
            assert!(!caption.text.is_empty());
            assert!(!caption.hashtags.is_empty(), "the fake sends hashtags");
            assert!(caption.text.contains(&format!("#{}", caption.hashtags[0])));
        }
        assert_eq!(out.provider, ProviderLabel::OpenaiCompatible { name: "fake".into(), model: "gpt-4o-mini".into() });
        assert!(out.usage.prompt_tokens > 0, "{dialect:?} usage read");
        assert_eq!(out.usage.requests, 1);
    }
}

#[tokio::test]
async fn the_request_is_a_strict_json_schema_chat() {
    let fake = support::fake().await;
    support::provider(&fake).captions(&support::caption_request(&[Network::Linkedin])).await.unwrap();
    let req = &fake.requests()[0];
    assert_eq!(req.line(), "POST /v1/chat/completions");
    assert_eq!(req.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
    let body = req.json().unwrap();
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][1]["role"], "user");
    let rf = &body["response_format"];
    assert_eq!(rf["type"], "json_schema");
    assert_eq!(rf["json_schema"]["strict"], true);
    assert_eq!(
        rf["json_schema"]["schema"]["properties"]["captions"]["items"]["properties"]["network"]["enum"],
        json!(["linkedin"])
    );
    assert!(body["max_completion_tokens"].as_u64().unwrap() > 0);
    assert_eq!(fake.chats()[0].schema_name.as_deref(), Some("social_captions"));
}

#[tokio::test]
async fn older_servers_get_json_object_mode_and_max_tokens() {
    let fake = support::fake().await;
    let config = OpenAiConfig {
        structured_output: StructuredOutput::JsonObject,
        token_limit_field: TokenLimitField::MaxTokens,
        api_key: None,
        ..support::config_for(&fake)
    };
    fake.update_settings(|s| s.require_key = false);
    fake.misbehave_next(Misbehaviour::Reply(json!({"captions": [
        {"network": "tiktok", "text": "Rye, fresh at 7", "hashtags": ["#rye", "rye", "Bread Lovers"], "headline": "Rye at 7"}
    ]})));
    let ai = OpenAiCompatible::new(config).unwrap();
    let out = ai.captions(&support::caption_request(&[Network::Tiktok])).await.unwrap();
    let body = fake.requests()[0].json().unwrap();
    assert_eq!(body["response_format"], json!({"type": "json_object"}));
    assert!(body.get("max_completion_tokens").is_none() && body["max_tokens"].as_u64().is_some());
    assert!(fake.requests()[0].header("authorization").is_none());
    let caption = &out.output.captions[0];
    assert_eq!(caption.hashtags, vec!["rye", "BreadLovers"], "normalised and de-duplicated");
    assert_eq!(caption.text, "Rye, fresh at 7\n\n#rye #BreadLovers");
}

#[tokio::test]
async fn plans_have_the_count_asked_for() {
    let fake = support::fake().await;
    let request = PlanRequest {
        brand: support::brand(),
        networks: vec![Network::Instagram],
        count: 7,
        theme: "spring".into(),
        seed: 1,
    };
    let out = support::provider(&fake).plan(&request).await.unwrap();
    assert_eq!(out.output.posts.len(), 7);
    assert!(out.output.posts.iter().all(|p| !p.brief.is_empty() && !p.headline.is_empty()));
    let body = fake.requests()[0].json().unwrap();
    assert_eq!(body["response_format"]["json_schema"]["schema"]["properties"]["posts"]["minItems"], 7);
}

#[tokio::test]
async fn image_analysis_sends_the_image_as_a_data_url_or_link() {
    let fake = support::fake().await;
    let ai = support::provider(&fake);
    let png = support::png(40, 30, [200, 30, 30]);
    let request = ImageAnalysisRequest {
        image: ImageInput::Bytes(png),
        brand: support::brand(),
        network: Some(Network::Instagram),
        seed: 0,
    };
    let out = ai.analyse_image(&request).await.unwrap();
    assert!(!out.output.alt_text.is_empty() && !out.output.suggested_caption.is_empty());
    let body = fake.requests()[0].json().unwrap();
    let part = &body["messages"][1]["content"][1];
    assert_eq!(part["type"], "image_url");
    assert!(part["image_url"]["url"].as_str().unwrap().starts_with("data:image/png;base64,iVBOR"));
    assert_eq!(fake.chats()[0].images, 1);

    let by_link = ImageAnalysisRequest { image: ImageInput::Url("https://cdn.example/p.jpg".into()), ..request };
    ai.analyse_image(&by_link).await.unwrap();
    assert_eq!(
        fake.requests()[1].json().unwrap()["messages"][1]["content"][1]["image_url"]["url"],
        "https://cdn.example/p.jpg"
    );
}

#[tokio::test]
async fn a_non_image_is_refused_before_sending() {
    let fake = support::fake().await;
    let request = ImageAnalysisRequest {
        image: ImageInput::Bytes(b"%PDF-1.7".to_vec()),
        brand: support::brand(),
        network: None,
        seed: 0,
    };
    let err = support::provider(&fake).analyse_image(&request).await.unwrap_err();
    assert!(matches!(err, nanopost_ai::AiError::InvalidInput(_)), "{err:?}");
    assert!(fake.requests().is_empty());
}

async fn generate(
    fake: &FakeOpenAi,
    model: &str,
    network: Network,
    format: Option<CardFormat>,
) -> nanopost_ai::Generated<nanopost_ai::GeneratedImage> {
    let config = OpenAiConfig { image_model: Some(model.into()), ..support::config_for(fake) };
    let request = ImageRequest {
        brand: support::visual(),
        network,
        format,
        headline: "Rye at 7".into(),
        description: "a rye loaf on a wooden board".into(),
        seed: 3,
    };
    OpenAiCompatible::new(config).unwrap().generate_image(&request).await.unwrap_or_else(|e| panic!("{model}: {e}"))
}

#[tokio::test]
async fn images_come_back_at_the_network_size_for_each_model_family() {
    let fake = support::fake().await;
    for (model, network, format, size) in [
        ("gpt-image-1", Network::Instagram, None, (1080, 1350)),
        ("dall-e-3", Network::Linkedin, None, (1200, 627)),
        ("grok-2-image", Network::Tiktok, None, (1080, 1920)),
        ("dall-e-2", Network::Instagram, Some(CardFormat::Square), (1080, 1080)),
    ] {
        let out = generate(&fake, model, network, format).await;
        assert_eq!((out.output.width, out.output.height), size, "{model}");
        let decoded = image::load_from_memory_with_format(&out.output.jpeg, image::ImageFormat::Jpeg).unwrap();
        assert_eq!((decoded.width(), decoded.height()), size);
        assert_eq!(out.usage.images, 1);
    }
    let bodies = fake.bodies_to("/images/generations");
    assert_eq!(bodies[0]["size"], "1024x1536");
    assert!(bodies[0].get("response_format").is_none(), "gpt-image-1 rejects response_format");
    assert_eq!(bodies[1]["size"], "1792x1024");
    assert!(bodies[2].get("size").is_none(), "grok takes no size");
    assert!(bodies[0]["prompt"].as_str().unwrap().contains("Acme Bakery"));
}

#[tokio::test]
async fn an_image_answered_by_url_is_downloaded() {
    let fake = support::fake().await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Make a URL image on the fake as a dall-e-2 client with response_format=url would.
    let made: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/images/generations", fake.base_url()))
        .bearer_auth(KEY)
        .json(&json!({"model": "dall-e-2", "prompt": "bread", "size": "256x256", "response_format": "url"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = made["data"][0]["url"].as_str().unwrap().to_owned();
    let route = || Route::post("/v1/images/generations");
    let request = ImageRequest {
        brand: support::visual(),
        network: Network::Instagram,
        format: Some(CardFormat::Square),
        headline: "x".into(),
        description: String::new(),
        seed: 0,
    };
    let config = OpenAiConfig { image_model: Some("dall-e-3".into()), ..support::config_for(&fake) };
    let ai = OpenAiCompatible::new(config).unwrap();

    fake.fail_next(route(), Failure::json(200, json!({"created": 1, "data": [{"url": url}]})));
    let out = ai.generate_image(&request).await.unwrap();
    assert_eq!((out.output.width, out.output.height), (1080, 1080));

    let missing = url.replace("img-", "missing-");
    fake.fail_next(route(), Failure::json(200, json!({"created": 1, "data": [{"url": missing}]})));
    let err = ai.generate_image(&request).await.unwrap_err();
    assert!(matches!(err, nanopost_ai::AiError::Malformed(ref m) if m.contains("404")), "{err:?}");
}
