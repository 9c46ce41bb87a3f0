//! The queue in the SQL database (SQLite or PostgreSQL): a thin face over the repository, whose
//! job methods also let domain writes enqueue in their own transaction.

use crate::{JobQueue, Result};
use jiff::Timestamp;
use nanopost_storage::{Cancelled, Claim, Enqueued, Heartbeat, Job, JobId, JobWakeups, Lease, NewJob, Store};

#[derive(Clone, Debug)]
pub struct SqlQueue {
    store: Store,
}

impl SqlQueue {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
    pub fn store(&self) -> &Store {
        &self.store
    }
}

impl JobQueue for SqlQueue {
    async fn enqueue_many(&self, jobs: &[NewJob]) -> Result<Vec<Enqueued>> {
        Ok(self.store.enqueue_jobs(jobs).await?)
    }
    async fn claim(&self, claim: &Claim) -> Result<Vec<Job>> {
        Ok(self.store.claim_jobs(claim).await?)
    }
    async fn heartbeat(&self, lease: &Lease, until: Timestamp) -> Result<Heartbeat> {
        Ok(self.store.heartbeat_job(lease, until).await?)
    }
    async fn checkpoint(&self, lease: &Lease, payload: &serde_json::Value) -> Result<bool> {
        Ok(self.store.checkpoint_job(lease, payload).await?)
    }
    async fn complete(&self, leases: &[Lease]) -> Result<u64> {
        Ok(self.store.complete_jobs(leases).await?)
    }
    async fn complete_and_enqueue(&self, lease: &Lease, next: &[NewJob]) -> Result<Option<Vec<Enqueued>>> {
        Ok(self.store.complete_job_and_enqueue(lease, next).await?)
    }
    async fn retry(&self, lease: &Lease, due_at: Timestamp, error: &str, now: Timestamp) -> Result<bool> {
        Ok(self.store.retry_job(lease, due_at, error, now).await?)
    }
    async fn dead_letter(&self, lease: &Lease, error: &str, now: Timestamp) -> Result<bool> {
        Ok(self.store.dead_letter_job(lease, error, now).await?)
    }
    async fn release(&self, lease: &Lease, now: Timestamp) -> Result<bool> {
        Ok(self.store.release_job(lease, now).await?)
    }
    async fn reap_expired(&self, now: Timestamp) -> Result<u64> {
        Ok(self.store.reap_expired_jobs(now).await?)
    }
    async fn next_due(&self) -> Result<Option<Timestamp>> {
        Ok(self.store.next_job_due().await?)
    }
    async fn wakeups(&self) -> Result<JobWakeups> {
        Ok(self.store.job_wakeups().await?)
    }
    async fn job(&self, id: JobId) -> Result<Option<Job>> {
        Ok(self.store.job(id).await?)
    }
    async fn job_by_key(&self, key: &str) -> Result<Option<Job>> {
        Ok(self.store.job_by_key(key).await?)
    }
    async fn dead_jobs(&self, limit: u32) -> Result<Vec<Job>> {
        Ok(self.store.dead_jobs(limit).await?)
    }
    async fn retry_dead(&self, id: JobId, now: Timestamp) -> Result<bool> {
        Ok(self.store.retry_dead_job(id, now).await?)
    }
    async fn cancel(&self, id: JobId) -> Result<Cancelled> {
        Ok(self.store.cancel_job(id).await?)
    }
    async fn cancel_by_key(&self, key: &str) -> Result<Cancelled> {
        Ok(self.store.cancel_job_by_key(key).await?)
    }
}
