//! Files the pages use, compiled into the binary (no CDN): the calendar's drag and drop with
//! its few styles, and the icon.

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

const CALENDAR_JS: &str = include_str!("../../static/calendar.js");
const CALENDAR_CSS: &str = include_str!("../../static/calendar.css");
const FAVICON_SVG: &str = include_str!("../../static/favicon.svg");
/// The same mark as a 32×32 PNG in an ICO, for browsers that ask `/favicon.ico` by themselves.
const FAVICON_ICO: &[u8] = include_bytes!("../../static/favicon.ico");

/// Scripts and styles change with a release: an hour. The icon hardly ever: thirty days.
const SHORT: &str = "public, max-age=3600";
const LONG: &str = "public, max-age=2592000";

pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/static/calendar.js", get(|| file("text/javascript; charset=utf-8", SHORT, CALENDAR_JS)))
        .route("/static/calendar.css", get(|| file("text/css; charset=utf-8", SHORT, CALENDAR_CSS)))
        .route("/static/favicon.svg", get(|| file("image/svg+xml", LONG, FAVICON_SVG)))
        .route("/favicon.ico", get(|| file("image/x-icon", LONG, FAVICON_ICO)))
}

async fn file(content_type: &'static str, cache: &'static str, body: impl IntoResponse) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, cache)], body).into_response()
}
