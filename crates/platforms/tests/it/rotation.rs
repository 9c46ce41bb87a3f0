//! Key rotation over the store, on SQLite and PostgreSQL: tokens sealed under key A move to key
//! B; once A is removed every token still opens, and no stored ciphertext opens with A any more.

use crate::support::*;
use nanopost_domain::ids::{BrandId, WorkspaceId};
use nanopost_domain::network::Network;
use nanopost_platforms::Secret;
use nanopost_platforms::custody::{CustodyError, KeyRing, PlainTokens, RowContext, derive_key};
use nanopost_platforms::vault::{Networks, Vault};
use nanopost_storage::{AccountKind, AccountStatus, ConnectedAccount, ConnectedAccountId, Store};
use sqlx::Connection as _;
use std::collections::BTreeMap;

const INSTALLATION_SECRET: [u8; 32] = [42; 32];

fn vault(store: &Store, keys: KeyRing) -> Vault {
    Vault::new(store.clone(), keys, derive_key(&INSTALLATION_SECRET, "oauth-pkce/v1"), Networks::default())
}

/// A database read raw, under the store.
enum Raw {
    Sqlite(String),
    Postgres(String),
}

impl Raw {
    /// Whether any row of `connected_accounts` holds these bytes, in any column.
    async fn contains(&self, needle: &[u8]) -> bool {
        let hex: String = needle.iter().map(|b| format!("{b:02x}")).collect();
        let rows: Vec<String> = match self {
            Raw::Sqlite(url) => {
                let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
                let columns: Vec<String> =
                    sqlx::query_scalar("SELECT name FROM pragma_table_info('connected_accounts')")
                        .fetch_all(&mut c)
                        .await
                        .unwrap();
                let concat: Vec<String> = columns.iter().map(|c| format!("lower(hex(\"{c}\"))")).collect();
                let sql = format!("SELECT {} FROM connected_accounts", concat.join(" || '|' || "));
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(&mut c).await.unwrap()
            }
            // A row as text shows every bytea column as \x followed by lowercase hex.
            Raw::Postgres(url) => {
                let mut c = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::query_scalar("SELECT t::text FROM connected_accounts t").fetch_all(&mut c).await.unwrap()
            }
        };
        assert!(!rows.is_empty(), "the raw read sees rows");
        rows.iter().any(|r| r.match_indices(&hex).any(|(i, _)| i % 2 == 0 || matches!(self, Raw::Postgres(_))))
    }
}

fn row(a: &ConnectedAccount) -> RowContext {
    RowContext { workspace_id: a.workspace_id, account_id: a.id }
}

fn plain(n: usize) -> PlainTokens {
    PlainTokens {
        access: Secret::new(format!("access-token-number-{n:03}")),
        refresh: (!n.is_multiple_of(3)).then(|| Secret::new(format!("refresh-token-number-{n:03}"))),
    }
}

fn account(ws: WorkspaceId, brand: BrandId, keys: &KeyRing, n: usize) -> ConnectedAccount {
    let id = ConnectedAccountId::new();
    let (network, kind) = [
        (Network::Instagram, AccountKind::InstagramLogin),
        (Network::Linkedin, AccountKind::LinkedinMember),
        (Network::Tiktok, AccountKind::Tiktok),
    ][n % 3];
    ConnectedAccount {
        id,
        workspace_id: ws,
        brand_id: brand,
        network,
        kind,
        grant_id: uuid::Uuid::now_v7(),
        external_id: format!("external-{n}"),
        display_name: format!("Account {n}"),
        handle: None,
        details: BTreeMap::new(),
        scopes: vec![],
        tokens: keys.seal(RowContext { workspace_id: ws, account_id: id }, &plain(n)),
        token_version: 1,
        token_issued_at: t0(),
        access_expires_at: None,
        refresh_expires_at: None,
        refresh_due_at: None,
        status: AccountStatus::Active,
        status_reason: None,
        created_at: t0(),
        updated_at: t0(),
    }
}

async fn rotation_moves_every_token_to_the_new_key_and_the_old_key_opens_nothing(store: &Store, raw: Raw) {
    let (_, ws) = sign_up(store, &format!("{}@example.com", uuid::Uuid::new_v4().simple())).await;
    let brand = brand(store, ws).await;
    let ring_a = KeyRing::from_installation_secret(&INSTALLATION_SECRET);
    let key_a = ring_a.current_key_id().to_owned();
    const COUNT: usize = 25;
    let mut accounts = Vec::new();
    for n in 0..COUNT {
        let a = account(ws, brand, &ring_a, n);
        store.save_connected_account(&a).await.unwrap();
        accounts.push(a);
    }

    // Key B is added and made current; A stays readable while rows move.
    let ring_ab = ring_a.clone().with_key("key-b", [7u8; 32]).unwrap().sealing_with("key-b").unwrap();
    let during = vault(store, ring_ab.clone());
    let mut passes = 0;
    loop {
        let moved = during.rotate_keys(10, t0()).await.unwrap();
        passes += 1;
        if moved == 0 {
            break;
        }
        assert!(passes <= 4, "rotation terminates");
    }
    assert_eq!(passes, 4, "25 rows in batches of 10, then an empty pass");

    // A is removed.
    let ring_b = ring_ab.without_key(&key_a).unwrap();
    let after = vault(store, ring_b.clone());
    let a_only = ring_a;
    for (n, original) in accounts.iter().enumerate() {
        let stored = store.connected_account(ws, original.id).await.unwrap().unwrap();
        assert_eq!(stored.tokens.key_id, "key-b");
        assert_eq!(stored.token_version, original.token_version + 1);
        // Nothing lost: every token opens with B alone, through the vault too.
        assert_eq!(ring_b.open(row(&stored), &stored.tokens).unwrap(), plain(n));
        assert_eq!(after.access(ws, stored.id, t0()).await.unwrap().access_token, plain(n).access);
        // A opens nothing stored now: unknown key id, and even relabelled the bytes refuse A.
        assert!(matches!(a_only.open(row(&stored), &stored.tokens), Err(CustodyError::UnknownKey(_))));
        let mut relabelled = stored.tokens.clone();
        relabelled.key_id = key_a.clone();
        assert!(matches!(a_only.open(row(&stored), &relabelled), Err(CustodyError::Tampered)));
        // The old ciphertext is gone from the raw table (which does show the new one).
        assert!(raw.contains(&stored.tokens.access.ciphertext).await, "the raw read is not blind");
        assert_ne!(stored.tokens.wrapped_key, original.tokens.wrapped_key);
        assert!(!raw.contains(&original.tokens.wrapped_key).await, "old wrapped key remains");
        assert!(!raw.contains(&original.tokens.access.ciphertext).await, "old ciphertext remains");
    }
    // Nothing is left for A: the ring without it is complete.
    assert_eq!(after.rotate_keys(10, t0()).await.unwrap(), 0);
    // A ring that lost A before rotation finished would have failed loudly, not silently.
    let premature = vault(store, KeyRing::from_installation_secret(&[1; 32]));
    assert!(premature.access(ws, accounts[0].id, t0()).await.is_err());
}

#[tokio::test]
async fn rotation_on_sqlite() {
    let path = std::env::temp_dir().join(format!("nanopost-rotation-{}.db", uuid::Uuid::new_v4().simple()));
    let url = format!("sqlite://{}", path.display());
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    rotation_moves_every_token_to_the_new_key_and_the_old_key_opens_nothing(&store, Raw::Sqlite(url)).await;
    store.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// PostgreSQL is required, never skipped: `NANOPOST_TEST_PG_URL` names a server where the user
/// may create databases (default `postgres://postgres@127.0.0.1:5432/postgres`).
#[tokio::test]
async fn rotation_on_postgres() {
    let admin_url = std::env::var("NANOPOST_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is required at {admin_url}: {e}"));
    let name = format!("np_rotation_{}", uuid::Uuid::new_v4().simple());
    // The name is ours (a prefix and hex digits).
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await.unwrap();
    let (base, query) = admin_url.split_once('?').map_or((admin_url.as_str(), None), |(b, q)| (b, Some(q)));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..].find('/').map_or(base.len(), |i| authority + i);
    let url = format!("{}/{name}{}", &base[..path], query.map(|q| format!("?{q}")).unwrap_or_default());
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    rotation_moves_every_token_to_the_new_key_and_the_old_key_opens_nothing(&store, Raw::Postgres(url)).await;
    store.close().await;
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
        .execute(&mut admin)
        .await;
}
