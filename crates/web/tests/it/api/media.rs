//! The media API: multipart upload with problem+json for every bad file, list, read, change,
//! delete; and the public signed URL serving the bytes.

use super::{Res, brand, call, get, raw};
use crate::support::TestApp;
use axum::http::header;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use nanopost_domain::network::Network;
use nanopost_domain::post::{MediaRef, PostContent, Target, Variant};
use nanopost_domain::role::{Role, Scope};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Cursor;

/// A PNG of `w` × `h` noisy pixels (so it does not compress to nothing).
pub fn png(w: u32, h: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| {
        let v = x.wrapping_mul(2_654_435_761).wrapping_add(y.wrapping_mul(40_503)) >> 7;
        Rgb([v as u8, (v >> 8) as u8, (v >> 16) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(img).write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A PNG header declaring 100,000 × 100,000 pixels: a decompression bomb.
pub fn png_bomb() -> Vec<u8> {
    fn crc(data: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for b in data {
            c ^= u32::from(*b);
            for _ in 0..8 {
                c = if c & 1 == 1 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
            }
        }
        !c
    }
    let chunk = |kind: &[u8; 4], data: &[u8]| {
        let mut v = (data.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(data);
        let mut all = kind.to_vec();
        all.extend_from_slice(data);
        v.extend_from_slice(&crc(&all).to_be_bytes());
        v
    };
    let mut ihdr = 100_000u32.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    [
        b"\x89PNG\r\n\x1a\n".to_vec(),
        chunk(b"IHDR", &ihdr),
        chunk(b"IDAT", &[0x78, 0x9C, 3, 0, 0, 0, 0, 1]),
        chunk(b"IEND", &[]),
    ]
    .concat()
}

/// One part of a multipart form: `(name, file name, bytes)`.
pub type Part<'a> = (&'a str, Option<&'a str>, &'a [u8]);

/// A `multipart/form-data` body and its content type.
pub fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let boundary = "nanopost-test-boundary-7d1f";
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: image/jpeg\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub async fn upload(app: &TestApp, token: &str, parts: &[Part<'_>]) -> Res {
    let (ct, body) = multipart(parts);
    raw(app, "POST", "/api/v1/media", Some(token), Some(&ct), body).await
}

fn sha(bytes: &[u8]) -> String {
    format!("sha256:{}", Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect::<String>())
}

#[tokio::test]
async fn upload_list_read_change_and_delete() {
    let app = TestApp::new().await;
    let team = app.team("media").await;
    let owner = app.actor(team.user(Role::Owner), team.workspace).await;
    let b = brand(&app, &owner, "Bakery").await;
    let token = app.api_token(team.user(Role::Editor), team.workspace, &[Scope::Read, Scope::Write]).await;
    // Larger than the general 64 KiB body limit of this app: the upload route has its own.
    let file = png(300, 300);
    assert!(file.len() > 64 * 1024, "{}", file.len());
    let bid = b.id.to_string();
    let res = upload(
        &app,
        &token,
        &[
            ("brand_id", None, bid.as_bytes()),
            ("alt_text", None, "A loaf".as_bytes()),
            ("tags", None, b"Bread, #summer"),
            ("file", Some("../loaf.png"), &file),
        ],
    )
    .await;
    let m = res.ok(201).clone();
    assert_eq!(res.headers[header::LOCATION], format!("/api/v1/media/{}", m["id"].as_str().unwrap()).as_str());
    assert_eq!(m["mime"], "image/png");
    assert_eq!((m["width"].as_u64(), m["height"].as_u64()), (Some(300), Some(300)));
    assert_eq!(m["brand_id"], bid.as_str());
    assert_eq!(m["file_name"], "loaf.png");
    assert_eq!(m["tags"], json!(["bread", "summer"]));
    assert_eq!(m["digest"], sha(&file).as_str(), "a PNG without metadata is stored as it came");
    let url = m["url"].as_str().unwrap();
    assert!(url.starts_with("http://127.0.0.1:8080/media/"), "{url}");
    let id = m["id"].as_str().unwrap();

    // The same bytes again: the earlier item, 200.
    let again = upload(&app, &token, &[("brand_id", None, bid.as_bytes()), ("file", Some("x.png"), &file)]).await;
    assert_eq!(again.ok(200)["id"], id);

    let list = get(&app, "/api/v1/media?limit=10&tag=%23Summer", &token).await;
    assert_eq!(list.ok(200)["items"].as_array().unwrap().len(), 1);
    assert_eq!(get(&app, "/api/v1/media?tag=winter", &token).await.ok(200)["items"], json!([]));
    assert_eq!(get(&app, &format!("/api/v1/media?brand={bid}"), &token).await.ok(200)["items"][0]["id"], id);
    assert_eq!(get(&app, &format!("/api/v1/media/{id}"), &token).await.ok(200)["alt_text"], "A loaf");

    let path = format!("/api/v1/media/{id}");
    let patched = call(&app, "PATCH", &path, Some(&token), Some(json!({"tags": ["rye"], "alt_text": "Rye"}))).await;
    assert_eq!((patched.ok(200)["tags"].clone(), patched.json["alt_text"].clone()), (json!(["rye"]), json!("Rye")));
    let only_alt = call(&app, "PATCH", &path, Some(&token), Some(json!({"alt_text": ""}))).await;
    assert_eq!(only_alt.ok(200)["tags"], json!(["rye"]), "omitted fields stay");
    call(&app, "PATCH", &path, Some(&token), Some(json!({"colour": "red"}))).await.problem_on(422, "colour");
    call(&app, "PATCH", &path, Some(&token), Some(json!({"tags": ["<b>"]}))).await.problem_on(422, "tags");

    assert_eq!(call(&app, "DELETE", &path, Some(&token), None).await.status, 204);
    get(&app, &path, &token).await.problem(404);
    call(&app, "DELETE", &path, Some(&token), None).await.problem(404);
}

#[tokio::test]
async fn bad_uploads_get_the_right_problem() {
    let app = TestApp::new().await;
    let (user, ws) = app.user("ana@example.com").await;
    let token = app.api_token(&user, ws, &Scope::ALL).await;
    let html = b"<!doctype html><script>alert(1)</script>";
    let p = upload(&app, &token, &[("file", Some("cat.gif"), html)]).await;
    assert!(p.problem(415)["detail"].as_str().unwrap().contains("not a supported image or video"), "{}", p.text);
    let p = upload(&app, &token, &[("file", Some("bomb.png"), &png_bomb())]).await;
    let body = p.problem_on(422, "file");
    assert!(body["detail"].as_str().unwrap().contains("megapixels"), "{}", p.text);
    let mut big = vec![0u8; 21 * 1024 * 1024];
    big[..3].copy_from_slice(&[0xFF, 0xD8, 0xFF]);
    let p = upload(&app, &token, &[("file", Some("huge.jpg"), &big)]).await;
    assert!(p.problem(413)["detail"].as_str().unwrap().contains("limit"), "{}", p.text);
    let truncated = &png(50, 50)[..200];
    upload(&app, &token, &[("file", Some("cut.png"), truncated)]).await.problem_on(422, "file");
    upload(&app, &token, &[("alt_text", None, b"no file")]).await.problem_on(422, "file");
    upload(&app, &token, &[("colour", None, b"red"), ("file", Some("a.png"), &png(4, 4))]).await.problem(400);
    upload(&app, &token, &[("brand_id", None, b"not-a-uuid"), ("file", Some("a.png"), &png(4, 4))])
        .await
        .problem_on(422, "brand_id");
    let unknown_brand = uuid::Uuid::now_v7().to_string();
    upload(&app, &token, &[("brand_id", None, unknown_brand.as_bytes()), ("file", Some("a.png"), &png(4, 4))])
        .await
        .problem(404);
    // Not multipart at all.
    call(&app, "POST", "/api/v1/media", Some(&token), Some(json!({"file": "x"}))).await.problem(415);
    raw(&app, "POST", "/api/v1/media", Some(&token), Some("multipart/form-data"), b"junk".to_vec()).await.problem(415);
    raw(
        &app,
        "POST",
        "/api/v1/media",
        Some(&token),
        Some("multipart/form-data; boundary=x"),
        b"--x\r\ngarbage".to_vec(),
    )
    .await
    .problem(400);
    // Who may upload.
    let (ct, body) = multipart(&[("file", Some("a.png"), &png(4, 4))]);
    raw(&app, "POST", "/api/v1/media", None, Some(&ct), body.clone()).await.problem(401);
    let read_only = app.api_token(&user, ws, &[Scope::Read]).await;
    raw(&app, "POST", "/api/v1/media", Some(&read_only), Some(&ct), body).await.problem(403);
    assert_eq!(get(&app, "/api/v1/media", &token).await.ok(200)["items"], json!([]), "nothing was stored");
}

#[tokio::test]
async fn signed_urls_serve_the_bytes_with_safe_headers_until_they_expire() {
    let app = TestApp::new().await;
    let (user, ws) = app.user("ana@example.com").await;
    let token = app.api_token(&user, ws, &Scope::ALL).await;
    let file = png(20, 10);
    let m = upload(&app, &token, &[("file", Some("a.png"), &file)]).await.ok(201).clone();
    let url = m["url"].as_str().unwrap();
    let path = url.strip_prefix("http://127.0.0.1:8080").unwrap();
    let res = raw(&app, "GET", path, None, None, vec![]).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.headers[header::CONTENT_TYPE], "image/png");
    assert_eq!(res.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let cc = res.headers[header::CACHE_CONTROL].to_str().unwrap();
    let max_age: u64 = cc.strip_prefix("private, max-age=").unwrap().parse().unwrap();
    assert!((3600..=3900).contains(&max_age), "{cc}");
    let res = app.send(axum::http::Request::get(path).body(axum::body::Body::empty()).unwrap()).await;
    let served = http_body_util::BodyExt::collect(res.into_body()).await.unwrap().to_bytes();
    assert_eq!(sha(&served), m["digest"].as_str().unwrap(), "exactly the stored bytes");
    assert_eq!(&served[..], &file[..]);

    // Every bad token is the same bare 404.
    let token_part = path.strip_prefix("/media/").unwrap();
    let mut flipped: Vec<char> = token_part.chars().collect();
    flipped[10] = if flipped[10] == 'a' { 'b' } else { 'a' };
    let flipped: String = flipped.into_iter().collect();
    for bad in [format!("/media/{flipped}"), "/media/x".into(), format!("/media/{}", "A".repeat(96))] {
        let r = raw(&app, "GET", &bad, None, None, vec![]).await;
        assert_eq!((r.status.as_u16(), r.text.as_str()), (404, "Not found"), "{bad}");
    }
    app.clock.advance(jiff::SignedDuration::from_secs(max_age as i64 + 1));
    let r = raw(&app, "GET", path, None, None, vec![]).await;
    assert_eq!((r.status.as_u16(), r.text.as_str()), (404, "Not found"));
}

#[tokio::test]
async fn other_workspaces_see_nothing_and_used_media_is_kept() {
    let app = TestApp::new().await;
    let a = app.team("a").await;
    let b = app.team("b").await;
    let owner_a = app.actor(a.user(Role::Owner), a.workspace).await;
    let token_a = app.api_token(a.user(Role::Owner), a.workspace, &Scope::ALL).await;
    let token_b = app.api_token(b.user(Role::Owner), b.workspace, &Scope::ALL).await;
    let m = upload(&app, &token_a, &[("file", Some("a.png"), &png(8, 8))]).await.ok(201).clone();
    let path = format!("/api/v1/media/{}", m["id"].as_str().unwrap());
    get(&app, &path, &token_b).await.problem(404);
    call(&app, "PATCH", &path, Some(&token_b), Some(json!({"alt_text": "pwned"}))).await.problem(404);
    call(&app, "DELETE", &path, Some(&token_b), None).await.problem(404);
    assert_eq!(get(&app, "/api/v1/media", &token_b).await.ok(200)["items"], json!([]));

    // A draft uses it: 409, it stays.
    let br = brand(&app, &owner_a, "A").await;
    let media = vec![MediaRef {
        id: m["id"].as_str().unwrap().parse().unwrap(),
        digest: m["digest"].as_str().unwrap().to_owned(),
    }];
    let content = PostContent {
        variants: vec![Variant { network: Network::Linkedin, caption: "hi".into(), media, options: BTreeMap::new() }],
        targets: vec![Target { network: Network::Linkedin, account: None }],
    };
    app.services.create_post(&owner_a, br.id, content).await.unwrap();
    let p = call(&app, "DELETE", &path, Some(&token_a), None).await;
    assert!(p.problem(409)["detail"].as_str().unwrap().contains("archive"), "{}", p.text);
    assert_eq!(get(&app, &path, &token_a).await.ok(200)["id"], m["id"]);
}
