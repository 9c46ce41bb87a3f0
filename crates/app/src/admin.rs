//! `nanopost admin …`: operator tasks run against the database directly.

use crate::bootstrap;
use crate::cli::CreateUserArgs;
use crate::config::Config;
use anyhow::{Context, Result, bail};
use nanopost_domain::clock::SystemClock;
use nanopost_services::Services;
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
