//! The instance operator's pages: the register of data-subject requests (what is due, overdue
//! first; verify and close through forms) and the installation's own audit entries
//! (configuration changes, operator grants, the register's steps). Operators are granted on
//! the command line (`nanopost admin operator grant EMAIL`); for anybody else these pages do
//! not exist (404). Every rule (who is an operator, what closing needs) is in the services.

use super::{FieldError, FormOutcome, PageError, PageResult, fmt_ts, form_outcome, render};
use crate::AppState;
use crate::session::{CsrfForm, CurrentUser, MaybeUser};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use nanopost_services::privacy::{Keeper, Urgency, urgency};
use nanopost_storage::{PageRequest, RightKind};
use serde::Deserialize;

const PAGE: &str = "/operator/rights-requests";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PAGE, get(page).post(record))
        .route("/operator/rights-requests/{id}/verify", post(verify))
        .route("/operator/rights-requests/{id}/close", post(close))
}

pub struct RequestRow {
    pub id: String,
    pub kind: &'static str,
    pub email: String,
    pub received: String,
    pub due: String,
    /// `overdue`, `due-soon` or empty: the row's class.
    pub urgency: &'static str,
    pub status: &'static str,
    pub verified: bool,
    pub verification: String,
}

pub struct EntryRow {
    pub at: String,
    pub action: String,
    pub target: String,
    pub from: String,
}

#[derive(Template)]
#[template(path = "operator_rights_requests.html")]
struct RightsPage {
    chrome: super::Chrome,
    csrf: String,
    rows: Vec<RequestRow>,
    overdue: usize,
    kinds: Vec<&'static str>,
    entries: Vec<EntryRow>,
    errors: Vec<FieldError>,
}

async fn view(state: &AppState, cu: &CurrentUser, errors: Vec<FieldError>, status: StatusCode) -> PageResult {
    let s = &state.services;
    let open = s.open_rights_requests(&cu.user).await?;
    let now = s.now();
    let mut open: Vec<_> = open.into_iter().map(|r| (urgency(&r, now), r)).collect();
    // Overdue first, then due soon, each soonest due first (the store's order).
    open.sort_by_key(|(u, r)| (*u, r.due_at));
    let rows: Vec<RequestRow> = open
        .iter()
        .map(|(u, r)| RequestRow {
            id: r.id.to_string(),
            kind: r.kind.as_str(),
            email: r.subject_email.as_str().to_owned(),
            received: fmt_ts(r.received_at),
            due: fmt_ts(r.due_at),
            urgency: match u {
                Urgency::Overdue => "overdue",
                Urgency::DueSoon => "due-soon",
                Urgency::Later => "",
            },
            status: r.status.as_str(),
            verified: r.verified_at.is_some(),
            verification: r.verification.clone().unwrap_or_default(),
        })
        .collect();
    let entries = s
        .instance_audit_log(&cu.user, PageRequest { limit: 50, after: None })
        .await?
        .items
        .into_iter()
        .map(|e| EntryRow {
            at: fmt_ts(e.at),
            action: e.action,
            target: e.target.unwrap_or_default(),
            from: [e.client_ip, e.user_agent].into_iter().flatten().collect::<Vec<_>>().join(" · "),
        })
        .collect();
    let page = RightsPage {
        chrome: super::Chrome::for_user(state, cu, None).await?,
        csrf: cu.csrf(state),
        overdue: open.iter().filter(|(u, _)| *u == Urgency::Overdue).count(),
        rows,
        kinds: RightKind::ALL.iter().map(|k| k.as_str()).collect(),
        entries,
        errors,
    };
    Ok(render(status, &page))
}

/// Anonymous visitors get the same 404 as signed-in non-operators: the page does not exist.
async fn page(State(state): State<AppState>, MaybeUser(user): MaybeUser) -> PageResult {
    let Some(cu) = user else { return Err(PageError::not_found()) };
    view(&state, &cu, vec![], StatusCode::OK).await
}

/// After a form: back to the list, or the list again with the problem.
async fn outcome<T>(state: &AppState, cu: &CurrentUser, r: Result<T, nanopost_services::ServiceError>) -> PageResult {
    match r {
        Ok(_) => Ok(Redirect::to(PAGE).into_response()),
        Err(e) => match form_outcome(e) {
            FormOutcome::Rerender(status, errors) => view(state, cu, errors, status).await,
            FormOutcome::Page(p) => Err(p),
        },
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordForm {
    kind: String,
    #[serde(default)]
    email: String,
}

async fn record(State(state): State<AppState>, cu: CurrentUser, form: CsrfForm<RecordForm>) -> PageResult {
    // Not an operator: 404 before the input is even looked at.
    state.services.require_operator(&cu.user).await?;
    let kind: RightKind =
        form.data.kind.parse().map_err(|_| PageError::bad_request("Choose the kind of request from the list."))?;
    let r = state.services.record_rights_request(Keeper::Operator(cu.user.id), kind, &form.data.email).await;
    outcome(&state, &cu, r).await
}

fn request_id(id: &str) -> Result<uuid::Uuid, PageError> {
    id.parse().map_err(|_| PageError::not_found())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyForm {
    #[serde(default)]
    how: String,
}

async fn verify(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<String>,
    form: CsrfForm<VerifyForm>,
) -> PageResult {
    state.services.require_operator(&cu.user).await?;
    let r = state.services.verify_rights_request(Keeper::Operator(cu.user.id), request_id(&id)?, &form.data.how).await;
    outcome(&state, &cu, r).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseForm {
    /// `completed` or `refused`.
    result: String,
    #[serde(default)]
    outcome: String,
}

async fn close(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<String>,
    form: CsrfForm<CloseForm>,
) -> PageResult {
    state.services.require_operator(&cu.user).await?;
    let completed = match form.data.result.as_str() {
        "completed" => true,
        "refused" => false,
        _ => return Err(PageError::bad_request("Choose whether the request was completed or refused.")),
    };
    let id = request_id(&id)?;
    let r = state.services.close_rights_request(Keeper::Operator(cu.user.id), id, completed, &form.data.outcome).await;
    outcome(&state, &cu, r).await
}
