//! Liveness and readiness, for load balancers and orchestrators.

use crate::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

pub fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

/// 200 while the process lives.
async fn healthz() -> &'static str {
    "ok"
}

/// 200 only when the database answers and is fully migrated.
async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.services.store().is_ready().await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database not reachable or not migrated")
    }
}
