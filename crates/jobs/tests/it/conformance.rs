//! The queue contract: every case runs on SQLite, PostgreSQL and Redis.

use crate::harness::{ms, t};
use jiff::Timestamp;
use nanopost_domain::ids::WorkspaceId;
use nanopost_jobs::{AnyQueue, Cancelled, Claim, Enqueued, Heartbeat, Job, JobQueue, JobState, NewJob};
use serde_json::json;
use std::collections::HashSet;

crate::on_every_backend!(
    orders_by_due_time_then_priority,
    unique_keys_deduplicate,
    expired_leases_are_redelivered_and_fenced,
    heartbeats_extend_the_lease,
    retry_waits_until_the_given_instant,
    dead_letters_keep_the_last_error_and_can_be_retried,
    cancellation,
    workspaces_share_fairly,
    concurrent_claimers_never_share_a_job,
    completion_and_follow_ups_are_atomic,
    checkpoints_need_the_lease,
    releasing_refunds_the_attempt,
    batched_completion_counts_only_held_leases,
);

fn job(kind: &str, due: Timestamp) -> NewJob {
    NewJob::new(kind, json!({"kind": kind}), t(0)).due_at(due)
}

async fn claim(q: &AnyQueue, now: Timestamp, limit: u32) -> Vec<Job> {
    q.claim(&Claim { now, lease_until: now + ms(30_000), limit }).await.unwrap()
}

fn kinds(jobs: &[Job]) -> Vec<&str> {
    jobs.iter().map(|j| j.kind.as_str()).collect()
}

async fn orders_by_due_time_then_priority(q: AnyQueue) {
    let ws = WorkspaceId::new();
    // Enqueued out of order, in two transactions.
    q.enqueue_many(&[job("a", t(3)).workspace(ws), job("b", t(1)).workspace(ws)]).await.unwrap();
    q.enqueue_many(&[
        job("c", t(1)).workspace(ws).priority(5),
        job("d", t(2)).workspace(ws),
        job("late", t(100)).workspace(ws),
    ])
    .await
    .unwrap();
    assert_eq!(q.next_due().await.unwrap(), Some(t(1)));
    assert!(claim(&q, t(1) - ms(1), 10).await.is_empty(), "nothing is due before its time");
    let got = claim(&q, t(5), 10).await;
    assert_eq!(kinds(&got), ["c", "b", "d", "a"]);
    assert!(got.iter().all(|j| j.state == JobState::Running && j.attempts == 1 && j.lease.is_some()));
    assert_eq!(q.next_due().await.unwrap(), Some(t(100)));
    // One at a time gives the same order.
    q.enqueue_many(&[job("y", t(7)), job("x", t(6)).priority(-3), job("w", t(6))]).await.unwrap();
    let mut one_by_one = Vec::new();
    for _ in 0..3 {
        one_by_one.extend(claim(&q, t(10), 1).await);
    }
    assert_eq!(kinds(&one_by_one), ["w", "x", "y"]);
    // The claim that took a lane's last due job also moved the lane's next due time on.
    assert_eq!(q.next_due().await.unwrap(), Some(t(100)));
    assert!(claim(&q, t(10), 10).await.is_empty());
}

async fn unique_keys_deduplicate(q: AnyQueue) {
    let first = q.enqueue(&job("publish", t(0)).unique_key("post:1")).await.unwrap();
    assert!(matches!(first, Enqueued::New(_)));
    let again = q.enqueue(&job("publish", t(5)).unique_key("post:1")).await.unwrap();
    assert_eq!(again, Enqueued::Duplicate(first.id()));
    // In one batch, too.
    let batch = q
        .enqueue_many(&[job("publish", t(0)).unique_key("post:2"), job("publish", t(0)).unique_key("post:2")])
        .await
        .unwrap();
    assert!(matches!(batch[0], Enqueued::New(_)));
    assert_eq!(batch[1], Enqueued::Duplicate(batch[0].id()));
    assert_eq!(q.job_by_key("post:1").await.unwrap().unwrap().id, first.id());

    let got = claim(&q, t(1), 10).await;
    assert_eq!(got.len(), 2, "one job per key");
    // Still held while running.
    assert_eq!(q.enqueue(&job("publish", t(0)).unique_key("post:1")).await.unwrap(), Enqueued::Duplicate(first.id()));
    let leases: Vec<_> = got.iter().map(|j| j.lease.unwrap()).collect();
    assert_eq!(q.complete(&leases).await.unwrap(), 2);
    assert_eq!(q.job(first.id()).await.unwrap(), None, "a finished job is gone");
    // Free again once finished.
    assert!(matches!(q.enqueue(&job("publish", t(0)).unique_key("post:1")).await.unwrap(), Enqueued::New(_)));
}

async fn expired_leases_are_redelivered_and_fenced(q: AnyQueue) {
    let id = q.enqueue(&job("work", t(0))).await.unwrap().id();
    let first = claim(&q, t(1), 1).await.remove(0);
    let dead_worker = first.lease.unwrap();
    assert_eq!(dead_worker.until, t(31));
    // The worker dies (it never heartbeats). Before the lease ends nothing happens.
    assert_eq!(q.reap_expired(t(30)).await.unwrap(), 0);
    assert!(claim(&q, t(30), 1).await.is_empty());
    assert_eq!(q.reap_expired(t(32)).await.unwrap(), 1);
    let again = claim(&q, t(32), 1).await;
    assert_eq!(again.len(), 1, "re-delivered");
    let second = &again[0];
    assert_eq!(second.id, id);
    assert_eq!(second.attempts, 2);
    assert!(second.last_error.as_deref().unwrap_or("").contains("lease expired"));
    assert_ne!(second.lease.unwrap().token, dead_worker.token);
    // The first worker comes back to life: it can no longer touch the job.
    assert_eq!(q.heartbeat(&dead_worker, t(100)).await.unwrap(), Heartbeat::Lost);
    assert_eq!(q.complete(&[dead_worker]).await.unwrap(), 0);
    assert!(!q.retry(&dead_worker, t(40), "stale", t(33)).await.unwrap());
    assert!(!q.dead_letter(&dead_worker, "stale", t(33)).await.unwrap());
    assert_eq!(q.job(id).await.unwrap().unwrap().state, JobState::Running);
    assert_eq!(q.complete(&[second.lease.unwrap()]).await.unwrap(), 1);

    // Out of attempts when the lease expires: dead, with the reason.
    let id = q.enqueue(&job("fragile", t(0)).max_attempts(1)).await.unwrap().id();
    claim(&q, t(40), 1).await;
    assert_eq!(q.reap_expired(t(100)).await.unwrap(), 1);
    let dead = q.job(id).await.unwrap().unwrap();
    assert_eq!(dead.state, JobState::Dead);
    assert!(dead.last_error.unwrap().contains("lease expired"));
}

async fn heartbeats_extend_the_lease(q: AnyQueue) {
    q.enqueue(&job("long", t(0))).await.unwrap();
    let running = claim(&q, t(0), 1).await.remove(0);
    let lease = running.lease.unwrap();
    assert_eq!(q.heartbeat(&lease, t(90)).await.unwrap(), Heartbeat::Extended);
    assert_eq!(q.reap_expired(t(60)).await.unwrap(), 0, "the extended lease holds");
    assert!(claim(&q, t(60), 1).await.is_empty());
    assert_eq!(q.job(running.id).await.unwrap().unwrap().lease.unwrap().until, t(90));
    assert_eq!(q.complete(&[lease]).await.unwrap(), 1);
}

async fn retry_waits_until_the_given_instant(q: AnyQueue) {
    let id = q.enqueue(&job("flaky", t(0))).await.unwrap().id();
    let lease = claim(&q, t(0), 1).await[0].lease.unwrap();
    assert!(q.retry(&lease, t(60), "429 Too Many Requests", t(1)).await.unwrap());
    let waiting = q.job(id).await.unwrap().unwrap();
    assert_eq!((waiting.state, waiting.due_at, waiting.attempts), (JobState::Ready, t(60), 1));
    assert_eq!(waiting.last_error.as_deref(), Some("429 Too Many Requests"));
    assert_eq!(q.next_due().await.unwrap(), Some(t(60)));
    assert!(claim(&q, t(59), 1).await.is_empty());
    let again = claim(&q, t(60), 1).await;
    assert_eq!(again[0].attempts, 2);
}

async fn dead_letters_keep_the_last_error_and_can_be_retried(q: AnyQueue) {
    let id = q.enqueue(&job("doomed", t(0)).unique_key("doomed")).await.unwrap().id();
    let lease = claim(&q, t(0), 1).await[0].lease.unwrap();
    assert!(q.dead_letter(&lease, "account disconnected", t(2)).await.unwrap());
    let dead = q.dead_jobs(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].id, dead[0].state), (id, JobState::Dead));
    assert_eq!(dead[0].last_error.as_deref(), Some("account disconnected"));
    assert!(claim(&q, t(100), 10).await.is_empty(), "dead jobs are not claimed");
    // The key stays taken: a dead publication is not silently re-created.
    assert_eq!(q.enqueue(&job("doomed", t(0)).unique_key("doomed")).await.unwrap(), Enqueued::Duplicate(id));
    // A human retries it.
    assert!(q.retry_dead(id, t(200)).await.unwrap());
    assert!(!q.retry_dead(id, t(200)).await.unwrap(), "no longer dead");
    let back = claim(&q, t(200), 1).await;
    assert_eq!((back[0].id, back[0].attempts), (id, 1));
    assert!(q.dead_jobs(10).await.unwrap().is_empty());
}

async fn cancellation(q: AnyQueue) {
    let waiting = q.enqueue(&job("w", t(10)).unique_key("cancel-me")).await.unwrap().id();
    assert_eq!(q.cancel_by_key("cancel-me").await.unwrap(), Cancelled::Removed);
    assert_eq!(q.job(waiting).await.unwrap(), None);
    assert!(claim(&q, t(20), 10).await.is_empty());
    assert_eq!(q.cancel(waiting).await.unwrap(), Cancelled::NotFound);
    assert_eq!(q.cancel_by_key("never").await.unwrap(), Cancelled::NotFound);
    // The key is free again.
    assert!(matches!(q.enqueue(&job("w", t(10)).unique_key("cancel-me")).await.unwrap(), Enqueued::New(_)));

    // A running job is flagged: its worker hears it at the next heartbeat, and a failure
    // removes it instead of retrying it.
    let id = q.enqueue(&job("r", t(0))).await.unwrap().id();
    let lease = claim(&q, t(0), 1).await.into_iter().find(|j| j.id == id).unwrap().lease.unwrap();
    assert_eq!(q.cancel(id).await.unwrap(), Cancelled::Requested);
    assert_eq!(q.heartbeat(&lease, t(60)).await.unwrap(), Heartbeat::CancelRequested);
    assert!(q.retry(&lease, t(61), "boom", t(1)).await.unwrap());
    assert_eq!(q.job(id).await.unwrap(), None);
}

async fn workspaces_share_fairly(q: AnyQueue) {
    let (busy, quiet) = (WorkspaceId::new(), WorkspaceId::new());
    let backlog: Vec<NewJob> = (0..10_000).map(|i| job("bulk", t(0) + ms(i % 1000)).workspace(busy)).collect();
    q.enqueue_many(&backlog).await.unwrap();
    // Due after every one of the backlog, and enqueued last: plain due-time order would run it
    // 10,001st.
    let lone = q.enqueue(&job("lone", t(2)).workspace(quiet)).await.unwrap().id();
    for limit in [1, 10] {
        let mut position = None;
        for n in 1..=3 {
            let got = claim(&q, t(3), limit).await;
            assert!(!got.is_empty());
            if let Some(j) = got.iter().find(|j| j.id == lone) {
                position = Some(n);
                q.release(&j.lease.unwrap(), t(3)).await.unwrap();
                break;
            }
        }
        assert!(
            position.is_some(),
            "with claims of {limit}, the quiet workspace's job was not among the first 3 claims"
        );
    }
}

async fn concurrent_claimers_never_share_a_job(q: AnyQueue) {
    let lanes = [WorkspaceId::new(), WorkspaceId::new(), WorkspaceId::new()];
    let jobs: Vec<NewJob> = (0..1500).map(|i| job("c", t(0)).workspace(lanes[i % 3])).collect();
    q.enqueue_many(&jobs).await.unwrap();
    let mut tasks = Vec::new();
    for w in 0..8u32 {
        let q = q.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            let mut empty = 0;
            while empty < 3 {
                let got = claim(&q, t(1), 1 + w % 7).await;
                if got.is_empty() {
                    empty += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    continue;
                }
                let leases: Vec<_> = got.iter().map(|j| j.lease.unwrap()).collect();
                assert_eq!(q.complete(&leases).await.unwrap(), leases.len() as u64);
                mine.extend(got.into_iter().map(|j| j.id));
            }
            mine
        }));
    }
    let mut seen = HashSet::new();
    for task in tasks {
        for id in task.await.unwrap() {
            assert!(seen.insert(id), "job {id} was claimed twice");
        }
    }
    assert_eq!(seen.len(), 1500);
    assert!(claim(&q, t(1), 10).await.is_empty());
}

async fn completion_and_follow_ups_are_atomic(q: AnyQueue) {
    q.enqueue(&job("step1", t(0))).await.unwrap();
    let lease = claim(&q, t(0), 1).await[0].lease.unwrap();
    let next = job("step2", t(0)).unique_key("post:9:step2");
    let done = q.complete_and_enqueue(&lease, std::slice::from_ref(&next)).await.unwrap().unwrap();
    assert_eq!(done, vec![Enqueued::New(next.id)]);
    assert_eq!(kinds(&claim(&q, t(1), 5).await), ["step2"]);
    // A lost lease writes nothing: no completion, no follow-up.
    let lost = q.complete_and_enqueue(&lease, &[job("step3", t(0))]).await.unwrap();
    assert_eq!(lost, None);
    assert!(claim(&q, t(2), 5).await.is_empty());
}

async fn checkpoints_need_the_lease(q: AnyQueue) {
    let id = q.enqueue(&job("upload", t(0))).await.unwrap().id();
    let lease = claim(&q, t(0), 1).await[0].lease.unwrap();
    let progress = json!({"container_id": "17890", "step": "uploaded"});
    assert!(q.checkpoint(&lease, &progress).await.unwrap());
    assert!(q.retry(&lease, t(1), "timeout", t(0)).await.unwrap());
    assert!(!q.checkpoint(&lease, &json!({})).await.unwrap(), "the lease is gone");
    let resumed = claim(&q, t(1), 1).await.remove(0);
    assert_eq!((resumed.id, &resumed.payload), (id, &progress), "the next attempt sees the saved progress");
}

async fn releasing_refunds_the_attempt(q: AnyQueue) {
    let id = q.enqueue(&job("interrupted", t(5))).await.unwrap().id();
    let lease = claim(&q, t(6), 1).await[0].lease.unwrap();
    assert!(q.release(&lease, t(7)).await.unwrap());
    let back = q.job(id).await.unwrap().unwrap();
    assert_eq!((back.state, back.attempts, back.due_at), (JobState::Ready, 0, t(5)));
    assert_eq!(claim(&q, t(7), 1).await[0].id, id);
}

async fn batched_completion_counts_only_held_leases(q: AnyQueue) {
    let (a, b) = (WorkspaceId::new(), WorkspaceId::new());
    let jobs: Vec<NewJob> = (0..6).map(|i| job("n", t(1)).workspace(if i % 2 == 0 { a } else { b })).collect();
    q.enqueue_many(&jobs).await.unwrap();
    // Two claims (two lease tokens), each served from both workspaces.
    let first = claim(&q, t(2), 2).await;
    let second = claim(&q, t(2), 4).await;
    assert_eq!((first.len(), second.len()), (2, 4));
    let leases: Vec<_> = first.iter().chain(&second).map(|j| j.lease.unwrap()).collect();
    assert_eq!(q.complete(&leases[..1]).await.unwrap(), 1);
    // The finished one again, with the rest of both claims: only the held leases count.
    assert_eq!(q.complete(&leases).await.unwrap(), 5);
    assert_eq!(q.complete(&leases).await.unwrap(), 0);
    assert!(claim(&q, t(3), 10).await.is_empty(), "every job finished");
}
