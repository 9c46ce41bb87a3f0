//! The TikTok fake: consent with PKCE, refresh rotation, creator info, posting state machines,
//! the unaudited mode, rate limits and the error envelope.

use crate::support::{client, location, location_params, param};
use base64::Engine;
use jiff::{SignedDuration, Timestamp};
use nanopost_domain::clock::ManualClock;
use nanopost_fakes::tiktok::{CreatorSpec, TikTokSettings, api_error};
use nanopost_fakes::{Consent, Failure, FakeNetworks, FakeTikTok, Readiness, Route, TikTokConfig, demo};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::Arc;

const REDIRECT: &str = "http://127.0.0.1:9/tt/callback";
const PUBLISH: &[&str] = &["user.info.basic", "video.publish", "video.upload", "video.list"];

async fn start(settings: TikTokSettings) -> (FakeTikTok, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(Timestamp::from_second(1_800_000_000).unwrap()));
    let config = TikTokConfig { settings, ..TikTokConfig::default() }.with_clock(clock.clone());
    (FakeTikTok::start_with(config).await.unwrap(), clock)
}

fn creator(fake: &FakeTikTok) -> String {
    fake.creators()[0].0.clone()
}

async fn api(fake: &FakeTikTok, path: &str, token: &str, body: Value) -> (u16, Value) {
    let r = client()
        .post(format!("{}{path}", fake.base_url()))
        .bearer_auth(token)
        .header("Content-Type", "application/json; charset=UTF-8")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn token_call(fake: &FakeTikTok, form: &[(&str, &str)]) -> (u16, Value) {
    let r = client().post(format!("{}/v2/oauth/token/", fake.base_url())).form(form).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn video_pull(privacy: &str, url: &str) -> Value {
    json!({
        "post_info": {"title": "clip #fake", "privacy_level": privacy, "disable_duet": false, "disable_comment": false,
                      "disable_stitch": false, "video_cover_timestamp_ms": 1000},
        "source_info": {"source": "PULL_FROM_URL", "video_url": url},
    })
}

async fn fetch_status(fake: &FakeTikTok, token: &str, publish_id: &str) -> Value {
    let (status, body) = api(fake, "/v2/post/publish/status/fetch/", token, json!({"publish_id": publish_id})).await;
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

#[tokio::test]
async fn consent_with_pkce_and_code_exchange() {
    let (fake, _) = start(TikTokSettings::default()).await;
    let verifier = "a-very-long-code-verifier-with-enough-entropy-0123456789";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let authorize = format!(
        "{}/v2/auth/authorize/?client_key={}&scope=user.info.basic,video.publish&response_type=code&redirect_uri={REDIRECT}&state=tt-1&code_challenge={challenge}&code_challenge_method=S256",
        fake.base_url(),
        demo::TIKTOK_CLIENT_KEY
    );
    let html = client().get(&authorize).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(">Allow<") && html.contains(">Deny<") && html.contains("@nanopost.demo"));

    // The browser's POST (hidden fields + button) answers 302 with code, scopes and state.
    let mut form: Vec<(String, String)> = location_params(&authorize);
    form.push(("decision".into(), "allow".into()));
    let answer = client().post(format!("{}/v2/auth/authorize/", fake.base_url())).form(&form).send().await.unwrap();
    assert_eq!(answer.status(), 302);
    let params = location_params(&location(&answer));
    assert_eq!(param(&params, "state").as_deref(), Some("tt-1"));
    assert_eq!(param(&params, "scopes").as_deref(), Some("user.info.basic,video.publish"));
    let code = param(&params, "code").unwrap();

    let exchange = |verifier: &'static str, code: String| {
        let fake = fake.clone();
        async move {
            token_call(
                &fake,
                &[
                    ("client_key", demo::TIKTOK_CLIENT_KEY),
                    ("client_secret", demo::TIKTOK_CLIENT_SECRET),
                    ("code", &code),
                    ("grant_type", "authorization_code"),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", verifier),
                ],
            )
            .await
        }
    };
    let (status, wrong) = exchange("another-code-verifier-that-does-not-match-the-challenge", code.clone()).await;
    assert_eq!((status, wrong["error"].as_str()), (400, Some("invalid_grant")));
    assert!(wrong["log_id"].is_string());
    let (status, tokens) = exchange(verifier, code.clone()).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["open_id"], creator(&fake).as_str());
    assert_eq!(tokens["scope"], "user.info.basic,video.publish");
    assert_eq!(tokens["expires_in"], 7200);
    assert_eq!(tokens["token_type"], "Bearer");
    let (status, _) = exchange(verifier, code).await;
    assert_eq!(status, 400, "codes are single use");

    let r = client()
        .get(format!("{}/v2/user/info/?fields=open_id,display_name", fake.base_url()))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let info: Value = r.json().await.unwrap();
    assert_eq!(info["data"]["user"]["display_name"], "Nanopost Demo");
    assert_eq!(info["error"]["code"], "ok");

    let denied = location_params(&fake.consent(&authorize, Consent::deny()).unwrap());
    assert_eq!(param(&denied, "error").as_deref(), Some("access_denied"));
    let plain = authorize.replace("S256", "plain");
    assert_eq!(fake.consent(&plain, Consent::allow()).unwrap_err().status, 400);
}

#[tokio::test]
async fn refresh_rotates_the_refresh_token_and_revoke_kills_the_grant() {
    let (fake, clock) = start(TikTokSettings::default()).await;
    let issued = fake.issue_token(&creator(&fake), PUBLISH);
    let refresh = |value: String| {
        let fake = fake.clone();
        async move {
            token_call(
                &fake,
                &[
                    ("client_key", demo::TIKTOK_CLIENT_KEY),
                    ("client_secret", demo::TIKTOK_CLIENT_SECRET),
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &value),
                ],
            )
            .await
        }
    };
    clock.advance(SignedDuration::from_hours(3));
    assert!(!fake.token_is_valid(&issued.access_token), "access tokens last 2 h");
    let (status, first) = refresh(issued.refresh_token.clone()).await;
    assert_eq!(status, 200, "{first}");
    let rotated = first["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rotated, issued.refresh_token);
    assert_eq!(first["refresh_expires_in"], 180 * 24 * 3600, "a rotated token gets a full lifetime");
    let (status, reused) = refresh(issued.refresh_token.clone()).await;
    assert_eq!((status, reused["error"].as_str()), (400, Some("invalid_grant")), "the old refresh token is dead");
    let (status, second) = refresh(rotated.clone()).await;
    assert_eq!(status, 200);
    let newest = second["refresh_token"].as_str().unwrap().to_owned();

    let r = client()
        .post(format!("{}/v2/oauth/revoke/", fake.base_url()))
        .form(&[
            ("client_key", demo::TIKTOK_CLIENT_KEY),
            ("client_secret", demo::TIKTOK_CLIENT_SECRET),
            ("token", second["access_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(!fake.refresh_token_is_valid(&newest));
    assert!(!fake.token_is_valid(second["access_token"].as_str().unwrap()));
    let (status, body) =
        api(&fake, "/v2/post/publish/creator_info/query/", second["access_token"].as_str().unwrap(), json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("access_token_invalid")));
}

#[tokio::test]
async fn unaudited_apps_only_post_self_only_and_privacy_must_be_offered() {
    let (fake, _) = start(TikTokSettings::default()).await;
    let open_id = creator(&fake);
    let token = fake.issue_token(&open_id, PUBLISH).access_token;
    let (status, info) = api(&fake, "/v2/post/publish/creator_info/query/", &token, json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(info["data"]["privacy_level_options"].as_array().unwrap().len(), 4);
    assert_eq!(info["data"]["max_video_post_duration_sec"], 600);

    let (status, body) =
        api(&fake, "/v2/post/publish/video/init/", &token, video_pull("PUBLIC_TO_EVERYONE", "https://v/1.mp4")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("unaudited_client_can_only_post_to_private_accounts"))
    );
    let (status, ok) =
        api(&fake, "/v2/post/publish/video/init/", &token, video_pull("SELF_ONLY", "https://v/1.mp4")).await;
    assert_eq!(status, 200, "{ok}");
    assert!(ok["data"]["publish_id"].as_str().unwrap().starts_with("v_pub_url~"));

    fake.update_settings(|s| s.audited = true);
    fake.update_creator(&open_id, |c| c.privacy_level_options = vec!["FOLLOWER_OF_CREATOR".into(), "SELF_ONLY".into()]);
    let (status, body) =
        api(&fake, "/v2/post/publish/video/init/", &token, video_pull("PUBLIC_TO_EVERYONE", "https://v/2.mp4")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("privacy_level_option_mismatch")));
    let (status, _) =
        api(&fake, "/v2/post/publish/video/init/", &token, video_pull("FOLLOWER_OF_CREATOR", "https://v/2.mp4")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn unaudited_apps_serve_at_most_five_posting_users_a_day() {
    let (fake, clock) = start(TikTokSettings::default()).await;
    for i in 0..6 {
        let open_id =
            if i == 0 { creator(&fake) } else { fake.add_creator(CreatorSpec::new(&format!("user{i}"), "U")) };
        let token = fake.issue_token(&open_id, PUBLISH).access_token;
        let (status, body) =
            api(&fake, "/v2/post/publish/video/init/", &token, video_pull("SELF_ONLY", "https://v/x.mp4")).await;
        if i < 5 {
            assert_eq!(status, 200, "{body}");
        } else {
            assert_eq!((status, body["error"]["code"].as_str()), (403, Some("reached_active_user_cap")));
            clock.advance(SignedDuration::from_hours(25));
            let token = fake.issue_token(&open_id, PUBLISH).access_token;
            let (status, _) =
                api(&fake, "/v2/post/publish/video/init/", &token, video_pull("SELF_ONLY", "https://v/x.mp4")).await;
            assert_eq!(status, 200, "a day later there is room again");
        }
    }
}

#[tokio::test]
async fn pulled_video_goes_processing_download_then_publish_complete_with_a_post_id() {
    let settings = TikTokSettings {
        audited: true,
        publish_readiness: Readiness::AfterPolls(2),
        post_id_delay_polls: 1,
        ..Default::default()
    };
    let (fake, _) = start(settings).await;
    let token = fake.issue_token(&creator(&fake), PUBLISH).access_token;
    let (_, init) =
        api(&fake, "/v2/post/publish/video/init/", &token, video_pull("PUBLIC_TO_EVERYONE", "https://v/a.mp4")).await;
    let id = init["data"]["publish_id"].as_str().unwrap();
    assert!(init["data"].get("upload_url").is_none());

    let mut seen = Vec::new();
    for _ in 0..4 {
        let s = fetch_status(&fake, &token, id).await;
        seen.push((
            s["status"].as_str().unwrap().to_owned(),
            s["publicaly_available_post_id"].as_array().unwrap().len(),
        ));
    }
    let expected =
        [("PROCESSING_DOWNLOAD", 0), ("PROCESSING_DOWNLOAD", 0), ("PUBLISH_COMPLETE", 0), ("PUBLISH_COMPLETE", 1)];
    assert_eq!(seen, expected.map(|(s, n)| (s.to_owned(), n)));

    let r = client()
        .post(format!("{}/v2/video/list/?fields=id,title,share_url", fake.base_url()))
        .bearer_auth(&token)
        .json(&json!({"max_count": 20}))
        .send()
        .await
        .unwrap();
    let list: Value = r.json().await.unwrap();
    assert_eq!(list["data"]["videos"][0]["title"], "clip #fake");
    let share = list["data"]["videos"][0]["share_url"].as_str().unwrap();
    assert!(client().get(share).send().await.unwrap().text().await.unwrap().contains("clip #fake"));
    assert_eq!(fake.publishes()[0].post_id.as_deref(), list["data"]["videos"][0]["id"].as_str());
}

#[tokio::test]
async fn file_upload_takes_ordered_chunks_then_processes() {
    let settings = TikTokSettings { audited: true, publish_readiness: Readiness::AfterPolls(0), ..Default::default() };
    let (fake, _) = start(settings).await;
    let token = fake.issue_token(&creator(&fake), PUBLISH).access_token;
    let mb = 1024 * 1024u64;
    let size = 11 * mb;
    let init = |chunk: u64, total: u64| {
        json!({
            "post_info": {"title": "uploaded", "privacy_level": "SELF_ONLY"},
            "source_info": {"source": "FILE_UPLOAD", "video_size": size, "chunk_size": chunk, "total_chunk_count": total},
        })
    };
    let (status, bad) = api(&fake, "/v2/post/publish/video/init/", &token, init(5 * mb, 3)).await;
    assert_eq!((status, bad["error"]["code"].as_str()), (400, Some("invalid_params")), "floor(11/5) is 2 chunks");
    let (status, ok) = api(&fake, "/v2/post/publish/video/init/", &token, init(5 * mb, 2)).await;
    assert_eq!(status, 200, "{ok}");
    let id = ok["data"]["publish_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("v_pub_file~"));
    let upload_url = ok["data"]["upload_url"].as_str().unwrap().to_owned();
    assert_eq!(fetch_status(&fake, &token, &id).await["status"], "PROCESSING_UPLOAD");

    let put = |first: u64, last: u64| {
        client()
            .put(&upload_url)
            .header("Content-Type", "video/mp4")
            .header("Content-Range", format!("bytes {first}-{last}/{size}"))
            .body(vec![0u8; (last - first + 1) as usize])
            .send()
    };
    // Out of order: refused.
    assert_eq!(put(5 * mb, size - 1).await.unwrap().status(), 400);
    assert_eq!(put(0, 5 * mb - 1).await.unwrap().status(), 206);
    assert_eq!(fetch_status(&fake, &token, &id).await["uploaded_bytes"], 5 * mb);
    assert_eq!(put(5 * mb, size - 1).await.unwrap().status(), 201, "the last chunk carries the remainder (6 MB)");
    let done = fetch_status(&fake, &token, &id).await;
    assert_eq!(done["status"], "PUBLISH_COMPLETE");
    assert_eq!(done["publicaly_available_post_id"], json!([]), "SELF_ONLY posts never get a public id");
}

#[tokio::test]
async fn photo_posts_pull_from_url_and_failures_carry_a_reason() {
    let settings = TikTokSettings { audited: true, publish_readiness: Readiness::AfterPolls(0), ..Default::default() };
    let (fake, _) = start(settings).await;
    let token = fake.issue_token(&creator(&fake), PUBLISH).access_token;
    let photo = |source: &str, mode: &str, title: &str| {
        json!({
            "media_type": "PHOTO", "post_mode": mode,
            "post_info": {"title": title, "description": "desc", "privacy_level": "PUBLIC_TO_EVERYONE", "disable_comment": false, "auto_add_music": true},
            "source_info": {"source": source, "photo_cover_index": 0, "photo_images": ["https://p/1.jpg", "https://p/2.jpg"]},
        })
    };
    let (status, body) =
        api(&fake, "/v2/post/publish/content/init/", &token, photo("FILE_UPLOAD", "DIRECT_POST", "t")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_params")));
    let (status, body) =
        api(&fake, "/v2/post/publish/content/init/", &token, photo("PULL_FROM_URL", "DIRECT_POST", &"x".repeat(91)))
            .await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_params")), "photo titles stop at 90");

    let (_, ok) =
        api(&fake, "/v2/post/publish/content/init/", &token, photo("PULL_FROM_URL", "DIRECT_POST", "photos")).await;
    let id = ok["data"]["publish_id"].as_str().unwrap();
    assert!(id.starts_with("p_pub_url~"));
    assert_eq!(fetch_status(&fake, &token, id).await["status"], "PUBLISH_COMPLETE");
    assert_eq!(fake.publishes()[0].urls.len(), 2);

    let (_, inbox) =
        api(&fake, "/v2/post/publish/content/init/", &token, photo("PULL_FROM_URL", "MEDIA_UPLOAD", "draft")).await;
    assert_eq!(
        fetch_status(&fake, &token, inbox["data"]["publish_id"].as_str().unwrap()).await["status"],
        "SEND_TO_USER_INBOX"
    );

    fake.fail_next_publish("photo_pull_failed");
    let (_, failing) =
        api(&fake, "/v2/post/publish/content/init/", &token, photo("PULL_FROM_URL", "DIRECT_POST", "again")).await;
    let s = fetch_status(&fake, &token, failing["data"]["publish_id"].as_str().unwrap()).await;
    assert_eq!((s["status"].as_str(), s["fail_reason"].as_str()), (Some("FAILED"), Some("photo_pull_failed")));
}

#[tokio::test]
async fn rate_limits_caps_and_url_ownership() {
    let settings = TikTokSettings { daily_post_cap: Some(7), ..Default::default() };
    let (fake, clock) = start(settings).await;
    let token = fake.issue_token(&creator(&fake), PUBLISH).access_token;
    for _ in 0..6 {
        let (status, _) =
            api(&fake, "/v2/post/publish/video/init/", &token, video_pull("SELF_ONLY", "https://v/a.mp4")).await;
        assert_eq!(status, 200);
    }
    let r = client()
        .post(format!("{}/v2/post/publish/video/init/", fake.base_url()))
        .bearer_auth(&token)
        .json(&video_pull("SELF_ONLY", "https://v/a.mp4"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "rate_limit_exceeded");

    clock.advance(SignedDuration::from_mins(1));
    let (status, _) =
        api(&fake, "/v2/post/publish/video/init/", &token, video_pull("SELF_ONLY", "https://v/a.mp4")).await;
    assert_eq!(status, 200);
    let (status, body) =
        api(&fake, "/v2/post/publish/video/init/", &token, video_pull("SELF_ONLY", "https://v/a.mp4")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("spam_risk_too_many_posts")));

    fake.update_settings(|s| {
        s.daily_post_cap = None;
        s.verified_url_prefixes = Some(vec!["https://media.verified.example/".into()]);
        s.rate_limits = None;
    });
    let (status, body) =
        api(&fake, "/v2/post/publish/video/init/", &token, video_pull("SELF_ONLY", "https://elsewhere/a.mp4")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("url_ownership_unverified")));
    let (status, _) = api(
        &fake,
        "/v2/post/publish/video/init/",
        &token,
        video_pull("SELF_ONLY", "https://media.verified.example/a.mp4"),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn error_envelopes_for_tokens_scopes_and_injected_failures() {
    let (fake, _) = start(TikTokSettings::default()).await;
    let read_only = fake.issue_token(&creator(&fake), &["user.info.basic"]).access_token;
    let (status, body) = api(&fake, "/v2/post/publish/creator_info/query/", "garbage", json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("access_token_invalid")));
    assert!(body["error"]["log_id"].as_str().unwrap().starts_with("2026"));
    let (status, body) = api(&fake, "/v2/post/publish/creator_info/query/", &read_only, json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("scope_not_authorized")));

    let token = fake.issue_token(&creator(&fake), PUBLISH).access_token;
    fake.fail_next(Route::post("/v2/post/publish/video/init"), api_error("spam_risk_user_banned_from_posting"));
    let (status, body) =
        api(&fake, "/v2/post/publish/video/init/", &token, video_pull("SELF_ONLY", "https://v/a.mp4")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("spam_risk_user_banned_from_posting")));
    for (failure, status, code) in [
        (Failure::ServerError, 500, "internal_error"),
        (Failure::TokenExpired, 401, "access_token_invalid"),
        (Failure::ContentRejected, 403, "spam_risk_text"),
        (Failure::QuotaExhausted, 403, "spam_risk_too_many_posts"),
        (Failure::PermissionMissing, 401, "scope_not_authorized"),
    ] {
        fake.fail_next(Route::any(), failure);
        let (s, b) = api(&fake, "/v2/post/publish/creator_info/query/", &token, json!({})).await;
        assert_eq!((s, b["error"]["code"].as_str()), (status, Some(code)));
    }
    fake.fail_next(Route::post("/v2/oauth/token"), Failure::TokenInvalid);
    let (status, body) = token_call(&fake, &[("grant_type", "refresh_token")]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    assert!(fake.publishes().is_empty(), "no injected failure performed an action");
}

#[tokio::test]
async fn start_all_gives_three_fakes_with_demo_credentials() {
    let fakes = FakeNetworks::start_all().await.unwrap();
    let ep = fakes.endpoints();
    let urls = [&ep.instagram_base_url, &ep.facebook_base_url, &ep.linkedin_base_url, &ep.tiktok_base_url];
    for (i, a) in urls.iter().enumerate() {
        assert!(a.starts_with("http://127.0.0.1:"));
        assert!(urls.iter().skip(i + 1).all(|b| b != a), "separate listeners");
    }
    let (status, tokens) = {
        let code_url = format!(
            "{}/v2/auth/authorize/?client_key={}&scope=video.publish&response_type=code&redirect_uri=http://localhost:8080/cb&state=s",
            ep.tiktok_base_url, ep.tiktok_client_key
        );
        let code =
            param(&location_params(&fakes.tiktok.consent(&code_url, Consent::allow()).unwrap()), "code").unwrap();
        token_call(
            &fakes.tiktok,
            &[
                ("client_key", ep.tiktok_client_key),
                ("client_secret", ep.tiktok_client_secret),
                ("code", &code),
                ("grant_type", "authorization_code"),
                ("redirect_uri", "http://localhost:8080/cb"),
            ],
        )
        .await
    };
    assert_eq!(status, 200, "{tokens}");
    assert!(format!("{ep:?}").contains("tiktok_base_url") && !format!("{ep:?}").contains("secret"));
}
