//! When the drafts of a plan should go out: the brand's weekly queue slots (`mon 09:00`, in its
//! time zone) over the coming week or month, with the drafts spread evenly over them. These
//! are *suggestions* shown to the reviewer; nothing is scheduled before a person approves.
//!
//! Wall-clock times are kept as the brand means them ("09:00 in Berlin") and turned into
//! instants with the same rule as a schedule ([`Schedule::instant`]): across a DST change the
//! slot stays at 09:00 local, so its UTC time moves by the hour.

use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};
use nanopost_domain::brand::{Cadence, WEEKDAYS};
use nanopost_domain::post::Schedule;
use nanopost_domain::slots::{WeeklySlot, occurrences};
use serde::{Deserialize, Serialize};

/// How far a plan reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// The next seven days.
    Week,
    /// The next calendar month's worth of days (from today to the same day next month).
    Month,
}

impl Period {
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Week => "week",
            Period::Month => "month",
        }
    }

    pub fn parse(s: &str) -> Option<Period> {
        match s.trim() {
            "week" => Some(Period::Week),
            "month" => Some(Period::Month),
            _ => None,
        }
    }
}

/// Used when the brand has no queue slots: 10:00 on days spread over the week.
const DEFAULT_SLOT_TIME: &str = "10:00";
/// Posts a week assumed when the brand set no cadence.
const DEFAULT_POSTS_PER_WEEK: u8 = 3;

/// The brand's weekly slots (`mon 09:00`); made up from `posts_per_week` when it has none.
fn weekly_slots(cadence: &Cadence) -> Vec<String> {
    let valid: Vec<String> = cadence.slots.iter().filter(|s| WeeklySlot::parse(s).is_some()).cloned().collect();
    if !valid.is_empty() {
        return valid;
    }
    let per_week = if cadence.posts_per_week == 0 { DEFAULT_POSTS_PER_WEEK } else { cadence.posts_per_week.min(7) };
    let per_week = usize::from(per_week);
    (0..per_week).map(|k| format!("{} {DEFAULT_SLOT_TIME}", WEEKDAYS[k * 7 / per_week])).collect()
}

/// How many posts a plan of `period` has when the person does not say: the cadence's posts a
/// week (or its slot count), four times over for a month.
pub fn default_count(cadence: &Cadence, period: Period) -> usize {
    let per_week = match cadence.posts_per_week {
        0 => weekly_slots(cadence).len(),
        n => usize::from(n),
    };
    match period {
        Period::Week => per_week.max(1),
        Period::Month => (per_week * 4).max(1),
    }
}

/// Every slot occurrence after `now` within `period` (its end included), earliest first. The
/// occurrences are the queue's own ([`nanopost_domain::slots::occurrences`]).
pub fn slot_times(cadence: &Cadence, timezone: &str, now: Timestamp, period: Period) -> Vec<Schedule> {
    let Ok(tz) = TimeZone::get(timezone) else { return vec![] };
    let start: Zoned = now.to_zoned(tz);
    let (end, weeks) = match period {
        Period::Week => (start.checked_add(7.days()), 2),
        Period::Month => (start.checked_add(1.month()), 6),
    };
    let Ok(end) = end else { return vec![] };
    occurrences(&weekly_slots(cadence), timezone, now, weeks)
        .into_iter()
        // Up to and including the same moment a period later.
        .filter(|s| s.instant() <= end.timestamp())
        .collect()
}

/// `count` suggested times spread evenly over the period's slots; an error sentence when the
/// cadence has fewer slots in the period than posts asked for.
pub fn suggested_times(
    cadence: &Cadence,
    timezone: &str,
    now: Timestamp,
    period: Period,
    count: usize,
) -> Result<Vec<Schedule>, String> {
    let slots = slot_times(cadence, timezone, now, period);
    if count > slots.len() {
        return Err(format!(
            "the brand's cadence has {} queue slots in the coming {}; ask for at most that many posts, or add slots to the brand",
            slots.len(),
            period.as_str()
        ));
    }
    Ok((0..count).map(|i| slots[i * slots.len() / count].clone()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{self, Weekday};

    fn cadence(slots: &[&str], per_week: u8) -> Cadence {
        Cadence {
            posts_per_week: per_week,
            slots: slots.iter().map(|s| s.to_string()).collect(),
            late_tolerance_minutes: None,
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn slots_keep_their_local_time_across_a_dst_change() {
        // Thursday 26 March 2026, noon in Berlin; clocks go forward on Sunday the 29th.
        let now = at("2026-03-26T11:00:00Z");
        let c = cadence(&["fri 09:00", "mon 09:00"], 2);
        let times = slot_times(&c, "Europe/Berlin", now, Period::Week);
        let shown: Vec<String> = times.iter().map(|s| format!("{} {}", s.local, s.instant())).collect();
        assert_eq!(shown, vec!["2026-03-27T09:00:00 2026-03-27T08:00:00Z", "2026-03-30T09:00:00 2026-03-30T07:00:00Z"]);
    }

    #[test]
    fn drafts_are_spread_evenly_and_never_in_the_past() {
        let now = at("2026-06-01T08:30:00Z"); // Monday 10:30 in Berlin: today's 09:00 has passed.
        let c = cadence(&["mon 09:00", "wed 09:00", "fri 09:00"], 3);
        let month = slot_times(&c, "Europe/Berlin", now, Period::Month);
        assert!(month.iter().all(|s| s.instant() > now));
        assert_eq!(month.first().unwrap().local.date(), civil::date(2026, 6, 3));
        let picked = suggested_times(&c, "Europe/Berlin", now, Period::Month, 4).unwrap();
        assert_eq!(picked.len(), 4);
        assert!(picked.windows(2).all(|w| w[0].instant() < w[1].instant()));
        let gaps: Vec<i64> =
            picked.windows(2).map(|w| w[1].instant().duration_since(w[0].instant()).as_hours() / 24).collect();
        assert!(gaps.iter().all(|d| *d >= 6), "a month of 4 posts is about weekly: {gaps:?}");
        let err = suggested_times(&c, "Europe/Berlin", now, Period::Week, 5).unwrap_err();
        assert!(err.contains("3 queue slots in the coming week"), "{err}");
    }

    #[test]
    fn a_brand_without_slots_gets_days_spread_over_the_week() {
        let c = cadence(&[], 3);
        let now = at("2026-06-01T00:00:00Z");
        let week = slot_times(&c, "UTC", now, Period::Week);
        let days: Vec<Weekday> = week.iter().map(|s| s.local.weekday()).collect();
        assert_eq!(days, vec![Weekday::Monday, Weekday::Wednesday, Weekday::Friday]);
        assert!(week.iter().all(|s| s.local.hour() == 10));
        assert_eq!(default_count(&c, Period::Month), 12);
        assert_eq!(default_count(&cadence(&["tue 08:00"], 0), Period::Week), 1);
    }
}
