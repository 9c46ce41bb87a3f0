//! GIF metadata removal at the block level: comment extensions and application extensions
//! (XMP travels in one) go, except the looping instruction of animations (`NETSCAPE2.0`,
//! `ANIMEXTS1.0`); frames, palettes and timing stay byte for byte.

use crate::bytes::{slice, u8_at};
use crate::{MediaError, MediaFormat};

const MAX_BLOCKS: usize = 1_000_000;

fn bad(reason: &str) -> MediaError {
    MediaError::malformed(MediaFormat::Gif, reason)
}

/// The length of a run of data sub-blocks starting at `at` (through the zero terminator).
fn sub_blocks(b: &[u8], at: usize) -> Result<usize, MediaError> {
    let mut i = at;
    for _ in 0..MAX_BLOCKS {
        let n = usize::from(u8_at(b, i).ok_or_else(|| bad("it is truncated"))?);
        i += 1;
        if n == 0 {
            return Ok(i - at);
        }
        if i + n > b.len() {
            return Err(bad("it is truncated"));
        }
        i += n;
    }
    Err(bad("it has too many data blocks"))
}

/// Size in bytes of a colour table announced by `flags` (0 when there is none).
fn color_table(flags: u8) -> usize {
    if flags & 0x80 == 0 { 0 } else { 3 << ((flags & 0x07) + 1) }
}

pub fn strip(b: &[u8]) -> Result<Vec<u8>, MediaError> {
    if !(b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a")) {
        return Err(bad("it does not start with a GIF signature"));
    }
    let flags = u8_at(b, 10).ok_or_else(|| bad("it is truncated"))?;
    let mut i = 13 + color_table(flags);
    if i > b.len() {
        return Err(bad("it is truncated"));
    }
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..i]);
    for _ in 0..MAX_BLOCKS {
        match u8_at(b, i).ok_or_else(|| bad("it has no trailer (the file is truncated)"))? {
            0x3B => {
                out.push(0x3B);
                return Ok(out);
            }
            0x21 => {
                let label = u8_at(b, i + 1).ok_or_else(|| bad("it is truncated"))?;
                let len = 2 + sub_blocks(b, i + 2)?;
                let keep = match label {
                    0xFE => false,
                    0xFF => {
                        // The first sub-block is the 11-byte application identifier.
                        let id = slice(b, i + 3, 11);
                        u8_at(b, i + 2) == Some(11) && matches!(id, Some(b"NETSCAPE2.0") | Some(b"ANIMEXTS1.0"))
                    }
                    _ => true,
                };
                if keep {
                    out.extend_from_slice(&b[i..i + len]);
                }
                i += len;
            }
            0x2C => {
                let flags = u8_at(b, i + 9).ok_or_else(|| bad("it is truncated"))?;
                // Descriptor (10 bytes), local colour table, LZW minimum code size (1 byte).
                let head = 10 + color_table(flags) + 1;
                if i + head > b.len() {
                    return Err(bad("it is truncated"));
                }
                let len = head + sub_blocks(b, i + head)?;
                out.extend_from_slice(&b[i..i + len]);
                i += len;
            }
            _ => return Err(bad("it has an unknown block")),
        }
    }
    Err(bad("it has too many blocks"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_xmp_go_and_looping_stays() {
        let mut g = b"GIF89a\x01\x00\x01\x00\x80\x00\x00".to_vec();
        g.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
        g.extend_from_slice(b"\x21\xFE\x0Bmy secrets!\x00");
        g.extend_from_slice(b"\x21\xFF\x0BXMP DataXMP\x05<x/>!\x00");
        g.extend_from_slice(b"\x21\xFF\x0BNETSCAPE2.0\x03\x01\x00\x00\x00");
        g.extend_from_slice(b"\x2C\0\0\0\0\x01\0\x01\0\x00\x02\x02\x44\x01\x00");
        g.push(0x3B);
        g.extend_from_slice(b"junk after the trailer");
        let out = strip(&g).unwrap();
        let has = |n: &[u8]| out.windows(n.len()).any(|w| w == n);
        assert!(!has(b"my secrets") && !has(b"XMP DataXMP") && !has(b"junk"));
        assert!(has(b"NETSCAPE2.0"));
        assert_eq!(*out.last().unwrap(), 0x3B);
    }

    #[test]
    fn hostile_inputs_are_errors_not_panics() {
        assert!(strip(b"GIF89a\x01\x00\x01\x00\xFF\x00\x00").is_err());
        assert!(strip(b"GIF89a\x01\x00\x01\x00\x00\x00\x00\x21\xFE\x05ab").is_err());
        assert!(strip(b"GIF89a\x01\x00\x01\x00\x00\x00\x00\x2C\0\0").is_err());
        assert!(strip(b"GIF89a\x01\x00\x01\x00\x00\x00\x00\x99").is_err());
    }
}
