//! Files compiled into the binary: the icon (SVG, and an ICO at /favicon.ico for browsers that
//! ask by themselves) with long caching, the calendar's script and styles; and the one icon
//! link every page carries.

use super::Browser;
use crate::support::{TestApp, body_text};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;

async fn fetch(app: &TestApp, path: &str) -> (StatusCode, String, String, Vec<u8>) {
    let res = app.send(Request::get(path).body(Body::empty()).unwrap()).await;
    let h = |name| res.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let (ct, cache) = (h(header::CONTENT_TYPE), h(header::CACHE_CONTROL));
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, ct, cache, bytes)
}

#[tokio::test]
async fn the_icon_is_served_as_svg_and_ico_with_long_caching() {
    let app = TestApp::new().await;
    let (status, ct, cache, body) = fetch(&app, "/favicon.ico").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct, "image/x-icon");
    assert_eq!(cache, "public, max-age=2592000");
    assert_eq!(&body[..4], &[0, 0, 1, 0], "an ICO file");
    assert_eq!(&body[22..30], b"\x89PNG\r\n\x1a\n", "holding a PNG");

    let (status, ct, cache, body) = fetch(&app, "/static/favicon.svg").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct, "image/svg+xml");
    assert_eq!(cache, "public, max-age=2592000");
    assert!(String::from_utf8(body).unwrap().starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));

    // Every page links the SVG once.
    let mut b = Browser::new(&app);
    let login = b.get("/login").await;
    assert_eq!(login.body.matches("<link rel=\"icon\"").count(), 1, "{}", login.body);
    assert!(login.body.contains("<link rel=\"icon\" href=\"/static/favicon.svg\" type=\"image/svg+xml\">"));
}

#[tokio::test]
async fn the_calendar_script_and_styles_are_served() {
    let app = TestApp::new().await;
    let (status, ct, cache, body) = fetch(&app, "/static/calendar.js").await;
    assert_eq!(
        (status, ct.as_str(), cache.as_str()),
        (StatusCode::OK, "text/javascript; charset=utf-8", "public, max-age=3600")
    );
    let js = String::from_utf8(body).unwrap();
    assert!(js.contains("form[data-cal-drop]") && js.contains("data-move"), "the script the page's markup expects");
    let (status, ct, _, _) = fetch(&app, "/static/calendar.css").await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "text/css; charset=utf-8"));
    // Unknown static files are still a 404 page.
    let res = app.send(Request::get("/static/nope.js").body(Body::empty()).unwrap()).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let _ = body_text(res).await;
}
