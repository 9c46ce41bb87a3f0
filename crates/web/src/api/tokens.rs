//! API tokens. The plaintext is shown once, in the answer to its creation; afterwards only
//! its metadata can be read.

use super::extract::{ApiActor, ApiJson, ApiPath};
use super::types::ApiScope;
use crate::AppState;
use crate::problem::Problem;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use nanopost_domain::ids::ApiTokenId;
use nanopost_domain::role::Scope;
use nanopost_storage::ApiToken;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A token's metadata; never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<ApiScope>,
    pub created_by: Uuid,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

impl From<ApiToken> for TokenResponse {
    fn from(t: ApiToken) -> Self {
        Self {
            id: t.id.as_uuid(),
            name: t.name,
            scopes: t.scopes.into_iter().map(Into::into).collect(),
            created_by: t.created_by.as_uuid(),
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    pub items: Vec<TokenResponse>,
}

#[utoipa::path(
    get, operation_id = "list_tokens", path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, description = "Live tokens: all of the workspace for owners and admins, one's own for others", body = TokenList)),
)]
pub async fn list(State(s): State<AppState>, ApiActor(actor): ApiActor) -> Result<Json<TokenList>, Problem> {
    let items = s.services.api_tokens(&actor).await?.into_iter().map(Into::into).collect();
    Ok(Json(TokenList { items }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    #[schema(example = "CI pipeline")]
    pub name: String,
    pub scopes: Vec<ApiScope>,
    /// 1 to 3650; omit for a token that does not expire.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<u32>,
}

/// A new token with its secret, which is shown only this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedTokenResponse {
    #[serde(flatten)]
    pub token: TokenResponse,
    /// The secret to send as `Authorization: Bearer <secret>`. Store it now: it cannot be read again.
    pub secret: String,
}

#[utoipa::path(
    post, operation_id = "create_token", path = "/api/v1/tokens", tag = "tokens",
    request_body = CreateTokenRequest,
    responses((status = 201, description = "Created; the secret is in this answer only", body = CreatedTokenResponse)),
)]
pub async fn create(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(body): ApiJson<CreateTokenRequest>,
) -> Result<(StatusCode, [(axum::http::HeaderName, &'static str); 1], Json<CreatedTokenResponse>), Problem> {
    let scopes: Vec<Scope> = body.scopes.into_iter().map(Into::into).collect();
    let (token, secret) = s.services.create_api_token(&actor, &body.name, &scopes, body.expires_in_days).await?;
    Ok((
        StatusCode::CREATED,
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(CreatedTokenResponse { token: token.into(), secret }),
    ))
}

#[utoipa::path(
    delete, operation_id = "revoke_token", path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = Uuid, Path, description = "Token id")),
    responses((status = 204, description = "Revoked; the token stops working at once")),
)]
pub async fn revoke(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<ApiTokenId>,
) -> Result<StatusCode, Problem> {
    s.services.revoke_api_token(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
