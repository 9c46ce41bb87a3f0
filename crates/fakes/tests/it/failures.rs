//! Failure injection shared by every fake: routes, counts, timing failures, dropped connections.

use crate::support::client;
use nanopost_fakes::{Failure, FakeInstagram, Route};
use serde_json::Value;
use std::time::{Duration, Instant};

fn publish_setup(fake: &FakeInstagram) -> (String, String, String) {
    let ig = fake.accounts()[0].id.clone();
    let token = fake.issue_token(&ig, &["instagram_business_content_publish"]).access_token;
    (ig, token, fake.instagram_base_url())
}

async fn create_container(base: &str, ig: &str, token: &str) -> String {
    let r = client()
        .post(format!("{base}/v21.0/{ig}/media"))
        .query(&[("image_url", "https://m/a.jpg"), ("access_token", token)])
        .send()
        .await
        .unwrap();
    r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn drop_after_action_publishes_but_the_client_never_hears_back() {
    let fake = FakeInstagram::start().await.unwrap();
    let (ig, token, base) = publish_setup(&fake);
    let container = create_container(&base, &ig, &token).await;
    fake.fail_next(Route::post("**/media_publish"), Failure::DropAfterAction);

    let url = format!("{base}/v21.0/{ig}/media_publish");
    let outcome = client().post(&url).query(&[("creation_id", &container), ("access_token", &token)]).send().await;
    assert!(outcome.is_err(), "the connection must drop without an answer: {outcome:?}");
    assert_eq!(fake.media().len(), 1, "the action happened");
    assert_eq!(fake.containers()[0].status_code, "PUBLISHED");

    // The rule was one-shot: the next request is served (and refuses a second publication).
    let r = client().post(&url).query(&[("creation_id", &container), ("access_token", &token)]).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(fake.requests_to(&Route::post("**/media_publish")).len(), 2);
}

#[tokio::test]
async fn drop_before_action_changes_nothing() {
    let fake = FakeInstagram::start().await.unwrap();
    let (ig, token, base) = publish_setup(&fake);
    fake.fail_next(Route::post("/*/*/media"), Failure::DropBeforeAction);
    let outcome = client()
        .post(format!("{base}/v21.0/{ig}/media"))
        .query(&[("image_url", "https://m/a.jpg"), ("access_token", &token)])
        .send()
        .await;
    assert!(outcome.is_err());
    assert!(fake.containers().is_empty());
}

#[tokio::test]
async fn hang_never_answers_and_delay_answers_late() {
    let fake = FakeInstagram::start().await.unwrap();
    let (_, token, base) = publish_setup(&fake);
    fake.fail_next(Route::get("**/me"), Failure::Hang);
    let started = Instant::now();
    let outcome = client()
        .get(format!("{base}/v21.0/me"))
        .query(&[("access_token", &token)])
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(outcome.unwrap_err().is_timeout());
    assert!(started.elapsed() < Duration::from_secs(3));

    fake.fail_next(Route::get("**/me"), Failure::Delay(Duration::from_millis(200)));
    let started = Instant::now();
    let r = client().get(format!("{base}/v21.0/me")).query(&[("access_token", &token)]).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn rules_match_by_method_path_and_listener_and_count_down() {
    let fake = FakeInstagram::start().await.unwrap();
    let (_, token, base) = publish_setup(&fake);
    let me = format!("{base}/v21.0/me");
    fake.fail_times(Route::get("**/me").on("facebook"), Failure::ServerError, 5);
    fake.fail_times(Route::get("**/me").on("instagram"), Failure::RateLimited { retry_after: Some(120) }, 2);

    for _ in 0..2 {
        let r = client().get(&me).query(&[("access_token", &token)]).send().await.unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(r.headers()["retry-after"], "120");
        assert!(
            r.headers()["x-business-use-case-usage"]
                .to_str()
                .unwrap()
                .contains("\"estimated_time_to_regain_access\":2")
        );
        let body: Value = r.json().await.unwrap();
        assert_eq!((body["error"]["code"].as_i64(), body["error"]["is_transient"].as_bool()), (Some(4), Some(true)));
    }
    let r = client().get(&me).query(&[("access_token", &token)]).send().await.unwrap();
    assert_eq!(r.status(), 200);

    fake.fail_always(
        Route::any(),
        Failure::Respond { status: 418, headers: vec![("x-test".into(), "1".into())], body: "teapot".into() },
    );
    let r = client().get(&me).query(&[("access_token", &token)]).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["x-test"].to_str().unwrap()), (418, "1"));
    fake.clear_failures();
    assert_eq!(client().get(&me).query(&[("access_token", &token)]).send().await.unwrap().status(), 200);

    let recorded = fake.requests();
    assert_eq!(recorded.len(), 5);
    assert_eq!(recorded[0].line(), format!("GET /v21.0/me?access_token={token}"));
    assert_eq!(recorded[0].query_param("access_token").as_deref(), Some(token.as_str()));
    assert!(recorded.windows(2).all(|w| w[0].seq < w[1].seq));
}

#[tokio::test]
async fn generic_classes_render_in_the_graph_shape() {
    let fake = FakeInstagram::start().await.unwrap();
    let (_, token, base) = publish_setup(&fake);
    let cases = [
        (Failure::ServerError, 500, 2, None),
        (Failure::TokenExpired, 400, 190, Some(463)),
        (Failure::TokenInvalid, 400, 190, Some(467)),
        (Failure::TokenRevoked, 400, 190, Some(458)),
        (Failure::PermissionMissing, 403, 10, None),
        (Failure::ContentRejected, 400, 36003, Some(2207009)),
        (Failure::QuotaExhausted, 400, 9, Some(2207042)),
    ];
    for (failure, status, code, subcode) in cases {
        fake.fail_next(Route::any(), failure.clone());
        let r = client().get(format!("{base}/v21.0/me")).query(&[("access_token", &token)]).send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{failure:?}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"].as_i64(), Some(code), "{failure:?}");
        assert_eq!(body["error"]["error_subcode"].as_i64(), subcode, "{failure:?}");
    }
}
