//! JPEG metadata removal at the segment level: no pixel is decoded or re-encoded.
//!
//! Kept: the JFIF header (APP0), an ICC colour profile (APP2 `ICC_PROFILE`), the Adobe
//! colour-transform segment (APP14, needed to read CMYK files right), and every segment the
//! decoder needs (tables, frame, scans). Dropped: EXIF and XMP (APP1: camera, GPS position,
//! time, serial numbers), every other APPn, comments (COM), and anything after the end marker.
//! The EXIF orientation is the one fact worth keeping; it comes back as a minimal EXIF segment
//! holding that tag alone, so phones' portrait pictures still show upright.

use crate::bytes::{be_u16, be_u32, le_u16, le_u32, slice, u8_at};
use crate::{MediaError, MediaFormat};

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const APP0: u8 = 0xE0;
const APP1: u8 = 0xE1;
const APP2: u8 = 0xE2;
const APP14: u8 = 0xEE;
const COM: u8 = 0xFE;

/// The most segments a file may have; real files have a few dozen.
const MAX_SEGMENTS: usize = 100_000;

pub struct Stripped {
    pub bytes: Vec<u8>,
    /// The EXIF orientation (1 to 8) the original carried, if not 1.
    pub orientation: Option<u16>,
}

fn bad(reason: &str) -> MediaError {
    MediaError::malformed(MediaFormat::Jpeg, reason)
}

pub fn strip(b: &[u8]) -> Result<Stripped, MediaError> {
    if b.get(..2) != Some(&[0xFF, SOI]) {
        return Err(bad("it does not start with a JPEG marker"));
    }
    // Segments kept, as (marker, whole segment bytes including the marker).
    let mut head: Vec<u8> = Vec::with_capacity(b.len());
    let mut orientation = None;
    let mut saw_app0 = false;
    let mut app0_end = 2usize;
    let mut i = 2;
    let mut segments = 0;
    let mut ended = false;
    head.extend_from_slice(&[0xFF, SOI]);
    while i < b.len() {
        segments += 1;
        if segments > MAX_SEGMENTS {
            return Err(bad("it has too many segments"));
        }
        if b[i] != 0xFF {
            return Err(bad("a segment does not start with a marker"));
        }
        // Fill bytes: any number of 0xFF before the marker code.
        while u8_at(b, i) == Some(0xFF) {
            i += 1;
        }
        let marker = u8_at(b, i).ok_or_else(|| bad("it ends inside a marker"))?;
        i += 1;
        match marker {
            EOI => {
                head.extend_from_slice(&[0xFF, EOI]);
                ended = true;
                break;
            }
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => {
                head.extend_from_slice(&[0xFF, marker]);
                continue;
            }
            0x00 | SOI => return Err(bad("it has a misplaced marker")),
            _ => {}
        }
        let len = usize::from(be_u16(b, i).ok_or_else(|| bad("it ends inside a segment header"))?);
        if len < 2 {
            return Err(bad("a segment has an impossible length"));
        }
        let seg = slice(b, i, len).ok_or_else(|| bad("it is truncated"))?;
        let payload = &seg[2..];
        let keep = match marker {
            APP0 => payload.starts_with(b"JFIF\0"),
            APP1 => {
                if payload.starts_with(b"Exif\0\0") && orientation.is_none() {
                    orientation = exif_orientation(&payload[6..]).filter(|o| (2..=8).contains(o));
                }
                false
            }
            APP2 => payload.starts_with(b"ICC_PROFILE\0"),
            APP14 => payload.starts_with(b"Adobe"),
            0xE3..=0xEF | COM => false,
            _ => true,
        };
        if keep {
            head.push(0xFF);
            head.push(marker);
            head.extend_from_slice(seg);
            if marker == APP0 && !saw_app0 {
                saw_app0 = true;
                app0_end = head.len();
            }
        }
        i += len;
        if marker == SOS {
            // Entropy-coded data runs to the next marker that is not a stuffed 0xFF00 or a
            // restart marker.
            let start = i;
            while i < b.len() {
                if b[i] == 0xFF {
                    match u8_at(b, i + 1) {
                        Some(0x00) | Some(0xD0..=0xD7) => i += 2,
                        Some(0xFF) => i += 1,
                        Some(_) => break,
                        None => return Err(bad("it ends inside the image data")),
                    }
                } else {
                    i += 1;
                }
            }
            head.extend_from_slice(&b[start..i.min(b.len())]);
        }
    }
    if !ended {
        return Err(bad("it has no end marker (the file is truncated)"));
    }
    if let Some(o) = orientation {
        let at = if saw_app0 { app0_end } else { 2 };
        let seg = orientation_segment(o);
        head.splice(at..at, seg);
    }
    Ok(Stripped { bytes: head, orientation })
}

/// The Orientation tag (0x0112) of IFD0 in a TIFF structure (the body of an EXIF segment).
fn exif_orientation(tiff: &[u8]) -> Option<u16> {
    let little = match slice(tiff, 0, 2)? {
        b"II" => true,
        b"MM" => false,
        _ => return None,
    };
    let u16_at = |at| if little { le_u16(tiff, at) } else { be_u16(tiff, at) };
    let u32_at = |at| if little { le_u32(tiff, at) } else { be_u32(tiff, at) };
    if u16_at(2)? != 42 {
        return None;
    }
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let count = usize::from(u16_at(ifd)?).min(1_000);
    for n in 0..count {
        let entry = ifd + 2 + n * 12;
        if u16_at(entry)? == 0x0112 && u16_at(entry + 2)? == 3 {
            return u16_at(entry + 8);
        }
    }
    None
}

/// A minimal APP1 EXIF segment with the orientation alone (big-endian TIFF, one IFD entry).
fn orientation_segment(o: u16) -> Vec<u8> {
    let mut payload = Vec::with_capacity(32);
    payload.extend_from_slice(b"Exif\0\0");
    payload.extend_from_slice(b"MM\0\x2A\0\0\0\x08");
    payload.extend_from_slice(&1u16.to_be_bytes());
    payload.extend_from_slice(&0x0112u16.to_be_bytes());
    payload.extend_from_slice(&3u16.to_be_bytes());
    payload.extend_from_slice(&1u32.to_be_bytes());
    payload.extend_from_slice(&o.to_be_bytes());
    payload.extend_from_slice(&[0, 0]);
    payload.extend_from_slice(&0u32.to_be_bytes());
    let mut seg = vec![0xFF, APP1];
    seg.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap_or(u16::MAX).to_be_bytes());
    seg.extend_from_slice(&payload);
    seg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_inputs_are_errors_not_panics() {
        for input in [
            &b"\xFF\xD8"[..],
            b"\xFF\xD8\xFF",
            b"\xFF\xD8\xFF\xE1",
            b"\xFF\xD8\xFF\xE1\x00",
            b"\xFF\xD8\xFF\xE1\x00\x01",
            b"\xFF\xD8\xFF\xE1\xFF\xFFabc",
            b"\xFF\xD8\xFF\xDA\x00\x02\x12\x34",
            b"\xFF\xD8\x00\x00",
            b"\xFF\xD8\xFF\xFF\xFF\xFF",
        ] {
            assert!(strip(input).is_err(), "{input:?}");
        }
        // A marker-only file is structurally fine (the decoder will judge the rest).
        assert_eq!(strip(b"\xFF\xD8\xFF\xD9trailing").unwrap().bytes, b"\xFF\xD8\xFF\xD9");
    }

    #[test]
    fn orientation_is_read_in_both_byte_orders() {
        let seg = orientation_segment(6);
        assert_eq!(exif_orientation(&seg[4 + 6..]), Some(6));
        let mut le = b"II\x2A\0\x08\0\0\0\x01\0".to_vec();
        le.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 8, 0, 0, 0]);
        assert_eq!(exif_orientation(&le), Some(8));
        assert_eq!(exif_orientation(b"II\x2A\0\xFF\xFF\xFF\x7F"), None);
    }
}
