//! Background work. For now one loop: housekeeping (expired sessions and the like) once a
//! minute. `serve` runs it in-process; `nanopost worker` runs it alone.

use crate::shutdown::Shutdown;
use nanopost_services::Services;
use std::time::Duration;
use tokio::task::JoinHandle;

/// How often housekeeping runs.
pub const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(60);

/// Starts the worker loops; they stop at the next pause after `shutdown` triggers. A run that
/// already started is finished, never cut in the middle.
pub fn spawn(services: Services, shutdown: Shutdown) -> JoinHandle<()> {
    tokio::spawn(async move {
        tracing::info!(every_secs = HOUSEKEEPING_EVERY.as_secs(), "workers started");
        let mut tick = tokio::time::interval(HOUSEKEEPING_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let stop = shutdown.wait();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                biased;
                _ = &mut stop => break,
                _ = tick.tick() => {}
            }
            match services.housekeeping().await {
                Ok(0) => tracing::debug!("housekeeping: nothing to do"),
                Ok(n) => tracing::info!(removed = n, "housekeeping done"),
                Err(e) => tracing::warn!(error = %e, "housekeeping failed; will retry"),
            }
        }
        tracing::info!("workers stopped");
    })
}
