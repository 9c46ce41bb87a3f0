//! The job engine.
//!
//! - [`JobQueue`]: one durable queue interface, implemented over the SQL store
//!   ([`SqlQueue`]: SQLite or PostgreSQL, where a job can be enqueued in the same transaction as
//!   the domain change that causes it) and over Redis ([`RedisQueue`]); [`AnyQueue`] picks one
//!   at run time.
//! - [`retry`]: exponential backoff with jitter, honouring a failure's "retry at".
//! - [`scheduler`]: when to look for work next (the next due job, woken early by enqueue
//!   notifications, with a polling safety net).
//! - [`runtime`]: N concurrent workers with leases, heartbeats and a graceful stop.
//!
//! The job model itself ([`NewJob`], [`Job`], [`Lease`], …) lives in `nanopost-storage`, so
//! that the SQL repositories can enqueue inside their own transactions; it is re-exported here.

mod any;
mod error;
mod queue;
mod redis_queue;
pub mod retry;
pub mod runtime;
pub mod scheduler;
mod sql;

pub use any::AnyQueue;
pub use error::{QueueError, Result};
pub use nanopost_storage::{
    Cancelled, Claim, Enqueued, Heartbeat, Job, JobId, JobState, JobWakeups, Lease, NewJob, SYSTEM_LANE,
};
pub use queue::JobQueue;
pub use redis_queue::RedisQueue;
pub use retry::{JobError, RetryPolicy};
pub use runtime::{Handlers, JobContext, JobResult, Runtime, RuntimeConfig};
pub use sql::SqlQueue;
