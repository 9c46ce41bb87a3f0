//! Publishing slots, on SQLite and PostgreSQL: a per-account cap shared by every process,
//! leases that free themselves, renewal by the holder.

use crate::harness::{self, TestDb};
use jiff::{SignedDuration, Timestamp};
use nanopost_storage::{ConnectedAccountId, Store};
use uuid::Uuid;

async fn run<F, Fut>(db: TestDb, case: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    harness::run(db, true, case).await
}

mod sqlite {
    #[tokio::test]
    async fn slots_cap_expire_and_renew() {
        super::run(crate::harness::sqlite().await, super::slots_cap_expire_and_renew).await
    }

    #[tokio::test]
    async fn pauses_keep_the_longest_end_and_go_with_the_account() {
        super::run(crate::harness::sqlite().await, super::pauses_keep_the_longest_end_and_go_with_the_account).await
    }
}

mod postgres {
    #[tokio::test]
    async fn slots_cap_expire_and_renew() {
        super::run(crate::harness::postgres().await, super::slots_cap_expire_and_renew).await
    }

    #[tokio::test]
    async fn pauses_keep_the_longest_end_and_go_with_the_account() {
        super::run(crate::harness::postgres().await, super::pauses_keep_the_longest_end_and_go_with_the_account).await
    }
}

async fn slots_cap_expire_and_renew(s: Store) {
    let t0 = Timestamp::from_second(1_800_000_000).unwrap();
    let min = SignedDuration::from_mins(1);
    let (account, other_account) = (ConnectedAccountId::new(), ConnectedAccountId::new());
    let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    assert!(s.take_publishing_slot(account, a, 2, t0 + min, t0).await.unwrap());
    assert!(s.take_publishing_slot(account, b, 2, t0 + min, t0).await.unwrap());
    assert!(!s.take_publishing_slot(account, c, 2, t0 + min, t0).await.unwrap(), "the cap is 2");
    assert!(s.take_publishing_slot(other_account, c, 2, t0 + min, t0).await.unwrap(), "per account");
    // The holder renews its own slot even at the cap.
    assert!(s.take_publishing_slot(account, a, 2, t0 + min * 3, t0).await.unwrap());
    // Released: free again.
    s.release_publishing_slot(account, b).await.unwrap();
    assert!(s.take_publishing_slot(account, c, 2, t0 + min, t0).await.unwrap());
    // A slot whose holder died frees itself when its lease ends (a's was renewed to 3 min).
    let later = t0 + min * 2;
    let d = Uuid::now_v7();
    assert!(s.take_publishing_slot(account, d, 2, later + min, later).await.unwrap(), "c's lease ended");
    assert!(!s.take_publishing_slot(account, Uuid::now_v7(), 2, later + min, later).await.unwrap());

    // Many takers at once: never more than the cap hold it.
    let contested = ConnectedAccountId::new();
    let takers = (0..16).map(|_| {
        let s = s.clone();
        tokio::spawn(async move { s.take_publishing_slot(contested, Uuid::now_v7(), 3, t0 + min, t0).await.unwrap() })
    });
    let mut won = 0;
    for t in takers {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 3);
}

async fn pauses_keep_the_longest_end_and_go_with_the_account(s: Store) {
    use nanopost_domain::network::Network;
    let t0 = Timestamp::from_second(1_800_000_000).unwrap();
    let hour = SignedDuration::from_hours(1);
    let (_, ws, brand) = crate::accounts::setup(&s, "ana@example.com").await;
    let account = crate::accounts::account(ws, brand, Network::Linkedin, "urn:li:person:1");
    s.save_connected_account(&account).await.unwrap();
    let other = crate::accounts::account(ws, brand, Network::Tiktok, "open-id-2");
    s.save_connected_account(&other).await.unwrap();
    assert_eq!(s.publishing_pause(account.id, t0).await.unwrap(), None);

    s.pause_publishing(account.id, t0 + hour * 2, "daily limit").await.unwrap();
    // A shorter pause heard later does not cut the longer one short; a longer one extends it.
    s.pause_publishing(account.id, t0 + hour, "rate limit").await.unwrap();
    assert_eq!(s.publishing_pause(account.id, t0).await.unwrap(), Some((t0 + hour * 2, "daily limit".into())));
    s.pause_publishing(account.id, t0 + hour * 3, "again").await.unwrap();
    assert_eq!(s.publishing_pause(account.id, t0).await.unwrap(), Some((t0 + hour * 3, "again".into())));
    assert_eq!(s.publishing_pause(other.id, t0).await.unwrap(), None, "per account");
    // Over once its time has come.
    assert_eq!(s.publishing_pause(account.id, t0 + hour * 3).await.unwrap(), None);
    // Disconnecting the account takes its pause with it.
    s.delete_connected_account(ws, account.id).await.unwrap();
    assert_eq!(s.publishing_pause(account.id, t0).await.unwrap(), None);
    // A pause of an unknown account is refused, not stored.
    assert!(s.pause_publishing(ConnectedAccountId::new(), t0 + hour, "x").await.is_err());
}
