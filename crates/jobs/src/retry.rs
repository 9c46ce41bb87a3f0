//! What happens after a failed attempt: exponential backoff with jitter, never earlier than the
//! failure's own "retry at" (a network's Retry-After or "back off until"), and the dead letters
//! once the attempts are spent or the error is permanent. The one place for this rule.

use jiff::{SignedDuration, Timestamp};
use nanopost_storage::Job;
use std::time::Duration;

/// A failed attempt, as the job's handler reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError {
    /// Kept on the job (the last one survives into the dead letters). Never a secret.
    pub message: String,
    /// Not before this instant (e.g. from a 429's Retry-After).
    pub retry_at: Option<Timestamp>,
    /// Retrying cannot help (bad input, revoked access): straight to the dead letters.
    pub permanent: bool,
}

impl JobError {
    pub fn retry(message: impl Into<String>) -> Self {
        Self { message: message.into(), retry_at: None, permanent: false }
    }
    pub fn retry_at(message: impl Into<String>, at: Timestamp) -> Self {
        Self { message: message.into(), retry_at: Some(at), permanent: false }
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        Self { message: message.into(), retry_at: None, permanent: true }
    }
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// The delay after the first failure.
    pub base: Duration,
    /// Each further failure multiplies the delay by this.
    pub factor: f64,
    /// The delay never exceeds this (before the failure's own "retry at").
    pub max: Duration,
    /// Fraction of the delay that is random (0 = none, 1 = anywhere between 0 and the delay),
    /// so that jobs that failed together do not come back together.
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { base: Duration::from_secs(5), factor: 2.0, max: Duration::from_secs(3600), jitter: 0.25 }
    }
}

/// What to do with a job after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    RetryAt(Timestamp),
    DeadLetter,
}

impl RetryPolicy {
    /// The delay after `failures` failed attempts (1 for the first), for a random draw `unit`
    /// in `[0, 1)`: between `(1 - jitter) × d` and `d`, where `d = base × factor^(failures-1)`
    /// capped at `max`.
    pub fn backoff(&self, failures: u32, unit: f64) -> Duration {
        let exp = i32::try_from(failures.saturating_sub(1)).unwrap_or(i32::MAX);
        let full = (self.base.as_secs_f64() * self.factor.max(1.0).powi(exp)).min(self.max.as_secs_f64());
        let jitter = self.jitter.clamp(0.0, 1.0);
        let secs = full * (1.0 - jitter * unit.clamp(0.0, 1.0));
        Duration::try_from_secs_f64(secs).unwrap_or(self.max)
    }

    /// The decision for `job` (whose `attempts` counts the attempt that just failed).
    pub fn decide(&self, job: &Job, error: &JobError, now: Timestamp, unit: f64) -> Decision {
        if error.permanent || job.attempts >= job.max_attempts {
            return Decision::DeadLetter;
        }
        let delay = SignedDuration::try_from(self.backoff(job.attempts.max(1), unit)).unwrap_or(SignedDuration::MAX);
        let backed_off = now.checked_add(delay).unwrap_or(Timestamp::MAX);
        Decision::RetryAt(error.retry_at.map_or(backed_off, |at| at.max(backed_off)))
    }
}

/// A uniform draw in `[0, 1)` from the operating system.
pub fn random_unit() -> f64 {
    let bits = getrandom::u64().unwrap_or(0) >> 11;
    bits as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters_downwards() {
        let p = RetryPolicy { base: Duration::from_secs(1), factor: 2.0, max: Duration::from_secs(10), jitter: 0.5 };
        assert_eq!(p.backoff(1, 0.0), Duration::from_secs(1));
        assert_eq!(p.backoff(3, 0.0), Duration::from_secs(4));
        assert_eq!(p.backoff(30, 0.0), Duration::from_secs(10));
        assert_eq!(p.backoff(3, 0.999_999_999), Duration::from_secs_f64(4.0 * (1.0 - 0.5 * 0.999_999_999)));
        for _ in 0..100 {
            let d = p.backoff(2, random_unit());
            assert!(d >= Duration::from_secs(1) && d <= Duration::from_secs(2), "{d:?}");
        }
    }
}
