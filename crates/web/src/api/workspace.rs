//! The caller, their workspace, its members and invitations.

use super::extract::{ApiActor, ApiJson, ApiPath};
use super::types::{ALL_PERMISSIONS, ApiPermission, ApiRole, ApiScope};
use crate::AppState;
use crate::problem::Problem;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use nanopost_domain::ids::{InvitationId, UserId};
use nanopost_storage::{Invitation, Member, Workspace};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Who the token acts as, where, and what it may do.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    pub user_id: Uuid,
    pub workspace_id: Uuid,
    pub role: ApiRole,
    /// The token's scopes.
    pub scopes: Vec<ApiScope>,
    /// What the token may do now: its creator's current role narrowed by its scopes.
    pub permissions: Vec<ApiPermission>,
}

#[utoipa::path(
    get, operation_id = "get_me", path = "/api/v1/me", tag = "workspace",
    responses((status = 200, description = "The caller", body = MeResponse)),
)]
pub async fn me(ApiActor(actor): ApiActor) -> Json<MeResponse> {
    Json(MeResponse {
        user_id: actor.user_id.as_uuid(),
        workspace_id: actor.workspace_id.as_uuid(),
        role: actor.role.into(),
        scopes: actor.scopes.iter().flatten().map(|&s| s.into()).collect(),
        permissions: ALL_PERMISSIONS.into_iter().filter(|&p| actor.can(p)).map(Into::into).collect(),
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceResponse {
    pub id: Uuid,
    pub name: String,
    pub created_at: Timestamp,
}

impl From<Workspace> for WorkspaceResponse {
    fn from(w: Workspace) -> Self {
        Self { id: w.id.as_uuid(), name: w.name, created_at: w.created_at }
    }
}

#[utoipa::path(
    get, operation_id = "get_workspace", path = "/api/v1/workspace", tag = "workspace",
    responses((status = 200, description = "The token's workspace", body = WorkspaceResponse)),
)]
pub async fn workspace(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
) -> Result<Json<WorkspaceResponse>, Problem> {
    Ok(Json(s.services.workspace(&actor).await?.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberResponse {
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: ApiRole,
    pub joined_at: Timestamp,
}

impl From<Member> for MemberResponse {
    fn from(m: Member) -> Self {
        Self {
            user_id: m.user_id.as_uuid(),
            email: m.email.to_string(),
            display_name: m.display_name,
            role: m.role.into(),
            joined_at: m.joined_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberList {
    pub items: Vec<MemberResponse>,
}

#[utoipa::path(
    get, operation_id = "list_members", path = "/api/v1/members", tag = "workspace",
    responses((status = 200, description = "Every member of the workspace", body = MemberList)),
)]
pub async fn members(State(s): State<AppState>, ApiActor(actor): ApiActor) -> Result<Json<MemberList>, Problem> {
    let items = s.services.members(&actor).await?.into_iter().map(Into::into).collect();
    Ok(Json(MemberList { items }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMemberRequest {
    pub role: ApiRole,
}

#[utoipa::path(
    patch, operation_id = "update_member", path = "/api/v1/members/{user_id}", tag = "workspace",
    params(("user_id" = Uuid, Path, description = "The member's user id")),
    request_body = UpdateMemberRequest,
    responses(
        (status = 204, description = "Role changed"),
        (status = 409, description = "The workspace would be left without an owner", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub async fn update_member(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(user): ApiPath<UserId>,
    ApiJson(body): ApiJson<UpdateMemberRequest>,
) -> Result<StatusCode, Problem> {
    s.services.set_role(&actor, user, body.role.into()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete, operation_id = "remove_member", path = "/api/v1/members/{user_id}", tag = "workspace",
    params(("user_id" = Uuid, Path, description = "The member's user id")),
    responses(
        (status = 204, description = "Removed (members may always remove themselves)"),
        (status = 409, description = "The last owner cannot be removed", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub async fn remove_member(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(user): ApiPath<UserId>,
) -> Result<StatusCode, Problem> {
    s.services.remove_member(&actor, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationResponse {
    pub id: Uuid,
    pub email: String,
    pub role: ApiRole,
    pub invited_by: Uuid,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl From<Invitation> for InvitationResponse {
    fn from(i: Invitation) -> Self {
        Self {
            id: i.id.as_uuid(),
            email: i.email.to_string(),
            role: i.role.into(),
            invited_by: i.invited_by.as_uuid(),
            created_at: i.created_at,
            expires_at: i.expires_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationList {
    pub items: Vec<InvitationResponse>,
}

#[utoipa::path(
    get, operation_id = "list_invitations", path = "/api/v1/invitations", tag = "workspace",
    responses((status = 200, description = "Pending invitations", body = InvitationList)),
)]
pub async fn invitations(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
) -> Result<Json<InvitationList>, Problem> {
    let items = s.services.invitations(&actor).await?.into_iter().map(Into::into).collect();
    Ok(Json(InvitationList { items }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvitationRequest {
    #[schema(example = "ana@example.com")]
    pub email: String,
    pub role: ApiRole,
}

#[utoipa::path(
    post, operation_id = "create_invitation", path = "/api/v1/invitations", tag = "workspace",
    request_body = CreateInvitationRequest,
    responses((status = 201, description = "Invited; the link goes out by e-mail", body = InvitationResponse)),
)]
pub async fn invite(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(body): ApiJson<CreateInvitationRequest>,
) -> Result<(StatusCode, Json<InvitationResponse>), Problem> {
    let inv = s.services.invite(&actor, &body.email, body.role.into()).await?;
    Ok((StatusCode::CREATED, Json(inv.into())))
}

#[utoipa::path(
    delete, operation_id = "revoke_invitation", path = "/api/v1/invitations/{id}", tag = "workspace",
    params(("id" = Uuid, Path, description = "Invitation id")),
    responses((status = 204, description = "Revoked")),
)]
pub async fn revoke_invitation(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<InvitationId>,
) -> Result<StatusCode, Problem> {
    s.services.revoke_invitation(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
