//! Contract of the connected-accounts repository, on SQLite and PostgreSQL.

use crate::fixtures::*;
use crate::harness::{self, TestDb};
use nanopost_domain::ids::{BrandId, WorkspaceId};
use nanopost_domain::network::Network;
use nanopost_storage::{
    AccountKind, AccountStatus, ConnectedAccount, ConnectedAccountId, OAuthState, SealedSecret, SealedTokens,
    StorageError, Store, TakenState, TokenUpdate,
};
use std::collections::BTreeMap;
use std::future::Future;
use uuid::Uuid;

/// Runs a case on a migrated database, giving it the store and the database URL (for the
/// cases that read the raw tables).
async fn run<F, Fut>(db: TestDb, case: F)
where
    F: FnOnce(Store, String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let url = db.url.clone();
    harness::run(db, true, move |s| case(s, url)).await
}

macro_rules! accounts_contract {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $case() {
                super::run(crate::harness::sqlite().await, super::$case).await
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $case() {
                super::run(crate::harness::postgres().await, super::$case).await
            })*
        }
    };
}

accounts_contract![
    oauth_states_are_single_use,
    accounts_are_saved_reconnected_and_listed,
    token_updates_are_optimistic_and_keep_status_on_rotation,
    refresh_and_rotation_batches,
    tenants_are_isolated,
    disconnect_deletes_the_token_bytes,
];

/// Recognisable "ciphertext", so the raw-table check can look for it.
const MARKER: &[u8] = b"TOKEN-BYTES-7f3a";

fn sealed(tag: u8) -> SealedTokens {
    let mut access = MARKER.to_vec();
    access.push(tag);
    SealedTokens {
        key_id: "k1".into(),
        wrapped_key: vec![tag; 72],
        access: SealedSecret { nonce: vec![1; 24], ciphertext: access },
        refresh: Some(SealedSecret { nonce: vec![2; 24], ciphertext: [MARKER, b"-refresh"].concat() }),
    }
}

pub(crate) fn account(ws: WorkspaceId, brand: BrandId, network: Network, external: &str) -> ConnectedAccount {
    let kind = match network {
        Network::Instagram => AccountKind::InstagramLogin,
        Network::Linkedin => AccountKind::LinkedinMember,
        Network::Tiktok => AccountKind::Tiktok,
    };
    let mut details = BTreeMap::new();
    details.insert("page_id".to_owned(), "p1".to_owned());
    ConnectedAccount {
        id: ConnectedAccountId::new(),
        workspace_id: ws,
        brand_id: brand,
        network,
        kind,
        grant_id: Uuid::now_v7(),
        external_id: external.into(),
        display_name: format!("Name {external}"),
        handle: Some(external.to_lowercase()),
        details,
        scopes: vec!["a".into(), "b".into()],
        tokens: sealed(1),
        token_version: 1,
        token_issued_at: t(0),
        access_expires_at: Some(t(3_600)),
        refresh_expires_at: None,
        refresh_due_at: Some(t(3_000)),
        status: AccountStatus::Active,
        status_reason: None,
        created_at: t(0),
        updated_at: t(0),
    }
}

pub(crate) async fn setup(s: &Store, addr: &str) -> (nanopost_storage::User, WorkspaceId, BrandId) {
    let (u, ws) = owner(s, addr).await;
    let b = brand(ws.id, "Bakery");
    s.insert_brand(&b).await.unwrap();
    (u, ws.id, b.id)
}

fn update(tag: u8, reactivate: bool) -> TokenUpdate {
    TokenUpdate {
        tokens: sealed(tag),
        token_issued_at: t(100),
        access_expires_at: Some(t(7_200)),
        refresh_expires_at: Some(t(86_400)),
        refresh_due_at: Some(t(6_000)),
        reactivate,
    }
}

async fn oauth_states_are_single_use(s: Store, _url: String) {
    let (u, ws, b) = setup(&s, "o@example.com").await;
    let st = OAuthState {
        state_hash: hash(),
        workspace_id: ws,
        brand_id: b,
        user_id: u.id,
        network: Network::Tiktok,
        flavour: "tiktok".into(),
        created_at: t(0),
        expires_at: t(900),
    };
    s.insert_oauth_state(&st).await.unwrap();
    assert!(matches!(s.insert_oauth_state(&st).await, Err(StorageError::Conflict(_))));
    assert_eq!(s.take_oauth_state(&st.state_hash, t(10)).await.unwrap(), TakenState::Fresh(st.clone()));
    assert_eq!(s.take_oauth_state(&st.state_hash, t(11)).await.unwrap(), TakenState::AlreadyUsed(st.clone()));
    assert_eq!(s.take_oauth_state(&hash(), t(11)).await.unwrap(), TakenState::Unknown);
    assert_eq!(s.delete_expired_oauth_states(t(899)).await.unwrap(), 0);
    assert_eq!(s.delete_expired_oauth_states(t(900)).await.unwrap(), 1);
    assert_eq!(s.take_oauth_state(&st.state_hash, t(901)).await.unwrap(), TakenState::Unknown);
    // A brand of another workspace cannot be named.
    let (_, other_ws, _) = setup(&s, "p@example.com").await;
    let foreign = OAuthState { state_hash: hash(), workspace_id: other_ws, ..st };
    assert!(matches!(s.insert_oauth_state(&foreign).await, Err(StorageError::NotFound)));
}

async fn accounts_are_saved_reconnected_and_listed(s: Store, _url: String) {
    let (_, ws, b) = setup(&s, "a@example.com").await;
    let ig = account(ws, b, Network::Instagram, "1789");
    let li = account(ws, b, Network::Linkedin, "urn:li:person:abc");
    s.save_connected_account(&ig).await.unwrap();
    s.save_connected_account(&li).await.unwrap();
    assert_eq!(s.connected_account(ws, ig.id).await.unwrap().as_ref(), Some(&ig));
    assert_eq!(s.connected_account_by_external(ws, b, Network::Instagram, "1789").await.unwrap().as_ref(), Some(&ig));
    assert_eq!(s.connected_account_by_external(ws, b, Network::Tiktok, "1789").await.unwrap(), None);
    assert_eq!(s.connected_accounts(ws, Some(b)).await.unwrap().len(), 2);
    assert_eq!(s.connected_accounts(ws, None).await.unwrap().len(), 2);
    assert_eq!(s.connected_accounts(ws, Some(BrandId::new())).await.unwrap().len(), 0);
    assert_eq!(s.accounts_of_grant(ws, li.grant_id).await.unwrap(), vec![li.clone()]);

    // Reconnecting the same external account keeps its id and bumps the token version.
    let again = ConnectedAccount {
        tokens: sealed(9),
        display_name: "Renamed".into(),
        status: AccountStatus::Active,
        updated_at: t(50),
        ..ig.clone()
    };
    s.mark_account_reconnect_needed(ws, ig.id, "expired", t(40)).await.unwrap();
    s.save_connected_account(&again).await.unwrap();
    let stored = s.connected_account(ws, ig.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.display_name.as_str(), stored.token_version, stored.status),
        ("Renamed", 2, AccountStatus::Active)
    );
    assert_eq!(stored.tokens, sealed(9));
    assert_eq!(stored.created_at, t(0));
    // The same external account under another id is refused (its tokens are bound to that id).
    let clash = ConnectedAccount { id: ConnectedAccountId::new(), ..again };
    assert!(matches!(s.save_connected_account(&clash).await, Err(StorageError::Conflict("connected_account"))));
    // An account without a refresh token round-trips too.
    let mut tiktok = account(ws, b, Network::Tiktok, "open-1");
    tiktok.tokens.refresh = None;
    tiktok.access_expires_at = None;
    tiktok.refresh_due_at = None;
    tiktok.handle = None;
    s.save_connected_account(&tiktok).await.unwrap();
    assert_eq!(s.connected_account(ws, tiktok.id).await.unwrap(), Some(tiktok));
}

async fn token_updates_are_optimistic_and_keep_status_on_rotation(s: Store, _url: String) {
    let (_, ws, b) = setup(&s, "u@example.com").await;
    let a = account(ws, b, Network::Tiktok, "open-2");
    s.save_connected_account(&a).await.unwrap();
    s.mark_account_reconnect_needed(ws, a.id, "refresh refused", t(10)).await.unwrap();
    // Rotation keeps the status.
    let rotated = s.update_account_tokens(ws, a.id, 1, &update(3, false), t(20)).await.unwrap();
    assert_eq!((rotated.token_version, rotated.status), (2, AccountStatus::ReconnectNeeded));
    assert_eq!(rotated.status_reason.as_deref(), Some("refresh refused"));
    // A stale version is refused and changes nothing.
    assert!(matches!(s.update_account_tokens(ws, a.id, 1, &update(4, true), t(30)).await, Err(StorageError::Stale)));
    assert_eq!(s.connected_account(ws, a.id).await.unwrap().unwrap().tokens, sealed(3));
    // A refresh reactivates.
    let refreshed = s.update_account_tokens(ws, a.id, 2, &update(5, true), t(40)).await.unwrap();
    assert_eq!((refreshed.token_version, refreshed.status, refreshed.status_reason), (3, AccountStatus::Active, None));
    assert_eq!(refreshed.refresh_due_at, Some(t(6_000)));
    assert_eq!(refreshed.token_issued_at, t(100));
    assert!(matches!(
        s.update_account_tokens(ws, ConnectedAccountId::new(), 1, &update(5, true), t(40)).await,
        Err(StorageError::NotFound)
    ));
    assert!(matches!(
        s.mark_account_reconnect_needed(ws, ConnectedAccountId::new(), "x", t(1)).await,
        Err(StorageError::NotFound)
    ));
}

async fn refresh_and_rotation_batches(s: Store, _url: String) {
    let (_, ws, b) = setup(&s, "r@example.com").await;
    let mut due = account(ws, b, Network::Tiktok, "due");
    due.refresh_due_at = Some(t(100));
    let mut later = account(ws, b, Network::Linkedin, "later");
    later.refresh_due_at = Some(t(10_000));
    let mut never = account(ws, b, Network::Instagram, "never");
    never.refresh_due_at = None;
    never.tokens.key_id = "k2".into();
    let mut broken = account(ws, b, Network::Instagram, "broken");
    broken.refresh_due_at = Some(t(50));
    for a in [&due, &later, &never, &broken] {
        s.save_connected_account(a).await.unwrap();
    }
    s.mark_account_reconnect_needed(ws, broken.id, "gone", t(1)).await.unwrap();
    let ids = |v: Vec<ConnectedAccount>| v.into_iter().map(|a| a.external_id).collect::<Vec<_>>();
    assert_eq!(ids(s.accounts_due_for_refresh(t(5_000), 10).await.unwrap()), vec!["due"]);
    assert_eq!(ids(s.accounts_due_for_refresh(t(20_000), 10).await.unwrap()), vec!["due", "later"]);
    assert_eq!(ids(s.accounts_due_for_refresh(t(20_000), 1).await.unwrap()), vec!["due"]);
    assert_eq!(ids(s.accounts_sealed_with_other_keys("k1", 10).await.unwrap()), vec!["never"]);
    assert_eq!(s.accounts_sealed_with_other_keys("k2", 10).await.unwrap().len(), 3);
}

async fn tenants_are_isolated(s: Store, _url: String) {
    let (_, ws, b) = setup(&s, "t1@example.com").await;
    let (_, other, other_brand) = setup(&s, "t2@example.com").await;
    let a = account(ws, b, Network::Linkedin, "urn:li:person:x");
    s.save_connected_account(&a).await.unwrap();
    assert_eq!(s.connected_account(other, a.id).await.unwrap(), None);
    assert_eq!(s.connected_account_by_external(other, b, Network::Linkedin, "urn:li:person:x").await.unwrap(), None);
    assert!(s.connected_accounts(other, None).await.unwrap().is_empty());
    assert!(s.accounts_of_grant(other, a.grant_id).await.unwrap().is_empty());
    assert!(matches!(
        s.update_account_tokens(other, a.id, 1, &update(2, true), t(1)).await,
        Err(StorageError::NotFound)
    ));
    assert!(matches!(s.mark_account_reconnect_needed(other, a.id, "x", t(1)).await, Err(StorageError::NotFound)));
    assert!(matches!(s.delete_connected_account(other, a.id).await, Err(StorageError::NotFound)));
    // Another workspace's brand cannot hold this workspace's account, nor the reverse.
    let cross = ConnectedAccount { brand_id: other_brand, ..account(ws, b, Network::Tiktok, "c") };
    assert!(matches!(s.save_connected_account(&cross).await, Err(StorageError::NotFound)));
    // The same external account may be connected in both workspaces, independently.
    let twin = account(other, other_brand, Network::Linkedin, "urn:li:person:x");
    s.save_connected_account(&twin).await.unwrap();
    assert_eq!(s.connected_account(ws, a.id).await.unwrap().unwrap().tokens, a.tokens);
}

async fn disconnect_deletes_the_token_bytes(s: Store, url: String) {
    let (_, ws, b) = setup(&s, "d@example.com").await;
    let a = account(ws, b, Network::Tiktok, "open-9");
    let keep = ConnectedAccount { tokens: sealed(2), ..account(ws, b, Network::Linkedin, "urn:li:person:keep") };
    s.save_connected_account(&a).await.unwrap();
    s.save_connected_account(&keep).await.unwrap();
    let deleted = s.delete_connected_account(ws, a.id).await.unwrap();
    assert_eq!(deleted, a);
    assert!(matches!(s.delete_connected_account(ws, a.id).await, Err(StorageError::NotFound)));
    assert_eq!(s.connected_account(ws, a.id).await.unwrap(), None);

    // Read the raw table: every byte of every remaining row, as text and as blobs.
    let rows: Vec<Vec<u8>> = if url.starts_with("sqlite:") {
        use sqlx::Connection as _;
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        raw_rows(sqlx::query("SELECT * FROM connected_accounts").fetch_all(&mut c).await.unwrap())
    } else {
        use sqlx::Connection as _;
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        raw_rows(sqlx::query("SELECT * FROM connected_accounts").fetch_all(&mut c).await.unwrap())
    };
    assert_eq!(rows.len(), 1, "only the other account is left");
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    for bytes in &rows {
        assert!(!contains(bytes, &a.tokens.access.ciphertext), "access token bytes remain");
        assert!(!contains(bytes, &a.tokens.wrapped_key), "the data key remains");
        assert!(!contains(bytes, a.external_id.as_bytes()));
        // The raw read does see the other account's bytes, so the check is not blind.
        assert!(contains(bytes, &keep.tokens.access.ciphertext));
    }
}

/// Concatenates every column of every row as bytes (blobs as they are, the rest as text).
fn raw_rows<R: sqlx::Row>(rows: Vec<R>) -> Vec<Vec<u8>>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Uuid: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    rows.iter()
        .map(|r| {
            let mut out = Vec::new();
            for i in 0..r.len() {
                if let Ok(Some(b)) = r.try_get::<Option<Vec<u8>>, _>(i) {
                    out.extend(b);
                } else if let Ok(Some(s)) = r.try_get::<Option<String>, _>(i) {
                    out.extend(s.into_bytes());
                } else if let Ok(Some(n)) = r.try_get::<Option<i64>, _>(i) {
                    out.extend(n.to_string().into_bytes());
                } else if let Ok(Some(u)) = r.try_get::<Option<Uuid>, _>(i) {
                    out.extend(u.as_bytes());
                }
            }
            out
        })
        .collect()
}
