//! The media page: a multipart upload carrying the CSRF token as a field, thumbnails at signed
//! URLs, alt text and tags, delete; clear messages for bad files; forged uploads refused.

use super::{Browser, Page, brand, html_escape};
use crate::api::media::{multipart, png, png_bomb};
use crate::support::TestApp;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use nanopost_domain::network::Network;
use nanopost_domain::post::{MediaRef, PostContent, Target, Variant};
use nanopost_domain::role::Role;
use nanopost_storage::{MediaFilter, PageRequest};
use std::collections::BTreeMap;

/// Posts a multipart form (the parts as given: no CSRF field added).
async fn post_multipart(b: &mut Browser<'_>, path: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Page {
    let (ct, body) = multipart(parts);
    let req = Request::post(path).header(header::CONTENT_TYPE, ct).body(Body::from(body)).unwrap();
    b.send(req).await
}

async fn stored(app: &TestApp, user: &nanopost_storage::User, ws: nanopost_domain::ids::WorkspaceId) -> usize {
    let actor = app.actor(user, ws).await;
    app.services.media_list(&actor, &MediaFilter::default(), PageRequest::first(100)).await.unwrap().items.len()
}

#[tokio::test]
async fn upload_shows_a_thumbnail_and_alt_text_and_tags_can_be_changed() {
    let app = TestApp::new().await;
    let (user, ws) = app.user("ana@example.com").await;
    let b_rand = brand(&app, &user, ws, "Bakery").await;
    let mut b = Browser::signed_in(&app, &user).await;
    let page = b.get(&format!("/w/{ws}/media")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("enctype=\"multipart/form-data\"") && page.body.contains("No media yet"));
    let csrf = page.hidden("csrf").unwrap();
    let file = png(200, 150);
    let bid = b_rand.id.to_string();
    let res = post_multipart(
        &mut b,
        &format!("/w/{ws}/media"),
        &[
            ("csrf", None, csrf.as_bytes()),
            ("brand_id", None, bid.as_bytes()),
            ("tags", None, b"bread, summer"),
            ("alt_text", None, "A loaf <on> a board".as_bytes()),
            ("file", Some("loaf.png"), &file),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), Some(format!("/w/{ws}/media?msg=media_uploaded").as_str()));

    let page = b.get(&format!("/w/{ws}/media?msg=media_uploaded")).await;
    assert!(page.body.contains("Location and camera data were removed"));
    assert!(page.body.contains("<img src=\"http://127.0.0.1:8080/media/"), "a thumbnail at a signed URL");
    assert!(page.body.contains(&html_escape("A loaf <on> a board")), "alt text escaped");
    assert!(page.body.contains("loaf.png") && page.body.contains("200×150") && page.body.contains("Bakery"));
    assert!(page.body.contains(">summer</a>"));

    let actor = app.actor(&user, ws).await;
    let m = app.services.media_list(&actor, &MediaFilter::default(), PageRequest::first(10)).await.unwrap().items[0]
        .clone();
    let res =
        b.submit(&format!("/w/{ws}/media/{}", m.id), &[("alt_text", "Rye bread"), ("tags", "rye, #Autumn")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let m2 = app.services.media_item(&actor, m.id).await.unwrap();
    assert_eq!((m2.alt_text.as_str(), m2.tags.clone()), ("Rye bread", vec!["autumn".to_owned(), "rye".to_owned()]));
    // A bad tag re-renders the page with the reason.
    let res = b.submit(&format!("/w/{ws}/media/{}", m.id), &[("alt_text", "x"), ("tags", "<b>")]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("may hold letters, digits"), "{}", res.body);
    // Filtered by tag.
    let page = b.get(&format!("/w/{ws}/media?tag=autumn")).await;
    assert!(page.body.contains("Rye bread"));
    let page = b.get(&format!("/w/{ws}/media?tag=winter")).await;
    assert!(page.body.contains("No media yet"));

    let res = b.submit(&format!("/w/{ws}/media/{}/delete", m.id), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(stored(&app, &user, ws).await, 0);
}

#[tokio::test]
async fn bad_files_get_a_sentence_and_nothing_is_stored() {
    let app = TestApp::new().await;
    let (user, ws) = app.user("ana@example.com").await;
    let mut b = Browser::signed_in(&app, &user).await;
    let csrf = b.csrf();
    let path = format!("/w/{ws}/media");
    let cases: [(&[u8], StatusCode, &str); 3] = [
        (b"%PDF-1.7 a document", StatusCode::UNSUPPORTED_MEDIA_TYPE, "not a supported image or video"),
        (&png_bomb(), StatusCode::UNPROCESSABLE_ENTITY, "megapixels"),
        (&png(30, 30)[..100], StatusCode::UNPROCESSABLE_ENTITY, "could not be read as PNG"),
    ];
    for (bytes, status, words) in cases {
        let res =
            post_multipart(&mut b, &path, &[("csrf", None, csrf.as_bytes()), ("file", Some("x.png"), bytes)]).await;
        assert_eq!(res.status, status, "{}", res.body);
        res.assert_html();
        assert!(res.body.contains(words) && res.body.contains("Nothing was stored"), "{words}: {}", res.body);
    }
    let res = post_multipart(&mut b, &path, &[("csrf", None, csrf.as_bytes())]).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Choose a file"));
    // A urlencoded post is not an upload.
    let res = b.submit(&path, &[("file", "x")]).await;
    assert_eq!(res.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(stored(&app, &user, ws).await, 0);
}

#[tokio::test]
async fn forged_uploads_are_refused() {
    let app = TestApp::new().await;
    let (user, ws) = app.user("ana@example.com").await;
    let (intruder, _) = app.user("intruder@example.com").await;
    let other_csrf = app.services.csrf_token(&app.session(&intruder).await);
    let path = format!("/w/{ws}/media");
    let file = png(10, 10);
    let mut b = Browser::signed_in(&app, &user).await;
    let good = b.csrf();
    for (csrf, origin) in [
        (None, None),
        (Some("wrong".to_owned()), None),
        (Some(other_csrf.clone()), None),
        (Some(String::new()), None),
        (Some(good.clone()), Some("http://evil.example")),
        (Some(good.clone()), Some("null")),
    ] {
        b.extra = origin.map(|o| vec![("origin".to_owned(), o.to_owned())]).unwrap_or_default();
        let mut parts: Vec<(&str, Option<&str>, &[u8])> = vec![];
        if let Some(c) = &csrf {
            parts.push(("csrf", None, c.as_bytes()));
        }
        parts.push(("file", Some("x.png"), &file));
        let res = post_multipart(&mut b, &path, &parts).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{csrf:?} {origin:?}: {}", res.body);
        assert!(
            res.body.contains("nothing was uploaded") || res.body.contains("sent from another site"),
            "{}",
            res.body
        );
    }
    b.extra = vec![("sec-fetch-site".to_owned(), "cross-site".to_owned())];
    let res = post_multipart(&mut b, &path, &[("csrf", None, good.as_bytes()), ("file", Some("x.png"), &file)]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // Signed out: to the login page.
    let mut anon = Browser::new(&app);
    let res =
        post_multipart(&mut anon, &path, &[("csrf", None, good.as_bytes()), ("file", Some("x.png"), &file)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(stored(&app, &user, ws).await, 0);
    // The genuine form works (the checks above test the check, not a broken route).
    b.extra = vec![("origin".to_owned(), app.public_url.clone())];
    let res = post_multipart(&mut b, &path, &[("csrf", None, good.as_bytes()), ("file", Some("x.png"), &file)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(stored(&app, &user, ws).await, 1);
}

#[tokio::test]
async fn viewers_only_look_and_used_media_stays_with_a_reason() {
    let app = TestApp::new().await;
    let team = app.team("media").await;
    let owner = team.user(Role::Owner);
    let viewer = team.user(Role::Viewer);
    let actor = app.actor(owner, team.workspace).await;
    let ws = team.workspace;
    let m = app
        .services
        .upload_media(
            &actor,
            nanopost_services::media::MediaUpload {
                brand_id: None,
                file_name: "a.png".into(),
                bytes: png(12, 12),
                alt_text: "Shop".into(),
                tags: vec![],
            },
        )
        .await
        .unwrap()
        .media;
    let mut v = Browser::signed_in(&app, viewer).await;
    let page = v.get(&format!("/w/{ws}/media")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("multipart/form-data") && !page.body.contains("Delete"));
    assert!(page.body.contains("Shop"));
    let csrf = v.csrf();
    let res = post_multipart(
        &mut v,
        &format!("/w/{ws}/media"),
        &[("csrf", None, csrf.as_bytes()), ("file", Some("x.png"), &png(9, 9))],
    )
    .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    let res = v.submit(&format!("/w/{ws}/media/{}/delete", m.id), &[]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);

    // Used by a draft: the owner's delete explains why it stays.
    let br = brand(&app, owner, ws, "B").await;
    let content = PostContent {
        variants: vec![Variant {
            network: Network::Linkedin,
            caption: "hi".into(),
            media: vec![MediaRef { id: m.id, digest: m.digest.clone() }],
            options: BTreeMap::new(),
        }],
        targets: vec![Target { network: Network::Linkedin, account: None }],
    };
    app.services.create_post(&actor, br.id, content).await.unwrap();
    let mut o = Browser::signed_in(&app, owner).await;
    let res = o.submit(&format!("/w/{ws}/media/{}/delete", m.id), &[]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains("is used by a post"), "{}", res.body);
    assert_eq!(stored(&app, owner, ws).await, 1);
}
