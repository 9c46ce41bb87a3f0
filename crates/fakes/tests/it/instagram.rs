//! The Instagram fake: both login flows, tokens, the container state machine, publishing, quota.

use crate::support::{client, location, location_params, param};
use jiff::{SignedDuration, Timestamp};
use nanopost_domain::clock::ManualClock;
use nanopost_fakes::instagram::{CodeExchangeShape, InstagramSettings, publishing_error};
use nanopost_fakes::{Consent, FakeInstagram, InstagramConfig, Readiness, Route, demo};
use serde_json::Value;
use std::sync::Arc;

const REDIRECT: &str = "http://127.0.0.1:9/callback";
const PUBLISH: &[&str] = &["instagram_business_basic", "instagram_business_content_publish"];

async fn start_with_clock(settings: InstagramSettings) -> (FakeInstagram, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(Timestamp::from_second(1_800_000_000).unwrap()));
    let fake =
        FakeInstagram::start_with(InstagramConfig { settings, ..InstagramConfig::default() }.with_clock(clock.clone()))
            .await
            .unwrap();
    (fake, clock)
}

fn authorize_url(fake: &FakeInstagram, state: &str) -> String {
    format!(
        "{}/oauth/authorize?client_id={}&redirect_uri={}&response_type=code&scope=instagram_business_basic,instagram_business_content_publish&state={state}",
        fake.instagram_base_url(),
        demo::INSTAGRAM_APP_ID,
        REDIRECT
    )
}

/// The request is built before the future, so the future borrows nothing.
fn get_json(url: &str, query: &[(&str, &str)]) -> impl Future<Output = (u16, Value)> + use<> {
    send(client().get(url).query(query))
}

fn post_json(url: &str, query: &[(&str, &str)]) -> impl Future<Output = (u16, Value)> + use<> {
    send(client().post(url).query(query))
}

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let r = request.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn graph(fake: &FakeInstagram, path: &str) -> String {
    format!("{}/v21.0/{path}", fake.instagram_base_url())
}

fn account(fake: &FakeInstagram) -> String {
    fake.accounts()[0].id.clone()
}

#[tokio::test]
async fn instagram_login_consent_page_code_exchange_and_long_lived_token() {
    let fake = FakeInstagram::start().await.unwrap();
    let http = client();

    let page = http.get(authorize_url(&fake, "st-1")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(">Allow<") && html.contains(">Deny<"), "{html}");
    assert!(html.contains("instagram_business_content_publish"));

    // The browser submits the form: hidden original params + the button.
    let form = [
        ("client_id", demo::INSTAGRAM_APP_ID),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", "instagram_business_basic,instagram_business_content_publish"),
        ("state", "st-1"),
        ("decision", "allow"),
    ];
    let answer = http.post(format!("{}/oauth/authorize", fake.instagram_base_url())).form(&form).send().await.unwrap();
    assert_eq!(answer.status(), 302);
    let loc = location(&answer);
    assert!(loc.starts_with(REDIRECT) && loc.ends_with("#_"), "{loc}");
    let params = location_params(&loc);
    assert_eq!(param(&params, "state").as_deref(), Some("st-1"));
    let code = param(&params, "code").unwrap();

    let exchange = |code: String| {
        let http = http.clone();
        let url = format!("{}/oauth/access_token", fake.instagram_base_url());
        async move {
            let r = http
                .post(url)
                .form(&[
                    ("client_id", demo::INSTAGRAM_APP_ID),
                    ("client_secret", demo::INSTAGRAM_APP_SECRET),
                    ("grant_type", "authorization_code"),
                    ("redirect_uri", REDIRECT),
                    ("code", &code),
                ])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    // Meta's `#_` must be stripped by the client.
    let (status, body) = exchange(format!("{code}#_")).await;
    assert_eq!((status, body["error_type"].as_str()), (400, Some("OAuthException")));
    let (status, body) = exchange(code.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user_id"].as_u64().unwrap().to_string(), account(&fake), "flat shape, numeric user_id");
    assert_eq!(body["permissions"][1], "instagram_business_content_publish");
    let short = body["access_token"].as_str().unwrap().to_owned();
    // Codes are single use.
    let (status, body) = exchange(code).await;
    assert_eq!(status, 400);
    assert_eq!(body["error_message"], "This authorization code has been used");

    let (status, long) = get_json(
        &format!("{}/access_token", fake.instagram_base_url()),
        &[("grant_type", "ig_exchange_token"), ("client_secret", demo::INSTAGRAM_APP_SECRET), ("access_token", &short)],
    )
    .await;
    assert_eq!(status, 200, "{long}");
    assert_eq!(long["token_type"], "bearer");
    assert_eq!(long["expires_in"].as_i64().unwrap(), 60 * 24 * 3600);
    let token = long["access_token"].as_str().unwrap();

    let (status, me) = get_json(&graph(&fake, "me"), &[("fields", "user_id,username"), ("access_token", token)]).await;
    assert_eq!(status, 200);
    assert_eq!(me["user_id"], account(&fake));
    assert_eq!(me["username"], "nanopost_demo");
    assert_ne!(me["id"], me["user_id"], "id is app-scoped, user_id is the publishing id");
}

#[tokio::test]
async fn deny_and_bad_requests_on_the_consent_page() {
    let fake = FakeInstagram::start().await.unwrap();
    let loc = fake.consent(&authorize_url(&fake, "s2"), Consent::deny()).unwrap();
    let params = location_params(&loc);
    assert_eq!(param(&params, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&params, "error_reason").as_deref(), Some("user_denied"));
    assert_eq!(param(&params, "state").as_deref(), Some("s2"));

    // Deprecated scope names and unknown apps get an error page, not a redirect.
    let old = authorize_url(&fake, "s").replace("instagram_business_basic", "business_basic");
    let r = client().get(old).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("Invalid Scopes: business_basic"));
    let err = fake.consent(&authorize_url(&fake, "s").replace(demo::INSTAGRAM_APP_ID, "nope"), Consent::allow());
    assert_eq!(err.unwrap_err().status, 400);
}

#[tokio::test]
async fn code_exchange_can_answer_in_the_data_array_shape() {
    let settings = InstagramSettings { code_exchange_shape: CodeExchangeShape::DataArray, ..Default::default() };
    let (fake, _) = start_with_clock(settings).await;
    let code =
        param(&location_params(&fake.consent(&authorize_url(&fake, "x"), Consent::allow()).unwrap()), "code").unwrap();
    let r = client()
        .post(format!("{}/oauth/access_token", fake.instagram_base_url()))
        .form(&[
            ("client_id", demo::INSTAGRAM_APP_ID),
            ("client_secret", demo::INSTAGRAM_APP_SECRET),
            ("grant_type", "authorization_code"),
            ("redirect_uri", REDIRECT),
            ("code", &code),
        ])
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["data"][0]["user_id"], account(&fake));
    assert_eq!(body["data"][0]["permissions"], "instagram_business_basic,instagram_business_content_publish");
}

#[tokio::test]
async fn long_lived_refresh_needs_24_hours_and_an_unexpired_token() {
    let (fake, clock) = start_with_clock(InstagramSettings::default()).await;
    let token = fake.issue_token(&account(&fake), PUBLISH).access_token;
    let refresh_url = format!("{}/refresh_access_token", fake.instagram_base_url());
    let refresh = |t: String| get_json(&refresh_url, &[("grant_type", "ig_refresh_token"), ("access_token", &t)]);
    let (status, body) = refresh(token.clone()).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(100)), "too young: {body}");

    clock.advance(SignedDuration::from_hours(25));
    let (status, body) = refresh(token.clone()).await;
    assert_eq!(status, 200, "{body}");
    let fresh = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(body["expires_in"].as_i64().unwrap(), 60 * 24 * 3600, "60 days from the refresh");

    // The old token dies on day 60; the refreshed one lives 60 days from the refresh.
    clock.advance(SignedDuration::from_hours(60 * 24 - 1));
    let (status, body) = refresh(token).await;
    assert_eq!(status, 400);
    assert_eq!((body["error"]["code"].as_i64(), body["error"]["error_subcode"].as_i64()), (Some(190), Some(463)));
    assert!(fake.token_is_valid(&fresh));
}

#[tokio::test]
async fn facebook_login_reaches_the_instagram_account_behind_a_page() {
    let fake = FakeInstagram::start().await.unwrap();
    let fb = fake.facebook_base_url();
    let url = format!(
        "{fb}/v21.0/dialog/oauth?client_id={}&redirect_uri={REDIRECT}&state=fbs&scope=instagram_basic,instagram_content_publish,pages_read_engagement",
        demo::FACEBOOK_APP_ID
    );
    let page = client().get(&url).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("Demo Person"));
    let loc = fake.consent(&url, Consent::allow().granting(&["instagram_basic", "instagram_content_publish"])).unwrap();
    assert!(loc.ends_with("#_"));
    let code = param(&location_params(&loc), "code").unwrap();

    let (status, short) = get_json(
        &format!("{fb}/v21.0/oauth/access_token"),
        &[
            ("client_id", demo::FACEBOOK_APP_ID),
            ("redirect_uri", REDIRECT),
            ("client_secret", demo::FACEBOOK_APP_SECRET),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(status, 200, "{short}");
    let (_, long) = get_json(
        &format!("{fb}/v21.0/oauth/access_token"),
        &[
            ("grant_type", "fb_exchange_token"),
            ("client_id", demo::FACEBOOK_APP_ID),
            ("client_secret", demo::FACEBOOK_APP_SECRET),
            ("fb_exchange_token", short["access_token"].as_str().unwrap()),
        ],
    )
    .await;
    let user_token = long["access_token"].as_str().unwrap().to_owned();

    let (_, perms) = get_json(&format!("{fb}/v21.0/me/permissions"), &[("access_token", &user_token)]).await;
    let declined: Vec<&Value> =
        perms["data"].as_array().unwrap().iter().filter(|p| p["status"] == "declined").collect();
    assert_eq!(declined.len(), 1);
    assert_eq!(declined[0]["permission"], "pages_read_engagement");

    let (status, pages) = get_json(
        &format!("{fb}/v21.0/me/accounts"),
        &[("fields", "id,name,access_token,instagram_business_account"), ("access_token", &user_token)],
    )
    .await;
    assert_eq!(status, 200, "{pages}");
    let pages = pages["data"].as_array().unwrap();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0]["instagram_business_account"]["id"], account(&fake));
    assert!(pages[1].get("instagram_business_account").is_none());
    let page_token = pages[0]["access_token"].as_str().unwrap();

    let (status, ig) = get_json(
        &format!("{fb}/v21.0/{}", account(&fake)),
        &[("fields", "username,name,profile_picture_url"), ("access_token", page_token)],
    )
    .await;
    assert_eq!(status, 200, "{ig}");
    assert_eq!(ig["username"], "nanopost_demo");

    // A Facebook token is not an Instagram-Login token.
    let (status, body) = get_json(&graph(&fake, "me"), &[("access_token", &user_token)]).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(190)));

    // Revoking the app kills the user token and the Page tokens derived from it.
    let r = client().delete(format!("{fb}/v21.0/me/permissions")).bearer_auth(&user_token).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["success"], true);
    let (_, body) = get_json(&format!("{fb}/v21.0/me"), &[("access_token", page_token)]).await;
    assert_eq!(body["error"]["error_subcode"], 458);
}

#[tokio::test]
async fn single_image_goes_in_progress_finished_published_with_permalink_and_media_list() {
    let settings = InstagramSettings { image_readiness: Readiness::AfterPolls(1), ..Default::default() };
    let (fake, _) = start_with_clock(settings).await;
    let ig = account(&fake);
    let token = fake.issue_token(&ig, PUBLISH).access_token;

    let (status, created) = post_json(
        &graph(&fake, &format!("{ig}/media")),
        &[("image_url", "https://media.example/a.jpg"), ("caption", "Hello #fake"), ("access_token", &token)],
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let container = created["id"].as_str().unwrap().to_owned();

    let publish = || {
        post_json(
            &graph(&fake, &format!("{ig}/media_publish")),
            &[("creation_id", &container), ("access_token", &token)],
        )
    };
    let (status, body) = publish().await;
    assert_eq!(status, 400);
    assert_eq!((body["error"]["code"].as_i64(), body["error"]["error_subcode"].as_i64()), (Some(9007), Some(2207027)));

    let status_of =
        || get_json(&graph(&fake, &container), &[("fields", "status_code,status"), ("access_token", &token)]);
    assert_eq!(status_of().await.1["status_code"], "IN_PROGRESS");
    assert_eq!(status_of().await.1["status_code"], "FINISHED");

    let (status, published) = publish().await;
    assert_eq!(status, 200, "{published}");
    let media_id = published["id"].as_str().unwrap().to_owned();
    assert_eq!(status_of().await.1["status_code"], "PUBLISHED");
    // Publishing the same container twice never makes a second post.
    let (status, again) = publish().await;
    assert_eq!((status, again["error"]["error_subcode"].as_i64()), (400, Some(2207008)));
    assert_eq!(fake.media().len(), 1);

    let (_, media) =
        get_json(&graph(&fake, &media_id), &[("fields", "permalink,caption,media_type"), ("access_token", &token)])
            .await;
    let permalink = media["permalink"].as_str().unwrap();
    assert!(permalink.starts_with(&fake.instagram_base_url()), "{permalink}");
    assert_eq!(media["caption"], "Hello #fake");
    let page = client().get(permalink).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Hello #fake") && page.contains("https://media.example/a.jpg"));

    let (_, list) = get_json(
        &graph(&fake, &format!("{ig}/media")),
        &[("fields", "id,caption,permalink,timestamp"), ("access_token", &token)],
    )
    .await;
    assert_eq!(list["data"][0]["id"], media_id.as_str());
    assert!(list["data"][0]["timestamp"].as_str().unwrap().ends_with("+0000"));
}

#[tokio::test]
async fn carousel_needs_finished_children_and_counts_once_against_the_quota() {
    let settings = InstagramSettings { video_readiness: Readiness::AfterPolls(1), ..Default::default() };
    let (fake, _) = start_with_clock(settings).await;
    let ig = account(&fake);
    let token = fake.issue_token(&ig, PUBLISH).access_token;
    let media_url = graph(&fake, &format!("{ig}/media"));

    let (_, a) = post_json(
        &media_url,
        &[("image_url", "https://m/1.jpg"), ("is_carousel_item", "true"), ("access_token", &token)],
    )
    .await;
    let (_, b) = post_json(
        &media_url,
        &[
            ("media_type", "VIDEO"),
            ("video_url", "https://m/2.mp4"),
            ("is_carousel_item", "true"),
            ("access_token", &token),
        ],
    )
    .await;
    let children = format!("{},{}", a["id"].as_str().unwrap(), b["id"].as_str().unwrap());

    let parent =
        [("media_type", "CAROUSEL"), ("children", children.as_str()), ("caption", "two"), ("access_token", &token)];
    let (status, body) = post_json(&media_url, &parent).await;
    assert_eq!((status, body["error"]["error_subcode"].as_i64()), (400, Some(2207028)), "video child not finished");
    let (_, one) = post_json(
        &media_url,
        &[("media_type", "CAROUSEL"), ("children", a["id"].as_str().unwrap()), ("access_token", &token)],
    )
    .await;
    assert!(one["error"]["message"].as_str().unwrap().contains("2 to 10"));
    let (_, collab) = post_json(
        &media_url,
        &[("media_type", "CAROUSEL"), ("children", &children), ("collaborators", "[\"x\"]"), ("access_token", &token)],
    )
    .await;
    assert_eq!(collab["error"]["message"], "(#100) param collaborators is not allowed");

    let (_, s) =
        get_json(&graph(&fake, b["id"].as_str().unwrap()), &[("fields", "status_code"), ("access_token", &token)])
            .await;
    assert_eq!(s["status_code"], "IN_PROGRESS");
    let (_, s) =
        get_json(&graph(&fake, b["id"].as_str().unwrap()), &[("fields", "status_code"), ("access_token", &token)])
            .await;
    assert_eq!(s["status_code"], "FINISHED");

    let (status, parent) = post_json(&media_url, &parent).await;
    assert_eq!(status, 200, "{parent}");
    let (status, media) = post_json(
        &graph(&fake, &format!("{ig}/media_publish")),
        &[("creation_id", parent["id"].as_str().unwrap()), ("access_token", &token)],
    )
    .await;
    assert_eq!(status, 200, "{media}");
    let (_, m) = get_json(
        &graph(&fake, media["id"].as_str().unwrap()),
        &[("fields", "media_type,children"), ("access_token", &token)],
    )
    .await;
    assert_eq!(m["media_type"], "CAROUSEL_ALBUM");
    assert_eq!(m["children"]["data"].as_array().unwrap().len(), 2);

    let (_, limit) = get_json(
        &graph(&fake, &format!("{ig}/content_publishing_limit")),
        &[("fields", "quota_usage,config"), ("access_token", &token)],
    )
    .await;
    assert_eq!(limit["data"][0]["quota_usage"], 1);
    assert_eq!(limit["data"][0]["config"]["quota_total"], 50);
    assert_eq!(limit["data"][0]["config"]["quota_duration"], 86400);
}

#[tokio::test]
async fn reels_poll_until_finished_and_containers_expire_after_their_window() {
    let (fake, clock) = start_with_clock(InstagramSettings::default()).await;
    let ig = account(&fake);
    let token = fake.issue_token(&ig, PUBLISH).access_token;
    let (_, reel) = post_json(
        &graph(&fake, &format!("{ig}/media")),
        &[("media_type", "REELS"), ("video_url", "https://m/r.mp4"), ("caption", "reel"), ("access_token", &token)],
    )
    .await;
    let id = reel["id"].as_str().unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (_, s) =
            get_json(&graph(&fake, id), &[("fields", "status_code,copyright_check_status"), ("access_token", &token)])
                .await;
        seen.push(s["status_code"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen, ["IN_PROGRESS", "IN_PROGRESS", "FINISHED"]);

    let (_, stale) =
        post_json(&graph(&fake, &format!("{ig}/media")), &[("image_url", "https://m/x.jpg"), ("access_token", &token)])
            .await;
    clock.advance(SignedDuration::from_hours(24));
    let (_, s) =
        get_json(&graph(&fake, stale["id"].as_str().unwrap()), &[("fields", "status_code"), ("access_token", &token)])
            .await;
    assert_eq!(s["status_code"], "EXPIRED");
    let (_, body) = post_json(
        &graph(&fake, &format!("{ig}/media_publish")),
        &[("creation_id", stale["id"].as_str().unwrap()), ("access_token", &token)],
    )
    .await;
    assert_eq!((body["error"]["code"].as_i64(), body["error"]["error_subcode"].as_i64()), (Some(-2), Some(2207020)));
    assert_eq!(fake.containers()[1].status_code, "EXPIRED");
}

#[tokio::test]
async fn an_injected_container_error_shows_as_error_and_blocks_publishing() {
    let fake = FakeInstagram::start().await.unwrap();
    let ig = account(&fake);
    let token = fake.issue_token(&ig, PUBLISH).access_token;
    fake.fail_next_container("Error: The video format is not supported. (2207026)");
    let (_, c) =
        post_json(&graph(&fake, &format!("{ig}/media")), &[("image_url", "https://m/a.jpg"), ("access_token", &token)])
            .await;
    let id = c["id"].as_str().unwrap();
    let (_, s) = get_json(&graph(&fake, id), &[("fields", "status_code,status"), ("access_token", &token)]).await;
    assert_eq!(s["status_code"], "ERROR");
    assert!(s["status"].as_str().unwrap().contains("2207026"));
    let (_, body) =
        post_json(&graph(&fake, &format!("{ig}/media_publish")), &[("creation_id", id), ("access_token", &token)])
            .await;
    assert_eq!(body["error"]["error_subcode"], 2207032);
}

#[tokio::test]
async fn quota_is_refused_when_exhausted_and_frees_up_after_the_window() {
    let settings = InstagramSettings { quota_total: 2, ..Default::default() };
    let (fake, clock) = start_with_clock(settings).await;
    let ig = account(&fake);
    let token = fake.issue_token(&ig, PUBLISH).access_token;
    fake.use_quota(&ig, 2);
    let (_, c) =
        post_json(&graph(&fake, &format!("{ig}/media")), &[("image_url", "https://m/a.jpg"), ("access_token", &token)])
            .await;
    let id = c["id"].as_str().unwrap().to_owned();
    let publish =
        || post_json(&graph(&fake, &format!("{ig}/media_publish")), &[("creation_id", &id), ("access_token", &token)]);
    let (status, body) = publish().await;
    assert_eq!(status, 400);
    assert_eq!((body["error"]["code"].as_i64(), body["error"]["error_subcode"].as_i64()), (Some(9), Some(2207042)));
    let (_, limit) =
        get_json(&graph(&fake, &format!("{ig}/content_publishing_limit")), &[("access_token", &token)]).await;
    assert_eq!(limit["data"][0]["quota_usage"], 2);
    assert!(limit["data"][0].get("config").is_none(), "without fields only quota_usage");

    clock.advance(SignedDuration::from_hours(23));
    let fresh_token = fake.issue_token(&ig, PUBLISH).access_token;
    let (_, c) = post_json(
        &graph(&fake, &format!("{ig}/media")),
        &[("image_url", "https://m/b.jpg"), ("access_token", &fresh_token)],
    )
    .await;
    clock.advance(SignedDuration::from_hours(2));
    let (status, body) = post_json(
        &graph(&fake, &format!("{ig}/media_publish")),
        &[("creation_id", c["id"].as_str().unwrap()), ("access_token", &fresh_token)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn token_errors_use_the_documented_codes() {
    let (fake, clock) = start_with_clock(InstagramSettings::default()).await;
    let ig = account(&fake);
    let media = graph(&fake, &format!("{ig}/media"));
    let (_, body) = post_json(&media, &[("image_url", "https://m/a.jpg")]).await;
    assert_eq!(body["error"]["code"], 104);
    let (_, body) = post_json(&media, &[("image_url", "https://m/a.jpg"), ("access_token", "garbage")]).await;
    assert_eq!((body["error"]["code"].as_i64(), body["error"]["error_subcode"].as_i64()), (Some(190), Some(467)));
    assert_eq!(body["error"]["type"], "OAuthException");
    assert!(body["error"]["fbtrace_id"].is_string());

    let read_only = fake.issue_token(&ig, &["instagram_business_basic"]).access_token;
    let r = client()
        .post(&media)
        .query(&[("image_url", "https://m/a.jpg"), ("access_token", &read_only)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], 10);

    let token = fake.issue_token(&ig, PUBLISH).access_token;
    fake.invalidate_token(&token);
    let (_, body) = post_json(&media, &[("image_url", "https://m/a.jpg"), ("access_token", &token)]).await;
    assert_eq!(body["error"]["error_subcode"], 460);

    let token = fake.issue_token(&ig, PUBLISH).access_token;
    clock.advance(SignedDuration::from_hours(60 * 24));
    let r = client().post(&media).query(&[("image_url", "https://m/a.jpg")]).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["error_subcode"], 463);

    let other = fake.add_account("someone_else", "Someone");
    let token = fake.issue_token(&ig, PUBLISH).access_token;
    let (_, body) = post_json(
        &graph(&fake, &format!("{other}/media")),
        &[("image_url", "https://m/a.jpg"), ("access_token", &token)],
    )
    .await;
    assert_eq!((body["error"]["code"].as_i64(), body["error"]["error_subcode"].as_i64()), (Some(100), Some(33)));
}

/// A tiny loopback media server: `/ok.jpg` (1080×1350 JPEG), `/wide.jpg` (3:1), `/clip.mp4`.
async fn media_server() -> String {
    use axum::routing::get;
    fn jpeg(w: u16, h: u16) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08];
        b.extend_from_slice(&h.to_be_bytes());
        b.extend_from_slice(&w.to_be_bytes());
        b.extend_from_slice(&[0x03, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9]);
        b
    }
    let app = axum::Router::new()
        .route("/ok.jpg", get(|| async { jpeg(1080, 1350) }))
        .route("/wide.jpg", get(|| async { jpeg(3000, 1000) }))
        .route("/clip.mp4", get(|| async { b"\0\0\0\x18ftypmp42rest-of-video".to_vec() }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn media_urls_are_fetched_over_loopback_only_when_enabled() {
    let settings =
        InstagramSettings { check_media_urls: true, video_readiness: Readiness::AfterPolls(0), ..Default::default() };
    let (fake, _) = start_with_clock(settings).await;
    let ig = account(&fake);
    let token = fake.issue_token(&ig, PUBLISH).access_token;
    let media = graph(&fake, &format!("{ig}/media"));
    let host = media_server().await;

    let (status, ok) = post_json(&media, &[("image_url", &format!("{host}/ok.jpg")), ("access_token", &token)]).await;
    assert_eq!(status, 200, "{ok}");
    let (_, missing) =
        post_json(&media, &[("image_url", &format!("{host}/missing.jpg")), ("access_token", &token)]).await;
    assert_eq!(missing["error"]["error_subcode"], 2207052);
    let (_, internet) =
        post_json(&media, &[("image_url", "https://example.com/a.jpg"), ("access_token", &token)]).await;
    assert_eq!(internet["error"]["error_subcode"], 2207052, "the fake never goes to the internet");
    let (_, wide) = post_json(&media, &[("image_url", &format!("{host}/wide.jpg")), ("access_token", &token)]).await;
    assert_eq!(wide["error"]["error_subcode"], 2207009);

    let (_, good_reel) = post_json(
        &media,
        &[("media_type", "REELS"), ("video_url", &format!("{host}/clip.mp4")), ("access_token", &token)],
    )
    .await;
    let (_, bad_reel) = post_json(
        &media,
        &[("media_type", "REELS"), ("video_url", &format!("{host}/gone.mp4")), ("access_token", &token)],
    )
    .await;
    let status = |id: &Value| {
        let id = id["id"].as_str().unwrap().to_owned();
        let token = token.clone();
        let url = graph(&fake, &id);
        async move { get_json(&url, &[("fields", "status_code,status"), ("access_token", &token)]).await.1 }
    };
    assert_eq!(status(&good_reel).await["status_code"], "FINISHED");
    let bad = status(&bad_reel).await;
    assert_eq!(bad["status_code"], "ERROR");
    assert!(bad["status"].as_str().unwrap().contains("2207052"));
}

#[tokio::test]
async fn publishing_errors_can_be_injected_by_subcode() {
    let fake = FakeInstagram::start().await.unwrap();
    let ig = account(&fake);
    let token = fake.issue_token(&ig, PUBLISH).access_token;
    fake.fail_next(Route::post("**/media"), publishing_error(2207004));
    let (status, body) =
        post_json(&graph(&fake, &format!("{ig}/media")), &[("image_url", "https://m/a.jpg"), ("access_token", &token)])
            .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], 36000);
    assert_eq!(body["error"]["error_user_title"], "Image size too large");
    assert!(fake.containers().is_empty(), "an injected answer performs nothing");
}

#[tokio::test]
async fn resumable_reels_wait_for_their_bytes() {
    let settings = InstagramSettings { video_readiness: Readiness::AfterPolls(0), ..Default::default() };
    let (fake, _) = start_with_clock(settings).await;
    let ig = account(&fake);
    let token = fake.issue_token(&ig, PUBLISH).access_token;
    let (status, created) = post_json(
        &graph(&fake, &format!("{ig}/media")),
        &[("media_type", "REELS"), ("upload_type", "resumable"), ("caption", "r"), ("access_token", &token)],
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_str().unwrap();
    let upload_uri = created["uri"].as_str().unwrap();
    assert_eq!(upload_uri, format!("{}/ig-api-upload/v21.0/{id}", fake.instagram_base_url()));
    let status_code = || get_json(&graph(&fake, id), &[("fields", "status_code"), ("access_token", &token)]);
    assert_eq!(status_code().await.1["status_code"], "IN_PROGRESS", "nothing uploaded yet");

    let bytes = b"\0\0\0\x18ftypmp42video".to_vec();
    let bad = client()
        .post(upload_uri)
        .header("Authorization", format!("OAuth {token}"))
        .header("offset", "0")
        .header("file_size", "999")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let ok = client()
        .post(upload_uri)
        .header("Authorization", format!("OAuth {token}"))
        .header("offset", "0")
        .header("file_size", bytes.len().to_string())
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.json::<Value>().await.unwrap()["success"], true);
    assert_eq!(status_code().await.1["status_code"], "FINISHED");
}

#[tokio::test]
async fn unticking_a_scope_on_the_html_page_declines_it() {
    let fake = FakeInstagram::start().await.unwrap();
    let ig = account(&fake);
    let form = [
        ("client_id", demo::INSTAGRAM_APP_ID),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", "instagram_business_basic,instagram_business_content_publish"),
        ("state", "s"),
        ("account", ig.as_str()),
        ("scope_choice", "1"),
        ("granted_scope", "instagram_business_basic"),
        ("decision", "allow"),
    ];
    let answer =
        client().post(format!("{}/oauth/authorize", fake.instagram_base_url())).form(&form).send().await.unwrap();
    let code = param(&location_params(&location(&answer)), "code").unwrap();
    let r = client()
        .post(format!("{}/oauth/access_token", fake.instagram_base_url()))
        .form(&[
            ("client_id", demo::INSTAGRAM_APP_ID),
            ("client_secret", demo::INSTAGRAM_APP_SECRET),
            ("grant_type", "authorization_code"),
            ("redirect_uri", REDIRECT),
            ("code", &code),
        ])
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["permissions"], serde_json::json!(["instagram_business_basic"]));
    let token = body["access_token"].as_str().unwrap();
    let (status, denied) =
        post_json(&graph(&fake, &format!("{ig}/media")), &[("image_url", "https://m/a.jpg"), ("access_token", token)])
            .await;
    assert_eq!((status, denied["error"]["code"].as_i64()), (403, Some(10)));
}

#[tokio::test]
async fn captions_over_the_hashtag_or_mention_caps_are_refused() {
    let fake = FakeInstagram::start().await.unwrap();
    let ig = account(&fake);
    let token = fake.issue_token(&ig, PUBLISH).access_token;
    let create = |caption: String| {
        let url = graph(&fake, &format!("{ig}/media"));
        let token = token.clone();
        async move {
            post_json(&url, &[("image_url", "https://m/a.jpg"), ("caption", &caption), ("access_token", &token)]).await
        }
    };
    let tags = |n: usize, sigil: char| (0..n).map(|i| format!("{sigil}t{i}")).collect::<Vec<_>>().join(" ");
    assert_eq!(create(tags(30, '#')).await.0, 200, "30 hashtags are allowed");
    let (status, body) = create(tags(31, '#')).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("at most 30 hashtags"), "{body}");
    assert_eq!(create(tags(20, '@')).await.0, 200, "20 mentions are allowed");
    let (status, body) = create(tags(21, '@')).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("at most 20"), "{body}");
    // A lone sigil is not a tag.
    assert_eq!(create(format!("{} # @", tags(30, '#'))).await.0, 200);
    assert_eq!(fake.containers().len(), 3);
}
