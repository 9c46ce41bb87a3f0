//! Failed-login counting, per account and per client address, in fixed windows.
//!
//! In-process: with several `serve` processes each keeps its own counts, so the effective limit
//! is per process. (A shared budget in the database or Redis comes with the job engine.)

use jiff::{SignedDuration, Timestamp};
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct FailureCounter {
    windows: Mutex<HashMap<String, (Timestamp, u32)>>,
}

impl FailureCounter {
    /// `Err(seconds to wait)` when `key` already failed `limit` times in the current window.
    pub fn check(&self, key: &str, limit: u32, window: SignedDuration, now: Timestamp) -> Result<(), u64> {
        let map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(key) {
            Some(&(start, count)) if count >= limit && now < start + window => {
                let wait = (start + window).duration_since(now).as_secs().max(1);
                Err(wait as u64)
            }
            _ => Ok(()),
        }
    }

    pub fn record_failure(&self, key: &str, window: SignedDuration, now: Timestamp) {
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        // Bound memory under a spray of distinct keys: drop windows that have ended.
        if map.len() > 100_000 {
            map.retain(|_, (start, _)| now < *start + window);
        }
        let entry = map.entry(key.to_owned()).or_insert((now, 0));
        if now >= entry.0 + window {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }

    pub fn clear(&self, key: &str) {
        self.windows.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_within_a_window_and_forgets_after_it() {
        let c = FailureCounter::default();
        let w = SignedDuration::from_mins(15);
        let t0 = Timestamp::UNIX_EPOCH;
        for _ in 0..3 {
            assert!(c.check("k", 3, w, t0).is_ok());
            c.record_failure("k", w, t0);
        }
        assert_eq!(c.check("k", 3, w, t0), Err(900));
        assert!(c.check("other", 3, w, t0).is_ok());
        assert!(c.check("k", 3, w, t0 + w).is_ok());
        c.clear("k");
        assert!(c.check("k", 3, w, t0).is_ok());
    }
}
