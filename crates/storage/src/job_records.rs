//! The durable job queue's values, shared by both SQL repositories (and by the Redis queue in
//! `nanopost-jobs`, which stores the same model).
//!
//! A job belongs to a *lane*: its workspace, or the system lane for work that belongs to no
//! workspace. Claims serve lanes in turn, so one workspace with a large backlog cannot starve
//! another (fair sharing); inside a lane, jobs run by due time, then priority.

use jiff::Timestamp;
use nanopost_domain::ids::WorkspaceId;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, LazyLock, Mutex};
use tokio::sync::watch;
use uuid::Uuid;

/// A job's identifier (UUIDv7, so ids sort by creation time).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(Uuid);

impl JobId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
    pub const fn from_uuid(u: Uuid) -> Self {
        Self(u)
    }
    pub const fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl Default for JobId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JobId({})", self.0)
    }
}

impl FromStr for JobId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// Bounds applied by [`NewJob`]'s builder.
pub const MAX_PRIORITY: i16 = 1000;
pub const MIN_PRIORITY: i16 = -1000;
pub const MAX_ATTEMPTS_LIMIT: u32 = 1000;
pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;

/// The lane of jobs that belong to no workspace.
pub const SYSTEM_LANE: Uuid = Uuid::nil();

/// A job to enqueue. Built with [`NewJob::new`] and the builder methods.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub id: JobId,
    /// The workspace the work is for (its fairness lane); `None` for system work.
    pub workspace_id: Option<WorkspaceId>,
    pub kind: String,
    pub payload: serde_json::Value,
    /// Not claimed before this instant.
    pub due_at: Timestamp,
    /// Among jobs of a lane due at the same instant, higher runs first.
    pub priority: i16,
    pub max_attempts: u32,
    /// At most one job with this key exists at a time (ready, running or dead); enqueueing
    /// another returns the existing one.
    pub unique_key: Option<String>,
    pub created_at: Timestamp,
}

impl NewJob {
    /// A job of `kind`, due now, priority 0, [`DEFAULT_MAX_ATTEMPTS`], no unique key.
    pub fn new(kind: impl Into<String>, payload: serde_json::Value, now: Timestamp) -> Self {
        Self {
            id: JobId::new(),
            workspace_id: None,
            kind: kind.into(),
            payload,
            due_at: now,
            priority: 0,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            unique_key: None,
            created_at: now,
        }
    }
    pub fn due_at(mut self, at: Timestamp) -> Self {
        self.due_at = at;
        self
    }
    pub fn workspace(mut self, ws: WorkspaceId) -> Self {
        self.workspace_id = Some(ws);
        self
    }
    /// Clamped to `MIN_PRIORITY..=MAX_PRIORITY`.
    pub fn priority(mut self, p: i16) -> Self {
        self.priority = p.clamp(MIN_PRIORITY, MAX_PRIORITY);
        self
    }
    /// Clamped to `1..=MAX_ATTEMPTS_LIMIT`.
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.clamp(1, MAX_ATTEMPTS_LIMIT);
        self
    }
    pub fn unique_key(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }
    pub fn lane(&self) -> Uuid {
        lane_of(self.workspace_id)
    }
}

pub fn lane_of(ws: Option<WorkspaceId>) -> Uuid {
    ws.map_or(SYSTEM_LANE, |w| w.as_uuid())
}

pub fn workspace_of_lane(lane: Uuid) -> Option<WorkspaceId> {
    (lane != SYSTEM_LANE).then(|| WorkspaceId::from_uuid(lane))
}

/// What an enqueue did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    New(JobId),
    /// A job with the same unique key already exists; nothing was added.
    Duplicate(JobId),
}

impl Enqueued {
    pub fn id(self) -> JobId {
        match self {
            Enqueued::New(id) | Enqueued::Duplicate(id) => id,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    /// Waiting for its due time or for a worker.
    Ready,
    /// Claimed by a worker that holds the lease.
    Running,
    /// Gave up after the attempt limit (or a permanent error); kept with its last error.
    Dead,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Ready => "ready",
            JobState::Running => "running",
            JobState::Dead => "dead",
        }
    }
}

impl FromStr for JobState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ready" => Ok(JobState::Ready),
            "running" => Ok(JobState::Running),
            "dead" => Ok(JobState::Dead),
            other => Err(format!("unknown job state {other:?}")),
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The right to work on a claimed job until `until`. Every later write about the job names the
/// token, so a worker whose lease expired (and whose job went to someone else) cannot touch it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    pub job: JobId,
    pub token: Uuid,
    pub until: Timestamp,
}

/// A stored job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub workspace_id: Option<WorkspaceId>,
    pub kind: String,
    pub payload: serde_json::Value,
    pub state: JobState,
    pub due_at: Timestamp,
    pub priority: i16,
    /// Claims so far, including the current one while running.
    pub attempts: u32,
    pub max_attempts: u32,
    pub unique_key: Option<String>,
    /// Present while running.
    pub lease: Option<Lease>,
    /// A cancellation arrived while the job was running: it is removed instead of retried.
    pub cancel_requested: bool,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
}

/// A claim request: up to `limit` due jobs, leased until `lease_until`.
#[derive(Debug, Clone, Copy)]
pub struct Claim {
    pub now: Timestamp,
    pub lease_until: Timestamp,
    pub limit: u32,
}

/// What a heartbeat learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heartbeat {
    /// The lease now lasts until the requested instant.
    Extended,
    /// Extended, but someone asked to cancel the job: stop and report.
    CancelRequested,
    /// The lease is gone (it expired and was reaped or re-claimed): stop without writing.
    Lost,
}

/// What [`cancel`](crate::Store::cancel_job) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancelled {
    /// The job was waiting (or dead) and is gone.
    Removed,
    /// The job is running: it is flagged, its worker learns at the next heartbeat, and it is
    /// removed instead of retried.
    Requested,
    NotFound,
}

/// Wake-up hints: the version moves whenever a job becomes ready somewhere (an enqueue, a retry
/// or a release). Hints only; a scheduler still polls, more slowly, as a safety net.
#[derive(Debug, Clone)]
pub struct JobWakeups {
    rx: watch::Receiver<u64>,
}

impl JobWakeups {
    pub fn new(rx: watch::Receiver<u64>) -> Self {
        Self { rx }
    }
    /// Marks the current version seen.
    pub fn mark_seen(&mut self) {
        self.rx.mark_unchanged();
    }
    /// Resolves at the next change after the last seen one; never resolves if the source is
    /// gone (the poll still runs).
    pub async fn changed(&mut self) {
        if self.rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// One wake-up channel per SQLite database file in this process: SQLite has no LISTEN, and all
/// writers of an embedded database live in this process.
static SQLITE_WAKERS: LazyLock<Mutex<HashMap<String, watch::Sender<u64>>>> = LazyLock::new(Default::default);

pub(crate) fn sqlite_waker(file: &str) -> watch::Sender<u64> {
    let mut map = SQLITE_WAKERS.lock().unwrap_or_else(|p| p.into_inner());
    map.entry(file.to_owned()).or_insert_with(|| watch::Sender::new(0)).clone()
}

/// One write lock per SQLite database file in this process. SQLite has one writer at a time;
/// queuing job writers here instead of in SQLite's busy handler (which sleeps in steps of
/// milliseconds) keeps claims and completions from stalling each other.
static SQLITE_WRITE_LOCKS: LazyLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> =
    LazyLock::new(Default::default);

pub(crate) fn sqlite_write_lock(file: &str) -> Arc<tokio::sync::Mutex<()>> {
    let mut map = SQLITE_WRITE_LOCKS.lock().unwrap_or_else(|p| p.into_inner());
    map.entry(file.to_owned()).or_default().clone()
}

/// The PostgreSQL channel jobs are announced on (in the enqueueing transaction).
pub const PG_JOBS_CHANNEL: &str = "nanopost_jobs";
