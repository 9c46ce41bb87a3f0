//! Posts: the list, a new draft, and the editor with review (approve / reject bound to the
//! content digest the reviewer saw), scheduling in the brand's time zone, and archiving.

use super::auth::Empty;
use super::workspace::PostRow;
use super::{
    Chrome, FieldError, FormOutcome, PageError, PageResult, WsCtx, fmt_ts, form_outcome, one_error, redirect_msg,
    render,
};
use crate::AppState;
use crate::session::CsrfForm;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::civil;
use nanopost_domain::approval::ContentDigest;
use nanopost_domain::brand::Brand;
use nanopost_domain::ids::{BrandId, PostId};
use nanopost_domain::network::Network;
use nanopost_domain::post::{Post, PostAction, PostContent, PostState, Target, Variant};
use nanopost_domain::role::Permission;
use nanopost_storage::{PageRequest, PostFilter};
use serde::Deserialize;
use uuid::Uuid;

pub fn state_class(s: PostState) -> &'static str {
    match s {
        PostState::Draft | PostState::Archived => "muted",
        PostState::PendingReview | PostState::Unconfirmed => "warn",
        PostState::Approved | PostState::Scheduled | PostState::Published => "ok",
        PostState::Publishing => "info",
        PostState::Failed | PostState::Rejected => "bad",
    }
}

fn excerpt(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

pub fn post_row(p: &Post, brands: &[Brand]) -> PostRow {
    PostRow {
        id: p.id.to_string(),
        brand: brands.iter().find(|b| b.id == p.brand_id).map(|b| b.profile.name.clone()).unwrap_or_default(),
        state: p.state.label(),
        state_class: state_class(p.state),
        excerpt: excerpt(p.content.variants.first().map(|v| v.caption.as_str()).unwrap_or(""), 90),
        networks: p.content.targets.iter().map(|t| t.network.label()).collect::<Vec<_>>().join(", "),
        schedule: p
            .schedule
            .as_ref()
            .map(|s| format!("{} ({})", s.local.strftime("%Y-%m-%d %H:%M"), s.timezone))
            .unwrap_or_default(),
        updated: fmt_ts(p.updated_at),
    }
}

// ---------------------------------------------------------------------------------------------
// List
// ---------------------------------------------------------------------------------------------

pub struct BrandOption {
    pub id: String,
    pub name: String,
    pub selected: bool,
}

pub struct StateOption {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "posts.html")]
struct PostsPage {
    chrome: Chrome,
    ws: String,
    posts: Vec<PostRow>,
    brands: Vec<BrandOption>,
    states: Vec<StateOption>,
    can_edit: bool,
    next: Option<String>,
    filter_query: String,
}

pub async fn list(State(state): State<AppState>, ctx: WsCtx) -> PageResult {
    let state_filter = match ctx.query_value("state").filter(|s| !s.is_empty()) {
        Some(s) => {
            Some(s.parse::<PostState>().map_err(|_| PageError::bad_request("That is not a post state to filter by."))?)
        }
        None => None,
    };
    let brand_filter = match ctx.query_value("brand").filter(|s| !s.is_empty()) {
        Some(b) => Some(b.parse::<BrandId>().map_err(|_| PageError::bad_request("That is not a brand to filter by."))?),
        None => None,
    };
    let after = ctx.query_value("after").and_then(|a| a.parse::<Uuid>().ok());
    let brands = state.services.brands(&ctx.actor, PageRequest::first(100)).await?.items;
    let filter = PostFilter { brand_id: brand_filter, state: state_filter };
    let page = state.services.posts(&ctx.actor, &filter, PageRequest { limit: 50, after }).await?;
    let filter_query = serde_urlencoded::to_string([
        ("state", state_filter.map(|s| s.as_str().to_owned()).unwrap_or_default()),
        ("brand", brand_filter.map(|b| b.to_string()).unwrap_or_default()),
    ])
    .unwrap_or_default();
    let p = PostsPage {
        ws: ctx.ws_path(),
        posts: page.items.iter().map(|p| post_row(p, &brands)).collect(),
        brands: brands
            .iter()
            .map(|b| BrandOption {
                id: b.id.to_string(),
                name: b.profile.name.clone(),
                selected: Some(b.id) == brand_filter,
            })
            .collect(),
        states: PostState::ALL
            .into_iter()
            .map(|s| StateOption { value: s.as_str(), label: s.label(), selected: Some(s) == state_filter })
            .collect(),
        can_edit: ctx.actor.can(Permission::EditContent),
        next: page.next.map(|n| n.to_string()),
        filter_query,
        chrome: ctx.chrome,
    };
    Ok(render(StatusCode::OK, &p))
}

// ---------------------------------------------------------------------------------------------
// The content form
// ---------------------------------------------------------------------------------------------

/// The content form: one target checkbox and one caption per network.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostForm {
    brand_id: String,
    version: String,
    target_instagram: Option<String>,
    target_linkedin: Option<String>,
    target_tiktok: Option<String>,
    caption_instagram: String,
    caption_linkedin: String,
    caption_tiktok: String,
    /// The connected account each network's target goes to; empty: the brand's only one.
    account_instagram: Option<String>,
    account_linkedin: Option<String>,
    account_tiktok: Option<String>,
}

impl PostForm {
    fn field(&self, n: Network) -> (bool, &str) {
        match n {
            Network::Instagram => (self.target_instagram.is_some(), &self.caption_instagram),
            Network::Linkedin => (self.target_linkedin.is_some(), &self.caption_linkedin),
            Network::Tiktok => (self.target_tiktok.is_some(), &self.caption_tiktok),
        }
    }

    /// The account chosen for `n`: `None` when the form has no picker (keep what was there),
    /// `Some(None)` for "the brand's only account".
    fn account(&self, n: Network) -> Option<Option<String>> {
        let raw = match n {
            Network::Instagram => &self.account_instagram,
            Network::Linkedin => &self.account_linkedin,
            Network::Tiktok => &self.account_tiktok,
        };
        raw.as_ref().map(|a| Some(a.trim().to_owned()).filter(|a| !a.is_empty()))
    }

    /// The content this form describes. Media and options of an existing post are kept (the
    /// form does not edit them), as are the accounts chosen for its targets.
    fn content(&self, existing: Option<&PostContent>) -> PostContent {
        let mut variants = Vec::new();
        let mut targets = Vec::new();
        for n in Network::ALL {
            let (targeted, caption) = self.field(n);
            let old = existing.and_then(|c| c.variants.iter().find(|v| v.network == n));
            let caption = caption.replace("\r\n", "\n");
            if targeted || !caption.trim().is_empty() || old.is_some_and(|v| !v.media.is_empty()) {
                variants.push(Variant {
                    network: n,
                    caption,
                    media: old.map(|v| v.media.clone()).unwrap_or_default(),
                    options: old.map(|v| v.options.clone()).unwrap_or_default(),
                });
            }
            if targeted {
                let kept =
                    existing.and_then(|c| c.targets.iter().find(|t| t.network == n)).and_then(|t| t.account.clone());
                targets.push(Target { network: n, account: self.account(n).unwrap_or(kept) });
            }
        }
        PostContent { variants, targets }
    }
}

pub struct NetworkField {
    pub key: &'static str,
    pub label: &'static str,
    pub targeted: bool,
    pub caption: String,
    pub limit: usize,
    /// The brand's connected accounts on this network, to choose the target from.
    pub accounts: Vec<AccountChoice>,
}

pub struct AccountChoice {
    /// The account's external id; empty for "the brand's only account".
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The account pickers' choices: the brand's connected accounts of network `n`.
fn account_choices(
    n: Network,
    accounts: &[nanopost_services::AccountView],
    chosen: Option<&str>,
) -> Vec<AccountChoice> {
    let on: Vec<_> = accounts.iter().filter(|a| a.network == n).collect();
    if on.is_empty() {
        return vec![];
    }
    let mut out = vec![AccountChoice {
        value: String::new(),
        label: if on.len() == 1 {
            format!("{} (the only one)", on[0].display_name)
        } else {
            "Choose an account".into()
        },
        selected: chosen.is_none(),
    }];
    out.extend(on.iter().map(|a| AccountChoice {
        value: a.external_id.clone(),
        label: match &a.handle {
            Some(h) => format!("{} (@{h})", a.display_name),
            None => a.display_name.clone(),
        },
        selected: chosen == Some(a.external_id.as_str()),
    }));
    out
}

fn network_fields(
    form: Option<&PostForm>,
    content: Option<&PostContent>,
    accounts: &[nanopost_services::AccountView],
) -> Vec<NetworkField> {
    Network::ALL
        .into_iter()
        .map(|n| {
            let chosen = match (form.and_then(|f| f.account(n)), content) {
                (Some(picked), _) => picked,
                (None, Some(c)) => c.targets.iter().find(|t| t.network == n).and_then(|t| t.account.clone()),
                (None, None) => None,
            };
            let accounts = account_choices(n, accounts, chosen.as_deref());
            let (targeted, caption) = match (form, content) {
                (Some(f), _) => {
                    let (t, c) = f.field(n);
                    (t, c.to_owned())
                }
                (None, Some(c)) => (
                    c.targets.iter().any(|t| t.network == n),
                    c.variants.iter().find(|v| v.network == n).map(|v| v.caption.clone()).unwrap_or_default(),
                ),
                (None, None) => (n == Network::Instagram, String::new()),
            };
            NetworkField { key: n.as_str(), label: n.label(), targeted, caption, limit: n.caption_limit(), accounts }
        })
        .collect()
}

fn parse_version(raw: &str) -> Result<i64, Vec<FieldError>> {
    raw.trim().parse::<i64>().map_err(|_| one_error("version", "is missing or not a number; reload the page"))
}

// ---------------------------------------------------------------------------------------------
// New post
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "post_new.html")]
struct NewPostPage {
    chrome: Chrome,
    ws: String,
    csrf: String,
    brands: Vec<BrandOption>,
    networks: Vec<NetworkField>,
    errors: Vec<FieldError>,
}

async fn new_post_page(
    state: &AppState,
    ctx: WsCtx,
    status: StatusCode,
    form: Option<&PostForm>,
    errors: Vec<FieldError>,
) -> PageResult {
    let brands = state.services.brands(&ctx.actor, PageRequest::first(100)).await?.items;
    let selected = form.map(|f| f.brand_id.clone()).or_else(|| ctx.query_value("brand")).unwrap_or_default();
    let page = NewPostPage {
        ws: ctx.ws_path(),
        csrf: ctx.chrome.csrf.clone(),
        brands: brands
            .iter()
            .map(|b| BrandOption {
                id: b.id.to_string(),
                name: b.profile.name.clone(),
                selected: b.id.to_string() == selected,
            })
            .collect(),
        networks: network_fields(form, None, &[]),
        errors,
        chrome: ctx.chrome,
    };
    Ok(render(status, &page))
}

pub async fn new_page(State(state): State<AppState>, ctx: WsCtx) -> PageResult {
    ctx.actor.require(Permission::EditContent)?;
    new_post_page(&state, ctx, StatusCode::OK, None, vec![]).await
}

pub async fn create(State(state): State<AppState>, ctx: WsCtx, form: CsrfForm<PostForm>) -> PageResult {
    let f = form.data;
    let Ok(brand) = f.brand_id.trim().parse::<BrandId>() else {
        let errors = one_error("brand", "choose a brand");
        return new_post_page(&state, ctx, StatusCode::UNPROCESSABLE_ENTITY, Some(&f), errors).await;
    };
    match state.services.create_post(&ctx.actor, brand, f.content(None)).await {
        Ok(p) => Ok(redirect_msg(&format!("{}/posts/{}", ctx.ws_path(), p.id), "post_created")),
        Err(e) => match form_outcome(e) {
            FormOutcome::Rerender(status, errors) => new_post_page(&state, ctx, status, Some(&f), errors).await,
            FormOutcome::Page(p) => Err(p),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// The editor
// ---------------------------------------------------------------------------------------------

struct ApprovalRow {
    approver: String,
    role: &'static str,
    channel: &'static str,
    digest: String,
    at: String,
    in_force: bool,
}

#[derive(Template)]
#[template(path = "post_editor.html")]
struct EditorPage {
    chrome: Chrome,
    ws: String,
    csrf: String,
    id: String,
    brand_id: String,
    brand_name: String,
    timezone: String,
    state_label: &'static str,
    state_class: &'static str,
    version: i64,
    digest: String,
    networks: Vec<NetworkField>,
    schedule_value: String,
    /// What the post's time means in its state (waiting for approval, scheduled, published…).
    schedule_note: String,
    /// Why some targets have no account (blocking ones first); shown before anyone approves.
    target_problems: Vec<TargetProblem>,
    rejection_reason: Option<String>,
    approvals: Vec<ApprovalRow>,
    publications: Vec<super::publishing::PublicationRow>,
    media: super::post_media::MediaPanel,
    errors: Vec<FieldError>,
    reject_reason: String,
    can_publish_now: bool,
    can_retry: bool,
    editable: bool,
    can_submit: bool,
    can_review: bool,
    can_schedule: bool,
    can_archive: bool,
    can_delete: bool,
    created: String,
    updated: String,
    /// Guardrail flags, who wrote it, its suggested time, "regenerate" (see `generate.rs`).
    ai: super::generate::EditorAi,
}

/// What the editor is re-rendered with after a refused action.
#[derive(Default)]
pub(super) struct Rerender {
    pub(super) errors: Vec<FieldError>,
    form: Option<PostForm>,
    reject_reason: String,
    schedule_value: Option<String>,
}

impl Rerender {
    pub(super) fn errors(errors: Vec<FieldError>) -> Self {
        Self { errors, ..Default::default() }
    }
}

pub(super) async fn editor_page(
    state: &AppState,
    ctx: WsCtx,
    id: PostId,
    status: StatusCode,
    again: Rerender,
) -> PageResult {
    let s = &state.services;
    let view = s.post(&ctx.actor, id).await?;
    let post = &view.post;
    let brand = s.brand(&ctx.actor, post.brand_id).await?;
    let members = s.members(&ctx.actor).await?;
    let can_edit = ctx.actor.can(Permission::EditContent);
    let can_review = ctx.actor.can(Permission::Review);
    let allowed = |a: PostAction| post.state.after(a).is_ok();
    let accounts = match &state.accounts {
        Some(a) => a.connected_accounts(&ctx.actor, post.brand_id).await?,
        None => vec![],
    };
    let publications = s.publications(&ctx.actor, post.id).await?;
    // Once it went out (or is going), where it went is the publications' business.
    let target_problems =
        if post.state.is_locked() { vec![] } else { target_problems(&s.target_problems(&ctx.actor, post).await?) };
    let media = super::post_media::panel(state, &ctx.actor, post).await?;
    let ai = super::generate::editor_section(state, &ctx.actor, post).await?;
    let page = EditorPage {
        ai,
        ws: ctx.ws_path(),
        csrf: ctx.chrome.csrf.clone(),
        id: post.id.to_string(),
        brand_id: brand.id.to_string(),
        brand_name: brand.profile.name.clone(),
        timezone: brand.profile.timezone.clone(),
        state_label: post.state.label(),
        state_class: state_class(post.state),
        version: post.version,
        digest: view.digest.as_str().to_owned(),
        networks: network_fields(again.form.as_ref(), Some(&post.content), &accounts),
        publications: super::publishing::rows(&publications),
        media,
        can_publish_now: can_edit && matches!(post.state, PostState::Approved | PostState::Scheduled),
        can_retry: can_edit && matches!(post.state, PostState::Failed | PostState::Unconfirmed),
        schedule_value: again.schedule_value.unwrap_or_else(|| {
            post.schedule.as_ref().map(|s| s.local.strftime("%Y-%m-%dT%H:%M").to_string()).unwrap_or_default()
        }),
        schedule_note: schedule_note(post, s.now()),
        target_problems,
        rejection_reason: post.rejection_reason.clone(),
        approvals: view
            .approvals
            .iter()
            .rev()
            .map(|a| ApprovalRow {
                approver: members
                    .iter()
                    .find(|m| m.user_id == a.approver)
                    .map(|m| m.display_name.clone())
                    .unwrap_or_else(|| "a former member".into()),
                role: a.approver_role.as_str(),
                channel: a.channel.as_str(),
                digest: a.digest.as_str().to_owned(),
                at: fmt_ts(a.at),
                in_force: post.approval_id == Some(a.id),
            })
            .collect(),
        errors: again.errors,
        reject_reason: again.reject_reason,
        editable: can_edit && !post.state.is_locked(),
        can_submit: can_edit && allowed(PostAction::Submit),
        can_review: can_review && allowed(PostAction::Approve),
        can_schedule: can_edit && !post.state.is_locked(),
        can_archive: can_edit && allowed(PostAction::Archive),
        can_delete: can_edit && (!post.state.is_locked() || post.state == PostState::Archived),
        created: fmt_ts(post.created_at),
        updated: fmt_ts(post.updated_at),
        chrome: ctx.chrome,
    };
    Ok(render(status, &page))
}

/// A target without an account to go to, as the editor and the review queue show it.
pub struct TargetProblem {
    pub text: String,
    /// Approving is refused until it is fixed.
    pub blocking: bool,
}

/// The sentences of [`nanopost_services::Services::target_problems`], blocking ones first.
pub fn target_problems(problems: &[nanopost_domain::targets::Unresolved]) -> Vec<TargetProblem> {
    let mut out: Vec<TargetProblem> =
        problems.iter().map(|p| TargetProblem { text: p.what_to_do(), blocking: p.blocks_approval() }).collect();
    out.sort_by_key(|p| !p.blocking);
    out
}

/// What the post's time means now: before approval it is a plan, after it a promise, and once
/// the post went out (or tried to) a record.
pub fn schedule_note(post: &Post, now: jiff::Timestamp) -> String {
    let Some(s) = &post.schedule else {
        return match post.state {
            PostState::Approved => "Approved and not scheduled: set a time below, or publish it now.".into(),
            _ => "Not scheduled.".into(),
        };
    };
    let at = format!("{} {} ({})", s.local.strftime("%Y-%m-%d %H:%M"), s.timezone, fmt_ts(s.instant()));
    match post.state {
        PostState::Draft | PostState::PendingReview | PostState::Rejected => {
            format!("Publishes at {at}, once approved.")
        }
        PostState::Approved | PostState::Scheduled if s.instant() <= now => {
            format!("Approved; publishing now (set for {at}).")
        }
        PostState::Approved | PostState::Scheduled => format!("Approved and scheduled: publishes at {at}."),
        PostState::Publishing => format!("Publishing now (set for {at}); see Publishing for each network."),
        PostState::Published => format!("Published (set for {at}); see Publishing for the links."),
        PostState::Failed => format!("Did not go out (set for {at}); see Publishing for why, and to try again."),
        PostState::Unconfirmed => {
            format!("Sent at {at}, but not every network confirmed it; see Publishing for what to check.")
        }
        PostState::Archived => format!("Archived; it was set for {at}."),
    }
}

pub async fn editor(State(state): State<AppState>, ctx: WsCtx) -> PageResult {
    let id: PostId = ctx.id("id")?;
    editor_page(&state, ctx, id, StatusCode::OK, Rerender::default()).await
}

pub(super) fn done(ctx: &WsCtx, id: PostId, msg: &str) -> PageResult {
    Ok(redirect_msg(&format!("{}/posts/{}", ctx.ws_path(), id), msg))
}

/// Re-renders the editor for a refused action, or shows the error page.
pub(super) async fn refused(
    state: &AppState,
    ctx: WsCtx,
    id: PostId,
    e: nanopost_services::ServiceError,
    mut again: Rerender,
) -> PageResult {
    match form_outcome(e) {
        FormOutcome::Rerender(status, errors) => {
            // A conflict shows the post as it is now, not what was typed over an older version.
            if status == StatusCode::CONFLICT {
                again.form = None;
            }
            again.errors = errors;
            editor_page(state, ctx, id, status, again).await
        }
        FormOutcome::Page(p) => Err(p),
    }
}

pub async fn update(State(state): State<AppState>, ctx: WsCtx, form: CsrfForm<PostForm>) -> PageResult {
    let id: PostId = ctx.id("id")?;
    let f = form.data;
    let version = match parse_version(&f.version) {
        Ok(v) => v,
        Err(errors) => {
            let again = Rerender { errors, form: Some(f), ..Default::default() };
            return editor_page(&state, ctx, id, StatusCode::UNPROCESSABLE_ENTITY, again).await;
        }
    };
    let current = state.services.post(&ctx.actor, id).await?;
    let content = f.content(Some(&current.post.content));
    match state.services.edit_post(&ctx.actor, id, version, content).await {
        Ok(_) => done(&ctx, id, "post_saved"),
        Err(e) => refused(&state, ctx, id, e, Rerender { form: Some(f), ..Default::default() }).await,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionForm {
    #[serde(default)]
    pub(super) version: String,
}

pub async fn submit(State(state): State<AppState>, ctx: WsCtx, form: CsrfForm<VersionForm>) -> PageResult {
    let services = state.services.clone();
    versioned_action(&state, ctx, &form.data.version, "post_submitted", async |actor, id, version| {
        services.submit_post(actor, id, version).await
    })
    .await
}

pub async fn archive(State(state): State<AppState>, ctx: WsCtx, form: CsrfForm<VersionForm>) -> PageResult {
    let services = state.services.clone();
    versioned_action(&state, ctx, &form.data.version, "post_archived", async |actor, id, version| {
        services.archive_post(actor, id, version).await
    })
    .await
}

/// An action whose form carries only the version the editor saw (submit, archive): a bad
/// version re-renders the editor, a refusal shows why, success goes back with `flash`.
pub(super) async fn versioned_action(
    state: &AppState,
    ctx: WsCtx,
    raw_version: &str,
    flash: &str,
    act: impl AsyncFnOnce(&nanopost_services::Actor, PostId, i64) -> Result<Post, nanopost_services::ServiceError>,
) -> PageResult {
    let id: PostId = ctx.id("id")?;
    let version = match parse_version(raw_version) {
        Ok(v) => v,
        Err(errors) => {
            let rerender = Rerender { errors, ..Default::default() };
            return editor_page(state, ctx, id, StatusCode::UNPROCESSABLE_ENTITY, rerender).await;
        }
    };
    match act(&ctx.actor, id, version).await {
        Ok(_) => done(&ctx, id, flash),
        Err(e) => refused(state, ctx, id, e, Rerender::default()).await,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewForm {
    #[serde(default)]
    content_digest: String,
    #[serde(default)]
    reason: Option<String>,
}

fn parse_digest(raw: &str) -> Result<ContentDigest, Vec<FieldError>> {
    ContentDigest::parse(raw.trim())
        .map_err(|_| one_error("content_digest", "is missing or malformed; reload the page"))
}

pub async fn approve(State(state): State<AppState>, ctx: WsCtx, form: CsrfForm<ReviewForm>) -> PageResult {
    let id: PostId = ctx.id("id")?;
    let digest = match parse_digest(&form.data.content_digest) {
        Ok(d) => d,
        Err(errors) => {
            return editor_page(
                &state,
                ctx,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Rerender { errors, ..Default::default() },
            )
            .await;
        }
    };
    match state.services.approve_post(&ctx.actor, id, &digest).await {
        Ok(_) => done(&ctx, id, "post_approved"),
        Err(e) => refused(&state, ctx, id, e, Rerender::default()).await,
    }
}

pub async fn reject(State(state): State<AppState>, ctx: WsCtx, form: CsrfForm<ReviewForm>) -> PageResult {
    let id: PostId = ctx.id("id")?;
    let reason = form.data.reason.unwrap_or_default();
    let digest = match parse_digest(&form.data.content_digest) {
        Ok(d) => d,
        Err(errors) => {
            let again = Rerender { errors, reject_reason: reason, ..Default::default() };
            return editor_page(&state, ctx, id, StatusCode::UNPROCESSABLE_ENTITY, again).await;
        }
    };
    match state.services.reject_post(&ctx.actor, id, &digest, &reason).await {
        Ok(_) => done(&ctx, id, "post_rejected"),
        Err(e) => refused(&state, ctx, id, e, Rerender { reject_reason: reason, ..Default::default() }).await,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleForm {
    #[serde(default)]
    version: String,
    /// `YYYY-MM-DDTHH:MM` from a datetime-local input, in the brand's time zone; empty clears.
    #[serde(default)]
    at: String,
}

pub async fn schedule(State(state): State<AppState>, ctx: WsCtx, form: CsrfForm<ScheduleForm>) -> PageResult {
    let id: PostId = ctx.id("id")?;
    let f = form.data;
    let again = |errors| Rerender { errors, schedule_value: Some(f.at.clone()), ..Default::default() };
    let version = match parse_version(&f.version) {
        Ok(v) => v,
        Err(errors) => return editor_page(&state, ctx, id, StatusCode::UNPROCESSABLE_ENTITY, again(errors)).await,
    };
    let at = match f.at.trim() {
        "" => None,
        raw => match raw.parse::<civil::DateTime>() {
            Ok(dt) => Some(dt),
            Err(_) => {
                let errors = one_error("at", "must be a date and time such as 2026-05-01T09:00");
                return editor_page(&state, ctx, id, StatusCode::UNPROCESSABLE_ENTITY, again(errors)).await;
            }
        },
    };
    match state.services.schedule_post(&ctx.actor, id, version, at).await {
        Ok(_) => done(&ctx, id, "post_scheduled"),
        Err(e) => refused(&state, ctx, id, e, again(vec![])).await,
    }
}

pub async fn delete(State(state): State<AppState>, ctx: WsCtx, _form: CsrfForm<Empty>) -> PageResult {
    let id: PostId = ctx.id("id")?;
    match state.services.delete_post(&ctx.actor, id).await {
        Ok(()) => Ok(redirect_msg(&format!("{}/posts", ctx.ws_path()), "post_deleted")),
        Err(e) => refused(&state, ctx, id, e, Rerender::default()).await,
    }
}
