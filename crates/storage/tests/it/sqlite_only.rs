//! What only SQLite needs proving: write concurrency on one file, `:memory:`, and what happens
//! when someone edits the file by hand.

use crate::fixtures::*;
use crate::harness;
use nanopost_domain::ids::{PostId, UserId};
use nanopost_domain::role::Role;
use nanopost_storage::{PageRequest, PostFilter, StorageError, Store};
use sqlx::Connection as _;
use std::time::{Duration, Instant};

const TASKS: usize = 16;
const ROUNDS: usize = 25;

/// 16 tasks × 25 multi-statement writes on one file. Any "database is locked/busy" error fails
/// the test; only `Stale` (lost optimistic race) is retried, and the expected `Conflict` of the
/// last-owner rule is checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_write_transactions_never_fail_busy() {
    let db = harness::sqlite().await;
    let url = db.url.clone();
    harness::run(db, true, move |s| async move {
        let started = Instant::now();
        let (o, ws) = owner(&s, "owner@example.com").await;
        let mut editors: Vec<UserId> = Vec::new();
        for i in 0..4 {
            editors.push(member(&s, ws.id, o.id, &format!("ed{i}@example.com"), Role::Editor).await.id);
        }
        let b = brand(ws.id, "Busy");
        s.insert_brand(&b).await.unwrap();
        let mut posts: Vec<PostId> = Vec::new();
        for i in 0..4 {
            let p = post(ws.id, b.id, o.id, &format!("post {i}"));
            s.insert_post(&p).await.unwrap();
            posts.push(p.id);
        }

        let mut handles = Vec::new();
        for task in 0..TASKS {
            let (s, posts, editors) = (s.clone(), posts.clone(), editors.clone());
            let (ws, owner_id) = (ws.id, o.id);
            handles.push(tokio::spawn(async move {
                let (mut saves, mut invites, mut stale) = (0u64, 0u64, 0u64);
                for round in 0..ROUNDS {
                    let k = task + round;
                    match k % 4 {
                        0 | 1 => {
                            let id = posts[k % posts.len()];
                            loop {
                                let mut p = s.post(ws, id).await.unwrap().unwrap();
                                p.edit(content(&format!("task {task} round {round} v{}", p.version)), t(round as i64))
                                    .unwrap();
                                match s.save_post(&p).await {
                                    Ok(_) => break,
                                    Err(StorageError::Stale) => stale += 1,
                                    Err(e) => panic!("save_post in task {task}: {e}"),
                                }
                                assert!(stale < 10_000, "livelock");
                            }
                            saves += 1;
                        }
                        2 => {
                            let to = format!("t{task}r{round}@example.com");
                            let inv = invitation(ws, &to, Role::Viewer, owner_id, t(86_400));
                            s.create_invitation(&inv, &mail(&to, "invitation", t(0)))
                                .await
                                .unwrap_or_else(|e| panic!("create_invitation in task {task}: {e}"));
                            invites += 1;
                        }
                        _ => {
                            let role = if round % 2 == 0 { Role::Reviewer } else { Role::Editor };
                            s.set_role(ws, editors[k % editors.len()], role)
                                .await
                                .unwrap_or_else(|e| panic!("set_role in task {task}: {e}"));
                            match s.set_role(ws, owner_id, Role::Admin).await {
                                Err(StorageError::Conflict("last owner")) => {}
                                other => panic!("demoting the only owner in task {task}: {other:?}"),
                            }
                        }
                    }
                }
                (saves, invites, stale)
            }));
        }
        let (mut saves, mut invites, mut stale) = (0, 0, 0);
        for h in handles {
            let (a, b, c) = h.await.unwrap();
            saves += a;
            invites += b;
            stale += c;
        }

        let listed = s.posts(ws.id, &PostFilter::default(), PageRequest::first(100)).await.unwrap();
        let versions: i64 = listed.items.iter().map(|p| p.version - 1).sum();
        assert_eq!(versions as u64, saves, "every successful save bumped exactly one version");
        assert_eq!(s.invitations(ws.id, t(0)).await.unwrap().len() as u64, invites);
        assert_eq!(s.role_of(ws.id, o.id).await.unwrap(), Some(Role::Owner));
        assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
        eprintln!("{saves} saves ({stale} stale retries), {invites} invitations in {:?}", started.elapsed());

        // The options reached the file: it is in WAL mode.
        let mut raw = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut raw).await.unwrap();
        assert_eq!(mode, "wal");
        let _ = raw.close().await;
    })
    .await;
}

/// `sqlite::memory:` is one database per connection, so the store keeps exactly one.
#[tokio::test]
async fn in_memory_store_is_one_database() {
    let s = Store::connect("sqlite::memory:").await.unwrap();
    assert!(!s.is_ready().await);
    s.migrate().await.unwrap();
    assert!(s.is_ready().await);
    let (u, ws) = owner(&s, "mem@example.com").await;
    let (a, b, c) = tokio::join!(s.user_by_id(u.id), s.workspace(ws.id), s.members(ws.id));
    assert!(a.unwrap().is_some() && b.unwrap().is_some() && c.unwrap().len() == 1);
    s.close().await;
}

/// A value the program cannot have written is reported as corrupt, not guessed at.
#[tokio::test]
async fn corrupt_rows_are_reported() {
    let db = harness::sqlite().await;
    let url = db.url.clone();
    harness::run(db, true, move |s| async move {
        let (o, ws) = owner(&s, "owner@example.com").await;
        let b = brand(ws.id, "B");
        s.insert_brand(&b).await.unwrap();
        let p = post(ws.id, b.id, o.id, "fine");
        s.insert_post(&p).await.unwrap();

        let mut raw = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("UPDATE posts SET state = 'teleported' WHERE id = $1")
            .bind(p.id.as_uuid())
            .execute(&mut raw)
            .await
            .unwrap();
        sqlx::query("UPDATE users SET email = 'not an address' WHERE id = $1")
            .bind(o.id.as_uuid())
            .execute(&mut raw)
            .await
            .unwrap();
        let _ = raw.close().await;

        assert!(matches!(s.post(ws.id, p.id).await, Err(StorageError::Corrupt(_))));
        assert!(matches!(
            s.posts(ws.id, &PostFilter::default(), PageRequest::first(10)).await,
            Err(StorageError::Corrupt(_))
        ));
        assert!(matches!(s.user_by_id(o.id).await, Err(StorageError::Corrupt(_))));
    })
    .await;
}

/// Deleted rows must not stay readable in the file's free pages (tokens, purged accounts):
/// `secure_delete` zeroes them. Checked on the raw bytes after a checkpoint.
#[tokio::test]
async fn deleted_rows_leave_no_bytes_in_the_file() {
    let db = harness::sqlite().await;
    let url = db.url.clone();
    harness::run(db, true, move |s| async move {
        let (_, ws) = owner(&s, "owner@example.com").await;
        let needle = "NEEDLE-3f9a1c-brand-that-must-vanish";
        let b = brand(ws.id, needle);
        s.insert_brand(&b).await.unwrap();
        s.delete_brand(ws.id, b.id).await.unwrap();
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
        let path = url.trim_start_matches("sqlite://");
        let mut bytes = std::fs::read(path).unwrap();
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        let found = bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(!found, "the deleted brand's name is still in the database file");
    })
    .await;
}

/// Writes reach the database file by a background checkpoint, not by the writer's own
/// automatic one (it waits for 10,000 pages): a few hundred pages of jobs leave the WAL for
/// the main file within moments, with nothing else touching the store.
#[tokio::test]
async fn the_wal_is_checkpointed_in_the_background() {
    let db = harness::sqlite().await;
    let url = db.url.clone();
    harness::run(db, true, move |s| async move {
        let path = url.trim_start_matches("sqlite://").to_owned();
        // Let the migrations' pages be checkpointed first.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let before = std::fs::metadata(&path).unwrap().len();
        let now = jiff::Timestamp::now();
        let jobs: Vec<nanopost_storage::NewJob> = (0..3000)
            .map(|i| {
                nanopost_storage::NewJob::new("noop", serde_json::json!({ "padding": "x".repeat(200), "i": i }), now)
            })
            .collect();
        s.enqueue_jobs(&jobs).await.unwrap();
        let wal = std::fs::metadata(format!("{path}-wal")).unwrap().len();
        assert!(wal > 1024 * 1024, "the jobs went to the WAL first ({wal} bytes)");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let size = std::fs::metadata(&path).unwrap().len();
            if size >= before + 512 * 1024 {
                break;
            }
            assert!(Instant::now() < deadline, "nothing checkpointed the WAL into the file ({before} -> {size} bytes)");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

/// Single-job claims run on the SQLite job thread, which holds the job write lock for at most
/// a turn of steps: an enqueue through the pool waits for one or two turns, not for the
/// claimers to pause.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_enqueue_gets_its_turn_while_claims_keep_the_job_thread_busy() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let db = harness::sqlite().await;
    harness::run(db, true, move |s| async move {
        let (stop, claims) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
        let mut claimers = Vec::new();
        for _ in 0..16 {
            let (s, stop, claims) = (s.clone(), stop.clone(), claims.clone());
            claimers.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let now = jiff::Timestamp::now();
                    let claim = nanopost_storage::Claim { now, lease_until: now, limit: 1 };
                    assert!(s.claim_jobs(&claim).await.unwrap().is_empty());
                    claims.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let in_the_future = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1);
        let job =
            nanopost_storage::NewJob::new("later", serde_json::json!({}), jiff::Timestamp::now()).due_at(in_the_future);
        let before = claims.load(Ordering::Relaxed);
        let enqueued = tokio::time::timeout(Duration::from_secs(5), s.enqueue_job(&job)).await;
        let waited_for = claims.load(Ordering::Relaxed) - before;
        stop.store(true, Ordering::Relaxed);
        for c in claimers {
            c.await.unwrap();
        }
        enqueued.expect("the enqueue waited more than 5 s").unwrap();
        assert!(before > 100, "the claimers were running ({before} claims)");
        // Two turns of 64 steps, and the claims already on their way back.
        assert!(waited_for <= 2 * 64 + 16, "the enqueue waited for {waited_for} claims");
    })
    .await;
}
