//! Hostile and broken input (invariant I5): everything shown is escaped; unreadable forms get a
//! page with a sentence and store nothing.

use super::{Browser, brand, draft, html_escape};
use crate::support::TestApp;
use axum::http::StatusCode;
use nanopost_storage::{PageRequest, PostFilter};

const SCRIPT: &str = "<script>alert(1)</script>";
const ATTR: &str = "\"'><img src=x onerror=alert(1)>";

#[tokio::test]
async fn user_text_is_escaped_everywhere_it_is_shown() {
    let app = TestApp::new().await;
    let (user, ws) = app.user("esc@example.com").await;
    let mut b = Browser::signed_in(&app, &user).await;
    let w = format!("/w/{ws}");
    let res = b.submit(&format!("{w}/brands"), &[("name", SCRIPT), ("description", ATTR), ("topics", ATTR)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let brand_path = res.location().unwrap().split('?').next().unwrap().to_owned();
    let brand_id = brand_path.rsplit('/').next().unwrap().to_owned();
    let res = b
        .submit(
            &format!("{w}/posts"),
            &[
                ("brand_id", &brand_id),
                ("target_instagram", "on"),
                ("caption_instagram", ATTR),
                ("caption_linkedin", SCRIPT),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let post_path = res.location().unwrap().split('?').next().unwrap().to_owned();

    for path in [
        w.clone(),
        format!("{w}/brands"),
        brand_path.clone(),
        format!("{w}/posts"),
        post_path.clone(),
        format!("{w}/posts/new"),
    ] {
        let page = b.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(!page.body.contains("<script>alert"), "{path} shows a raw script tag");
        assert!(!page.body.contains("<img src=x"), "{path} shows a raw img tag");
        assert!(!page.body.contains("<script"), "{path} has a script element at all");
    }
    let brand_page = b.get(&brand_path).await;
    assert!(brand_page.body.contains(&html_escape(SCRIPT)), "{}", brand_page.body);
    let post_page = b.get(&post_path).await;
    assert!(post_page.body.contains(&html_escape(ATTR)), "{}", post_page.body);

    // Errors echo input escaped too.
    let res = b.submit(&format!("{w}/brands"), &[("name", "ok"), ("timezone", SCRIPT)]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!res.body.contains("<script"));
    assert!(res.body.contains("IANA time zone"));
}

#[tokio::test]
async fn unreadable_forms_get_a_clear_page_and_store_nothing() {
    let app = TestApp::build("http://127.0.0.1:8080", 16 * 1024).await;
    let (user, ws) = app.user("bad@example.com").await;
    let actor = app.actor(&user, ws).await;
    let existing = brand(&app, &user, ws, "Acme").await;
    let post = draft(&app, &user, ws, existing.id, "original").await;
    let mut b = Browser::signed_in(&app, &user).await;
    let csrf = b.csrf();
    let w = format!("/w/{ws}");
    let stored = || async {
        let brands = app.services.brands(&actor, PageRequest::first(100)).await.unwrap().items;
        let posts = app.services.posts(&actor, &PostFilter::default(), PageRequest::first(100)).await.unwrap().items;
        format!("{brands:?}{posts:?}")
    };
    let before = stored().await;

    // Invalid UTF-8, raw and percent-encoded.
    let mut raw = format!("csrf={csrf}&name=").into_bytes();
    raw.extend_from_slice(b"\xff\xfe bad");
    let res = b.post_raw(&format!("{w}/brands"), raw).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    res.assert_html();
    assert!(res.body.contains("not valid UTF-8"), "{}", res.body);
    let res = b.post_raw(&format!("{w}/brands"), format!("csrf={csrf}&name=%C3%28")).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);

    // Unknown fields.
    let res = b.submit(&format!("{w}/brands"), &[("name", "x"), ("is_admin", "true")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    res.assert_html();
    assert!(res.body.contains("unknown field"), "{}", res.body);
    assert!(res.body.contains("nothing was saved"), "{}", res.body);

    // Wrong types: a number that is not one, on create and on update.
    let res = b.submit(&format!("{w}/brands"), &[("name", "Numbers"), ("posts_per_week", "abc")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Posts per week"), "{}", res.body);
    assert!(res.body.contains("value=\"Numbers\""), "the form keeps what was typed");
    let res = b.submit(&format!("{w}/brands/{}", existing.id), &[("name", "Renamed"), ("posts_per_week", "999")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let res = b
        .submit(
            &format!("{w}/posts/{}", post.id),
            &[("version", "one"), ("target_instagram", "on"), ("caption_instagram", "new")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let res = b.submit(&format!("{w}/posts/{}/schedule", post.id), &[("version", "1"), ("at", "next tuesday")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Publication time"), "{}", res.body);
    let res = b.submit(&format!("{w}/posts/{}/approve", post.id), &[("content_digest", "md5:123")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let res = b.submit(&format!("{w}/tokens"), &[("name", "t"), ("scope_read", "on"), ("expires_in_days", "-3")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let res = b.submit(&format!("{w}/members/invite"), &[("email", "a@example.com"), ("role", "superuser")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);

    // A caption over the network's limit is refused by the domain, with the field named.
    let long = "x".repeat(2_201);
    let res = b
        .submit(
            &format!("{w}/posts"),
            &[("brand_id", &existing.id.to_string()), ("target_instagram", "on"), ("caption_instagram", &long)],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("at most 2200 characters"), "{}", res.body);

    // Oversized bodies.
    let huge = "a".repeat(64 * 1024);
    let res = b.submit(&format!("{w}/brands"), &[("name", "Huge"), ("description", &huge)]).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    res.assert_html();
    assert!(res.body.contains("nothing was saved"), "{}", res.body);

    // Duplicated CSRF fields are not accepted either.
    let res = b.post_raw(&format!("{w}/brands"), format!("csrf={csrf}&csrf=x&name=dup")).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);

    assert_eq!(stored().await, before);

    // Bad query strings on pages.
    assert_eq!(b.get(&format!("{w}/posts?state=nonsense")).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(b.get(&format!("{w}/posts?brand=nonsense")).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn brands_keep_every_field_through_the_form() {
    let app = TestApp::new().await;
    let (user, ws) = app.user("full@example.com").await;
    let mut b = Browser::signed_in(&app, &user).await;
    let w = format!("/w/{ws}");
    assert_eq!(b.get(&format!("{w}/brands/new")).await.status, StatusCode::OK);
    let res = b
        .submit(
            &format!("{w}/brands"),
            &[
                ("name", "Acme Bakery"),
                ("description", "Sourdough since 1901"),
                ("voice", "warm"),
                ("audience", "neighbours"),
                ("language", "de"),
                ("timezone", "Europe/Berlin"),
                ("topics", "bread\r\ncakes\n\n"),
                ("avoid_words", "cheap"),
                ("avoid_claims", "healthiest in town"),
                ("hashtags", "#bread #sourdough"),
                ("colors", "#AABBCC"),
                ("logo", ""),
                ("posts_per_week", "4"),
                ("slots", "mon 09:00\nthu 17:30"),
                ("competitors", "instagram:rival"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = b.get(res.location().unwrap()).await;
    assert!(page.body.contains("Brand created."));
    let actor = app.actor(&user, ws).await;
    let brand = app.services.brands(&actor, PageRequest::first(10)).await.unwrap().items.remove(0);
    let p = &brand.profile;
    assert_eq!(p.topics, vec!["bread", "cakes"]);
    assert_eq!(p.hashtags, vec!["bread", "sourdough"]);
    assert_eq!(p.colors, vec!["#aabbcc"]);
    assert_eq!(p.cadence.posts_per_week, 4);
    assert_eq!(p.cadence.slots, vec!["mon 09:00", "thu 17:30"]);
    assert_eq!(p.competitors[0].handle, "rival");
    assert_eq!(p.language, "de");
    assert!(
        page.body.contains("thu 17:30") && page.body.contains("instagram:rival") && page.body.contains("#sourdough")
    );

    // Edit and delete.
    let path = format!("{w}/brands/{}", brand.id);
    let res = b.submit(&path, &[("name", "Acme Bakery & Café"), ("timezone", "UTC"), ("posts_per_week", "2")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let brand = app.services.brand(&actor, brand.id).await.unwrap();
    assert_eq!(brand.profile.name, "Acme Bakery & Café");
    assert!(brand.profile.topics.is_empty(), "a field left empty is emptied");
    let res = b.submit(&format!("{path}/delete"), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(b.get(&path).await.status, StatusCode::NOT_FOUND);
}
