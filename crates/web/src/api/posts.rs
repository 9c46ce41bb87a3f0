//! Posts and their review. A reviewer approves or rejects the `content_digest` they saw: if the
//! content changed in between, the decision is refused with 409 (invariant I1).

use super::extract::{ApiActor, ApiJson, ApiPath, ApiQuery};
use super::types::{ApiChannel, ApiNetwork, ApiPostState, ApiRole, link_headers, page_request};
use crate::AppState;
use crate::problem::Problem;
use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode, header};
use jiff::{Timestamp, civil};
use nanopost_domain::approval::{Approval, ContentDigest};
use nanopost_domain::ids::{BrandId, MediaId, PostId};
use nanopost_domain::post::{MediaRef, Post, PostContent, Schedule, Target, Variant};
use nanopost_services::PostView;
use nanopost_storage::PostFilter;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// A media item, pinned by the digest of its bytes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MediaRef)]
pub struct MediaRefDto {
    pub id: Uuid,
    /// `sha256:<hex>` of the stored bytes.
    pub digest: String,
}

/// What goes to one network.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Variant)]
pub struct VariantDto {
    pub network: ApiNetwork,
    #[serde(default)]
    pub caption: String,
    #[serde(default)]
    pub media: Vec<MediaRefDto>,
    /// The network's own options (privacy level, first comment, …), as text.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

/// Where the post goes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Target)]
pub struct TargetDto {
    pub network: ApiNetwork,
    /// The connected account there, once accounts are connected.
    #[serde(default)]
    pub account: Option<String>,
}

fn content(variants: Vec<VariantDto>, targets: Vec<TargetDto>) -> PostContent {
    PostContent {
        variants: variants
            .into_iter()
            .map(|v| Variant {
                network: v.network.into(),
                caption: v.caption,
                media: v
                    .media
                    .into_iter()
                    .map(|m| MediaRef { id: MediaId::from_uuid(m.id), digest: m.digest })
                    .collect(),
                options: v.options,
            })
            .collect(),
        targets: targets.into_iter().map(|t| Target { network: t.network.into(), account: t.account }).collect(),
    }
}

/// A publication time: the wall-clock time in the brand's time zone, and the instant it names.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Schedule)]
pub struct ScheduleDto {
    /// Local civil time, as given.
    #[schema(value_type = String, example = "2026-12-01T09:00:00")]
    pub at: civil::DateTime,
    #[schema(example = "Europe/Berlin")]
    pub timezone: String,
    /// The same moment in UTC.
    pub instant: Timestamp,
}

impl From<Schedule> for ScheduleDto {
    fn from(s: Schedule) -> Self {
        let instant = s.instant();
        Self { at: s.local, timezone: s.timezone, instant }
    }
}

/// A post as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostResponse {
    pub id: Uuid,
    pub brand_id: Uuid,
    pub state: ApiPostState,
    pub variants: Vec<VariantDto>,
    pub targets: Vec<TargetDto>,
    pub schedule: Option<ScheduleDto>,
    /// The digest of the content as it is now. Send it back to approve or reject.
    #[schema(example = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    pub content_digest: String,
    /// Bumped by every change. Send it back with edits, so a concurrent change is refused (409).
    pub version: i64,
    /// The approval in force, if any; any edit clears it.
    pub approval_id: Option<Uuid>,
    pub rejection_reason: Option<String>,
    pub created_by: Uuid,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<Post> for PostResponse {
    fn from(p: Post) -> Self {
        let content_digest = p.content.digest().to_string();
        Self {
            id: p.id.as_uuid(),
            brand_id: p.brand_id.as_uuid(),
            state: p.state.into(),
            variants: p
                .content
                .variants
                .into_iter()
                .map(|v| VariantDto {
                    network: v.network.into(),
                    caption: v.caption,
                    media: v.media.into_iter().map(|m| MediaRefDto { id: m.id.as_uuid(), digest: m.digest }).collect(),
                    options: v.options,
                })
                .collect(),
            targets: p
                .content
                .targets
                .into_iter()
                .map(|t| TargetDto { network: t.network.into(), account: t.account })
                .collect(),
            schedule: p.schedule.map(Into::into),
            content_digest,
            version: p.version,
            approval_id: p.approval_id.map(|a| a.as_uuid()),
            rejection_reason: p.rejection_reason,
            created_by: p.created_by.as_uuid(),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// A human decision: who approved, when, through which channel, and on exactly what.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Approval)]
pub struct ApprovalDto {
    pub id: Uuid,
    pub approver: Uuid,
    pub approver_role: ApiRole,
    pub channel: ApiChannel,
    /// The content digest that was approved.
    pub digest: String,
    pub at: Timestamp,
    /// Whether this approval is the one in force (an edit voids it but keeps the record).
    pub current: bool,
}

/// A post with its approval history.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostDetail {
    #[serde(flatten)]
    pub post: PostResponse,
    /// Every approval ever given, oldest first.
    pub approvals: Vec<ApprovalDto>,
}

impl From<PostView> for PostDetail {
    fn from(v: PostView) -> Self {
        let current = v.post.approval_id;
        let approvals = v
            .approvals
            .into_iter()
            .map(|a: Approval| ApprovalDto {
                id: a.id.as_uuid(),
                approver: a.approver.as_uuid(),
                approver_role: a.approver_role.into(),
                channel: a.channel.into(),
                digest: a.digest.to_string(),
                at: a.at,
                current: Some(a.id) == current,
            })
            .collect();
        Self { post: v.post.into(), approvals }
    }
}

/// One page of posts, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostPage {
    pub items: Vec<PostResponse>,
    /// Pass as `after` to read the next page; `null` on the last page.
    pub next: Option<Uuid>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PostListQuery {
    /// Only this brand's posts.
    pub brand_id: Option<Uuid>,
    /// Only posts in this state.
    #[param(inline)]
    pub state: Option<ApiPostState>,
    /// Items per page, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next` cursor of the previous page.
    pub after: Option<Uuid>,
}

#[utoipa::path(
    get, operation_id = "list_posts", path = "/api/v1/posts", tag = "posts",
    params(PostListQuery),
    responses((status = 200, description = "A page of posts", body = PostPage,
        headers(("Link" = String, description = "`<…>; rel=\"next\"` when there is a next page")))),
)]
pub async fn list(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    OriginalUri(uri): OriginalUri,
    ApiQuery(q): ApiQuery<PostListQuery>,
) -> Result<(HeaderMap, Json<PostPage>), Problem> {
    let filter = PostFilter { brand_id: q.brand_id.map(BrandId::from_uuid), state: q.state.map(Into::into) };
    let page = s.services.posts(&actor, &filter, page_request(q.limit, q.after)?).await?;
    let headers = link_headers(&uri, page.next);
    Ok((headers, Json(PostPage { items: page.items.into_iter().map(Into::into).collect(), next: page.next })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePostRequest {
    pub brand_id: Uuid,
    /// One per network.
    pub variants: Vec<VariantDto>,
    pub targets: Vec<TargetDto>,
}

#[utoipa::path(
    post, operation_id = "create_post", path = "/api/v1/posts", tag = "posts",
    request_body = CreatePostRequest,
    responses((status = 201, description = "Created as a draft", body = PostResponse,
        headers(("Location" = String, description = "The new post's URL")))),
)]
pub async fn create(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(body): ApiJson<CreatePostRequest>,
) -> Result<(StatusCode, [(header::HeaderName, String); 1], Json<PostResponse>), Problem> {
    let post =
        s.services.create_post(&actor, BrandId::from_uuid(body.brand_id), content(body.variants, body.targets)).await?;
    let location = format!("/api/v1/posts/{}", post.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(post.into())))
}

#[utoipa::path(
    get, operation_id = "get_post", path = "/api/v1/posts/{id}", tag = "posts",
    params(("id" = Uuid, Path, description = "Post id")),
    responses((status = 200, description = "The post with its approvals", body = PostDetail)),
)]
pub async fn get(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<PostId>,
) -> Result<Json<PostDetail>, Problem> {
    Ok(Json(s.services.post(&actor, id).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePostRequest {
    /// The `version` the edit is based on.
    pub version: i64,
    pub variants: Vec<VariantDto>,
    pub targets: Vec<TargetDto>,
}

#[utoipa::path(
    put, operation_id = "edit_post", path = "/api/v1/posts/{id}", tag = "posts",
    params(("id" = Uuid, Path, description = "Post id")),
    request_body = UpdatePostRequest,
    responses(
        (status = 200, description = "Edited; a change voids any approval and returns the post to review", body = PostResponse),
        (status = 409, description = "The post changed since `version`, or cannot be edited in its state", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub async fn edit(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<PostId>,
    ApiJson(body): ApiJson<UpdatePostRequest>,
) -> Result<Json<PostResponse>, Problem> {
    let post = s.services.edit_post(&actor, id, body.version, content(body.variants, body.targets)).await?;
    Ok(Json(post.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionRequest {
    /// The `version` the request is based on.
    pub version: i64,
}

#[utoipa::path(
    post, operation_id = "submit_post", path = "/api/v1/posts/{id}/submit", tag = "posts",
    params(("id" = Uuid, Path, description = "Post id")),
    request_body = VersionRequest,
    responses((status = 200, description = "Submitted for review", body = PostResponse)),
)]
pub async fn submit(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<PostId>,
    ApiJson(body): ApiJson<VersionRequest>,
) -> Result<Json<PostResponse>, Problem> {
    Ok(Json(s.services.submit_post(&actor, id, body.version).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    /// The `content_digest` of the post as the reviewer saw it.
    pub content_digest: String,
}

fn digest(raw: &str) -> Result<ContentDigest, Problem> {
    ContentDigest::parse(raw).map_err(|e| Problem::invalid(&e.into()))
}

#[utoipa::path(
    post, operation_id = "approve_post", path = "/api/v1/posts/{id}/approve", tag = "posts",
    params(("id" = Uuid, Path, description = "Post id")),
    request_body = ApproveRequest,
    responses(
        (status = 200, description = "Approved (or scheduled, if it has a time); recorded with who, when and channel `api`", body = PostResponse),
        (status = 409, description = "The content changed since the reviewer saw it, or the post is not pending review", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "A target cannot go to one account (the brand has several on that network and the post names none, or it names one not connected): `errors` on `targets` say what to choose", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub async fn approve(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<PostId>,
    ApiJson(body): ApiJson<ApproveRequest>,
) -> Result<Json<PostResponse>, Problem> {
    let seen = digest(&body.content_digest)?;
    Ok(Json(s.services.approve_post(&actor, id, &seen).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    /// The `content_digest` of the post as the reviewer saw it.
    pub content_digest: String,
    /// Why, for the editor: 1 to 2000 characters.
    pub reason: String,
}

#[utoipa::path(
    post, operation_id = "reject_post", path = "/api/v1/posts/{id}/reject", tag = "posts",
    params(("id" = Uuid, Path, description = "Post id")),
    request_body = RejectRequest,
    responses(
        (status = 200, description = "Rejected with the reason", body = PostResponse),
        (status = 409, description = "The content changed since the reviewer saw it, or the post is not pending review", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub async fn reject(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<PostId>,
    ApiJson(body): ApiJson<RejectRequest>,
) -> Result<Json<PostResponse>, Problem> {
    let seen = digest(&body.content_digest)?;
    Ok(Json(s.services.reject_post(&actor, id, &seen, &body.reason).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRequest {
    /// The `version` the request is based on.
    pub version: i64,
    /// Local civil time in the brand's time zone, such as `2026-12-01T09:00`, without an
    /// offset; `null` clears the schedule. Required (send `null` explicitly).
    #[serde(deserialize_with = "required_nullable")]
    #[schema(value_type = Option<String>, required = true, example = "2026-12-01T09:00")]
    pub at: Option<String>,
}

/// An `Option` that must still be present in the body (as a value or `null`).
fn required_nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(d)
}

/// `2026-12-01T09:00` (seconds optional). Offsets, `Z` and zone names are refused: the time is
/// read in the brand's own zone, and a second zone would be ambiguous.
fn parse_local(raw: &str) -> Result<civil::DateTime, Problem> {
    let bad =
        || Problem::invalid_field("at", "must be a local date and time such as 2026-12-01T09:00, without an offset");
    let time_part = raw.split_once(['T', 't', ' ']).map(|(_, t)| t).ok_or_else(bad)?;
    if time_part.contains(['+', '-', 'Z', 'z', '[']) {
        return Err(bad());
    }
    raw.parse::<civil::DateTime>().map_err(|_| bad())
}

#[utoipa::path(
    post, operation_id = "schedule_post", path = "/api/v1/posts/{id}/schedule", tag = "posts",
    params(("id" = Uuid, Path, description = "Post id")),
    request_body = ScheduleRequest,
    responses((status = 200, description = "Scheduled or unscheduled; an approval stands (time is not content)", body = PostResponse)),
)]
pub async fn schedule(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<PostId>,
    ApiJson(body): ApiJson<ScheduleRequest>,
) -> Result<Json<PostResponse>, Problem> {
    let at = body.at.as_deref().map(parse_local).transpose()?;
    Ok(Json(s.services.schedule_post(&actor, id, body.version, at).await?.into()))
}

#[utoipa::path(
    post, operation_id = "archive_post", path = "/api/v1/posts/{id}/archive", tag = "posts",
    params(("id" = Uuid, Path, description = "Post id")),
    request_body = VersionRequest,
    responses((status = 200, description = "Archived", body = PostResponse)),
)]
pub async fn archive(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<PostId>,
    ApiJson(body): ApiJson<VersionRequest>,
) -> Result<Json<PostResponse>, Problem> {
    Ok(Json(s.services.archive_post(&actor, id, body.version).await?.into()))
}

#[utoipa::path(
    delete, operation_id = "delete_post", path = "/api/v1/posts/{id}", tag = "posts",
    params(("id" = Uuid, Path, description = "Post id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "Published or publishing posts cannot be deleted; archive them", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ),
)]
pub async fn delete(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<PostId>,
) -> Result<StatusCode, Problem> {
    s.services.delete_post(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_without_offsets_only() {
        assert_eq!(parse_local("2026-12-01T09:00").unwrap(), civil::date(2026, 12, 1).at(9, 0, 0, 0));
        assert_eq!(parse_local("2026-12-01T09:00:30").unwrap(), civil::date(2026, 12, 1).at(9, 0, 30, 0));
        for bad in ["2026-12-01T09:00Z", "2026-12-01T09:00+01:00", "2026-12-01", "tomorrow", "2026-13-01T09:00", ""] {
            assert!(parse_local(bad).is_err(), "{bad} accepted");
        }
    }
}
