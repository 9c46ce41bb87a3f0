//! Where posts went: each post's publications (one per target), publishing now, retrying what
//! failed, and recording what a person found for an unconfirmed publication.

use super::extract::{ApiActor, ApiJson, ApiPath};
use super::posts::{PostResponse, VersionRequest};
use super::types::ApiNetwork;
use crate::AppState;
use crate::problem::Problem;
use axum::Json;
use axum::extract::State;
use jiff::Timestamp;
use nanopost_domain::ids::{PostId, PublicationId};
use nanopost_domain::publication::PublicationState;
use nanopost_storage::Publication;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// One post going out to one connected account.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicationResponse {
    pub id: Uuid,
    pub post_id: Uuid,
    pub network: ApiNetwork,
    /// The connected account's display name when publishing started.
    pub account: String,
    /// `pending`, `published`, `failed` or `unconfirmed` (a person must check the network).
    pub state: String,
    /// The post's id on the network, once published.
    pub external_id: Option<String>,
    /// The permalink, once published.
    pub url: Option<String>,
    /// Why it failed or is unconfirmed, as a sentence.
    pub error: Option<String>,
    /// `missed`, `no_account`, `content_rejected`, `reconnect_needed`, `retry_later`, …
    pub error_class: Option<String>,
    pub finished_at: Option<Timestamp>,
}

impl From<Publication> for PublicationResponse {
    fn from(p: Publication) -> Self {
        Self {
            id: p.id.as_uuid(),
            post_id: p.post_id.as_uuid(),
            network: p.network.into(),
            account: p.account_name,
            state: p.state.as_str().to_owned(),
            external_id: p.external_id,
            url: p.url,
            error: p.error,
            error_class: p.error_class,
            finished_at: p.finished_at,
        }
    }
}

#[utoipa::path(
    get, operation_id = "list_publications", path = "/api/v1/posts/{id}/publications", tag = "posts",
    params(("id" = Uuid, Path, description = "Post id")),
    responses((status = 200, description = "The post's publications, one per target", body = [PublicationResponse])),
)]
pub async fn list(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<PostId>,
) -> Result<Json<Vec<PublicationResponse>>, Problem> {
    s.services.post(&actor, id).await?;
    let list = s.services.publications(&actor, id).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

#[utoipa::path(
    post, operation_id = "publish_post_now", path = "/api/v1/posts/{id}/publish", tag = "posts",
    params(("id" = Uuid, Path, description = "Post id")),
    request_body = VersionRequest,
    responses((status = 200, description = "Scheduled for now: the workers publish it at once", body = PostResponse)),
)]
pub async fn publish_now(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<PostId>,
    ApiJson(body): ApiJson<VersionRequest>,
) -> Result<Json<PostResponse>, Problem> {
    Ok(Json(s.services.publish_now(&actor, id, body.version).await?.into()))
}

#[utoipa::path(
    post, operation_id = "retry_post", path = "/api/v1/posts/{id}/retry", tag = "posts",
    params(("id" = Uuid, Path, description = "Post id")),
    request_body = VersionRequest,
    responses((status = 200, description = "Its failed publications go again now (published ones never do)", body = PostResponse)),
)]
pub async fn retry(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<PostId>,
    ApiJson(body): ApiJson<VersionRequest>,
) -> Result<Json<PostResponse>, Problem> {
    Ok(Json(s.services.retry_publishing(&actor, id, body.version).await?.into()))
}

/// What a person found on the network for an unconfirmed publication.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, tag = "outcome", rename_all = "snake_case")]
pub enum ResolveRequest {
    /// It is there, at `url`.
    Found { url: String },
    /// It is not there: it may go again with the next retry.
    Absent,
}

#[utoipa::path(
    post, operation_id = "resolve_publication", path = "/api/v1/publications/{id}/resolve", tag = "posts",
    params(("id" = Uuid, Path, description = "Publication id")),
    request_body = ResolveRequest,
    responses((status = 200, description = "Recorded as found", body = PublicationResponse)),
)]
pub async fn resolve(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<PublicationId>,
    ApiJson(body): ApiJson<ResolveRequest>,
) -> Result<Json<PublicationResponse>, Problem> {
    let url = match &body {
        ResolveRequest::Found { url } => Some(url.as_str()),
        ResolveRequest::Absent => None,
    };
    let p = s.services.resolve_unconfirmed(&actor, id, url).await?;
    debug_assert_ne!(p.state, PublicationState::Unconfirmed);
    Ok(Json(p.into()))
}
