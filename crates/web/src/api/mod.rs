//! The JSON API under `/api/v1/`, authenticated by bearer tokens only, and its OpenAPI 3.1
//! document at `/api/openapi.json`.
//!
//! Handlers are thin: extract (every extractor answers bad input with problem+json), call one
//! use case, map the result to a response DTO. Permissions are the services' business.
//!
//! Routes are declared once, in [`api_routes!`], which builds both the router and [`ROUTES`];
//! a test checks that the OpenAPI document lists exactly [`ROUTES`], so it cannot go stale.

mod audit;
mod brands;
mod extract;
mod generation;
pub(crate) mod media;
mod notifications;
mod posts;
mod publishing;
mod tokens;
mod types;
mod workspace;

use crate::AppState;
use crate::problem::{FieldError, Problem, ProblemBody};
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

pub use extract::{ApiActor, ApiJson, ApiPath, ApiQuery, parse_json};

/// Declares every route once: `METHOD "path" => handler`.
macro_rules! api_routes {
    ($($method:ident $path:literal => $handler:path),* $(,)?) => {
        /// Every route of the API as `(method, path)`, in axum's (and OpenAPI's) path syntax.
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        fn declared_routes() -> Router<AppState> {
            Router::new()$(.route($path, axum::routing::$method($handler)))*
        }
    };
}

api_routes! {
    get "/api/openapi.json" => openapi_json,
    get "/api/v1/me" => workspace::me,
    get "/api/v1/workspace" => workspace::workspace,
    get "/api/v1/members" => workspace::members,
    patch "/api/v1/members/{user_id}" => workspace::update_member,
    delete "/api/v1/members/{user_id}" => workspace::remove_member,
    get "/api/v1/invitations" => workspace::invitations,
    post "/api/v1/invitations" => workspace::invite,
    delete "/api/v1/invitations/{id}" => workspace::revoke_invitation,
    get "/api/v1/audit" => audit::list,
    get "/api/v1/notifications" => notifications::list,
    get "/api/v1/tokens" => tokens::list,
    post "/api/v1/tokens" => tokens::create,
    delete "/api/v1/tokens/{id}" => tokens::revoke,
    get "/api/v1/brands" => brands::list,
    post "/api/v1/brands" => brands::create,
    get "/api/v1/brands/{id}" => brands::get,
    put "/api/v1/brands/{id}" => brands::replace,
    delete "/api/v1/brands/{id}" => brands::delete,
    get "/api/v1/posts" => posts::list,
    post "/api/v1/posts" => posts::create,
    get "/api/v1/posts/{id}" => posts::get,
    put "/api/v1/posts/{id}" => posts::edit,
    post "/api/v1/posts/{id}/submit" => posts::submit,
    post "/api/v1/posts/{id}/approve" => posts::approve,
    post "/api/v1/posts/{id}/reject" => posts::reject,
    post "/api/v1/posts/{id}/schedule" => posts::schedule,
    post "/api/v1/posts/{id}/archive" => posts::archive,
    delete "/api/v1/posts/{id}" => posts::delete,
    get "/api/v1/posts/{id}/publications" => publishing::list,
    post "/api/v1/posts/{id}/publish" => publishing::publish_now,
    post "/api/v1/posts/{id}/retry" => publishing::retry,
    post "/api/v1/publications/{id}/resolve" => publishing::resolve,
    post "/api/v1/media" => media::upload,
    get "/api/v1/media" => media::list,
    get "/api/v1/media/{id}" => media::get,
    patch "/api/v1/media/{id}" => media::update,
    delete "/api/v1/media/{id}" => media::delete,
    post "/api/v1/brands/{id}/generations" => generation::create,
    get "/api/v1/generations/{id}" => generation::get,
    post "/api/v1/posts/{id}/regenerate" => generation::regenerate,
    get "/api/v1/posts/{id}/flags" => generation::flags,
    get "/api/v1/usage" => generation::usage,
}

/// The API's routes, to be merged into the application router. Unknown paths under `/api/`
/// and unsupported methods also answer with problem+json.
pub fn routes() -> Router<AppState> {
    declared_routes()
        .route("/api", any(not_found))
        .route("/api/{*rest}", any(not_found))
        .method_not_allowed_fallback(method_not_allowed)
}

async fn not_found() -> Problem {
    Problem::new(crate::problem::ProblemKind::NotFound, "no such API endpoint; see /api/openapi.json")
}

async fn method_not_allowed() -> Problem {
    Problem::method_not_allowed()
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Nanopost API",
        description = "Brands, posts and their human review. Authenticate with `Authorization: Bearer <token>` \
            (create tokens in the web app). Errors are RFC 9457 `application/problem+json`. Lists are paged \
            newest first with `?limit=&after=`; the next page's URL is in the `Link` header.",
    ),
    paths(
        openapi_json,
        workspace::me, workspace::workspace, workspace::members, workspace::update_member, workspace::remove_member,
        workspace::invitations, workspace::invite, workspace::revoke_invitation, audit::list,
        notifications::list,
        tokens::list, tokens::create, tokens::revoke,
        brands::list, brands::create, brands::get, brands::replace, brands::delete,
        posts::list, posts::create, posts::get, posts::edit, posts::submit, posts::approve, posts::reject,
        posts::schedule, posts::archive, posts::delete,
        publishing::list, publishing::publish_now, publishing::retry, publishing::resolve,
        media::upload, media::list, media::get, media::update, media::delete,
        generation::create, generation::get, generation::regenerate, generation::flags, generation::usage,
    ),
    components(schemas(ProblemBody, FieldError)),
    modifiers(&ProblemResponses),
    security(("bearer" = [])),
    tags(
        (name = "workspace", description = "The caller, the workspace, members and invitations"),
        (name = "tokens", description = "API tokens"),
        (name = "brands", description = "Brand profiles"),
        (name = "posts", description = "Posts and their review"),
        (name = "media", description = "The media library: uploads (metadata removed), tags, alt text"),
        (name = "generation", description = "AI drafts from the brand profile, run as jobs; guardrail flags; usage and the monthly quota"),
        (name = "meta", description = "This document"),
    ),
)]
pub struct ApiDoc;

/// Adds the bearer scheme, and the problem+json answer every operation may give.
struct ProblemResponses;

impl utoipa::Modify for ProblemResponses {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
        let problem = ResponseBuilder::new()
            .description("RFC 9457 problem details: 400 malformed, 401 no or bad token, 403 role or scope, \
                404 not in this workspace, 409 conflict, 413 too large, 415 not JSON, 422 invalid fields, 429 rate limited")
            .content("application/problem+json", ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
            .build();
        components.responses.insert("Problem".to_owned(), RefOr::T(problem));
        for item in doc.paths.paths.values_mut() {
            let ops = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for op in ops.into_iter().flatten() {
                for range in ["4XX", "5XX"] {
                    op.responses
                        .responses
                        .entry(range.to_owned())
                        .or_insert_with(|| RefOr::Ref(Ref::from_response_name("Problem")));
                }
            }
        }
    }
}

/// The OpenAPI document, built once.
pub fn openapi() -> &'static utoipa::openapi::OpenApi {
    static DOC: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    DOC.get_or_init(ApiDoc::openapi)
}

#[utoipa::path(
    get, operation_id = "get_openapi", path = "/api/openapi.json", tag = "meta",
    security(()),
    responses((status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json")),
)]
async fn openapi_json() -> Response {
    static BODY: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let body = BODY.get_or_init(|| serde_json::to_vec(openapi()).expect("the OpenAPI document serializes"));
    let mut res = body.clone().into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}
