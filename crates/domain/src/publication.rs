//! A publication: one approved post going out to one connected account. A post with three
//! targets has three publications; each ends published, failed or unconfirmed on its own, and
//! together they decide what the post becomes ([`post_outcome`]).

use crate::post::PostAction;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where one publication is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicationState {
    /// Not finished: the job engine is (or will be) working on it.
    Pending,
    Published,
    /// Did not go out; the reason is kept and a person may retry.
    Failed,
    /// The network may or may not have the post: a person checks before anything is retried.
    Unconfirmed,
}

impl PublicationState {
    pub const ALL: [PublicationState; 4] = [
        PublicationState::Pending,
        PublicationState::Published,
        PublicationState::Failed,
        PublicationState::Unconfirmed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PublicationState::Pending => "pending",
            PublicationState::Published => "published",
            PublicationState::Failed => "failed",
            PublicationState::Unconfirmed => "unconfirmed",
        }
    }

    pub fn is_final(self) -> bool {
        self != PublicationState::Pending
    }

    /// A person may ask for another attempt (a published one never goes out again: I2).
    pub fn is_retryable(self) -> bool {
        matches!(self, PublicationState::Failed | PublicationState::Unconfirmed)
    }
}

impl fmt::Display for PublicationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PublicationState {
    type Err = crate::ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PublicationState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| crate::ValidationError::new("state", format!("{s:?} is not a publication state")))
    }
}

/// What the post becomes once every publication is final; `None` while one is still pending.
/// An unconfirmed target outranks a failed one: a person must look before anything is retried.
pub fn post_outcome(states: impl IntoIterator<Item = PublicationState>) -> Option<PostAction> {
    let (mut failed, mut unconfirmed) = (false, false);
    for s in states {
        match s {
            PublicationState::Pending => return None,
            PublicationState::Published => {}
            PublicationState::Failed => failed = true,
            PublicationState::Unconfirmed => unconfirmed = true,
        }
    }
    Some(if unconfirmed {
        PostAction::MarkUnconfirmed
    } else if failed {
        PostAction::MarkFailed
    } else {
        PostAction::MarkPublished
    })
}

/// Whether a post due at `due` may still go out at `now`: a post that missed its time by more
/// than the tolerance (the service was down) is not published late; a person decides.
pub fn still_on_time(due: Timestamp, now: Timestamp, tolerance: SignedDuration) -> bool {
    now.duration_since(due) <= tolerance
}

#[cfg(test)]
mod tests {
    use super::PublicationState as S;
    use super::*;

    #[test]
    fn a_post_settles_only_when_every_target_is_final() {
        assert_eq!(post_outcome([S::Published, S::Pending]), None);
        assert_eq!(post_outcome([S::Published, S::Published]), Some(PostAction::MarkPublished));
        assert_eq!(post_outcome([S::Published, S::Failed]), Some(PostAction::MarkFailed));
        assert_eq!(post_outcome([S::Failed, S::Unconfirmed, S::Published]), Some(PostAction::MarkUnconfirmed));
    }

    #[test]
    fn states_round_trip_and_only_failed_or_unconfirmed_are_retried() {
        for s in S::ALL {
            assert_eq!(s.as_str().parse::<S>().unwrap(), s);
        }
        assert!("sent".parse::<S>().is_err());
        assert!(!S::Published.is_retryable() && !S::Pending.is_retryable());
        assert!(S::Failed.is_retryable() && S::Unconfirmed.is_retryable());
    }

    #[test]
    fn lateness_is_measured_against_the_tolerance() {
        let due = Timestamp::from_second(1_000_000).unwrap();
        let hour = SignedDuration::from_hours(1);
        assert!(still_on_time(due, due, hour));
        assert!(still_on_time(due, due + SignedDuration::from_mins(59), hour));
        assert!(!still_on_time(due, due + SignedDuration::from_mins(61), hour));
    }
}
