//! The workspace: dashboard, switcher, members and invitations, API tokens.

use super::auth::{Empty, NoWorkspace};
use super::{
    Chrome, FieldError, FormOutcome, PageResult, WsCtx, fmt_ts, form_outcome, form_urlencoded_get, grantable_roles,
    one_error, redirect_msg, render,
};
use crate::AppState;
use crate::session::{CsrfForm, CurrentUser};
use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect};
use nanopost_domain::ids::{ApiTokenId, InvitationId, UserId};
use nanopost_domain::role::{Permission, Role, Scope};
use nanopost_storage::{PageRequest, PostFilter};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWorkspaceForm {
    #[serde(default)]
    name: String,
}

/// Creates another workspace, owned by the signed-in user.
pub async fn create(State(state): State<AppState>, cu: CurrentUser, form: CsrfForm<NewWorkspaceForm>) -> PageResult {
    match state.services.create_workspace(&cu.user, &form.data.name).await {
        Ok(ws) => Ok(redirect_msg(&format!("/w/{}", ws.id), "workspace_created")),
        Err(e) => match form_outcome(e) {
            FormOutcome::Rerender(status, errors) => {
                let chrome = Chrome::for_user(&state, &cu, None).await?;
                Ok(render(status, &NoWorkspace { chrome, errors }))
            }
            FormOutcome::Page(p) => Err(p),
        },
    }
}

/// The workspace switcher (a GET form, so it works without JavaScript).
pub async fn switch(_cu: CurrentUser, uri: Uri) -> PageResult {
    let ws = uri
        .query()
        .and_then(|q| form_urlencoded_get(q, "ws"))
        .and_then(|w| w.parse::<nanopost_domain::ids::WorkspaceId>().ok());
    Ok(match ws {
        Some(ws) => Redirect::to(&format!("/w/{ws}")).into_response(),
        None => Redirect::to("/").into_response(),
    })
}

// ---------------------------------------------------------------------------------------------
// Dashboard
// ---------------------------------------------------------------------------------------------

pub struct BrandRow {
    pub id: String,
    pub name: String,
    pub timezone: String,
    pub posts_per_week: u8,
}

pub struct PostRow {
    pub id: String,
    pub brand: String,
    pub state: &'static str,
    pub state_class: &'static str,
    pub excerpt: String,
    pub networks: String,
    pub schedule: String,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    chrome: Chrome,
    ws: String,
    ws_name: String,
    role: &'static str,
    can_edit: bool,
    brands: Vec<BrandRow>,
    posts: Vec<PostRow>,
    pending: Vec<PostRow>,
    can_review: bool,
}

pub async fn dashboard(State(state): State<AppState>, ctx: WsCtx) -> PageResult {
    let s = &state.services;
    let ws = s.workspace(&ctx.actor).await?;
    let brands = s.brands(&ctx.actor, PageRequest::first(100)).await?.items;
    let posts = s.posts(&ctx.actor, &PostFilter::default(), PageRequest::first(10)).await?.items;
    let pending_filter = PostFilter { brand_id: None, state: Some(nanopost_domain::post::PostState::PendingReview) };
    let pending = s.posts(&ctx.actor, &pending_filter, PageRequest::first(10)).await?.items;
    let page = Dashboard {
        ws: ctx.ws_path(),
        ws_name: ws.name,
        role: ctx.actor.role.as_str(),
        can_edit: ctx.actor.can(Permission::EditContent),
        can_review: ctx.actor.can(Permission::Review),
        posts: posts.iter().map(|p| super::posts::post_row(p, &brands)).collect(),
        pending: pending.iter().map(|p| super::posts::post_row(p, &brands)).collect(),
        brands: brands.iter().map(brand_row).collect(),
        chrome: ctx.chrome,
    };
    Ok(render(StatusCode::OK, &page))
}

pub fn brand_row(b: &nanopost_domain::brand::Brand) -> BrandRow {
    BrandRow {
        id: b.id.to_string(),
        name: b.profile.name.clone(),
        timezone: b.profile.timezone.clone(),
        posts_per_week: b.profile.cadence.posts_per_week,
    }
}

// ---------------------------------------------------------------------------------------------
// Members and invitations
// ---------------------------------------------------------------------------------------------

struct MemberRow {
    user_id: String,
    name: String,
    email: String,
    role: &'static str,
    joined: String,
    is_me: bool,
    /// The actor may change this member's role or remove them (the domain's grant rule).
    manageable: bool,
}

struct InvitationRow {
    id: String,
    email: String,
    role: &'static str,
    expires: String,
}

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    chrome: Chrome,
    ws: String,
    csrf: String,
    members: Vec<MemberRow>,
    invitations: Vec<InvitationRow>,
    can_manage: bool,
    roles: Vec<&'static str>,
    errors: Vec<FieldError>,
    invite_email: String,
    invite_role: String,
}

async fn members_page(
    state: &AppState,
    ctx: WsCtx,
    status: StatusCode,
    errors: Vec<FieldError>,
    invite_email: String,
    invite_role: String,
) -> PageResult {
    let s = &state.services;
    let can_manage = ctx.actor.can(Permission::ManageMembers);
    let members = s.members(&ctx.actor).await?;
    let invitations = if can_manage { s.invitations(&ctx.actor).await? } else { vec![] };
    let me = ctx.actor.user_id;
    let page = MembersPage {
        ws: ctx.ws_path(),
        csrf: ctx.chrome.csrf.clone(),
        members: members
            .iter()
            .map(|m| MemberRow {
                user_id: m.user_id.to_string(),
                name: m.display_name.clone(),
                email: m.email.to_string(),
                role: m.role.as_str(),
                joined: fmt_ts(m.joined_at),
                is_me: m.user_id == me,
                manageable: can_manage && m.user_id != me && ctx.actor.role.may_grant(m.role),
            })
            .collect(),
        invitations: invitations
            .iter()
            .map(|i| InvitationRow {
                id: i.id.to_string(),
                email: i.email.to_string(),
                role: i.role.as_str(),
                expires: fmt_ts(i.expires_at),
            })
            .collect(),
        can_manage,
        roles: grantable_roles(&ctx.actor),
        errors,
        invite_email,
        invite_role,
        chrome: ctx.chrome,
    };
    Ok(render(status, &page))
}

pub async fn members(State(state): State<AppState>, ctx: WsCtx) -> PageResult {
    members_page(&state, ctx, StatusCode::OK, vec![], String::new(), "editor".into()).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

pub async fn invite(State(state): State<AppState>, ctx: WsCtx, form: CsrfForm<InviteForm>) -> PageResult {
    let f = form.data;
    let role = match f.role.parse::<Role>() {
        Ok(r) => r,
        Err(e) => {
            return members_page(
                &state,
                ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                one_error("role", e.message),
                f.email,
                f.role,
            )
            .await;
        }
    };
    match state.services.invite(&ctx.actor, &f.email, role).await {
        Ok(_) => Ok(redirect_msg(&format!("{}/members", ctx.ws_path()), "invited")),
        Err(e) => match form_outcome(e) {
            FormOutcome::Rerender(status, errors) => members_page(&state, ctx, status, errors, f.email, f.role).await,
            FormOutcome::Page(p) => Err(p),
        },
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

pub async fn set_role(State(state): State<AppState>, ctx: WsCtx, form: CsrfForm<RoleForm>) -> PageResult {
    let user: UserId = ctx.id("user")?;
    let role = match form.data.role.parse::<Role>() {
        Ok(r) => r,
        Err(e) => {
            let errors = one_error("role", e.message);
            return members_page(&state, ctx, StatusCode::UNPROCESSABLE_ENTITY, errors, String::new(), "editor".into())
                .await;
        }
    };
    match state.services.set_role(&ctx.actor, user, role).await {
        Ok(()) => Ok(redirect_msg(&format!("{}/members", ctx.ws_path()), "role_changed")),
        Err(e) => match form_outcome(e) {
            FormOutcome::Rerender(status, errors) => {
                members_page(&state, ctx, status, errors, String::new(), "editor".into()).await
            }
            FormOutcome::Page(p) => Err(p),
        },
    }
}

pub async fn remove_member(State(state): State<AppState>, ctx: WsCtx, _form: CsrfForm<Empty>) -> PageResult {
    let user: UserId = ctx.id("user")?;
    let leaving = user == ctx.actor.user_id;
    match state.services.remove_member(&ctx.actor, user).await {
        Ok(()) if leaving => Ok(Redirect::to("/").into_response()),
        Ok(()) => Ok(redirect_msg(&format!("{}/members", ctx.ws_path()), "member_removed")),
        Err(e) => match form_outcome(e) {
            FormOutcome::Rerender(status, errors) => {
                members_page(&state, ctx, status, errors, String::new(), "editor".into()).await
            }
            FormOutcome::Page(p) => Err(p),
        },
    }
}

pub async fn revoke_invitation(State(state): State<AppState>, ctx: WsCtx, _form: CsrfForm<Empty>) -> PageResult {
    let id: InvitationId = ctx.id("id")?;
    state.services.revoke_invitation(&ctx.actor, id).await?;
    Ok(redirect_msg(&format!("{}/members", ctx.ws_path()), "invitation_revoked"))
}

// ---------------------------------------------------------------------------------------------
// API tokens
// ---------------------------------------------------------------------------------------------

struct TokenRow {
    id: String,
    name: String,
    scopes: String,
    created: String,
    expires: String,
    last_used: String,
    revoked: bool,
    revocable: bool,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    chrome: Chrome,
    ws: String,
    csrf: String,
    tokens: Vec<TokenRow>,
    errors: Vec<FieldError>,
    /// The plaintext of a token just created: shown once, never again.
    created: Option<(String, String)>,
    name: String,
    scopes: Vec<(&'static str, bool)>,
    expires_in_days: String,
}

async fn tokens_page(
    state: &AppState,
    ctx: WsCtx,
    status: StatusCode,
    errors: Vec<FieldError>,
    created: Option<(String, String)>,
    form: Option<&TokenForm>,
) -> PageResult {
    let tokens = state.services.api_tokens(&ctx.actor).await?;
    let manage = ctx.actor.can(Permission::ManageMembers);
    let me = ctx.actor.user_id;
    let selected = |s: Scope| match form {
        Some(f) => f.scopes().contains(&s),
        None => s == Scope::Read,
    };
    let page = TokensPage {
        ws: ctx.ws_path(),
        csrf: ctx.chrome.csrf.clone(),
        tokens: tokens
            .iter()
            .map(|t| TokenRow {
                id: t.id.to_string(),
                name: t.name.clone(),
                scopes: t.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
                created: fmt_ts(t.created_at),
                expires: t.expires_at.map(fmt_ts).unwrap_or_else(|| "never".into()),
                last_used: t.last_used_at.map(fmt_ts).unwrap_or_else(|| "never".into()),
                revoked: t.revoked_at.is_some(),
                revocable: t.revoked_at.is_none() && (t.created_by == me || manage),
            })
            .collect(),
        errors,
        created,
        name: form.map(|f| f.name.clone()).unwrap_or_default(),
        scopes: Scope::ALL.into_iter().map(|s| (s.as_str(), selected(s))).collect(),
        expires_in_days: form.map(|f| f.expires_in_days.clone()).unwrap_or_default(),
        chrome: ctx.chrome,
    };
    Ok(render(status, &page))
}

pub async fn tokens(State(state): State<AppState>, ctx: WsCtx) -> PageResult {
    tokens_page(&state, ctx, StatusCode::OK, vec![], None, None).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope_read: Option<String>,
    #[serde(default)]
    scope_write: Option<String>,
    #[serde(default)]
    scope_review: Option<String>,
    #[serde(default)]
    scope_admin: Option<String>,
    #[serde(default)]
    expires_in_days: String,
}

impl TokenForm {
    fn scopes(&self) -> Vec<Scope> {
        [
            (&self.scope_read, Scope::Read),
            (&self.scope_write, Scope::Write),
            (&self.scope_review, Scope::Review),
            (&self.scope_admin, Scope::Admin),
        ]
        .into_iter()
        .filter(|(v, _)| v.is_some())
        .map(|(_, s)| s)
        .collect()
    }
}

pub async fn create_token(State(state): State<AppState>, ctx: WsCtx, form: CsrfForm<TokenForm>) -> PageResult {
    let f = form.data;
    let days = f.expires_in_days.trim();
    let expires = if days.is_empty() {
        None
    } else {
        match days.parse::<u32>() {
            Ok(d) => Some(d),
            Err(_) => {
                let errors = one_error("expires_in_days", "must be a whole number of days, or empty for no expiry");
                return tokens_page(&state, ctx, StatusCode::UNPROCESSABLE_ENTITY, errors, None, Some(&f)).await;
            }
        }
    };
    match state.services.create_api_token(&ctx.actor, &f.name, &f.scopes(), expires).await {
        Ok((token, plaintext)) => {
            tokens_page(&state, ctx, StatusCode::OK, vec![], Some((token.name, plaintext)), None).await
        }
        Err(e) => match form_outcome(e) {
            FormOutcome::Rerender(status, errors) => tokens_page(&state, ctx, status, errors, None, Some(&f)).await,
            FormOutcome::Page(p) => Err(p),
        },
    }
}

pub async fn revoke_token(State(state): State<AppState>, ctx: WsCtx, _form: CsrfForm<Empty>) -> PageResult {
    let id: ApiTokenId = ctx.id("id")?;
    state.services.revoke_api_token(&ctx.actor, id).await?;
    Ok(redirect_msg(&format!("{}/tokens", ctx.ws_path()), "token_revoked"))
}
