//! Running the binary: temporary directories, children killed on drop, bounded waits, a tiny
//! HTTP/1.1 client over a raw TCP socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_nanopost");

/// Longest wait for the server to print its URL (the first start migrates a fresh database).
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest wait for a process to exit after SIGTERM.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest run of a one-shot command (migrate, config check, admin).
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("nanopost-it-{}-{n}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// `./nanopost-data` as seen by a child started in this directory.
    pub fn data_dir(&self) -> PathBuf {
        self.0.join("nanopost-data")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The binary, started in `cwd`, with no `NANOPOST_…` variable inherited from the test run.
pub fn nanopost(cwd: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(cwd);
    for (k, _) in std::env::vars() {
        if k.starts_with("NANOPOST_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// The result of a one-shot command.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// Runs `cmd` to completion (killing it after [`RUN_TIMEOUT`]), feeding it `stdin`.
pub fn run(cmd: &mut Command, stdin: Option<&str>) -> Output {
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Guard(cmd.spawn().expect("spawn nanopost"));
    if let Some(input) = stdin {
        let mut pipe = child.0.stdin.take().expect("stdin");
        pipe.write_all(input.as_bytes()).expect("write stdin");
    }
    let out = drain(child.0.stdout.take().expect("stdout"));
    let err = drain(child.0.stderr.take().expect("stderr"));
    let status = wait_for_exit(&mut child.0, RUN_TIMEOUT)
        .unwrap_or_else(|| panic!("command did not finish within {RUN_TIMEOUT:?}"));
    Output { status, stdout: out.join().expect("stdout reader"), stderr: err.join().expect("stderr reader") }
}

fn drain(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = r.read_to_string(&mut s);
        s
    })
}

/// Polls until the child exits or `timeout` passes.
pub fn wait_for_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills the child when dropped, whatever happened to the test.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A long-running `serve` or `worker` process.
pub struct Server {
    child: Guard,
    /// The base URL the binary printed (empty for `worker`).
    pub url: String,
    stdout_lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `cmd` and waits until it prints a line starting with `ready_prefix`.
    pub fn start(cmd: &mut Command, ready_prefix: &str) -> Server {
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = Guard(cmd.spawn().expect("spawn nanopost"));
        let stdout = child.0.stdout.take().expect("stdout");
        let stderr_pipe = child.0.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr_pipe).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        let mut server = Server { child, url: String::new(), stdout_lines: rx, stderr };
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match server.stdout_lines.recv_timeout(left.max(Duration::from_millis(1))) {
                Ok(line) if line.starts_with(ready_prefix) => {
                    server.url = line.rsplit(' ').next().unwrap_or_default().to_string();
                    return server;
                }
                Ok(_) => {}
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(100));
                    panic!(
                        "nanopost did not print {ready_prefix:?} within {START_TIMEOUT:?}; exit: {:?}; stderr:\n{}",
                        server.child.0.try_wait(),
                        server.stderr()
                    );
                }
            }
        }
    }

    /// `serve` and wait for "Nanopost is running: open URL".
    pub fn serve(cmd: &mut Command) -> Server {
        let s = Self::start(cmd, "Nanopost is running: open ");
        assert!(s.url.starts_with("http://") || s.url.starts_with("https://"), "printed URL: {}", s.url);
        s
    }

    pub fn pid(&self) -> u32 {
        self.child.0.id()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(&self.url, path)
    }

    /// Sends `signal` (e.g. "TERM") and waits, bounded, for the exit.
    pub fn stop_with(&mut self, signal: &str) -> (ExitStatus, Duration) {
        let started = Instant::now();
        send_signal(self.pid(), signal);
        let status = wait_for_exit(&mut self.child.0, STOP_TIMEOUT).unwrap_or_else(|| {
            panic!("nanopost did not exit within {STOP_TIMEOUT:?} of SIG{signal}; stderr:\n{}", self.stderr())
        });
        (status, started.elapsed())
    }

    /// SIGTERM, then asserts a clean exit (status 0).
    pub fn stop(mut self) -> String {
        let (status, _) = self.stop_with("TERM");
        // Let the reader thread collect the last lines.
        std::thread::sleep(Duration::from_millis(50));
        assert!(status.success(), "exit status {status:?}; stderr:\n{}", self.stderr());
        self.stderr()
    }
}

pub fn send_signal(pid: u32, signal: &str) {
    let ok = Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status().expect("run kill");
    assert!(ok.success(), "kill -{signal} {pid} failed");
}

/// `GET base+path` with HTTP/1.1 and `Connection: close`; returns the status and the body.
pub fn http_get(base: &str, path: &str) -> (u16, String) {
    let authority = base.strip_prefix("http://").expect("http URL").trim_end_matches('/');
    let mut stream = TcpStream::connect(authority).unwrap_or_else(|e| panic!("connect {authority}: {e}"));
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap_or_else(|e| panic!("read response of {path}: {e}"));
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status =
        text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

/// Asserts a failed one-shot run whose standard error is exactly one line containing every
/// one of `needles`.
pub fn assert_one_line_failure(out: &Output, needles: &[&str]) {
    assert!(!out.status.success(), "expected failure, got {:?}; stdout:\n{}", out.status, out.stdout);
    let lines: Vec<&str> = out.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr, got:\n{}", out.stderr);
    for n in needles {
        assert!(lines[0].contains(n), "{n:?} not in {:?}", lines[0]);
    }
}
