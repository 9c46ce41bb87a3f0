//! Type sniffing from magic bytes. The file name and the declared content type are never
//! trusted: a PNG called `photo.jpg` is a PNG, an HTML page called `cat.gif` is nothing.

use crate::MediaFormat;
use crate::bytes::slice;

/// HEIF/AVIF brands: images in an ISO container, which the networks do not take.
const HEIF_BRANDS: &[&[u8; 4]] =
    &[b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1", b"avif", b"avis"];

/// The format of `bytes`: `None` when nothing is recognised, [`MediaFormat::Other`] for a
/// recognised container we do not take (HEIC, AVIF, Matroska other than WebM).
pub fn sniff(bytes: &[u8]) -> Option<MediaFormat> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(MediaFormat::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(MediaFormat::Png);
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Some(MediaFormat::Gif);
    }
    if bytes.starts_with(b"RIFF") && slice(bytes, 8, 4) == Some(b"WEBP") {
        return Some(MediaFormat::Webp);
    }
    if slice(bytes, 4, 4) == Some(b"ftyp") {
        let brand = slice(bytes, 8, 4)?;
        if HEIF_BRANDS.iter().any(|b| &b[..] == brand) {
            return Some(MediaFormat::Other);
        }
        if brand == b"qt  " {
            return Some(MediaFormat::Mov);
        }
        return Some(MediaFormat::Mp4);
    }
    if bytes.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return Some(match crate::video::ebml_doc_type(bytes).as_deref() {
            Some("webm") => MediaFormat::Webm,
            _ => MediaFormat::Other,
        });
    }
    None
}

/// Why a recognised container is refused.
pub(crate) fn unsupported_reason(bytes: &[u8]) -> String {
    if slice(bytes, 4, 4) == Some(b"ftyp") {
        "HEIC and AVIF images are not supported; export the picture as JPEG and upload that".into()
    } else if bytes.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        "Matroska (MKV) video is not supported; convert it to MP4 or WebM".into()
    } else {
        "this file type is not supported".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_come_from_the_content() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest"), Some(MediaFormat::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some(MediaFormat::Png));
        assert_eq!(sniff(b"GIF89a..."), Some(MediaFormat::Gif));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(MediaFormat::Webp));
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt "), None);
        assert_eq!(sniff(b"\0\0\0\x18ftypisom\0\0\0\0"), Some(MediaFormat::Mp4));
        assert_eq!(sniff(b"\0\0\0\x14ftypqt  \0\0\0\0"), Some(MediaFormat::Mov));
        assert_eq!(sniff(b"\0\0\0\x18ftypheic\0\0\0\0"), Some(MediaFormat::Other));
        assert_eq!(sniff(b"<html><body>cat.gif</body></html>"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"\xFF\xD8"), None);
    }
}
