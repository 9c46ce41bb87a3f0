use crate::support::{TestApp, body_text};
use axum::body::Body;
use axum::http::{Request, StatusCode};

#[tokio::test]
async fn healthz_and_readyz_answer_when_migrated() {
    let app = TestApp::new().await;
    let res = app.send(Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.send(Request::get("/readyz").body(Body::empty()).unwrap()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body_text(res).await, "ready");
}

#[tokio::test]
async fn readyz_is_503_when_the_database_is_closed() {
    let app = TestApp::new().await;
    app.services.store().close().await;
    let res = app.send(Request::get("/readyz").body(Body::empty()).unwrap()).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let res = app.send(Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::new().await;
    for path in ["/healthz", "/no-such-page"] {
        let res = app.send(Request::get(path).body(Body::empty()).unwrap()).await;
        let h = res.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(h["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"), "{path}");
    }
}

#[tokio::test]
async fn unknown_urls_get_a_page_and_unknown_api_paths_a_problem() {
    let app = TestApp::new().await;
    let res = app.send(Request::get("/no-such-page").body(Body::empty()).unwrap()).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let res = app.send(Request::get("/api/v1/no-such-thing").body(Body::empty()).unwrap()).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}
