//! The brand profile: described once, used by every draft.

use crate::account::{bounded_multiline, bounded_text};
use crate::error::ValidationErrors;
use crate::ids::{BrandId, MediaId, WorkspaceId};
use crate::network::Network;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// A validated brand profile. Build it with [`BrandInput::validate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrandProfile {
    pub name: String,
    pub description: String,
    pub voice: String,
    pub audience: String,
    /// A BCP 47 language tag such as `en` or `pt-BR`.
    pub language: String,
    /// An IANA time zone name such as `Europe/Berlin`; schedules are read in it.
    pub timezone: String,
    pub topics: Vec<String>,
    pub avoid_words: Vec<String>,
    pub avoid_claims: Vec<String>,
    /// Without the leading `#`.
    pub hashtags: Vec<String>,
    /// `#rrggbb`, lower case.
    pub colors: Vec<String>,
    pub logo: Option<MediaId>,
    pub cadence: Cadence,
    pub competitors: Vec<CompetitorHandle>,
}

/// How often the brand posts, and the weekly slots the queue fills.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cadence {
    pub posts_per_week: u8,
    /// Weekly queue slots in the brand's time zone, as `mon 09:00`.
    pub slots: Vec<String>,
    /// How late a post of this brand may still go out after downtime, in minutes; `None`:
    /// the installation's `publishing.late_tolerance_minutes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_tolerance_minutes: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompetitorHandle {
    pub network: Network,
    /// Without the leading `@`.
    pub handle: String,
}

/// A stored brand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Brand {
    pub id: BrandId,
    pub workspace_id: WorkspaceId,
    pub profile: BrandProfile,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A brand profile as a person typed it (form or JSON), before validation.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BrandInput {
    pub name: String,
    pub description: String,
    pub voice: String,
    pub audience: String,
    pub language: String,
    pub timezone: String,
    pub topics: Vec<String>,
    pub avoid_words: Vec<String>,
    pub avoid_claims: Vec<String>,
    pub hashtags: Vec<String>,
    pub colors: Vec<String>,
    pub logo: Option<MediaId>,
    pub posts_per_week: u8,
    pub slots: Vec<String>,
    /// Minutes a post may still go out late (after downtime); `None`: the installation's.
    pub late_tolerance_minutes: Option<u32>,
    /// `network:handle`, for example `instagram:acme`.
    pub competitors: Vec<String>,
}

const MAX_LIST: usize = 50;
/// A week: later than that, a post is stale whatever the brand.
pub const MAX_LATE_TOLERANCE_MINUTES: u32 = 7 * 24 * 60;
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl BrandInput {
    /// Checks every field and reports all problems at once.
    pub fn validate(&self) -> Result<BrandProfile, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let mut take = |r: Result<String, crate::ValidationError>| match r {
            Ok(v) => v,
            Err(e) => {
                errs.0.push(e);
                String::new()
            }
        };
        let name = take(bounded_text("name", &self.name, 1, 100));
        let description = take(bounded_multiline("description", &self.description, 0, 2_000));
        let voice = take(bounded_multiline("voice", &self.voice, 0, 1_000));
        let audience = take(bounded_multiline("audience", &self.audience, 0, 1_000));
        let language = if self.language.trim().is_empty() { "en".to_owned() } else { self.language.trim().to_owned() };
        let timezone = if self.timezone.trim().is_empty() { "UTC".to_owned() } else { self.timezone.trim().to_owned() };

        if !is_language_tag(&language) {
            errs.push("language", "must be a language tag such as en or pt-BR");
        }
        if timezone.len() > 64 || jiff::tz::TimeZone::get(&timezone).is_err() {
            errs.push("timezone", "must be an IANA time zone such as Europe/Berlin");
        }
        let topics = text_list(&mut errs, "topics", &self.topics, 100);
        let avoid_words = text_list(&mut errs, "avoid_words", &self.avoid_words, 100);
        let avoid_claims = text_list(&mut errs, "avoid_claims", &self.avoid_claims, 300);

        let mut hashtags = Vec::new();
        for raw in self.hashtags.iter().map(|h| h.trim()).filter(|h| !h.is_empty()) {
            let tag = raw.trim_start_matches('#');
            if tag.is_empty() || tag.chars().count() > 100 || !tag.chars().all(|c| c.is_alphanumeric() || c == '_') {
                errs.push("hashtags", format!("{raw:?} is not a hashtag: letters, digits and _ only"));
            } else if !hashtags.iter().any(|h: &String| h.eq_ignore_ascii_case(tag)) {
                hashtags.push(tag.to_owned());
            }
        }
        if hashtags.len() > Network::Instagram.max_hashtags() {
            errs.push("hashtags", format!("at most {} default hashtags", Network::Instagram.max_hashtags()));
        }

        let mut colors = Vec::new();
        for raw in self.colors.iter().map(|c| c.trim()).filter(|c| !c.is_empty()) {
            let c = raw.to_ascii_lowercase();
            if c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|d| d.is_ascii_hexdigit()) {
                colors.push(c);
            } else {
                errs.push("colors", format!("{raw:?} is not a colour like #1a2b3c"));
            }
        }
        if colors.len() > 8 {
            errs.push("colors", "at most 8 colours");
        }

        if self.posts_per_week > 70 {
            errs.push("posts_per_week", "must be between 0 and 70");
        }
        let mut slots = Vec::new();
        for raw in self.slots.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
            match parse_slot(raw) {
                Some(s) if !slots.contains(&s) => slots.push(s),
                Some(_) => {}
                None => errs.push("slots", format!("{raw:?} is not a slot like mon 09:00")),
            }
        }
        if slots.len() > MAX_LIST {
            errs.push("slots", format!("at most {MAX_LIST} slots"));
        }
        if self.late_tolerance_minutes.is_some_and(|m| m > MAX_LATE_TOLERANCE_MINUTES) {
            errs.push("late_tolerance_minutes", "must be between 0 and 10080 (a week)");
        }

        let mut competitors = Vec::new();
        for raw in self.competitors.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
            let parsed = raw.split_once(':').and_then(|(n, h)| {
                let network = n.trim().parse::<Network>().ok()?;
                let handle = h.trim().trim_start_matches('@');
                let ok = !handle.is_empty()
                    && handle.len() <= 100
                    && handle.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
                ok.then(|| CompetitorHandle { network, handle: handle.to_owned() })
            });
            match parsed {
                Some(c) => competitors.push(c),
                None => errs.push("competitors", format!("{raw:?} is not a handle like instagram:acme")),
            }
        }
        if competitors.len() > MAX_LIST {
            errs.push("competitors", format!("at most {MAX_LIST} competitor handles"));
        }

        errs.into_result(BrandProfile {
            name,
            description,
            voice,
            audience,
            language,
            timezone,
            topics,
            avoid_words,
            avoid_claims,
            hashtags,
            colors,
            logo: self.logo,
            cadence: Cadence {
                posts_per_week: self.posts_per_week,
                slots,
                late_tolerance_minutes: self.late_tolerance_minutes,
            },
            competitors,
        })
    }
}

impl From<&BrandProfile> for BrandInput {
    fn from(p: &BrandProfile) -> Self {
        BrandInput {
            name: p.name.clone(),
            description: p.description.clone(),
            voice: p.voice.clone(),
            audience: p.audience.clone(),
            language: p.language.clone(),
            timezone: p.timezone.clone(),
            topics: p.topics.clone(),
            avoid_words: p.avoid_words.clone(),
            avoid_claims: p.avoid_claims.clone(),
            hashtags: p.hashtags.clone(),
            colors: p.colors.clone(),
            logo: p.logo,
            posts_per_week: p.cadence.posts_per_week,
            slots: p.cadence.slots.clone(),
            late_tolerance_minutes: p.cadence.late_tolerance_minutes,
            competitors: p.competitors.iter().map(|c| format!("{}:{}", c.network, c.handle)).collect(),
        }
    }
}

fn text_list(errs: &mut ValidationErrors, field: &str, items: &[String], max_chars: usize) -> Vec<String> {
    let mut out = Vec::new();
    for item in items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        match bounded_text(field, item, 1, max_chars) {
            Ok(v) if !out.contains(&v) => out.push(v),
            Ok(_) => {}
            Err(e) => errs.0.push(e),
        }
    }
    if out.len() > MAX_LIST {
        errs.push(field, format!("at most {MAX_LIST} entries"));
    }
    out
}

fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let primary = parts.next().unwrap_or("");
    (2..=3).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_lowercase())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// `mon 09:00` → normalised `mon 09:00`, or `None`.
fn parse_slot(raw: &str) -> Option<String> {
    let (day, time) = raw.split_once(' ')?;
    let day = day.trim().to_ascii_lowercase();
    if !WEEKDAYS.contains(&day.as_str()) {
        return None;
    }
    let (h, m) = time.trim().split_once(':')?;
    let (h, m): (u8, u8) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then(|| format!("{day} {h:02}:{m:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> BrandInput {
        BrandInput {
            name: "Acme Bakery".into(),
            timezone: "Europe/Berlin".into(),
            hashtags: vec!["#bread".into(), "Bread".into(), "sourdough".into()],
            colors: vec!["#AABBCC".into()],
            slots: vec!["Mon 9:00".into()],
            competitors: vec!["instagram:@rival".into()],
            ..Default::default()
        }
    }

    #[test]
    fn a_good_profile_is_normalised() {
        let p = input().validate().unwrap();
        assert_eq!(p.hashtags, vec!["bread", "sourdough"]);
        assert_eq!(p.colors, vec!["#aabbcc"]);
        assert_eq!(p.cadence.slots, vec!["mon 09:00"]);
        assert_eq!(p.competitors[0].handle, "rival");
        assert_eq!(p.language, "en");
    }

    #[test]
    fn every_bad_field_is_reported() {
        let bad = BrandInput {
            name: " ".into(),
            timezone: "Mars/Olympus".into(),
            language: "english!".into(),
            hashtags: vec!["#no spaces".into()],
            colors: vec!["red".into()],
            slots: vec!["funday 25:00".into()],
            competitors: vec!["myspace:tom".into()],
            posts_per_week: 200,
            ..Default::default()
        };
        let errs = bad.validate().unwrap_err();
        let fields: Vec<&str> = errs.0.iter().map(|e| e.field.as_str()).collect();
        for f in ["name", "timezone", "language", "hashtags", "colors", "slots", "competitors", "posts_per_week"] {
            assert!(fields.contains(&f), "{f} not reported in {errs}");
        }
    }

    #[test]
    fn round_trips_through_input() {
        let p = input().validate().unwrap();
        assert_eq!(BrandInput::from(&p).validate().unwrap(), p);
    }
}
