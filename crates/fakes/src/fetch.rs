//! How the fakes "download" media from a URL the way Meta and TikTok do: only over loopback, with
//! a minimal HTTP/1.1 GET. Anything that is not `http://127.0.0.1|localhost|[::1]` counts as
//! unreachable, so a fake never touches the internet.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_FETCH_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone)]
pub(crate) struct Fetched {
    pub status: u16,
    pub body: Vec<u8>,
}

/// GETs a loopback URL. `Err` when the URL is not loopback, the connection fails, it times out,
/// or the answer is not 2xx.
pub(crate) async fn fetch_loopback(url: &str) -> Result<Fetched, String> {
    let (authority, path) = loopback_target(url)?;
    let fetched = tokio::time::timeout(FETCH_TIMEOUT, get(&authority, &path))
        .await
        .map_err(|_| format!("timed out fetching {url}"))??;
    if !(200..300).contains(&fetched.status) {
        return Err(format!("{url} answered HTTP {}", fetched.status));
    }
    Ok(fetched)
}

fn loopback_target(url: &str) -> Result<(String, String), String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| format!("{url} is not a loopback http:// URL"))?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.split(':').next().unwrap_or("")
    };
    if !matches!(host, "127.0.0.1" | "localhost" | "::1") {
        return Err(format!("{url} is not on loopback; the fake fetches nothing from the internet"));
    }
    let path = if path.starts_with('?') { format!("/{path}") } else { path.to_owned() };
    let authority = if authority.contains(':') && !authority.ends_with(']') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    Ok((authority.replace("localhost", "127.0.0.1"), path.split('#').next().unwrap_or("/").to_owned()))
}

async fn get(authority: &str, path: &str) -> Result<Fetched, String> {
    let connect_to = authority.trim_start_matches('[').replace("]:", ":");
    let addr = if authority.starts_with('[') {
        let (host, port) = connect_to.rsplit_once(':').unwrap_or((&connect_to, "80"));
        format!("[{host}]:{port}")
    } else {
        connect_to
    };
    let mut stream = TcpStream::connect(&addr).await.map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: nanopost-fakes-media-fetcher\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    loop {
        let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&chunk[..n]);
        if raw.len() > MAX_FETCH_BYTES {
            return Err("media larger than the fake's fetch cap".into());
        }
    }
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Result<Fetched, String> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("malformed HTTP response")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let body = &raw[split + 4..];
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or("malformed HTTP status line")?;
    let chunked = lines.filter_map(|l| l.split_once(':')).any(|(name, value)| {
        name.trim().eq_ignore_ascii_case("transfer-encoding") && value.trim().eq_ignore_ascii_case("chunked")
    });
    let body = if chunked { dechunk(body)? } else { body.to_vec() };
    Ok(Fetched { status, body })
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").ok_or("malformed chunked body")?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| "malformed chunk size")?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size {
            return Err("truncated chunked body".into());
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or(&[]);
    }
}

/// What the first bytes of a file say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sniffed {
    Jpeg,
    Png,
    Gif,
    Webp,
    /// MP4 / QuickTime (ISO base media: `ftyp` at offset 4).
    IsoVideo,
    Webm,
    Unknown,
}

pub(crate) fn sniff(bytes: &[u8]) -> Sniffed {
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => Sniffed::Jpeg,
        [0x89, b'P', b'N', b'G', ..] => Sniffed::Png,
        [b'G', b'I', b'F', b'8', ..] => Sniffed::Gif,
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Sniffed::Webp,
        [_, _, _, _, b'f', b't', b'y', b'p', ..] => Sniffed::IsoVideo,
        [0x1A, 0x45, 0xDF, 0xA3, ..] => Sniffed::Webm,
        _ => Sniffed::Unknown,
    }
}

/// Width and height of a JPEG (from its SOF marker) or PNG (from IHDR).
pub(crate) fn image_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    match sniff(bytes) {
        Sniffed::Png if bytes.len() >= 24 => {
            let w = u32::from_be_bytes(bytes[16..20].try_into().ok()?);
            let h = u32::from_be_bytes(bytes[20..24].try_into().ok()?);
            Some((w, h))
        }
        Sniffed::Jpeg => jpeg_dimensions(bytes),
        _ => None,
    }
}

fn jpeg_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let mut i = 2;
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            i += 1;
            continue;
        }
        let marker = bytes[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        // Markers without a length field.
        if marker == 0xD8 || marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            i += 2;
            continue;
        }
        let len = u16::from_be_bytes([bytes[i + 2], *bytes.get(i + 3)?]) as usize;
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            let h = u16::from_be_bytes([*bytes.get(i + 5)?, *bytes.get(i + 6)?]) as u32;
            let w = u16::from_be_bytes([*bytes.get(i + 7)?, *bytes.get(i + 8)?]) as u32;
            return Some((w, h));
        }
        i += 2 + len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_targets_only() {
        assert_eq!(
            loopback_target("http://127.0.0.1:8080/m/a.jpg?x=1").unwrap(),
            ("127.0.0.1:8080".into(), "/m/a.jpg?x=1".into())
        );
        assert_eq!(loopback_target("http://localhost/a").unwrap(), ("127.0.0.1:80".into(), "/a".into()));
        assert!(loopback_target("https://127.0.0.1/a").is_err());
        assert!(loopback_target("http://example.com/a.jpg").is_err());
        assert!(loopback_target("http://127.0.0.1.evil.com/a.jpg").is_err());
    }

    #[test]
    fn dechunks() {
        assert_eq!(dechunk(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap(), b"abcde");
    }
}
