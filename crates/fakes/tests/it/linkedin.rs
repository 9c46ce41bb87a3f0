//! The LinkedIn fake: OAuth, ACLs, the Images API, `/rest/posts` and little-text commentary.

use crate::support::{client, location, location_params, param};
use jiff::{SignedDuration, Timestamp};
use nanopost_domain::clock::ManualClock;
use nanopost_fakes::linkedin::{LinkedInSettings, LittleTextMode};
use nanopost_fakes::little_text::{self, Segment};
use nanopost_fakes::{Consent, Failure, FakeLinkedIn, LinkedInConfig, Readiness, Route, demo};
use serde_json::{Value, json};
use std::sync::Arc;

const REDIRECT: &str = "http://127.0.0.1:9/li/callback";
const VERSION: &str = "202601";

async fn start(settings: LinkedInSettings) -> (FakeLinkedIn, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(Timestamp::from_second(1_800_000_000).unwrap()));
    let config = LinkedInConfig { settings, ..LinkedInConfig::default() }.with_clock(clock.clone());
    (FakeLinkedIn::start_with(config).await.unwrap(), clock)
}

fn member(fake: &FakeLinkedIn) -> (String, String) {
    let m = &fake.members()[0];
    (m.sub.clone(), m.urn.clone())
}

fn rest(fake: &FakeLinkedIn, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
    client()
        .request(method, format!("{}{path}", fake.base_url()))
        .bearer_auth(token)
        .header("LinkedIn-Version", VERSION)
        .header("X-Restli-Protocol-Version", "2.0.0")
}

async fn body(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Uploads one JPEG for `owner` and returns its URN.
async fn upload_image(fake: &FakeLinkedIn, token: &str, owner: &str) -> String {
    let r = rest(fake, reqwest::Method::POST, "/rest/images?action=initializeUpload", token)
        .json(&json!({"initializeUploadRequest": {"owner": owner}}))
        .send()
        .await
        .unwrap();
    let (status, init) = body(r).await;
    assert_eq!(status, 200, "{init}");
    let upload_url = init["value"]["uploadUrl"].as_str().unwrap();
    assert!(upload_url.starts_with(&fake.base_url()));
    let put =
        client().put(upload_url).bearer_auth(token).body(vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]).send().await.unwrap();
    assert_eq!(put.status(), 201);
    init["value"]["image"].as_str().unwrap().to_owned()
}

fn post_body(author: &str, commentary: &str, content: Option<Value>) -> Value {
    let mut b = json!({
        "author": author,
        "commentary": commentary,
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": false,
    });
    if let Some(c) = content {
        b["content"] = c;
    }
    b
}

#[tokio::test]
async fn consent_page_code_exchange_refresh_and_revoke() {
    let (fake, clock) = start(LinkedInSettings::default()).await;
    let authorize = format!(
        "{}/oauth/v2/authorization?response_type=code&client_id={}&redirect_uri={REDIRECT}&state=li-1&scope=openid%20profile%20w_member_social",
        fake.base_url(),
        demo::LINKEDIN_CLIENT_ID
    );
    let page = client().get(&authorize).send().await.unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains(">Allow<") && html.contains(">Deny<") && html.contains("Dana Demo"));

    let submit = client()
        .post(format!("{}/oauth/v2/authorization", fake.base_url()))
        .form(&[
            ("response_type", "code"),
            ("client_id", demo::LINKEDIN_CLIENT_ID),
            ("redirect_uri", REDIRECT),
            ("state", "li-1"),
            ("scope", "openid profile w_member_social"),
            ("decision", "allow"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(submit.status(), 302);
    let params = location_params(&location(&submit));
    assert_eq!(param(&params, "state").as_deref(), Some("li-1"));
    let code = param(&params, "code").unwrap();

    let token_url = format!("{}/oauth/v2/accessToken", fake.base_url());
    let exchange = |code: &str| {
        client()
            .post(&token_url)
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("client_id", demo::LINKEDIN_CLIENT_ID),
                ("client_secret", demo::LINKEDIN_CLIENT_SECRET),
            ])
            .send()
    };
    let (status, tokens) = body(exchange(&code).await.unwrap()).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["expires_in"], 60 * 24 * 3600);
    assert_eq!(tokens["refresh_token_expires_in"], 365 * 24 * 3600);
    assert!(tokens["id_token"].as_str().unwrap().split('.').count() == 3);
    let (status, reuse) = body(exchange(&code).await.unwrap()).await;
    assert_eq!((status, reuse["error"].as_str()), (400, Some("invalid_request")));

    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (status, me) =
        body(client().get(format!("{}/v2/userinfo", fake.base_url())).bearer_auth(&access).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(me["sub"], member(&fake).0);

    // Refresh on day 59: new access token, same refresh token, its clock not reset.
    clock.advance(SignedDuration::from_hours(59 * 24));
    let refresh_form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
        ("client_id", demo::LINKEDIN_CLIENT_ID),
        ("client_secret", demo::LINKEDIN_CLIENT_SECRET),
    ];
    let (status, refreshed) = body(client().post(&token_url).form(&refresh_form).send().await.unwrap()).await;
    assert_eq!(status, 200, "{refreshed}");
    assert_ne!(refreshed["access_token"], access.as_str());
    assert_eq!(refreshed["refresh_token"], refresh.as_str());
    assert_eq!(refreshed["refresh_token_expires_in"], 306 * 24 * 3600);

    // Revocation kills the grant.
    let r = client()
        .post(format!("{}/oauth/v2/revoke", fake.base_url()))
        .form(&[
            ("client_id", demo::LINKEDIN_CLIENT_ID),
            ("client_secret", demo::LINKEDIN_CLIENT_SECRET),
            ("token", refresh.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let new_access = refreshed["access_token"].as_str().unwrap();
    let (status, err) =
        body(client().get(format!("{}/v2/userinfo", fake.base_url())).bearer_auth(new_access).send().await.unwrap())
            .await;
    assert_eq!(
        (status, err["code"].as_str(), err["serviceErrorCode"].as_i64()),
        (401, Some("REVOKED_ACCESS_TOKEN"), Some(65601))
    );
    assert!(!fake.refresh_token_is_valid(&refresh));
}

#[tokio::test]
async fn refusal_and_bad_scopes_redirect_back() {
    let (fake, _) = start(LinkedInSettings::default()).await;
    let url = |scope: &str| {
        format!(
            "{}/oauth/v2/authorization?response_type=code&client_id={}&redirect_uri={REDIRECT}&state=s&scope={scope}",
            fake.base_url(),
            demo::LINKEDIN_CLIENT_ID
        )
    };
    let denied = location_params(&fake.consent(&url("w_member_social"), Consent::deny()).unwrap());
    assert_eq!(param(&denied, "error").as_deref(), Some("user_cancelled_authorize"));
    assert_eq!(param(&denied, "state").as_deref(), Some("s"));
    let comma = location_params(&fake.consent(&url("openid,w_member_social"), Consent::allow()).unwrap());
    assert_eq!(param(&comma, "error").as_deref(), Some("unauthorized_scope_error"));
}

#[tokio::test]
async fn organization_acls_list_the_pages_the_member_administers() {
    let (fake, _) = start(LinkedInSettings::default()).await;
    let (sub, urn) = member(&fake);
    let token = fake.issue_token(&sub, &["r_organization_admin"]).access_token;
    let path = "/rest/organizationAcls?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED&projection=(elements*(*,organization~(localizedName,vanityName)))";
    let (status, acls) = body(rest(&fake, reqwest::Method::GET, path, &token).send().await.unwrap()).await;
    assert_eq!(status, 200, "{acls}");
    let elements = acls["elements"].as_array().unwrap();
    assert_eq!(elements.len(), 1);
    assert_eq!(elements[0]["roleAssignee"], urn.as_str());
    assert_eq!(elements[0]["organization"], "urn:li:organization:10000001");
    assert_eq!(elements[0]["organization~"]["localizedName"], "Nanopost Demo Co");

    let (_, all) =
        body(rest(&fake, reqwest::Method::GET, "/v2/organizationAcls?q=roleAssignee", &token).send().await.unwrap())
            .await;
    assert_eq!(all["elements"].as_array().unwrap().len(), 3);
    let legacy = client()
        .get(format!("{}/v2/organizationalEntityAcls?q=roleAssignee&state=APPROVED", fake.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let (_, legacy) = body(legacy).await;
    assert_eq!(legacy["elements"][0]["organizationalTarget"], "urn:li:organization:10000001");

    let no_restli = client()
        .get(format!("{}/rest/organizationAcls?q=roleAssignee", fake.base_url()))
        .bearer_auth(&token)
        .header("LinkedIn-Version", VERSION)
        .send()
        .await
        .unwrap();
    assert_eq!(no_restli.status(), 400);
    let weak = fake.issue_token(&sub, &["w_member_social"]).access_token;
    let (status, denied) = body(rest(&fake, reqwest::Method::GET, path, &weak).send().await.unwrap()).await;
    assert_eq!((status, denied["code"].as_str()), (403, Some("ACCESS_DENIED")));
}

#[tokio::test]
async fn images_go_waiting_processing_available_and_reading_needs_r_member_social() {
    let (fake, _) = start(LinkedInSettings { image_readiness: Readiness::AfterPolls(1), ..Default::default() }).await;
    let (sub, urn) = member(&fake);
    let writer = fake.issue_token(&sub, &["w_member_social"]).access_token;
    let reader = fake.issue_token(&sub, &["w_member_social", "r_member_social"]).access_token;
    let image = upload_image(&fake, &writer, &urn).await;
    let path = format!("/rest/images/{}", image.replace(':', "%3A"));

    let (status, _) = body(rest(&fake, reqwest::Method::GET, &path, &writer).send().await.unwrap()).await;
    assert_eq!(status, 403, "a w_member_social token cannot read the image back");
    let (_, first) = body(rest(&fake, reqwest::Method::GET, &path, &reader).send().await.unwrap()).await;
    assert_eq!(first["status"], "PROCESSING");
    let (_, second) = body(rest(&fake, reqwest::Method::GET, &path, &reader).send().await.unwrap()).await;
    assert_eq!(second["status"], "AVAILABLE");
    assert!(second["downloadUrl"].is_string());

    fake.update_settings(|s| s.image_readiness = Readiness::AfterPolls(0));
    fake.fail_next_image();
    let failed = upload_image(&fake, &writer, &urn).await;
    let (_, s) =
        body(rest(&fake, reqwest::Method::GET, &format!("/rest/images/{failed}"), &reader).send().await.unwrap()).await;
    assert_eq!(s["status"], "PROCESSING_FAILED");
    assert_eq!(fake.images().iter().filter(|i| i.status == "AVAILABLE").count(), 1);
}

#[tokio::test]
async fn posts_need_the_version_headers_and_return_the_urn_in_x_restli_id() {
    let (fake, _) =
        start(LinkedInSettings { accepted_versions: Some(vec!["202601".into()]), ..Default::default() }).await;
    let (sub, urn) = member(&fake);
    let token = fake.issue_token(&sub, &["w_member_social", "r_member_social"]).access_token;
    let post = post_body(&urn, "Hello", None);

    let no_version = client()
        .post(format!("{}/rest/posts", fake.base_url()))
        .bearer_auth(&token)
        .header("X-Restli-Protocol-Version", "2.0.0")
        .json(&post)
        .send()
        .await
        .unwrap();
    let (status, err) = body(no_version).await;
    assert_eq!((status, err["code"].as_str()), (400, Some("VERSION_MISSING")));
    let old = client()
        .post(format!("{}/rest/posts", fake.base_url()))
        .bearer_auth(&token)
        .header("LinkedIn-Version", "202301")
        .header("X-Restli-Protocol-Version", "2.0.0")
        .json(&post)
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 426);
    let no_restli = client()
        .post(format!("{}/rest/posts", fake.base_url()))
        .bearer_auth(&token)
        .header("LinkedIn-Version", VERSION)
        .json(&post)
        .send()
        .await
        .unwrap();
    assert_eq!(no_restli.status(), 400);

    let created = rest(&fake, reqwest::Method::POST, "/rest/posts", &token).json(&post).send().await.unwrap();
    assert_eq!(created.status(), 201);
    let post_urn = created.headers()["x-restli-id"].to_str().unwrap().to_owned();
    assert!(post_urn.starts_with("urn:li:share:"), "{post_urn}");
    assert!(created.text().await.unwrap().is_empty());

    let duplicate = rest(&fake, reqwest::Method::POST, "/rest/posts", &token).json(&post).send().await.unwrap();
    let (status, dup) = body(duplicate).await;
    assert_eq!((status, dup["code"].as_str()), (422, Some("DUPLICATE_POST")));
    assert!(dup["message"].as_str().unwrap().contains(&post_urn));

    let find = format!("/rest/posts?q=author&author={}&count=10", urn.replace(':', "%3A"));
    let (status, found) = body(rest(&fake, reqwest::Method::GET, &find, &token).send().await.unwrap()).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["elements"][0]["id"], post_urn.as_str());
    let page = client().get(format!("{}/feed/update/{post_urn}", fake.base_url())).send().await.unwrap();
    assert!(page.text().await.unwrap().contains("Hello"));
    assert_eq!(fake.posts()[0].linkedin_version, VERSION);
}

#[tokio::test]
async fn single_and_multi_image_posts_check_image_state_and_count() {
    let (fake, _) = start(LinkedInSettings::default()).await;
    let (sub, urn) = member(&fake);
    let token = fake.issue_token(&sub, &["w_member_social"]).access_token;
    let a = upload_image(&fake, &token, &urn).await;
    let b = upload_image(&fake, &token, &urn).await;

    let single = post_body(&urn, "one", Some(json!({"media": {"id": a, "altText": "alt"}})));
    assert_eq!(
        rest(&fake, reqwest::Method::POST, "/rest/posts", &token).json(&single).send().await.unwrap().status(),
        201
    );
    let multi = post_body(&urn, "two", Some(json!({"multiImage": {"images": [{"id": a}, {"id": b}]}})));
    assert_eq!(
        rest(&fake, reqwest::Method::POST, "/rest/posts", &token).json(&multi).send().await.unwrap().status(),
        201
    );
    assert_eq!(fake.posts()[1].images, vec![a.clone(), b.clone()]);

    let lonely = post_body(&urn, "three", Some(json!({"multiImage": {"images": [{"id": a}]}})));
    let (status, err) =
        body(rest(&fake, reqwest::Method::POST, "/rest/posts", &token).json(&lonely).send().await.unwrap()).await;
    assert_eq!(status, 422);
    assert!(err["message"].as_str().unwrap().contains("2 to 20"));

    // An image that was initialized but never uploaded is not AVAILABLE.
    let init = rest(&fake, reqwest::Method::POST, "/rest/images?action=initializeUpload", &token)
        .json(&json!({"initializeUploadRequest": {"owner": urn}}))
        .send()
        .await
        .unwrap();
    let pending = body(init).await.1["value"]["image"].as_str().unwrap().to_owned();
    let waiting = post_body(&urn, "four", Some(json!({"media": {"id": pending}})));
    let (status, err) =
        body(rest(&fake, reqwest::Method::POST, "/rest/posts", &token).json(&waiting).send().await.unwrap()).await;
    assert_eq!(status, 422);
    assert!(err["message"].as_str().unwrap().contains("WAITING_UPLOAD"));
}

#[tokio::test]
async fn organization_posts_need_a_posting_role() {
    let (fake, _) = start(LinkedInSettings::default()).await;
    let (sub, _) = member(&fake);
    let token = fake.issue_token(&sub, &["w_organization_social", "r_organization_social"]).access_token;
    let admin_org = "urn:li:organization:10000001";
    let image = upload_image(&fake, &token, admin_org).await;
    let post = post_body(admin_org, "From the company", Some(json!({"media": {"id": image}})));
    assert_eq!(
        rest(&fake, reqwest::Method::POST, "/rest/posts", &token).json(&post).send().await.unwrap().status(),
        201
    );
    for org in ["urn:li:organization:10000002", "urn:li:organization:10000003"] {
        let r = rest(&fake, reqwest::Method::POST, "/rest/posts", &token)
            .json(&post_body(org, "x", None))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{org}: analyst role or pending approval cannot post");
    }
}

/// The adapter's duty: escape every reserved character. The fake proves it by parsing.
#[tokio::test]
async fn commentary_must_follow_the_little_text_rules() {
    let (fake, _) = start(LinkedInSettings::default()).await;
    let (sub, urn) = member(&fake);
    let token = fake.issue_token(&sub, &["w_member_social"]).access_token;
    let original = r"All of them: \ | { } @ [ ] ( ) < > # * _ ~ done";
    let escaped = little_text::escape(original);
    let ok = rest(&fake, reqwest::Method::POST, "/rest/posts", &token)
        .json(&post_body(&urn, &escaped, None))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 201);
    assert_eq!(fake.posts()[0].text.plain_text(), original);

    for raw in ["a (b)", "x_y", "a ~ b", "trailing \\", "50% off <today>", "# alone", "@nobody"] {
        let r = rest(&fake, reqwest::Method::POST, "/rest/posts", &token)
            .json(&post_body(&urn, raw, None))
            .send()
            .await
            .unwrap();
        let (status, err) = body(r).await;
        assert_eq!(status, 422, "{raw:?} must be refused");
        assert!(
            err["message"].as_str().unwrap().starts_with("ERROR :: /commentary :: unescaped reserved character"),
            "{err}"
        );
    }

    let templates = r"Hi @[Nanopost Demo Co](urn:li:organization:10000001) {hashtag|\#|launch} and #tag";
    let r = rest(&fake, reqwest::Method::POST, "/rest/posts", &token)
        .json(&post_body(&urn, templates, None))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let parsed = &fake.posts()[1].text;
    assert_eq!(
        parsed.segments[1],
        Segment::Mention { name: "Nanopost Demo Co".into(), urn: "urn:li:organization:10000001".into() }
    );
    assert_eq!(parsed.plain_text(), "Hi Nanopost Demo Co #launch and #tag");

    // What LinkedIn really does: accept and silently truncate.
    fake.update_settings(|s| s.little_text = LittleTextMode::Truncate);
    let r = rest(&fake, reqwest::Method::POST, "/rest/posts", &token)
        .json(&post_body(&urn, "Before (after", None))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(fake.posts()[2].text.plain_text(), "Before ");

    let long = "a".repeat(3001);
    let r = rest(&fake, reqwest::Method::POST, "/rest/posts", &token)
        .json(&post_body(&urn, &long, None))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
}

#[tokio::test]
async fn documented_errors_and_rate_limits() {
    let (fake, clock) = start(LinkedInSettings { daily_member_call_limit: Some(2), ..Default::default() }).await;
    let (sub, _) = member(&fake);
    let token = fake.issue_token(&sub, &["openid", "profile"]).access_token;
    let info = format!("{}/v2/userinfo", fake.base_url());

    let (status, empty) = body(client().get(&info).send().await.unwrap()).await;
    assert_eq!(
        (status, empty["message"].as_str(), empty["serviceErrorCode"].as_i64()),
        (401, Some("Empty oauth2_access_token"), Some(401))
    );
    let (status, invalid) = body(client().get(&info).bearer_auth("nope").send().await.unwrap()).await;
    assert_eq!((status, invalid["serviceErrorCode"].as_i64()), (401, Some(65600)));

    for _ in 0..2 {
        assert_eq!(client().get(&info).bearer_auth(&token).send().await.unwrap().status(), 200);
    }
    let over = client().get(&info).bearer_auth(&token).send().await.unwrap();
    assert_eq!(over.status(), 429);
    assert!(over.headers().get("retry-after").is_none(), "LinkedIn sends no Retry-After");
    clock.advance(SignedDuration::from_hours(24));
    let (status, expired) = body(client().get(&info).bearer_auth(&token).send().await.unwrap()).await;
    assert_eq!(status, 200, "a new UTC day resets the limit: {expired}");

    clock.advance(SignedDuration::from_hours(60 * 24));
    let (status, expired) = body(client().get(&info).bearer_auth(&token).send().await.unwrap()).await;
    assert_eq!((status, expired["code"].as_str()), (401, Some("EXPIRED_ACCESS_TOKEN")));

    let fresh = fake.issue_token(&sub, &["openid"]).access_token;
    fake.fail_next(Route::get("/v2/userinfo"), Failure::RateLimited { retry_after: Some(60) });
    let r = client().get(&info).bearer_auth(&fresh).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["retry-after"].to_str().unwrap()), (429, "60"));
    for (failure, status) in
        [(Failure::ServerError, 503), (Failure::PermissionMissing, 403), (Failure::ContentRejected, 422)]
    {
        fake.fail_next(Route::any(), failure);
        assert_eq!(client().get(&info).bearer_auth(&fresh).send().await.unwrap().status().as_u16(), status);
    }
}
