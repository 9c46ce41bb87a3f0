//! Job engine benchmark: throughput of no-op jobs and dispatch lateness, per backend.
//!
//! cargo run --release -p nanopost-jobs --features bench --example bench -- [RUNS] [BACKENDS]
//!
//! RUNS (default 3) repetitions of each figure; BACKENDS a comma list of sqlite, postgres,
//! redis (default all). Prints a markdown table: median (min – max) over the runs.
//! PostgreSQL: NANOPOST_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres; a
//! fresh database per run). Redis: NANOPOST_TEST_REDIS_URL (default redis://127.0.0.1:6379/;
//! a fresh key prefix per run). SQLite: a temporary file.
//! NANOPOST_BENCH_FIGURES (default `throughput,lateness`; `step` or `batched` is half of
//! `throughput`) limits which figures are measured.
//! NANOPOST_BENCH_JSON=1 prints, instead of the table, one JSON line of raw figures per run and
//! backend (bench/jobs.sh uses it to interleave runs with the peers and build one table).
//!
//! - throughput: 20,000 pre-enqueued no-op jobs run to completion by one runtime, "one
//!   transaction per step" (claim 1, complete 1, 16 workers) and "batched" (claims of up to
//!   100, completions of up to 100, 100 workers);
//! - lateness at 100/s: 1,000 jobs due 10 ms apart, enqueued ahead; each records when its
//!   handler started minus its due time;
//! - burst: 10,000 jobs due within the same second; the same lateness, and the last one.

use jiff::SignedDuration;
use nanopost_domain::clock::{Clock, SystemClock};
use nanopost_jobs::runtime::Stats;
use nanopost_jobs::{AnyQueue, Handlers, JobQueue, NewJob, RedisQueue, Runtime, RuntimeConfig, SqlQueue};
use nanopost_storage::Store;
use serde_json::json;
use sqlx::Connection as _;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const THROUGHPUT_JOBS: usize = 20_000;
const STEADY_JOBS: usize = 1_000;
const BURST_JOBS: usize = 10_000;

#[derive(Clone, Copy, PartialEq)]
enum Backend {
    Sqlite,
    Postgres,
    Redis,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
            Backend::Redis => "Redis",
        }
    }
}

/// A queue on fresh storage; dropped storage is removed by `finish`.
struct Fresh {
    queue: AnyQueue,
    cleanup: Box<dyn FnOnce() -> std::pin::Pin<Box<dyn Future<Output = ()>>>>,
}

async fn fresh(backend: Backend) -> Fresh {
    let id = uuid::Uuid::new_v4().simple().to_string();
    match backend {
        Backend::Sqlite => {
            let path = std::env::temp_dir().join(format!("nanopost-bench-{id}.db"));
            let store = Store::connect(&format!("sqlite://{}", path.display())).await.expect("sqlite");
            store.migrate().await.expect("migrate");
            let s = store.clone();
            Fresh {
                queue: AnyQueue::Sql(SqlQueue::new(store)),
                cleanup: Box::new(move || {
                    Box::pin(async move {
                        s.close().await;
                        for suffix in ["", "-wal", "-shm"] {
                            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                        }
                    })
                }),
            }
        }
        Backend::Postgres => {
            let admin = std::env::var("NANOPOST_TEST_PG_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let name = format!("np_bench_{id}");
            let mut c = sqlx::PgConnection::connect(&admin).await.expect("PostgreSQL is required");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut c).await.unwrap();
            let url = format!("{}/{name}", admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base));
            let store = Store::connect(&url).await.expect("postgres");
            store.migrate().await.expect("migrate");
            let s = store.clone();
            Fresh {
                queue: AnyQueue::Sql(SqlQueue::new(store)),
                cleanup: Box::new(move || {
                    Box::pin(async move {
                        s.close().await;
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
                            .execute(&mut c)
                            .await;
                    })
                }),
            }
        }
        Backend::Redis => {
            let url = std::env::var("NANOPOST_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
            let q = RedisQueue::connect(&url, &format!("np-bench-{id}")).await.expect("Redis is required");
            let p = q.clone();
            Fresh {
                queue: AnyQueue::Redis(q),
                cleanup: Box::new(move || {
                    Box::pin(async move {
                        let _ = p.purge().await;
                    })
                }),
            }
        }
    }
}

fn step_config() -> RuntimeConfig {
    RuntimeConfig { concurrency: 16, claim_batch: 1, ack_batch: 1, ..RuntimeConfig::default() }
}

fn batch_config() -> RuntimeConfig {
    RuntimeConfig { concurrency: 100, claim_batch: 100, ack_batch: 100, ..RuntimeConfig::default() }
}

/// Runs `runtime` until `done` jobs completed (or `limit` passed); returns the elapsed time.
async fn run_until(
    queue: &AnyQueue,
    handlers: Handlers<AnyQueue>,
    config: RuntimeConfig,
    done: u64,
    limit: Duration,
) -> Duration {
    let runtime = Runtime::new(queue.clone(), handlers, config, Arc::new(SystemClock));
    let stats: Arc<Stats> = runtime.stats();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let task = tokio::spawn(runtime.run(async move {
        let _ = stop_rx.await;
    }));
    while stats.completed.load(Ordering::Relaxed) < done && started.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let elapsed = started.elapsed();
    let _ = stop_tx.send(());
    let _ = task.await;
    elapsed
}

async fn enqueue(queue: &AnyQueue, jobs: &[NewJob]) {
    for chunk in jobs.chunks(1000) {
        queue.enqueue_many(chunk).await.expect("enqueue");
    }
}

async fn throughput(backend: Backend, config: RuntimeConfig) -> f64 {
    let f = fresh(backend).await;
    let now = SystemClock.now();
    let jobs: Vec<NewJob> = (0..THROUGHPUT_JOBS).map(|i| NewJob::new("noop", json!({"i": i}), now)).collect();
    enqueue(&f.queue, &jobs).await;
    let handlers = Handlers::new().on("noop", |_ctx| async { Ok(vec![]) });
    let elapsed = run_until(&f.queue, handlers, config, THROUGHPUT_JOBS as u64, Duration::from_secs(120)).await;
    (f.cleanup)().await;
    THROUGHPUT_JOBS as f64 / elapsed.as_secs_f64()
}

/// Lateness in milliseconds of every job: handler start minus due time.
async fn lateness(
    backend: Backend,
    n: usize,
    spacing: SignedDuration,
    lead: SignedDuration,
    config: RuntimeConfig,
) -> Vec<f64> {
    let f = fresh(backend).await;
    let now = SystemClock.now();
    let first_due = now + lead;
    let jobs: Vec<NewJob> = (0..n)
        .map(|i| {
            NewJob::new("timed", json!({}), now).due_at(first_due + spacing * i32::try_from(i).unwrap_or(i32::MAX))
        })
        .collect();
    enqueue(&f.queue, &jobs).await;
    assert!(SystemClock.now() < first_due, "enqueueing took longer than the lead; raise it");
    let seen: Arc<Mutex<Vec<f64>>> = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let s = seen.clone();
    let handlers = Handlers::new().on("timed", move |ctx| {
        let started = SystemClock.now();
        let late = started.duration_since(ctx.job.due_at).as_secs_f64() * 1000.0;
        s.lock().unwrap().push(late);
        async { Ok(vec![]) }
    });
    let total = lead + spacing * i32::try_from(n).unwrap_or(i32::MAX) + SignedDuration::from_secs(30);
    run_until(&f.queue, handlers, config, n as u64, Duration::try_from(total).unwrap()).await;
    (f.cleanup)().await;
    let mut v = seen.lock().unwrap().clone();
    assert_eq!(v.len(), n, "every job ran");
    v.sort_by(f64::total_cmp);
    v
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1]
}

/// "median (min – max)".
fn summary(values: &[f64], decimals: usize) -> String {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let median = v[v.len() / 2];
    format!("{median:.decimals$} ({:.decimals$} – {:.decimals$})", v[0], v[v.len() - 1])
}

/// One run of every figure on `backend` as a JSON line: `{"impl":"nanopost","backend":..,"figures":{..}}`
/// with `jobs_s_step`, `jobs_s_batched` and `late_{steady,burst}_{p50,p99,p999,max}` (ms).
async fn json_run(b: Backend, run: usize) -> serde_json::Value {
    let wanted = std::env::var("NANOPOST_BENCH_FIGURES").unwrap_or_else(|_| "throughput,lateness".into());
    let mut figures = serde_json::Map::new();
    if wanted.contains("throughput") || wanted.contains("step") {
        figures.insert("jobs_s_step".into(), json!(throughput(b, step_config()).await));
    }
    if wanted.contains("throughput") || wanted.contains("batched") {
        figures.insert("jobs_s_batched".into(), json!(throughput(b, batch_config()).await));
    }
    if wanted.contains("lateness") {
        let lead = SignedDuration::from_secs(if b == Backend::Postgres { 8 } else { 3 });
        let spacing = SignedDuration::from_micros(1_000_000 / BURST_JOBS as i64);
        for (name, l) in [
            (
                "steady",
                lateness(b, STEADY_JOBS, SignedDuration::from_millis(10), SignedDuration::from_secs(1), batch_config())
                    .await,
            ),
            ("burst", lateness(b, BURST_JOBS, spacing, lead, batch_config()).await),
        ] {
            for (p, key) in [(50.0, "p50"), (99.0, "p99"), (99.9, "p999"), (100.0, "max")] {
                figures.insert(format!("late_{name}_{key}"), json!(pct(&l, p)));
            }
        }
    }
    json!({"impl": "nanopost", "backend": b.name(), "run": run, "figures": figures})
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(3).max(1);
    let backends: Vec<Backend> = args
        .get(2)
        .map_or("sqlite,postgres,redis", String::as_str)
        .split(',')
        .map(|b| match b {
            "sqlite" => Backend::Sqlite,
            "postgres" => Backend::Postgres,
            "redis" => Backend::Redis,
            other => panic!("unknown backend {other:?}"),
        })
        .collect();

    if std::env::var_os("NANOPOST_BENCH_JSON").is_some() {
        for run in 0..runs {
            for &b in &backends {
                println!("{}", json_run(b, run).await);
            }
        }
        return;
    }

    println!("| backend | figure | median (min – max) over {runs} runs |");
    println!("|---|---|---|");
    for &b in &backends {
        let mut step = Vec::new();
        let mut batch = Vec::new();
        let figures = std::env::var("NANOPOST_BENCH_FIGURES").unwrap_or_else(|_| "throughput,lateness".into());
        for _ in 0..runs {
            if figures.contains("throughput") || figures.contains("step") {
                step.push(throughput(b, step_config()).await);
            }
            if figures.contains("throughput") || figures.contains("batched") {
                batch.push(throughput(b, batch_config()).await);
            }
        }
        if !step.is_empty() {
            println!("| {} | no-op jobs/s, one transaction per step | {} |", b.name(), summary(&step, 0));
        }
        if !batch.is_empty() {
            println!("| {} | no-op jobs/s, batched | {} |", b.name(), summary(&batch, 0));
        }
        if !figures.contains("lateness") {
            continue;
        }

        let mut steady: [Vec<f64>; 4] = Default::default();
        let mut burst: [Vec<f64>; 4] = Default::default();
        let lead = SignedDuration::from_secs(if b == Backend::Postgres { 8 } else { 3 });
        for _ in 0..runs {
            let l =
                lateness(b, STEADY_JOBS, SignedDuration::from_millis(10), SignedDuration::from_secs(1), batch_config())
                    .await;
            for (k, p) in [50.0, 99.0, 99.9, 100.0].into_iter().enumerate() {
                steady[k].push(pct(&l, p));
            }
            let spacing = SignedDuration::from_micros(1_000_000 / BURST_JOBS as i64);
            let l = lateness(b, BURST_JOBS, spacing, lead, batch_config()).await;
            for (k, p) in [50.0, 99.0, 99.9, 100.0].into_iter().enumerate() {
                burst[k].push(pct(&l, p));
            }
        }
        let names = ["p50", "p99", "p99.9", "max"];
        let row = |what: &str, series: &[Vec<f64>; 4]| {
            let cells: Vec<String> = names.iter().zip(series).map(|(n, s)| format!("{n} {}", summary(s, 1))).collect();
            println!("| {} | lateness ms, {what} | {} |", b.name(), cells.join("; "));
        };
        row("100 due per second (1,000 jobs)", &steady);
        row("burst of 10,000 due in one second", &burst);
    }
}
