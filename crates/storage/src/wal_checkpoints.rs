//! SQLite's WAL checkpoints, taken beside the writer instead of inside its commits.
//!
//! By default the connection whose commit makes the WAL pass 1,000 pages copies them into the
//! database file and syncs it, there and then: every few hundred job claims, one of them waited
//! for a checkpoint and two fsyncs. Here a background task checkpoints from a reading
//! connection (PASSIVE: it waits for nobody and nobody waits for it) soon after writes, so the
//! writer only appends to the WAL; the writer's own automatic checkpoint stays as a safety net
//! at [`WRITER_AUTOCHECKPOINT_PAGES`], for when the task falls behind.

use std::sync::Arc;
use std::time::Duration;

/// The writer checkpoints by itself only past this many WAL pages (about 40 MB): the task
/// normally keeps the WAL far below.
pub(crate) const WRITER_AUTOCHECKPOINT_PAGES: u32 = 10_000;
/// A WAL grown past this is cut back to it after a checkpoint (SQLite's `journal_size_limit`).
pub(crate) const WAL_SIZE_LIMIT_BYTES: u64 = 64 * 1024 * 1024;
/// How soon after new WAL pages the task checkpoints them.
const BUSY_INTERVAL: Duration = Duration::from_millis(50);
/// How often it looks while nothing is written.
const IDLE_INTERVAL: Duration = Duration::from_secs(1);

/// Stops the task when the last clone of the repository goes.
#[derive(Debug)]
pub(crate) struct Checkpoints(tokio::task::AbortHandle);

impl Drop for Checkpoints {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts checkpointing `pool`'s database in the background.
pub(crate) fn spawn(pool: sqlx::SqlitePool) -> Arc<Checkpoints> {
    let task = tokio::spawn(async move {
        let mut last_frames = 0_i64;
        loop {
            // (busy, pages in the WAL, pages checkpointed); the WAL restarts from its start at
            // the first write after everything in it was checkpointed.
            let frames =
                match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&pool).await {
                    Ok((_, frames, _)) => frames,
                    Err(sqlx::Error::PoolClosed) => break,
                    Err(e) => {
                        tracing::debug!(error = %e, "WAL checkpoint failed; the writer's own checkpoint covers it");
                        -1
                    }
                };
            let pause = if frames != last_frames { BUSY_INTERVAL } else { IDLE_INTERVAL };
            last_frames = frames;
            tokio::time::sleep(pause).await;
        }
    });
    Arc::new(Checkpoints(task.abort_handle()))
}
