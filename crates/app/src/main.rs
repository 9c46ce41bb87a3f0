//! `nanopost`: the one binary. See `nanopost --help`.

mod admin;
mod ai;
mod bootstrap;
mod cli;
mod config;
mod config_audit;
mod demo;
mod email;
mod migrate_media;
mod networks;
mod serve;
mod shutdown;
mod telegram;
mod worker;

use clap::Parser;
use cli::{AdminCommand, Cli, Command, ConfigCommand, ServeArgs};
use config::{Config, LogFormat};
use std::process::ExitCode;
use std::time::Duration;

/// Exit status for a configuration error (clap uses the same for a usage error).
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match config::load(cli.global.config.as_deref(), std::env::vars(), &cli.overrides()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if let Some(Command::Config { command: ConfigCommand::Check }) = &cli.command {
        println!("# Effective configuration (defaults < file < NANOPOST_ environment < flags); secrets shown as ***.");
        print!("{}", config.to_redacted_toml());
        return ExitCode::SUCCESS;
    }
    init_logging(&config);

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli.command, &config));
    runtime.shutdown_timeout(Duration::from_secs(5));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // In JSON mode the log collector gets it too; in text mode once is enough.
            if config.log_format == LogFormat::Json {
                tracing::error!(error = %format!("{e:#}"), "stopped with an error");
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Option<Command>, config: &Config) -> anyhow::Result<()> {
    match command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => {
            let opts = serve::ServeOptions {
                migrate: !args.no_migrate,
                workers: config.workers.enabled && !args.no_workers,
                demo: false,
            };
            serve::serve(config, opts).await
        }
        Command::Worker(args) => serve::worker(config, !args.no_migrate).await,
        Command::Demo(args) => demo::demo(config, &args).await,
        Command::Migrate => {
            let store = bootstrap::open_store(config, true).await?;
            store.close().await;
            println!("Database migrated: {}", config.database_url());
            Ok(())
        }
        Command::Admin { command: AdminCommand::CreateUser(args) } => admin::create_user(config, &args).await,
        Command::Admin { command: AdminCommand::BreachReport(args) } => admin::breach_report(config, &args).await,
        Command::Admin { command: AdminCommand::RightsRequests { command } } => {
            admin::rights_requests(config, &command).await
        }
        Command::Admin { command: AdminCommand::RotateKeys(args) } => admin::rotate_keys(config, &args).await,
        Command::Admin { command: AdminCommand::MigrateMedia(args) } => admin::migrate_media(config, &args).await,
        Command::Admin { command: AdminCommand::Operator { command } } => admin::operator(config, &command).await,
        Command::Config { command: ConfigCommand::Check } => unreachable!("handled before start-up"),
    }
}

/// Logs go to standard error; standard output carries only what a command prints for people.
fn init_logging(config: &Config) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::builder().parse_lossy(&config.log);
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder.json().with_ansi(false).init(),
    }
}
