//! What the calendar reads: posts placed by time, with only the columns a month grid needs,
//! and the few details of the posts it actually shows.

use jiff::Timestamp;
use nanopost_domain::ids::{BrandId, PostId};
use nanopost_domain::network::Network;
use nanopost_domain::post::PostState;

/// One post on the calendar: enough to count it on its day and draw its pill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarEntry {
    pub post_id: PostId,
    pub brand_id: BrandId,
    pub state: PostState,
    /// Its schedule's instant (for a published post: when it was due to go out).
    pub at: Timestamp,
}

/// One day of a calendar: its bounds as instants, `[start, end)` (a local day in some time
/// zone: 23 or 25 hours long across a DST change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayWindow {
    pub start: Timestamp,
    pub end: Timestamp,
}

/// What the database counted for one day, and the first posts of it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DayPosts {
    /// Every post of the day (archived ones left out).
    pub total: u64,
    /// Failed or unconfirmed posts of the day: a person should look.
    pub problems: u64,
    /// The earliest posts of the day, at most the `per_day` asked for, earliest first.
    pub first: Vec<CalendarEntry>,
}

/// What a shown calendar item needs beyond its [`CalendarEntry`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarDetail {
    pub post_id: PostId,
    /// The start of the first variant's caption (at most [`CalendarDetail::EXCERPT_CHARS`]).
    pub excerpt: String,
    pub networks: Vec<Network>,
    /// For the reschedule form (the schedule route checks it).
    pub version: i64,
}

impl CalendarDetail {
    pub const EXCERPT_CHARS: u32 = 120;
}

/// How a queue placement chooses, from the times a brand's posts hold: the post with its new
/// time and, when the queue is in the database, its publish job; `None` to write nothing.
/// See `Repo::place_post_in_slot`.
pub type SlotChoice<'a> =
    dyn Fn(&[CalendarEntry]) -> Option<(nanopost_domain::post::Post, Option<crate::NewJob>)> + Sync + 'a;
