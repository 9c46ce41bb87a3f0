//! `nanopost admin …`: operator tasks run against the database directly.

use crate::bootstrap;
use crate::cli::{
    BreachReportArgs, CreateUserArgs, MigrateMediaArgs, OperatorCommand, RightsRequestsCommand, RotateKeysArgs,
};
use crate::config::Config;
use anyhow::{Context, Result, bail};
use nanopost_domain::clock::SystemClock;
use nanopost_services::Services;
use nanopost_services::privacy::Keeper;
use std::io::BufRead;
use std::sync::Arc;

/// Environment variable read for the new user's password when --password-stdin is not given.
pub const PASSWORD_ENV: &str = "NANOPOST_ADMIN_PASSWORD";

pub async fn create_user(config: &Config, args: &CreateUserArgs) -> Result<()> {
    let password = read_password(args.password_stdin)?;
    let data_dir = config.data_dir();
    bootstrap::prepare_data_dir(&data_dir)?;
    let secret_key = bootstrap::load_or_create_secret_key(&data_dir)?;
    let store = bootstrap::open_store(config, true).await?;
    let public_url = config.public_url_for(config.listen_addr());
    let created =
        match Services::new(store.clone(), Arc::new(SystemClock), config.service_config(&public_url, secret_key)) {
            Ok(services) => {
                services.create_user_admin(&args.email, &password, &args.name, args.workspace.as_deref()).await
            }
            Err(e) => Err(e),
        };
    store.close().await;
    let user = created.map_err(|e| anyhow::anyhow!("cannot create the user: {e}"))?;
    println!(
        "Created user {} ({}), e-mail verified, with a workspace they own; they can sign in at {public_url}",
        user.email, user.id
    );
    Ok(())
}

/// The first line of standard input, or the environment variable; never a flag (argv is
/// visible to every user of the machine).
fn read_password(from_stdin: bool) -> Result<String> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("cannot read the password from standard input")?;
        line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(&line).to_string()
    } else {
        match std::env::var(PASSWORD_ENV) {
            Ok(p) => p,
            Err(_) => bail!("no password given: pipe it to --password-stdin or set {PASSWORD_ENV}"),
        }
    };
    if password.is_empty() {
        bail!("the password is empty");
    }
    Ok(password)
}

/// Services over the configured database, for the operator commands below.
async fn operator_services(config: &Config) -> Result<(nanopost_storage::Store, Services)> {
    let data_dir = config.data_dir();
    bootstrap::prepare_data_dir(&data_dir)?;
    let secret_key = bootstrap::load_or_create_secret_key(&data_dir)?;
    let store = bootstrap::open_store(config, true).await?;
    let public_url = config.public_url_for(config.listen_addr());
    let services = Services::new(store.clone(), Arc::new(SystemClock), config.service_config(&public_url, secret_key))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((store, services))
}

/// `admin breach-report --data-class …`: who to notify, one line each, tab-separated.
pub async fn breach_report(config: &Config, args: &BreachReportArgs) -> Result<()> {
    use nanopost_storage::inventory::DataClass;
    let Some(class) = DataClass::parse(args.data_class.trim()) else {
        let known: Vec<_> = DataClass::ALL.iter().map(|c| c.as_str()).collect();
        bail!("unknown data class {:?}; use one of: {}", args.data_class, known.join(", "));
    };
    let (store, services) = operator_services(config).await?;
    let report = services.breach_report(class).await;
    store.close().await;
    let report = report.map_err(|e| anyhow::anyhow!("cannot build the report: {e}"))?;
    let tables: Vec<_> = nanopost_storage::inventory::tables_with(class).map(|t| t.name).collect();
    println!("# Breach report for data class {}", class.as_str());
    println!("# Tables holding it: {}", if tables.is_empty() { "none".into() } else { tables.join(", ") });
    println!("# {} people, {} workspaces", report.people.len(), report.workspaces.len());
    println!("# person\temail\tname\tworkspaces (id:role)");
    for p in &report.people {
        let ws: Vec<_> = p.workspaces.iter().map(|(id, _, role)| format!("{id}:{role}")).collect();
        println!("person\t{}\t{}\t{}", p.email.as_str(), p.display_name, ws.join(","));
    }
    println!("# workspace\tid\tname\towner addresses");
    for w in &report.workspaces {
        let owners: Vec<_> = w.owners.iter().map(|o| o.as_str()).collect();
        println!("workspace\t{}\t{}\t{}", w.workspace_id, w.name, owners.join(","));
    }
    Ok(())
}

/// `admin rights-requests …`: the register of data-subject requests.
pub async fn rights_requests(config: &Config, command: &RightsRequestsCommand) -> Result<()> {
    let (store, services) = operator_services(config).await?;
    let result = run_rights_command(&services, command).await;
    store.close().await;
    result
}

async fn run_rights_command(services: &Services, command: &RightsRequestsCommand) -> Result<()> {
    let parse_id = |id: &str| id.trim().parse::<uuid::Uuid>().with_context(|| format!("{id:?} is not a request id"));
    let fail = |e: nanopost_services::ServiceError| anyhow::anyhow!("{e}");
    match command {
        RightsRequestsCommand::Due { within_days } => {
            let due = services
                .rights_requests_due(jiff::SignedDuration::from_hours(24 * i64::from(*within_days)))
                .await
                .map_err(fail)?;
            println!("# {} open request(s) due within {within_days} days", due.len());
            println!("# id\tkind\temail\treceived\tdue\tstatus\tverified by");
            for r in due {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    r.id,
                    r.kind.as_str(),
                    r.subject_email.as_str(),
                    r.received_at.strftime("%Y-%m-%d"),
                    r.due_at.strftime("%Y-%m-%d"),
                    r.status.as_str(),
                    r.verification.as_deref().unwrap_or("-")
                );
            }
        }
        RightsRequestsCommand::Record { kind, email } => {
            let kind: nanopost_storage::RightKind = kind.parse().map_err(|e: String| anyhow::anyhow!(e))?;
            let r = services.record_rights_request(Keeper::CommandLine, kind, email).await.map_err(fail)?;
            println!(
                "Recorded {} request {} from {}, due {}",
                kind.as_str(),
                r.id,
                r.subject_email.as_str(),
                r.due_at.strftime("%Y-%m-%d")
            );
        }
        RightsRequestsCommand::Verify { id, how } => {
            let r = services.verify_rights_request(Keeper::CommandLine, parse_id(id)?, how).await.map_err(fail)?;
            println!("Request {} verified", r.id);
        }
        RightsRequestsCommand::Close { id, outcome, refused } => {
            let r = services
                .close_rights_request(Keeper::CommandLine, parse_id(id)?, !refused, outcome)
                .await
                .map_err(fail)?;
            println!("Request {} {}", r.id, r.status.as_str());
        }
    }
    Ok(())
}

/// `admin operator grant|revoke|list`: who operates this installation.
pub async fn operator(config: &Config, command: &OperatorCommand) -> Result<()> {
    let (store, services) = operator_services(config).await?;
    let result = run_operator_command(&services, command).await;
    store.close().await;
    result
}

async fn run_operator_command(services: &Services, command: &OperatorCommand) -> Result<()> {
    let fail = |e: nanopost_services::ServiceError| anyhow::anyhow!("{e}");
    match command {
        OperatorCommand::Grant { email } => {
            let changed = services.grant_operator(email).await.map_err(fail)?;
            let email = email.trim();
            if changed {
                println!("{email} is now an operator: they see /operator/rights-requests once signed in");
            } else {
                println!("{email} was already an operator");
            }
        }
        OperatorCommand::Revoke { email } => {
            let changed = services.revoke_operator(email).await.map_err(fail)?;
            let email = email.trim();
            println!("{email} {}", if changed { "is no longer an operator" } else { "was not an operator" });
        }
        OperatorCommand::List => {
            let all = services.operators().await.map_err(fail)?;
            println!("# {} operator(s)", all.len());
            println!("# email\tname\tgranted");
            for o in all {
                println!("{}\t{}\t{}", o.email.as_str(), o.display_name, o.granted_at.strftime("%Y-%m-%d"));
            }
        }
    }
    Ok(())
}

/// `admin rotate-keys`: re-seals every connected account's tokens under the sealing key, in
/// batches, with the vault's own rotation (the one the platforms tests exercise).
pub async fn rotate_keys(config: &Config, args: &RotateKeysArgs) -> Result<()> {
    let data_dir = config.data_dir();
    bootstrap::prepare_data_dir(&data_dir)?;
    let secret_key = bootstrap::load_or_create_secret_key(&data_dir)?;
    let store = bootstrap::open_store(config, true).await?;
    let public_url = config.public_url_for(config.listen_addr());
    let result = match crate::networks::vault(config, store.clone(), &secret_key, &public_url) {
        Ok(vault) => reseal_all(&vault, args.batch).await,
        Err(e) => Err((0, e)),
    };
    store.close().await;
    match result {
        Ok((moved, key_id)) => {
            println!("Re-encrypted {moved} connected account(s); every stored token is now sealed with key {key_id}");
            Ok(())
        }
        Err((moved, e)) => {
            bail!("key rotation stopped after re-encrypting {moved} connected account(s): {e:#}")
        }
    }
}

/// Runs `rotate_keys` until a round moves nothing; the count so far travels with a failure.
async fn reseal_all(
    vault: &nanopost_platforms::vault::Vault,
    batch: u32,
) -> std::result::Result<(usize, String), (usize, anyhow::Error)> {
    let mut moved = 0;
    loop {
        match vault.rotate_keys(batch, jiff::Timestamp::now()).await {
            Ok(0) => return Ok((moved, vault.keys().current_key_id().to_owned())),
            Ok(n) => moved += n,
            Err(e) => return Err((moved, e.into())),
        }
    }
}

/// `admin migrate-media`: disk to S3, each copy checked by its digest (see `migrate_media`).
pub async fn migrate_media(config: &Config, args: &MigrateMediaArgs) -> Result<()> {
    crate::migrate_media::run(config, args).await
}
