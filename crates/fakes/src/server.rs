//! The machinery every fake shares: loopback listeners whose connections can be cut on purpose,
//! the request journal, failure injection, and shutdown when the last handle is dropped.

use crate::failure::{Failure, Route, Rule};
use crate::incoming::Incoming;
use crate::record::RecordedRequest;
use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use nanopost_domain::clock::Clock;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Largest request body a fake reads (TikTok chunks go up to 128 MB).
const MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

/// Locks a mutex, ignoring poisoning: a panicked test must not cascade into every other request.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One network's behaviour: answers a request and renders the generic failure classes in the
/// network's own error shapes.
pub(crate) trait Service: Send + Sync + 'static {
    fn handle(self: Arc<Self>, req: Incoming) -> impl Future<Output = Response> + Send;
    fn render_failure(&self, failure: &Failure, req: &Incoming) -> Response;
}

/// State shared by every listener of one fake.
pub(crate) struct Core {
    pub clock: Arc<dyn Clock>,
    journal: Mutex<Vec<RecordedRequest>>,
    rules: Mutex<Vec<Rule>>,
    next_seq: AtomicU64,
    shutdown: watch::Receiver<bool>,
}

impl Core {
    fn record(&self, req: &Incoming) -> RecordedRequest {
        let recorded = RecordedRequest {
            seq: self.next_seq.fetch_add(1, Ordering::SeqCst) + 1,
            listener: req.listener,
            method: req.method.to_string(),
            path: req.path.clone(),
            query: req.raw_query.clone(),
            headers: req
                .headers
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect(),
            body: req.body.to_vec(),
            at: self.clock.now(),
        };
        lock(&self.journal).push(recorded.clone());
        recorded
    }

    /// Takes the first armed failure whose route matches, consuming one shot of it.
    fn take_failure(&self, req: &RecordedRequest) -> Option<Failure> {
        let mut rules = lock(&self.rules);
        let index = rules.iter().position(|r| r.route.matches(req))?;
        let failure = rules[index].failure.clone();
        match &mut rules[index].remaining {
            Some(n) if *n <= 1 => {
                rules.remove(index);
            }
            Some(n) => *n -= 1,
            None => {}
        }
        Some(failure)
    }

    async fn wait_for_shutdown(&self) {
        let mut rx = self.shutdown.clone();
        let _ = rx.wait_for(|stopped| *stopped).await;
    }
}

/// Controls common to every fake: base URLs, the request journal, failure injection, the clock.
/// Each fake derefs to this, so `fake.requests()` and `fake.fail_next(..)` work on all of them.
/// Cloning is cheap; the listeners stop when the last clone is dropped.
#[derive(Clone)]
pub struct FakeServer {
    inner: Arc<ServerInner>,
}

struct ServerInner {
    core: Arc<Core>,
    listeners: Vec<(&'static str, SocketAddr)>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for ServerInner {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl std::fmt::Debug for FakeServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeServer").field("listeners", &self.inner.listeners).finish_non_exhaustive()
    }
}

impl FakeServer {
    /// `http://127.0.0.1:<port>` of the named listener (see each fake for its listener names).
    ///
    /// # Panics
    /// If the fake has no listener of that name: a programming error in the test.
    pub fn base_url_of(&self, listener: &str) -> String {
        let addr = self
            .inner
            .listeners
            .iter()
            .find(|(name, _)| *name == listener)
            .map(|(_, addr)| *addr)
            .unwrap_or_else(|| panic!("this fake has no listener named {listener:?}"));
        format!("http://{addr}")
    }

    /// Socket addresses of every listener, by name.
    pub fn listeners(&self) -> Vec<(&'static str, SocketAddr)> {
        self.inner.listeners.clone()
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.inner.core.journal).clone()
    }

    /// The requests a route matches, oldest first.
    pub fn requests_to(&self, route: &Route) -> Vec<RecordedRequest> {
        lock(&self.inner.core.journal).iter().filter(|r| route.matches(r)).cloned().collect()
    }

    /// Forgets the journal (failure rules stay armed).
    pub fn clear_requests(&self) {
        lock(&self.inner.core.journal).clear();
    }

    /// The next request the route matches fails as described; later ones are served normally.
    pub fn fail_next(&self, route: Route, failure: Failure) {
        self.fail_times(route, failure, 1);
    }

    /// The next `times` requests the route matches fail as described.
    pub fn fail_times(&self, route: Route, failure: Failure, times: usize) {
        if times > 0 {
            lock(&self.inner.core.rules).push(Rule { route, failure, remaining: Some(times) });
        }
    }

    /// Every request the route matches fails until [`FakeServer::clear_failures`].
    pub fn fail_always(&self, route: Route, failure: Failure) {
        lock(&self.inner.core.rules).push(Rule { route, failure, remaining: None });
    }

    /// Disarms every failure rule.
    pub fn clear_failures(&self) {
        lock(&self.inner.core.rules).clear();
    }

    /// The clock the fake reads (token and container expiry, quotas, rate windows).
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.inner.core.clock.clone()
    }
}

/// Binds every listener and serves `svc` on each until the returned handle's last clone drops.
pub(crate) async fn start<S: Service>(
    svc: Arc<S>,
    clock: Arc<dyn Clock>,
    listeners: &[(&'static str, SocketAddr)],
) -> io::Result<FakeServer> {
    let (stop, shutdown) = watch::channel(false);
    let core = Arc::new(Core {
        clock,
        journal: Mutex::new(Vec::new()),
        rules: Mutex::new(Vec::new()),
        next_seq: AtomicU64::new(0),
        shutdown,
    });
    let mut bound = Vec::new();
    let mut tasks = Vec::new();
    for (name, addr) in listeners {
        let tcp = TcpListener::bind(addr).await?;
        let local = tcp.local_addr()?;
        let name: &'static str = name;
        let (svc, core_for_router) = (svc.clone(), core.clone());
        let router = Router::new().fallback(move |ConnectInfo(conn): ConnectInfo<ConnHandle>, req: Request| {
            let (svc, core) = (svc.clone(), core_for_router.clone());
            async move { dispatch(svc, core, name, conn, req).await }
        });
        let listener = KillableListener { tcp };
        let mut stopped = core.shutdown.clone();
        let server = axum::serve(listener, router.into_make_service_with_connect_info::<ConnHandle>())
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|s| *s).await;
            });
        tasks.push(tokio::spawn(async move {
            let _ = server.await;
        }));
        bound.push((name, local));
    }
    Ok(FakeServer { inner: Arc::new(ServerInner { core, listeners: bound, stop, tasks }) })
}

async fn dispatch<S: Service>(
    svc: Arc<S>,
    core: Arc<Core>,
    listener: &'static str,
    conn: ConnHandle,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large or unreadable").into_response(),
    };
    let incoming = Incoming::new(listener, parts, body);
    let recorded = core.record(&incoming);
    let Some(failure) = core.take_failure(&recorded) else {
        return svc.handle(incoming).await;
    };
    match failure {
        Failure::Delay(by) => {
            tokio::time::sleep(by).await;
            svc.handle(incoming).await
        }
        Failure::SlowAnswer(by) => {
            let answer = svc.handle(incoming).await;
            tokio::time::sleep(by).await;
            answer
        }
        Failure::Hang => {
            core.wait_for_shutdown().await;
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
        Failure::DropBeforeAction => {
            conn.kill();
            dropped_response()
        }
        Failure::DropAfterAction => {
            // The action happens (state changes), then the client never learns the outcome.
            let _ = svc.handle(incoming).await;
            conn.kill();
            dropped_response()
        }
        other => svc.render_failure(&other, &incoming),
    }
}

/// What the handler returns once its connection is cut; hyper fails to write it and closes.
fn dropped_response() -> Response {
    let mut response = Response::new(Body::from("connection dropped by the fake"));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

/// Identifies one accepted connection; lets a handler cut it before its answer is written.
#[derive(Clone, Debug)]
pub(crate) struct ConnHandle {
    killed: Arc<AtomicBool>,
}

impl ConnHandle {
    fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
    }
}

impl Connected<IncomingStream<'_, KillableListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        stream.remote_addr().clone()
    }
}

struct KillableListener {
    tcp: TcpListener,
}

impl Listener for KillableListener {
    type Io = KillableStream;
    type Addr = ConnHandle;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.tcp.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let handle = ConnHandle { killed: Arc::new(AtomicBool::new(false)) };
                    return (KillableStream { inner: stream, killed: handle.killed.clone() }, handle);
                }
                // Out of file descriptors and the like: wait a moment rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr().map(|_| ConnHandle { killed: Arc::new(AtomicBool::new(false)) })
    }
}

/// A TCP stream that fails every read and write once killed, so hyper abandons the connection
/// without writing a byte of the pending response.
struct KillableStream {
    inner: TcpStream,
    killed: Arc<AtomicBool>,
}

impl KillableStream {
    fn check(&self) -> io::Result<()> {
        if self.killed.load(Ordering::SeqCst) {
            Err(io::Error::new(io::ErrorKind::ConnectionAborted, "connection dropped by the fake"))
        } else {
            Ok(())
        }
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if let Err(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if let Err(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Err(e) = self.check() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
