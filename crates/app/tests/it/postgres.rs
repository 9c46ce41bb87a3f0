//! `serve` and `migrate` against PostgreSQL: a fresh database per test, dropped afterwards.

use crate::harness::{Server, TempDir, nanopost, run};
use std::process::Command;

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn admin_url() -> String {
    std::env::var("NANOPOST_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned())
}

/// A database created with psql, dropped (WITH FORCE) on drop.
pub(crate) struct PgDb {
    name: String,
    pub(crate) url: String,
}

impl PgDb {
    pub(crate) fn create(tag: &str) -> PgDb {
        let name = format!("np_app_{tag}_{}_{}", std::process::id(), nanos());
        psql(&format!("CREATE DATABASE {name}"));
        let url = with_database(&admin_url(), &name);
        PgDb { name, url }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([&admin_url(), "-q", "-c", &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)])
            .output();
    }
}

fn nanos() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos()
}

fn psql(sql: &str) {
    let admin = admin_url();
    let out = Command::new("psql")
        .args([&admin, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .unwrap_or_else(|e| panic!("psql is required for the PostgreSQL tests: {e}"));
    assert!(
        out.status.success(),
        "`{sql}` failed on {admin} (PostgreSQL is required; scripts/test starts it, or set NANOPOST_TEST_PG_URL): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `postgres://u@h:p/db?x` with `db` replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let start = base.find("://").map_or(0, |i| i + 3);
    let path = base[start..].find('/').map_or(base.len(), |i| start + i);
    let mut out = format!("{}/{name}", &base[..path]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[test]
fn serve_on_a_fresh_postgres_database_becomes_ready() {
    let db = PgDb::create("serve");
    let dir = TempDir::new("pg-serve");
    let mut cmd = nanopost(dir.path());
    cmd.args(["serve", "--listen", "127.0.0.1:0"]).env("NANOPOST_DATABASE_URL", &db.url);
    let server = Server::serve(&mut cmd);
    assert_eq!(server.get("/healthz").0, 200);
    let (status, body) = server.get("/readyz");
    assert_eq!(status, 200, "{body}\n{}", server.stderr());
    server.stop();
    // No SQLite file was made; the key still lives in the data directory.
    assert!(!dir.data_dir().join("nanopost.db").exists());
    assert!(dir.data_dir().join("secret.key").is_file());
}

#[test]
fn postgres_readyz_is_503_before_migrate_and_200_after() {
    let db = PgDb::create("ready");
    let dir = TempDir::new("pg-ready");
    let mut cmd = nanopost(dir.path());
    cmd.args(["serve", "--no-migrate", "--listen", "127.0.0.1:0"]).env("NANOPOST_DATABASE_URL", &db.url);
    let server = Server::serve(&mut cmd);
    assert_eq!(server.get("/readyz").0, 503);
    let out = run(nanopost(dir.path()).arg("migrate").env("NANOPOST_DATABASE_URL", &db.url), None);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(server.get("/readyz").0, 200);
    server.stop();
}

#[test]
fn an_unreachable_postgres_fails_with_the_password_redacted() {
    let dir = TempDir::new("pg-down");
    // Port 1 on loopback: nothing listens there.
    let out = run(
        nanopost(dir.path())
            .args(["migrate", "--log", "off"])
            .env("NANOPOST_DATABASE_URL", "postgres://app:hunter2@127.0.0.1:1/nanopost"),
        None,
    );
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(out.stderr.contains("cannot open the database postgres://app:***@127.0.0.1:1/nanopost"), "{out:?}");
    assert!(!out.stderr.contains("hunter2"), "{out:?}");
}
