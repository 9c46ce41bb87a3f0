//! One shutdown signal for the whole process: the first SIGTERM or Ctrl-C (SIGINT) asks every
//! part to stop gracefully; a second one exits at once.

use tokio::sync::watch;

/// A cloneable handle: `trigger` once, `wait` anywhere.
#[derive(Clone)]
pub struct Shutdown {
    tx: watch::Sender<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    pub fn new() -> Self {
        Self { tx: watch::Sender::new(false) }
    }

    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    /// Resolves once [`Shutdown::trigger`] was called (at once if it already was).
    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.tx.subscribe();
        async move {
            // An error means the sender is gone, which also means: stop.
            let _ = rx.wait_for(|stop| *stop).await;
        }
    }

    /// Listens for SIGTERM and SIGINT: the first triggers a graceful shutdown, the second exits
    /// the process immediately.
    pub fn listen_for_signals(&self) -> std::io::Result<()> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let this = self.clone();
        tokio::spawn(async move {
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            tracing::info!(
                signal = name,
                "shutting down: finishing in-flight work (send the signal again to exit at once)"
            );
            this.trigger();
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            tracing::warn!(signal = name, "second signal: exiting without waiting");
            std::process::exit(130);
        });
        Ok(())
    }
}
