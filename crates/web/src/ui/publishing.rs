//! Where a post went: one row per target (published with its permalink, failed with the
//! reason, unconfirmed with what to check), and the actions on it: publish now, retry, and
//! "I checked the network" for an unconfirmed one.

use super::posts::{Rerender, VersionForm, done, editor_page, refused, versioned_action};
use super::{FieldError, PageResult, WsCtx, fmt_ts, one_error};
use crate::AppState;
use crate::session::CsrfForm;
use axum::extract::State;
use axum::http::StatusCode;
use nanopost_domain::ids::{PostId, PublicationId};
use nanopost_domain::publication::PublicationState;
use nanopost_storage::Publication;
use serde::Deserialize;

pub struct PublicationRow {
    pub id: String,
    pub network: &'static str,
    pub account: String,
    pub state: &'static str,
    pub state_class: &'static str,
    pub url: Option<String>,
    pub error: Option<String>,
    pub unconfirmed: bool,
    pub finished: String,
}

pub fn rows(publications: &[Publication]) -> Vec<PublicationRow> {
    publications
        .iter()
        .map(|p| PublicationRow {
            id: p.id.to_string(),
            network: p.network.label(),
            account: if p.account_name.is_empty() { "no account".into() } else { p.account_name.clone() },
            state: match p.state {
                PublicationState::Pending => "publishing",
                PublicationState::Published => "published",
                PublicationState::Failed => "failed",
                PublicationState::Unconfirmed => "unconfirmed",
            },
            state_class: match p.state {
                PublicationState::Pending => "info",
                PublicationState::Published => "ok",
                PublicationState::Failed => "bad",
                PublicationState::Unconfirmed => "warn",
            },
            // Only web addresses become links (a permalink typed by a person is checked too).
            url: p.url.clone().filter(|u| u.starts_with("https://") || u.starts_with("http://")),
            error: p.error.clone(),
            unconfirmed: p.state == PublicationState::Unconfirmed,
            finished: p.finished_at.map(fmt_ts).unwrap_or_default(),
        })
        .collect()
}

pub async fn publish_now(State(state): State<AppState>, ctx: WsCtx, form: CsrfForm<VersionForm>) -> PageResult {
    let services = state.services.clone();
    versioned_action(&state, ctx, &form.data.version, "post_publishing", async |actor, id, version| {
        services.publish_now(actor, id, version).await
    })
    .await
}

pub async fn retry(State(state): State<AppState>, ctx: WsCtx, form: CsrfForm<VersionForm>) -> PageResult {
    let services = state.services.clone();
    versioned_action(&state, ctx, &form.data.version, "post_retried", async |actor, id, version| {
        services.retry_publishing(actor, id, version).await
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveForm {
    /// `found` (it is on the network, at `url`) or `absent`.
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    url: String,
}

/// A person checked an unconfirmed publication on the network.
pub async fn resolve(State(state): State<AppState>, ctx: WsCtx, form: CsrfForm<ResolveForm>) -> PageResult {
    let post: PostId = ctx.id("id")?;
    let publication: PublicationId = ctx.id("publication")?;
    let f = form.data;
    let found_at = match f.outcome.as_str() {
        "found" => Some(f.url.as_str()),
        "absent" => None,
        _ => return bad(&state, ctx, post, one_error("outcome", "say whether the post is on the network")).await,
    };
    // The publication must belong to the post in the address (checked before anything changes).
    if !state.services.publications(&ctx.actor, post).await?.iter().any(|p| p.id == publication) {
        return Err(super::PageError::not_found());
    }
    match state.services.resolve_unconfirmed(&ctx.actor, publication, found_at).await {
        Ok(_) => done(&ctx, post, "publication_resolved"),
        Err(e) => refused(&state, ctx, post, e, Rerender::default()).await,
    }
}

async fn bad(state: &AppState, ctx: WsCtx, post: PostId, errors: Vec<FieldError>) -> PageResult {
    editor_page(state, ctx, post, StatusCode::UNPROCESSABLE_ENTITY, Rerender::errors(errors)).await
}
