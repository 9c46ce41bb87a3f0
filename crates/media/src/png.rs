//! PNG metadata removal at the chunk level: text chunks (`tEXt`, `zTXt`, `iTXt`: software,
//! author, comments, sometimes XMP with a location), `eXIf` and `tIME` go; everything the
//! image needs stays byte for byte, and nothing after `IEND` is kept.

use crate::bytes::{be_u32, slice};
use crate::{MediaError, MediaFormat};

const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
const DROPPED: &[&[u8; 4]] = &[b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"];
const MAX_CHUNKS: usize = 1_000_000;

fn bad(reason: &str) -> MediaError {
    MediaError::malformed(MediaFormat::Png, reason)
}

pub fn strip(b: &[u8]) -> Result<Vec<u8>, MediaError> {
    if !b.starts_with(SIGNATURE) {
        return Err(bad("it does not start with the PNG signature"));
    }
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(SIGNATURE);
    let mut i = SIGNATURE.len();
    for n in 0..MAX_CHUNKS {
        let len = be_u32(b, i).ok_or_else(|| bad("it ends inside a chunk header (truncated)"))?;
        let len = usize::try_from(len).map_err(|_| bad("a chunk is too long"))?;
        let kind = slice(b, i + 4, 4).ok_or_else(|| bad("it ends inside a chunk header (truncated)"))?;
        let total = len.checked_add(12).ok_or_else(|| bad("a chunk is too long"))?;
        let chunk = slice(b, i, total).ok_or_else(|| bad("it is truncated"))?;
        if n == 0 && kind != b"IHDR" {
            return Err(bad("the first chunk is not IHDR"));
        }
        if !DROPPED.iter().any(|d| &d[..] == kind) {
            out.extend_from_slice(chunk);
        }
        i += total;
        if kind == b"IEND" {
            return Ok(out);
        }
    }
    Err(bad("it has too many chunks"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_inputs_are_errors_not_panics() {
        assert!(strip(b"\x89PNG\r\n\x1a\n").is_err());
        assert!(strip(b"\x89PNG\r\n\x1a\n\xFF\xFF\xFF\xFFIHDR").is_err());
        assert!(strip(b"\x89PNG\r\n\x1a\n\0\0\0\0IEND\0\0\0\0").is_err(), "IHDR must come first");
    }
}
