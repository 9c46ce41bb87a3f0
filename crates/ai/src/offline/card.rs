//! Brand cards rendered locally: the brand's colours, its logo, a headline in DejaVu Sans (from
//! the `dejavu` crate, so the font ships inside the binary), at the network's pixel size.

use crate::error::AiError;
use crate::format::CardFormat;
use crate::imaging::{self, contrast, mix, parse_hex};
use crate::rng::SeededRng;
use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont, point};
use image::RgbImage;

const WHITE: [u8; 3] = [255, 255, 255];
const INK: [u8; 3] = [17, 17, 17];

/// Used when the brand has no colours yet.
const DEFAULT_PALETTES: &[[&str; 2]] = &[
    ["#1f3a5f", "#f2a541"],
    ["#2d6a4f", "#d8f3dc"],
    ["#3d155f", "#ff7a5c"],
    ["#22223b", "#c9ada7"],
    ["#005f73", "#e9d8a6"],
];

pub struct Fonts {
    bold: FontRef<'static>,
    regular: FontRef<'static>,
}

impl Fonts {
    pub fn load() -> Self {
        // The bundled files are known-good TrueType fonts; failing here is a packaging bug.
        let bold = FontRef::try_from_slice(dejavu::sans::bold()).expect("bundled DejaVu Sans Bold parses");
        let regular = FontRef::try_from_slice(dejavu::sans::regular()).expect("bundled DejaVu Sans parses");
        Fonts { bold, regular }
    }
}

pub struct CardSpec<'a> {
    pub format: CardFormat,
    pub brand_name: &'a str,
    pub colors: &'a [String],
    pub headline: &'a str,
    pub logo: Option<&'a [u8]>,
    pub seed: u64,
}

pub struct Card {
    pub image: RgbImage,
    pub notes: Vec<String>,
}

#[derive(Clone, Copy)]
enum Layout {
    Gradient,
    Band,
    Bar,
}

pub fn render(fonts: &Fonts, spec: &CardSpec<'_>) -> Result<Card, AiError> {
    let (w, h) = spec.format.size();
    let mut rng = SeededRng::derive(spec.seed, "card");
    let mut notes = Vec::new();
    let (c0, c1) = palette(spec.colors, &mut rng);
    let layout = [Layout::Gradient, Layout::Band, Layout::Bar][rng.below(3)];
    let mut img = RgbImage::new(w, h);
    let pad = (w.min(h) as f32 * 0.08).round();

    // Background, and the box the headline goes in: (top, bottom, left) and its backdrop colour.
    let (text_top, text_bottom, left, backdrop, footer_bg) = match layout {
        Layout::Gradient => {
            // The text crosses the whole gradient: stop it where the text would lose contrast.
            let ink = best_ink(c0);
            let mut end = c1;
            let mut t = 1.0;
            while contrast(ink, end) < 3.0 && t > 0.0 {
                t -= 0.1;
                end = mix(c0, c1, t);
            }
            fill_gradient(&mut img, c0, end);
            (h as f32 * 0.18, h as f32 * 0.82, pad, c0, mix(c0, end, 0.9))
        }
        Layout::Band => {
            let band = (h as f32 * 0.74) as u32;
            fill_rect(&mut img, 0, 0, w, band, c0);
            fill_rect(&mut img, 0, band, w, h - band, c1);
            (h as f32 * 0.16, band as f32 - pad * 0.6, pad, c0, c1)
        }
        Layout::Bar => {
            fill_rect(&mut img, 0, 0, w, h, c0);
            let r = w.max(h) as f32 * 0.42;
            fill_circle(&mut img, w as f32 * 0.92, h as f32 * 0.9, r, mix(c0, c1, 0.3));
            let bar = (w as f32 * 0.035).round() as u32;
            fill_rect(&mut img, 0, 0, bar, h, c1);
            (h as f32 * 0.18, h as f32 * 0.8, pad + bar as f32, c0, mix(c0, c1, 0.3))
        }
    };

    if let Some(bytes) = spec.logo {
        match draw_logo(&mut img, bytes, left as i64, (pad * 0.7) as i64) {
            Ok(()) => {}
            Err(e) => notes.push(format!("The logo was left out: {e}")),
        }
    }

    let ink = best_ink(backdrop);
    let max_width = w as f32 - left - pad;
    let headline: String =
        spec.headline.chars().filter(|c| c.is_whitespace() || fonts.bold.glyph_id(*c).0 != 0).collect();
    let headline = headline.split_whitespace().collect::<Vec<_>>().join(" ");
    let max_lines = match spec.format {
        CardFormat::Landscape => 3,
        CardFormat::Square => 4,
        CardFormat::Portrait => 5,
        CardFormat::Story => 6,
    };
    let start = match spec.format {
        CardFormat::Landscape => h as f32 * 0.12,
        CardFormat::Square => w as f32 * 0.085,
        _ => w as f32 * 0.095,
    };
    let (size, lines) = fit_text(&fonts.bold, &headline, start, max_width, text_bottom - text_top, max_lines);
    let sf = fonts.bold.as_scaled(PxScale::from(size));
    let line_height = sf.height() * 1.12;
    let block = line_height * lines.len() as f32;
    let mut y = text_top + ((text_bottom - text_top) - block).max(0.0) / 2.0;
    for line in &lines {
        draw_text(&mut img, &fonts.bold, size, left, y + sf.ascent(), line, ink);
        y += line_height;
    }
    if !lines.is_empty() {
        let accent = if contrast(c1, backdrop) >= 2.0 && !matches!(layout, Layout::Band) { c1 } else { ink };
        fill_rect(
            &mut img,
            left as u32,
            (y + size * 0.25) as u32,
            (w as f32 * 0.18) as u32,
            (h as f32 * 0.008).max(4.0) as u32,
            accent,
        );
    }

    let name_size = w.min(h) as f32 * 0.045;
    let name: String =
        spec.brand_name.chars().filter(|c| c.is_whitespace() || fonts.regular.glyph_id(*c).0 != 0).collect();
    let name = fit_line(&fonts.regular, name.trim(), name_size, w as f32 - left - pad);
    let nsf = fonts.regular.as_scaled(PxScale::from(name_size));
    let baseline = h as f32 - pad * 0.8 + nsf.descent();
    draw_text(&mut img, &fonts.regular, name_size, left, baseline, &name, best_ink(footer_bg));
    Ok(Card { image: img, notes })
}

fn palette(colors: &[String], rng: &mut SeededRng) -> ([u8; 3], [u8; 3]) {
    let parsed: Vec<[u8; 3]> = colors.iter().filter_map(|c| parse_hex(c)).collect();
    match parsed.as_slice() {
        [] => {
            let p = DEFAULT_PALETTES[rng.below(DEFAULT_PALETTES.len())];
            (parse_hex(p[0]).unwrap_or(INK), parse_hex(p[1]).unwrap_or(WHITE))
        }
        [only] => {
            // One colour: pair it with a shade of itself.
            let other = if imaging::luminance(*only) > 0.4 { mix(*only, INK, 0.55) } else { mix(*only, WHITE, 0.55) };
            (*only, other)
        }
        [first, rest @ ..] => (*first, rest[rng.below(rest.len())]),
    }
}

fn best_ink(background: [u8; 3]) -> [u8; 3] {
    if contrast(WHITE, background) >= contrast(INK, background) { WHITE } else { INK }
}

fn fill_rect(img: &mut RgbImage, x: u32, y: u32, w: u32, h: u32, color: [u8; 3]) {
    let (iw, ih) = img.dimensions();
    let (x0, x1) = (x.min(iw) as usize, x.saturating_add(w).min(iw) as usize);
    let stride = iw as usize * 3;
    let buf: &mut [u8] = img.as_mut();
    for row in buf.chunks_exact_mut(stride).take(y.saturating_add(h).min(ih) as usize).skip(y.min(ih) as usize) {
        for px in row[x0 * 3..x1 * 3].chunks_exact_mut(3) {
            px.copy_from_slice(&color);
        }
    }
}

fn fill_gradient(img: &mut RgbImage, from: [u8; 3], to: [u8; 3]) {
    let (w, h) = img.dimensions();
    let table: Vec<[u8; 3]> = (0..=255).map(|i| mix(from, to, f64::from(i) / 255.0)).collect();
    // Diagonal: 60 % of the change across, 40 % down.
    let across: Vec<usize> = (0..w).map(|x| (x as usize * 153) / w.max(1) as usize).collect();
    let buf: &mut [u8] = img.as_mut();
    for (y, row) in buf.chunks_exact_mut(w as usize * 3).enumerate() {
        let down = y * 102 / h.max(1) as usize;
        for (px, a) in row.chunks_exact_mut(3).zip(&across) {
            px.copy_from_slice(&table[(a + down).min(255)]);
        }
    }
}

fn fill_circle(img: &mut RgbImage, cx: f32, cy: f32, r: f32, color: [u8; 3]) {
    let (w, h) = img.dimensions();
    let y0 = (cy - r).max(0.0) as u32;
    let y1 = ((cy + r).ceil() as u32).min(h);
    for y in y0..y1 {
        let dy = y as f32 + 0.5 - cy;
        let half = (r * r - dy * dy).max(0.0).sqrt();
        let x0 = (cx - half).max(0.0) as u32;
        let x1 = ((cx + half).ceil().max(0.0) as u32).min(w);
        fill_rect(img, x0, y, x1.saturating_sub(x0), 1, color);
    }
}

fn draw_logo(img: &mut RgbImage, bytes: &[u8], x: i64, y: i64) -> Result<(), AiError> {
    let logo = imaging::decode(bytes)?.to_rgba8();
    let (w, h) = img.dimensions();
    let (max_w, max_h) = ((w as f32 * 0.24) as u32, (h as f32 * 0.11) as u32);
    let scale = (max_w as f32 / logo.width() as f32).min(max_h as f32 / logo.height() as f32);
    let (lw, lh) = (((logo.width() as f32 * scale) as u32).max(1), ((logo.height() as f32 * scale) as u32).max(1));
    let logo = image::imageops::resize(&logo, lw, lh, image::imageops::FilterType::Triangle);
    for (lx, ly, p) in logo.enumerate_pixels() {
        let (px, py) = (x + i64::from(lx), y + i64::from(ly));
        if px < 0 || py < 0 || px >= i64::from(w) || py >= i64::from(h) {
            continue;
        }
        let dst = img.get_pixel_mut(px as u32, py as u32);
        dst.0 = mix(dst.0, [p[0], p[1], p[2]], f64::from(p[3]) / 255.0);
    }
    Ok(())
}

fn glyphs(font: &FontRef<'static>, text: &str) -> Vec<GlyphId> {
    text.chars().map(|c| font.glyph_id(c)).collect()
}

fn text_width(font: &FontRef<'static>, size: f32, text: &str) -> f32 {
    let sf = font.as_scaled(PxScale::from(size));
    let mut width = 0.0;
    let mut prev: Option<GlyphId> = None;
    for id in glyphs(font, text) {
        if let Some(p) = prev {
            width += sf.kern(p, id);
        }
        width += sf.h_advance(id);
        prev = Some(id);
    }
    width
}

fn draw_text(
    img: &mut RgbImage,
    font: &FontRef<'static>,
    size: f32,
    x: f32,
    baseline: f32,
    text: &str,
    color: [u8; 3],
) {
    let scale = PxScale::from(size);
    let sf = font.as_scaled(scale);
    let (w, h) = img.dimensions();
    let mut caret = x;
    let mut prev: Option<GlyphId> = None;
    for id in glyphs(font, text) {
        if let Some(p) = prev {
            caret += sf.kern(p, id);
        }
        let glyph = id.with_scale_and_position(scale, point(caret, baseline));
        caret += sf.h_advance(id);
        prev = Some(id);
        let Some(outline) = font.outline_glyph(glyph) else { continue };
        let bounds = outline.px_bounds();
        outline.draw(|gx, gy, coverage| {
            let px = bounds.min.x as i64 + i64::from(gx);
            let py = bounds.min.y as i64 + i64::from(gy);
            if px >= 0 && py >= 0 && px < i64::from(w) && py < i64::from(h) {
                let dst = img.get_pixel_mut(px as u32, py as u32);
                dst.0 = mix(dst.0, color, f64::from(coverage.clamp(0.0, 1.0)));
            }
        });
    }
}

/// Greedy word wrap; words wider than the line are split.
fn wrap(font: &FontRef<'static>, size: f32, text: &str, max_width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let candidate = if current.is_empty() { word.to_owned() } else { format!("{current} {word}") };
        if text_width(font, size, &candidate) <= max_width {
            current = candidate;
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        if text_width(font, size, word) <= max_width {
            current = word.to_owned();
        } else {
            for c in word.chars() {
                let next = format!("{current}{c}");
                if !current.is_empty() && text_width(font, size, &next) > max_width {
                    lines.push(std::mem::replace(&mut current, c.to_string()));
                } else {
                    current = next;
                }
            }
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

/// The largest size (from `start`, down to a legible minimum) at which the text fits the box.
fn fit_text(
    font: &FontRef<'static>,
    text: &str,
    start: f32,
    max_width: f32,
    max_height: f32,
    max_lines: usize,
) -> (f32, Vec<String>) {
    let min = start * 0.4;
    let mut size = start;
    loop {
        let lines = wrap(font, size, text, max_width);
        let height = font.as_scaled(PxScale::from(size)).height() * 1.12 * lines.len() as f32;
        if (lines.len() <= max_lines && height <= max_height) || size <= min {
            let mut lines = lines;
            if lines.len() > max_lines {
                lines.truncate(max_lines);
                if let Some(last) = lines.last_mut() {
                    *last = fit_line(font, &format!("{last}…"), size, max_width);
                }
            }
            return (size, lines);
        }
        size = (size * 0.92).max(min);
    }
}

/// One line, cut with `…` until it fits.
fn fit_line(font: &FontRef<'static>, text: &str, size: f32, max_width: f32) -> String {
    if text_width(font, size, text) <= max_width {
        return text.to_owned();
    }
    let mut chars: Vec<char> = text.trim_end_matches('…').chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let candidate: String = chars.iter().collect::<String>().trim_end().to_owned() + "…";
        if text_width(font, size, &candidate) <= max_width {
            return candidate;
        }
    }
    String::new()
}
