//! Per-network publishing rules, as pure functions: checked before review and again right
//! before publishing. Media problems that can be fixed come with the fix to apply.

use nanopost_domain::network::Network;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Image,
    Video,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaFormat {
    Jpeg,
    Png,
    Gif,
    Webp,
    Mp4,
    Mov,
    Webm,
    Other,
}

impl MediaFormat {
    pub fn kind(self) -> MediaKind {
        match self {
            MediaFormat::Mp4 | MediaFormat::Mov | MediaFormat::Webm => MediaKind::Video,
            _ => MediaKind::Image,
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            MediaFormat::Jpeg => "image/jpeg",
            MediaFormat::Png => "image/png",
            MediaFormat::Gif => "image/gif",
            MediaFormat::Webp => "image/webp",
            MediaFormat::Mp4 => "video/mp4",
            MediaFormat::Mov => "video/quicktime",
            MediaFormat::Webm => "video/webm",
            MediaFormat::Other => "application/octet-stream",
        }
    }

    pub fn from_mime(mime: &str) -> Self {
        match mime.split(';').next().unwrap_or("").trim().to_ascii_lowercase().as_str() {
            "image/jpeg" | "image/jpg" => MediaFormat::Jpeg,
            "image/png" => MediaFormat::Png,
            "image/gif" => MediaFormat::Gif,
            "image/webp" => MediaFormat::Webp,
            "video/mp4" => MediaFormat::Mp4,
            "video/quicktime" => MediaFormat::Mov,
            "video/webm" => MediaFormat::Webm,
            _ => MediaFormat::Other,
        }
    }
}

/// What is known about one media file (from upload-time inspection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaFacts {
    pub format: MediaFormat,
    pub bytes: u64,
    pub width: u32,
    pub height: u32,
    /// Videos only.
    pub duration_ms: Option<u64>,
}

impl MediaFacts {
    pub fn kind(&self) -> MediaKind {
        self.format.kind()
    }
    fn ratio(&self) -> f64 {
        if self.height == 0 { 0.0 } else { f64::from(self.width) / f64::from(self.height) }
    }
}

/// A change Nanopost can make to an image so the network takes it. Shown to the reviewer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MediaFix {
    ReencodeJpeg,
    /// Crop the centre to this width/height ratio.
    CropToRatio(f64),
    /// Pad (letterbox) to this ratio instead of cropping (keeps the whole picture).
    PadToRatio(f64),
    ScaleToWidth(u32),
}

impl fmt::Display for MediaFix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MediaFix::ReencodeJpeg => f.write_str("converted to JPEG"),
            MediaFix::CropToRatio(r) => write!(f, "cropped to an aspect ratio of {r:.2}"),
            MediaFix::PadToRatio(r) => write!(f, "padded to an aspect ratio of {r:.2}"),
            MediaFix::ScaleToWidth(w) => write!(f, "scaled to {w} pixels wide"),
        }
    }
}

/// One broken rule: which part, a sentence, and the fix if there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleIssue {
    /// `caption`, `media`, `media.2`, `options.privacy_level`, …
    pub field: String,
    pub message: String,
    pub fix: Option<MediaFix>,
}

impl RuleIssue {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into(), fix: None }
    }
    fn fixable(field: impl Into<String>, message: impl Into<String>, fix: MediaFix) -> Self {
        Self { field: field.into(), message: message.into(), fix: Some(fix) }
    }
}

/// True when every issue has a fix (the post can go once the fixes are applied).
pub fn all_fixable(issues: &[RuleIssue]) -> bool {
    issues.iter().all(|i| i.fix.is_some())
}

pub const INSTAGRAM_MAX_MENTIONS: usize = 20;
pub const INSTAGRAM_MAX_IMAGE_BYTES: u64 = 8 * 1024 * 1024;
pub const INSTAGRAM_MIN_RATIO: f64 = 4.0 / 5.0;
pub const INSTAGRAM_MAX_RATIO: f64 = 1.91;
pub const INSTAGRAM_MIN_WIDTH: u32 = 320;
pub const INSTAGRAM_MAX_WIDTH: u32 = 1440;
pub const INSTAGRAM_MAX_VIDEO_BYTES: u64 = 1024 * 1024 * 1024;
pub const INSTAGRAM_VIDEO_MS: (u64, u64) = (3_000, 15 * 60_000);
pub const LINKEDIN_MAX_PIXELS: u64 = 36_000_000;
pub const TIKTOK_PHOTO_TITLE_MAX: usize = 90;
pub const TIKTOK_PHOTO_DESCRIPTION_MAX: usize = 4_000;
pub const TIKTOK_PHOTO_MAX_WIDTH: u32 = 1080;
pub const TIKTOK_MAX_VIDEO_BYTES: u64 = 4 * 1024 * 1024 * 1024;

pub fn hashtags(caption: &str) -> usize {
    caption.split_whitespace().filter(|w| w.starts_with('#') && w.len() > 1).count()
}

pub fn mentions(caption: &str) -> usize {
    caption
        .split_whitespace()
        .filter(|w| {
            w.strip_prefix('@')
                .and_then(|r| r.chars().next())
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '[')
        })
        .count()
}

/// Checks a caption and its media against `network`'s rules.
pub fn check(network: Network, caption: &str, media: &[MediaFacts]) -> Vec<RuleIssue> {
    let mut issues = Vec::new();
    let chars = caption.chars().count();
    if chars > network.caption_limit() {
        issues.push(RuleIssue::new(
            "caption",
            format!(
                "{} captions are at most {} characters (this one has {chars})",
                network.label(),
                network.caption_limit()
            ),
        ));
    }
    if hashtags(caption) > network.max_hashtags() {
        issues.push(RuleIssue::new(
            "caption",
            format!("{} allows at most {} hashtags", network.label(), network.max_hashtags()),
        ));
    }
    match network {
        Network::Instagram => instagram(caption, media, &mut issues),
        Network::Linkedin => linkedin(media, &mut issues),
        Network::Tiktok => tiktok(caption, media, &mut issues),
    }
    issues
}

fn count_rules(network: Network, media: &[MediaFacts], min: usize, issues: &mut Vec<RuleIssue>) {
    if media.len() < min {
        issues.push(RuleIssue::new("media", format!("{} posts need at least {min} picture or video", network.label())));
    }
    if media.len() > network.max_media() {
        issues.push(RuleIssue::new(
            "media",
            format!("{} takes at most {} items in one post", network.label(), network.max_media()),
        ));
    }
}

fn ratio_fix(field: &str, m: &MediaFacts, min: f64, max: f64, issues: &mut Vec<RuleIssue>) {
    let r = m.ratio();
    if r + 1e-3 < min {
        issues.push(RuleIssue::fixable(
            field,
            format!("too tall (aspect ratio {r:.2}; the least allowed is {min:.2})"),
            MediaFix::PadToRatio(min),
        ));
    } else if r > max + 1e-3 {
        issues.push(RuleIssue::fixable(
            field,
            format!("too wide (aspect ratio {r:.2}; the most allowed is {max:.2})"),
            MediaFix::CropToRatio(max),
        ));
    }
}

fn instagram(caption: &str, media: &[MediaFacts], issues: &mut Vec<RuleIssue>) {
    if mentions(caption) > INSTAGRAM_MAX_MENTIONS {
        issues.push(RuleIssue::new("caption", format!("Instagram allows at most {INSTAGRAM_MAX_MENTIONS} @-mentions")));
    }
    count_rules(Network::Instagram, media, 1, issues);
    for (i, m) in media.iter().enumerate() {
        let field = format!("media.{i}");
        match m.kind() {
            MediaKind::Image => {
                if m.format != MediaFormat::Jpeg {
                    issues.push(RuleIssue::fixable(&field, "Instagram takes JPEG images only", MediaFix::ReencodeJpeg));
                } else if m.bytes > INSTAGRAM_MAX_IMAGE_BYTES {
                    issues.push(RuleIssue::fixable(
                        &field,
                        "Instagram images must be under 8 MiB",
                        MediaFix::ReencodeJpeg,
                    ));
                }
                ratio_fix(&field, m, INSTAGRAM_MIN_RATIO, INSTAGRAM_MAX_RATIO, issues);
                if m.width > INSTAGRAM_MAX_WIDTH {
                    issues.push(RuleIssue::fixable(
                        &field,
                        format!("wider than {INSTAGRAM_MAX_WIDTH} pixels"),
                        MediaFix::ScaleToWidth(INSTAGRAM_MAX_WIDTH),
                    ));
                } else if m.width < INSTAGRAM_MIN_WIDTH {
                    issues.push(RuleIssue::fixable(
                        &field,
                        format!("narrower than {INSTAGRAM_MIN_WIDTH} pixels"),
                        MediaFix::ScaleToWidth(INSTAGRAM_MIN_WIDTH),
                    ));
                }
            }
            MediaKind::Video => {
                if !matches!(m.format, MediaFormat::Mp4 | MediaFormat::Mov) {
                    issues.push(RuleIssue::new(&field, "Instagram videos must be MP4 or MOV"));
                }
                if m.bytes > INSTAGRAM_MAX_VIDEO_BYTES {
                    issues.push(RuleIssue::new(&field, "Instagram videos must be at most 1 GB"));
                }
                let (min, max) = INSTAGRAM_VIDEO_MS;
                if m.duration_ms.is_some_and(|d| d < min || d > max) {
                    issues.push(RuleIssue::new(&field, "Instagram videos last from 3 seconds to 15 minutes"));
                }
            }
        }
    }
}

fn linkedin(media: &[MediaFacts], issues: &mut Vec<RuleIssue>) {
    count_rules(Network::Linkedin, media, 0, issues);
    for (i, m) in media.iter().enumerate() {
        let field = format!("media.{i}");
        match m.format {
            MediaFormat::Jpeg | MediaFormat::Png | MediaFormat::Gif => {}
            MediaFormat::Webp => issues.push(RuleIssue::fixable(
                &field,
                "LinkedIn takes JPEG, PNG or GIF images",
                MediaFix::ReencodeJpeg,
            )),
            _ => issues.push(RuleIssue::new(&field, "LinkedIn posts take images only in this version (no video yet)")),
        }
        let pixels = u64::from(m.width) * u64::from(m.height);
        if m.kind() == MediaKind::Image && pixels > LINKEDIN_MAX_PIXELS {
            let scale = (LINKEDIN_MAX_PIXELS as f64 / pixels as f64).sqrt();
            let width = (f64::from(m.width) * scale).floor() as u32;
            issues.push(RuleIssue::fixable(
                &field,
                "LinkedIn images are at most 36 megapixels",
                MediaFix::ScaleToWidth(width),
            ));
        }
    }
}

fn tiktok(caption: &str, media: &[MediaFacts], issues: &mut Vec<RuleIssue>) {
    count_rules(Network::Tiktok, media, 1, issues);
    let videos = media.iter().filter(|m| m.kind() == MediaKind::Video).count();
    if videos > 0 && media.len() > 1 {
        issues.push(RuleIssue::new("media", "a TikTok post is either one video or up to 35 photos, not a mix"));
    }
    if videos == 0 && caption.chars().count() > TIKTOK_PHOTO_DESCRIPTION_MAX {
        issues.push(RuleIssue::new("caption", "TikTok photo descriptions are at most 4,000 characters"));
    }
    for (i, m) in media.iter().enumerate() {
        let field = format!("media.{i}");
        match m.format {
            MediaFormat::Jpeg | MediaFormat::Webp => {
                if m.width > TIKTOK_PHOTO_MAX_WIDTH {
                    issues.push(RuleIssue::fixable(
                        &field,
                        "TikTok photos are at most 1080 pixels wide",
                        MediaFix::ScaleToWidth(TIKTOK_PHOTO_MAX_WIDTH),
                    ));
                }
            }
            MediaFormat::Png | MediaFormat::Gif => {
                issues.push(RuleIssue::fixable(&field, "TikTok photos must be JPEG or WebP", MediaFix::ReencodeJpeg))
            }
            MediaFormat::Mp4 | MediaFormat::Mov | MediaFormat::Webm => {
                if m.bytes > TIKTOK_MAX_VIDEO_BYTES {
                    issues.push(RuleIssue::new(&field, "TikTok videos must be at most 4 GB"));
                }
            }
            MediaFormat::Other => {
                issues.push(RuleIssue::new(&field, "TikTok takes JPEG or WebP photos, or MP4, MOV or WebM video"))
            }
        }
    }
}

/// TikTok photo posts have a 90-character title: the caption's first line, cut at a word.
pub fn tiktok_photo_title(caption: &str) -> String {
    let first = caption.lines().next().unwrap_or("").trim();
    if first.chars().count() <= TIKTOK_PHOTO_TITLE_MAX {
        return first.to_owned();
    }
    let cut: String = first.chars().take(TIKTOK_PHOTO_TITLE_MAX).collect();
    match cut.rfind(char::is_whitespace) {
        Some(i) if i > 40 => cut[..i].trim_end().to_owned(),
        _ => cut,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(w: u32, h: u32) -> MediaFacts {
        MediaFacts { format: MediaFormat::Jpeg, bytes: 500_000, width: w, height: h, duration_ms: None }
    }

    fn fixes(issues: &[RuleIssue]) -> Vec<MediaFix> {
        issues.iter().filter_map(|i| i.fix).collect()
    }

    #[test]
    fn instagram_caption_limits() {
        assert!(check(Network::Instagram, "hello #a @b", &[jpeg(1080, 1080)]).is_empty());
        let long = "x".repeat(2_201);
        assert_eq!(check(Network::Instagram, &long, &[jpeg(1080, 1080)]).len(), 1);
        let tags: String = (0..31).map(|i| format!("#t{i} ")).collect();
        assert!(check(Network::Instagram, &tags, &[jpeg(1080, 1080)])[0].message.contains("30 hashtags"));
        let ats: String = (0..21).map(|i| format!("@u{i} ")).collect();
        assert!(check(Network::Instagram, &ats, &[jpeg(1080, 1080)])[0].message.contains("@-mentions"));
        assert!(check(Network::Instagram, "mail me @ noon", &[jpeg(1080, 1080)]).is_empty());
    }

    #[test]
    fn instagram_media_rules_and_fixes() {
        assert!(check(Network::Instagram, "", &[]).iter().any(|i| i.field == "media"));
        assert!(
            check(Network::Instagram, "", &vec![jpeg(1080, 1080); 11]).iter().any(|i| i.message.contains("at most 10"))
        );
        let png = MediaFacts { format: MediaFormat::Png, ..jpeg(1080, 1080) };
        assert_eq!(fixes(&check(Network::Instagram, "", &[png])), vec![MediaFix::ReencodeJpeg]);
        let big = MediaFacts { bytes: 9 * 1024 * 1024, ..jpeg(1080, 1080) };
        assert_eq!(fixes(&check(Network::Instagram, "", &[big])), vec![MediaFix::ReencodeJpeg]);
        assert_eq!(fixes(&check(Network::Instagram, "", &[jpeg(1080, 1920)])), vec![MediaFix::PadToRatio(0.8)]);
        assert_eq!(fixes(&check(Network::Instagram, "", &[jpeg(1080, 400)])), vec![MediaFix::CropToRatio(1.91)]);
        assert_eq!(fixes(&check(Network::Instagram, "", &[jpeg(2000, 2000)])), vec![MediaFix::ScaleToWidth(1440)]);
        assert_eq!(fixes(&check(Network::Instagram, "", &[jpeg(200, 200)])), vec![MediaFix::ScaleToWidth(320)]);
        // Exactly 4:5 and 1.91:1 pass.
        assert!(
            check(Network::Instagram, "", &[jpeg(1080, 1350), jpeg(1910, 1000)])
                .iter()
                .all(|i| !i.message.contains("aspect"))
        );
        let video =
            MediaFacts { format: MediaFormat::Mp4, bytes: 10, width: 1080, height: 1920, duration_ms: Some(1_000) };
        let issues = check(Network::Instagram, "", &[video]);
        assert!(issues[0].message.contains("3 seconds") && !all_fixable(&issues));
    }

    #[test]
    fn linkedin_rules() {
        assert!(check(Network::Linkedin, "text only is fine", &[]).is_empty());
        assert!(check(Network::Linkedin, &"x".repeat(3_001), &[])[0].message.contains("3000"));
        assert!(check(Network::Linkedin, "", &vec![jpeg(100, 100); 21])[0].message.contains("at most 20"));
        let webp = MediaFacts { format: MediaFormat::Webp, ..jpeg(100, 100) };
        assert_eq!(fixes(&check(Network::Linkedin, "", &[webp])), vec![MediaFix::ReencodeJpeg]);
        let huge = jpeg(8000, 6000);
        assert!(matches!(fixes(&check(Network::Linkedin, "", &[huge]))[..], [MediaFix::ScaleToWidth(w)] if w < 8000));
        let video = MediaFacts { format: MediaFormat::Mp4, ..jpeg(100, 100) };
        assert!(!all_fixable(&check(Network::Linkedin, "", &[video])));
    }

    #[test]
    fn tiktok_rules() {
        assert!(check(Network::Tiktok, "no media", &[]).iter().any(|i| i.field == "media"));
        let video =
            MediaFacts { format: MediaFormat::Mp4, bytes: 10, width: 1080, height: 1920, duration_ms: Some(9_000) };
        assert!(check(Network::Tiktok, "v", &[video]).is_empty());
        assert!(
            check(Network::Tiktok, "v", &[video, jpeg(1080, 1080)]).iter().any(|i| i.message.contains("not a mix"))
        );
        let png = MediaFacts { format: MediaFormat::Png, ..jpeg(1080, 1080) };
        assert_eq!(fixes(&check(Network::Tiktok, "", &[png])), vec![MediaFix::ReencodeJpeg]);
        assert_eq!(fixes(&check(Network::Tiktok, "", &[jpeg(2160, 2160)])), vec![MediaFix::ScaleToWidth(1080)]);
        assert!(check(Network::Tiktok, "", &vec![jpeg(1080, 1080); 36]).iter().any(|i| i.message.contains("35")));
    }

    #[test]
    fn tiktok_titles_are_cut_at_a_word() {
        assert_eq!(tiktok_photo_title("Short title\nmore"), "Short title");
        let long = "word ".repeat(40);
        let t = tiktok_photo_title(&long);
        assert!(t.chars().count() <= 90 && t.ends_with("word"));
    }
}
