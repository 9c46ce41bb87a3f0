//! The caller's in-app notifications in the token's workspace (publishing problems, accounts to
//! reconnect, drafts to review), newest first.

use super::extract::{ApiActor, ApiQuery};
use super::types::{link_headers, page_request};
use crate::AppState;
use crate::problem::Problem;
use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use jiff::Timestamp;
use nanopost_storage::Notification;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// One notification of the caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationResponse {
    pub id: Uuid,
    #[schema(example = "publish_failed")]
    pub kind: String,
    pub subject: String,
    pub body: String,
    /// Where to act on it in the web app (a path, e.g. `/w/…/posts/…`).
    pub link: Option<String>,
    pub created_at: Timestamp,
    /// `null` while unread.
    pub read_at: Option<Timestamp>,
}

impl From<Notification> for NotificationResponse {
    fn from(n: Notification) -> Self {
        Self {
            id: n.id,
            kind: n.kind,
            subject: n.subject,
            body: n.body,
            link: n.link,
            created_at: n.created_at,
            read_at: n.read_at,
        }
    }
}

/// One page of notifications, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPage {
    pub items: Vec<NotificationResponse>,
    /// Unread notifications in all (not only on this page).
    pub unread: u64,
    /// Pass as `after` to read the next page; `null` on the last page.
    pub next: Option<Uuid>,
}

/// `?unread=&limit=&after=`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// Only unread notifications.
    pub unread: Option<bool>,
    /// Items per page, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next` cursor of the previous page.
    pub after: Option<Uuid>,
}

#[utoipa::path(
    get, operation_id = "list_notifications", path = "/api/v1/notifications", tag = "workspace",
    params(NotificationQuery),
    responses((status = 200, description = "A page of the caller's notifications in this workspace", body = NotificationPage,
        headers(("Link" = String, description = "`<…>; rel=\"next\"` when there is a next page")))),
)]
pub async fn list(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    OriginalUri(uri): OriginalUri,
    ApiQuery(q): ApiQuery<NotificationQuery>,
) -> Result<(HeaderMap, Json<NotificationPage>), Problem> {
    let page = s.services.notifications(&actor, q.unread.unwrap_or(false), page_request(q.limit, q.after)?).await?;
    let unread = s.services.unread_notifications(&actor).await?;
    let headers = link_headers(&uri, page.next);
    Ok((
        headers,
        Json(NotificationPage { items: page.items.into_iter().map(Into::into).collect(), unread, next: page.next }),
    ))
}
