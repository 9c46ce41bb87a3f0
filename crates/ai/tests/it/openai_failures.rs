//! Every documented failure: what is retried, what is not, and that nothing half-written
//! comes back.

use crate::support;
use nanopost_ai::openai::{OpenAiCompatible, OpenAiConfig};
use nanopost_ai::{AiError, TextGen};
use nanopost_domain::network::Network;
use nanopost_fakes::openai::{Dialect, FakeOpenAi, Misbehaviour, api_error};
use nanopost_fakes::{Failure, Route};
use std::time::{Duration, Instant};

fn chat() -> Route {
    Route::post("/v1/chat/completions")
}

async fn captions(fake: &FakeOpenAi) -> Result<nanopost_ai::Generated<nanopost_ai::Captions>, AiError> {
    support::provider(fake).captions(&support::caption_request(&[Network::Instagram])).await
}

fn chat_calls(fake: &FakeOpenAi) -> usize {
    fake.requests_to(&chat()).len()
}

#[tokio::test]
async fn rate_limits_without_retry_after_back_off_and_recover() {
    let fake = support::fake().await;
    fake.fail_times(chat(), Failure::RateLimited { retry_after: None }, 2);
    let out = captions(&fake).await.unwrap();
    assert_eq!(out.usage.requests, 3);
    assert_eq!(chat_calls(&fake), 3);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let fake = support::fake().await;
    fake.fail_next(chat(), Failure::RateLimited { retry_after: Some(1) });
    let started = Instant::now();
    captions(&fake).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(950), "waited {:?}", started.elapsed());
    let times: Vec<_> = fake.requests().iter().map(|r| r.at).collect();
    assert!(times[1].duration_since(times[0]).as_secs_f64() >= 0.95);
}

#[tokio::test]
async fn a_retry_after_beyond_the_ceiling_is_returned_at_once() {
    let fake = support::fake().await;
    fake.fail_next(chat(), Failure::RateLimited { retry_after: Some(120) });
    let err = captions(&fake).await.unwrap_err();
    assert_eq!(err, AiError::RateLimited { retry_after: Some(Duration::from_secs(120)) });
    assert_eq!(chat_calls(&fake), 1);
    assert!(err.user_message().contains("120 seconds"));
}

#[tokio::test]
async fn persistent_rate_limits_give_up_after_the_bounded_attempts() {
    let fake = support::fake().await;
    fake.fail_always(chat(), Failure::RateLimited { retry_after: None });
    let err = captions(&fake).await.unwrap_err();
    assert_eq!(err, AiError::RateLimited { retry_after: None });
    assert_eq!(chat_calls(&fake), 3);
}

#[tokio::test]
async fn exhausted_quota_is_not_retried() {
    let fake = support::fake().await;
    fake.fail_always(chat(), Failure::QuotaExhausted);
    let err = captions(&fake).await.unwrap_err();
    assert!(matches!(err, AiError::QuotaExceeded { .. }), "{err:?}");
    assert_eq!(chat_calls(&fake), 1);
    assert!(!err.is_transient());
}

#[tokio::test]
async fn server_errors_are_retried() {
    let fake = support::fake().await;
    fake.fail_next(chat(), Failure::ServerError);
    fake.fail_next(chat(), api_error(503, "server_error", None, "The engine is currently overloaded"));
    assert_eq!(captions(&fake).await.unwrap().usage.requests, 3);

    fake.fail_always(chat(), Failure::ServerError);
    assert_eq!(captions(&fake).await.unwrap_err(), AiError::Unavailable { status: 500 });
}

#[tokio::test]
async fn slow_answers_time_out_and_are_retried() {
    let fake = support::fake().await;
    let config = OpenAiConfig { request_timeout_ms: 300, ..support::config_for(&fake) };
    let ai = OpenAiCompatible::new(config).unwrap();
    fake.fail_next(chat(), Failure::Delay(Duration::from_secs(3)));
    let out = ai.captions(&support::caption_request(&[Network::Tiktok])).await.unwrap();
    assert_eq!(out.usage.requests, 2);

    fake.fail_always(chat(), Failure::Hang);
    let started = Instant::now();
    let err = ai.captions(&support::caption_request(&[Network::Tiktok])).await.unwrap_err();
    assert_eq!(err, AiError::Timeout);
    assert!(started.elapsed() < Duration::from_secs(3), "three bounded attempts: {:?}", started.elapsed());
}

#[tokio::test]
async fn malformed_and_truncated_answers_are_retried_then_reported() {
    for m in
        [Misbehaviour::MalformedBody, Misbehaviour::TruncatedContent, Misbehaviour::NotJson, Misbehaviour::EmptyChoices]
    {
        let fake = support::fake().await;
        fake.misbehave_next(m.clone());
        let out = captions(&fake).await.unwrap_or_else(|e| panic!("{m:?} then a good answer: {e}"));
        assert_eq!(out.usage.requests, 2, "{m:?}");

        fake.misbehave_times(m.clone(), 3);
        let err = captions(&fake).await.unwrap_err();
        assert!(matches!(err, AiError::Malformed(_)), "{m:?}: {err:?}");
    }
}

#[tokio::test]
async fn a_cut_off_answer_is_not_used_nor_retried() {
    let fake = support::fake().await;
    fake.misbehave_next(Misbehaviour::CutOff);
    assert_eq!(captions(&fake).await.unwrap_err(), AiError::Truncated);
    assert_eq!(chat_calls(&fake), 1);
}

#[tokio::test]
async fn refusals_and_content_filters_are_a_clear_message() {
    let fake = support::fake().await;
    fake.misbehave_next(Misbehaviour::Refusal("I can't help with that.".into()));
    let err = captions(&fake).await.unwrap_err();
    assert_eq!(err, AiError::Refused { reason: "I can't help with that.".into() });
    assert!(err.user_message().contains("I can't help with that."));

    fake.misbehave_next(Misbehaviour::ContentFilter);
    assert!(matches!(captions(&fake).await.unwrap_err(), AiError::Refused { .. }));

    fake.set_dialect(Dialect::Lenient);
    fake.misbehave_next(Misbehaviour::ContentFilter);
    assert!(matches!(captions(&fake).await.unwrap_err(), AiError::Refused { .. }));
    assert_eq!(chat_calls(&fake), 3, "refusals are not retried");
}

#[tokio::test]
async fn image_content_policy_is_a_refusal() {
    let fake = support::fake().await;
    fake.fail_next(Route::post("/v1/images/generations"), Failure::ContentRejected);
    let request = nanopost_ai::ImageRequest {
        brand: support::visual(),
        network: Network::Instagram,
        format: None,
        headline: "x".into(),
        description: "y".into(),
        seed: 0,
    };
    let err = nanopost_ai::ImageGen::generate_image(&support::provider(&fake), &request).await.unwrap_err();
    assert!(matches!(err, AiError::Refused { .. }), "{err:?}");
}

#[tokio::test]
async fn bad_keys_and_bad_requests_are_not_retried() {
    let fake = support::fake().await;
    fake.update_settings(|s| s.accepted_keys = Some(vec!["sk-other".into()]));
    let err = captions(&fake).await.unwrap_err();
    assert!(matches!(err, AiError::Unauthorized { status: 401, .. }), "{err:?}");

    fake.update_settings(|s| {
        s.accepted_keys = None;
        s.chat_models = Some(vec!["gpt-4o".into()]);
    });
    let err = captions(&fake).await.unwrap_err();
    assert!(
        matches!(err, AiError::Rejected { status: 404, code: Some(ref c), .. } if c == "model_not_found"),
        "{err:?}"
    );
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn the_fake_rejects_bad_shapes_with_openai_errors() {
    let fake = support::fake().await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let url = format!("{}/chat/completions", fake.base_url());
    let cases = [
        (serde_json::json!({"model": "m", "messages": []}), "messages"),
        (serde_json::json!({"model": "m", "messages": [{"role": "robot", "content": "hi"}]}), "messages[0].role"),
        (
            serde_json::json!({"model": "m", "messages": [{"role": "user", "content": "hi"}],
                "response_format": {"type": "json_schema", "json_schema": {"name": "x", "strict": true,
                    "schema": {"type": "object", "properties": {"a": {"type": "string"}}, "required": []}}}}),
            "response_format",
        ),
        (
            serde_json::json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "json_object"}}),
            "messages",
        ),
        (
            serde_json::json!({"model": "m", "messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,/9j/4AAQ"}}]}]}),
            "messages[0].content[0].image_url.url",
        ),
        (serde_json::json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "tempreature": 1}), ""),
    ];
    for (body, param) in cases {
        let res = client.post(&url).bearer_auth("k").json(&body).send().await.unwrap();
        assert_eq!(res.status(), 400, "{body}");
        let err: serde_json::Value = res.json().await.unwrap();
        assert_eq!(err["error"]["type"], "invalid_request_error", "{err}");
        if !param.is_empty() {
            assert_eq!(err["error"]["param"], param, "{err}");
        }
    }
    let res = client
        .post(format!("{}/images/generations", fake.base_url()))
        .bearer_auth("k")
        .json(&serde_json::json!({"model": "gpt-image-1", "prompt": "p", "response_format": "b64_json"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = client
        .post(format!("{}/images/generations", fake.base_url()))
        .bearer_auth("k")
        .json(&serde_json::json!({"model": "dall-e-3", "prompt": "p", "n": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}
