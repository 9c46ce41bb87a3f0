//! HTTP: server-rendered pages, the JSON API under `/api/v1/` with its OpenAPI document, and the
//! health endpoints. Handlers extract, call a use case in `nanopost_services`, and render.

pub mod api;
mod health;
pub mod problem;
pub mod session;
mod telegram_webhook;
mod ui;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use nanopost_services::Services;
use tower_http::trace::TraceLayer;

/// What the HTTP layer needs beyond the use cases.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The URL people use to reach the app; `https://` turns on Secure cookies.
    pub public_url: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
}

#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    /// Connected network accounts; `None` when no token vault is set up (no networks).
    pub accounts: Option<nanopost_services::Accounts>,
    pub config: std::sync::Arc<WebConfig>,
    /// `nanopost demo`: pages only the demo has (the mailbox of the outbox) answer.
    pub demo: bool,
}

/// The whole HTTP application.
pub fn router(services: Services, config: WebConfig) -> Router {
    router_with_accounts(services, config, None)
}

/// [`router`] with connected accounts (the networks' OAuth flows) available.
pub fn router_with_accounts(
    services: Services,
    config: WebConfig,
    accounts: Option<nanopost_services::Accounts>,
) -> Router {
    build(services, config, accounts, false)
}

/// [`router_with_accounts`] for `nanopost demo`: with the demo's own pages (the mailbox that
/// shows the mail the demo cannot send, at `/demo/mailbox`).
pub fn demo_router(services: Services, config: WebConfig, accounts: Option<nanopost_services::Accounts>) -> Router {
    build(services, config, accounts, true)
}

fn build(services: Services, config: WebConfig, accounts: Option<nanopost_services::Accounts>, demo: bool) -> Router {
    let body_limit = config.max_body_bytes;
    let state = AppState { services, accounts, config: std::sync::Arc::new(config), demo };
    let app = Router::new()
        .merge(health::routes())
        .merge(api::routes())
        .merge(telegram_webhook::routes())
        .merge(ui::routes())
        .with_state(state.clone())
        .layer(axum::middleware::from_fn_with_state(state.clone(), ui::privacy::consent_banner))
        // Inside the general limit, so that it overrides it for the media upload routes.
        .layer(axum::middleware::from_fn_with_state(state, media_upload_limit))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(ui::privacy::audit_origin))
        .layer(TraceLayer::new_for_http());
    with_security_headers(app)
}

/// Media uploads may be far larger than any other body: the upload routes (API and page) get
/// the largest file the media settings allow (plus the form around it); everything else keeps
/// the general limit.
async fn media_upload_limit(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use tower::{Layer, ServiceExt};
    let path = req.uri().path();
    let upload =
        req.method() == axum::http::Method::POST && (path == "/api/v1/media" || ui::media::is_upload_path(path));
    if !upload {
        return next.run(req).await;
    }
    let limit = api::media::upload_body_limit(&state);
    match DefaultBodyLimit::max(limit).layer(next).oneshot(req).await {
        Ok(res) => res,
        Err(never) => match never {},
    }
}

/// Headers every response carries: no framing, no MIME sniffing, no inline scripts, no
/// referrer leaking post ids to other sites.
fn with_security_headers(router: Router) -> Router {
    use axum::http::{HeaderName, HeaderValue, header};
    use tower_http::set_header::SetResponseHeaderLayer;
    let set = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    router
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(set(header::X_FRAME_OPTIONS, "DENY"))
        .layer(set(header::REFERRER_POLICY, "same-origin"))
        .layer(set(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ))
}
