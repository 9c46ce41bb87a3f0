//! WebP metadata removal at the RIFF chunk level: the `EXIF` and `XMP ` chunks go and the
//! extended header (`VP8X`) stops announcing them; the picture's chunks stay byte for byte.

use crate::bytes::{le_u32, slice};
use crate::{MediaError, MediaFormat};

const MAX_CHUNKS: usize = 100_000;
/// VP8X flags: EXIF and XMP metadata present.
const FLAG_EXIF: u8 = 0x08;
const FLAG_XMP: u8 = 0x04;

fn bad(reason: &str) -> MediaError {
    MediaError::malformed(MediaFormat::Webp, reason)
}

pub fn strip(b: &[u8]) -> Result<Vec<u8>, MediaError> {
    if !(b.starts_with(b"RIFF") && slice(b, 8, 4) == Some(b"WEBP")) {
        return Err(bad("it is not a RIFF WEBP file"));
    }
    let riff_len = usize::try_from(le_u32(b, 4).ok_or_else(|| bad("truncated"))?).map_err(|_| bad("too long"))?;
    // The RIFF size counts from byte 8; a file may carry junk after it, which is dropped.
    let end = riff_len.checked_add(8).filter(|e| *e <= b.len()).ok_or_else(|| bad("it is truncated"))?;
    let mut body = Vec::with_capacity(end);
    body.extend_from_slice(b"WEBP");
    let mut i = 12;
    let mut chunks = 0;
    while i < end {
        chunks += 1;
        if chunks > MAX_CHUNKS {
            return Err(bad("it has too many chunks"));
        }
        let fourcc = slice(b, i, 4).ok_or_else(|| bad("it ends inside a chunk header"))?;
        let len = usize::try_from(le_u32(b, i + 4).ok_or_else(|| bad("it ends inside a chunk header"))?)
            .map_err(|_| bad("a chunk is too long"))?;
        let data_end = i
            .checked_add(8)
            .and_then(|x| x.checked_add(len))
            .filter(|e| *e <= end)
            .ok_or_else(|| bad("it is truncated"))?;
        // Chunks are padded to an even length (a final pad byte may be missing).
        let chunk_end = (data_end + (len & 1)).min(end);
        match fourcc {
            b"EXIF" | b"XMP " => {}
            b"VP8X" => {
                let mut c = b[i..chunk_end].to_vec();
                if let Some(flags) = c.get_mut(8) {
                    *flags &= !(FLAG_EXIF | FLAG_XMP);
                }
                body.extend_from_slice(&c);
            }
            _ => body.extend_from_slice(&b[i..chunk_end]),
        }
        i = chunk_end;
    }
    let mut out = Vec::with_capacity(body.len() + 8);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&u32::try_from(body.len()).map_err(|_| bad("too long"))?.to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(fourcc: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = fourcc.to_vec();
        c.extend_from_slice(&(data.len() as u32).to_le_bytes());
        c.extend_from_slice(data);
        if data.len() % 2 == 1 {
            c.push(0);
        }
        c
    }

    fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = chunks.concat();
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&((body.len() + 4) as u32).to_le_bytes());
        out.extend_from_slice(b"WEBP");
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn exif_and_xmp_chunks_go_and_the_flags_follow() {
        let vp8x = chunk(b"VP8X", &[FLAG_EXIF | FLAG_XMP | 0x10, 0, 0, 0, 9, 0, 0, 9, 0, 0]);
        let input = riff(&[vp8x, chunk(b"VP8L", b"pixels"), chunk(b"EXIF", b"GPS secret"), chunk(b"XMP ", b"<x/>")]);
        let out = strip(&input).unwrap();
        assert!(!out.windows(10).any(|w| w == b"GPS secret"));
        assert!(!out.windows(4).any(|w| w == b"XMP "));
        assert_eq!(out[20] & (FLAG_EXIF | FLAG_XMP), 0);
        assert_eq!(out[20] & 0x10, 0x10, "other flags stay");
        assert_eq!(le_u32(&out, 4).unwrap() as usize, out.len() - 8);
    }

    #[test]
    fn hostile_inputs_are_errors_not_panics() {
        assert!(strip(b"RIFF\xFF\xFF\xFF\xFFWEBP").is_err());
        let mut r = riff(&[chunk(b"VP8L", b"xx")]);
        r[16] = 0xFF;
        assert!(strip(&r).is_err());
    }
}
