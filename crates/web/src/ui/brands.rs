//! Brand profiles: list, create, edit every field, delete.

use super::auth::Empty;
use super::workspace::{BrandRow, brand_row};
use super::{Chrome, FieldError, FormOutcome, PageResult, WsCtx, fmt_ts, form_outcome, lines, redirect_msg, render};
use crate::AppState;
use crate::session::CsrfForm;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use nanopost_domain::brand::{Brand, BrandInput};
use nanopost_domain::ids::{BrandId, MediaId};
use nanopost_domain::role::Permission;
use nanopost_storage::PageRequest;
use serde::Deserialize;
use uuid::Uuid;

#[derive(Template)]
#[template(path = "brands.html")]
struct BrandsPage {
    chrome: Chrome,
    ws: String,
    brands: Vec<BrandRow>,
    can_edit: bool,
    next: Option<String>,
}

pub async fn list(State(state): State<AppState>, ctx: WsCtx) -> PageResult {
    let after = ctx.query_value("after").and_then(|a| a.parse::<Uuid>().ok());
    let page = state.services.brands(&ctx.actor, PageRequest { limit: 50, after }).await?;
    let p = BrandsPage {
        ws: ctx.ws_path(),
        brands: page.items.iter().map(brand_row).collect(),
        can_edit: ctx.actor.can(Permission::EditContent),
        next: page.next.map(|n| n.to_string()),
        chrome: ctx.chrome,
    };
    Ok(render(StatusCode::OK, &p))
}

/// The brand form as typed: every field is text, lists one per line, so that nothing a person
/// can type makes the form unreadable; numbers are parsed here with a message.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BrandForm {
    pub name: String,
    pub description: String,
    pub voice: String,
    pub audience: String,
    pub language: String,
    pub timezone: String,
    pub topics: String,
    pub avoid_words: String,
    pub avoid_claims: String,
    pub hashtags: String,
    pub colors: String,
    pub logo: String,
    pub posts_per_week: String,
    pub slots: String,
    pub competitors: String,
    /// Minutes a post may still go out late; empty: the installation's setting.
    pub late_tolerance_minutes: String,
}

impl BrandForm {
    fn from_brand(b: &Brand) -> Self {
        let i = BrandInput::from(&b.profile);
        BrandForm {
            name: i.name,
            description: i.description,
            voice: i.voice,
            audience: i.audience,
            language: i.language,
            timezone: i.timezone,
            topics: i.topics.join("\n"),
            avoid_words: i.avoid_words.join("\n"),
            avoid_claims: i.avoid_claims.join("\n"),
            hashtags: i.hashtags.iter().map(|h| format!("#{h}")).collect::<Vec<_>>().join("\n"),
            colors: i.colors.join("\n"),
            logo: i.logo.map(|l| l.to_string()).unwrap_or_default(),
            posts_per_week: i.posts_per_week.to_string(),
            slots: i.slots.join("\n"),
            competitors: i.competitors.join("\n"),
            late_tolerance_minutes: i.late_tolerance_minutes.map(|m| m.to_string()).unwrap_or_default(),
        }
    }

    /// The domain's input, or the fields that are not even of the right kind.
    fn to_input(&self) -> Result<BrandInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let ppw = self.posts_per_week.trim();
        let posts_per_week = if ppw.is_empty() {
            0
        } else {
            ppw.parse::<u8>().unwrap_or_else(|_| {
                errors.extend(super::one_error(
                    "posts_per_week",
                    format!("{ppw:?} is not a whole number between 0 and 70"),
                ));
                0
            })
        };
        let late_tolerance_minutes = match self.late_tolerance_minutes.trim() {
            "" => None,
            m => match m.parse::<u32>() {
                Ok(m) => Some(m),
                Err(_) => {
                    errors.extend(super::one_error(
                        "late_tolerance_minutes",
                        format!("{m:?} is not a number of minutes (or leave it empty)"),
                    ));
                    None
                }
            },
        };
        let logo = match self.logo.trim() {
            "" => None,
            l => match l.parse::<MediaId>() {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.extend(super::one_error("logo", "must be the id of an uploaded image, or empty"));
                    None
                }
            },
        };
        // Hashtags and colours are often typed on one line: split on spaces and commas too.
        let words = |s: &str| -> Vec<String> {
            s.split(|c: char| c.is_whitespace() || c == ',').filter(|w| !w.is_empty()).map(str::to_owned).collect()
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(BrandInput {
            name: self.name.clone(),
            description: self.description.clone(),
            voice: self.voice.clone(),
            audience: self.audience.clone(),
            language: self.language.clone(),
            timezone: self.timezone.clone(),
            topics: lines(&self.topics),
            avoid_words: lines(&self.avoid_words),
            avoid_claims: lines(&self.avoid_claims),
            hashtags: words(&self.hashtags),
            colors: words(&self.colors),
            logo,
            posts_per_week,
            slots: lines(&self.slots),
            late_tolerance_minutes,
            competitors: lines(&self.competitors),
        })
    }
}

#[derive(Template)]
#[template(path = "brand_form.html")]
struct BrandFormPage {
    chrome: Chrome,
    ws: String,
    csrf: String,
    /// `None` for a new brand.
    brand_id: Option<String>,
    form: BrandForm,
    errors: Vec<FieldError>,
    can_edit: bool,
    updated: String,
}

fn form_page(ctx: WsCtx, brand: Option<&Brand>, form: BrandForm, errors: Vec<FieldError>) -> BrandFormPage {
    BrandFormPage {
        ws: ctx.ws_path(),
        csrf: ctx.chrome.csrf.clone(),
        brand_id: brand.map(|b| b.id.to_string()),
        form,
        errors,
        can_edit: ctx.actor.can(Permission::EditContent),
        updated: brand.map(|b| fmt_ts(b.updated_at)).unwrap_or_default(),
        chrome: ctx.chrome,
    }
}

pub async fn new_page(ctx: WsCtx) -> PageResult {
    ctx.actor.require(Permission::EditContent)?;
    let form =
        BrandForm { language: "en".into(), timezone: "UTC".into(), posts_per_week: "3".into(), ..Default::default() };
    Ok(render(StatusCode::OK, &form_page(ctx, None, form, vec![])))
}

pub async fn create(State(state): State<AppState>, ctx: WsCtx, form: CsrfForm<BrandForm>) -> PageResult {
    let f = form.data;
    let input = match f.to_input() {
        Ok(i) => i,
        Err(errors) => return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &form_page(ctx, None, f, errors))),
    };
    match state.services.create_brand(&ctx.actor, &input).await {
        Ok(b) => Ok(redirect_msg(&format!("{}/brands/{}", ctx.ws_path(), b.id), "brand_created")),
        Err(e) => match form_outcome(e) {
            FormOutcome::Rerender(status, errors) => Ok(render(status, &form_page(ctx, None, f, errors))),
            FormOutcome::Page(p) => Err(p),
        },
    }
}

pub async fn edit_page(State(state): State<AppState>, ctx: WsCtx) -> PageResult {
    let id: BrandId = ctx.id("id")?;
    let brand = state.services.brand(&ctx.actor, id).await?;
    let form = BrandForm::from_brand(&brand);
    Ok(render(StatusCode::OK, &form_page(ctx, Some(&brand), form, vec![])))
}

pub async fn update(State(state): State<AppState>, ctx: WsCtx, form: CsrfForm<BrandForm>) -> PageResult {
    let id: BrandId = ctx.id("id")?;
    let f = form.data;
    let brand = state.services.brand(&ctx.actor, id).await?;
    let input = match f.to_input() {
        Ok(i) => i,
        Err(errors) => return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &form_page(ctx, Some(&brand), f, errors))),
    };
    match state.services.update_brand(&ctx.actor, id, &input).await {
        Ok(b) => Ok(redirect_msg(&format!("{}/brands/{}", ctx.ws_path(), b.id), "brand_saved")),
        Err(e) => match form_outcome(e) {
            FormOutcome::Rerender(status, errors) => Ok(render(status, &form_page(ctx, Some(&brand), f, errors))),
            FormOutcome::Page(p) => Err(p),
        },
    }
}

pub async fn delete(State(state): State<AppState>, ctx: WsCtx, _form: CsrfForm<Empty>) -> PageResult {
    let id: BrandId = ctx.id("id")?;
    state.services.delete_brand(&ctx.actor, id).await?;
    Ok(redirect_msg(&format!("{}/brands", ctx.ws_path()), "brand_deleted"))
}
