//! The social networks Nanopost publishes to, and the limits that apply before review.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    Instagram,
    Linkedin,
    Tiktok,
}

impl Network {
    pub const ALL: [Network; 3] = [Network::Instagram, Network::Linkedin, Network::Tiktok];

    pub fn as_str(self) -> &'static str {
        match self {
            Network::Instagram => "instagram",
            Network::Linkedin => "linkedin",
            Network::Tiktok => "tiktok",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Network::Instagram => "Instagram",
            Network::Linkedin => "LinkedIn",
            Network::Tiktok => "TikTok",
        }
    }

    /// Longest caption the network accepts, in characters.
    pub fn caption_limit(self) -> usize {
        match self {
            Network::Instagram => 2_200,
            Network::Linkedin => 3_000,
            Network::Tiktok => 2_200,
        }
    }

    /// Most media items in one post (a carousel).
    pub fn max_media(self) -> usize {
        match self {
            Network::Instagram => 10,
            Network::Linkedin => 20,
            Network::Tiktok => 35,
        }
    }

    /// Most hashtags the network honours in one caption.
    pub fn max_hashtags(self) -> usize {
        match self {
            Network::Instagram => 30,
            Network::Linkedin => 30,
            Network::Tiktok => 30,
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Network {
    type Err = crate::ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Network::ALL
            .into_iter()
            .find(|n| n.as_str() == s)
            .ok_or_else(|| crate::ValidationError::new("network", "must be one of instagram, linkedin, tiktok"))
    }
}
