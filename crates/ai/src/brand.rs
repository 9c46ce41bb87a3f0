//! The brand data a provider may see: copied field by field from the brand profile, so ids,
//! the workspace, its members, time zone, cadence and competitor handles never reach one.

use nanopost_domain::brand::BrandProfile;
use serde::Serialize;

/// What writing in the brand's voice needs. Every field here may be sent to an AI provider.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BrandVoice {
    pub name: String,
    /// What the brand does, in a sentence or two.
    pub description: String,
    /// How it speaks: "warm, playful, expert".
    pub voice: String,
    pub audience: String,
    /// A BCP 47 language tag (`en`, `pt-BR`).
    pub language: String,
    pub topics: Vec<String>,
    /// Without the leading `#`.
    pub hashtags: Vec<String>,
    /// The brand's usual call to action ("Order at acme.example"); templates supply one if empty.
    pub call_to_action: Option<String>,
    pub avoid_words: Vec<String>,
    pub avoid_claims: Vec<String>,
}

impl BrandVoice {
    /// The voice of a stored brand profile; `call_to_action` is not part of the profile yet,
    /// so callers add it with [`BrandVoice::with_call_to_action`].
    pub fn from_profile(profile: &BrandProfile) -> Self {
        BrandVoice {
            name: profile.name.clone(),
            description: profile.description.clone(),
            voice: profile.voice.clone(),
            audience: profile.audience.clone(),
            language: profile.language.clone(),
            topics: profile.topics.clone(),
            hashtags: profile.hashtags.clone(),
            call_to_action: None,
            avoid_words: profile.avoid_words.clone(),
            avoid_claims: profile.avoid_claims.clone(),
        }
    }

    pub fn with_call_to_action(mut self, cta: impl Into<String>) -> Self {
        let cta = cta.into();
        self.call_to_action = (!cta.trim().is_empty()).then(|| cta.trim().to_owned());
        self
    }

    /// The primary language subtag, lower case (`pt-BR` → `pt`); `en` when empty.
    pub fn primary_language(&self) -> String {
        let primary = self.language.split(['-', '_']).next().unwrap_or("").trim().to_ascii_lowercase();
        if primary.is_empty() { "en".to_owned() } else { primary }
    }
}

/// What drawing for the brand needs: name, colours and the logo's bytes (never its media id).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BrandVisual {
    pub name: String,
    /// `#rrggbb`; the first is the main colour.
    pub colors: Vec<String>,
    /// Sent to no remote provider: only the offline renderer draws it.
    #[serde(skip)]
    pub logo: Option<LogoImage>,
}

impl BrandVisual {
    pub fn from_profile(profile: &BrandProfile) -> Self {
        BrandVisual { name: profile.name.clone(), colors: profile.colors.clone(), logo: None }
    }

    pub fn with_logo(mut self, logo: LogoImage) -> Self {
        self.logo = Some(logo);
        self
    }
}

/// The logo file as stored (PNG or JPEG bytes).
#[derive(Clone, PartialEq, Eq)]
pub struct LogoImage(pub Vec<u8>);

impl std::fmt::Debug for LogoImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LogoImage({} bytes)", self.0.len())
    }
}
