//! A fresh database per test: a temporary SQLite file, or a new PostgreSQL database.

use nanopost_storage::Store;
use sqlx::Connection as _;
use std::future::Future;
use std::path::PathBuf;
use uuid::Uuid;

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub struct TestDb {
    pub store: Store,
    /// The URL the store was opened with (for tests that look under the hood).
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    File(PathBuf),
    Postgres { admin_url: String, name: String },
}

pub async fn sqlite() -> TestDb {
    let path = std::env::temp_dir().join(format!("nanopost-test-{}.db", Uuid::new_v4().simple()));
    let url = format!("sqlite://{}", path.display());
    let store = Store::connect(&url).await.unwrap_or_else(|e| panic!("opening {url}: {e}"));
    TestDb { store, url, cleanup: Cleanup::File(path) }
}

/// The PostgreSQL server the tests use. They do not skip when it is missing: they fail.
pub fn pg_admin_url() -> String {
    std::env::var("NANOPOST_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned())
}

pub async fn postgres() -> TestDb {
    let admin_url = pg_admin_url();
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is required by the storage contract tests but {admin_url} is unreachable ({e}). \
             Start PostgreSQL or point NANOPOST_TEST_PG_URL at a server where this user may CREATE DATABASE."
        )
    });
    let name = format!("np_test_{}", Uuid::new_v4().simple());
    // The name is ours (a prefix and hex digits), so building the statement is safe.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name} on {admin_url}: {e}"));
    let _ = admin.close().await;
    let url = with_database(&admin_url, &name);
    let store = Store::connect(&url).await.unwrap_or_else(|e| panic!("opening {name}: {e}"));
    TestDb { store, url, cleanup: Cleanup::Postgres { admin_url, name } }
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

impl TestDb {
    /// Closes the store and removes the database, best effort.
    pub async fn finish(self) {
        self.store.close().await;
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
        }
    }
}

/// Runs one case on `db` (migrated first unless `migrate` is false), removes the database
/// whatever happened, then reports the case's panic if it had one.
pub async fn run<F, Fut>(db: TestDb, migrate: bool, case: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    if migrate && let Err(e) = db.store.migrate().await {
        db.finish().await;
        panic!("migrating the test database: {e}");
    }
    let outcome = tokio::spawn(case(db.store.clone())).await;
    db.finish().await;
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(e) => panic!("test case did not finish: {e}"),
        }
    }
}

#[test]
fn database_urls_are_rewritten() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(with_database("postgres://u:p@h/db?sslmode=disable", "x"), "postgres://u:p@h/x?sslmode=disable");
    assert_eq!(with_database("postgres://h:1", "x"), "postgres://h:1/x");
}
