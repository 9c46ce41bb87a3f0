//! Real files built in the test: encoded by the `image` crate, then given the metadata a phone
//! would add (EXIF with a GPS position, XMP, comments, PNG text chunks).

use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use std::io::Cursor;

/// Strings planted in metadata; none may survive stripping.
pub const GPS_MARKER: &str = "GPS-MARKER-52.5200N-13.4050E";
pub const CAMERA_MARKER: &str = "SecretCam Model 9000 serial 12345";
pub const XMP_MARKER: &str = "xmp-creator-ana@example.com";
pub const COMMENT_MARKER: &str = "comment: taken at Ana's home";

pub fn picture(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| Rgb([(x * 255 / w.max(1)) as u8, (y * 255 / h.max(1)) as u8, 128]))
}

pub fn encode(img: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

pub fn jpeg(w: u32, h: u32) -> Vec<u8> {
    encode(DynamicImage::ImageRgb8(picture(w, h)), ImageFormat::Jpeg)
}

pub fn png(w: u32, h: u32) -> Vec<u8> {
    encode(DynamicImage::ImageRgb8(picture(w, h)), ImageFormat::Png)
}

/// A PNG with transparent corners.
pub fn png_with_alpha(w: u32, h: u32) -> Vec<u8> {
    let img =
        RgbaImage::from_fn(
            w,
            h,
            |x, y| {
                if x < w / 10 && y < h / 10 { Rgba([0, 0, 0, 0]) } else { Rgba([200, 30, 30, 255]) }
            },
        );
    encode(DynamicImage::ImageRgba8(img), ImageFormat::Png)
}

pub fn gif(w: u32, h: u32) -> Vec<u8> {
    encode(DynamicImage::ImageRgba8(DynamicImage::ImageRgb8(picture(w, h)).into_rgba8()), ImageFormat::Gif)
}

pub fn webp(w: u32, h: u32) -> Vec<u8> {
    encode(DynamicImage::ImageRgba8(DynamicImage::ImageRgb8(picture(w, h)).into_rgba8()), ImageFormat::WebP)
}

fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    s.extend_from_slice(payload);
    s
}

/// A big-endian TIFF IFD entry.
fn entry(tag: u16, kind: u16, count: u32, value: [u8; 4]) -> Vec<u8> {
    let mut e = tag.to_be_bytes().to_vec();
    e.extend_from_slice(&kind.to_be_bytes());
    e.extend_from_slice(&count.to_be_bytes());
    e.extend_from_slice(&value);
    e
}

/// An EXIF APP1 payload as a phone writes it: camera make (with a serial), orientation, and a
/// GPS IFD with latitude, longitude and a processing-method text carrying [`GPS_MARKER`].
pub fn exif_payload(orientation: u16) -> Vec<u8> {
    let make = format!("{CAMERA_MARKER}\0");
    let gps_text = format!("ASCII\0\0\0{GPS_MARKER}");
    // Layout: header (8) | IFD0: count + 3 entries + next (2 + 36 + 4 = 42) | GPS IFD: count +
    // 5 entries + next (2 + 60 + 4 = 66) | data: make, latitude (3 rationals), longitude, text.
    let ifd0 = 8u32;
    let gps_ifd = ifd0 + 42;
    let data = gps_ifd + 66;
    let make_at = data;
    let lat_at = make_at + make.len() as u32;
    let lon_at = lat_at + 24;
    let text_at = lon_at + 24;
    let mut t = b"MM\0\x2A".to_vec();
    t.extend_from_slice(&ifd0.to_be_bytes());
    t.extend_from_slice(&3u16.to_be_bytes());
    t.extend_from_slice(&entry(0x010F, 2, make.len() as u32, make_at.to_be_bytes()));
    let mut o = [0u8; 4];
    o[..2].copy_from_slice(&orientation.to_be_bytes());
    t.extend_from_slice(&entry(0x0112, 3, 1, o));
    t.extend_from_slice(&entry(0x8825, 4, 1, gps_ifd.to_be_bytes()));
    t.extend_from_slice(&0u32.to_be_bytes());
    assert_eq!(t.len() as u32, gps_ifd);
    t.extend_from_slice(&5u16.to_be_bytes());
    t.extend_from_slice(&entry(0x0001, 2, 2, *b"N\0\0\0"));
    t.extend_from_slice(&entry(0x0002, 5, 3, lat_at.to_be_bytes()));
    t.extend_from_slice(&entry(0x0003, 2, 2, *b"E\0\0\0"));
    t.extend_from_slice(&entry(0x0004, 5, 3, lon_at.to_be_bytes()));
    t.extend_from_slice(&entry(0x001B, 7, gps_text.len() as u32, text_at.to_be_bytes()));
    t.extend_from_slice(&0u32.to_be_bytes());
    assert_eq!(t.len() as u32, data);
    t.extend_from_slice(make.as_bytes());
    for (n, d) in [(52u32, 1u32), (31, 1), (1234, 100), (13, 1), (24, 1), (1800, 100)] {
        t.extend_from_slice(&n.to_be_bytes());
        t.extend_from_slice(&d.to_be_bytes());
    }
    t.extend_from_slice(gps_text.as_bytes());
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&t);
    payload
}

/// `jpeg` with EXIF (GPS, camera, orientation), XMP and a comment inserted after the JFIF
/// header, and a trailer after the end marker.
pub fn jpeg_with_metadata(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
    // After SOI and the JFIF APP0 segment, if the encoder wrote one.
    let mut at = 2;
    if jpeg[2..4] == [0xFF, 0xE0] {
        at = 4 + u16::from_be_bytes([jpeg[4], jpeg[5]]) as usize;
    }
    let xmp = format!(
        "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><rdf:Description dc:creator=\"{XMP_MARKER}\" exif:GPSLatitude=\"52,31.2N\"/></x:xmpmeta>"
    );
    let mut out = jpeg[..at].to_vec();
    out.extend_from_slice(&segment(0xE1, &exif_payload(orientation)));
    out.extend_from_slice(&segment(0xE1, xmp.as_bytes()));
    out.extend_from_slice(&segment(0xED, b"Photoshop 3.0\08BIM IPTC city: Berlin"));
    out.extend_from_slice(&segment(0xFE, COMMENT_MARKER.as_bytes()));
    out.extend_from_slice(&jpeg[at..]);
    out.extend_from_slice(b"trailing data after the end marker");
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    c.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    c
}

/// `png` with text, compressed-text, international-text, EXIF and time chunks after IHDR.
pub fn png_with_metadata(png: &[u8]) -> Vec<u8> {
    let ihdr_end = 8 + 12 + 13;
    let mut out = png[..ihdr_end].to_vec();
    out.extend_from_slice(&png_chunk(b"tEXt", format!("Comment\0{COMMENT_MARKER}").as_bytes()));
    out.extend_from_slice(&png_chunk(b"iTXt", format!("XML:com.adobe.xmp\0\0\0\0\0{XMP_MARKER}").as_bytes()));
    let mut exif = exif_payload(1);
    exif.drain(..6);
    out.extend_from_slice(&png_chunk(b"eXIf", &exif));
    out.extend_from_slice(&png_chunk(b"tIME", &[7, 234, 1, 2, 3, 4, 5]));
    out.extend_from_slice(&png[ihdr_end..]);
    out
}

/// A PNG that declares `w` × `h` pixels but holds almost no data: a decompression bomb's
/// header. Decoding it would need w × h × 3 bytes.
pub fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend_from_slice(&png_chunk(b"IHDR", &ihdr));
    out.extend_from_slice(&png_chunk(b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]));
    out.extend_from_slice(&png_chunk(b"IEND", &[]));
    out
}

fn bx(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut v = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
    v.extend_from_slice(kind);
    v.extend_from_slice(payload);
    v
}

/// A minimal MP4 (ftyp, mdat, moov with a video track) of `w` × `h`, `secs` long.
pub fn mp4(w: u32, h: u32, secs: u32) -> Vec<u8> {
    let mut mvhd = vec![0u8; 100];
    mvhd[12..16].copy_from_slice(&1000u32.to_be_bytes());
    mvhd[16..20].copy_from_slice(&(secs * 1000).to_be_bytes());
    let mut tkhd = vec![0u8; 84];
    tkhd[40..44].copy_from_slice(&0x10000u32.to_be_bytes());
    tkhd[56..60].copy_from_slice(&0x10000u32.to_be_bytes());
    tkhd[76..80].copy_from_slice(&(w << 16).to_be_bytes());
    tkhd[80..84].copy_from_slice(&(h << 16).to_be_bytes());
    let mut hdlr = vec![0u8; 24];
    hdlr[8..12].copy_from_slice(b"vide");
    let trak = bx(b"trak", &[bx(b"tkhd", &tkhd), bx(b"mdia", &bx(b"hdlr", &hdlr))].concat());
    let moov = bx(b"moov", &[bx(b"mvhd", &mvhd), trak].concat());
    [bx(b"ftyp", b"isom\0\0\x02\0isomiso2mp41"), bx(b"mdat", &[0u8; 256]), moov].concat()
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}
