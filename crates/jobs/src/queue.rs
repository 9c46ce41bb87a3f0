//! The one queue interface every backend implements (and the conformance suite checks).

use crate::Result;
use jiff::Timestamp;
use nanopost_storage::{Cancelled, Claim, Enqueued, Heartbeat, Job, JobId, JobWakeups, Lease, NewJob};
use std::future::Future;

/// A durable job queue. Every write about a claimed job names its [`Lease`], so a worker that
/// lost its lease (it stalled and the job went to someone else) cannot change the job.
pub trait JobQueue: Clone + Send + Sync + 'static {
    /// Adds the jobs (a job whose unique key is taken is not added: [`Enqueued::Duplicate`]).
    fn enqueue_many(&self, jobs: &[NewJob]) -> impl Future<Output = Result<Vec<Enqueued>>> + Send;

    fn enqueue(&self, job: &NewJob) -> impl Future<Output = Result<Enqueued>> + Send {
        async move {
            let mut out = self.enqueue_many(std::slice::from_ref(job)).await?;
            out.pop().ok_or_else(|| crate::QueueError::Corrupt("enqueue returned nothing".into()))
        }
    }

    /// Leases up to `claim.limit` due jobs: workspaces in turn (fair sharing), then by due
    /// time and priority.
    fn claim(&self, claim: &Claim) -> impl Future<Output = Result<Vec<Job>>> + Send;

    /// Extends a lease to `until`.
    fn heartbeat(&self, lease: &Lease, until: Timestamp) -> impl Future<Output = Result<Heartbeat>> + Send;

    /// Saves progress of a running job (the payload the next attempt will see).
    fn checkpoint(&self, lease: &Lease, payload: &serde_json::Value) -> impl Future<Output = Result<bool>> + Send;

    /// Finishes jobs (they disappear); returns how many leases were still held.
    fn complete(&self, leases: &[Lease]) -> impl Future<Output = Result<u64>> + Send;

    /// Finishes the job and adds its follow-ups atomically. `None` if the lease is gone.
    fn complete_and_enqueue(
        &self,
        lease: &Lease,
        next: &[NewJob],
    ) -> impl Future<Output = Result<Option<Vec<Enqueued>>>> + Send;

    /// Back to the queue, due at `due_at`, keeping `error`. False if the lease is gone.
    fn retry(
        &self,
        lease: &Lease,
        due_at: Timestamp,
        error: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// To the dead letters with `error`. False if the lease is gone.
    fn dead_letter(&self, lease: &Lease, error: &str, now: Timestamp) -> impl Future<Output = Result<bool>> + Send;

    /// Hands a job back without counting the attempt (graceful stop). False if the lease is gone.
    fn release(&self, lease: &Lease, now: Timestamp) -> impl Future<Output = Result<bool>> + Send;

    /// Re-delivers jobs whose lease ran out (dead-letters those out of attempts).
    fn reap_expired(&self, now: Timestamp) -> impl Future<Output = Result<u64>> + Send;

    /// The earliest instant a job may be due (a lower bound), if any job is waiting.
    fn next_due(&self) -> impl Future<Output = Result<Option<Timestamp>>> + Send;

    /// Hints that jobs became ready (LISTEN/NOTIFY, an in-process channel, or pub/sub).
    fn wakeups(&self) -> impl Future<Output = Result<JobWakeups>> + Send;

    fn job(&self, id: JobId) -> impl Future<Output = Result<Option<Job>>> + Send;
    fn job_by_key(&self, key: &str) -> impl Future<Output = Result<Option<Job>>> + Send;
    /// Dead jobs, the most recent first.
    fn dead_jobs(&self, limit: u32) -> impl Future<Output = Result<Vec<Job>>> + Send;
    /// A dead job gets a fresh set of attempts, due now. False if it is not dead.
    fn retry_dead(&self, id: JobId, now: Timestamp) -> impl Future<Output = Result<bool>> + Send;
    fn cancel(&self, id: JobId) -> impl Future<Output = Result<Cancelled>> + Send;
    fn cancel_by_key(&self, key: &str) -> impl Future<Output = Result<Cancelled>> + Send;
}
