//! The privacy centre's pages: the policy, terms and sub-processors (public), cookie settings
//! (the banner's target), the personal privacy page (marketing consent, export, account
//! deletion), and per workspace the audit log, export and deletion.
//!
//! Cookies: only the essential ones below are ever set, and the banner and the consent record
//! exist so that no optional cookie can be added without asking first
//! ([`OPTIONAL_COOKIES`] is empty; a test fails if a page sets any cookie not listed here).

use super::auth::MessagePage;
use super::{Chrome, FieldError, FormOutcome, PageError, PageResult, WsCtx, fmt_ts, form_outcome, render};
use crate::AppState;
use crate::session::{
    CsrfForm, CurrentUser, MaybeUser, PRE_CSRF_COOKIE, PreCsrf, PublicForm, clear_session_cookie, cookie, safe_next,
};
use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, COOKIE, SET_COOKIE, USER_AGENT};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use nanopost_domain::role::Permission;
use nanopost_services::privacy::{PRIVACY_POLICY_DATE, PRIVACY_POLICY_VERSION, TERMS_DATE, TERMS_VERSION};
use nanopost_services::{RequestOrigin, SecretToken, audit};
use nanopost_storage::{ExportInfo, PageRequest};
use serde::Deserialize;
use std::net::SocketAddr;

/// The cookie that remembers the banner choice (essential: without it the banner would ask
/// on every page). Value: `<policy version>.<allow|deny>.<visitor id>`.
pub const CONSENT_COOKIE: &str = "np_consent";

/// Every cookie the app sets, with why it is essential.
pub const ESSENTIAL_COOKIES: &[(&str, &str)] = &[
    ("np_session", "keeps you signed in (set when you sign in, removed when you sign out)"),
    ("np_csrf", "protects the sign-in and sign-up forms against forgery"),
    (CONSENT_COOKIE, "remembers your cookie choice, so we ask once"),
];

/// Cookies set only after consent. None today: adding one here is the only way to set one, and
/// the pages set it only when the consent cookie says `allow`.
pub const OPTIONAL_COOKIES: &[(&str, &str)] = &[];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/privacy", get(policy))
        .route("/terms", get(terms))
        .route("/privacy/sub-processors", get(sub_processors))
        .route("/privacy/cookies", get(cookies_page).post(save_cookies))
        .route("/privacy/me", get(centre))
        .route("/privacy/me/marketing", post(set_marketing))
        .route("/privacy/me/export", post(export_me))
        .route("/privacy/me/delete", post(delete_me))
        .route("/privacy/exports/{id}", get(download))
        .route("/w/{ws}/audit", get(audit_page))
        .route("/w/{ws}/privacy", get(workspace_page))
        .route("/w/{ws}/privacy/export", post(export_workspace))
        .route("/w/{ws}/privacy/delete", post(delete_workspace))
}

/// Runs every request with its origin (client address, user agent), so the audit entries the
/// use cases write say where an action came from.
pub async fn audit_origin(req: Request, next: Next) -> Response {
    let origin = RequestOrigin {
        client_ip: req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()),
        user_agent: req.headers().get(USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned),
    };
    audit::with_origin(origin, next.run(req)).await
}

async fn chrome_of(state: &AppState, user: &Option<CurrentUser>) -> Result<Chrome, PageError> {
    match user {
        Some(cu) => Chrome::for_user(state, cu, None).await,
        None => Ok(Chrome::anonymous()),
    }
}

// ---------------------------------------------------------------------------------------------
// Policy, terms, sub-processors
// ---------------------------------------------------------------------------------------------

pub struct RuleRow {
    pub class: &'static str,
    pub what: &'static str,
    pub kept: String,
}

#[derive(Template)]
#[template(path = "privacy_policy.html")]
struct PolicyPage {
    chrome: Chrome,
    version: &'static str,
    date: &'static str,
    rules: Vec<RuleRow>,
    grace_days: i64,
}

async fn policy(State(state): State<AppState>, MaybeUser(user): MaybeUser) -> PageResult {
    let s = &state.services;
    let rules = s
        .retention_rules()
        .into_iter()
        .map(|r| RuleRow { class: r.class.as_str(), what: r.what, kept: r.kept })
        .collect();
    let grace_days = s.config().privacy.deletion_grace.as_hours().clamp(0, 24 * 30) / 24;
    let page = PolicyPage {
        chrome: chrome_of(&state, &user).await?,
        version: PRIVACY_POLICY_VERSION,
        date: PRIVACY_POLICY_DATE,
        rules,
        grace_days,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "privacy_terms.html")]
struct TermsPage {
    chrome: Chrome,
    version: &'static str,
    date: &'static str,
}

async fn terms(State(state): State<AppState>, MaybeUser(user): MaybeUser) -> PageResult {
    let page = TermsPage { chrome: chrome_of(&state, &user).await?, version: TERMS_VERSION, date: TERMS_DATE };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "privacy_subprocessors.html")]
struct SubProcessorsPage {
    chrome: Chrome,
    list: Vec<nanopost_services::privacy::SubProcessor>,
}

async fn sub_processors(State(state): State<AppState>, MaybeUser(user): MaybeUser) -> PageResult {
    let page = SubProcessorsPage { chrome: chrome_of(&state, &user).await?, list: state.services.sub_processors() };
    Ok(render(StatusCode::OK, &page))
}

// ---------------------------------------------------------------------------------------------
// Cookie settings
// ---------------------------------------------------------------------------------------------

// The banner asks until the visitor chose under the current policy version (the consent
// cookie says which): a new policy version asks again. It is a plain form, so it works without
// JavaScript, and it never shows on the cookie settings page itself (the same choice, in full).
//
// Layout does not know the request, so [`consent_banner`] (a middleware) decides per request
// and leaves what the banner needs where `base.html` finds it: [`banner`].

/// What the banner needs on this page.
#[derive(Debug, Clone)]
pub struct Banner {
    /// The double-submit value of the `np_csrf` cookie (the banner posts a public form).
    pub csrf: String,
    /// Where to come back to after choosing.
    pub next: String,
}

tokio::task_local! {
    static BANNER: Option<Banner>;
}

/// The banner for the page being rendered, if it should show (called by `base.html`).
pub fn banner() -> Option<Banner> {
    BANNER.try_with(Clone::clone).ok().flatten()
}

/// Decides whether this request's page shows the banner. A visitor who never had a form token
/// gets one now: it is put into the request as if the browser had sent it, so the page's own
/// forms and the banner share one value, and it is set as the `np_csrf` cookie (essential) on
/// the HTML page that carries the banner.
pub async fn consent_banner(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    // Pages only: the API, stylesheets and media files never carry a banner.
    let page = !["/api/", "/static/", "/media/"].iter().any(|p| path.starts_with(p));
    let wanted = page && path != "/privacy/cookies" && cookie_choice(req.headers()).is_none();
    if !wanted {
        return BANNER.scope(None, next.run(req)).await;
    }
    let (mut parts, body) = req.into_parts();
    let pre = match PreCsrf::from_request_parts(&mut parts, &state).await {
        Ok(p) => p,
        Err(never) => match never {},
    };
    let fresh = cookie(&parts.headers, PRE_CSRF_COOKIE) != Some(pre.value.as_str());
    if fresh && !pre.value.is_empty() {
        let line = format!("{PRE_CSRF_COOKIE}={}", pre.value);
        if let Ok(v) = HeaderValue::try_from(line) {
            parts.headers.append(COOKIE, v);
        }
    }
    let back = if parts.method == Method::GET {
        parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned()
    } else {
        parts.uri.path().to_owned()
    };
    req = Request::from_parts(parts, body);
    let banner = Banner { csrf: pre.value.clone(), next: safe_next(&back).to_owned() };
    let res = BANNER.scope(Some(banner), next.run(req)).await;
    let is_html =
        res.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
    if fresh && is_html { (pre, res).into_response() } else { res }
}

/// The choice in the consent cookie: `Some(true)` allow, `Some(false)` deny, `None` not asked
/// (or asked under an older policy).
pub fn cookie_choice(headers: &HeaderMap) -> Option<(bool, String)> {
    let v = cookie(headers, CONSENT_COOKIE)?;
    let mut parts = v.splitn(3, '.');
    let (version, choice, visitor) = (parts.next()?, parts.next()?, parts.next()?);
    if version != PRIVACY_POLICY_VERSION.replace('-', "") {
        return None;
    }
    let allow = match choice {
        "allow" => true,
        "deny" => false,
        _ => return None,
    };
    Some((allow, visitor.to_owned()))
}

#[derive(Template)]
#[template(path = "privacy_cookies.html")]
struct CookiesPage {
    chrome: Chrome,
    csrf: String,
    essential: &'static [(&'static str, &'static str)],
    optional: &'static [(&'static str, &'static str)],
    current: &'static str,
    saved: bool,
}

fn choice_text(c: Option<bool>) -> &'static str {
    match c {
        Some(true) => "You allowed optional cookies.",
        Some(false) => "You refused optional cookies.",
        None => "You have not chosen yet: only essential cookies are set.",
    }
}

async fn cookies_page(
    State(state): State<AppState>,
    pre: PreCsrf,
    MaybeUser(user): MaybeUser,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let page = CookiesPage {
        chrome: chrome_of(&state, &user).await?,
        csrf: pre.value.clone(),
        essential: ESSENTIAL_COOKIES,
        optional: OPTIONAL_COOKIES,
        current: choice_text(cookie_choice(&headers).map(|c| c.0)),
        saved: false,
    };
    Ok((pre, render(StatusCode::OK, &page)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CookieForm {
    choice: String,
    /// Set by the banner: the page to return to.
    #[serde(default)]
    next: Option<String>,
}

async fn save_cookies(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    headers: HeaderMap,
    form: PublicForm<CookieForm>,
) -> PageResult {
    let allow = match form.data.choice.as_str() {
        "allow" => true,
        "deny" => false,
        _ => return Err(PageError::bad_request("Choose to allow or to refuse optional cookies.")),
    };
    let visitor = cookie_choice(&headers).map(|c| c.1).unwrap_or_else(|| SecretToken::generate().expose().to_owned());
    state.services.record_cookie_choice(user.as_ref().map(|u| u.user.id), &visitor, allow).await?;
    // HttpOnly: only the server reads it (no script on these pages needs the choice).
    let value = format!(
        "{CONSENT_COOKIE}={}.{}.{visitor}; HttpOnly; SameSite=Lax; Path=/; Max-Age=31536000{}",
        PRIVACY_POLICY_VERSION.replace('-', ""),
        if allow { "allow" } else { "deny" },
        if state.config.public_url.starts_with("https://") { "; Secure" } else { "" }
    );
    if let Some(back) = form.data.next.as_deref() {
        // From the banner: back to the page it was on, now without the banner.
        let mut res = Redirect::to(safe_next(back)).into_response();
        if let Ok(v) = HeaderValue::try_from(value) {
            res.headers_mut().append(SET_COOKIE, v);
        }
        return Ok(res);
    }
    let page = CookiesPage {
        chrome: chrome_of(&state, &user).await?,
        csrf: form.pre.value.clone(),
        essential: ESSENTIAL_COOKIES,
        optional: OPTIONAL_COOKIES,
        current: choice_text(Some(allow)),
        saved: true,
    };
    let mut res = render(StatusCode::OK, &page);
    if let Ok(v) = HeaderValue::try_from(value) {
        res.headers_mut().append(SET_COOKIE, v);
    }
    Ok(res)
}

// ---------------------------------------------------------------------------------------------
// The personal privacy page
// ---------------------------------------------------------------------------------------------

pub struct ExportRow {
    pub id: String,
    pub what: String,
    pub created: String,
    pub expires: String,
    pub size: String,
    pub sha256: String,
}

pub struct ConsentRow {
    pub at: String,
    pub purpose: String,
    pub decision: &'static str,
    pub source: String,
    pub version: String,
}

#[derive(Template)]
#[template(path = "privacy_centre.html")]
struct CentrePage {
    chrome: Chrome,
    csrf: String,
    marketing: bool,
    exports: Vec<ExportRow>,
    /// An archive asked for is still being built.
    preparing: bool,
    consents: Vec<ConsentRow>,
    sole_owned: Vec<String>,
    grace_days: i64,
    errors: Vec<FieldError>,
}

fn export_row(x: &ExportInfo) -> ExportRow {
    ExportRow {
        id: x.id.to_string(),
        what: match x.workspace_id {
            Some(ws) => format!("Workspace {ws}"),
            None => "Your personal data".into(),
        },
        created: fmt_ts(x.created_at),
        expires: fmt_ts(x.expires_at),
        size: format!("{:.1} KiB", x.bytes as f64 / 1024.0),
        sha256: x.sha256.clone(),
    }
}

async fn centre_page(state: &AppState, cu: &CurrentUser, errors: Vec<FieldError>, status: StatusCode) -> PageResult {
    let s = &state.services;
    let page = CentrePage {
        chrome: Chrome::for_user(state, cu, None).await?,
        csrf: cu.csrf(state),
        marketing: s.marketing_consent(&cu.user).await?,
        exports: s.my_exports(&cu.user).await?.iter().map(export_row).collect(),
        preparing: s.export_in_progress(&cu.user, None).await?,
        consents: s
            .consents_of(&cu.user)
            .await?
            .into_iter()
            .rev()
            .map(|c| ConsentRow {
                at: fmt_ts(c.at),
                purpose: c.purpose,
                decision: if c.granted { "given" } else { "withdrawn" },
                source: c.source,
                version: c.policy_version,
            })
            .collect(),
        sole_owned: s.sole_owned_workspaces(&cu.user).await?.into_iter().map(|w| w.name).collect(),
        grace_days: s.config().privacy.deletion_grace.as_hours().clamp(0, 24 * 30) / 24,
        errors,
    };
    Ok(render(status, &page))
}

async fn centre(State(state): State<AppState>, cu: CurrentUser) -> PageResult {
    centre_page(&state, &cu, vec![], StatusCode::OK).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketingForm {
    #[serde(default)]
    marketing: Option<String>,
}

async fn set_marketing(State(state): State<AppState>, cu: CurrentUser, form: CsrfForm<MarketingForm>) -> PageResult {
    let granted = form.data.marketing.as_deref() == Some("yes");
    state.services.set_marketing_consent(&cu.user, granted).await?;
    Ok(Redirect::to("/privacy/me").into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoFields {}

async fn export_me(State(state): State<AppState>, cu: CurrentUser, _form: CsrfForm<NoFields>) -> PageResult {
    state.services.request_my_export(&cu.user).await?;
    Ok(Redirect::to("/privacy/me").into_response())
}

async fn download(State(state): State<AppState>, cu: CurrentUser, Path(id): Path<String>) -> PageResult {
    let id: uuid::Uuid = id.parse().map_err(|_| PageError::not_found())?;
    let x = state.services.download_export(&cu.user, id).await?;
    let name = format!("nanopost-export-{}.tar", x.created_at.strftime("%Y%m%d-%H%M%S"));
    let disposition = HeaderValue::try_from(format!("attachment; filename=\"{name}\""))
        .unwrap_or(HeaderValue::from_static("attachment"));
    Ok((
        [
            (CONTENT_TYPE, HeaderValue::from_static("application/x-tar")),
            (CONTENT_DISPOSITION, disposition),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        x.archive,
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteAccountForm {
    #[serde(default)]
    password: String,
}

async fn delete_me(State(state): State<AppState>, cu: CurrentUser, form: CsrfForm<DeleteAccountForm>) -> PageResult {
    match state.services.delete_account(&cu.user, &form.data.password).await {
        Ok(d) => {
            let page = MessagePage {
                chrome: Chrome::anonymous(),
                title: "Your account is deleted".into(),
                text: format!(
                    "Your account is deactivated: you are signed out everywhere and its API tokens no longer work. Everything it holds will be erased for good on {}; we will confirm by e-mail.",
                    fmt_ts(d.purge_after)
                ),
                link: "/privacy".into(),
                link_text: "Privacy policy".into(),
            };
            let mut res = render(StatusCode::OK, &page);
            res.headers_mut().append(SET_COOKIE, clear_session_cookie(&state));
            Ok(res)
        }
        Err(e) => match form_outcome(e) {
            FormOutcome::Rerender(status, errors) => centre_page(&state, &cu, errors, status).await,
            FormOutcome::Page(p) => Err(p),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Workspace: audit log, export, deletion
// ---------------------------------------------------------------------------------------------

pub struct AuditRow {
    pub at: String,
    pub who: String,
    pub action: String,
    pub target: String,
    pub ip: String,
    pub agent: String,
}

#[derive(Template)]
#[template(path = "privacy_audit.html")]
struct AuditPage {
    chrome: Chrome,
    ws: String,
    rows: Vec<AuditRow>,
    next: Option<String>,
}

async fn audit_page(State(state): State<AppState>, ctx: WsCtx) -> PageResult {
    let s = &state.services;
    let after = ctx.query_value("after").and_then(|a| a.parse::<uuid::Uuid>().ok());
    let page = s.audit_log(&ctx.actor, PageRequest { limit: 50, after }).await?;
    let members = s.members(&ctx.actor).await?;
    let name_of = |id: Option<nanopost_domain::ids::UserId>| -> String {
        match id {
            None => "—".into(),
            Some(id) => members
                .iter()
                .find(|m| m.user_id == id)
                .map(|m| format!("{} <{}>", m.display_name, m.email.as_str()))
                .unwrap_or_else(|| format!("former member {id}")),
        }
    };
    let rows = page
        .items
        .iter()
        .map(|e| AuditRow {
            at: fmt_ts(e.at),
            who: if e.actor_id.is_none() && e.subject_id.is_some() {
                format!("(about {})", name_of(e.subject_id))
            } else {
                name_of(e.actor_id)
            },
            action: e.action.clone(),
            target: e.target.clone().unwrap_or_default(),
            ip: e.client_ip.clone().unwrap_or_default(),
            agent: e.user_agent.clone().unwrap_or_default(),
        })
        .collect();
    let view = AuditPage { ws: ctx.ws_path(), rows, next: page.next.map(|n| n.to_string()), chrome: ctx.chrome };
    Ok(render(StatusCode::OK, &view))
}

#[derive(Template)]
#[template(path = "privacy_workspace.html")]
struct WorkspacePrivacyPage {
    chrome: Chrome,
    ws: String,
    ws_name: String,
    csrf: String,
    exports: Vec<ExportRow>,
    preparing: bool,
    grace_days: i64,
    errors: Vec<FieldError>,
}

async fn workspace_view(
    state: &AppState,
    ctx: WsCtx,
    cu: &CurrentUser,
    errors: Vec<FieldError>,
    status: StatusCode,
) -> PageResult {
    let s = &state.services;
    ctx.actor.require(Permission::ManageWorkspace)?;
    let ws = s.workspace(&ctx.actor).await?;
    let exports =
        s.my_exports(&cu.user).await?.iter().filter(|x| x.workspace_id == Some(ws.id)).map(export_row).collect();
    let page = WorkspacePrivacyPage {
        ws: ctx.ws_path(),
        ws_name: ws.name,
        csrf: cu.csrf(state),
        exports,
        preparing: s.export_in_progress(&cu.user, Some(ws.id)).await?,
        grace_days: s.config().privacy.deletion_grace.as_hours().clamp(0, 24 * 30) / 24,
        errors,
        chrome: ctx.chrome,
    };
    Ok(render(status, &page))
}

async fn workspace_page(State(state): State<AppState>, cu: CurrentUser, ctx: WsCtx) -> PageResult {
    workspace_view(&state, ctx, &cu, vec![], StatusCode::OK).await
}

async fn export_workspace(State(state): State<AppState>, ctx: WsCtx, _form: CsrfForm<NoFields>) -> PageResult {
    state.services.request_workspace_export(&ctx.actor).await?;
    Ok(Redirect::to(&format!("{}/privacy", ctx.ws_path())).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteWorkspaceForm {
    #[serde(default)]
    confirm_name: String,
}

async fn delete_workspace(
    State(state): State<AppState>,
    cu: CurrentUser,
    ctx: WsCtx,
    form: CsrfForm<DeleteWorkspaceForm>,
) -> PageResult {
    match state.services.delete_workspace(&ctx.actor, &form.data.confirm_name).await {
        Ok(d) => {
            let page = MessagePage {
                chrome: Chrome::for_user(&state, &cu, None).await?,
                title: "Workspace deleted".into(),
                text: format!(
                    "\"{}\" is closed: nobody can open it any more, its API tokens and connected accounts are gone. Everything in it will be erased for good on {}; its owners will get a confirmation by e-mail.",
                    d.workspace_name,
                    fmt_ts(d.purge_after)
                ),
                link: "/".into(),
                link_text: "Continue".into(),
            };
            Ok(render(StatusCode::OK, &page))
        }
        Err(e) => match form_outcome(e) {
            FormOutcome::Rerender(status, errors) => workspace_view(&state, ctx, &cu, errors, status).await,
            FormOutcome::Page(p) => Err(p),
        },
    }
}
