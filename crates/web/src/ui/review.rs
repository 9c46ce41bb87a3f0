//! The review queue: every draft waiting for a decision in the workspace (or one brand), each
//! with its preview per network and the guardrail flags, and the actions a reviewer or editor
//! needs right there: approve (bound to the content digest shown), reject with a reason,
//! edit, regenerate with feedback (the generation page's route), schedule at a time or into
//! the brand's next free queue slot.
//!
//! Plain forms and links: everything works without JavaScript. `/static/review.js` adds the
//! keyboard (j/k to move, a/r to approve or reject, e to edit). The actions call the same use
//! cases as the post editor and come back to the queue.

use super::posts::BrandOption;
use super::preview::{NetworkPreview, previews};
use super::{Chrome, FieldError, FormOutcome, PageError, PageResult, WsCtx, fmt_ts, form_outcome, one_error, render};
use crate::AppState;
use crate::session::CsrfForm;
use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::civil;
use nanopost_domain::approval::ContentDigest;
use nanopost_domain::brand::Brand;
use nanopost_domain::ids::{BrandId, MediaId, PostId};
use nanopost_domain::post::{Post, PostState, Schedule};
use nanopost_domain::role::Permission;
use nanopost_services::ServiceError;
use nanopost_storage::{MediaRecord, PageRequest, PostFilter};
use serde::Deserialize;
use std::collections::HashMap;
use uuid::Uuid;

/// Drafts per page of the queue.
const PAGE_SIZE: u32 = 20;
/// Failed (and, separately, unconfirmed) posts listed above the queue.
const ATTENTION_MAX: u32 = 20;

const SCRIPT: &str = include_str!("../../static/review.js");

/// `GET /static/review.js`: the queue's keyboard, served by the binary (no CDN, no inline
/// script: the pages' CSP allows scripts from this origin only).
pub async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        SCRIPT,
    )
        .into_response()
}

/// Every brand of the workspace (pages through the list).
pub(super) async fn all_brands(state: &AppState, ctx: &WsCtx) -> Result<Vec<Brand>, PageError> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = state.services.brands(&ctx.actor, PageRequest { limit: PageRequest::MAX_LIMIT, after }).await?;
        out.extend(page.items);
        match page.next {
            Some(n) => after = Some(n),
            None => return Ok(out),
        }
    }
}

/// The `brand` filter: empty means every brand; anything else must be one of the workspace's.
pub(super) fn parse_brand(raw: Option<&str>, brands: &[Brand]) -> Result<Option<BrandId>, PageError> {
    match raw.map(str::trim).filter(|b| !b.is_empty()) {
        None => Ok(None),
        Some(b) => b
            .parse::<BrandId>()
            .ok()
            .filter(|id| brands.iter().any(|x| x.id == *id))
            .map(Some)
            .ok_or_else(|| PageError::bad_request("That is not a brand of this workspace to filter by.")),
    }
}

pub(super) fn brand_options(brands: &[Brand], selected: Option<BrandId>) -> Vec<BrandOption> {
    brands
        .iter()
        .map(|b| BrandOption { id: b.id.to_string(), name: b.profile.name.clone(), selected: Some(b.id) == selected })
        .collect()
}

/// A slot or schedule as people read it: "Mon 8 Jun 2026, 09:00 (Europe/Berlin)".
pub(super) fn schedule_label(s: &Schedule) -> String {
    format!("{} ({})", s.local.strftime("%a %-d %b %Y, %H:%M"), s.timezone)
}

// ---------------------------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------------------------

pub struct QueueItem {
    pub id: String,
    pub brand: String,
    pub author: String,
    pub updated: String,
    pub version: i64,
    pub digest: String,
    pub timezone: String,
    /// The time set for it, if any, as people read it.
    pub schedule: String,
    /// The datetime-local value of the schedule form.
    pub schedule_value: String,
    pub next_slot: Option<String>,
    pub has_slots: bool,
    pub previews: Vec<NetworkPreview>,
    /// Targets without an account to go to (see the editor's).
    pub target_problems: Vec<super::posts::TargetProblem>,
    /// Why the last action on this item was refused.
    pub errors: Vec<FieldError>,
    pub reject_reason: String,
}

/// A post that did not (surely) go out, with each network's outcome: the editor's publishing
/// section says why and offers the retry.
pub struct AttentionItem {
    pub post: super::workspace::PostRow,
    pub publications: Vec<super::publishing::PublicationRow>,
}

#[derive(Template)]
#[template(path = "review_queue.html")]
struct QueuePage {
    chrome: Chrome,
    ws: String,
    csrf: String,
    items: Vec<QueueItem>,
    /// Failed and unconfirmed posts (first page only).
    attention: Vec<AttentionItem>,
    brands: Vec<BrandOption>,
    /// The brand filter's id, kept in every form and link ("" for every brand).
    brand: String,
    can_review: bool,
    can_edit: bool,
    next: Option<String>,
    errors: Vec<FieldError>,
}

/// What a refused action re-renders the queue with.
#[derive(Default)]
struct Again {
    post: Option<PostId>,
    errors: Vec<FieldError>,
    reject_reason: String,
    schedule_value: Option<String>,
}

pub async fn queue(State(state): State<AppState>, ctx: WsCtx) -> PageResult {
    let brands = all_brands(&state, &ctx).await?;
    let brand = parse_brand(ctx.query_value("brand").as_deref(), &brands)?;
    let after = match ctx.query_value("after").filter(|a| !a.is_empty()) {
        Some(a) => Some(a.parse::<Uuid>().map_err(|_| PageError::bad_request("That is not a page of the queue."))?),
        None => None,
    };
    queue_page(&state, ctx, brands, brand, after, StatusCode::OK, Again::default()).await
}

async fn queue_page(
    state: &AppState,
    ctx: WsCtx,
    brands: Vec<Brand>,
    brand: Option<BrandId>,
    after: Option<Uuid>,
    status: StatusCode,
    again: Again,
) -> PageResult {
    let s = &state.services;
    let filter = PostFilter { brand_id: brand, state: Some(PostState::PendingReview) };
    let page = s.posts(&ctx.actor, &filter, PageRequest { limit: PAGE_SIZE, after }).await?;
    let members = s.members(&ctx.actor).await?;
    let can_edit = ctx.actor.can(Permission::EditContent);
    let tiktok_private = state.accounts.as_ref().is_some_and(|a| a.tiktok_posts_private());

    // The media the shown drafts name, each loaded once (a deleted one is shown as missing).
    let mut media: Vec<MediaRecord> = Vec::new();
    let mut wanted: Vec<MediaId> =
        page.items.iter().flat_map(|p| p.content.variants.iter()).flat_map(|v| v.media.iter().map(|m| m.id)).collect();
    wanted.sort_by_key(|m| m.as_uuid());
    wanted.dedup();
    for id in wanted {
        match s.media_item(&ctx.actor, id).await {
            Ok(m) => media.push(m),
            Err(ServiceError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    // The next free slot of each brand on the page, for the "next queue slot" button.
    let mut slots: HashMap<BrandId, Option<Schedule>> = HashMap::new();
    if can_edit {
        for p in &page.items {
            if let std::collections::hash_map::Entry::Vacant(e) = slots.entry(p.brand_id) {
                e.insert(s.next_queue_slot(&ctx.actor, p.brand_id, None).await?);
            }
        }
    }
    let ws = ctx.actor.workspace_id;
    let url = |id: MediaId| s.media_url(ws, id);
    let mut top_errors = Vec::new();
    let mut items = Vec::with_capacity(page.items.len());
    for p in &page.items {
        let Some(b) = brands.iter().find(|b| b.id == p.brand_id) else { continue };
        let mine = again.post == Some(p.id);
        let problems = super::posts::target_problems(&s.target_problems(&ctx.actor, p).await?);
        items.push(item(
            p,
            b,
            &members,
            &media,
            &url,
            tiktok_private,
            slots.get(&p.brand_id).cloned().flatten(),
            problems,
            mine.then_some(&again),
        ));
    }
    // A refusal about a draft that left the queue (decided meanwhile) is shown at the top.
    if again.post.is_some_and(|id| !page.items.iter().any(|p| p.id == id)) || again.post.is_none() {
        top_errors = again.errors;
    }
    // What failed or could not be confirmed, on the first page: someone should look.
    let mut attention = Vec::new();
    if after.is_none() {
        for st in [PostState::Failed, PostState::Unconfirmed] {
            let filter = PostFilter { brand_id: brand, state: Some(st) };
            for p in s.posts(&ctx.actor, &filter, PageRequest::first(ATTENTION_MAX)).await?.items {
                let publications = super::publishing::rows(&s.publications(&ctx.actor, p.id).await?);
                attention.push(AttentionItem { post: super::posts::post_row(&p, &brands), publications });
            }
        }
    }
    let page = QueuePage {
        ws: ctx.ws_path(),
        csrf: ctx.chrome.csrf.clone(),
        items,
        attention,
        brands: brand_options(&brands, brand),
        brand: brand.map(|b| b.to_string()).unwrap_or_default(),
        can_review: ctx.actor.can(Permission::Review),
        can_edit,
        next: page.next.map(|n| n.to_string()),
        errors: top_errors,
        chrome: ctx.chrome,
    };
    Ok(render(status, &page))
}

#[allow(clippy::too_many_arguments)]
fn item(
    p: &Post,
    brand: &Brand,
    members: &[nanopost_storage::Member],
    media: &[MediaRecord],
    url: &dyn Fn(MediaId) -> String,
    tiktok_private: bool,
    next_slot: Option<Schedule>,
    target_problems: Vec<super::posts::TargetProblem>,
    again: Option<&Again>,
) -> QueueItem {
    QueueItem {
        id: p.id.to_string(),
        brand: brand.profile.name.clone(),
        author: members
            .iter()
            .find(|m| m.user_id == p.created_by)
            .map(|m| m.display_name.clone())
            .unwrap_or_else(|| "a former member".into()),
        updated: fmt_ts(p.updated_at),
        version: p.version,
        digest: p.content.digest().as_str().to_owned(),
        timezone: brand.profile.timezone.clone(),
        schedule: p.schedule.as_ref().map(schedule_label).unwrap_or_default(),
        schedule_value: again.and_then(|a| a.schedule_value.clone()).unwrap_or_else(|| {
            p.schedule.as_ref().map(|s| s.local.strftime("%Y-%m-%dT%H:%M").to_string()).unwrap_or_default()
        }),
        next_slot: next_slot.as_ref().map(schedule_label),
        has_slots: !brand.profile.cadence.slots.is_empty(),
        previews: previews(brand, &p.content, media, url, tiktok_private),
        target_problems,
        errors: again
            .map(|a| {
                a.errors.iter().map(|e| FieldError { label: e.label.clone(), message: e.message.clone() }).collect()
            })
            .unwrap_or_default(),
        reject_reason: again.map(|a| a.reject_reason.clone()).unwrap_or_default(),
    }
}

// ---------------------------------------------------------------------------------------------
// Actions: the editor's use cases, answered on the queue
// ---------------------------------------------------------------------------------------------

/// Back to the queue (with its brand filter) with a confirmation, at the item's place.
fn back(ctx: &WsCtx, brand: Option<BrandId>, msg: &str) -> Response {
    let mut q = vec![("msg", msg.to_owned())];
    if let Some(b) = brand {
        q.push(("brand", b.to_string()));
    }
    let query = serde_urlencoded::to_string(q).unwrap_or_default();
    Redirect::to(&format!("{}/review?{query}", ctx.ws_path())).into_response()
}

/// The brand filter a form carries back (ignored when it is not a brand id: it only decides
/// where the answer goes).
fn form_brand(raw: &str) -> Option<BrandId> {
    raw.trim().parse().ok()
}

async fn refused(state: &AppState, ctx: WsCtx, brand: Option<BrandId>, again: Again) -> PageResult {
    let brands = all_brands(state, &ctx).await?;
    let brand = brand.filter(|b| brands.iter().any(|x| x.id == *b));
    let status = if again.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    queue_page(state, ctx, brands, brand, None, status, again).await
}

async fn outcome(
    state: &AppState,
    ctx: WsCtx,
    brand: Option<BrandId>,
    e: ServiceError,
    mut again: Again,
) -> PageResult {
    match form_outcome(e) {
        FormOutcome::Rerender(status, errors) => {
            again.errors = errors;
            let brands = all_brands(state, &ctx).await?;
            let brand = brand.filter(|b| brands.iter().any(|x| x.id == *b));
            queue_page(state, ctx, brands, brand, None, status, again).await
        }
        FormOutcome::Page(p) => Err(p),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionForm {
    #[serde(default)]
    content_digest: String,
    #[serde(default)]
    reason: Option<String>,
    /// The queue's brand filter, to come back to.
    #[serde(default)]
    brand: String,
}

fn digest_of(raw: &str) -> Result<ContentDigest, Vec<FieldError>> {
    ContentDigest::parse(raw.trim())
        .map_err(|_| one_error("content_digest", "is missing or malformed; reload the page"))
}

pub async fn approve(State(state): State<AppState>, ctx: WsCtx, form: CsrfForm<DecisionForm>) -> PageResult {
    let id: PostId = ctx.id("id")?;
    let f = form.data;
    let brand = form_brand(&f.brand);
    let digest = match digest_of(&f.content_digest) {
        Ok(d) => d,
        Err(errors) => {
            return refused(&state, ctx, brand, Again { post: Some(id), errors, ..Default::default() }).await;
        }
    };
    match state.services.approve_post(&ctx.actor, id, &digest).await {
        Ok(_) => Ok(back(&ctx, brand, "post_approved")),
        Err(e) => outcome(&state, ctx, brand, e, Again { post: Some(id), ..Default::default() }).await,
    }
}

pub async fn reject(State(state): State<AppState>, ctx: WsCtx, form: CsrfForm<DecisionForm>) -> PageResult {
    let id: PostId = ctx.id("id")?;
    let f = form.data;
    let brand = form_brand(&f.brand);
    let reason = f.reason.unwrap_or_default();
    let again = |errors| Again { post: Some(id), errors, reject_reason: reason.clone(), ..Default::default() };
    let digest = match digest_of(&f.content_digest) {
        Ok(d) => d,
        Err(errors) => return refused(&state, ctx, brand, again(errors)).await,
    };
    match state.services.reject_post(&ctx.actor, id, &digest, &reason).await {
        Ok(_) => Ok(back(&ctx, brand, "post_rejected")),
        Err(e) => outcome(&state, ctx, brand, e, again(vec![])).await,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleForm {
    #[serde(default)]
    version: String,
    /// `YYYY-MM-DDTHH:MM` in the brand's time zone.
    #[serde(default)]
    at: String,
    /// `next`: the brand's next free queue slot instead of `at`.
    #[serde(default)]
    slot: String,
    #[serde(default)]
    brand: String,
}

pub async fn schedule(State(state): State<AppState>, ctx: WsCtx, form: CsrfForm<ScheduleForm>) -> PageResult {
    let id: PostId = ctx.id("id")?;
    let f = form.data;
    let brand = form_brand(&f.brand);
    let again = |errors| Again { post: Some(id), errors, schedule_value: Some(f.at.clone()), ..Default::default() };
    let Ok(version) = f.version.trim().parse::<i64>() else {
        return refused(&state, ctx, brand, again(one_error("version", "is missing or not a number; reload the page")))
            .await;
    };
    let result = if f.slot == "next" {
        state.services.schedule_in_next_slot(&ctx.actor, id, version).await
    } else {
        match f.at.trim().parse::<civil::DateTime>() {
            Ok(at) => state.services.schedule_post(&ctx.actor, id, version, Some(at)).await,
            Err(_) => {
                let errors = one_error("at", "must be a date and time such as 2026-05-01T09:00");
                return refused(&state, ctx, brand, again(errors)).await;
            }
        }
    };
    match result {
        Ok(_) => Ok(back(&ctx, brand, "post_scheduled")),
        Err(e) => outcome(&state, ctx, brand, e, again(vec![])).await,
    }
}
