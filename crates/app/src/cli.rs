//! The command line. `nanopost` alone means `nanopost serve`.

use crate::config::{LogFormat, Overrides, WorkersOverride};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Nanopost: a self-hostable AI social-media manager.
///
/// With no subcommand, runs `serve`. Configuration comes from built-in defaults, then the TOML
/// file given with --config, then NANOPOST_… environment variables, then the flags below.
#[derive(Debug, Parser)]
#[command(name = "nanopost", version, about, long_about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Default, Args)]
pub struct GlobalArgs {
    /// TOML configuration file (unknown keys are an error).
    #[arg(long, global = true, env = "NANOPOST_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Data directory: embedded database, secret key [default: ./nanopost-data].
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<String>,

    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, global = true, value_name = "ADDR")]
    pub listen: Option<String>,

    /// URL people use to reach this installation [default: http://<listen>].
    #[arg(long, global = true, value_name = "URL")]
    pub public_url: Option<String>,

    /// Log filter, e.g. "info" or "info,nanopost_web=debug" [default: info].
    #[arg(long, global = true, value_name = "FILTER")]
    pub log: Option<String>,

    /// Log format [default: text].
    #[arg(long, global = true, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web app and JSON API, with the background workers in the same process (default).
    Serve(ServeArgs),
    /// Run the background workers only (housekeeping for now), until SIGTERM or Ctrl-C.
    Worker(WorkerArgs),
    /// Try Nanopost with no internet: local fakes of Instagram, LinkedIn and TikTok on loopback,
    /// registered as the networks' apps, and a demo workspace, user and brand; then `serve`.
    Demo(DemoArgs),
    /// Apply the embedded database migrations, then exit.
    Migrate,
    /// Administrative tasks.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Default, Clone, Args)]
pub struct ServeArgs {
    /// Do not run the background workers in this process (same as workers.enabled = false).
    #[arg(long)]
    pub no_workers: bool,

    /// Do not apply migrations at start-up (run `nanopost migrate` yourself; /readyz answers
    /// 503 until the database is migrated).
    #[arg(long)]
    pub no_migrate: bool,
}

#[derive(Debug, Default, Clone, Args)]
pub struct DemoArgs {
    /// Keep the demo's data in the configured data directory (default: a new directory under
    /// the system's temporary directory, so the demo never touches a real installation).
    #[arg(long)]
    pub in_data_dir: bool,
}

#[derive(Debug, Default, Clone, Args)]
pub struct WorkerArgs {
    /// Do not apply migrations at start-up.
    #[arg(long)]
    pub no_migrate: bool,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a user whose e-mail is already verified, with a workspace they own.
    ///
    /// The password is read from standard input (--password-stdin) or from the environment
    /// variable NANOPOST_ADMIN_PASSWORD, never from the command line.
    CreateUser(CreateUserArgs),
    /// List the people and workspaces a breach of one data class concerns, with the addresses
    /// to notify (data classes: account, brand_content, connected_account_tokens,
    /// audience_commenter, collected_public_posts, billing, usage, logs).
    BreachReport(BreachReportArgs),
    /// The register of data-subject requests (access, rectification, deletion, portability,
    /// objection, restriction): what is due, and recording each step.
    RightsRequests {
        #[command(subcommand)]
        command: RightsRequestsCommand,
    },
    /// Re-encrypt every stored network token under the sealing key (secrets.sealing_key_id);
    /// afterwards the old keys can be removed from secrets.token_keys.
    RotateKeys(RotateKeysArgs),
    /// Copy every media file from the disk store to the bucket of [media.s3], checking each
    /// copy's SHA-256 by reading it back. Safe to run again: files already there with the right
    /// digest are skipped. Afterwards set media.store = "s3".
    MigrateMedia(MigrateMediaArgs),
    /// Instance operators: people who see the register of data-subject requests and the
    /// instance's audit entries at /operator/rights-requests (grant, revoke, list).
    Operator {
        #[command(subcommand)]
        command: OperatorCommand,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum OperatorCommand {
    /// Make the account with this address an operator.
    Grant { email: String },
    /// Take the operator right from the account with this address (at once).
    Revoke { email: String },
    /// List the operators.
    List,
}

#[derive(Debug, Clone, Args)]
pub struct MigrateMediaArgs {
    /// How many media rows to read per round.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub batch: u32,
}

#[derive(Debug, Clone, Args)]
pub struct RotateKeysArgs {
    /// How many accounts to re-encrypt per round.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub batch: u32,
}

#[derive(Debug, Clone, Args)]
pub struct BreachReportArgs {
    /// The data class the incident concerns.
    #[arg(long, value_name = "CLASS")]
    pub data_class: String,
}

#[derive(Debug, Clone, Subcommand)]
pub enum RightsRequestsCommand {
    /// Open requests due within the given number of days (overdue ones included), soonest first.
    Due {
        #[arg(long, default_value_t = 7)]
        within_days: u32,
    },
    /// Record a request received by e-mail, letter or phone; it is due in 30 days.
    Record {
        /// access, rectification, deletion, portability, objection or restriction.
        #[arg(long)]
        kind: String,
        /// The requester's e-mail address.
        #[arg(long)]
        email: String,
    },
    /// Note how the requester's identity was verified.
    Verify {
        #[arg(long)]
        id: String,
        /// E.g. "reply from the account's address".
        #[arg(long)]
        how: String,
    },
    /// Close a request with its outcome (completed, or --refused with the reason).
    Close {
        #[arg(long)]
        id: String,
        #[arg(long)]
        outcome: String,
        #[arg(long)]
        refused: bool,
    },
}

#[derive(Debug, Clone, Args)]
pub struct CreateUserArgs {
    /// E-mail address (the login).
    #[arg(long)]
    pub email: String,
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// Name of the workspace to create for the user [default: derived from the name].
    #[arg(long)]
    pub workspace: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check the configuration and print the effective values as TOML (secrets shown as ***).
    Check,
}

impl Cli {
    /// The configuration values given as flags.
    pub fn overrides(&self) -> Overrides {
        let g = &self.global;
        let no_workers = matches!(&self.command, Some(Command::Serve(ServeArgs { no_workers: true, .. })));
        Overrides {
            data_dir: g.data_dir.clone(),
            listen: g.listen.clone(),
            public_url: g.public_url.clone(),
            log: g.log.clone(),
            log_format: g.log_format,
            workers: no_workers.then_some(WorkersOverride { enabled: false }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_subcommand_means_serve_and_flags_go_anywhere() {
        let cli = Cli::try_parse_from(["nanopost", "--listen", "127.0.0.1:1"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.overrides().listen.as_deref(), Some("127.0.0.1:1"));
        let cli = Cli::try_parse_from(["nanopost", "serve", "--no-workers", "--data-dir", "/x"]).unwrap();
        let o = cli.overrides();
        assert_eq!(o.data_dir.as_deref(), Some("/x"));
        assert_eq!(o.workers, Some(WorkersOverride { enabled: false }));
    }

    #[test]
    fn password_is_not_a_flag() {
        let r = Cli::try_parse_from([
            "nanopost",
            "admin",
            "create-user",
            "--email",
            "a@b.c",
            "--name",
            "A",
            "--password",
            "x",
        ]);
        assert!(r.is_err());
    }
}
