//! How a draft will look on each network, as faithfully as plain HTML and CSS allow: the
//! caption cut where the network cuts it ("… more" on Instagram after 125 characters, "…see
//! more" on LinkedIn after about 210), hashtags and mentions styled, the media in the frame the
//! network gives it (Instagram 4:5 to 1.91:1 with the carousel dots, LinkedIn's image grid,
//! TikTok's 9:16 with the caption over the picture and who can see it).
//!
//! Everything is data for `preview.html`; the caption is split into segments that the template
//! escapes like any other text. The full caption opens with `<details>`, so no script is
//! needed. Flags for the reviewer come from the generation guardrails (the brand's words and
//! claims to avoid, the network's caption limits) and the network's media rules.

use nanopost_domain::brand::Brand;
use nanopost_domain::ids::MediaId;
use nanopost_domain::network::Network;
use nanopost_domain::post::{PostContent, Variant};
use nanopost_platforms::rules::{self, MediaFix};
use nanopost_services::generation::guardrails;
use nanopost_storage::{MediaRecord, MediaType};

/// Characters of the caption Instagram shows before "… more".
pub const INSTAGRAM_FOLD: usize = 125;
/// Characters of the commentary LinkedIn shows before "…see more".
pub const LINKEDIN_FOLD: usize = 210;
/// Characters of the caption TikTok shows over the picture before "more".
pub const TIKTOK_FOLD: usize = 80;

/// A run of caption text: plain, a hashtag or a mention.
pub struct Segment {
    pub text: String,
    /// A CSS class: empty, `tag` or `mention`.
    pub class: &'static str,
}

pub struct CaptionView {
    /// What the network shows before its "more" link (all of it when not cut).
    pub head: Vec<Segment>,
    /// The whole caption, shown once opened; empty when nothing was cut.
    pub full: Vec<Segment>,
    pub cut: bool,
    pub empty: bool,
}

/// One media item as a preview shows it.
pub struct MediaView {
    /// The signed URL of an image (videos are shown as a labelled box).
    pub url: String,
    pub alt: String,
    pub is_image: bool,
    /// "Video, 12.5 s", or why it cannot be shown.
    pub label: String,
    pub missing: bool,
}

/// A flag for the reviewer, with how serious it is (`bad`: it will not go out like this;
/// `info`: Nanopost fixes it before publishing).
pub struct FlagView {
    pub class: &'static str,
    pub text: String,
}

pub struct NetworkPreview {
    /// `instagram`, `linkedin`, `tiktok` (a CSS class).
    pub key: &'static str,
    pub label: &'static str,
    pub author: String,
    pub caption: CaptionView,
    /// The word the network puts after the cut caption.
    pub more: &'static str,
    pub media: Vec<MediaView>,
    /// The media frame's shape as a CSS class (`ar-4-5`, `ar-1-1`, `ar-9-16`, …).
    pub frame: &'static str,
    /// `cover` (cropped) or `contain` (padded).
    pub fit: &'static str,
    /// What happens to the picture to fit the frame, when something does.
    pub frame_note: String,
    /// Carousel dots (none for a single item).
    pub dots: usize,
    /// LinkedIn's grid: the items shown (at most 4) and how many more there are.
    pub grid: &'static str,
    pub more_items: usize,
    /// TikTok: who will see it.
    pub privacy: Option<String>,
    pub privacy_private: bool,
    pub flags: Vec<FlagView>,
}

/// The previews of `content`: one per targeted network (or per variant when nothing is
/// targeted yet). `media` holds the stored items the variants name (missing ones are shown
/// as missing); `url` signs a media URL; `tiktok_private` is true when this installation's
/// TikTok app is unaudited, so every post is private.
pub fn previews(
    brand: &Brand,
    content: &PostContent,
    media: &[MediaRecord],
    url: &dyn Fn(MediaId) -> String,
    tiktok_private: bool,
) -> Vec<NetworkPreview> {
    let flags = guardrails::check(&brand.profile, content);
    let mut networks: Vec<Network> = content.targets.iter().map(|t| t.network).collect();
    if networks.is_empty() {
        networks = content.variants.iter().map(|v| v.network).collect();
    }
    networks.dedup();
    networks
        .into_iter()
        .filter_map(|n| content.variants.iter().find(|v| v.network == n))
        .map(|v| {
            let records: Vec<Option<&MediaRecord>> =
                v.media.iter().map(|r| media.iter().find(|m| m.id == r.id)).collect();
            let mut flag_views: Vec<FlagView> = flags
                .iter()
                .filter(|f| f.network == v.network)
                .map(|f| FlagView { class: "warn", text: f.reason.clone() })
                .collect();
            flag_views.extend(media_flags(v.network, &records));
            preview(brand, v, &records, url, tiktok_private, flag_views)
        })
        .collect()
}

fn preview(
    brand: &Brand,
    v: &Variant,
    records: &[Option<&MediaRecord>],
    url: &dyn Fn(MediaId) -> String,
    tiktok_private: bool,
    flags: Vec<FlagView>,
) -> NetworkPreview {
    let media: Vec<MediaView> = records
        .iter()
        .map(|m| match m {
            Some(m) => MediaView {
                url: if m.kind == MediaType::Image { url(m.id) } else { String::new() },
                alt: m.alt_text.clone(),
                is_image: m.kind == MediaType::Image,
                label: match m.duration_ms {
                    Some(ms) => format!("Video, {:.1} s", ms as f64 / 1000.0),
                    None if m.kind == MediaType::Video => "Video".into(),
                    None => String::new(),
                },
                missing: false,
            },
            None => MediaView {
                url: String::new(),
                alt: String::new(),
                is_image: false,
                label: "This media item is no longer in the library".into(),
                missing: true,
            },
        })
        .collect();
    let first_ratio = records.first().copied().flatten().and_then(|m| match (m.width, m.height) {
        (Some(w), Some(h)) if w > 0 && h > 0 => Some(f64::from(w) / f64::from(h)),
        _ => None,
    });
    let (fold, more) = match v.network {
        Network::Instagram => (INSTAGRAM_FOLD, "more"),
        Network::Linkedin => (LINKEDIN_FOLD, "see more"),
        Network::Tiktok => (TIKTOK_FOLD, "more"),
    };
    let (frame, fit, frame_note) = match v.network {
        Network::Instagram => instagram_frame(first_ratio, media.len()),
        Network::Linkedin => linkedin_frame(first_ratio),
        Network::Tiktok => ("ar-9-16", "contain", tiktok_note(first_ratio)),
    };
    let shown_in_grid = media.len().min(4);
    let (privacy, privacy_private) = match v.network {
        Network::Tiktok => tiktok_privacy(v, tiktok_private),
        _ => (None, false),
    };
    NetworkPreview {
        key: v.network.as_str(),
        label: v.network.label(),
        author: brand.profile.name.clone(),
        caption: caption_view(&v.caption, fold),
        more,
        dots: if v.network != Network::Linkedin && media.len() > 1 { media.len() } else { 0 },
        grid: match shown_in_grid {
            0 | 1 => "grid-1",
            2 => "grid-2",
            3 => "grid-3",
            _ => "grid-4",
        },
        more_items: media.len().saturating_sub(4),
        media,
        frame,
        fit,
        frame_note,
        privacy,
        privacy_private,
        flags,
    }
}

/// The frames a preview can draw, as (width / height, CSS class).
const FRAMES: [(f64, &str); 5] =
    [(0.8, "ar-4-5"), (1.0, "ar-1-1"), (4.0 / 3.0, "ar-4-3"), (16.0 / 9.0, "ar-16-9"), (1.91, "ar-191-100")];

/// The drawable frame closest in shape to `ratio`.
fn nearest_frame(ratio: f64) -> &'static str {
    let distance = |r: f64| (r.ln() - ratio.ln()).abs();
    FRAMES.iter().min_by(|a, b| distance(a.0).total_cmp(&distance(b.0))).map_or("ar-1-1", |f| f.1)
}

/// Instagram shows pictures from 4:5 (portrait) to 1.91:1 (landscape); Nanopost pads a taller
/// one and crops a wider one (the rules' fixes). A carousel shows every slide at the first
/// one's shape.
fn instagram_frame(ratio: Option<f64>, items: usize) -> (&'static str, &'static str, String) {
    let carousel = if items > 1 { " Every slide of the carousel is shown at the first one's shape." } else { "" };
    match ratio {
        None => ("ar-1-1", "cover", String::new()),
        Some(r) if r + 1e-3 < rules::INSTAGRAM_MIN_RATIO => {
            ("ar-4-5", "contain", format!("Too tall for Instagram: padded to 4:5.{carousel}"))
        }
        Some(r) if r > rules::INSTAGRAM_MAX_RATIO + 1e-3 => {
            ("ar-191-100", "cover", format!("Too wide for Instagram: cropped to 1.91:1.{carousel}"))
        }
        Some(r) => (nearest_frame(r), "cover", carousel.trim_start().to_owned()),
    }
}

/// LinkedIn's feed shows a single picture at its shape, within the same bounds as Instagram.
fn linkedin_frame(ratio: Option<f64>) -> (&'static str, &'static str, String) {
    match ratio {
        None => ("ar-191-100", "cover", String::new()),
        Some(r) => {
            (nearest_frame(r.clamp(rules::INSTAGRAM_MIN_RATIO, rules::INSTAGRAM_MAX_RATIO)), "cover", String::new())
        }
    }
}

fn tiktok_note(ratio: Option<f64>) -> String {
    match ratio {
        Some(r) if (r - 9.0 / 16.0).abs() > 0.02 => {
            "TikTok shows it in a 9:16 frame, with bars where it does not fill it.".into()
        }
        _ => String::new(),
    }
}

/// Who will see a TikTok post: private while this installation's app is unaudited (the same
/// words as the connected-accounts page), otherwise the level chosen for the post.
fn tiktok_privacy(v: &Variant, unaudited: bool) -> (Option<String>, bool) {
    if unaudited {
        return (
            Some(
                "Private (SELF_ONLY, visible only to the account owner): this installation's TikTok app is not audited yet."
                    .into(),
            ),
            true,
        );
    }
    let text = match v.options.get(nanopost_platforms::tiktok::PRIVACY_OPTION).map(String::as_str) {
        Some("PUBLIC_TO_EVERYONE") => "Everyone".to_owned(),
        Some("MUTUAL_FOLLOW_FRIENDS") => "Friends (followers you follow back)".to_owned(),
        Some("FOLLOWER_OF_CREATOR") => "Followers".to_owned(),
        Some("SELF_ONLY") => "Only the account owner (SELF_ONLY)".to_owned(),
        Some(other) => other.to_owned(),
        None => "Not chosen yet: choose who can see it before publishing.".to_owned(),
    };
    let private = v.options.get(nanopost_platforms::tiktok::PRIVACY_OPTION).is_some_and(|l| l == "SELF_ONLY");
    (Some(text), private)
}

/// The network's media rules as flags: what stops the post (`bad`) and what Nanopost fixes
/// before publishing (`info`).
fn media_flags(network: Network, records: &[Option<&MediaRecord>]) -> Vec<FlagView> {
    if records.iter().any(Option::is_none) {
        return vec![FlagView {
            class: "bad",
            text: "A media item of this post is no longer in the library; choose another.".into(),
        }];
    }
    let facts: Vec<_> = records.iter().flatten().map(|m| nanopost_services::media::facts_of(m)).collect();
    rules::check(network, "", &facts)
        .into_iter()
        .filter(|i| i.field != "caption")
        .map(|i| {
            let which = match i.field.strip_prefix("media.").and_then(|n| n.parse::<usize>().ok()) {
                Some(n) => format!("Item {}: ", n + 1),
                None => String::new(),
            };
            match i.fix {
                Some(fix) => {
                    FlagView { class: "info", text: format!("{which}{}; it will be {}.", i.message, fix_text(fix)) }
                }
                None => FlagView {
                    class: "bad",
                    text: format!("{which}{}.", super::sentence(&i.message).trim_end_matches('.')),
                },
            }
        })
        .collect()
}

fn fix_text(fix: MediaFix) -> String {
    fix.to_string()
}

/// The caption as segments, cut after `fold` characters when longer (a network's "more").
pub fn caption_view(caption: &str, fold: usize) -> CaptionView {
    let caption = caption.trim_end();
    let total = caption.chars().count();
    if total <= fold {
        return CaptionView { head: segments(caption), full: vec![], cut: false, empty: caption.trim().is_empty() };
    }
    let head: String = caption.chars().take(fold).collect();
    CaptionView { head: segments(head.trim_end()), full: segments(caption), cut: true, empty: false }
}

/// Splits text into plain runs, `#hashtags` and `@mentions` (a word character run after the
/// sign, as the networks link them).
pub fn segments(text: &str) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    let mut plain = String::new();
    let mut chars = text.char_indices().peekable();
    let mut prev: Option<char> = None;
    while let Some((i, c)) = chars.next() {
        let starts_word = prev.is_none_or(|p| !(p.is_alphanumeric() || p == '_' || p == '&'));
        let next_is_word = chars.peek().is_some_and(|(_, n)| n.is_alphanumeric() || *n == '_');
        if (c == '#' || c == '@') && starts_word && next_is_word {
            let mut end = i + c.len_utf8();
            while let Some((j, n)) = chars.peek().copied() {
                if n.is_alphanumeric() || n == '_' || (c == '@' && n == '.') {
                    end = j + n.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            if !plain.is_empty() {
                out.push(Segment { text: std::mem::take(&mut plain), class: "" });
            }
            let word = text[i..end].trim_end_matches('.');
            // A trailing full stop after a mention is punctuation, not part of the handle.
            let rest = &text[i + word.len()..end];
            out.push(Segment { text: word.to_owned(), class: if c == '#' { "tag" } else { "mention" } });
            plain.push_str(rest);
            prev = text[..end].chars().next_back();
            continue;
        }
        plain.push(c);
        prev = Some(c);
    }
    if !plain.is_empty() {
        out.push(Segment { text: plain, class: "" });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(s: &[Segment]) -> String {
        s.iter()
            .map(|s| if s.class.is_empty() { s.text.clone() } else { format!("[{}:{}]", s.class, s.text) })
            .collect()
    }

    #[test]
    fn hashtags_and_mentions_are_segments() {
        assert_eq!(
            shown(&segments("Fresh #bread by @acme.bakery. Mail me@x.com #1 # #")),
            "Fresh [tag:#bread] by [mention:@acme.bakery]. Mail me@x.com [tag:#1] # #"
        );
        assert_eq!(shown(&segments("<script>#x</script>")), "<script>[tag:#x]</script>");
        assert_eq!(shown(&segments("Ünï #café\n@Zoë")), "Ünï [tag:#café]\n[mention:@Zoë]");
    }

    #[test]
    fn captions_are_cut_where_the_network_cuts() {
        let long = "a".repeat(130);
        let v = caption_view(&long, INSTAGRAM_FOLD);
        assert!(v.cut);
        assert_eq!(shown(&v.head).chars().count(), 125);
        assert_eq!(shown(&v.full), long);
        let short = caption_view("short #x", INSTAGRAM_FOLD);
        assert!(!short.cut && short.full.is_empty() && !short.empty);
        assert!(caption_view("  ", LINKEDIN_FOLD).empty);
    }

    #[test]
    fn frames_follow_the_networks_bounds() {
        assert_eq!(instagram_frame(Some(1080.0 / 1350.0), 1).0, "ar-4-5");
        assert_eq!(instagram_frame(Some(1.0), 1).0, "ar-1-1");
        let (frame, fit, note) = instagram_frame(Some(9.0 / 16.0), 2);
        assert_eq!((frame, fit), ("ar-4-5", "contain"));
        assert!(note.contains("padded to 4:5") && note.contains("carousel"), "{note}");
        assert_eq!(instagram_frame(Some(3.0), 1).0, "ar-191-100");
        assert_eq!(instagram_frame(None, 0).0, "ar-1-1");
        assert_eq!(linkedin_frame(Some(16.0 / 9.0)).0, "ar-16-9");
    }
}
