//! The media library's pure parts and its object stores.
//!
//! An upload goes through [`prepare`]: the type is sniffed from the bytes (never the file name),
//! the dimensions are read from the headers, images whose declared size would explode on
//! decoding are refused before anything is decoded, metadata (EXIF with GPS, XMP, comments,
//! text chunks) is removed at the container level, losslessly, and the digest is taken of the
//! bytes that will be stored. [`fixes`] turns an image into what a network takes (crop, pad,
//! scale, JPEG). [`store`] keeps the bytes: on local disk or in an S3-compatible bucket.
//!
//! Every parser here reads hostile input: each bounds its loops and checks every offset, and
//! answers a malformed file with [`MediaError::Malformed`], never a panic.

mod bytes;
pub mod fixes;
mod gif;
mod jpeg;
mod png;
mod sniff;
pub mod store;
mod video;
mod webp;

pub use nanopost_platforms::rules::{MediaFacts, MediaFix, MediaFormat, MediaKind};
pub use sniff::sniff;

use sha2::{Digest, Sha256};
use std::io::Cursor;

/// Why a file was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// Not a type the library takes (or not media at all).
    #[error("{0}")]
    Unsupported(String),
    /// Larger than the limit for its kind.
    #[error("the {kind} is {size} bytes; the limit is {limit} bytes")]
    TooLarge { kind: &'static str, size: u64, limit: u64 },
    /// The declared dimensions would take too much memory to decode (a decompression bomb).
    #[error(
        "the image declares {width}×{height} pixels, more than the {max_megapixels} megapixels allowed; scale it down and upload it again"
    )]
    TooManyPixels { width: u32, height: u32, max_megapixels: u64 },
    /// The type is recognised but the file is broken or truncated.
    #[error("the file could not be read as {format}: {reason}")]
    Malformed { format: &'static str, reason: String },
}

impl MediaError {
    fn malformed(format: MediaFormat, reason: impl Into<String>) -> Self {
        MediaError::Malformed { format: format_name(format), reason: reason.into() }
    }
}

/// What an upload may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_image_bytes: u64,
    pub max_video_bytes: u64,
    /// Largest width × height an image may declare.
    pub max_pixels: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_image_bytes: 20 * 1024 * 1024, max_video_bytes: 200 * 1024 * 1024, max_pixels: 50_000_000 }
    }
}

impl Limits {
    pub fn max_bytes(&self, kind: MediaKind) -> u64 {
        match kind {
            MediaKind::Image => self.max_image_bytes,
            MediaKind::Video => self.max_video_bytes,
        }
    }

    /// The decoder's own limits: the pixel bound as a side bound, and memory for RGBA pixels
    /// plus a margin for the decoder's buffers.
    pub fn decoder_limits(&self) -> image::Limits {
        let mut l = image::Limits::default();
        let side = u32::try_from(self.max_pixels.min(u64::from(u32::MAX))).unwrap_or(u32::MAX);
        l.max_image_width = Some(side);
        l.max_image_height = Some(side);
        l.max_alloc = Some(self.max_pixels.saturating_mul(4).saturating_add(64 * 1024 * 1024));
        l
    }
}

/// A file ready to be stored: metadata removed, facts known, digest of these exact bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Prepared {
    pub format: MediaFormat,
    pub bytes: Vec<u8>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Videos only, when the container says.
    pub duration_ms: Option<u64>,
    /// `sha256:<hex>` of `bytes`.
    pub digest: String,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("format", &self.format)
            .field("bytes", &self.bytes.len())
            .field("width", &self.width)
            .field("height", &self.height)
            .field("duration_ms", &self.duration_ms)
            .field("digest", &self.digest)
            .finish()
    }
}

impl Prepared {
    /// The facts the per-network rules look at (unknown video dimensions count as 0).
    pub fn facts(&self) -> MediaFacts {
        MediaFacts {
            format: self.format,
            bytes: self.bytes.len() as u64,
            width: self.width.unwrap_or(0),
            height: self.height.unwrap_or(0),
            duration_ms: self.duration_ms,
        }
    }
}

/// `sha256:<hex>` of `bytes`: the digest a [`nanopost_domain::post::MediaRef`] pins.
pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in hash {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// A short name for messages.
pub fn format_name(format: MediaFormat) -> &'static str {
    match format {
        MediaFormat::Jpeg => "JPEG",
        MediaFormat::Png => "PNG",
        MediaFormat::Gif => "GIF",
        MediaFormat::Webp => "WebP",
        MediaFormat::Mp4 => "MP4",
        MediaFormat::Mov => "QuickTime (MOV)",
        MediaFormat::Webm => "WebM",
        MediaFormat::Other => "an unknown type",
    }
}

/// The file-name extension for a format (downloads, exports).
pub fn extension(format: MediaFormat) -> &'static str {
    match format {
        MediaFormat::Jpeg => "jpg",
        MediaFormat::Png => "png",
        MediaFormat::Gif => "gif",
        MediaFormat::Webp => "webp",
        MediaFormat::Mp4 => "mp4",
        MediaFormat::Mov => "mov",
        MediaFormat::Webm => "webm",
        MediaFormat::Other => "bin",
    }
}

/// Checks and cleans an upload: sniff, size limit for its kind, dimensions, the pixel bound
/// (before any decoding), metadata removal, a full decode of images under the decoder limits
/// (so a file that only looks like an image is refused), and the digest.
///
/// CPU-bound (decoding): call it from a blocking thread.
pub fn prepare(bytes: &[u8], limits: &Limits) -> Result<Prepared, MediaError> {
    let format = sniff(bytes).ok_or_else(|| {
        MediaError::Unsupported(
            "this file is not a supported image or video (JPEG, PNG, GIF, WebP, MP4, MOV or WebM); \
             the type is read from the file's content, not its name"
                .into(),
        )
    })?;
    if format == MediaFormat::Other {
        return Err(MediaError::Unsupported(sniff::unsupported_reason(bytes)));
    }
    let kind = format.kind();
    let size = bytes.len() as u64;
    let limit = limits.max_bytes(kind);
    if size > limit {
        let kind = if kind == MediaKind::Image { "image" } else { "video" };
        return Err(MediaError::TooLarge { kind, size, limit });
    }
    match kind {
        MediaKind::Image => prepare_image(format, bytes, limits),
        MediaKind::Video => {
            let info = video::inspect(format, bytes)?;
            Ok(Prepared {
                format,
                bytes: bytes.to_vec(),
                width: info.width,
                height: info.height,
                duration_ms: info.duration_ms,
                digest: digest(bytes),
            })
        }
    }
}

fn image_format(format: MediaFormat) -> Option<image::ImageFormat> {
    Some(match format {
        MediaFormat::Jpeg => image::ImageFormat::Jpeg,
        MediaFormat::Png => image::ImageFormat::Png,
        MediaFormat::Gif => image::ImageFormat::Gif,
        MediaFormat::Webp => image::ImageFormat::WebP,
        _ => return None,
    })
}

/// Width and height as declared by the headers, without decoding pixels.
fn declared_dimensions(format: MediaFormat, bytes: &[u8], limits: &Limits) -> Result<(u32, u32), MediaError> {
    let f = image_format(format).ok_or_else(|| MediaError::malformed(format, "not an image"))?;
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), f);
    // No pixel limit here: the bound is checked below with a message that says what it is.
    let mut l = image::Limits::default();
    l.max_alloc = limits.decoder_limits().max_alloc;
    reader.limits(l);
    reader.into_dimensions().map_err(|e| MediaError::malformed(format, short(&e.to_string())))
}

fn check_pixels(width: u32, height: u32, limits: &Limits) -> Result<(), MediaError> {
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(MediaError::TooManyPixels { width, height, max_megapixels: limits.max_pixels / 1_000_000 });
    }
    if width == 0 || height == 0 {
        return Err(MediaError::Malformed { format: "an image", reason: "it has no pixels".into() });
    }
    Ok(())
}

fn prepare_image(format: MediaFormat, bytes: &[u8], limits: &Limits) -> Result<Prepared, MediaError> {
    let (width, height) = declared_dimensions(format, bytes, limits)?;
    check_pixels(width, height, limits)?;
    let (clean, orientation) = match format {
        MediaFormat::Jpeg => {
            let s = jpeg::strip(bytes)?;
            (s.bytes, s.orientation)
        }
        MediaFormat::Png => (png::strip(bytes)?, None),
        MediaFormat::Webp => (webp::strip(bytes)?, None),
        MediaFormat::Gif => (gif::strip(bytes)?, None),
        _ => unreachable!("images only"),
    };
    // Decode the cleaned file fully, under the limits: refuses files that only look right.
    decode(format, &clean, limits)?;
    // Orientations 5 to 8 turn the picture a quarter: it shows as height × width.
    let (width, height) =
        if orientation.is_some_and(|o| (5..=8).contains(&o)) { (height, width) } else { (width, height) };
    let digest = digest(&clean);
    Ok(Prepared { format, bytes: clean, width: Some(width), height: Some(height), duration_ms: None, digest })
}

/// Decodes an image under the limits (the first frame of an animation).
pub(crate) fn decode(format: MediaFormat, bytes: &[u8], limits: &Limits) -> Result<image::DynamicImage, MediaError> {
    use image::ImageDecoder;
    let f = image_format(format).ok_or_else(|| MediaError::malformed(format, "not an image"))?;
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), f);
    reader.limits(limits.decoder_limits());
    let mut decoder = reader.into_decoder().map_err(|e| MediaError::malformed(format, short(&e.to_string())))?;
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img =
        image::DynamicImage::from_decoder(decoder).map_err(|e| MediaError::malformed(format, short(&e.to_string())))?;
    img.apply_orientation(orientation);
    Ok(img)
}

/// Decoder messages can be long; keep the first sentence-sized part.
fn short(s: &str) -> String {
    let s: String = s.chars().filter(|c| !c.is_control()).take(160).collect();
    if s.is_empty() { "unexpected content".into() } else { s }
}
