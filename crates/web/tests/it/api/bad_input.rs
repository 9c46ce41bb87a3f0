//! Invariant I5 on the API: malformed, oversized or hostile input gets a clear problem+json
//! and changes nothing that is stored.

use super::{Res, brand, call, get, pending, raw, snapshot};
use crate::support::TestApp;
use nanopost_domain::role::Scope;
use nanopost_services::Actor;
use serde_json::json;

struct Setup {
    app: TestApp,
    owner: Actor,
    token: String,
    brand_path: String,
    post_path: String,
    post_version: i64,
}

async fn setup(max_body_bytes: usize) -> Setup {
    let app = TestApp::build("http://127.0.0.1:8080", max_body_bytes).await;
    let (user, ws) = app.user("owner@bad-input.test").await;
    let owner = app.actor(&user, ws).await;
    let token = app.api_token(&user, ws, &Scope::ALL).await;
    let b = brand(&app, &owner, "Acme").await;
    let p = pending(&app, &owner, &b, "hello").await;
    Setup {
        brand_path: format!("/api/v1/brands/{}", b.id),
        post_path: format!("/api/v1/posts/{}", p.id),
        post_version: p.version,
        app,
        owner,
        token,
    }
}

fn field_of(res: &Res) -> Vec<String> {
    res.json["errors"].as_array().into_iter().flatten().map(|e| e["field"].as_str().unwrap().to_owned()).collect()
}

/// (method, path, content type, body, expected status, field the problem names)
type BodyCase<'a> = (&'a str, &'a str, Option<&'a str>, Vec<u8>, u16, Option<&'a str>);

#[tokio::test]
async fn malformed_and_mistyped_bodies_are_problems_and_change_nothing() {
    let s = setup(64 * 1024).await;
    let before = snapshot(&s.app, &s.owner).await;
    let json_ct = Some("application/json");
    let t = Some(s.token.as_str());
    let edit_path = s.post_path.clone();

    let cases: Vec<BodyCase> = vec![
        ("POST", "/api/v1/brands", json_ct, b"{\"name\": ".to_vec(), 400, None),
        ("POST", "/api/v1/brands", json_ct, b"{\"name\": \"a\",}".to_vec(), 400, None),
        ("POST", "/api/v1/brands", json_ct, b"".to_vec(), 400, None),
        ("POST", "/api/v1/brands", json_ct, b"{\"name\": \"a\"} {\"name\": \"b\"}".to_vec(), 400, None),
        ("POST", "/api/v1/brands", json_ct, b"{\"name\": \"\xff\xfe bad utf-8\"}".to_vec(), 400, None),
        (
            "POST",
            "/api/v1/brands",
            json_ct,
            format!("{}1{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
            422,
            Some("body"),
        ),
        ("POST", "/api/v1/brands", json_ct, b"[\"Acme\"]".to_vec(), 422, Some("body")),
        ("POST", "/api/v1/brands", json_ct, b"\"Acme\"".to_vec(), 422, Some("body")),
        (
            "POST",
            "/api/v1/brands",
            json_ct,
            format!("{{\"name\": \"a\", \"topics\": {}{}}}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
            422,
            Some("topics[0]"),
        ),
        ("POST", "/api/v1/brands", json_ct, b"{\"name\": 5}".to_vec(), 422, Some("name")),
        ("POST", "/api/v1/brands", json_ct, b"{\"name\": \"a\", \"nmae\": \"b\"}".to_vec(), 422, Some("nmae")),
        ("POST", "/api/v1/brands", json_ct, b"{\"description\": \"no name\"}".to_vec(), 422, Some("name")),
        (
            "POST",
            "/api/v1/brands",
            json_ct,
            b"{\"name\": \"a\", \"cadence\": {\"posts_per_week\": 300}}".to_vec(),
            422,
            Some("cadence.posts_per_week"),
        ),
        (
            "POST",
            "/api/v1/brands",
            json_ct,
            b"{\"name\": \"a\", \"competitors\": [{\"network\": \"myspace\", \"handle\": \"tom\"}]}".to_vec(),
            422,
            Some("competitors[0].network"),
        ),
        (
            "POST",
            "/api/v1/brands",
            json_ct,
            b"{\"name\": \"  \", \"timezone\": \"Mars/Olympus\"}".to_vec(),
            422,
            Some("timezone"),
        ),
        ("POST", "/api/v1/brands", Some("text/plain"), b"{\"name\": \"a\"}".to_vec(), 415, None),
        ("POST", "/api/v1/brands", None, b"{\"name\": \"a\"}".to_vec(), 415, None),
        ("POST", "/api/v1/brands", Some("application/x-www-form-urlencoded"), b"name=a".to_vec(), 415, None),
        ("PUT", &s.brand_path, json_ct, b"{\"name\": null}".to_vec(), 422, Some("name")),
        (
            "PUT",
            &s.brand_path,
            json_ct,
            b"{\"name\": \"ok\", \"hashtags\": \"not-a-list\"}".to_vec(),
            422,
            Some("hashtags"),
        ),
        (
            "POST",
            "/api/v1/posts",
            json_ct,
            br#"{"brand_id": "nope", "variants": [], "targets": []}"#.to_vec(),
            422,
            Some("brand_id"),
        ),
        (
            "POST",
            "/api/v1/posts",
            json_ct,
            br#"{"brand_id": "00000000-0000-0000-0000-000000000000", "variants": []}"#.to_vec(),
            422,
            Some("targets"),
        ),
        (
            "PUT",
            &edit_path,
            json_ct,
            br#"{"version": 1, "variants": [{"network": "instagram", "caption": 7}], "targets": []}"#.to_vec(),
            422,
            Some("variants[0].caption"),
        ),
        (
            "PUT",
            &edit_path,
            json_ct,
            br#"{"version": 99999999999999999999999, "variants": [], "targets": []}"#.to_vec(),
            422,
            Some("version"),
        ),
        (
            "PUT",
            &edit_path,
            json_ct,
            br#"{"version": 2, "variants": [{"network": "instagram", "caption": "x", "extra": 1}], "targets": []}"#
                .to_vec(),
            422,
            Some("variants[0].extra"),
        ),
        (
            "POST",
            "/api/v1/invitations",
            json_ct,
            br#"{"email": "a@b.test", "role": "superuser"}"#.to_vec(),
            422,
            Some("role"),
        ),
        (
            "POST",
            "/api/v1/invitations",
            json_ct,
            br#"{"email": "not an address", "role": "viewer"}"#.to_vec(),
            422,
            Some("email"),
        ),
        ("PATCH", "/api/v1/members/00000000-0000-0000-0000-000000000000", json_ct, b"{}".to_vec(), 422, Some("role")),
    ];
    for (method, path, ct, body, status, field) in cases {
        let res = raw(&s.app, method, path, t, ct, body.clone()).await;
        let what = format!("{method} {path} {:?}", String::from_utf8_lossy(&body[..body.len().min(60)]));
        assert_eq!(res.status.as_u16(), status, "{what}: {}", res.text);
        res.problem(status);
        if let Some(field) = field {
            assert!(field_of(&res).iter().any(|f| f == field), "{what}: expected {field} in {}", res.text);
            assert!(res.json["detail"].as_str().unwrap().contains(field), "{what}: {}", res.text);
        }
    }

    // Post actions with bad bodies.
    let digest_cases = [
        ("approve", json!({"content_digest": "sha256:zz"}), 422, Some("content_digest")),
        ("approve", json!({}), 422, Some("content_digest")),
        ("reject", json!({"content_digest": "sha256:00", "reason": "x"}), 422, Some("content_digest")),
        ("reject", json!({"content_digest": "sha256:00"}), 422, Some("reason")),
        ("schedule", json!({"version": s.post_version}), 422, Some("at")),
        ("schedule", json!({"version": s.post_version, "at": "2030-01-01T09:00+02:00"}), 422, Some("at")),
        ("schedule", json!({"version": s.post_version, "at": "next tuesday"}), 422, Some("at")),
        ("schedule", json!({"version": "1", "at": null}), 422, Some("version")),
        ("submit", json!({"version": s.post_version, "force": true}), 422, Some("force")),
        ("archive", json!(null), 422, None),
    ];
    for (action, body, status, field) in digest_cases {
        let res = call(&s.app, "POST", &format!("{}/{action}", s.post_path), t, Some(body.clone())).await;
        if let Some(f) = field {
            res.problem_on(status, f);
        } else {
            res.problem(status);
        }
    }

    assert_eq!(snapshot(&s.app, &s.owner).await, before, "a refused request changed stored data");
}

#[tokio::test]
async fn oversized_bodies_are_413_problems() {
    let s = setup(1024).await;
    let before = snapshot(&s.app, &s.owner).await;
    let big = json!({"name": "x", "description": "a".repeat(4096)});
    // With a Content-Length header …
    let body = serde_json::to_vec(&big).unwrap();
    let req = axum::http::Request::post("/api/v1/brands")
        .header("authorization", format!("Bearer {}", s.token))
        .header("content-type", "application/json")
        .header("content-length", body.len())
        .body(axum::body::Body::from(body))
        .unwrap();
    let res = s.app.send(req).await;
    assert_eq!(res.status(), 413);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    // … and without one.
    call(&s.app, "PUT", &s.brand_path, Some(&s.token), Some(big)).await.problem(413);
    // Just under the limit is fine.
    call(&s.app, "PUT", &s.brand_path, Some(&s.token), Some(json!({"name": "small"}))).await.ok(200);
    let after = snapshot(&s.app, &s.owner).await;
    assert_ne!(after, before);
    assert!(!after.contains("aaaa"));
}

#[tokio::test]
async fn ids_and_query_parameters_that_do_not_parse_are_400_problems() {
    let s = setup(64 * 1024).await;
    let t = s.token.as_str();
    for path in [
        "/api/v1/brands/not-a-uuid",
        "/api/v1/brands/123",
        "/api/v1/posts/%27%20OR%201%3D1--",
        "/api/v1/posts/zzz/approve",
        "/api/v1/brands/%FF%FE",
    ] {
        let res = get(&s.app, path, t).await;
        if path.ends_with("approve") {
            // GET on a POST-only route, even with a bad id: the method is what is wrong.
            res.problem(405);
            let res = call(&s.app, "POST", path, Some(t), Some(json!({"content_digest": "x"}))).await;
            res.problem_on(400, "id");
            continue;
        }
        res.problem(400);
    }
    call(&s.app, "DELETE", "/api/v1/posts/1", Some(t), None).await.problem_on(400, "id");
    call(&s.app, "PATCH", "/api/v1/members/me", Some(t), Some(json!({"role": "viewer"})))
        .await
        .problem_on(400, "user_id");
    call(&s.app, "DELETE", "/api/v1/tokens/xyz", Some(t), None).await.problem_on(400, "id");
    call(&s.app, "DELETE", "/api/v1/invitations/xyz", Some(t), None).await.problem_on(400, "id");

    for (query, field) in [
        ("/api/v1/brands?limit=abc", "limit"),
        ("/api/v1/brands?limit=0", "limit"),
        ("/api/v1/brands?limit=1000", "limit"),
        ("/api/v1/brands?limit=-1", "limit"),
        ("/api/v1/brands?after=nope", "after"),
        ("/api/v1/brands?bogus=1", "bogus"),
        ("/api/v1/posts?state=nonsense", "state"),
        ("/api/v1/posts?brand_id=%27%3B%20DROP%20TABLE%20posts", "brand_id"),
    ] {
        get(&s.app, query, t).await.problem_on(400, field);
    }
    // Unknown endpoints and methods under /api are problems too.
    get(&s.app, "/api/v1/nothing-here", t).await.problem(404);
    get(&s.app, "/api/v2/brands", t).await.problem(404);
    let res = call(&s.app, "PATCH", "/api/v1/brands", Some(t), Some(json!({}))).await;
    res.problem(405);
    let allow = res.headers["allow"].to_str().unwrap();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
}

#[tokio::test]
async fn sql_and_html_metacharacters_are_stored_and_returned_verbatim() {
    let s = setup(64 * 1024).await;
    let t = Some(s.token.as_str());
    let nasty = r#"Robert'); DROP TABLE brands;-- <script>alert("x")</script> & %s \u0000"#.replace("\\u0000", "☃");
    let caption = "' OR '1'='1 <img src=x onerror=alert(1)> {{ 7*7 }} ${7*7} \\ \" ; --";
    let res = call(
        &s.app,
        "POST",
        "/api/v1/brands",
        t,
        Some(json!({"name": nasty, "description": caption,
        "topics": ["<b>bold</b>", "a\"b"]})),
    )
    .await;
    let created = res.ok(201).clone();
    assert_eq!(res.headers["content-type"], "application/json");
    assert_eq!(created["name"], nasty.as_str());
    assert_eq!(created["description"], caption);
    let location = res.headers["location"].to_str().unwrap().to_owned();
    let read = get(&s.app, &location, &s.token).await;
    assert_eq!(read.ok(200)["name"], nasty.as_str());
    assert_eq!(read.json["topics"], json!(["<b>bold</b>", "a\"b"]));

    let (variants, targets) = super::post_body(caption);
    let res = call(
        &s.app,
        "POST",
        "/api/v1/posts",
        t,
        Some(json!({"brand_id": created["id"], "variants": variants,
        "targets": targets})),
    )
    .await;
    let post = res.ok(201);
    assert_eq!(post["variants"][0]["caption"], caption);
    let read = get(&s.app, res.headers["location"].to_str().unwrap(), &s.token).await;
    assert_eq!(read.ok(200)["variants"][0]["caption"], caption);

    // The tables are still there and hold everything.
    let list = get(&s.app, "/api/v1/brands", &s.token).await;
    assert_eq!(list.ok(200)["items"].as_array().unwrap().len(), 2);
    let filtered = get(&s.app, &format!("/api/v1/posts?brand_id={}", created["id"].as_str().unwrap()), &s.token).await;
    assert_eq!(filtered.ok(200)["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn missing_or_bad_credentials_are_401_with_a_bearer_challenge() {
    let s = setup(64 * 1024).await;
    let cases: [(&str, Option<String>); 6] = [
        ("none", None),
        ("empty bearer", Some("Bearer ".into())),
        ("basic", Some("Basic dXNlcjpwYXNz".into())),
        ("unknown token", Some("Bearer np_not_a_real_token".into())),
        ("token without scheme", Some(s.token.clone())),
        ("huge", Some(format!("Bearer {}", "x".repeat(100_000)))),
    ];
    for (what, auth) in cases {
        let mut req = axum::http::Request::post("/api/v1/brands").header("content-type", "application/json");
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let res = s.app.send(req.body(axum::body::Body::from("{\"name\": \"x\"}")).unwrap()).await;
        assert_eq!(res.status(), 401, "{what}");
        assert!(res.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"), "{what}");
        assert_eq!(res.headers()["content-type"], "application/problem+json", "{what}");
    }
    // A bad body from someone without a token is a 401, not a hint about the body.
    let res = raw(&s.app, "POST", "/api/v1/brands", None, Some("application/json"), b"{oops".to_vec()).await;
    res.problem(401);
    // A live session cookie is not a credential for the API (so there is nothing to forge cross-site).
    let user = s.app.services.store().user_by_id(s.owner.user_id).await.unwrap().unwrap();
    let cookie = s.app.session(&user).await;
    let req = axum::http::Request::get("/api/v1/brands")
        .header("cookie", format!("np_session={cookie}"))
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(s.app.send(req).await.status(), 401);
}
