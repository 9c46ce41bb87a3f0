//! Key rotation over the store: tokens sealed under key A move to key B; once A is removed every
//! token still opens, and no stored ciphertext opens with A any more.

use crate::support::*;
use nanopost_domain::clock::ManualClock;
use nanopost_domain::network::Network;
use nanopost_platforms::Secret;
use nanopost_platforms::custody::{CustodyError, KeyRing, PlainTokens, RowContext, derive_key};
use nanopost_platforms::vault::{Networks, Vault};
use nanopost_storage::{AccountKind, AccountStatus, ConnectedAccount, ConnectedAccountId};
use std::collections::BTreeMap;
use std::sync::Arc;

const INSTALLATION_SECRET: [u8; 32] = [42; 32];

fn vault(h: &Harness, keys: KeyRing) -> Vault {
    Vault::new(h.store.clone(), keys, derive_key(&INSTALLATION_SECRET, "oauth-pkce/v1"), Networks::default())
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

fn account(h: &Harness, keys: &KeyRing, n: usize) -> ConnectedAccount {
    let id = ConnectedAccountId::new();
    let (network, kind) = [
        (Network::Instagram, AccountKind::InstagramLogin),
        (Network::Linkedin, AccountKind::LinkedinMember),
        (Network::Tiktok, AccountKind::Tiktok),
    ][n % 3];
    ConnectedAccount {
        id,
        workspace_id: h.ws,
        brand_id: h.brand,
        network,
        kind,
        grant_id: uuid::Uuid::now_v7(),
        external_id: format!("external-{n}"),
        display_name: format!("Account {n}"),
        handle: None,
        details: BTreeMap::new(),
        scopes: vec![],
        tokens: keys.seal(RowContext { workspace_id: h.ws, account_id: id }, &plain(n)),
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

#[tokio::test]
async fn rotation_moves_every_token_to_the_new_key_and_the_old_key_opens_nothing() {
    let h = Harness::new(Networks::default(), Arc::new(ManualClock::new(t0()))).await;
    let ring_a = KeyRing::from_installation_secret(&INSTALLATION_SECRET);
    let key_a = ring_a.current_key_id().to_owned();
    const COUNT: usize = 25;
    let mut accounts = Vec::new();
    for n in 0..COUNT {
        let a = account(&h, &ring_a, n);
        h.store.save_connected_account(&a).await.unwrap();
        accounts.push(a);
    }

    // Key B is added and made current; A stays readable while rows move.
    let ring_ab = ring_a.clone().with_key("key-b", [7u8; 32]).unwrap().sealing_with("key-b").unwrap();
    let during = vault(&h, ring_ab.clone());
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
    let after = vault(&h, ring_b.clone());
    let a_only = ring_a;
    for (n, original) in accounts.iter().enumerate() {
        let stored = h.store.connected_account(h.ws, original.id).await.unwrap().unwrap();
        assert_eq!(stored.tokens.key_id, "key-b");
        assert_eq!(stored.token_version, original.token_version + 1);
        // Nothing lost: every token opens with B alone, through the vault too.
        assert_eq!(ring_b.open(row(&stored), &stored.tokens).unwrap(), plain(n));
        assert_eq!(after.access(h.ws, stored.id, t0()).await.unwrap().access_token, plain(n).access);
        // A opens nothing stored now: unknown key id, and even relabelled the bytes refuse A.
        assert!(matches!(a_only.open(row(&stored), &stored.tokens), Err(CustodyError::UnknownKey(_))));
        let mut relabelled = stored.tokens.clone();
        relabelled.key_id = key_a.clone();
        assert!(matches!(a_only.open(row(&stored), &relabelled), Err(CustodyError::Tampered)));
        // The old ciphertext is gone from the raw table.
        assert_ne!(stored.tokens.wrapped_key, original.tokens.wrapped_key);
        assert!(!h.raw_accounts_contain(&original.tokens.wrapped_key).await, "old wrapped key remains");
        assert!(!h.raw_accounts_contain(&original.tokens.access.ciphertext).await, "old ciphertext remains");
    }
    // Nothing is left for A: the ring without it is complete.
    assert_eq!(after.rotate_keys(10, t0()).await.unwrap(), 0);
    // A ring that lost A before rotation finished would have failed loudly, not silently.
    let premature = vault(&h, KeyRing::from_installation_secret(&[1; 32]));
    assert!(premature.access(h.ws, accounts[0].id, t0()).await.is_err());
}
