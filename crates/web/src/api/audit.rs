//! The workspace's audit log, for owners and admins (and tokens of theirs whose scope allows
//! managing members).

use super::extract::{ApiActor, ApiQuery};
use super::types::{PageQuery, link_headers};
use crate::AppState;
use crate::problem::Problem;
use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use jiff::Timestamp;
use nanopost_storage::AuditEntry;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// One entry: who did what, to what, when and from where.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryResponse {
    pub id: Uuid,
    pub at: Timestamp,
    /// `null` for account events (sign-ins) of members.
    pub workspace_id: Option<Uuid>,
    /// Who acted; `null` when nobody was signed in (a failed sign-in) or the person was erased.
    pub actor_id: Option<Uuid>,
    /// The account an event concerns when that is not the actor (a failed sign-in).
    pub subject_id: Option<Uuid>,
    #[schema(example = "member.role_changed")]
    pub action: String,
    /// `kind:id`, e.g. `user:…`, `post:…`.
    pub target: Option<String>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

impl From<AuditEntry> for AuditEntryResponse {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id,
            at: e.at,
            workspace_id: e.workspace_id.map(|w| w.as_uuid()),
            actor_id: e.actor_id.map(|u| u.as_uuid()),
            subject_id: e.subject_id.map(|u| u.as_uuid()),
            action: e.action,
            target: e.target,
            client_ip: e.client_ip,
            user_agent: e.user_agent,
        }
    }
}

/// One page of the audit log, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntryResponse>,
    /// Pass as `after` to read the next page; `null` on the last page.
    pub next: Option<Uuid>,
}

#[utoipa::path(
    get, operation_id = "list_audit_log", path = "/api/v1/audit", tag = "workspace",
    params(PageQuery),
    responses((status = 200, description = "A page of the audit log (owners and admins)", body = AuditPage,
        headers(("Link" = String, description = "`<…>; rel=\"next\"` when there is a next page")))),
)]
pub async fn list(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    OriginalUri(uri): OriginalUri,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<(HeaderMap, Json<AuditPage>), Problem> {
    let page = s.services.audit_log(&actor, q.page()?).await?;
    let headers = link_headers(&uri, page.next);
    Ok((headers, Json(AuditPage { items: page.items.into_iter().map(Into::into).collect(), next: page.next })))
}
