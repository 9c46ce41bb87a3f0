//! When to look for work next. There is no fixed tick: the dispatcher sleeps until the next
//! due job, is woken early when a job is enqueued (LISTEN/NOTIFY, an in-process channel or
//! Redis pub/sub), and still polls as a safety net, backing off while idle.

use jiff::{SignedDuration, Timestamp};
use nanopost_domain::post::Schedule;
use nanopost_storage::NewJob;
use std::time::Duration;

/// A job due at the instant `schedule` names in its time zone (DST included: see
/// [`Schedule::instant`]).
pub fn scheduled_job(kind: &str, payload: serde_json::Value, schedule: &Schedule, now: Timestamp) -> NewJob {
    NewJob::new(kind, payload, now).due_at(schedule.instant())
}

/// How long to sleep at `now` when the earliest due job is `next_due` and the safety poll is
/// `poll`: zero if something is due, else until it is due, but never longer than `poll`.
pub fn sleep_for(now: Timestamp, next_due: Option<Timestamp>, poll: Duration) -> Duration {
    match next_due {
        Some(due) if due <= now => Duration::ZERO,
        Some(due) => {
            let until = due.duration_since(now);
            Duration::try_from(until).unwrap_or(poll).min(poll)
        }
        None => poll,
    }
}

/// The safety-net poll interval: `min` after work was found, doubling while idle up to `max`.
#[derive(Debug, Clone)]
pub struct PollBackoff {
    min: Duration,
    max: Duration,
    current: Duration,
}

impl PollBackoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        let min = min.max(Duration::from_millis(1));
        Self { min, max: max.max(min), current: min }
    }
    pub fn reset(&mut self) {
        self.current = self.min;
    }
    /// The interval to use now; the next one is twice as long (up to `max`).
    pub fn next_interval(&mut self) -> Duration {
        let now = self.current;
        self.current = (self.current * 2).min(self.max);
        now
    }
}

/// `a - b` as a std duration, zero when negative.
pub fn until(later: Timestamp, now: Timestamp) -> Duration {
    let d: SignedDuration = later.duration_since(now);
    Duration::try_from(d).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleeps_until_due_within_the_poll() {
        let now = Timestamp::from_second(1_000).unwrap();
        let poll = Duration::from_secs(5);
        assert_eq!(sleep_for(now, None, poll), poll);
        assert_eq!(sleep_for(now, Some(now), poll), Duration::ZERO);
        assert_eq!(sleep_for(now, Some(Timestamp::from_second(999).unwrap()), poll), Duration::ZERO);
        assert_eq!(
            sleep_for(now, Some(Timestamp::from_millisecond(1_000_250).unwrap()), poll),
            Duration::from_millis(250)
        );
        assert_eq!(sleep_for(now, Some(Timestamp::from_second(9_999).unwrap()), poll), poll);
    }

    #[test]
    fn poll_backs_off_and_resets() {
        let mut p = PollBackoff::new(Duration::from_millis(10), Duration::from_millis(35));
        let seen: Vec<_> = (0..4).map(|_| p.next_interval().as_millis()).collect();
        assert_eq!(seen, [10, 20, 35, 35]);
        p.reset();
        assert_eq!(p.next_interval(), Duration::from_millis(10));
    }
}
