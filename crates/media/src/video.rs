//! Video facts (width, height, duration) read from the container, without decoding a frame.
//!
//! MP4 and MOV: the ISO box tree, `moov/mvhd` for the duration and `moov/trak/tkhd` of the
//! video track (its `mdia/hdlr` says `vide`) for the size, turned by the track matrix (phones
//! record portrait video as landscape with a 90° matrix). WebM: the EBML tree, `Segment/Info`
//! for the duration and `Segment/Tracks/TrackEntry/Video` for the size.
//!
//! Both walkers descend only the fixed paths above and bound the number of elements they look at. A fact the file
//! does not state (or states in a way not understood) is `None`; only a container that cannot
//! be walked at all is an error.

use crate::bytes::{be_u32, be_u64, slice, u8_at};
use crate::{MediaError, MediaFormat};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VideoInfo {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<u64>,
}

const MAX_ELEMENTS: usize = 100_000;

pub fn inspect(format: MediaFormat, b: &[u8]) -> Result<VideoInfo, MediaError> {
    match format {
        MediaFormat::Mp4 | MediaFormat::Mov => mp4(format, b),
        MediaFormat::Webm => webm(b),
        _ => Err(MediaError::malformed(format, "not a video")),
    }
}

// ---------------------------------------------------------------------------------------------
// MP4 / MOV

/// One box: its type and payload range.
struct BoxRef {
    kind: [u8; 4],
    start: usize,
    end: usize,
}

/// The boxes directly inside `b[from..to]`. A box whose size runs past the end is an error.
fn boxes(b: &[u8], from: usize, to: usize, budget: &mut usize) -> Result<Vec<BoxRef>, &'static str> {
    let mut out = Vec::new();
    let mut i = from;
    while i + 8 <= to {
        if *budget == 0 {
            return Err("it has too many boxes");
        }
        *budget -= 1;
        let size32 = be_u32(b, i).ok_or("truncated")?;
        let kind: [u8; 4] = slice(b, i + 4, 4).ok_or("truncated")?.try_into().map_err(|_| "truncated")?;
        let (header, size) = match size32 {
            0 => (8usize, to - i),
            1 => {
                let large = be_u64(b, i + 8).ok_or("truncated")?;
                (16usize, usize::try_from(large).map_err(|_| "a box is too large")?)
            }
            n => (8usize, n as usize),
        };
        if size < header {
            return Err("a box has an impossible size");
        }
        let end = i.checked_add(size).ok_or("a box is too large")?;
        if end > to {
            return Err("a box runs past the end of the file (truncated)");
        }
        out.push(BoxRef { kind, start: i + header, end });
        i = end;
    }
    Ok(out)
}

fn mp4(format: MediaFormat, b: &[u8]) -> Result<VideoInfo, MediaError> {
    let bad = |r: &str| MediaError::malformed(format, r);
    let mut budget = MAX_ELEMENTS;
    let top = boxes(b, 0, b.len(), &mut budget).map_err(bad)?;
    let Some(moov) = top.iter().find(|x| &x.kind == b"moov") else {
        return Err(bad("it has no movie header (moov box)"));
    };
    let mut info = VideoInfo::default();
    for child in boxes(b, moov.start, moov.end, &mut budget).map_err(bad)? {
        match &child.kind {
            b"mvhd" => info.duration_ms = mvhd_duration(&b[child.start..child.end]),
            b"trak" if info.width.is_none() => {
                if let Some((w, h)) = video_track_size(b, &child, &mut budget).map_err(bad)? {
                    info.width = Some(w);
                    info.height = Some(h);
                }
            }
            _ => {}
        }
    }
    Ok(info)
}

fn mvhd_duration(p: &[u8]) -> Option<u64> {
    let (timescale, duration) = match u8_at(p, 0)? {
        0 => (u64::from(be_u32(p, 12)?), u64::from(be_u32(p, 16)?)),
        1 => (u64::from(be_u32(p, 20)?), be_u64(p, 24)?),
        _ => return None,
    };
    // All ones means "unknown"; fragmented files (durations in `moof` boxes) say 0.
    if timescale == 0 || duration == 0 || duration == u64::MAX || duration == u64::from(u32::MAX) {
        return None;
    }
    Some(u64::try_from(u128::from(duration) * 1000 / u128::from(timescale)).unwrap_or(u64::MAX))
}

/// The displayed size of a track, if it is a video track.
fn video_track_size(b: &[u8], trak: &BoxRef, budget: &mut usize) -> Result<Option<(u32, u32)>, &'static str> {
    let mut size = None;
    let mut is_video = false;
    for child in boxes(b, trak.start, trak.end, budget)? {
        match &child.kind {
            b"tkhd" => size = tkhd_size(&b[child.start..child.end]),
            b"mdia" => {
                for m in boxes(b, child.start, child.end, budget)? {
                    if &m.kind == b"hdlr" && slice(b, m.start + 8, 4) == Some(b"vide") {
                        is_video = true;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(if is_video { size.filter(|(w, h)| *w > 0 && *h > 0) } else { None })
}

fn tkhd_size(p: &[u8]) -> Option<(u32, u32)> {
    let (matrix, dims) = match u8_at(p, 0)? {
        0 => (40, 76),
        1 => (52, 88),
        _ => return None,
    };
    // 16.16 fixed point.
    let w = be_u32(p, dims)? >> 16;
    let h = be_u32(p, dims + 4)? >> 16;
    let a = be_u32(p, matrix)?;
    let d = be_u32(p, matrix + 16)?;
    // A quarter turn: the diagonal is zero.
    Some(if a == 0 && d == 0 { (h, w) } else { (w, h) })
}

// ---------------------------------------------------------------------------------------------
// WebM (EBML)

const EBML: u32 = 0x1A45_DFA3;
const DOC_TYPE: u32 = 0x4282;
const SEGMENT: u32 = 0x1853_8067;
const INFO: u32 = 0x1549_A966;
const TIMECODE_SCALE: u32 = 0x2A_D7B1;
const DURATION: u32 = 0x4489;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const TRACK_TYPE: u32 = 0x83;
const VIDEO: u32 = 0xE0;
const PIXEL_WIDTH: u32 = 0xB0;
const PIXEL_HEIGHT: u32 = 0xBA;
const DISPLAY_WIDTH: u32 = 0x54B0;
const DISPLAY_HEIGHT: u32 = 0x54BA;
const CLUSTER: u32 = 0x1F43_B675;

struct Element {
    id: u32,
    start: usize,
    end: usize,
}

/// A variable-length integer: (value, length). For ids the marker bit stays (as the spec
/// writes ids); for sizes it goes, and all-ones means "unknown size".
fn vint(b: &[u8], at: usize, keep_marker: bool) -> Option<(u64, usize, bool)> {
    let first = u8_at(b, at)?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 {
        return None;
    }
    // The value bits of the first byte (none for an 8-byte integer).
    let mask = (0xFFu32 >> len) as u8;
    let mut v = u64::from(if keep_marker { first } else { first & mask });
    let mut all_ones = first & mask == mask;
    for k in 1..len {
        let byte = u8_at(b, at + k)?;
        all_ones &= byte == 0xFF;
        v = (v << 8) | u64::from(byte);
    }
    Some((v, len, all_ones && !keep_marker))
}

/// The elements directly inside `b[from..to]`. An element of unknown size runs to `to`.
fn elements(b: &[u8], from: usize, to: usize, budget: &mut usize) -> Option<Vec<Element>> {
    let mut out = Vec::new();
    let mut i = from;
    while i < to {
        if *budget == 0 {
            return None;
        }
        *budget -= 1;
        let (id, id_len, _) = vint(b, i, true)?;
        let (size, size_len, unknown) = vint(b, i + id_len, false)?;
        let start = i + id_len + size_len;
        let end = if unknown { to } else { start.checked_add(usize::try_from(size).ok()?)? };
        if end > to || start > to {
            return None;
        }
        out.push(Element { id: u32::try_from(id).ok()?, start, end });
        i = end;
    }
    Some(out)
}

fn uint(p: &[u8]) -> Option<u64> {
    if p.is_empty() || p.len() > 8 {
        return None;
    }
    Some(p.iter().fold(0u64, |v, b| (v << 8) | u64::from(*b)))
}

fn float(p: &[u8]) -> Option<f64> {
    match p.len() {
        4 => Some(f64::from(f32::from_bits(be_u32(p, 0)?))),
        8 => Some(f64::from_bits(be_u64(p, 0)?)),
        _ => None,
    }
}

/// The document type of an EBML file (`webm`, `matroska`).
pub fn ebml_doc_type(b: &[u8]) -> Option<String> {
    let mut budget = 1_000;
    let top = elements(b, 0, b.len().min(64 * 1024), &mut budget).or_else(|| {
        // The first 64 KiB may cut an element short; the header is the first element.
        let (id, id_len, _) = vint(b, 0, true)?;
        let (size, size_len, _) = vint(b, id_len, false)?;
        let start = id_len + size_len;
        let end = start.checked_add(usize::try_from(size).ok()?)?;
        let id = u32::try_from(id).ok()?;
        (end <= b.len()).then(|| vec![Element { id, start, end }])
    })?;
    let header = top.into_iter().find(|e| e.id == EBML)?;
    let doc = elements(b, header.start, header.end, &mut budget)?.into_iter().find(|e| e.id == DOC_TYPE)?;
    let text = std::str::from_utf8(&b[doc.start..doc.end]).ok()?;
    Some(text.trim_end_matches('\0').to_owned())
}

fn webm(b: &[u8]) -> Result<VideoInfo, MediaError> {
    let bad = |r: &str| MediaError::malformed(MediaFormat::Webm, r);
    let mut budget = MAX_ELEMENTS;
    let top = elements(b, 0, b.len(), &mut budget).ok_or_else(|| bad("its structure could not be read"))?;
    let segment = top.iter().find(|e| e.id == SEGMENT).ok_or_else(|| bad("it has no segment"))?;
    let mut info = VideoInfo::default();
    let mut scale_ns: u64 = 1_000_000;
    let mut duration: Option<f64> = None;
    // Walk the segment's children up to the first cluster (the media data itself); what we
    // need comes before it.
    let mut i = segment.start;
    let mut seen = 0;
    while i < segment.end && seen < MAX_ELEMENTS {
        seen += 1;
        let Some((id, id_len, _)) = vint(b, i, true) else { break };
        let Some((size, size_len, unknown)) = vint(b, i + id_len, false) else { break };
        let start = i + id_len + size_len;
        if id == u64::from(CLUSTER) || unknown {
            break;
        }
        let Some(end) = usize::try_from(size).ok().and_then(|s| start.checked_add(s)).filter(|e| *e <= segment.end)
        else {
            break;
        };
        if id == u64::from(INFO) {
            for e in elements(b, start, end, &mut budget).unwrap_or_default() {
                match e.id {
                    TIMECODE_SCALE => scale_ns = uint(&b[e.start..e.end]).unwrap_or(scale_ns),
                    DURATION => duration = float(&b[e.start..e.end]),
                    _ => {}
                }
            }
        } else if id == u64::from(TRACKS) {
            for entry in elements(b, start, end, &mut budget).unwrap_or_default() {
                if entry.id != TRACK_ENTRY || info.width.is_some() {
                    continue;
                }
                let fields = elements(b, entry.start, entry.end, &mut budget).unwrap_or_default();
                let is_video = fields.iter().any(|f| f.id == TRACK_TYPE && uint(&b[f.start..f.end]) == Some(1));
                let Some(video) = fields.iter().find(|f| f.id == VIDEO) else { continue };
                if !is_video {
                    continue;
                }
                let (mut pw, mut ph, mut dw, mut dh) = (None, None, None, None);
                for v in elements(b, video.start, video.end, &mut budget).unwrap_or_default() {
                    let n = uint(&b[v.start..v.end]).and_then(|n| u32::try_from(n).ok());
                    match v.id {
                        PIXEL_WIDTH => pw = n,
                        PIXEL_HEIGHT => ph = n,
                        DISPLAY_WIDTH => dw = n,
                        DISPLAY_HEIGHT => dh = n,
                        _ => {}
                    }
                }
                // Display size wins when given (non-square pixels); else the pixel size.
                info.width = dw.or(pw).filter(|w| *w > 0);
                info.height = dh.or(ph).filter(|h| *h > 0);
            }
        }
        i = end;
    }
    if let Some(d) = duration.filter(|d| d.is_finite() && *d >= 0.0) {
        let ms = d * scale_ns as f64 / 1_000_000.0;
        if ms < u64::MAX as f64 {
            info.duration_ms = Some(ms as u64);
        }
    }
    Ok(info)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn bx(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut v = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(payload);
        v
    }

    fn tkhd(w: u32, h: u32, rotated: bool) -> Vec<u8> {
        let mut p = vec![0u8; 84];
        let (a, b, c, d): (u32, u32, u32, u32) =
            if rotated { (0, 0x10000, 0xFFFF0000, 0) } else { (0x10000, 0, 0, 0x10000) };
        p[40..44].copy_from_slice(&a.to_be_bytes());
        p[44..48].copy_from_slice(&b.to_be_bytes());
        p[52..56].copy_from_slice(&c.to_be_bytes());
        p[56..60].copy_from_slice(&d.to_be_bytes());
        p[76..80].copy_from_slice(&(w << 16).to_be_bytes());
        p[80..84].copy_from_slice(&(h << 16).to_be_bytes());
        bx(b"tkhd", &p)
    }

    fn hdlr(kind: &[u8; 4]) -> Vec<u8> {
        let mut p = vec![0u8; 24];
        p[8..12].copy_from_slice(kind);
        bx(b"hdlr", &p)
    }

    /// A minimal MP4: ftyp, mdat, then moov with an audio track and a video track.
    pub fn mp4_file(w: u32, h: u32, secs: u32, rotated: bool, brand: &[u8; 4]) -> Vec<u8> {
        let mut mvhd = vec![0u8; 100];
        mvhd[12..16].copy_from_slice(&600u32.to_be_bytes());
        mvhd[16..20].copy_from_slice(&(secs * 600).to_be_bytes());
        let audio = bx(b"trak", &[tkhd(0, 0, false), bx(b"mdia", &hdlr(b"soun"))].concat());
        let video = bx(b"trak", &[tkhd(w, h, rotated), bx(b"mdia", &hdlr(b"vide"))].concat());
        let moov = bx(b"moov", &[bx(b"mvhd", &mvhd), audio, video].concat());
        let mut ftyp = brand.to_vec();
        ftyp.extend_from_slice(&[0, 0, 2, 0]);
        ftyp.extend_from_slice(b"isommp41");
        [bx(b"ftyp", &ftyp), bx(b"mdat", b"frames go here"), moov].concat()
    }

    #[test]
    fn mp4_size_duration_and_rotation() {
        let f = mp4_file(1920, 1080, 12, false, b"isom");
        assert_eq!(
            inspect(MediaFormat::Mp4, &f).unwrap(),
            VideoInfo { width: Some(1920), height: Some(1080), duration_ms: Some(12_000) }
        );
        let f = mp4_file(1920, 1080, 3, true, b"qt  ");
        let i = inspect(MediaFormat::Mov, &f).unwrap();
        assert_eq!((i.width, i.height), (Some(1080), Some(1920)));
    }

    #[test]
    fn hostile_mp4_is_an_error_or_unknown_never_a_panic() {
        let f = mp4_file(1920, 1080, 12, false, b"isom");
        for cut in [10, 30, f.len() - 1] {
            let _ = inspect(MediaFormat::Mp4, &f[..cut]);
        }
        assert!(inspect(MediaFormat::Mp4, b"\0\0\0\x08ftyp").is_err(), "no moov");
        // A box claiming to be enormous.
        let mut huge = b"\0\0\0\x01moov".to_vec();
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        assert!(inspect(MediaFormat::Mp4, &huge).is_err());
        // Deeply self-similar boxes stay within the budget.
        let mut nested = bx(b"trak", b"");
        for _ in 0..2000 {
            nested = bx(b"trak", &nested);
        }
        let _ = inspect(MediaFormat::Mp4, &bx(b"moov", &nested));
    }

    fn el(id: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut v = id.to_vec();
        // 8-byte size vint: 0x01 followed by 7 bytes.
        v.push(0x01);
        v.extend_from_slice(&(payload.len() as u64).to_be_bytes()[1..]);
        v.extend_from_slice(payload);
        v
    }

    pub fn webm_file(w: u16, h: u16, ms: f64) -> Vec<u8> {
        let header = el(&[0x1A, 0x45, 0xDF, 0xA3], &el(&[0x42, 0x82], b"webm"));
        let info = el(
            &[0x15, 0x49, 0xA9, 0x66],
            &[el(&[0x2A, 0xD7, 0xB1], &[0x0F, 0x42, 0x40]), el(&[0x44, 0x89], &ms.to_be_bytes())].concat(),
        );
        let video = el(&[0xE0], &[el(&[0xB0], &w.to_be_bytes()), el(&[0xBA], &h.to_be_bytes())].concat());
        let entry = el(&[0xAE], &[el(&[0x83], &[1]), video].concat());
        let tracks = el(&[0x16, 0x54, 0xAE, 0x6B], &entry);
        let cluster = el(&[0x1F, 0x43, 0xB6, 0x75], b"frames");
        let segment = el(&[0x18, 0x53, 0x80, 0x67], &[info, tracks, cluster].concat());
        [header, segment].concat()
    }

    #[test]
    fn webm_size_and_duration() {
        let f = webm_file(640, 360, 4500.0);
        assert_eq!(ebml_doc_type(&f).as_deref(), Some("webm"));
        assert_eq!(
            inspect(MediaFormat::Webm, &f).unwrap(),
            VideoInfo { width: Some(640), height: Some(360), duration_ms: Some(4500) }
        );
        for cut in [3, 20, 60, f.len() - 3] {
            let _ = inspect(MediaFormat::Webm, &f[..cut]);
            let _ = ebml_doc_type(&f[..cut]);
        }
    }
}
