//! The calendar: scheduled and published posts by day, as a month, a week or a day.
//!
//! Each post sits at its own brand's local time ("Monday 09:00 in Berlin" is on Monday however
//! the viewer's clock reads): that is when its audience sees it, and the time its schedule was
//! set in. A workspace has no time zone of its own; with a brand filter (or brands that share
//! one zone) the page names that zone, otherwise each time carries its zone's abbreviation.
//!
//! Fast for busy workspaces: the database counts each day's posts (from an index, never
//! reading their content) and returns only the first few of each day (three in the month
//! view, twelve in the week view, all in the day view, with "+ 37 more" linking from one to
//! the next); only those shown get their excerpt and publications read, one query each. Week
//! and day views carry a small form per post to pick a new time; published, failed and
//! unconfirmed posts show their status per network with the permalink or the reason, linking
//! to the editor's publishing section for a retry. With JavaScript (/static/calendar.js), the
//! posts that may move can also be dragged onto another day or hour: the drop posts the same
//! reschedule form.

use super::posts::{BrandOption, state_class};
use super::publishing::{PublicationRow, rows};
use super::review::{all_brands, brand_options, parse_brand};
use super::{Chrome, FieldError, FormOutcome, PageError, PageResult, WsCtx, form_outcome, one_error, render};
use crate::AppState;
use crate::session::CsrfForm;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use jiff::civil::{self, Date};
use jiff::tz::TimeZone;
use jiff::{ToSpan, Zoned};
use nanopost_domain::brand::Brand;
use nanopost_domain::ids::{BrandId, PostId};
use nanopost_domain::post::PostState;
use nanopost_domain::role::Permission;
use nanopost_storage::{CalendarDetail, CalendarEntry, DayWindow};
use serde::Deserialize;
use std::collections::HashMap;

/// Posts shown per day before "+ N more": the month view keeps cells small, the week view
/// shows a working day's worth, the day view shows everything.
const MONTH_PER_DAY: u32 = 3;
const WEEK_PER_DAY: u32 = 12;
/// The day view shows everything up to this many (then: filter by brand).
const DAY_MAX: u32 = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Month,
    Week,
    Day,
}

impl View {
    fn parse(s: &str) -> Option<View> {
        match s {
            "month" => Some(View::Month),
            "week" => Some(View::Week),
            "day" => Some(View::Day),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            View::Month => "month",
            View::Week => "week",
            View::Day => "day",
        }
    }

    fn per_day(self) -> u32 {
        match self {
            View::Month => MONTH_PER_DAY,
            View::Week => WEEK_PER_DAY,
            View::Day => DAY_MAX,
        }
    }
}

/// The days a view covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub view: View,
    pub date: Date,
    pub first: Date,
    pub last: Date,
}

impl Period {
    pub fn of(view: View, date: Date) -> Period {
        let (first, last) = match view {
            View::Month => (date.first_of_month(), date.last_of_month()),
            View::Week => {
                let monday = date.saturating_sub(i64::from(date.weekday().to_monday_zero_offset()).days());
                (monday, monday.saturating_add(6.days()))
            }
            View::Day => (date, date),
        };
        Period { view, date, first, last }
    }

    fn previous(&self) -> Date {
        match self.view {
            View::Month => self.first.saturating_sub(1.month()),
            View::Week => self.first.saturating_sub(7.days()),
            View::Day => self.date.saturating_sub(1.day()),
        }
    }

    fn next(&self) -> Date {
        match self.view {
            View::Month => self.first.saturating_add(1.month()),
            View::Week => self.first.saturating_add(7.days()),
            View::Day => self.date.saturating_add(1.day()),
        }
    }

    fn title(&self) -> String {
        match self.view {
            View::Month => self.first.strftime("%B %Y").to_string(),
            View::Week => format!("Week of {}", self.first.strftime("%a %-d %b %Y")),
            View::Day => self.date.strftime("%A %-d %B %Y").to_string(),
        }
    }
}

/// The `view` and `date` parameters: a clear 400 for anything else.
pub fn parse_view(raw: Option<&str>) -> Result<View, PageError> {
    match raw.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(View::Month),
        Some(v) => View::parse(v).ok_or_else(|| {
            PageError::bad_request("The calendar view must be month, week or day (for example ?view=week).")
        }),
    }
}

pub fn parse_date(raw: Option<&str>) -> Result<Option<Date>, PageError> {
    let Some(raw) = raw.map(str::trim).filter(|d| !d.is_empty()) else { return Ok(None) };
    let bad = || PageError::bad_request("The date must be a day written like 2026-06-01.");
    let shaped = raw.len() == 10 && raw.as_bytes()[4] == b'-' && raw.as_bytes()[7] == b'-';
    let date: Date = if shaped { raw.parse().map_err(|_| bad())? } else { return Err(bad()) };
    if !(1900..=9000).contains(&date.year()) {
        return Err(PageError::bad_request("The date must be between the years 1900 and 9000."));
    }
    Ok(Some(date))
}

// ---------------------------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------------------------

pub struct CalItem {
    pub id: String,
    /// "09:00", with the zone's abbreviation when the page mixes zones.
    pub time: String,
    pub brand: String,
    pub state: &'static str,
    pub state_class: &'static str,
    pub excerpt: String,
    pub networks: String,
    pub publications: Vec<PublicationRow>,
    pub can_reschedule: bool,
    pub version: i64,
    /// The datetime-local value of the reschedule form, in the brand's zone.
    pub at_value: String,
    pub timezone: String,
    /// Failed or unconfirmed: the editor's publishing section says why and offers a retry.
    pub needs_attention: bool,
}

pub struct CalDay {
    pub date: String,
    /// The day of the month (month view) or "Mon 1 Jun" (week view).
    pub label: String,
    pub in_period: bool,
    pub today: bool,
    pub items: Vec<CalItem>,
    pub total: usize,
    pub more: usize,
    /// Failed or unconfirmed posts of the day (shown even when not among the first few).
    pub problems: usize,
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct CalendarPage {
    chrome: Chrome,
    ws: String,
    csrf: String,
    view: &'static str,
    date: String,
    title: String,
    zone_note: String,
    brand: String,
    brands: Vec<BrandOption>,
    /// Each item names its brand (several brands on the page).
    show_brand: bool,
    /// Month: rows of seven days. Week: one row. Day: one row of one.
    weeks: Vec<Vec<CalDay>>,
    prev_date: String,
    next_date: String,
    today: String,
    total: u64,
    errors: Vec<FieldError>,
    /// The viewer may move posts: the page carries the drag-and-drop form and script.
    can_move: bool,
}

impl CalendarPage {
    /// A link to this calendar with another view or date (the brand filter kept).
    fn link(&self, view: &str, date: &str) -> String {
        let mut q = vec![("view", view), ("date", date)];
        if !self.brand.is_empty() {
            q.push(("brand", self.brand.as_str()));
        }
        format!("{}/calendar?{}", self.ws, serde_urlencoded::to_string(q).unwrap_or_default())
    }
}

pub async fn page(State(state): State<AppState>, ctx: WsCtx) -> PageResult {
    let view = parse_view(ctx.query_value("view").as_deref())?;
    let date = parse_date(ctx.query_value("date").as_deref())?;
    let brands = all_brands(&state, &ctx).await?;
    let brand = parse_brand(ctx.query_value("brand").as_deref(), &brands)?;
    calendar_page(&state, ctx, brands, brand, view, date, StatusCode::OK, vec![]).await
}

/// The zone the page's "today" and headings are read in: the brand's, or the one zone all
/// brands share; UTC when they differ (each post still sits at its own brand's local time).
/// Per day: (scheduled, published) counts and the first entries shown.
type DayBucket = (u64, u64, Vec<(Zoned, CalendarEntry)>);

fn display_zone(brands: &[Brand], brand: Option<BrandId>) -> (TimeZone, String, bool) {
    let zone_of = |b: &Brand| b.profile.timezone.clone();
    let chosen: Vec<String> = match brand {
        Some(id) => brands.iter().filter(|b| b.id == id).map(zone_of).collect(),
        None => brands.iter().map(zone_of).collect(),
    };
    let mut distinct = chosen.clone();
    distinct.sort();
    distinct.dedup();
    match distinct.as_slice() {
        [one] => {
            let tz = TimeZone::get(one).unwrap_or(TimeZone::UTC);
            (tz, format!("Times are in {one}, the brand's time zone."), false)
        }
        [] => (TimeZone::UTC, "Times are in UTC.".into(), false),
        _ => (
            TimeZone::UTC,
            "Each post is shown at its brand's local time (the zone is named after the time); days and “today” follow UTC."
                .into(),
            true,
        ),
    }
}

#[allow(clippy::too_many_arguments)]
async fn calendar_page(
    state: &AppState,
    ctx: WsCtx,
    brands: Vec<Brand>,
    brand: Option<BrandId>,
    view: View,
    date: Option<Date>,
    status: StatusCode,
    errors: Vec<FieldError>,
) -> PageResult {
    let s = &state.services;
    let (display_tz, zone_note, mixed) = display_zone(&brands, brand);
    let today = s.now().to_zoned(display_tz.clone()).date();
    let period = Period::of(view, date.unwrap_or(today));

    // Each post on its local day in its brand's zone: the brands grouped by zone (usually
    // one group), and the database counts each group by that zone's days.
    let zones: HashMap<BrandId, (TimeZone, &Brand)> =
        brands.iter().map(|b| (b.id, (TimeZone::get(&b.profile.timezone).unwrap_or(TimeZone::UTC), b))).collect();
    let mut groups: Vec<(&str, Vec<BrandId>)> = Vec::new();
    for b in brands.iter().filter(|b| brand.is_none_or(|id| id == b.id)) {
        match groups.iter_mut().find(|g| g.0 == b.profile.timezone) {
            Some(g) => g.1.push(b.id),
            None => groups.push((&b.profile.timezone, vec![b.id])),
        }
    }
    // Every brand of the workspace in one zone: no brand list needed.
    let whole_workspace = brand.is_none() && groups.len() == 1;
    let per_day = view.per_day();
    let days_len = usize::try_from((period.last - period.first).get_days()).unwrap_or(0) + 1;
    let mut by_day: Vec<DayBucket> = vec![(0, 0, Vec::new()); days_len];
    for (zone, ids) in &groups {
        let tz = TimeZone::get(zone).unwrap_or(TimeZone::UTC);
        let windows = day_windows(&period, &tz).ok_or_else(|| PageError::bad_request("That date is out of range."))?;
        let filter = if whole_workspace { None } else { Some(ids.as_slice()) };
        let counted = s.calendar_days(&ctx.actor, filter, &windows, per_day).await?;
        for (day, got) in by_day.iter_mut().zip(counted) {
            day.0 += got.total;
            day.1 += got.problems;
            day.2.extend(got.first.into_iter().map(|e| (e.at.to_zoned(tz.clone()), e)));
        }
    }
    for day in &mut by_day {
        day.2.sort_by(|a, b| a.0.datetime().cmp(&b.0.datetime()).then(a.1.at.cmp(&b.1.at)));
        day.2.truncate(usize::try_from(per_day).unwrap_or(usize::MAX));
    }
    let total: u64 = by_day.iter().map(|d| d.0).sum();

    // Details and publications of the shown posts only.
    let shown: Vec<PostId> = by_day.iter().flat_map(|d| d.2.iter().map(|(_, e)| e.post_id)).collect();
    let details: HashMap<PostId, CalendarDetail> =
        s.calendar_details(&ctx.actor, &shown).await?.into_iter().map(|d| (d.post_id, d)).collect();
    let went_out: Vec<PostId> = by_day
        .iter()
        .flat_map(|d| d.2.iter())
        .filter(|(_, e)| {
            matches!(e.state, PostState::Publishing | PostState::Published | PostState::Failed | PostState::Unconfirmed)
        })
        .map(|(_, e)| e.post_id)
        .collect();
    let mut by_post: HashMap<PostId, Vec<nanopost_storage::Publication>> = HashMap::new();
    for p in s.calendar_publications(&ctx.actor, &went_out).await? {
        by_post.entry(p.post_id).or_default().push(p);
    }
    let mut publications: HashMap<PostId, Vec<PublicationRow>> =
        by_post.into_iter().map(|(id, list)| (id, rows(&list))).collect();

    let can_edit = ctx.actor.can(Permission::EditContent);
    let mut calendar_days: Vec<CalDay> = Vec::with_capacity(days_len);
    for (offset, (total, problems, first)) in by_day.into_iter().enumerate() {
        let date = period.first.saturating_add(i64::try_from(offset).unwrap_or(0).days());
        let total = usize::try_from(total).unwrap_or(usize::MAX);
        let problems = usize::try_from(problems).unwrap_or(usize::MAX);
        let items: Vec<CalItem> = first
            .into_iter()
            .map(|(local, e)| {
                let brand = zones.get(&e.brand_id).map(|z| z.1);
                let detail = details.get(&e.post_id);
                let time =
                    if mixed { local.strftime("%H:%M %Z").to_string() } else { local.strftime("%H:%M").to_string() };
                CalItem {
                    id: e.post_id.to_string(),
                    time,
                    brand: brand.map(|b| b.profile.name.clone()).unwrap_or_default(),
                    state: e.state.label(),
                    state_class: state_class(e.state),
                    excerpt: detail.map(|d| d.excerpt.clone()).unwrap_or_default(),
                    networks: detail
                        .map(|d| d.networks.iter().map(|n| n.label()).collect::<Vec<_>>().join(", "))
                        .unwrap_or_default(),
                    publications: publications.remove(&e.post_id).unwrap_or_default(),
                    // Failed and unconfirmed posts are retried from the editor first (it shows why).
                    can_reschedule: can_edit
                        && matches!(
                            e.state,
                            PostState::Draft | PostState::PendingReview | PostState::Approved | PostState::Scheduled
                        ),
                    version: detail.map_or(0, |d| d.version),
                    at_value: local.strftime("%Y-%m-%dT%H:%M").to_string(),
                    timezone: brand.map(|b| b.profile.timezone.clone()).unwrap_or_default(),
                    needs_attention: matches!(e.state, PostState::Failed | PostState::Unconfirmed),
                }
            })
            .collect();
        calendar_days.push(CalDay {
            date: date.to_string(),
            label: match view {
                View::Month => date.day().to_string(),
                _ => date.strftime("%a %-d %b").to_string(),
            },
            in_period: true,
            today: date == today,
            more: total - items.len(),
            items,
            total,
            problems,
        });
    }

    // The month grid starts on a Monday and ends on a Sunday.
    let weeks = match view {
        View::Month => {
            let lead = usize::from(period.first.weekday().to_monday_zero_offset().unsigned_abs());
            let mut cells: Vec<CalDay> = (0..lead)
                .rev()
                .map(|k| outside_day(period.first.saturating_sub(i64::try_from(k + 1).unwrap_or(0).days())))
                .collect();
            cells.extend(calendar_days);
            let mut next = period.last;
            while !cells.len().is_multiple_of(7) {
                next = next.saturating_add(1.day());
                cells.push(outside_day(next));
            }
            let mut weeks = Vec::new();
            let mut it = cells.into_iter().peekable();
            while it.peek().is_some() {
                weeks.push(it.by_ref().take(7).collect());
            }
            weeks
        }
        _ => vec![calendar_days],
    };

    let page = CalendarPage {
        ws: ctx.ws_path(),
        csrf: ctx.chrome.csrf.clone(),
        view: view.as_str(),
        date: period.date.to_string(),
        title: period.title(),
        zone_note,
        brand: brand.map(|b| b.to_string()).unwrap_or_default(),
        show_brand: brand.is_none() && brands.len() > 1,
        brands: brand_options(&brands, brand),
        weeks,
        prev_date: period.previous().to_string(),
        next_date: period.next().to_string(),
        today: today.to_string(),
        total,
        errors,
        can_move: can_edit,
        chrome: ctx.chrome,
    };
    Ok(render(status, &page))
}

/// The period's days as instants in `tz`: each from its local midnight (or the first instant
/// after it, when a DST jump skips midnight) to the next day's.
fn day_windows(period: &Period, tz: &TimeZone) -> Option<Vec<DayWindow>> {
    let start = |d: Date| d.to_zoned(tz.clone()).ok().map(|z| z.timestamp());
    let days = (period.last - period.first).get_days();
    (0..=days)
        .map(|k| {
            let d = period.first.checked_add(i64::from(k).days()).ok()?;
            Some(DayWindow { start: start(d)?, end: start(d.checked_add(1.day()).ok()?)? })
        })
        .collect()
}

fn outside_day(date: Date) -> CalDay {
    CalDay {
        date: date.to_string(),
        label: date.day().to_string(),
        in_period: false,
        today: false,
        items: vec![],
        total: 0,
        more: 0,
        problems: 0,
    }
}

// ---------------------------------------------------------------------------------------------
// Rescheduling from the calendar
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RescheduleForm {
    #[serde(default)]
    version: String,
    /// `YYYY-MM-DDTHH:MM` in the brand's time zone.
    #[serde(default)]
    at: String,
    // Where to come back to.
    #[serde(default)]
    view: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    brand: String,
}

/// Picks a new time for a post (the schedule use case: the approval stands when only the time
/// changes) and comes back to the same calendar page.
pub async fn reschedule(State(state): State<AppState>, ctx: WsCtx, form: CsrfForm<RescheduleForm>) -> PageResult {
    let id: PostId = ctx.id("id")?;
    let f = form.data;
    // The way back is rebuilt from parsed values only; anything odd falls back to the default.
    let view = View::parse(f.view.trim()).unwrap_or(View::Month);
    let date = parse_date(Some(&f.date)).ok().flatten();
    let brand_id: Option<BrandId> = f.brand.trim().parse().ok();
    let result = match (f.version.trim().parse::<i64>(), f.at.trim().parse::<civil::DateTime>()) {
        (Err(_), _) => Err(one_error("version", "is missing or not a number; reload the page")),
        (_, Err(_)) => Err(one_error("at", "must be a date and time such as 2026-05-01T09:00")),
        (Ok(version), Ok(at)) => Ok(state.services.schedule_post(&ctx.actor, id, version, Some(at)).await),
    };
    let errors = match result {
        Ok(Ok(_)) => {
            let mut q = vec![("view", view.as_str().to_owned()), ("msg", "post_scheduled".to_owned())];
            if let Some(d) = date {
                q.push(("date", d.to_string()));
            }
            if let Some(b) = brand_id {
                q.push(("brand", b.to_string()));
            }
            let query = serde_urlencoded::to_string(q).unwrap_or_default();
            return Ok(Redirect::to(&format!("{}/calendar?{query}#post-{id}", ctx.ws_path())).into_response());
        }
        Ok(Err(e)) => match form_outcome(e) {
            FormOutcome::Rerender(status, errors) => (status, errors),
            FormOutcome::Page(p) => return Err(p),
        },
        Err(errors) => (StatusCode::UNPROCESSABLE_ENTITY, errors),
    };
    let brands = all_brands(&state, &ctx).await?;
    let brand = brand_id.filter(|b| brands.iter().any(|x| x.id == *b));
    calendar_page(&state, ctx, brands, brand, view, date, errors.0, errors.1).await
}
