//! Notifications in the web app: the inbox of a workspace (mark one or all read), each
//! person's e-mail settings, and the one-click unsubscribe that mail carries.
//!
//! Unsubscribe (RFC 8058): `GET /unsubscribe?…` only shows what the link would do, with a
//! button (link checkers and mail scanners open links; they must not unsubscribe anyone);
//! `POST` to the same URL does it at once. The POST needs no session and no CSRF token: mail
//! clients send it from their servers, and the signature in the link is the protection.

use super::auth::Empty;
use super::{Chrome, PageError, PageResult, WsCtx, fmt_ts, form_urlencoded_get, redirect_msg, render};
use crate::AppState;
use crate::session::{CsrfForm, CurrentUser};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::routing::{get, post};
use nanopost_services::{MailKind, ServiceError};
use nanopost_storage::{Notification, PageRequest};
use serde::Deserialize;
use uuid::Uuid;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/w/{ws}/notifications", get(list))
        .route("/w/{ws}/notifications/read-all", post(mark_all_read))
        .route("/w/{ws}/notifications/{id}/read", post(mark_read))
        .route("/notifications/settings", get(settings).post(save_settings))
        .route("/unsubscribe", get(unsubscribe_page).post(unsubscribe))
}

// ---------------------------------------------------------------------------------------------
// The inbox
// ---------------------------------------------------------------------------------------------

struct Row {
    id: Uuid,
    subject: String,
    body: String,
    /// Only paths inside the app.
    link: Option<String>,
    at: String,
    unread: bool,
}

impl From<Notification> for Row {
    fn from(n: Notification) -> Self {
        Row {
            id: n.id,
            subject: n.subject,
            body: n.body,
            link: n.link.filter(|l| l.starts_with('/') && !l.starts_with("//")),
            at: fmt_ts(n.created_at),
            unread: n.read_at.is_none(),
        }
    }
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct ListPage {
    chrome: Chrome,
    ws: String,
    csrf: String,
    rows: Vec<Row>,
    unread: u64,
    unread_only: bool,
    next: Option<Uuid>,
}

async fn list(State(state): State<AppState>, ctx: WsCtx) -> PageResult {
    let unread_only = ctx.query_value("unread").is_some_and(|v| v == "1");
    let after = match ctx.query_value("after").filter(|s| !s.is_empty()) {
        Some(a) => Some(a.parse::<Uuid>().map_err(|_| PageError::bad_request("That is not a page of notifications."))?),
        None => None,
    };
    let page = state.services.notifications(&ctx.actor, unread_only, PageRequest { limit: 50, after }).await?;
    let unread = state.services.unread_notifications(&ctx.actor).await?;
    let page = ListPage {
        ws: ctx.ws_path(),
        csrf: ctx.chrome.csrf.clone(),
        rows: page.items.into_iter().map(Row::from).collect(),
        unread,
        unread_only,
        next: page.next,
        chrome: ctx.chrome,
    };
    Ok(render(StatusCode::OK, &page))
}

async fn mark_read(State(state): State<AppState>, ctx: WsCtx, _form: CsrfForm<Empty>) -> PageResult {
    let id: Uuid = ctx.id("id")?;
    state.services.mark_notification_read(&ctx.actor, id).await?;
    Ok(redirect_msg(&format!("{}/notifications", ctx.ws_path()), "notification_read"))
}

async fn mark_all_read(State(state): State<AppState>, ctx: WsCtx, _form: CsrfForm<Empty>) -> PageResult {
    state.services.mark_all_notifications_read(&ctx.actor).await?;
    Ok(redirect_msg(&format!("{}/notifications", ctx.ws_path()), "notifications_read"))
}

// ---------------------------------------------------------------------------------------------
// E-mail settings
// ---------------------------------------------------------------------------------------------

struct Choice {
    kind: &'static str,
    label: &'static str,
    on: bool,
}

#[derive(Template)]
#[template(path = "notification_settings.html")]
struct SettingsPage {
    chrome: Chrome,
    csrf: String,
    choices: Vec<Choice>,
    delivery_on: bool,
}

async fn settings(State(state): State<AppState>, cu: CurrentUser, uri: Uri) -> PageResult {
    let prefs = state.services.email_preferences(&cu.user).await?;
    let page = SettingsPage {
        chrome: Chrome::for_user(&state, &cu, None).await?.with_flash(uri.query()),
        csrf: cu.csrf(&state),
        choices: prefs.iter().map(|p| Choice { kind: p.kind.as_str(), label: p.kind.label(), on: p.email }).collect(),
        delivery_on: state.services.config().email.is_some(),
    };
    Ok(render(StatusCode::OK, &page))
}

/// A ticked box sends `on`; an unticked one sends nothing.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsForm {
    drafts_ready: Option<String>,
    publish_failed: Option<String>,
    publish_unconfirmed: Option<String>,
    reconnect_needed: Option<String>,
    marketing: Option<String>,
}

async fn save_settings(State(state): State<AppState>, cu: CurrentUser, form: CsrfForm<SettingsForm>) -> PageResult {
    let f = &form.data;
    let wanted = [
        (MailKind::DraftsReady, &f.drafts_ready),
        (MailKind::PublishFailed, &f.publish_failed),
        (MailKind::PublishUnconfirmed, &f.publish_unconfirmed),
        (MailKind::ReconnectNeeded, &f.reconnect_needed),
        (MailKind::Marketing, &f.marketing),
    ];
    let current = state.services.email_preferences(&cu.user).await?;
    for (kind, value) in wanted {
        let on = value.is_some();
        // Only changes are written (a consent record per real decision, not per save).
        if current.iter().any(|p| p.kind == kind && p.email != on) {
            state.services.set_email_preference(&cu.user, kind, on).await?;
        }
    }
    Ok(redirect_msg("/notifications/settings", "notifications_saved"))
}

// ---------------------------------------------------------------------------------------------
// One-click unsubscribe
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "unsubscribe.html")]
struct UnsubscribePage {
    chrome: Chrome,
    /// `None`: the link is not valid.
    label: Option<&'static str>,
    done: bool,
    /// The link's own query, for the button's form.
    action: String,
}

/// The link's parts: `u` (the person), `k` (the kind; none for marketing), `sig`.
fn link_parts(uri: &Uri) -> (String, Option<String>, String) {
    let q = uri.query().unwrap_or("");
    (
        form_urlencoded_get(q, "u").unwrap_or_default(),
        form_urlencoded_get(q, "k"),
        form_urlencoded_get(q, "sig").unwrap_or_default(),
    )
}

fn unsubscribe_answer(uri: &Uri, outcome: Result<(MailKind, bool), ServiceError>) -> PageResult {
    let action = format!("/unsubscribe?{}", uri.query().unwrap_or(""));
    let (status, label, done) = match outcome {
        Ok((kind, done)) => (StatusCode::OK, Some(kind.label()), done),
        Err(ServiceError::Conflict(_)) => (StatusCode::BAD_REQUEST, None, false),
        Err(e) => return Err(e.into()),
    };
    Ok(render(status, &UnsubscribePage { chrome: Chrome::anonymous(), label, done, action }))
}

/// Shows what the link does, and a button that does it. Changes nothing.
async fn unsubscribe_page(State(state): State<AppState>, uri: Uri) -> PageResult {
    let (u, k, sig) = link_parts(&uri);
    let checked = state.services.check_unsubscribe_link(&u, k.as_deref(), &sig).map(|(_, kind)| (kind, false));
    unsubscribe_answer(&uri, checked)
}

/// Unsubscribes at once (RFC 8058 one-click: the body is `List-Unsubscribe=One-Click`, which
/// is not needed: the link alone says what to do).
async fn unsubscribe(State(state): State<AppState>, uri: Uri) -> PageResult {
    let (u, k, sig) = link_parts(&uri);
    let done = state.services.unsubscribe_with_link(&u, k.as_deref(), &sig).await.map(|kind| (kind, true));
    unsubscribe_answer(&uri, done)
}
