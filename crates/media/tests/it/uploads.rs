//! `prepare` on real files: metadata gone, pixels untouched, hostile files refused with a
//! reason; `fixes::apply` really crops, pads and scales.

use crate::samples::*;
use image::ImageFormat;
use nanopost_domain::network::Network;
use nanopost_media::{Limits, MediaError, MediaFix, MediaFormat, fixes, prepare};
use sha2::{Digest, Sha256};
use std::time::Instant;

fn decoded(bytes: &[u8], format: ImageFormat) -> image::RgbImage {
    image::load_from_memory_with_format(bytes, format).unwrap().into_rgb8()
}

#[test]
fn jpeg_exif_gps_xmp_and_comments_are_removed_without_touching_a_pixel() {
    let original = jpeg(320, 200);
    let dirty = jpeg_with_metadata(&original, 1);
    for marker in [GPS_MARKER, CAMERA_MARKER, XMP_MARKER, COMMENT_MARKER, "Exif", "Berlin"] {
        assert!(contains(&dirty, marker), "the sample carries {marker}");
    }
    let p = prepare(&dirty, &Limits::default()).unwrap();
    assert_eq!(p.format, MediaFormat::Jpeg);
    for marker in [GPS_MARKER, CAMERA_MARKER, XMP_MARKER, COMMENT_MARKER, "Exif", "8BIM", "Berlin", "trailing"] {
        assert!(!contains(&p.bytes, marker), "{marker} survived");
    }
    // No APP1 (EXIF/XMP) or COM segment is left at all.
    assert!(!p.bytes.windows(2).any(|w| w == [0xFF, 0xE1] || w == [0xFF, 0xFE]));
    // Lossless: the stored file is the original, byte for byte, minus the metadata.
    assert_eq!(p.bytes, original);
    assert_eq!(decoded(&p.bytes, ImageFormat::Jpeg), decoded(&dirty, ImageFormat::Jpeg));
    assert_eq!((p.width, p.height), (Some(320), Some(200)));
    let hex: String = Sha256::digest(&p.bytes).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(p.digest, format!("sha256:{hex}"));
    assert_ne!(p.digest, nanopost_media::digest(&dirty), "the digest is of the stored bytes");
}

#[test]
fn the_orientation_survives_alone_and_turns_the_reported_size() {
    let dirty = jpeg_with_metadata(&jpeg(320, 200), 6);
    let p = prepare(&dirty, &Limits::default()).unwrap();
    assert!(!contains(&p.bytes, GPS_MARKER) && !contains(&p.bytes, CAMERA_MARKER));
    // One minimal EXIF segment with the orientation tag and nothing else.
    assert_eq!(p.bytes.windows(2).filter(|w| *w == [0xFF, 0xE1]).count(), 1);
    assert!(contains(&p.bytes, "Exif"));
    assert_eq!((p.width, p.height), (Some(200), Some(320)), "a quarter turn shows portrait");
}

#[test]
fn png_text_exif_and_time_chunks_are_removed() {
    let original = png(64, 48);
    let dirty = png_with_metadata(&original);
    assert!(contains(&dirty, COMMENT_MARKER) && contains(&dirty, GPS_MARKER));
    let p = prepare(&dirty, &Limits::default()).unwrap();
    for marker in [GPS_MARKER, CAMERA_MARKER, XMP_MARKER, COMMENT_MARKER, "tEXt", "iTXt", "eXIf", "tIME"] {
        assert!(!contains(&p.bytes, marker), "{marker} survived");
    }
    assert_eq!(p.bytes, original);
    assert_eq!((p.format, p.width, p.height), (MediaFormat::Png, Some(64), Some(48)));
}

#[test]
fn gif_and_webp_are_accepted_and_measured() {
    let g = prepare(&gif(30, 20), &Limits::default()).unwrap();
    assert_eq!((g.format, g.width, g.height), (MediaFormat::Gif, Some(30), Some(20)));
    let w = prepare(&webp(30, 20), &Limits::default()).unwrap();
    assert_eq!((w.format, w.width, w.height), (MediaFormat::Webp, Some(30), Some(20)));
}

#[test]
fn the_type_comes_from_the_content_and_other_files_are_refused() {
    // Whatever it was called, a PNG is a PNG.
    assert_eq!(prepare(&png(8, 8), &Limits::default()).unwrap().format, MediaFormat::Png);
    for junk in
        [&b"<html><script>alert(1)</script></html>"[..], b"", b"%PDF-1.7", b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"]
    {
        assert!(matches!(prepare(junk, &Limits::default()), Err(MediaError::Unsupported(_))), "{junk:?}");
    }
    let heic = prepare(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", &Limits::default()).unwrap_err();
    assert!(heic.to_string().contains("HEIC"), "{heic}");
}

#[test]
fn broken_files_are_refused_with_a_reason() {
    let j = jpeg(64, 64);
    let truncated = &j[..j.len() / 2];
    let e = prepare(truncated, &Limits::default()).unwrap_err();
    assert!(matches!(e, MediaError::Malformed { format: "JPEG", .. }), "{e:?}");
    let p = png(64, 64);
    let e = prepare(&p[..p.len() - 20], &Limits::default()).unwrap_err();
    assert!(matches!(e, MediaError::Malformed { .. }), "{e:?}");
    // A JPEG header followed by garbage: structurally walkable, refused by the full decode.
    let mut fake = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0".to_vec();
    fake.extend_from_slice(b"\xFF\xD9");
    assert!(prepare(&fake, &Limits::default()).is_err());
}

#[test]
fn a_decompression_bomb_is_refused_before_decoding() {
    let bomb = png_bomb(100_000, 100_000);
    assert!(bomb.len() < 200, "the file itself is tiny");
    let started = Instant::now();
    let e = prepare(&bomb, &Limits::default()).unwrap_err();
    assert!(matches!(e, MediaError::TooManyPixels { width: 100_000, height: 100_000, max_megapixels: 50 }), "{e:?}");
    assert!(e.to_string().contains("50 megapixels"), "{e}");
    // Refused from the header: no 30 GB allocation, no seconds of work.
    assert!(started.elapsed().as_secs() < 2);
    let tight = Limits { max_pixels: 100, ..Limits::default() };
    assert!(matches!(prepare(&png(11, 10), &tight), Err(MediaError::TooManyPixels { .. })));
}

#[test]
fn size_limits_depend_on_the_kind() {
    let limits = Limits { max_image_bytes: 500, max_video_bytes: 100_000, ..Limits::default() };
    let big = png(200, 200);
    assert!(matches!(prepare(&big, &limits), Err(MediaError::TooLarge { kind: "image", limit: 500, .. })));
    let video = mp4(1080, 1920, 9);
    let p = prepare(&video, &limits).unwrap();
    assert_eq!((p.format, p.width, p.height, p.duration_ms), (MediaFormat::Mp4, Some(1080), Some(1920), Some(9_000)));
    assert_eq!(p.bytes, video, "videos are stored as uploaded");
    let small = Limits { max_video_bytes: 100, ..limits };
    assert!(matches!(prepare(&video, &small), Err(MediaError::TooLarge { kind: "video", .. })));
}

#[test]
fn fixes_crop_pad_and_scale_into_a_jpeg() {
    let limits = Limits::default();
    // Too wide for Instagram, and a PNG with transparency: crop to 1.91 and convert.
    let wide = prepare(&png_with_alpha(1000, 400), &limits).unwrap();
    let plan = fixes::plan(Network::Instagram, wide.facts()).unwrap();
    assert_eq!(plan, vec![MediaFix::CropToRatio(1.91), MediaFix::ReencodeJpeg]);
    let out = fixes::apply(&wide.bytes, wide.format, &plan, [255, 255, 255], &limits).unwrap();
    assert_eq!((out.format, out.width, out.height), (MediaFormat::Jpeg, Some(764), Some(400)));
    assert!(fixes::issues(Network::Instagram, out.facts()).is_empty());
    assert_eq!(out.digest, nanopost_media::digest(&out.bytes));

    // Too tall: letterboxed in the brand colour, then scaled to 1440 wide.
    let tall = prepare(&jpeg(1600, 3200), &limits).unwrap();
    let plan = fixes::plan(Network::Instagram, tall.facts()).unwrap();
    assert_eq!(plan, vec![MediaFix::PadToRatio(0.8), MediaFix::ScaleToWidth(1440)]);
    let brand = [0x10, 0x60, 0xC0];
    let out = fixes::apply(&tall.bytes, tall.format, &plan, brand, &limits).unwrap();
    assert_eq!((out.width, out.height), (Some(1440), Some(1800)));
    let img = decoded(&out.bytes, ImageFormat::Jpeg);
    let edge = img.get_pixel(3, 900);
    for (got, want) in edge.0.iter().zip(brand) {
        assert!(got.abs_diff(want) < 12, "the padding is the brand colour: {edge:?}");
    }
    assert!(fixes::issues(Network::Instagram, out.facts()).is_empty());

    // Videos are not "fixed".
    let video = prepare(&mp4(100, 100, 1), &limits).unwrap();
    assert!(fixes::plan(Network::Instagram, video.facts()).is_err());
    assert!(fixes::apply(&video.bytes, video.format, &[MediaFix::ReencodeJpeg], [0; 3], &limits).is_err());
}
