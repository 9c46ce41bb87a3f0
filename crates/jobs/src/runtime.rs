//! The worker runtime: one dispatcher claims due jobs (in batches up to the free worker slots)
//! and runs each on its own task, up to `concurrency` at once. A running job's lease is
//! extended by heartbeats; a worker that loses its lease stops without writing. On stop, the
//! dispatcher claims nothing more, running jobs get `stop_grace` to finish, and the rest are
//! released (handed back without counting the attempt).

use crate::retry::{Decision, JobError, RetryPolicy, random_unit};
use crate::scheduler::{PollBackoff, sleep_for};
use crate::{JobQueue, Result};
use jiff::{SignedDuration, Timestamp};
use nanopost_domain::clock::Clock;
use nanopost_storage::{Claim, Heartbeat, Job, Lease, NewJob};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc, watch};

/// Most claimers running side by side (see [`Runtime::run`]).
const MAX_CLAIMERS: usize = 8;

/// What a handler returns: the follow-up jobs to enqueue atomically with the completion (the
/// next steps of a pipeline; usually none), or the failure.
pub type JobResult = std::result::Result<Vec<NewJob>, JobError>;

type BoxedHandler<Q> = Arc<dyn Fn(JobContext<Q>) -> Pin<Box<dyn Future<Output = JobResult> + Send>> + Send + Sync>;

/// Handlers by job kind.
pub struct Handlers<Q> {
    by_kind: HashMap<String, BoxedHandler<Q>>,
}

impl<Q> Default for Handlers<Q> {
    fn default() -> Self {
        Self { by_kind: HashMap::new() }
    }
}

impl<Q: JobQueue> Handlers<Q> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn on<F, Fut>(mut self, kind: &str, handler: F) -> Self
    where
        F: Fn(JobContext<Q>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = JobResult> + Send + 'static,
    {
        self.by_kind.insert(kind.to_owned(), Arc::new(move |ctx| Box::pin(handler(ctx))));
        self
    }

    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.by_kind.keys().map(String::as_str)
    }
}

/// What a handler gets: the job, and the means to save progress under its lease.
pub struct JobContext<Q> {
    pub job: Job,
    lease: Lease,
    queue: Q,
    cancel_requested: Arc<AtomicBool>,
}

impl<Q: JobQueue> JobContext<Q> {
    pub fn lease(&self) -> &Lease {
        &self.lease
    }
    /// Saves `payload` as the job's progress, so a later attempt resumes from it. False if the
    /// lease is gone (stop: someone else owns the job now).
    pub async fn checkpoint(&self, payload: &serde_json::Value) -> Result<bool> {
        self.queue.checkpoint(&self.lease, payload).await
    }
    /// Someone cancelled the job while it ran; the handler may stop early.
    pub fn cancel_requested(&self) -> bool {
        self.cancel_requested.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Jobs running at once.
    pub concurrency: usize,
    /// Most jobs per claim; 1 means one transaction per claim step.
    pub claim_batch: u32,
    /// Most completions per write; 1 means one transaction per completion.
    pub ack_batch: usize,
    pub lease: Duration,
    pub heartbeat_every: Duration,
    /// The safety-net poll: from `poll_min` after work, doubling while idle up to `poll_max`.
    pub poll_min: Duration,
    pub poll_max: Duration,
    /// How often expired leases are looked for.
    pub reap_every: Duration,
    /// After stop, how long running jobs may take before they are released.
    pub stop_grace: Duration,
    pub retry: RetryPolicy,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            concurrency: 16,
            claim_batch: 32,
            ack_batch: 64,
            lease: Duration::from_secs(60),
            heartbeat_every: Duration::from_secs(20),
            poll_min: Duration::from_millis(50),
            poll_max: Duration::from_secs(5),
            reap_every: Duration::from_secs(15),
            stop_grace: Duration::from_secs(20),
            retry: RetryPolicy::default(),
        }
    }
}

/// Counts since start, for logs, tests and benchmarks.
#[derive(Debug, Default)]
pub struct Stats {
    pub claimed: AtomicU64,
    pub completed: AtomicU64,
    pub retried: AtomicU64,
    pub dead: AtomicU64,
    pub released: AtomicU64,
    pub lost: AtomicU64,
}

pub struct Runtime<Q> {
    queue: Q,
    handlers: Arc<Handlers<Q>>,
    config: RuntimeConfig,
    clock: Arc<dyn Clock>,
    stats: Arc<Stats>,
}

impl<Q: JobQueue> Runtime<Q> {
    pub fn new(queue: Q, handlers: Handlers<Q>, config: RuntimeConfig, clock: Arc<dyn Clock>) -> Self {
        Self { queue, handlers: Arc::new(handlers), config, clock, stats: Arc::default() }
    }

    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }

    /// Runs until `stop` resolves, then stops gracefully (see the module docs).
    pub async fn run(self, stop: impl Future<Output = ()> + Send) {
        let concurrency = self.config.concurrency.max(1);
        let slots = Arc::new(Semaphore::new(concurrency));
        let (stopping_tx, stopping) = watch::channel(false);
        let acker = Acker::spawn(self.queue.clone(), self.config.ack_batch, self.stats.clone());
        let shared = Arc::new(Shared {
            queue: self.queue.clone(),
            handlers: self.handlers.clone(),
            config: self.config.clone(),
            clock: self.clock.clone(),
            stats: self.stats.clone(),
            acker: acker.sender(),
        });

        let wake = match self.queue.wakeups().await {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!(error = %e, "job wake-ups unavailable; polling only");
                None
            }
        };
        // Small claims leave the workers waiting on one claimer's round trips: then several
        // claim side by side (each for the free slots it holds), as many as it takes to fill
        // the workers with whole batches, up to MAX_CLAIMERS. The first also reaps.
        let claimers = concurrency.div_ceil(self.config.claim_batch.max(1) as usize).clamp(1, MAX_CLAIMERS);
        let dispatchers =
            (0..claimers).map(|i| self.dispatch(i == 0, wake.clone(), slots.clone(), shared.clone(), stopping.clone()));
        let signal = async {
            stop.await;
            // Claim nothing more; running jobs get the grace period from now.
            let _ = stopping_tx.send(true);
        };
        tokio::join!(signal, futures_util::future::join_all(dispatchers));

        // Graceful stop: running jobs finish or are released after the grace.
        tracing::info!("job runtime stopping: finishing or releasing running jobs");
        let _ = slots.acquire_many(concurrency as u32).await;
        drop(shared);
        acker.finish().await;
        tracing::info!(
            completed = self.stats.completed.load(Ordering::Relaxed),
            released = self.stats.released.load(Ordering::Relaxed),
            "job runtime stopped"
        );
    }

    /// One claimer: waits for free worker slots, claims that many due jobs (up to a batch)
    /// and starts them; sleeps until the next due job, a wake-up or the safety poll when there
    /// is nothing to claim. Returns once `stopping` turns true (never in the middle of a claim,
    /// so that no claimed job is dropped).
    async fn dispatch(
        &self,
        reaper: bool,
        mut wake: Option<nanopost_storage::JobWakeups>,
        slots: Arc<Semaphore>,
        shared: Arc<Shared<Q>>,
        mut stopping: watch::Receiver<bool>,
    ) {
        let batch = self.config.claim_batch.max(1) as usize;
        let mut poll = PollBackoff::new(self.config.poll_min, self.config.poll_max);
        let mut next_reap = tokio::time::Instant::now();
        let far = Duration::from_secs(3600);
        loop {
            if reaper && tokio::time::Instant::now() >= next_reap {
                match self.queue.reap_expired(self.clock.now()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(jobs = n, "re-queued jobs whose worker stopped heartbeating"),
                    Err(e) => tracing::warn!(error = %e, "looking for expired job leases failed"),
                }
                next_reap = tokio::time::Instant::now() + self.config.reap_every;
            }
            // Wait for a free slot, then take the others free now, up to a batch.
            let first = tokio::select! {
                biased;
                _ = stopping.wait_for(|s| *s) => break,
                p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            };
            let mut permits = vec![first];
            while permits.len() < batch {
                match slots.clone().try_acquire_owned() {
                    Ok(p) => permits.push(p),
                    Err(_) => break,
                }
            }
            let limit = permits.len();
            if let Some(w) = wake.as_mut() {
                w.mark_seen();
            }
            let now = self.clock.now();
            let lease_until = now.checked_add(signed(self.config.lease)).unwrap_or(Timestamp::MAX);
            let claim = Claim { now, lease_until, limit: limit as u32 };
            let claimed = match self.queue.claim(&claim).await {
                Ok(jobs) => jobs,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming jobs failed; retrying after a pause");
                    drop(permits);
                    let pause = poll.next_interval();
                    tokio::select! { _ = stopping.wait_for(|s| *s) => break, _ = tokio::time::sleep(pause) => continue }
                }
            };
            let got = claimed.len();
            for job in claimed {
                let Some(slot) = permits.pop() else {
                    // Cannot happen (a claim returns at most its limit); hand the job back.
                    if let Some(lease) = job.lease {
                        let _ = self.queue.release(&lease, self.clock.now()).await;
                    }
                    continue;
                };
                self.stats.claimed.fetch_add(1, Ordering::Relaxed);
                let shared = shared.clone();
                let stopping = stopping.clone();
                tokio::spawn(async move {
                    shared.work(job, stopping).await;
                    drop(shared);
                    drop(slot);
                });
            }
            drop(permits);
            if got == limit {
                poll.reset();
                continue;
            }
            if got > 0 {
                poll.reset();
            }
            // Sleep until the next due job, a wake-up, the safety poll or the next reap.
            let next_due = self.queue.next_due().await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "reading the next due job failed");
                None
            });
            let mut pause = sleep_for(self.clock.now(), next_due, poll.next_interval());
            if pause.is_zero() && got == 0 {
                // Due but nothing claimable (another process holds it, or the hint was early):
                // do not spin.
                pause = self.config.poll_min;
            }
            let reap_in = if reaper { next_reap.saturating_duration_since(tokio::time::Instant::now()) } else { far };
            let pause = pause.min(reap_in);
            if pause.is_zero() {
                continue;
            }
            tokio::select! {
                biased;
                _ = stopping.wait_for(|s| *s) => break,
                _ = wait_for_wake(wake.as_mut()) => {}
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }
}

impl<Q: JobQueue> Runtime<Q> {
    /// Runs every job due now, and the follow-ups that become due, one at a time in this task,
    /// settling each as [`Runtime::run`] would; returns how many ran. For tests and tools that
    /// move a controllable clock themselves. Bounded: stops with an error after `limit` jobs.
    pub async fn run_until_idle(&self, limit: usize) -> Result<usize> {
        // No acker: completions are written one by one.
        let (acker, _) = mpsc::unbounded_channel();
        let config = RuntimeConfig { ack_batch: 1, ..self.config.clone() };
        let shared = Shared {
            queue: self.queue.clone(),
            handlers: self.handlers.clone(),
            config,
            clock: self.clock.clone(),
            stats: self.stats.clone(),
            acker,
        };
        let mut ran = 0;
        loop {
            let now = self.clock.now();
            let lease_until = now.checked_add(signed(self.config.lease)).unwrap_or(Timestamp::MAX);
            let jobs = self.queue.claim(&Claim { now, lease_until, limit: 16 }).await?;
            if jobs.is_empty() {
                return Ok(ran);
            }
            for job in jobs {
                if ran >= limit {
                    if let Some(lease) = job.lease {
                        self.queue.release(&lease, now).await?;
                    }
                    return Err(crate::QueueError::Corrupt(format!("more than {limit} jobs kept becoming due")));
                }
                ran += 1;
                self.stats.claimed.fetch_add(1, Ordering::Relaxed);
                let Some(lease) = job.lease else { continue };
                let ended = match self.handlers.by_kind.get(&job.kind).cloned() {
                    None => {
                        Ended::Finished(Err(JobError::retry(format!("no handler for job kind {:?} here", job.kind))))
                    }
                    Some(handler) => {
                        let ctx = JobContext {
                            job: job.clone(),
                            lease,
                            queue: self.queue.clone(),
                            cancel_requested: Arc::new(AtomicBool::new(job.cancel_requested)),
                        };
                        let result = tokio::spawn(handler(ctx)).await;
                        Ended::Finished(result.unwrap_or_else(|_| Err(JobError::retry("the job's handler panicked"))))
                    }
                };
                shared.settle(&job, &lease, ended).await?;
            }
        }
    }
}

async fn wait_for_wake(wake: Option<&mut nanopost_storage::JobWakeups>) {
    match wake {
        Some(w) => w.changed().await,
        None => std::future::pending().await,
    }
}

fn signed(d: Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}

/// What every worker task shares.
struct Shared<Q> {
    queue: Q,
    handlers: Arc<Handlers<Q>>,
    config: RuntimeConfig,
    clock: Arc<dyn Clock>,
    stats: Arc<Stats>,
    acker: mpsc::UnboundedSender<Lease>,
}

enum Ended {
    Finished(JobResult),
    LeaseLost,
    Stopped,
}

impl<Q: JobQueue> Shared<Q> {
    async fn work(&self, job: Job, mut stopping: watch::Receiver<bool>) {
        let Some(lease) = job.lease else {
            tracing::error!(job = %job.id, "claimed job without a lease; skipping");
            return;
        };
        let cancel_requested = Arc::new(AtomicBool::new(job.cancel_requested));
        let ended = match self.handlers.by_kind.get(&job.kind).cloned() {
            None => Ended::Finished(Err(JobError::retry(format!("no handler for job kind {:?} here", job.kind)))),
            Some(handler) => {
                let ctx = JobContext {
                    job: job.clone(),
                    lease,
                    queue: self.queue.clone(),
                    cancel_requested: cancel_requested.clone(),
                };
                // Its own task, so that a panic is an error of this job, not of the runtime.
                let mut task = tokio::spawn(handler(ctx));
                let mut beat = tokio::time::interval_at(
                    tokio::time::Instant::now() + self.config.heartbeat_every,
                    self.config.heartbeat_every.max(Duration::from_millis(1)),
                );
                let grace = self.config.stop_grace;
                let deadline = async move {
                    let _ = stopping.wait_for(|s| *s).await;
                    tokio::time::sleep(grace).await;
                };
                tokio::pin!(deadline);
                loop {
                    tokio::select! {
                        joined = &mut task => break Ended::Finished(joined.unwrap_or_else(|e| {
                            Err(JobError::retry(if e.is_panic() { "the job's handler panicked" } else { "the job's task was cancelled" }))
                        })),
                        _ = beat.tick() => {
                            let until = self.clock.now().checked_add(signed(self.config.lease)).unwrap_or(Timestamp::MAX);
                            match self.queue.heartbeat(&lease, until).await {
                                Ok(Heartbeat::Extended) => {}
                                Ok(Heartbeat::CancelRequested) => cancel_requested.store(true, Ordering::Relaxed),
                                Ok(Heartbeat::Lost) => { task.abort(); break Ended::LeaseLost; }
                                Err(e) => tracing::warn!(job = %job.id, error = %e, "heartbeat failed; will try again"),
                            }
                        }
                        _ = &mut deadline => { task.abort(); break Ended::Stopped; }
                    }
                }
            }
        };
        if let Err(e) = self.settle(&job, &lease, ended).await {
            tracing::warn!(job = %job.id, error = %e, "recording the job's outcome failed; its lease will expire and it will run again");
        }
    }

    async fn settle(&self, job: &Job, lease: &Lease, ended: Ended) -> Result<()> {
        let now = self.clock.now();
        match ended {
            Ended::LeaseLost => {
                self.stats.lost.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(job = %job.id, kind = %job.kind, "lease lost (the job ran too long without a heartbeat); abandoned");
            }
            Ended::Stopped => {
                self.queue.release(lease, now).await?;
                self.stats.released.fetch_add(1, Ordering::Relaxed);
            }
            Ended::Finished(Ok(next)) if next.is_empty() => {
                // One write per job, or through the batching acker (if it is still there).
                if self.config.ack_batch <= 1 || self.acker.send(*lease).is_err() {
                    self.queue.complete(std::slice::from_ref(lease)).await?;
                    self.stats.completed.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ended::Finished(Ok(next)) => {
                if self.queue.complete_and_enqueue(lease, &next).await?.is_some() {
                    self.stats.completed.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ended::Finished(Err(error)) => match self.config.retry.decide(job, &error, now, random_unit()) {
                Decision::RetryAt(at) => {
                    tracing::info!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %error, retry_at = %at, "job failed; will retry");
                    self.queue.retry(lease, at, &error.message, now).await?;
                    self.stats.retried.fetch_add(1, Ordering::Relaxed);
                }
                Decision::DeadLetter => {
                    tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %error, "job failed for good; moved to the dead letters");
                    self.queue.dead_letter(lease, &error.message, now).await?;
                    self.stats.dead.fetch_add(1, Ordering::Relaxed);
                }
            },
        }
        Ok(())
    }
}

/// Completes finished jobs in batches: whatever has piled up since the last write, up to
/// `batch` at a time (one at a time when idle, so nothing waits).
struct Acker {
    tx: mpsc::UnboundedSender<Lease>,
    task: tokio::task::JoinHandle<()>,
}

impl Acker {
    fn spawn<Q: JobQueue>(queue: Q, batch: usize, stats: Arc<Stats>) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Lease>();
        let batch = batch.max(1);
        let task = tokio::spawn(async move {
            let mut pending = Vec::with_capacity(batch);
            while rx.recv_many(&mut pending, batch).await > 0 {
                let mut tries = 0;
                loop {
                    match queue.complete(&pending).await {
                        Ok(_) => {
                            stats.completed.fetch_add(pending.len() as u64, Ordering::Relaxed);
                            break;
                        }
                        Err(e) if tries < 3 => {
                            tries += 1;
                            tracing::warn!(error = %e, "completing jobs failed; retrying");
                            tokio::time::sleep(Duration::from_millis(100 * tries)).await;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, jobs = pending.len(), "completing jobs failed; their leases will expire and they will run again");
                            break;
                        }
                    }
                }
                pending.clear();
            }
        });
        Self { tx, task }
    }

    fn sender(&self) -> mpsc::UnboundedSender<Lease> {
        self.tx.clone()
    }

    /// Writes what is left and stops (every other sender must be gone).
    async fn finish(self) {
        drop(self.tx);
        let _ = self.task.await;
    }
}
