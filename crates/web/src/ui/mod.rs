//! The server-rendered web app: askama templates compiled into the binary, plain HTML forms
//! that work without JavaScript, one small stylesheet.
//!
//! Handlers extract (the session, the workspace, a CSRF-checked form), call one use case in
//! `nanopost_services`, and render. The role matrix lives in the services (they answer
//! `Forbidden`); pages only hide the buttons a role cannot use, asking `actor.can(…)`.

mod accounts;
mod assets;
mod auth;
mod brands;
mod calendar;
mod demo;
mod generate;
pub(crate) mod media;
mod notifications;
mod operator;
mod post_media;
mod posts;
mod preview;
pub(crate) mod privacy;
mod publishing;
mod review;
mod telegram;
mod workspace;

use crate::AppState;
use crate::session::CurrentUser;
use askama::Template;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Router, extract::Request};
use jiff::Timestamp;
use nanopost_domain::ids::WorkspaceId;
use nanopost_domain::role::Role;
use nanopost_services::{Actor, ServiceError};
use std::str::FromStr;

async fn page_not_found() -> PageError {
    PageError::not_found()
}

/// Every page and form of the web app.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(auth::home))
        .route("/static/app.css", get(stylesheet))
        .route("/signup", get(auth::signup_page).post(auth::signup))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/verify-email", get(auth::verify_page).post(auth::verify))
        .route("/verify-email/resend", post(auth::resend_verification))
        .route("/forgot-password", get(auth::forgot_page).post(auth::forgot))
        .route("/reset-password", get(auth::reset_page).post(auth::reset))
        .route("/invitations/accept", get(auth::accept_page).post(auth::accept))
        .route("/workspaces", post(workspace::create))
        .route("/switch", get(workspace::switch))
        .route("/w/{ws}", get(workspace::dashboard))
        .route("/w/{ws}/members", get(workspace::members))
        .route("/w/{ws}/members/invite", post(workspace::invite))
        .route("/w/{ws}/members/{user}/role", post(workspace::set_role))
        .route("/w/{ws}/members/{user}/remove", post(workspace::remove_member))
        .route("/w/{ws}/invitations/{id}/revoke", post(workspace::revoke_invitation))
        .route("/w/{ws}/tokens", get(workspace::tokens).post(workspace::create_token))
        .route("/w/{ws}/tokens/{id}/revoke", post(workspace::revoke_token))
        .route("/w/{ws}/brands", get(brands::list).post(brands::create))
        .route("/w/{ws}/brands/new", get(brands::new_page))
        .route("/w/{ws}/brands/{id}", get(brands::edit_page).post(brands::update))
        .route("/w/{ws}/brands/{id}/delete", post(brands::delete))
        .route("/w/{ws}/brands/{id}/accounts", get(accounts::page))
        .route("/w/{ws}/brands/{id}/accounts/connect", post(accounts::connect))
        .route("/w/{ws}/brands/{id}/accounts/{account}/disconnect", post(accounts::disconnect))
        .route("/oauth/{network}/callback", get(accounts::callback))
        .route("/w/{ws}/posts", get(posts::list).post(posts::create))
        .route("/w/{ws}/posts/new", get(posts::new_page))
        .route("/w/{ws}/posts/{id}", get(posts::editor).post(posts::update))
        .route("/w/{ws}/posts/{id}/submit", post(posts::submit))
        .route("/w/{ws}/posts/{id}/approve", post(posts::approve))
        .route("/w/{ws}/posts/{id}/reject", post(posts::reject))
        .route("/w/{ws}/posts/{id}/schedule", post(posts::schedule))
        .route("/w/{ws}/posts/{id}/archive", post(posts::archive))
        .route("/w/{ws}/posts/{id}/delete", post(posts::delete))
        .route("/w/{ws}/posts/{id}/media/add", post(post_media::add))
        .route("/w/{ws}/posts/{id}/media/remove", post(post_media::remove))
        .route("/w/{ws}/posts/{id}/publish", post(publishing::publish_now))
        .route("/w/{ws}/posts/{id}/retry", post(publishing::retry))
        .route("/w/{ws}/posts/{id}/publications/{publication}/resolve", post(publishing::resolve))
        .route("/static/review.js", get(review::script))
        .route("/w/{ws}/review", get(review::queue))
        .route("/w/{ws}/review/{id}/approve", post(review::approve))
        .route("/w/{ws}/review/{id}/reject", post(review::reject))
        .route("/w/{ws}/review/{id}/schedule", post(review::schedule))
        .route("/w/{ws}/calendar", get(calendar::page))
        .route("/w/{ws}/calendar/{id}/schedule", post(calendar::reschedule))
        .route("/w/{ws}/telegram", get(telegram::show))
        .route("/w/{ws}/telegram/code", post(telegram::create_code))
        .route("/w/{ws}/telegram/unlink", post(telegram::unlink))
        .route("/w/{ws}/media", get(media::list).post(media::upload))
        .route("/w/{ws}/media/{id}", post(media::update))
        .route("/w/{ws}/media/{id}/delete", post(media::delete))
        .route("/media/{token}", get(media::serve))
        .merge(privacy::routes())
        .merge(operator::routes())
        .merge(notifications::routes())
        .merge(generate::routes())
        .merge(assets::routes())
        .merge(demo::routes())
        .layer(middleware::from_fn(page_headers))
        // Unknown URLs get a page too (the API answers its own unknown paths with problem+json).
        .fallback(page_not_found)
}

const CSS: &str = include_str!("../../templates/app.css");

async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], CSS)
        .into_response()
}

/// Headers every page gets: no framing, no inline script, no caching of pages that carry CSRF
/// tokens or a freshly created API token, and no `Referer` leaking e-mailed tokens elsewhere.
/// `same-origin`, not `no-referrer`: under `no-referrer` browsers send `Origin: null` with
/// every form, which the same-origin check rightly refuses (found by the browser tests).
async fn page_headers(req: Request, next: Next) -> Response {
    let is_css = req.uri().path() == "/static/app.css";
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let mut set = |name: header::HeaderName, value: &'static str| {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    };
    set(
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "same-origin");
    if !is_css {
        set(header::CACHE_CONTROL, "no-store");
    }
    res
}

// ---------------------------------------------------------------------------------------------
// Rendering and errors
// ---------------------------------------------------------------------------------------------

/// Renders a template with a status. A template that fails to render is a bug: a plain 500.
pub fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "Internal error")
                .into_response()
        }
    }
}

/// A page that says what went wrong, with the right status. Never shows internals.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub title: String,
    pub message: String,
    pub details: Vec<String>,
    pub retry_after: Option<u64>,
    /// Not signed in (any more): go to the login page instead.
    pub to_login: bool,
}

impl PageError {
    pub fn new(status: StatusCode, title: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            title: title.into(),
            message: message.into(),
            details: vec![],
            retry_after: None,
            to_login: false,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Bad request", message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Not allowed", message)
    }
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found", "There is nothing here, or you do not have access to it.")
    }
}

impl From<ServiceError> for PageError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(errs) => {
                let mut p = PageError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Please check your input",
                    "Some of what you sent was not accepted, so nothing was saved.",
                );
                p.details = errs.0.iter().map(|e| format!("{}: {}", field_label(&e.field), e.message)).collect();
                p
            }
            ServiceError::Unauthorized(m) => {
                let mut p = PageError::new(StatusCode::UNAUTHORIZED, "Please sign in", m);
                p.to_login = true;
                p
            }
            ServiceError::Forbidden(m) => PageError::forbidden(sentence(m)),
            ServiceError::NotFound => PageError::not_found(),
            ServiceError::Conflict(m) => PageError::new(StatusCode::CONFLICT, "That did not work", sentence(&m)),
            ServiceError::RateLimited { retry_after_secs } => {
                let mut p = PageError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many attempts",
                    format!("Too many attempts. Please wait {} and try again.", wait_text(retry_after_secs)),
                );
                p.retry_after = Some(retry_after_secs);
                p
            }
            ServiceError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error while serving a page");
                PageError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Something went wrong on our side. Nothing you did caused it; please try again later.",
                )
            }
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    title: &'a str,
    message: &'a str,
    details: &'a [String],
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if self.to_login {
            return Redirect::to("/login").into_response();
        }
        let page = ErrorPage {
            chrome: Chrome::anonymous(),
            title: &self.title,
            message: &self.message,
            details: &self.details,
        };
        let mut res = render(self.status, &page);
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::try_from(secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}

pub type PageResult = Result<Response, PageError>;

/// "5 minutes", "1 minute", "30 seconds".
pub fn wait_text(secs: u64) -> String {
    match secs {
        0..=1 => "a second".into(),
        2..=89 => format!("{secs} seconds"),
        _ => {
            let mins = secs.div_ceil(60);
            if mins == 1 { "a minute".into() } else { format!("{mins} minutes") }
        }
    }
}

/// Starts a service message with a capital letter and ends it with a full stop.
pub fn sentence(m: &str) -> String {
    let mut s: String = m.trim().to_owned();
    if let Some(first) = s.get(..1) {
        s = first.to_uppercase() + &s[1..];
    }
    if !s.ends_with(['.', '!', '?']) {
        s.push('.');
    }
    s
}

/// A readable name for a field a service rejected.
pub fn field_label(field: &str) -> String {
    let known = match field {
        "email" => "E-mail address",
        "password" => "Password",
        "name" => "Name",
        "display_name" => "Name",
        "workspace_name" => "Workspace name",
        "age_confirmed" => "Age confirmation",
        "posts_per_week" => "Posts per week",
        "late_tolerance_minutes" => "Publish late by at most",
        "avoid_words" => "Words to avoid",
        "avoid_claims" => "Claims to avoid",
        "timezone" => "Time zone",
        "at" => "Publication time",
        "reason" => "Reason",
        "scopes" => "Scopes",
        "expires_in_days" => "Expires in (days)",
        "content_digest" => "Content digest",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_owned();
    }
    let f = field.replace(['_', '.'], " ");
    sentence(&f).trim_end_matches('.').to_owned()
}

/// A rejected field, as a form shows it.
#[derive(Debug, Clone)]
pub struct FieldError {
    pub label: String,
    pub message: String,
}

pub fn field_errors(e: &nanopost_domain::error::ValidationErrors) -> Vec<FieldError> {
    e.0.iter().map(|e| FieldError { label: field_label(&e.field), message: e.message.clone() }).collect()
}

pub fn one_error(field: &str, message: impl Into<String>) -> Vec<FieldError> {
    vec![FieldError { label: field_label(field), message: message.into() }]
}

/// How an error from a form's use case is shown: field problems and conflicts re-render the
/// form (status 422 / 409) with a message; everything else becomes an error page.
pub enum FormOutcome {
    Rerender(StatusCode, Vec<FieldError>),
    Page(PageError),
}

pub fn form_outcome(e: ServiceError) -> FormOutcome {
    match e {
        ServiceError::Invalid(errs) => FormOutcome::Rerender(StatusCode::UNPROCESSABLE_ENTITY, field_errors(&errs)),
        ServiceError::Conflict(m) => FormOutcome::Rerender(
            StatusCode::CONFLICT,
            vec![FieldError { label: String::new(), message: sentence(&m) }],
        ),
        other => FormOutcome::Page(other.into()),
    }
}

pub fn fmt_ts(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

// ---------------------------------------------------------------------------------------------
// The frame around every page
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct WsLink {
    pub id: String,
    pub name: String,
    pub role: &'static str,
}

/// What the header and the message line of every page need.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    /// The signed-in user's name; `None` on pages seen before signing in.
    pub user_name: Option<String>,
    /// The session's CSRF token, for the forms in the header (logout, resend verification).
    pub csrf: String,
    pub unverified: bool,
    pub workspaces: Vec<WsLink>,
    /// The workspace the page belongs to.
    pub current: Option<WsLink>,
    /// A one-line confirmation (from a `?msg=` code after a redirect).
    pub flash: Option<&'static str>,
    /// Unread notifications in the current workspace (the header's count).
    pub unread: u64,
}

impl Chrome {
    pub fn anonymous() -> Self {
        Self::default()
    }

    pub fn with_flash(mut self, query: Option<&str>) -> Self {
        self.flash = flash(query);
        self
    }

    /// The frame for a signed-in user, with their workspaces for the switcher.
    pub async fn for_user(state: &AppState, cu: &CurrentUser, current: Option<WorkspaceId>) -> Result<Self, PageError> {
        let list = state.services.workspaces_of(&cu.user).await?;
        let workspaces: Vec<WsLink> =
            list.iter().map(|(w, r)| WsLink { id: w.id.to_string(), name: w.name.clone(), role: r.as_str() }).collect();
        let current = current.and_then(|c| workspaces.iter().find(|w| w.id == c.to_string()).cloned());
        let unread = match current.as_ref().and_then(|c| c.id.parse().ok()) {
            Some(ws) => state.services.unread_notification_count(cu.user.id, ws).await?,
            None => 0,
        };
        Ok(Chrome {
            user_name: Some(cu.user.display_name.clone()),
            csrf: cu.csrf(state),
            unverified: cu.user.email_verified_at.is_none(),
            workspaces,
            current,
            flash: None,
            unread,
        })
    }

    pub fn is_current(&self, id: &str) -> bool {
        self.current.as_ref().is_some_and(|c| c.id == id)
    }
}

/// Confirmation messages shown after a redirect. Only these fixed sentences can appear, so a
/// crafted link cannot put words on the page.
fn flash(query: Option<&str>) -> Option<&'static str> {
    let code = form_urlencoded_get(query?, "msg")?;
    Some(match code.as_str() {
        "welcome" => "Welcome to Nanopost. We sent you a link to confirm your e-mail address.",
        "signed_up" => "Your account is ready. We sent you a link to confirm your e-mail address; please sign in.",
        "signed_out" => "You are signed out.",
        "password_reset" => {
            "Your password was changed and every session was ended. Please sign in with the new password."
        }
        "verified" => "Your e-mail address is confirmed.",
        "verification_sent" => "We sent a new confirmation link to your e-mail address.",
        "joined" => "You joined the workspace.",
        "workspace_created" => "Workspace created.",
        "brand_created" => "Brand created.",
        "brand_saved" => "Brand saved.",
        "brand_deleted" => "Brand deleted.",
        "post_created" => "Draft created.",
        "post_saved" => "Post saved.",
        "post_submitted" => "Post submitted for review.",
        "post_approved" => "Post approved.",
        "post_rejected" => "Post rejected.",
        "post_scheduled" => "Schedule saved.",
        "post_archived" => "Post archived.",
        "media_added" => {
            "Added. Each network gets the picture as its rules want it; what was changed is shown beside it."
        }
        "media_removed" => "Removed from the post.",
        "post_publishing" => "Publishing now. This page shows each network's result as it comes in.",
        "post_retried" => "Trying again now. Targets already published are not published twice.",
        "publication_resolved" => "Thank you: the publication is recorded as you found it.",
        "post_deleted" => "Post deleted.",
        "media_uploaded" => "Uploaded. Location and camera data were removed from the file.",
        "media_existing" => "This file was already in the library; that item is shown.",
        "media_saved" => "Media saved.",
        "media_deleted" => "Media deleted, with its files.",
        "invited" => "Invitation sent.",
        "invitation_revoked" => "Invitation revoked.",
        "role_changed" => "Role changed.",
        "member_removed" => "Member removed.",
        "token_revoked" => "Token revoked.",
        "notification_read" => "Marked as read.",
        "notifications_read" => "All notifications marked as read.",
        "notifications_saved" => "Your notification settings are saved.",
        "accounts_connected" => "Connected. Nanopost can now post to these accounts once a post is approved.",
        "telegram_unlinked" => "Telegram unlinked. No more drafts are sent to that chat.",
        "telegram_not_linked" => "No Telegram chat was linked.",
        "account_disconnected" => "Account disconnected; its tokens were deleted and revoked at the network.",
        "account_disconnected_unrevoked" => {
            "Account disconnected and its tokens deleted. The network could not be reached to revoke them; you can also remove Nanopost in the network's settings."
        }
        _ => return None,
    })
}

/// The first value of `key` in a query string.
pub fn form_urlencoded_get(query: &str, key: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query).ok()?.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// A redirect to `path` with a confirmation code.
pub fn redirect_msg(path: &str, msg: &str) -> Response {
    Redirect::to(&format!("{path}?msg={msg}")).into_response()
}

// ---------------------------------------------------------------------------------------------
// The workspace a page belongs to
// ---------------------------------------------------------------------------------------------

/// A page under `/w/{ws}/…`: the signed-in user, acting in that workspace, and the frame.
/// Not a member (or no such workspace): 404, so nobody learns that it exists.
pub struct WsCtx {
    pub actor: Actor,
    pub chrome: Chrome,
    pub params: Vec<(String, String)>,
    pub query: Option<String>,
}

impl WsCtx {
    pub fn ws_path(&self) -> String {
        format!("/w/{}", self.actor.workspace_id)
    }

    /// A path parameter parsed as an id; anything unparsable is a 404.
    pub fn id<T: FromStr>(&self, name: &str) -> Result<T, PageError> {
        self.params.iter().find(|(k, _)| k == name).and_then(|(_, v)| v.parse().ok()).ok_or_else(PageError::not_found)
    }

    pub fn query_value(&self, key: &str) -> Option<String> {
        self.query.as_deref().and_then(|q| form_urlencoded_get(q, key))
    }
}

impl FromRequestParts<AppState> for WsCtx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        let params: Vec<(String, String)> = match RawPathParams::from_request_parts(parts, state).await {
            Ok(p) => p.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
            Err(_) => return Err(PageError::not_found().into_response()),
        };
        let ws: WorkspaceId = params
            .iter()
            .find(|(k, _)| k == "ws")
            .and_then(|(_, v)| v.parse().ok())
            .ok_or_else(|| PageError::not_found().into_response())?;
        let actor = state.services.actor(&user.user, ws).await.map_err(|e| PageError::from(e).into_response())?;
        let query = parts.uri.query().map(str::to_owned);
        let chrome = Chrome::for_user(state, &user, Some(ws))
            .await
            .map_err(IntoResponse::into_response)?
            .with_flash(query.as_deref());
        Ok(WsCtx { actor, chrome, params, query })
    }
}

/// The roles offered in a role picker: those the actor may grant (the domain's rule).
pub fn grantable_roles(actor: &Actor) -> Vec<&'static str> {
    Role::ALL.into_iter().filter(|r| actor.role.may_grant(*r)).map(Role::as_str).collect()
}

/// Splits a textarea into its non-empty lines.
pub fn lines(s: &str) -> Vec<String> {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}
