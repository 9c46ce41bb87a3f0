//! `POST /telegram/webhook`: where Telegram delivers updates in webhook mode. Public (no
//! session, no CSRF: Telegram is the caller); the `X-Telegram-Bot-Api-Secret-Token` header must
//! match the configured secret, compared in constant time, or the answer is 401 and nothing is
//! done. A body that is not an update gets 400; a 5xx makes Telegram deliver the update again
//! (storage trouble); everything else is 200.

use crate::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use nanopost_telegram::Update;

pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

pub fn routes() -> Router<AppState> {
    Router::new().route("/telegram/webhook", post(webhook))
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}

async fn webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    // Not in webhook mode: there is no such endpoint.
    let Some(channel) = state.services.telegram().filter(|c| c.accepts_webhooks()) else {
        return plain(StatusCode::NOT_FOUND, "Not found");
    };
    let presented = headers.get(SECRET_HEADER).map(|v| v.as_bytes());
    if !presented.is_some_and(|p| channel.webhook_secret_matches(p)) {
        tracing::warn!("a Telegram webhook call without the right secret token was refused");
        return plain(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    let update: Update = match serde_json::from_slice(&body) {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!(error = %e, "an unreadable Telegram update was refused");
            return plain(StatusCode::BAD_REQUEST, "The body is not a Telegram update");
        }
    };
    match state.services.handle_telegram_update(&update).await {
        Ok(()) => plain(StatusCode::OK, ""),
        Err(e) => {
            tracing::error!(error = %e, update = update.update_id, "a Telegram update could not be handled; Telegram will retry");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "Try again later")
        }
    }
}
