//! A fresh queue per test: a temporary SQLite file, a new PostgreSQL database, or a unique
//! Redis key prefix. Everything is removed afterwards, whatever the test did.

use nanopost_jobs::{AnyQueue, RedisQueue, SqlQueue};
use nanopost_storage::Store;
use sqlx::Connection as _;
use std::future::Future;
use std::path::PathBuf;
use uuid::Uuid;

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379/";

pub struct TestQueue {
    pub queue: AnyQueue,
    /// The SQL store, when the queue lives in one.
    pub store: Option<Store>,
    /// Where the queue lives: the database URL, or the Redis URL and key prefix.
    location: (String, Option<String>),
    cleanup: Cleanup,
}

enum Cleanup {
    File(PathBuf),
    Postgres { admin_url: String, name: String },
    Redis(RedisQueue),
}

pub async fn sqlite() -> TestQueue {
    let path = std::env::temp_dir().join(format!("nanopost-jobs-test-{}.db", Uuid::new_v4().simple()));
    let url = format!("sqlite://{}", path.display());
    let store = Store::connect(&url).await.unwrap_or_else(|e| panic!("opening {url}: {e}"));
    TestQueue {
        queue: AnyQueue::Sql(SqlQueue::new(store.clone())),
        store: Some(store),
        location: (url, None),
        cleanup: Cleanup::File(path),
    }
}

pub fn pg_admin_url() -> String {
    std::env::var("NANOPOST_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned())
}

pub async fn postgres() -> TestQueue {
    let admin_url = pg_admin_url();
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
        panic!("PostgreSQL is required by the job tests but {admin_url} is unreachable ({e}); start it or set NANOPOST_TEST_PG_URL")
    });
    let name = format!("np_jobs_{}", Uuid::new_v4().simple());
    // The name is ours (a prefix and hex digits), so building the statement is safe.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
    let _ = admin.close().await;
    let url = with_database(&admin_url, &name);
    let store = Store::connect(&url).await.unwrap_or_else(|e| panic!("opening {name}: {e}"));
    TestQueue {
        queue: AnyQueue::Sql(SqlQueue::new(store.clone())),
        store: Some(store),
        location: (url, None),
        cleanup: Cleanup::Postgres { admin_url, name },
    }
}

pub async fn redis() -> TestQueue {
    let url = std::env::var("NANOPOST_TEST_REDIS_URL").unwrap_or_else(|_| DEFAULT_REDIS_URL.to_owned());
    let prefix = format!("np-test-{}", Uuid::new_v4().simple());
    let q = RedisQueue::connect(&url, &prefix).await.unwrap_or_else(|e| {
        panic!(
            "Redis is required by the job tests but {url} is unreachable ({e}); start it or set NANOPOST_TEST_REDIS_URL"
        )
    });
    TestQueue {
        queue: AnyQueue::Redis(q.clone()),
        store: None,
        location: (url, Some(prefix)),
        cleanup: Cleanup::Redis(q),
    }
}

/// `postgres://u@h:p/db?x=y` with `db` replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..].find('/').map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

impl TestQueue {
    /// The same queue through connections of its own (as another process would see it); the
    /// caller closes it before the test ends.
    pub async fn another_client(&self) -> AnyQueue {
        match &self.location {
            (url, None) => AnyQueue::Sql(SqlQueue::new(Store::connect(url).await.expect("a second store"))),
            (url, Some(prefix)) => AnyQueue::Redis(RedisQueue::connect(url, prefix).await.expect("a second client")),
        }
    }

    async fn finish(self) {
        if let Some(store) = &self.store {
            store.close().await;
        }
        match self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            Cleanup::Postgres { admin_url, name } => {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                        .execute(&mut admin)
                        .await;
                    let _ = admin.close().await;
                }
            }
            Cleanup::Redis(q) => {
                let _ = q.purge().await;
            }
        }
    }
}

/// Runs one case on a migrated queue, cleans up whatever happened, then reports the case's
/// panic if it had one.
pub async fn run<F, Fut>(tq: TestQueue, case: F)
where
    F: FnOnce(AnyQueue, Option<Store>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    if let Some(store) = &tq.store
        && let Err(e) = store.migrate().await
    {
        tq.finish().await;
        panic!("migrating the test database: {e}");
    }
    let outcome = tokio::spawn(case(tq.queue.clone(), tq.store.clone())).await;
    tq.finish().await;
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(e) => panic!("test case did not finish: {e}"),
        }
    }
}

/// Expands each case into `sqlite::<case>`, `postgres::<case>` and `redis::<case>` tests.
#[macro_export]
macro_rules! on_every_backend {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::harness::run($crate::harness::sqlite().await, |q, _| super::$case(q)).await
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::harness::run($crate::harness::postgres().await, |q, _| super::$case(q)).await
            })*
        }
        mod redis {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::harness::run($crate::harness::redis().await, |q, _| super::$case(q)).await
            })*
        }
    };
}

/// A fixed instant plus `secs` seconds (whole milliseconds, so every backend stores it exactly).
pub fn t(secs: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

pub fn ms(n: i64) -> jiff::SignedDuration {
    jiff::SignedDuration::from_millis(n)
}

/// Polls `check` every 5 ms until it holds or `secs` pass (then panics with `what`).
pub async fn eventually<F, Fut>(secs: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out after {secs} s waiting for: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}
