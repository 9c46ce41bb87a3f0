//! AI generation in the browser: a brand's Generate page ("Generate a post", "Plan a week or
//! month", the month's usage), the status page of one generation (it refreshes itself while
//! the job works, so the person may leave and come back), "Regenerate with feedback" and the
//! guardrail flags in the post editor, and "Describe this image" for a media item. Plain forms:
//! nothing here needs JavaScript.

use super::auth::Empty;
use super::posts::{Rerender, refused};
use super::{
    Chrome, FieldError, FormOutcome, PageError, PageResult, WsCtx, fmt_ts, form_outcome, redirect_msg, render,
};
use crate::AppState;
use crate::session::CsrfForm;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use nanopost_domain::brand::Brand;
use nanopost_domain::ids::{BrandId, GenerationId, MediaId, PostId};
use nanopost_domain::network::Network;
use nanopost_domain::post::{Post, PostState};
use nanopost_domain::role::Permission;
use nanopost_services::Actor;
use nanopost_services::generation::{GenerationView, Period, PlanInput, PostInput, UsageView, slots, state_label};
use nanopost_storage::{GenerationKind, GenerationRecord, GenerationState, PageRequest};
use serde::Deserialize;

/// Seconds between reloads of an open generation's status page.
const REFRESH_SECS: u32 = 3;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/w/{ws}/brands/{id}/generate", get(page))
        .route("/w/{ws}/brands/{id}/generate/post", post(ask_post))
        .route("/w/{ws}/brands/{id}/generate/plan", post(ask_plan))
        .route("/w/{ws}/generations/{id}", get(status))
        .route("/w/{ws}/posts/{id}/regenerate", post(regenerate))
        .route("/w/{ws}/media/{id}/describe", get(describe_page).post(describe))
        .route("/w/{ws}/media/{id}/describe/use", post(use_description))
}

fn kind_label(k: GenerationKind) -> &'static str {
    match k {
        GenerationKind::Post => "A post",
        GenerationKind::Plan => "A plan",
        GenerationKind::Regenerate => "A new version of a post",
        GenerationKind::Describe => "An image description",
    }
}

fn state_class(s: GenerationState) -> &'static str {
    match s {
        GenerationState::Queued => "muted",
        GenerationState::Running => "info",
        GenerationState::Done => "ok",
        GenerationState::Failed => "bad",
    }
}

/// "Fri 27 Mar 2026, 09:00 (Europe/Berlin)".
fn when(local: jiff::civil::DateTime, tz: &str) -> String {
    format!("{} ({tz})", local.strftime("%a %-d %b %Y, %H:%M"))
}

/// Who wrote it, as a person reads it; offline output says so.
fn written_by(provider: Option<&str>, offline: bool) -> String {
    match (provider, offline) {
        (_, true) => "written offline (templates and a locally rendered brand card, no AI service)".into(),
        (Some(p), false) => format!("written by {p}"),
        (None, false) => "written by the configured AI provider".into(),
    }
}

// ---------------------------------------------------------------------------------------------
// The brand's Generate page
// ---------------------------------------------------------------------------------------------

pub struct NetworkChoice {
    pub key: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

pub struct UsageBox {
    pub month: String,
    pub generations: u64,
    pub quota: String,
    pub remaining: Option<u64>,
    pub images: u64,
    pub tokens: u64,
}

impl From<UsageView> for UsageBox {
    fn from(u: UsageView) -> Self {
        UsageBox {
            month: u.month.clone(),
            generations: u.generations,
            quota: if u.quota == 0 { "no limit".into() } else { format!("{} a month", u.quota) },
            remaining: u.remaining(),
            images: u.images,
            tokens: u.prompt_tokens + u.completion_tokens,
        }
    }
}

pub struct GenerationRow {
    pub id: String,
    pub kind: &'static str,
    pub state: &'static str,
    pub state_class: &'static str,
    pub created: String,
    pub error: Option<String>,
}

fn row(g: &GenerationRecord) -> GenerationRow {
    GenerationRow {
        id: g.id.to_string(),
        kind: kind_label(g.kind),
        state: state_label(g.state),
        state_class: state_class(g.state),
        created: fmt_ts(g.created_at),
        error: g.error.clone(),
    }
}

#[derive(Template)]
#[template(path = "generate.html")]
struct GeneratePage {
    chrome: Chrome,
    ws: String,
    csrf: String,
    brand_id: String,
    brand_name: String,
    timezone: String,
    can_edit: bool,
    offline: bool,
    provider: String,
    post_networks: Vec<NetworkChoice>,
    brief: String,
    plan_networks: Vec<NetworkChoice>,
    month_selected: bool,
    count: String,
    theme: String,
    per_week: usize,
    per_month: usize,
    slots: String,
    usage: UsageBox,
    recent: Vec<GenerationRow>,
    errors: Vec<FieldError>,
}

/// The networks a form ticked (`network_instagram=on`…), in the usual order.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostForm {
    network_instagram: Option<String>,
    network_linkedin: Option<String>,
    network_tiktok: Option<String>,
    brief: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlanForm {
    network_instagram: Option<String>,
    network_linkedin: Option<String>,
    network_tiktok: Option<String>,
    period: String,
    count: String,
    theme: String,
}

fn ticked(instagram: &Option<String>, linkedin: &Option<String>, tiktok: &Option<String>) -> Vec<Network> {
    [(Network::Instagram, instagram), (Network::Linkedin, linkedin), (Network::Tiktok, tiktok)]
        .into_iter()
        .filter(|(_, v)| v.is_some())
        .map(|(n, _)| n)
        .collect()
}

fn choices(chosen: &[Network]) -> Vec<NetworkChoice> {
    Network::ALL
        .into_iter()
        .map(|n| NetworkChoice { key: n.as_str(), label: n.label(), checked: chosen.contains(&n) })
        .collect()
}

/// What the page is re-rendered with after a refused request.
#[derive(Default)]
struct Again {
    errors: Vec<FieldError>,
    post: Option<PostForm>,
    plan: Option<PlanForm>,
}

async fn generate_page(state: &AppState, ctx: WsCtx, brand: BrandId, status: StatusCode, again: Again) -> PageResult {
    let s = &state.services;
    let b: Brand = s.brand(&ctx.actor, brand).await?;
    let usage = s.ai_usage(&ctx.actor).await?;
    let recent = s.generations(&ctx.actor, Some(brand), PageRequest::first(10)).await?.items;
    let label = s.ai().text.label();
    let post_chosen = match &again.post {
        Some(f) => ticked(&f.network_instagram, &f.network_linkedin, &f.network_tiktok),
        None => vec![Network::Instagram],
    };
    let plan_chosen = match &again.plan {
        Some(f) => ticked(&f.network_instagram, &f.network_linkedin, &f.network_tiktok),
        None => vec![Network::Instagram],
    };
    let page = GeneratePage {
        ws: ctx.ws_path(),
        csrf: ctx.chrome.csrf.clone(),
        brand_id: b.id.to_string(),
        brand_name: b.profile.name.clone(),
        timezone: b.profile.timezone.clone(),
        can_edit: ctx.actor.can(Permission::EditContent),
        offline: label.is_offline(),
        provider: label.to_string(),
        post_networks: choices(&post_chosen),
        brief: again.post.as_ref().map(|f| f.brief.clone()).unwrap_or_default(),
        plan_networks: choices(&plan_chosen),
        month_selected: again.plan.as_ref().is_some_and(|f| f.period == "month"),
        count: again.plan.as_ref().map(|f| f.count.clone()).unwrap_or_default(),
        theme: again.plan.as_ref().map(|f| f.theme.clone()).unwrap_or_default(),
        per_week: slots::default_count(&b.profile.cadence, Period::Week),
        per_month: slots::default_count(&b.profile.cadence, Period::Month),
        slots: if b.profile.cadence.slots.is_empty() {
            "none yet (days are spread over the week at 10:00)".into()
        } else {
            b.profile.cadence.slots.join(", ")
        },
        usage: usage.into(),
        recent: recent.iter().map(row).collect(),
        errors: again.errors,
        chrome: ctx.chrome,
    };
    Ok(render(status, &page))
}

pub async fn page(State(state): State<AppState>, ctx: WsCtx) -> PageResult {
    let brand: BrandId = ctx.id("id")?;
    generate_page(&state, ctx, brand, StatusCode::OK, Again::default()).await
}

fn to_status(ctx: &WsCtx, g: &GenerationRecord) -> PageResult {
    Ok(Redirect::to(&format!("{}/generations/{}", ctx.ws_path(), g.id)).into_response())
}

pub async fn ask_post(State(state): State<AppState>, ctx: WsCtx, form: CsrfForm<PostForm>) -> PageResult {
    let brand: BrandId = ctx.id("id")?;
    let f = form.data;
    let input = PostInput {
        networks: ticked(&f.network_instagram, &f.network_linkedin, &f.network_tiktok),
        brief: f.brief.clone(),
    };
    match state.services.generate_post(&ctx.actor, brand, input).await {
        Ok(g) => to_status(&ctx, &g),
        Err(e) => match form_outcome(e) {
            FormOutcome::Rerender(status, errors) => {
                generate_page(&state, ctx, brand, status, Again { errors, post: Some(f), plan: None }).await
            }
            FormOutcome::Page(p) => Err(p),
        },
    }
}

pub async fn ask_plan(State(state): State<AppState>, ctx: WsCtx, form: CsrfForm<PlanForm>) -> PageResult {
    let brand: BrandId = ctx.id("id")?;
    let f = form.data;
    let bad = |field: &str, message: &str| super::one_error(field, message);
    let period = match Period::parse(&f.period) {
        Some(p) => p,
        None => {
            let errors = bad("period", "choose a week or a month");
            return generate_page(
                &state,
                ctx,
                brand,
                StatusCode::UNPROCESSABLE_ENTITY,
                Again { errors, post: None, plan: Some(f) },
            )
            .await;
        }
    };
    let count = match f.count.trim() {
        "" => None,
        raw => match raw.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                let errors = bad("count", "must be a whole number, or empty for the brand's cadence");
                return generate_page(
                    &state,
                    ctx,
                    brand,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Again { errors, post: None, plan: Some(f) },
                )
                .await;
            }
        },
    };
    let input = PlanInput {
        networks: ticked(&f.network_instagram, &f.network_linkedin, &f.network_tiktok),
        period,
        count,
        theme: f.theme.clone(),
    };
    match state.services.generate_plan(&ctx.actor, brand, input).await {
        Ok(g) => to_status(&ctx, &g),
        Err(e) => match form_outcome(e) {
            FormOutcome::Rerender(status, errors) => {
                generate_page(&state, ctx, brand, status, Again { errors, post: None, plan: Some(f) }).await
            }
            FormOutcome::Page(p) => Err(p),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// The status page
// ---------------------------------------------------------------------------------------------

pub struct DraftRow {
    pub post_id: String,
    pub number: u32,
    pub excerpt: String,
    pub state: &'static str,
    pub suggested: Option<String>,
    pub notes: Vec<String>,
}

pub struct DescriptionBox {
    pub alt_text: String,
    pub caption: String,
    pub notes: Vec<String>,
}

#[derive(Template)]
#[template(path = "generate_status.html")]
struct StatusPage {
    chrome: Chrome,
    ws: String,
    csrf: String,
    id: String,
    kind: &'static str,
    state: &'static str,
    state_class: &'static str,
    open: bool,
    refresh_secs: u32,
    progress: String,
    error: Option<String>,
    written_by: Option<String>,
    brand_id: Option<String>,
    brand_name: String,
    networks: String,
    brief: String,
    feedback: Option<String>,
    drafts: Vec<DraftRow>,
    suggestions: Vec<String>,
    description: Option<DescriptionBox>,
    media_id: Option<String>,
    post_id: Option<String>,
    can_edit: bool,
    created: String,
    finished: String,
}

async fn draft_rows(state: &AppState, actor: &Actor, view: &GenerationView) -> Result<Vec<DraftRow>, PageError> {
    let mut out = Vec::new();
    for link in &view.posts {
        // A draft deleted since is simply not listed.
        let Ok(p) = state.services.post(actor, link.post_id).await else { continue };
        out.push(DraftRow {
            post_id: link.post_id.to_string(),
            number: link.position + 1,
            excerpt: excerpt(&p.post),
            state: p.post.state.label(),
            suggested: link.suggested_local.zip(link.suggested_tz.as_deref()).map(|(l, tz)| when(l, tz)),
            notes: link.notes.clone(),
        });
    }
    Ok(out)
}

fn excerpt(p: &Post) -> String {
    let caption = p.content.variants.first().map(|v| v.caption.trim()).unwrap_or("");
    let mut s: String = caption.chars().take(140).collect();
    if caption.chars().count() > 140 {
        s.push('…');
    }
    s
}

pub async fn status(State(state): State<AppState>, ctx: WsCtx) -> PageResult {
    let id: GenerationId = ctx.id("id")?;
    let view = state.services.generation(&ctx.actor, id).await?;
    let g = &view.record;
    let brand_name = match g.brand_id {
        Some(b) => state.services.brand(&ctx.actor, b).await.map(|b| b.profile.name).unwrap_or_default(),
        None => String::new(),
    };
    let open = !g.state.is_final();
    let page = StatusPage {
        ws: ctx.ws_path(),
        csrf: ctx.chrome.csrf.clone(),
        id: g.id.to_string(),
        kind: kind_label(g.kind),
        state: state_label(g.state),
        state_class: state_class(g.state),
        open,
        refresh_secs: REFRESH_SECS,
        progress: g.progress.clone(),
        error: g.error.clone(),
        written_by: (g.provider.is_some() || g.state == GenerationState::Done)
            .then(|| written_by(g.provider.as_deref(), g.offline)),
        brand_id: g.brand_id.map(|b| b.to_string()),
        brand_name,
        networks: view.networks.iter().map(|n| n.label()).collect::<Vec<_>>().join(", "),
        brief: view.brief.clone(),
        feedback: view.feedback.clone(),
        drafts: draft_rows(&state, &ctx.actor, &view).await?,
        suggestions: if open { view.suggestions.iter().map(|s| when(s.local, &s.timezone)).collect() } else { vec![] },
        description: view.description.as_ref().map(|d| DescriptionBox {
            alt_text: d.alt_text.clone(),
            caption: d.suggested_caption.clone(),
            notes: d.notes.clone(),
        }),
        media_id: g.media_id.map(|m| m.to_string()),
        post_id: g.post_id.map(|p| p.to_string()),
        can_edit: ctx.actor.can(Permission::EditContent),
        created: fmt_ts(g.created_at),
        finished: g.finished_at.map(fmt_ts).unwrap_or_default(),
        chrome: ctx.chrome,
    };
    let mut res = render(StatusCode::OK, &page);
    if open {
        // Reloads itself while the job works (no JavaScript); a person may leave and return.
        res.headers_mut().insert("refresh", HeaderValue::from(REFRESH_SECS));
    }
    Ok(res)
}

// ---------------------------------------------------------------------------------------------
// The post editor's section: flags, provenance, the suggested time, regenerate
// ---------------------------------------------------------------------------------------------

pub struct FlagRow {
    pub network: &'static str,
    pub reason: String,
}

/// What the post editor shows about the AI and the guardrails (see `generate_editor_section.html`).
pub struct EditorAi {
    pub flags: Vec<FlagRow>,
    /// "written offline (…)" / "written by openai (gpt-4o-mini)", when the AI wrote it.
    pub written_by: Option<String>,
    pub generation: Option<String>,
    pub notes: Vec<String>,
    /// The suggested time, as shown and as the schedule form takes it.
    pub suggestion: Option<String>,
    pub suggestion_value: String,
    pub can_use_suggestion: bool,
    pub can_regenerate: bool,
}

pub(super) async fn editor_section(state: &AppState, actor: &Actor, post: &Post) -> Result<EditorAi, PageError> {
    let ai = state.services.post_ai(actor, post).await?;
    let can_edit = actor.can(Permission::EditContent);
    let suggestion = ai.suggestion.as_ref().and_then(|s| Some((s.suggested_local?, s.suggested_tz.clone()?)));
    Ok(EditorAi {
        flags: ai.flags.iter().map(|f| FlagRow { network: f.network.label(), reason: f.reason.clone() }).collect(),
        written_by: ai.provenance.as_ref().map(|p| written_by(p.provider.as_deref(), p.offline)),
        generation: ai.provenance.as_ref().map(|p| p.link.generation_id.to_string()),
        notes: ai.provenance.as_ref().map(|p| p.link.notes.clone()).unwrap_or_default(),
        suggestion: suggestion.as_ref().map(|(l, tz)| when(*l, tz)),
        suggestion_value: suggestion
            .as_ref()
            .map(|(l, _)| l.strftime("%Y-%m-%dT%H:%M").to_string())
            .unwrap_or_default(),
        // A person takes the suggestion with the normal schedule form; only a post without a
        // time yet is offered it, and approval is still needed before anything goes out.
        can_use_suggestion: can_edit && suggestion.is_some() && post.schedule.is_none() && !post.state.is_locked(),
        can_regenerate: can_edit && !post.state.is_locked() && post.state != PostState::Publishing,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackForm {
    #[serde(default)]
    feedback: String,
}

pub async fn regenerate(State(state): State<AppState>, ctx: WsCtx, form: CsrfForm<FeedbackForm>) -> PageResult {
    let id: PostId = ctx.id("id")?;
    match state.services.regenerate(&ctx.actor, id, &form.data.feedback).await {
        Ok(g) => to_status(&ctx, &g),
        Err(e) => refused(&state, ctx, id, e, Rerender::default()).await,
    }
}

// ---------------------------------------------------------------------------------------------
// Describe an image
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "generate_describe.html")]
struct DescribePage {
    chrome: Chrome,
    ws: String,
    csrf: String,
    media_id: String,
    url: String,
    file_name: String,
    alt_text: String,
    suggestion: Option<DescriptionBox>,
    written_by: String,
    can_edit: bool,
    errors: Vec<FieldError>,
}

async fn describe_view(
    state: &AppState,
    ctx: WsCtx,
    id: MediaId,
    status: StatusCode,
    errors: Vec<FieldError>,
) -> PageResult {
    let m = state.services.media_item(&ctx.actor, id).await?;
    let d = state.services.image_description(&ctx.actor, id).await?;
    let page = DescribePage {
        ws: ctx.ws_path(),
        csrf: ctx.chrome.csrf.clone(),
        media_id: m.id.to_string(),
        url: state.services.media_url(ctx.actor.workspace_id, m.id),
        file_name: m.file_name.clone(),
        alt_text: m.alt_text.clone(),
        written_by: d.as_ref().map(|d| written_by(Some(&d.provider), d.offline)).unwrap_or_default(),
        suggestion: d.map(|d| DescriptionBox { alt_text: d.alt_text, caption: d.suggested_caption, notes: d.notes }),
        can_edit: ctx.actor.can(Permission::EditContent),
        errors,
        chrome: ctx.chrome,
    };
    Ok(render(status, &page))
}

pub async fn describe_page(State(state): State<AppState>, ctx: WsCtx) -> PageResult {
    let id: MediaId = ctx.id("id")?;
    describe_view(&state, ctx, id, StatusCode::OK, vec![]).await
}

pub async fn describe(State(state): State<AppState>, ctx: WsCtx, _form: CsrfForm<Empty>) -> PageResult {
    let id: MediaId = ctx.id("id")?;
    match state.services.describe_image(&ctx.actor, id).await {
        Ok(g) => to_status(&ctx, &g),
        Err(e) => match form_outcome(e) {
            FormOutcome::Rerender(status, errors) => describe_view(&state, ctx, id, status, errors).await,
            FormOutcome::Page(p) => Err(p),
        },
    }
}

pub async fn use_description(State(state): State<AppState>, ctx: WsCtx, _form: CsrfForm<Empty>) -> PageResult {
    let id: MediaId = ctx.id("id")?;
    match state.services.use_image_description(&ctx.actor, id).await {
        Ok(_) => Ok(redirect_msg(&format!("{}/media/{id}/describe", ctx.ws_path()), "media_saved")),
        Err(e) => match form_outcome(e) {
            FormOutcome::Rerender(status, errors) => describe_view(&state, ctx, id, status, errors).await,
            FormOutcome::Page(p) => Err(p),
        },
    }
}
