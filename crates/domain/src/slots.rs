//! The brand's queue: weekly slots such as `mon 09:00` in the brand's time zone, and the next
//! one still free. Pure: the caller says what is already taken.
//!
//! A slot is a wall-clock time ("09:00 in Berlin"), so across a DST change it stays at 09:00
//! local and its UTC instant moves by the hour. Instants come from [`Schedule::instant`], the
//! rule every schedule follows: a time skipped by a spring-forward jump moves forward by the
//! gap, a time that occurs twice (fall back) takes the first occurrence.

use crate::brand::WEEKDAYS;
use crate::post::Schedule;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// How far ahead the queue is searched: a year of weeks.
pub const SEARCH_WEEKS: i64 = 53;

/// One weekly slot: a weekday and a wall-clock time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeeklySlot {
    pub weekday: Weekday,
    pub hour: i8,
    pub minute: i8,
}

impl WeeklySlot {
    /// `mon 09:00` (the form brand profiles store, any case, one space); `None` otherwise.
    pub fn parse(s: &str) -> Option<WeeklySlot> {
        let (day, time) = s.trim().split_once(' ')?;
        let index = WEEKDAYS.iter().position(|d| d.eq_ignore_ascii_case(day.trim()))?;
        let (h, m) = time.trim().split_once(':')?;
        let (hour, minute): (i8, i8) = (h.parse().ok()?, m.parse().ok()?);
        let weekday = Weekday::Monday.wrapping_add(i64::try_from(index).ok()?);
        ((0..24).contains(&hour) && (0..60).contains(&minute)).then_some(WeeklySlot { weekday, hour, minute })
    }
}

/// Every occurrence of `slots` in `timezone` from the local date of `after` for `weeks` weeks,
/// strictly after `after`, earliest first. Unparsable slots are skipped; an unknown zone
/// yields nothing.
pub fn occurrences(slots: &[String], timezone: &str, after: Timestamp, weeks: i64) -> Vec<Schedule> {
    let Ok(tz) = TimeZone::get(timezone) else { return vec![] };
    let mut weekly: Vec<WeeklySlot> = slots.iter().filter_map(|s| WeeklySlot::parse(s)).collect();
    weekly.sort_by_key(|s| (s.weekday.to_monday_zero_offset(), s.hour, s.minute));
    weekly.dedup();
    if weekly.is_empty() {
        return vec![];
    }
    let start: Date = after.to_zoned(tz).date();
    let mut out = Vec::new();
    for offset in 0..weeks.saturating_mul(7) {
        let Ok(day) = start.checked_add(offset.days()) else { break };
        for s in weekly.iter().filter(|s| s.weekday == day.weekday()) {
            let Ok(schedule) = Schedule::new(day.at(s.hour, s.minute, 0, 0), timezone) else { continue };
            if schedule.instant() > after {
                out.push(schedule);
            }
        }
    }
    out
}

/// The first slot after `after` whose instant nobody has taken yet (`taken`: the instants of
/// the brand's posts that already have a time), searching [`SEARCH_WEEKS`] ahead. `None` when
/// the brand has no (valid) slots or every one in that year is taken.
pub fn next_free_slot(slots: &[String], timezone: &str, after: Timestamp, taken: &[Timestamp]) -> Option<Schedule> {
    // Times are compared to the minute: a post at 09:00:30 holds the 09:00 slot.
    let minute = |t: Timestamp| t.as_second().div_euclid(60);
    let mut taken: Vec<i64> = taken.iter().map(|t| minute(*t)).collect();
    taken.sort_unstable();
    occurrences(slots, timezone, after, SEARCH_WEEKS)
        .into_iter()
        .find(|s| taken.binary_search(&minute(s.instant())).is_err())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn slots(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    fn shown(s: &Schedule) -> String {
        format!("{} {}", s.local, s.instant())
    }

    #[test]
    fn parses_the_profile_form_only() {
        assert_eq!(WeeklySlot::parse("mon 09:00"), Some(WeeklySlot { weekday: Weekday::Monday, hour: 9, minute: 0 }));
        assert_eq!(WeeklySlot::parse("Sun 23:59").map(|s| s.weekday), Some(Weekday::Sunday));
        for bad in ["", "mon", "funday 09:00", "mon 24:00", "mon 09:60", "mon nine", "09:00 mon"] {
            assert_eq!(WeeklySlot::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_next_slot_keeps_its_local_time_across_spring_forward() {
        // Friday 27 March 2026, 13:00 in Berlin (CET, UTC+1). Clocks go forward on Sunday 29th.
        let now = at("2026-03-27T12:00:00Z");
        let next = next_free_slot(&slots(&["mon 09:00"]), "Europe/Berlin", now, &[]).unwrap();
        // 09:00 CEST is 07:00 UTC; adding 3 days of 24 hours to a UTC time would give 08:00.
        assert_eq!(shown(&next), "2026-03-30T09:00:00 2026-03-30T07:00:00Z");
    }

    #[test]
    fn the_next_slot_keeps_its_local_time_across_fall_back() {
        // Friday 23 October 2026 in Berlin (CEST); clocks go back on Sunday 25th.
        let now = at("2026-10-23T10:00:00Z");
        let next = next_free_slot(&slots(&["mon 09:00"]), "Europe/Berlin", now, &[]).unwrap();
        assert_eq!(shown(&next), "2026-10-26T09:00:00 2026-10-26T08:00:00Z");
    }

    #[test]
    fn a_slot_inside_the_gap_or_the_overlap_follows_the_schedule_rule() {
        // 02:30 on 29 March 2026 does not exist in Berlin: it moves forward by the gap.
        let now = at("2026-03-28T12:00:00Z");
        let next = next_free_slot(&slots(&["sun 02:30"]), "Europe/Berlin", now, &[]).unwrap();
        assert_eq!(shown(&next), "2026-03-29T02:30:00 2026-03-29T01:30:00Z");
        // 01:30 on 1 November 2026 happens twice in New York: the first (EDT, UTC-4) is taken.
        let now = at("2026-10-31T12:00:00Z");
        let next = next_free_slot(&slots(&["sun 01:30"]), "America/New_York", now, &[]).unwrap();
        assert_eq!(shown(&next), "2026-11-01T01:30:00 2026-11-01T05:30:00Z");
    }

    #[test]
    fn taken_slots_are_skipped_in_order() {
        // Monday 1 June 2026, 08:00 in Berlin: today's 09:00 is still ahead.
        let now = at("2026-06-01T06:00:00Z");
        let s = slots(&["wed 12:00", "mon 09:00", "mon 18:30"]);
        let first = next_free_slot(&s, "Europe/Berlin", now, &[]).unwrap();
        assert_eq!(shown(&first), "2026-06-01T09:00:00 2026-06-01T07:00:00Z");
        // A post at 09:00:30 holds the 09:00 slot; the evening one is next.
        let taken = [at("2026-06-01T07:00:30Z")];
        let next = next_free_slot(&s, "Europe/Berlin", now, &taken).unwrap();
        assert_eq!(shown(&next), "2026-06-01T18:30:00 2026-06-01T16:30:00Z");
        let taken = [at("2026-06-01T07:00:00Z"), at("2026-06-01T16:30:00Z"), at("2026-06-03T10:00:00Z")];
        let next = next_free_slot(&s, "Europe/Berlin", now, &taken).unwrap();
        assert_eq!(shown(&next), "2026-06-08T09:00:00 2026-06-08T07:00:00Z");
        // A post at another time of day does not hold a slot.
        let taken = [at("2026-06-01T07:05:00Z")];
        assert_eq!(next_free_slot(&s, "Europe/Berlin", now, &taken).unwrap(), first);
    }

    #[test]
    fn a_slot_that_passed_today_is_next_week() {
        // Monday 1 June 2026, 09:00:01 in Berlin.
        let now = at("2026-06-01T07:00:01Z");
        let next = next_free_slot(&slots(&["mon 09:00"]), "Europe/Berlin", now, &[]).unwrap();
        assert_eq!(next.local.date(), jiff::civil::date(2026, 6, 8));
    }

    #[test]
    fn no_slots_or_a_full_year_gives_none() {
        let now = at("2026-06-01T00:00:00Z");
        assert_eq!(next_free_slot(&[], "UTC", now, &[]), None);
        assert_eq!(next_free_slot(&slots(&["someday"]), "UTC", now, &[]), None);
        assert_eq!(next_free_slot(&slots(&["mon 09:00"]), "Mars/Olympus", now, &[]), None);
        let all: Vec<Timestamp> =
            occurrences(&slots(&["mon 09:00"]), "UTC", now, SEARCH_WEEKS).iter().map(Schedule::instant).collect();
        assert_eq!(all.len(), 53);
        assert_eq!(next_free_slot(&slots(&["mon 09:00"]), "UTC", now, &all), None);
    }
}
