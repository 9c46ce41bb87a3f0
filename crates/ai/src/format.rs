//! Image formats per network: pixel sizes the networks display without cropping.

use nanopost_domain::network::Network;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardFormat {
    /// 1080×1080 (Instagram, LinkedIn).
    Square,
    /// 1080×1350, 4:5 (Instagram's tallest feed image).
    Portrait,
    /// 1200×627, 1.91:1 (LinkedIn's link and image posts).
    Landscape,
    /// 1080×1920, 9:16 (TikTok photo posts).
    Story,
}

impl CardFormat {
    pub fn size(self) -> (u32, u32) {
        match self {
            CardFormat::Square => (1080, 1080),
            CardFormat::Portrait => (1080, 1350),
            CardFormat::Landscape => (1200, 627),
            CardFormat::Story => (1080, 1920),
        }
    }

    /// The format used for a network when none is asked for.
    pub fn default_for(network: Network) -> Self {
        match network {
            Network::Instagram => CardFormat::Portrait,
            Network::Linkedin => CardFormat::Landscape,
            Network::Tiktok => CardFormat::Story,
        }
    }

    /// The formats a network shows as they are.
    pub fn allowed_for(network: Network) -> &'static [CardFormat] {
        match network {
            Network::Instagram => &[CardFormat::Portrait, CardFormat::Square],
            Network::Linkedin => &[CardFormat::Landscape, CardFormat::Square],
            Network::Tiktok => &[CardFormat::Story],
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CardFormat::Square => "square",
            CardFormat::Portrait => "portrait",
            CardFormat::Landscape => "landscape",
            CardFormat::Story => "story",
        }
    }

    /// `format` if the network takes it, else an error naming the ones it does.
    pub fn resolve(network: Network, format: Option<CardFormat>) -> Result<CardFormat, crate::AiError> {
        match format {
            None => Ok(Self::default_for(network)),
            Some(f) if Self::allowed_for(network).contains(&f) => Ok(f),
            Some(f) => {
                let allowed: Vec<&str> = Self::allowed_for(network).iter().map(|f| f.as_str()).collect();
                Err(crate::AiError::InvalidInput(format!(
                    "{} images cannot be {}; use {}",
                    network.label(),
                    f.as_str(),
                    allowed.join(" or ")
                )))
            }
        }
    }
}
