//! Brand profiles.

use super::extract::{ApiActor, ApiJson, ApiPath, ApiQuery};
use super::types::{ApiNetwork, PageQuery, link_headers};
use crate::AppState;
use crate::problem::Problem;
use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode, header};
use jiff::Timestamp;
use nanopost_domain::brand::{Brand, BrandInput};
use nanopost_domain::ids::{BrandId, MediaId};
use nanopost_domain::network::Network;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// How often the brand posts, and the weekly slots its queue fills.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Cadence)]
pub struct CadenceDto {
    /// 0 to 70.
    #[serde(default)]
    pub posts_per_week: u8,
    /// Weekly slots in the brand's time zone, such as `mon 09:00`.
    #[serde(default)]
    #[schema(example = json!(["mon 09:00", "thu 17:30"]))]
    pub slots: Vec<String>,
    /// How late (minutes) a post may still go out after downtime, 0 to 10080; absent: the
    /// installation's setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_tolerance_minutes: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Competitor)]
pub struct CompetitorDto {
    pub network: ApiNetwork,
    /// Without the leading `@`.
    pub handle: String,
}

/// A brand profile as sent by a client (create and full replacement). Only `name` is required;
/// omitted fields are empty.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BrandRequest {
    #[schema(example = "Acme Bakery")]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub voice: String,
    #[serde(default)]
    pub audience: String,
    /// A BCP 47 tag such as `en` or `pt-BR`; default `en`.
    #[serde(default)]
    pub language: String,
    /// An IANA zone such as `Europe/Berlin`; schedules are read in it. Default `UTC`.
    #[serde(default)]
    pub timezone: String,
    #[serde(default)]
    pub topics: Vec<String>,
    #[serde(default)]
    pub avoid_words: Vec<String>,
    #[serde(default)]
    pub avoid_claims: Vec<String>,
    /// With or without the leading `#`.
    #[serde(default)]
    pub hashtags: Vec<String>,
    /// `#rrggbb`.
    #[serde(default)]
    pub colors: Vec<String>,
    #[serde(default)]
    pub logo: Option<Uuid>,
    #[serde(default)]
    pub cadence: CadenceDto,
    #[serde(default)]
    pub competitors: Vec<CompetitorDto>,
}

impl From<BrandRequest> for BrandInput {
    fn from(r: BrandRequest) -> Self {
        BrandInput {
            name: r.name,
            description: r.description,
            voice: r.voice,
            audience: r.audience,
            language: r.language,
            timezone: r.timezone,
            topics: r.topics,
            avoid_words: r.avoid_words,
            avoid_claims: r.avoid_claims,
            hashtags: r.hashtags,
            colors: r.colors,
            logo: r.logo.map(MediaId::from_uuid),
            posts_per_week: r.cadence.posts_per_week,
            slots: r.cadence.slots,
            late_tolerance_minutes: r.cadence.late_tolerance_minutes,
            competitors: r
                .competitors
                .into_iter()
                .map(|c| format!("{}:{}", Network::from(c.network), c.handle))
                .collect(),
        }
    }
}

/// A stored brand. Its fields (minus `id` and the timestamps) can be sent back as a
/// [`BrandRequest`] unchanged.
#[derive(Debug, Serialize, ToSchema)]
pub struct BrandResponse {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub voice: String,
    pub audience: String,
    pub language: String,
    pub timezone: String,
    pub topics: Vec<String>,
    pub avoid_words: Vec<String>,
    pub avoid_claims: Vec<String>,
    pub hashtags: Vec<String>,
    pub colors: Vec<String>,
    pub logo: Option<Uuid>,
    pub cadence: CadenceDto,
    pub competitors: Vec<CompetitorDto>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<Brand> for BrandResponse {
    fn from(b: Brand) -> Self {
        let p = b.profile;
        Self {
            id: b.id.as_uuid(),
            name: p.name,
            description: p.description,
            voice: p.voice,
            audience: p.audience,
            language: p.language,
            timezone: p.timezone,
            topics: p.topics,
            avoid_words: p.avoid_words,
            avoid_claims: p.avoid_claims,
            hashtags: p.hashtags,
            colors: p.colors,
            logo: p.logo.map(|m| m.as_uuid()),
            cadence: CadenceDto {
                posts_per_week: p.cadence.posts_per_week,
                slots: p.cadence.slots,
                late_tolerance_minutes: p.cadence.late_tolerance_minutes,
            },
            competitors: p
                .competitors
                .into_iter()
                .map(|c| CompetitorDto { network: c.network.into(), handle: c.handle })
                .collect(),
            created_at: b.created_at,
            updated_at: b.updated_at,
        }
    }
}

/// One page of brands, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct BrandPage {
    pub items: Vec<BrandResponse>,
    /// Pass as `after` to read the next page; `null` on the last page.
    pub next: Option<Uuid>,
}

#[utoipa::path(
    get, operation_id = "list_brands", path = "/api/v1/brands", tag = "brands",
    params(PageQuery),
    responses((status = 200, description = "A page of brands", body = BrandPage,
        headers(("Link" = String, description = "`<…>; rel=\"next\"` when there is a next page")))),
)]
pub async fn list(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    OriginalUri(uri): OriginalUri,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<(HeaderMap, Json<BrandPage>), Problem> {
    let page = s.services.brands(&actor, q.page()?).await?;
    let headers = link_headers(&uri, page.next);
    Ok((headers, Json(BrandPage { items: page.items.into_iter().map(Into::into).collect(), next: page.next })))
}

#[utoipa::path(
    post, operation_id = "create_brand", path = "/api/v1/brands", tag = "brands",
    request_body = BrandRequest,
    responses((status = 201, description = "Created", body = BrandResponse,
        headers(("Location" = String, description = "The new brand's URL")))),
)]
pub async fn create(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(body): ApiJson<BrandRequest>,
) -> Result<(StatusCode, [(header::HeaderName, String); 1], Json<BrandResponse>), Problem> {
    let brand = s.services.create_brand(&actor, &body.into()).await?;
    let location = format!("/api/v1/brands/{}", brand.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(brand.into())))
}

#[utoipa::path(
    get, operation_id = "get_brand", path = "/api/v1/brands/{id}", tag = "brands",
    params(("id" = Uuid, Path, description = "Brand id")),
    responses((status = 200, description = "The brand", body = BrandResponse)),
)]
pub async fn get(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<BrandId>,
) -> Result<Json<BrandResponse>, Problem> {
    Ok(Json(s.services.brand(&actor, id).await?.into()))
}

#[utoipa::path(
    put, operation_id = "replace_brand", path = "/api/v1/brands/{id}", tag = "brands",
    params(("id" = Uuid, Path, description = "Brand id")),
    request_body = BrandRequest,
    responses((status = 200, description = "Replaced", body = BrandResponse)),
)]
pub async fn replace(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<BrandId>,
    ApiJson(body): ApiJson<BrandRequest>,
) -> Result<Json<BrandResponse>, Problem> {
    Ok(Json(s.services.update_brand(&actor, id, &body.into()).await?.into()))
}

#[utoipa::path(
    delete, operation_id = "delete_brand", path = "/api/v1/brands/{id}", tag = "brands",
    params(("id" = Uuid, Path, description = "Brand id")),
    responses((status = 204, description = "Deleted, with its posts")),
)]
pub async fn delete(
    State(s): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<BrandId>,
) -> Result<StatusCode, Problem> {
    s.services.delete_brand(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
