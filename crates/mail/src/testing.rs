//! A real SMTP server for tests: `scripts/smtp_sink.py` (aiosmtpd) on a free port of
//! 127.0.0.1, writing what it receives into a temporary directory that the test reads.
//!
//! Recipients `reject550@…` and `tempfail451@…` are refused with those codes.

use crate::{SmtpSettings, TlsMode};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long the sink may take to start (Python, aiosmtpd, and openssl for a certificate).
const START_WITHIN: Duration = Duration::from_secs(30);

/// One message the sink accepted.
#[derive(Debug, Clone, Deserialize)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    /// Who signed in, if anyone.
    pub auth: Option<String>,
    /// Whether the connection was encrypted.
    pub tls: bool,
    /// Header names and values in order, as sent (unfolded).
    pub headers: Vec<(String, String)>,
    pub text: Option<String>,
    pub html: Option<String>,
}

impl Received {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

pub struct SmtpSink {
    child: Child,
    pub port: u16,
    pub tls: TlsMode,
    dir: PathBuf,
}

impl SmtpSink {
    /// Plain SMTP, no sign-in.
    pub async fn start() -> SmtpSink {
        Self::start_with(TlsMode::None, None).await
    }

    /// Panics (failing the test) when Python, aiosmtpd or openssl are missing, with the reason.
    pub async fn start_with(tls: TlsMode, login: Option<(&str, &str)>) -> SmtpSink {
        let dir = std::env::temp_dir().join(format!("nanopost-smtp-{}-{}", std::process::id(), unique()));
        std::fs::create_dir_all(&dir).expect("create the sink's directory");
        let mut cmd = Command::new("python3");
        cmd.arg(script()).arg(&dir).arg("--tls").arg(tls.as_str());
        if let Some((user, password)) = login {
            cmd.arg("--user").arg(user).arg("--password").arg(password);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run python3 {}: {e}", script().display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(START_WITHIN, lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("the SMTP sink did not start within {START_WITHIN:?}"))
            .expect("read the sink's output");
        let port =
            first.as_deref().and_then(|l| l.strip_prefix("READY ")).and_then(|p| p.trim().parse().ok()).unwrap_or_else(
                || {
                    panic!(
                        "the SMTP sink did not start (said {first:?}); is aiosmtpd installed? `pip install aiosmtpd` \
                     (scripts/test does it)"
                    )
                },
            );
        SmtpSink { child, port, tls, dir }
    }

    /// Settings that reach this sink (trusting its test CA when it speaks TLS).
    pub fn settings(&self) -> SmtpSettings {
        let extra_roots_pem = match self.tls {
            TlsMode::None => vec![],
            _ => vec![std::fs::read(self.dir.join("ca.pem")).expect("the sink's CA certificate")],
        };
        SmtpSettings {
            host: "127.0.0.1".into(),
            port: self.port,
            tls: self.tls,
            username: None,
            password: None,
            timeout: Duration::from_secs(10),
            hello_name: Some("nanopost.test".into()),
            extra_roots_pem,
        }
    }

    /// Everything received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        read_all(&self.dir)
    }

    /// Waits (bounded) until at least `n` messages arrived; returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let got = self.received();
            if got.len() >= n || tokio::time::Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/smtp_sink.py")
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (N.fetch_add(1, Ordering::Relaxed) << 48)
}

fn read_all(dir: &Path) -> Vec<Received> {
    let mut numbered: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter_map(|p| {
                    let n = p.file_name()?.to_str()?.strip_suffix(".json")?.parse().ok()?;
                    Some((n, p))
                })
                .collect()
        })
        .unwrap_or_default();
    numbered.sort();
    numbered
        .into_iter()
        .map(|(_, p)| {
            let raw = std::fs::read(&p).expect("read a received message");
            serde_json::from_slice(&raw).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        })
        .collect()
}
