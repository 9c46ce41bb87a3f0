//! The scheduler and the worker runtime, on every backend.

use crate::harness::{eventually, ms, t};
use jiff::{SignedDuration, Timestamp};
use nanopost_domain::clock::{Clock, ManualClock, SystemClock};
use nanopost_domain::ids::WorkspaceId;
use nanopost_domain::post::Schedule;
use nanopost_jobs::scheduler::scheduled_job;
use nanopost_jobs::{
    AnyQueue, Claim, Handlers, JobError, JobQueue, JobState, NewJob, RetryPolicy, Runtime, RuntimeConfig,
};
use serde_json::json;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

crate::on_every_backend!(
    failures_back_off_with_jitter_then_dead_letter,
    a_failure_s_retry_at_is_honoured,
    enqueue_wakes_the_sleeping_scheduler,
    many_workers_run_each_job_once,
    stop_releases_running_jobs,
    posts_at_nine_in_berlin_run_at_the_right_instant_across_dst,
);

/// Another client's enqueue (PostgreSQL NOTIFY, Redis pub/sub; on SQLite the in-process
/// channel of the same file) wakes a scheduler that would otherwise poll only every 30 s.
mod wakes_on_another_client_s_enqueue {
    use crate::harness;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let tq = harness::sqlite().await;
        let other = tq.another_client().await;
        harness::run(tq, |q, _| super::another_client_s_enqueue_wakes_the_scheduler(q, other)).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let tq = harness::postgres().await;
        let other = tq.another_client().await;
        harness::run(tq, |q, _| super::another_client_s_enqueue_wakes_the_scheduler(q, other)).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis() {
        let tq = harness::redis().await;
        let other = tq.another_client().await;
        harness::run(tq, |q, _| super::another_client_s_enqueue_wakes_the_scheduler(q, other)).await
    }
}

/// A runtime that re-reads the (manual) clock every few milliseconds.
fn fast_config() -> RuntimeConfig {
    RuntimeConfig {
        concurrency: 4,
        poll_min: Duration::from_millis(2),
        poll_max: Duration::from_millis(5),
        reap_every: Duration::from_millis(50),
        stop_grace: Duration::from_millis(100),
        ..RuntimeConfig::default()
    }
}

/// Starts the runtime; the returned sender stops it, the handle ends when it has stopped.
fn start(
    q: &AnyQueue,
    handlers: Handlers<AnyQueue>,
    config: RuntimeConfig,
    clock: Arc<dyn Clock>,
) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let runtime = Runtime::new(q.clone(), handlers, config, clock);
    let handle = tokio::spawn(runtime.run(async move {
        let _ = stop_rx.await;
    }));
    (stop_tx, handle)
}

async fn stop(runtime: (oneshot::Sender<()>, tokio::task::JoinHandle<()>)) {
    let _ = runtime.0.send(());
    tokio::time::timeout(Duration::from_secs(5), runtime.1).await.expect("the runtime stops in time").unwrap();
}

async fn failures_back_off_with_jitter_then_dead_letter(q: AnyQueue) {
    let clock = Arc::new(ManualClock::new(t(0)));
    let policy =
        RetryPolicy { base: Duration::from_secs(10), factor: 3.0, max: Duration::from_secs(3600), jitter: 0.5 };
    let handlers = Handlers::new()
        .on("flaky", |ctx| async move { Err(JobError::retry(format!("attempt {} failed", ctx.job.attempts))) });
    let runtime = start(&q, handlers, RuntimeConfig { retry: policy, ..fast_config() }, clock.clone());
    let id = q.enqueue(&NewJob::new("flaky", json!({}), t(0)).max_attempts(3)).await.unwrap().id();

    // After failure n the job waits between (1 - jitter) × d and d, d = 10 s × 3^(n-1).
    let mut now = t(0);
    for (attempt, full) in [(1u32, 10_000i64), (2, 30_000)] {
        let waiting = wait_for(&q, id, |j| j.state == JobState::Ready && j.attempts == attempt).await;
        let delay = waiting.due_at.duration_since(now);
        assert!(
            delay >= SignedDuration::from_millis(full / 2) && delay <= SignedDuration::from_millis(full),
            "attempt {attempt}: waited {delay:?}"
        );
        assert_eq!(waiting.last_error, Some(format!("attempt {attempt} failed")));
        now = waiting.due_at;
        clock.set(now);
    }
    let dead = wait_for(&q, id, |j| j.state == JobState::Dead).await;
    assert_eq!((dead.attempts, dead.last_error.as_deref()), (3, Some("attempt 3 failed")));
    stop(runtime).await;
}

async fn wait_for(
    q: &AnyQueue,
    id: nanopost_jobs::JobId,
    ok: impl Fn(&nanopost_jobs::Job) -> bool,
) -> nanopost_jobs::Job {
    let found = Arc::new(Mutex::new(None));
    eventually(10, "the job to reach the expected state", || {
        let found = found.clone();
        let q = q.clone();
        let ok = &ok;
        async move {
            match q.job(id).await.unwrap() {
                Some(j) if ok(&j) => {
                    *found.lock().unwrap() = Some(j);
                    true
                }
                _ => false,
            }
        }
    })
    .await;
    found.lock().unwrap().take().unwrap()
}

async fn a_failure_s_retry_at_is_honoured(q: AnyQueue) {
    let clock = Arc::new(ManualClock::new(t(0)));
    let handlers = Handlers::new().on("rate_limited", |ctx| async move {
        if ctx.job.attempts == 1 { Err(JobError::retry_at("429: back off", t(3600))) } else { Ok(vec![]) }
    });
    let runtime = start(&q, handlers, fast_config(), clock.clone());
    let id = q.enqueue(&NewJob::new("rate_limited", json!({}), t(0))).await.unwrap().id();
    let waiting = wait_for(&q, id, |j| j.state == JobState::Ready && j.attempts == 1).await;
    assert_eq!(waiting.due_at, t(3600), "the network's instant beats the (shorter) backoff");
    clock.set(t(3599));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(q.job(id).await.unwrap().is_some(), "not retried early");
    clock.set(t(3600));
    eventually(5, "the retry to run and finish", || async { q.job(id).await.unwrap().is_none() }).await;
    stop(runtime).await;
}

async fn enqueue_wakes_the_sleeping_scheduler(q: AnyQueue) {
    let ran: Arc<Mutex<Vec<(String, Timestamp)>>> = Arc::default();
    let seen = ran.clone();
    let handlers = Handlers::new().on("ping", move |ctx| {
        let seen = seen.clone();
        async move {
            seen.lock().unwrap().push((ctx.job.payload["name"].as_str().unwrap_or("").to_owned(), SystemClock.now()));
            Ok(vec![])
        }
    });
    // Polling every 30 s at best: only a wake-up explains a prompt start.
    let config = RuntimeConfig {
        poll_min: Duration::from_secs(30),
        poll_max: Duration::from_secs(30),
        reap_every: Duration::from_secs(30),
        ..fast_config()
    };
    let runtime = start(&q, handlers, config, Arc::new(SystemClock));
    tokio::time::sleep(Duration::from_millis(200)).await;

    let now = SystemClock.now();
    q.enqueue(&NewJob::new("ping", json!({"name": "now"}), now)).await.unwrap();
    let later_due = now + ms(400);
    q.enqueue(&NewJob::new("ping", json!({"name": "later"}), now).due_at(later_due)).await.unwrap();
    eventually(10, "both jobs to run", || async { ran.lock().unwrap().len() == 2 }).await;
    let ran = ran.lock().unwrap().clone();
    assert_eq!(ran[0].0, "now");
    // Bounds are a tenth of the poll interval: generous for a loaded 2-core CI machine, yet only
    // a wake-up (not a poll) can meet them.
    assert!(ran[0].1.duration_since(now) < SignedDuration::from_secs(3), "woken by the enqueue: {ran:?}");
    assert_eq!(ran[1].0, "later");
    let late = ran[1].1.duration_since(later_due);
    assert!(late >= SignedDuration::ZERO, "never early: {late:?}");
    assert!(late < SignedDuration::from_secs(3), "slept until it was due: {late:?}");
    stop(runtime).await;
}

/// Several times in a row (a wake-up that fires once and never again fails the second round),
/// each job enqueued for "now" through `other` starts well within the 30 s poll.
async fn another_client_s_enqueue_wakes_the_scheduler(q: AnyQueue, other: AnyQueue) {
    let started: Arc<Mutex<Vec<Timestamp>>> = Arc::default();
    let seen = started.clone();
    let handlers = Handlers::new().on("ping", move |_ctx| {
        seen.lock().unwrap().push(SystemClock.now());
        async { Ok(vec![]) }
    });
    let config = RuntimeConfig {
        poll_min: Duration::from_secs(30),
        poll_max: Duration::from_secs(30),
        reap_every: Duration::from_secs(30),
        ..fast_config()
    };
    let runtime = start(&q, handlers, config, Arc::new(SystemClock));
    for round in 1..=3 {
        // Idle long enough that the scheduler is in its long sleep.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let enqueued = SystemClock.now();
        other.enqueue(&NewJob::new("ping", json!({"round": round}), enqueued)).await.unwrap();
        eventually(10, "the job to start", || async { started.lock().unwrap().len() == round }).await;
        let delay = started.lock().unwrap()[round - 1].duration_since(enqueued);
        assert!(delay < SignedDuration::from_secs(3), "round {round}: started {delay:?} after its enqueue");
    }
    stop(runtime).await;
    if let AnyQueue::Sql(sql) = &other {
        sql.store().close().await;
    }
}

async fn many_workers_run_each_job_once(q: AnyQueue) {
    let tally = Tally::default();
    let lanes = [WorkspaceId::new(), WorkspaceId::new()];
    let jobs: Vec<NewJob> =
        (0..600).map(|i| NewJob::new("unit", json!({"i": i}), t(0)).workspace(lanes[i % 2])).collect();
    q.enqueue_many(&jobs).await.unwrap();
    // Two runtimes (as two processes would) with 8 workers each.
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(t(1)));
    let config = RuntimeConfig { concurrency: 8, claim_batch: 4, ..fast_config() };
    let a = start(&q, tally.handlers(), config.clone(), clock.clone());
    let b = start(&q, tally.handlers(), config, clock.clone());
    eventually(30, "all 600 jobs to run", || async { tally.runs.load(Ordering::SeqCst) >= 600 }).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop(a).await;
    stop(b).await;
    assert_eq!(tally.runs.load(Ordering::SeqCst), 600, "each job ran exactly once");
    assert_eq!(tally.clashes.load(Ordering::SeqCst), 0, "no job ran twice at the same time");
    assert!(q.claim(&Claim { now: t(2), lease_until: t(60), limit: 10 }).await.unwrap().is_empty());
}

/// Counts runs, and runs of a job that was already running somewhere.
#[derive(Clone, Default)]
struct Tally {
    running: Arc<Mutex<HashSet<nanopost_jobs::JobId>>>,
    runs: Arc<AtomicU32>,
    clashes: Arc<AtomicU32>,
}

impl Tally {
    fn handlers(&self) -> Handlers<AnyQueue> {
        let tally = self.clone();
        Handlers::new().on("unit", move |ctx| {
            let tally = tally.clone();
            async move {
                if !tally.running.lock().unwrap().insert(ctx.job.id) {
                    tally.clashes.fetch_add(1, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
                tally.running.lock().unwrap().remove(&ctx.job.id);
                tally.runs.fetch_add(1, Ordering::SeqCst);
                Ok(vec![])
            }
        })
    }
}

async fn stop_releases_running_jobs(q: AnyQueue) {
    let started = Arc::new(AtomicU32::new(0));
    let s = started.clone();
    let handlers = Handlers::new()
        .on("slow", move |_ctx| {
            let s = s.clone();
            async move {
                s.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok(vec![])
            }
        })
        .on("quick", |_ctx| async { Ok(vec![]) });
    let clock = Arc::new(ManualClock::new(t(0)));
    let runtime = start(&q, handlers, fast_config(), clock.clone());
    let slow = q.enqueue(&NewJob::new("slow", json!({}), t(0))).await.unwrap().id();
    eventually(5, "the slow job to start", || async { started.load(Ordering::SeqCst) == 1 }).await;
    let begun = tokio::time::Instant::now();
    stop(runtime).await;
    assert!(begun.elapsed() < Duration::from_secs(2), "stopped after the grace period, not after the job");
    let back = q.job(slow).await.unwrap().unwrap();
    assert_eq!((back.state, back.attempts), (JobState::Ready, 0), "released, and the attempt does not count");
    // And nothing is claimed after the stop.
    q.enqueue(&NewJob::new("quick", json!({}), t(0))).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(q.claim(&Claim { now: t(1), lease_until: t(60), limit: 10 }).await.unwrap().len(), 2);
}

async fn posts_at_nine_in_berlin_run_at_the_right_instant_across_dst(q: AnyQueue) {
    // 2026: summer time starts 29 March (02:00 → 03:00) and ends 25 October (03:00 → 02:00).
    let cases = [
        ("2026-03-28T09:00", "2026-03-28T08:00:00Z"),
        ("2026-03-29T09:00", "2026-03-29T07:00:00Z"),
        ("2026-10-24T09:00", "2026-10-24T07:00:00Z"),
        ("2026-10-25T09:00", "2026-10-25T08:00:00Z"),
    ];
    let clock = Arc::new(ManualClock::new("2026-03-01T00:00:00Z".parse().unwrap()));
    let ran: Arc<Mutex<Vec<(String, Timestamp)>>> = Arc::default();
    let handlers = {
        let (ran, clock) = (ran.clone(), clock.clone());
        Handlers::new().on("publish", move |ctx| {
            let (ran, clock) = (ran.clone(), clock.clone());
            async move {
                ran.lock().unwrap().push((ctx.job.payload["local"].as_str().unwrap().to_owned(), clock.now()));
                Ok(vec![])
            }
        })
    };
    let runtime = start(&q, handlers, fast_config(), clock.clone());
    for (local, _) in cases {
        let schedule = Schedule::new(local.parse().unwrap(), "Europe/Berlin").unwrap();
        q.enqueue(&scheduled_job("publish", json!({"local": local}), &schedule, clock.now())).await.unwrap();
    }
    for (i, (local, utc)) in cases.iter().enumerate() {
        let instant: Timestamp = utc.parse().unwrap();
        assert_eq!(q.next_due().await.unwrap(), Some(instant), "{local} Berlin is {utc}");
        // A millisecond before: nothing runs.
        clock.set(instant - ms(1));
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(ran.lock().unwrap().len(), i, "{local} ran early");
        clock.set(instant);
        eventually(5, "the post to run once due", || async { ran.lock().unwrap().len() == i + 1 }).await;
        assert_eq!(ran.lock().unwrap()[i], (local.to_string(), instant));
    }
    stop(runtime).await;
}
