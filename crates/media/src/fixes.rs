//! Turning an image into what a network takes: which fixes ([`plan`]) and doing them
//! ([`apply`]). The result is always a JPEG, so the rendition is a new file with its own
//! digest, and the reviewer approves the fixed picture (invariant I1).

use crate::{Limits, MediaError, MediaFacts, MediaFix, MediaFormat, MediaKind, Prepared, decode, digest};
use image::imageops::FilterType;
use image::{DynamicImage, Rgb, RgbImage};
use nanopost_domain::network::Network;
use nanopost_platforms::rules::{self, RuleIssue};

/// JPEG quality of renditions: visually lossless for photos, a fraction of PNG's size.
pub const JPEG_QUALITY: u8 = 90;

/// The most rounds of "fix, then check the result again" (a pad can make a picture wider than
/// allowed; the next round scales it).
const MAX_ROUNDS: usize = 4;

/// The issues of one media item on `network` (its own field, not the post's item count).
pub fn issues(network: Network, facts: MediaFacts) -> Vec<RuleIssue> {
    rules::check(network, "", &[facts]).into_iter().filter(|i| i.field == "media.0").collect()
}

/// The fixes that make `facts` acceptable on `network`, in the order to apply them; empty when
/// it is fine as it is. The issues that no fix cures are the error.
pub fn plan(network: Network, facts: MediaFacts) -> Result<Vec<MediaFix>, Vec<RuleIssue>> {
    let mut planned: Vec<MediaFix> = Vec::new();
    let mut now = facts;
    for _ in 0..MAX_ROUNDS {
        let found = issues(network, now);
        if found.is_empty() {
            return Ok(planned);
        }
        let unfixable: Vec<RuleIssue> = found.iter().filter(|i| i.fix.is_none()).cloned().collect();
        if !unfixable.is_empty() || now.kind() != MediaKind::Image {
            return Err(if unfixable.is_empty() { found } else { unfixable });
        }
        // Shape first (crop or pad), then size: scaling last gives the exact width asked for.
        let mut round: Vec<MediaFix> = found.iter().filter_map(|i| i.fix).collect();
        round.sort_by_key(|f| match f {
            MediaFix::CropToRatio(_) | MediaFix::PadToRatio(_) => 0,
            MediaFix::ScaleToWidth(_) => 1,
            MediaFix::ReencodeJpeg => 2,
        });
        for fix in round {
            if fix == MediaFix::ReencodeJpeg && planned.contains(&MediaFix::ReencodeJpeg) {
                continue;
            }
            now = simulate(now, fix);
            planned.push(fix);
        }
    }
    let left = issues(network, now);
    if left.is_empty() { Ok(planned) } else { Err(left) }
}

/// The facts after `fix` (the size in bytes is unknown until encoded: counted as 0).
pub fn simulate(f: MediaFacts, fix: MediaFix) -> MediaFacts {
    let (w, h) = target_size(f.width.max(1), f.height.max(1), fix);
    MediaFacts { format: MediaFormat::Jpeg, bytes: 0, width: w, height: h, duration_ms: None }
}

/// The size a fix produces from `w` × `h`. Crops round down and pads round up, so the ratio
/// lands on the allowed side of the bound.
fn target_size(w: u32, h: u32, fix: MediaFix) -> (u32, u32) {
    let (wf, hf) = (f64::from(w), f64::from(h));
    let clamp = |v: f64| v.clamp(1.0, f64::from(u32::MAX)) as u32;
    match fix {
        MediaFix::ReencodeJpeg => (w, h),
        MediaFix::CropToRatio(r) if r > 0.0 => {
            if wf / hf > r {
                (clamp((hf * r).floor()), h)
            } else {
                (w, clamp((wf / r).floor()))
            }
        }
        MediaFix::PadToRatio(r) if r > 0.0 => {
            if wf / hf < r {
                (clamp((hf * r).ceil()), h)
            } else {
                (w, clamp((wf / r).ceil()))
            }
        }
        MediaFix::ScaleToWidth(target) if target > 0 => (target, clamp((hf * f64::from(target) / wf).round())),
        _ => (w, h),
    }
}

/// Decodes the image, applies `fixes` in order and encodes a JPEG. `pad` is the letterbox
/// colour (and the background of transparent pixels).
pub fn apply(
    bytes: &[u8],
    format: MediaFormat,
    fixes: &[MediaFix],
    pad: [u8; 3],
    limits: &Limits,
) -> Result<Prepared, MediaError> {
    if format.kind() != MediaKind::Image {
        return Err(MediaError::Unsupported("videos cannot be cropped, padded or scaled here".into()));
    }
    let mut img = flatten(decode(format, bytes, limits)?, pad);
    for fix in fixes {
        let (w, h) = target_size(img.width(), img.height(), *fix);
        if u64::from(w) * u64::from(h) > limits.max_pixels {
            return Err(MediaError::TooManyPixels {
                width: w,
                height: h,
                max_megapixels: limits.max_pixels / 1_000_000,
            });
        }
        img = match fix {
            MediaFix::ReencodeJpeg => img,
            MediaFix::CropToRatio(_) => {
                let x = (img.width() - w) / 2;
                let y = (img.height() - h) / 2;
                image::imageops::crop_imm(&img, x, y, w, h).to_image()
            }
            MediaFix::PadToRatio(_) => {
                let mut canvas = RgbImage::from_pixel(w, h, Rgb(pad));
                let x = i64::from((w - img.width()) / 2);
                let y = i64::from((h - img.height()) / 2);
                image::imageops::overlay(&mut canvas, &img, x, y);
                canvas
            }
            MediaFix::ScaleToWidth(_) => image::imageops::resize(&img, w, h, FilterType::CatmullRom),
        };
    }
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
    DynamicImage::ImageRgb8(img)
        .write_with_encoder(encoder)
        .map_err(|e| MediaError::Malformed { format: "JPEG", reason: format!("encoding failed: {e}") })?;
    let (width, height) = image::ImageReader::with_format(std::io::Cursor::new(&out), image::ImageFormat::Jpeg)
        .into_dimensions()
        .map_err(|e| MediaError::Malformed { format: "JPEG", reason: format!("encoded file unreadable: {e}") })?;
    Ok(Prepared {
        format: MediaFormat::Jpeg,
        digest: digest(&out),
        bytes: out,
        width: Some(width),
        height: Some(height),
        duration_ms: None,
    })
}

/// RGB pixels, transparent ones blended onto `background`.
fn flatten(img: DynamicImage, background: [u8; 3]) -> RgbImage {
    if !img.color().has_alpha() {
        return img.into_rgb8();
    }
    let rgba = img.into_rgba8();
    let mut out = RgbImage::new(rgba.width(), rgba.height());
    for (x, y, p) in rgba.enumerate_pixels() {
        let a = u16::from(p[3]);
        let mix = |c: u8, bg: u8| ((u16::from(c) * a + u16::from(bg) * (255 - a)) / 255) as u8;
        out.put_pixel(x, y, Rgb([mix(p[0], background[0]), mix(p[1], background[1]), mix(p[2], background[2])]));
    }
    out
}

/// `#rrggbb` as RGB; white for anything else.
pub fn parse_colour(s: &str) -> [u8; 3] {
    let hex = s.trim().trim_start_matches('#');
    if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        let v = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(255);
        [v(0), v(2), v(4)]
    } else {
        [255, 255, 255]
    }
}

/// The fixes as canonical JSON: the cache key of a rendition (same parent, same key, same
/// bytes) and its record. The pad colour is part of a pad fix.
pub fn to_json(fixes: &[MediaFix], pad: [u8; 3]) -> String {
    let items: Vec<serde_json::Value> = fixes
        .iter()
        .map(|f| match f {
            MediaFix::ReencodeJpeg => serde_json::json!({ "reencode_jpeg": true }),
            MediaFix::CropToRatio(r) => serde_json::json!({ "crop_to_ratio": r }),
            MediaFix::PadToRatio(r) => serde_json::json!({
                "pad_to_ratio": r,
                "colour": format!("#{:02x}{:02x}{:02x}", pad[0], pad[1], pad[2]),
            }),
            MediaFix::ScaleToWidth(w) => serde_json::json!({ "scale_to_width": w }),
        })
        .collect();
    serde_json::Value::Array(items).to_string()
}

/// The fixes of [`to_json`] text; `None` if it is not such text.
pub fn from_json(s: &str) -> Option<Vec<MediaFix>> {
    let v: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_str(s).ok()?;
    v.iter()
        .map(|o| {
            if o.contains_key("reencode_jpeg") {
                Some(MediaFix::ReencodeJpeg)
            } else if let Some(r) = o.get("crop_to_ratio") {
                Some(MediaFix::CropToRatio(r.as_f64()?))
            } else if let Some(r) = o.get("pad_to_ratio") {
                Some(MediaFix::PadToRatio(r.as_f64()?))
            } else {
                let w = o.get("scale_to_width")?.as_u64()?;
                Some(MediaFix::ScaleToWidth(u32::try_from(w).ok()?))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(w: u32, h: u32) -> MediaFacts {
        MediaFacts { format: MediaFormat::Jpeg, bytes: 100_000, width: w, height: h, duration_ms: None }
    }

    #[test]
    fn plans_reach_an_acceptable_picture() {
        assert_eq!(plan(Network::Instagram, jpeg(1080, 1080)).unwrap(), vec![]);
        // Too tall: pad to 4:5, which makes it wider than 1440, so the next round scales.
        let p = plan(Network::Instagram, jpeg(2000, 4000)).unwrap();
        assert_eq!(p, vec![MediaFix::PadToRatio(0.8), MediaFix::ScaleToWidth(1440)]);
        let png = MediaFacts { format: MediaFormat::Png, ..jpeg(1080, 400) };
        let p = plan(Network::Instagram, png).unwrap();
        assert_eq!(p, vec![MediaFix::CropToRatio(1.91), MediaFix::ReencodeJpeg]);
        let mut f = png;
        for fix in &p {
            f = simulate(f, *fix);
        }
        assert!(issues(Network::Instagram, f).is_empty(), "{f:?}");
        let video =
            MediaFacts { format: MediaFormat::Mp4, bytes: 10, width: 100, height: 100, duration_ms: Some(1_000) };
        assert!(plan(Network::Instagram, video).is_err());
        assert!(plan(Network::Linkedin, video).is_err());
    }

    #[test]
    fn every_ratio_lands_inside_the_bounds() {
        for w in (50..3000).step_by(97) {
            for h in (50..3000).step_by(89) {
                let facts = jpeg(w, h);
                let fixes = plan(Network::Instagram, facts).unwrap_or_else(|e| panic!("{w}x{h}: {e:?}"));
                let mut f = facts;
                for fix in fixes {
                    f = simulate(f, fix);
                }
                assert!(issues(Network::Instagram, f).is_empty(), "{w}x{h} -> {f:?}");
            }
        }
    }

    #[test]
    fn fixes_round_trip_through_json() {
        let fixes = vec![MediaFix::PadToRatio(0.8), MediaFix::ScaleToWidth(1440), MediaFix::ReencodeJpeg];
        let json = to_json(&fixes, [0x11, 0x22, 0x33]);
        assert!(json.contains("#112233"));
        assert_eq!(from_json(&json).unwrap(), fixes);
        assert_eq!(from_json("nonsense"), None);
        assert_eq!(parse_colour("#0A0b0C"), [10, 11, 12]);
        assert_eq!(parse_colour("red"), [255, 255, 255]);
    }
}
