//! The queue chosen by configuration at run time.

use crate::{JobQueue, RedisQueue, Result, SqlQueue};
use jiff::Timestamp;
use nanopost_storage::{Cancelled, Claim, Enqueued, Heartbeat, Job, JobId, JobWakeups, Lease, NewJob};

#[derive(Clone, Debug)]
pub enum AnyQueue {
    Sql(SqlQueue),
    Redis(RedisQueue),
}

macro_rules! each {
    ($self:ident, $q:ident => $e:expr) => {
        match $self {
            AnyQueue::Sql($q) => $e,
            AnyQueue::Redis($q) => $e,
        }
    };
}

impl AnyQueue {
    pub fn backend_name(&self) -> &'static str {
        match self {
            AnyQueue::Sql(q) => match q.store().backend() {
                nanopost_storage::Backend::Sqlite => "sqlite",
                nanopost_storage::Backend::Postgres => "postgres",
            },
            AnyQueue::Redis(_) => "redis",
        }
    }
}

impl JobQueue for AnyQueue {
    async fn enqueue_many(&self, jobs: &[NewJob]) -> Result<Vec<Enqueued>> {
        each!(self, q => q.enqueue_many(jobs).await)
    }
    async fn claim(&self, claim: &Claim) -> Result<Vec<Job>> {
        each!(self, q => q.claim(claim).await)
    }
    async fn heartbeat(&self, lease: &Lease, until: Timestamp) -> Result<Heartbeat> {
        each!(self, q => q.heartbeat(lease, until).await)
    }
    async fn checkpoint(&self, lease: &Lease, payload: &serde_json::Value) -> Result<bool> {
        each!(self, q => q.checkpoint(lease, payload).await)
    }
    async fn complete(&self, leases: &[Lease]) -> Result<u64> {
        each!(self, q => q.complete(leases).await)
    }
    async fn complete_and_enqueue(&self, lease: &Lease, next: &[NewJob]) -> Result<Option<Vec<Enqueued>>> {
        each!(self, q => q.complete_and_enqueue(lease, next).await)
    }
    async fn retry(&self, lease: &Lease, due_at: Timestamp, error: &str, now: Timestamp) -> Result<bool> {
        each!(self, q => q.retry(lease, due_at, error, now).await)
    }
    async fn dead_letter(&self, lease: &Lease, error: &str, now: Timestamp) -> Result<bool> {
        each!(self, q => q.dead_letter(lease, error, now).await)
    }
    async fn release(&self, lease: &Lease, now: Timestamp) -> Result<bool> {
        each!(self, q => q.release(lease, now).await)
    }
    async fn reap_expired(&self, now: Timestamp) -> Result<u64> {
        each!(self, q => q.reap_expired(now).await)
    }
    async fn next_due(&self) -> Result<Option<Timestamp>> {
        each!(self, q => q.next_due().await)
    }
    async fn wakeups(&self) -> Result<JobWakeups> {
        each!(self, q => q.wakeups().await)
    }
    async fn job(&self, id: JobId) -> Result<Option<Job>> {
        each!(self, q => q.job(id).await)
    }
    async fn job_by_key(&self, key: &str) -> Result<Option<Job>> {
        each!(self, q => q.job_by_key(key).await)
    }
    async fn dead_jobs(&self, limit: u32) -> Result<Vec<Job>> {
        each!(self, q => q.dead_jobs(limit).await)
    }
    async fn retry_dead(&self, id: JobId, now: Timestamp) -> Result<bool> {
        each!(self, q => q.retry_dead(id, now).await)
    }
    async fn cancel(&self, id: JobId) -> Result<Cancelled> {
        each!(self, q => q.cancel(id).await)
    }
    async fn cancel_by_key(&self, key: &str) -> Result<Cancelled> {
        each!(self, q => q.cancel_by_key(key).await)
    }
}
