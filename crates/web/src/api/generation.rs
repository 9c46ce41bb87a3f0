//! AI generation: ask for a post or a plan of a brand, or a new version of a post with
//! feedback; follow the generation (it runs as a job: `202 Accepted` with its URL, then poll
//! it); read a post's guardrail flags and the workspace's AI usage. Asking beyond the
//! workspace's monthly quota is `409` with a sentence saying when it resets.

use super::extract::{ApiActor, ApiJson, ApiPath};
use super::types::ApiNetwork;
use crate::AppState;
use crate::problem::Problem;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use jiff::Timestamp;
use nanopost_domain::ids::{BrandId, GenerationId, PostId};
use nanopost_services::generation::{Flag, GenerationView, Period, PlanInput, PostInput, UsageView, state_label};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// How far a plan reaches.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiPeriod {
    /// The next seven days.
    Week,
    /// The next month.
    Month,
}

impl From<ApiPeriod> for Period {
    fn from(p: ApiPeriod) -> Self {
        match p {
            ApiPeriod::Week => Period::Week,
            ApiPeriod::Month => Period::Month,
        }
    }
}

/// What to generate for the brand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
pub enum GenerationRequest {
    /// One post: a caption per network and an image, as a draft pending review.
    Post {
        networks: Vec<ApiNetwork>,
        /// What it is about (facts, offer, occasion); empty picks one of the brand's topics.
        #[serde(default)]
        brief: String,
    },
    /// Drafts spread over the brand's queue slots, each with a suggested (not scheduled) time.
    Plan {
        networks: Vec<ApiNetwork>,
        period: ApiPeriod,
        /// Omitted: as many as the brand's cadence has in the period.
        #[serde(default)]
        count: Option<u32>,
        /// Guidance for the whole plan.
        #[serde(default)]
        theme: String,
    },
}

/// A new version of a post's captions.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegenerateRequest {
    /// What to change ("shorter, no emoji"); 1 to 1000 characters.
    pub feedback: String,
}

/// A draft a generation made, with the time it suggests.
#[derive(Debug, Serialize, ToSchema)]
pub struct GeneratedDraft {
    pub post_id: Uuid,
    /// Its place in a plan (0 for a single post).
    pub position: u32,
    /// Wall-clock time in the brand's time zone (`2026-03-30T09:00:00`); never a schedule.
    pub suggested_local: Option<String>,
    pub timezone: Option<String>,
    pub suggested_at: Option<Timestamp>,
    /// How it was made ("the caption was cut to fit").
    pub notes: Vec<String>,
}

/// Alt text and a suggested caption for an image.
#[derive(Debug, Serialize, ToSchema)]
pub struct DescriptionResponse {
    pub alt_text: String,
    pub suggested_caption: String,
}

/// A request to the AI and how far its job got.
#[derive(Debug, Serialize, ToSchema)]
pub struct GenerationResponse {
    pub id: Uuid,
    /// `post`, `plan`, `regenerate` or `describe`.
    pub kind: String,
    /// `queued`, `running`, `done` or `failed`.
    pub state: String,
    /// `waiting`, `working`, `done` or `failed`, as the web app says it.
    pub state_label: String,
    /// A sentence about the progress.
    pub progress: String,
    /// Why it failed, as a sentence.
    pub error: Option<String>,
    /// `offline`, or the configured endpoint and model.
    pub provider: Option<String>,
    /// Written offline (templates and locally rendered brand cards).
    pub offline: bool,
    pub brand_id: Option<Uuid>,
    pub networks: Vec<ApiNetwork>,
    /// The drafts it made or rewrote, in plan order (each pending review).
    pub drafts: Vec<GeneratedDraft>,
    /// A plan's suggested times, known from the start.
    pub suggested_times: Vec<String>,
    pub description: Option<DescriptionResponse>,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

impl From<GenerationView> for GenerationResponse {
    fn from(v: GenerationView) -> Self {
        let g = v.record;
        Self {
            id: g.id.as_uuid(),
            kind: g.kind.as_str().to_owned(),
            state: g.state.as_str().to_owned(),
            state_label: state_label(g.state).to_owned(),
            progress: g.progress,
            error: g.error,
            provider: g.provider,
            offline: g.offline,
            brand_id: g.brand_id.map(|b| b.as_uuid()),
            networks: v.networks.into_iter().map(Into::into).collect(),
            drafts: v
                .posts
                .into_iter()
                .map(|l| GeneratedDraft {
                    post_id: l.post_id.as_uuid(),
                    position: l.position,
                    suggested_local: l.suggested_local.map(|d| d.to_string()),
                    timezone: l.suggested_tz,
                    suggested_at: l.suggested_at,
                    notes: l.notes,
                })
                .collect(),
            suggested_times: v.suggestions.iter().map(|s| format!("{} {}", s.local, s.timezone)).collect(),
            description: v
                .description
                .map(|d| DescriptionResponse { alt_text: d.alt_text, suggested_caption: d.suggested_caption }),
            created_at: g.created_at,
            finished_at: g.finished_at,
        }
    }
}

/// Something a reviewer should look at twice in a draft.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostFlag {
    pub network: ApiNetwork,
    /// `avoid_word`, `avoid_claim`, `length`, `hashtags` or `mentions`.
    pub kind: String,
    pub reason: String,
}

impl From<Flag> for PostFlag {
    fn from(f: Flag) -> Self {
        Self { network: f.network.into(), kind: f.kind.as_str().to_owned(), reason: f.reason }
    }
}

/// The workspace's AI use this month.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageResponse {
    /// `YYYY-MM` (UTC).
    pub month: String,
    pub generations: u64,
    /// Generations allowed a month; 0: no limit.
    pub quota: u32,
    /// Left this month; absent without a limit.
    pub remaining: Option<u64>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub images: u64,
}

impl From<UsageView> for UsageResponse {
    fn from(u: UsageView) -> Self {
        Self {
            remaining: u.remaining(),
            month: u.month,
            generations: u.generations,
            quota: u.quota,
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            images: u.images,
        }
    }
}

type Accepted = (StatusCode, [(header::HeaderName, String); 1], Json<GenerationResponse>);

async fn accepted(s: &AppState, actor: &nanopost_services::Actor, id: GenerationId) -> Result<Accepted, Problem> {
    let view = s.services.generation(actor, id).await?;
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, format!("/api/v1/generations/{id}"))], Json(view.into())))
}

#[utoipa::path(
    post, operation_id = "create_generation", path = "/api/v1/brands/{id}/generations", tag = "generation",
    params(("id" = Uuid, Path, description = "Brand id")),
    request_body = GenerationRequest,
    responses((status = 202, description = "Accepted: the job runs it; follow the Location", body = GenerationResponse,
        headers(("Location" = String, description = "The generation's URL")))),
)]
pub async fn create(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<BrandId>,
    ApiJson(body): ApiJson<GenerationRequest>,
) -> Result<Accepted, Problem> {
    let networks = |n: Vec<ApiNetwork>| n.into_iter().map(Into::into).collect();
    let g = match body {
        GenerationRequest::Post { networks: n, brief } => {
            s.services.generate_post(&actor, id, PostInput { networks: networks(n), brief }).await?
        }
        GenerationRequest::Plan { networks: n, period, count, theme } => {
            let input = PlanInput { networks: networks(n), period: period.into(), count, theme };
            s.services.generate_plan(&actor, id, input).await?
        }
    };
    accepted(&s, &actor, g.id).await
}

#[utoipa::path(
    get, operation_id = "get_generation", path = "/api/v1/generations/{id}", tag = "generation",
    params(("id" = Uuid, Path, description = "Generation id")),
    responses((status = 200, description = "The generation and the drafts it made", body = GenerationResponse)),
)]
pub async fn get(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<GenerationId>,
) -> Result<Json<GenerationResponse>, Problem> {
    Ok(Json(s.services.generation(&actor, id).await?.into()))
}

#[utoipa::path(
    post, operation_id = "regenerate_post", path = "/api/v1/posts/{id}/regenerate", tag = "generation",
    params(("id" = Uuid, Path, description = "Post id")),
    request_body = RegenerateRequest,
    responses((status = 202, description = "Accepted: new captions replace the post's (any approval is void)", body = GenerationResponse,
        headers(("Location" = String, description = "The generation's URL")))),
)]
pub async fn regenerate(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<PostId>,
    ApiJson(body): ApiJson<RegenerateRequest>,
) -> Result<Accepted, Problem> {
    let g = s.services.regenerate(&actor, id, &body.feedback).await?;
    accepted(&s, &actor, g.id).await
}

#[utoipa::path(
    get, operation_id = "list_post_flags", path = "/api/v1/posts/{id}/flags", tag = "generation",
    params(("id" = Uuid, Path, description = "Post id")),
    responses((status = 200, description = "The guardrails' flags of the post as it is now", body = [PostFlag])),
)]
pub async fn flags(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<PostId>,
) -> Result<Json<Vec<PostFlag>>, Problem> {
    Ok(Json(s.services.post_flags(&actor, id).await?.into_iter().map(Into::into).collect()))
}

#[utoipa::path(
    get, operation_id = "get_ai_usage", path = "/api/v1/usage", tag = "generation",
    responses((status = 200, description = "The workspace's AI usage this month and its quota", body = UsageResponse)),
)]
pub async fn usage(State(s): State<AppState>, ApiActor(actor): ApiActor) -> Result<Json<UsageResponse>, Problem> {
    Ok(Json(s.services.ai_usage(&actor).await?.into()))
}
