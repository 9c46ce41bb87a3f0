//! Offline image analysis: what can be known without a vision model (size, orientation,
//! colours, brightness), said plainly and labelled as offline.

use super::templates::{Orientation, Pack};
use crate::error::AiError;
use crate::imaging;

pub struct Facts {
    pub width: u32,
    pub height: u32,
    pub colors: Vec<String>,
    pub brightness: f64,
}

pub fn facts(bytes: &[u8]) -> Result<Facts, AiError> {
    let image = imaging::decode(bytes)?;
    let colors = imaging::dominant_colors(&image, 4)
        .into_iter()
        .filter(|(_, share)| *share >= 0.08)
        .map(|(rgb, _)| imaging::color_name(rgb))
        .fold(Vec::<String>::new(), |mut acc, name| {
            if !acc.contains(&name) {
                acc.push(name);
            }
            acc
        });
    let thumb = image.thumbnail(32, 32).to_rgb8();
    let n = thumb.pixels().len().max(1) as f64;
    let brightness = thumb.pixels().map(|p| imaging::luminance(p.0)).sum::<f64>() / n;
    Ok(Facts { width: image.width(), height: image.height(), colors, brightness })
}

pub fn alt_text(facts: &Facts, pack: &Pack) -> String {
    let orientation = match facts.width as f64 / facts.height.max(1) as f64 {
        r if r > 1.1 => Orientation::Landscape,
        r if r < 0.9 => Orientation::Portrait,
        _ => Orientation::Square,
    };
    let mut text = format!(
        "{}: {}, {}×{} {}",
        pack.alt_offline,
        (pack.orientation)(orientation),
        facts.width,
        facts.height,
        pack.pixels
    );
    let colors: Vec<&str> = facts.colors.iter().take(2).map(String::as_str).collect();
    if !colors.is_empty() {
        text.push_str(&format!(", {} {}", pack.mostly, colors.join(&format!(" {} ", pack.and))));
    }
    if facts.brightness > 0.6 {
        text.push_str(&format!(", {}", pack.bright));
    } else if facts.brightness < 0.12 {
        text.push_str(&format!(", {}", pack.dark));
    }
    text.push('.');
    text
}
