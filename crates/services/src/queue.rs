//! How use cases hand work to the job engine.
//!
//! On SQLite and PostgreSQL the queue is the database itself, so a job is written in the same
//! transaction as the change that causes it. With Redis it cannot be: the change commits first
//! and the job follows; if the process dies in between, the periodic sweeps (publishing, for
//! example) find the change without its job and enqueue it again, so nothing is lost.

use crate::Services;
use crate::error::{Result, ServiceError};
use nanopost_jobs::{AnyQueue, Enqueued, JobQueue, NewJob};
use std::sync::Arc;

impl Services {
    /// The same services with jobs going to `queue` (Redis, when configured). Call once at
    /// start-up, before the services are shared.
    pub fn with_queue(self, queue: AnyQueue) -> Self {
        let Ok(mut inner) = Arc::try_unwrap(self.inner) else {
            panic!("Services::with_queue is called at start-up, before the services are shared");
        };
        inner.queue = queue;
        Self { inner: Arc::new(inner) }
    }

    pub fn queue(&self) -> &AnyQueue {
        &self.inner.queue
    }

    /// Whether jobs can be written in the same transaction as a database change.
    pub(crate) fn queue_is_transactional(&self) -> bool {
        matches!(self.inner.queue, AnyQueue::Sql(_))
    }

    /// Enqueues jobs on their own (duplicates by unique key are skipped).
    pub(crate) async fn enqueue(&self, jobs: &[NewJob]) -> Result<Vec<Enqueued>> {
        if jobs.is_empty() {
            return Ok(vec![]);
        }
        self.inner.queue.enqueue_many(jobs).await.map_err(|e| ServiceError::Internal(format!("job queue: {e}")))
    }
}
