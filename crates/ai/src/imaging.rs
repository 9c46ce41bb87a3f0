//! Image plumbing shared by the providers: type sniffing, bounded decoding, fitting to a size,
//! JPEG encoding, colours.

use crate::error::AiError;
use image::{DynamicImage, ImageReader, Limits, RgbImage};
use std::io::Cursor;

/// Largest image accepted for analysis or as a logo (the providers' own limit is 20 MB).
pub const MAX_INPUT_BYTES: usize = 20 * 1024 * 1024;
/// Largest side decoded: a decompression-bomb guard.
pub const MAX_SIDE: u32 = 8_192;
const MAX_ALLOC: u64 = 256 * 1024 * 1024;
pub const JPEG_QUALITY: u8 = 88;

/// The MIME type by magic bytes (never by a file name): the four types vision APIs accept.
pub fn sniff_mime(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// Decodes JPEG or PNG bytes within size limits.
pub fn decode(bytes: &[u8]) -> Result<DynamicImage, AiError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(AiError::InvalidInput(format!("the image is larger than {} MB", MAX_INPUT_BYTES / 1024 / 1024)));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| AiError::InvalidInput(format!("unreadable image: {e}")))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    reader.decode().map_err(|e| AiError::InvalidInput(format!("unreadable image (JPEG or PNG expected): {e}")))
}

/// Scales and centre-crops to exactly `width`×`height`.
pub fn fill(image: &DynamicImage, width: u32, height: u32) -> RgbImage {
    if image.width() == width && image.height() == height {
        return image.to_rgb8();
    }
    image.resize_to_fill(width, height, image::imageops::FilterType::Triangle).to_rgb8()
}

pub fn encode_jpeg(image: &RgbImage) -> Result<Vec<u8>, AiError> {
    let mut out = Vec::with_capacity(256 * 1024);
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
    image.write_with_encoder(encoder).map_err(|e| AiError::Image(format!("JPEG encoding failed: {e}")))?;
    Ok(out)
}

/// `#rrggbb` → RGB.
pub fn parse_hex(color: &str) -> Option<[u8; 3]> {
    let hex = color.trim().strip_prefix('#')?;
    if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let v = u32::from_str_radix(hex, 16).ok()?;
    Some([(v >> 16) as u8, (v >> 8) as u8, v as u8])
}

/// Relative luminance (WCAG), 0 (black) to 1 (white).
pub fn luminance([r, g, b]: [u8; 3]) -> f64 {
    let lin = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
}

pub fn contrast(a: [u8; 3], b: [u8; 3]) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

pub fn mix(a: [u8; 3], b: [u8; 3], t: f64) -> [u8; 3] {
    let t = t.clamp(0.0, 1.0);
    let m = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * t).round() as u8;
    [m(a[0], b[0]), m(a[1], b[1]), m(a[2], b[2])]
}

/// The most common colours of an image (coarse buckets of a thumbnail), most common first, with
/// their share of the pixels.
pub fn dominant_colors(image: &DynamicImage, count: usize) -> Vec<([u8; 3], f64)> {
    let thumb = image.thumbnail(64, 64).to_rgb8();
    let mut buckets = std::collections::HashMap::<u16, (u64, [u64; 3])>::new();
    for p in thumb.pixels() {
        let key = (u16::from(p[0] >> 5) << 6) | (u16::from(p[1] >> 5) << 3) | u16::from(p[2] >> 5);
        let e = buckets.entry(key).or_insert((0, [0; 3]));
        e.0 += 1;
        for (sum, c) in e.1.iter_mut().zip(p.0) {
            *sum += u64::from(c);
        }
    }
    let total = thumb.pixels().len().max(1) as f64;
    let mut all: Vec<_> = buckets
        .into_iter()
        .map(|(key, (n, sums))| (n, key, [(sums[0] / n) as u8, (sums[1] / n) as u8, (sums[2] / n) as u8]))
        .collect();
    all.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    all.into_iter().take(count).map(|(n, _, rgb)| (rgb, n as f64 / total)).collect()
}

/// A plain-language name for a colour ("dark blue", "white").
pub fn color_name([r, g, b]: [u8; 3]) -> String {
    let (rf, gf, bf) = (f64::from(r) / 255.0, f64::from(g) / 255.0, f64::from(b) / 255.0);
    let max = rf.max(gf).max(bf);
    let min = rf.min(gf).min(bf);
    let light = (max + min) / 2.0;
    let chroma = max - min;
    if chroma < 0.12 {
        return match light {
            l if l < 0.15 => "black",
            l if l < 0.4 => "dark grey",
            l if l < 0.75 => "grey",
            l if l < 0.92 => "light grey",
            _ => "white",
        }
        .to_owned();
    }
    let hue = if max == rf {
        60.0 * (((gf - bf) / chroma).rem_euclid(6.0))
    } else if max == gf {
        60.0 * ((bf - rf) / chroma + 2.0)
    } else {
        60.0 * ((rf - gf) / chroma + 4.0)
    };
    let base = match hue {
        h if h < 15.0 => "red",
        h if h < 40.0 => "orange",
        h if h < 65.0 => "yellow",
        h if h < 160.0 => "green",
        h if h < 195.0 => "teal",
        h if h < 255.0 => "blue",
        h if h < 290.0 => "purple",
        h if h < 335.0 => "pink",
        _ => "red",
    };
    let base = if base == "orange" && light < 0.35 { "brown" } else { base };
    match light {
        l if l < 0.3 => format!("dark {base}"),
        l if l > 0.75 => format!("light {base}"),
        _ => base.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours() {
        assert_eq!(parse_hex("#ff8000"), Some([255, 128, 0]));
        assert_eq!(parse_hex("red"), None);
        assert_eq!(color_name([255, 255, 255]), "white");
        assert_eq!(color_name([10, 20, 120]), "dark blue");
        assert_eq!(color_name([220, 30, 30]), "red");
        assert!(contrast([0, 0, 0], [255, 255, 255]) > 20.0);
    }

    #[test]
    fn sniffing() {
        assert_eq!(sniff_mime(&[0xff, 0xd8, 0xff, 0xe0]), Some("image/jpeg"));
        assert_eq!(sniff_mime(b"GIF89a...."), Some("image/gif"));
        assert_eq!(sniff_mime(b"<html>"), None);
    }
}
