//! `serve` (web app, JSON API and in-process workers) and `worker` (workers only).

use crate::bootstrap;
use crate::config::Config;
use crate::shutdown::Shutdown;
use crate::worker;
use anyhow::{Context, Result};
use nanopost_domain::clock::SystemClock;
use nanopost_services::Services;
use nanopost_services::publishing::Publishing;
use nanopost_web::WebConfig;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// How long in-flight requests may take to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// How long the workers may take to finish their current run after a shutdown signal.
pub const WORKER_GRACE: Duration = Duration::from_secs(30);

pub struct ServeOptions {
    pub migrate: bool,
    pub workers: bool,
    /// `nanopost demo`: the demo's own pages (its mailbox) are served too.
    pub demo: bool,
}

pub async fn serve(config: &Config, opts: ServeOptions) -> Result<()> {
    let shutdown = Shutdown::new();
    shutdown.listen_for_signals().context("cannot install the signal handlers")?;

    let data_dir = config.data_dir();
    bootstrap::prepare_data_dir(&data_dir)?;
    let secret_key = bootstrap::load_or_create_secret_key(&data_dir)?;
    bootstrap::check_media(config).await?;
    // Built (and so checked) before anything else starts; the generation use cases get them
    // through `Services::with_ai`.
    let ai = crate::ai::providers(config)?;
    let store = bootstrap::open_store(config, opts.migrate).await?;
    if !opts.migrate && !store.is_ready().await {
        tracing::warn!("the database is not migrated; /readyz answers 503 until `nanopost migrate` has run");
    }

    let addr = config.listen_addr();
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            store.close().await;
            return Err(e).with_context(|| {
                format!("cannot listen on {addr} (is another program using it? choose another address with --listen)")
            });
        }
    };
    let bound = listener.local_addr().context("cannot read the listening address")?;
    let public_url = config.public_url_for(bound);

    // Opened even without in-process workers: requests enqueue jobs (a scheduled post's).
    let queue = match worker::open_queue(config, &store).await {
        Ok(q) => q,
        Err(e) => {
            store.close().await;
            return Err(e);
        }
    };
    let services = match Services::new(
        store.clone(),
        Arc::new(SystemClock),
        config.service_config(&public_url, secret_key.clone()),
    ) {
        Ok(s) => crate::telegram::attach(s.with_queue(queue.clone()).with_ai(ai.clone()), config),
        Err(e) => {
            store.close().await;
            anyhow::bail!("cannot start the services: {e}");
        }
    };
    crate::config_audit::record(&services, config, &secret_key, "serve").await;
    let accounts = match crate::networks::accounts(config, &services, &secret_key, &public_url) {
        Ok(a) => a,
        Err(e) => {
            store.close().await;
            return Err(e);
        }
    };
    let publishing = Publishing::new(&accounts);
    let refresh = opts.workers.then(|| crate::networks::spawn_refresh(accounts.clone(), shutdown.clone()));
    // Telegram: the webhook is registered by the process serving it; polling runs with the workers.
    let telegram = (opts.workers || config.telegram.mode == crate::config::TelegramMode::Webhook)
        .then(|| crate::telegram::spawn(&services, config, &public_url, shutdown.clone()))
        .flatten();
    let web = WebConfig { public_url: public_url.clone(), max_body_bytes: config.limits.max_body_bytes };
    let app = if opts.demo {
        nanopost_web::demo_router(services.clone(), web, Some(accounts))
    } else {
        nanopost_web::router_with_accounts(services.clone(), web, Some(accounts))
    };

    let workers = if opts.workers {
        Some(worker::spawn(services.clone(), publishing, queue, config.workers.runtime(), shutdown.clone()))
    } else {
        tracing::info!("in-process workers are disabled");
        None
    };

    let server = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown.wait());
    let mut server = tokio::spawn(async move { server.await });

    tracing::info!(listen = %bound, url = %public_url, "Nanopost is running");
    crate::email::log_status(config);
    if opts.demo {
        println!("Demo mailbox (the e-mail the demo would send): {public_url}/demo/mailbox");
    }
    println!("Nanopost is running: open {public_url}");

    let grace = {
        let s = shutdown.clone();
        async move {
            s.wait().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        }
    };
    let served = tokio::select! {
        r = &mut server => r,
        _ = grace => {
            tracing::warn!(secs = SHUTDOWN_GRACE.as_secs(), "requests still running after the grace period; closing them");
            server.abort();
            Ok(Ok(()))
        }
    };
    // The server may also have stopped on its own (an error): stop the rest either way.
    shutdown.trigger();
    finish_workers(workers).await;
    if let Some(t) = telegram {
        let _ = t.await;
    }
    if let Some(r) = refresh {
        let _ = r.await;
    }
    store.close().await;
    tracing::info!("stopped");
    match served {
        Ok(r) => r.context("the HTTP server failed"),
        Err(e) => Err(e).context("the HTTP server task failed"),
    }
}

/// `nanopost worker`: the workers alone, until a signal.
pub async fn worker(config: &Config, migrate: bool) -> Result<()> {
    let shutdown = Shutdown::new();
    shutdown.listen_for_signals().context("cannot install the signal handlers")?;
    let data_dir = config.data_dir();
    bootstrap::prepare_data_dir(&data_dir)?;
    let secret_key = bootstrap::load_or_create_secret_key(&data_dir)?;
    bootstrap::check_media(config).await?;
    let ai = crate::ai::providers(config)?;
    let store = bootstrap::open_store(config, migrate).await?;
    let public_url = config.public_url_for(config.listen_addr());
    let queue = match worker::open_queue(config, &store).await {
        Ok(q) => q,
        Err(e) => {
            store.close().await;
            return Err(e);
        }
    };
    let services = match Services::new(
        store.clone(),
        Arc::new(SystemClock),
        config.service_config(&public_url, secret_key.clone()),
    ) {
        Ok(s) => crate::telegram::attach(s.with_queue(queue.clone()).with_ai(ai.clone()), config),
        Err(e) => {
            store.close().await;
            anyhow::bail!("cannot start the services: {e}");
        }
    };
    crate::config_audit::record(&services, config, &secret_key, "worker").await;
    let accounts = match crate::networks::accounts(config, &services, &secret_key, &public_url) {
        Ok(a) => a,
        Err(e) => {
            store.close().await;
            return Err(e);
        }
    };
    let publishing = Publishing::new(&accounts);
    let refresh = crate::networks::spawn_refresh(accounts, shutdown.clone());
    let telegram = match config.telegram.mode {
        crate::config::TelegramMode::Polling => {
            crate::telegram::spawn(&services, config, &public_url, shutdown.clone())
        }
        crate::config::TelegramMode::Webhook => None,
    };
    let handle = worker::spawn(services, publishing, queue, config.workers.runtime(), shutdown.clone());
    crate::email::log_status(config);
    println!("Nanopost worker is running (stop it with Ctrl-C or SIGTERM)");
    shutdown.wait().await;
    finish_workers(Some(handle)).await;
    let _ = refresh.await;
    if let Some(t) = telegram {
        let _ = t.await;
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn finish_workers(handle: Option<tokio::task::JoinHandle<()>>) {
    let Some(mut handle) = handle else { return };
    match tokio::time::timeout(WORKER_GRACE, &mut handle).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "a worker panicked"),
        Err(_) => {
            tracing::warn!(secs = WORKER_GRACE.as_secs(), "workers did not stop in time; abandoning them");
            handle.abort();
        }
    }
}
