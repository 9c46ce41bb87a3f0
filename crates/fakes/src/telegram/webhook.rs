//! Delivering an update to the webhook: a minimal HTTP/1.1 POST, over loopback only (the fake
//! never touches the internet), with the `X-Telegram-Bot-Api-Secret-Token` header.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// The webhook's answer.
pub(crate) struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

pub(crate) async fn post(url: &str, secret_token: Option<&str>, body: &[u8]) -> Result<Answer, String> {
    let (authority, path) = loopback_target(url)?;
    tokio::time::timeout(DELIVERY_TIMEOUT, send(&authority, &path, secret_token, body))
        .await
        .map_err(|_| "Connection timed out".to_owned())?
}

fn loopback_target(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| "the fake delivers webhooks only to http:// URLs on loopback".to_owned())?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        return Err("the fake delivers webhooks only to loopback addresses".into());
    }
    let authority = if authority.contains("]:") || (!authority.starts_with('[') && authority.contains(':')) {
        authority.replace("localhost", "127.0.0.1")
    } else {
        format!("{}:80", authority.replace("localhost", "127.0.0.1"))
    };
    let path = if path.starts_with('?') { format!("/{path}") } else { path.to_owned() };
    Ok((authority, path))
}

async fn send(authority: &str, path: &str, secret: Option<&str>, body: &[u8]) -> Result<Answer, String> {
    let mut stream = TcpStream::connect(authority).await.map_err(|e| format!("Connection refused ({e})"))?;
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(s) = secret {
        head.push_str(&format!("X-Telegram-Bot-Api-Secret-Token: {s}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.map_err(|e| e.to_string())?;
    stream.write_all(body).await.map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&chunk[..n]);
        if raw.len() > MAX_ANSWER_BYTES {
            return Err("the webhook's answer is too large".into());
        }
    }
    parse(&raw)
}

fn parse(raw: &[u8]) -> Result<Answer, String> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("Wrong response from the webhook: malformed")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or("Wrong response from the webhook: no status")?;
    let chunked = lines
        .filter_map(|l| l.split_once(':'))
        .any(|(k, v)| k.trim().eq_ignore_ascii_case("transfer-encoding") && v.trim().eq_ignore_ascii_case("chunked"));
    let body = &raw[split + 4..];
    let body = if chunked { dechunk(body)? } else { body.to_vec() };
    Ok(Answer { status, body })
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let end = data.windows(2).position(|w| w == b"\r\n").ok_or("malformed chunked answer")?;
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..end]).split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| "malformed chunk size")?;
        data = &data[end + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(data.get(..size).ok_or("truncated chunked answer")?);
        data = data.get(size + 2..).unwrap_or(&[]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only() {
        assert_eq!(loopback_target("http://127.0.0.1:9000/telegram/webhook").unwrap().1, "/telegram/webhook");
        assert_eq!(loopback_target("http://localhost:9000/x").unwrap().0, "127.0.0.1:9000");
        assert!(loopback_target("https://example.com/telegram/webhook").is_err());
        assert!(loopback_target("http://example.com/telegram/webhook").is_err());
        assert!(loopback_target("http://127.0.0.1.evil.com/x").is_err());
    }

    #[test]
    fn reads_plain_and_chunked_answers() {
        let a = parse(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").unwrap();
        assert_eq!((a.status, a.body.as_slice()), (200, b"{}".as_slice()));
        let a = parse(b"HTTP/1.1 401 Unauthorized\r\ntransfer-encoding: chunked\r\n\r\n2\r\nno\r\n0\r\n\r\n").unwrap();
        assert_eq!((a.status, a.body.as_slice()), (401, b"no".as_slice()));
    }
}
