//! `admin create-user`.

use crate::harness::{Server, TempDir, nanopost, run};

fn create(dir: &TempDir, email: &str, stdin: Option<&str>, env_password: Option<&str>) -> crate::harness::Output {
    let mut cmd = nanopost(dir.path());
    cmd.args([
        "admin",
        "create-user",
        "--email",
        email,
        "--name",
        "Ada Lovelace",
        "--workspace",
        "Analytical",
        "--log",
        "warn",
    ]);
    if stdin.is_some() {
        cmd.arg("--password-stdin");
    }
    if let Some(p) = env_password {
        cmd.env("NANOPOST_ADMIN_PASSWORD", p);
    }
    run(&mut cmd, stdin)
}

#[test]
fn create_user_reads_the_password_from_stdin_or_the_environment() {
    let dir = TempDir::new("admin");
    let out = create(&dir, "ada@example.com", Some("correct horse battery staple\n"), None);
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.contains("Created user ada@example.com"), "{out:?}");
    assert!(!out.stdout.contains("correct horse"), "{out:?}");

    let out = create(&dir, "grace@example.com", None, Some("another long passphrase"));
    assert!(out.status.success(), "{out:?}");

    // The same address again: refused with a sentence.
    let out = create(&dir, "ada@example.com", Some("correct horse battery staple\n"), None);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(out.stderr.contains("error: cannot create the user"), "{out:?}");
}

#[test]
fn create_user_without_a_password_is_refused() {
    let dir = TempDir::new("nopass");
    let out = create(&dir, "ada@example.com", None, None);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(out.stderr.contains("no password given"), "{out:?}");
    assert!(out.stderr.contains("--password-stdin") && out.stderr.contains("NANOPOST_ADMIN_PASSWORD"), "{out:?}");
    let out = create(&dir, "ada@example.com", Some("\n"), None);
    assert!(out.stderr.contains("the password is empty"), "{out:?}");
}

fn admin(dir: &TempDir, args: &[&str]) -> crate::harness::Output {
    let mut cmd = nanopost(dir.path());
    cmd.arg("admin").args(args).args(["--log", "warn"]);
    run(&mut cmd, None)
}

#[test]
fn promise_breach_notify_report_lists_affected_users_and_workspaces_with_addresses() {
    let dir = TempDir::new("breach");
    assert!(create(&dir, "ada@example.com", Some("correct horse battery staple\n"), None).status.success());
    let out = admin(&dir, &["breach-report", "--data-class", "account"]);
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.contains("# Breach report for data class account"), "{out:?}");
    assert!(out.stdout.contains("person\tada@example.com\tAda Lovelace\t"), "{out:?}");
    assert!(out.stdout.contains("\tAnalytical\tada@example.com"), "{out:?}");
    assert!(!out.stdout.contains("erased-user@"), "the stand-in for erased authors is nobody to notify");

    let out = admin(&dir, &["breach-report", "--data-class", "secrets"]);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(out.stderr.contains("unknown data class") && out.stderr.contains("connected_account_tokens"), "{out:?}");
}

#[test]
fn rights_requests_are_recorded_verified_closed_and_listed_when_due() {
    let dir = TempDir::new("rights");
    let out = admin(&dir, &["rights-requests", "record", "--kind", "access", "--email", "someone@example.com"]);
    assert!(out.status.success(), "{out:?}");
    let id = out.stdout.split_whitespace().nth(3).unwrap().to_owned();
    let due = admin(&dir, &["rights-requests", "due", "--within-days", "31"]);
    assert!(due.stdout.contains(&id) && due.stdout.contains("someone@example.com"), "{due:?}");
    assert!(!admin(&dir, &["rights-requests", "due", "--within-days", "7"]).stdout.contains(&id));
    let refused = admin(&dir, &["rights-requests", "close", "--id", &id, "--outcome", "sent the export"]);
    assert_eq!(refused.code(), Some(1), "completing needs a verified identity: {refused:?}");
    assert!(
        admin(&dir, &["rights-requests", "verify", "--id", &id, "--how", "reply from the address"]).status.success()
    );
    let closed = admin(&dir, &["rights-requests", "close", "--id", &id, "--outcome", "sent the export"]);
    assert!(closed.stdout.contains("completed"), "{closed:?}");
    assert!(!admin(&dir, &["rights-requests", "due", "--within-days", "31"]).stdout.contains(&id));
    let bad = admin(&dir, &["rights-requests", "record", "--kind", "vibes", "--email", "x@example.com"]);
    assert_eq!(bad.code(), Some(1), "{bad:?}");
}

#[test]
fn operators_are_granted_listed_and_revoked_on_the_command_line() {
    let dir = TempDir::new("operator");
    let out = create(&dir, "op@example.com", Some("correct horse battery staple\n"), None);
    assert!(out.status.success(), "{out:?}");
    let out = admin(&dir, &["operator", "grant", "op@example.com"]);
    assert!(out.status.success() && out.stdout.contains("op@example.com is now an operator"), "{out:?}");
    let out = admin(&dir, &["operator", "grant", "op@example.com"]);
    assert!(out.stdout.contains("was already an operator"), "{out:?}");
    let out = admin(&dir, &["operator", "list"]);
    assert!(out.stdout.contains("# 1 operator(s)") && out.stdout.contains("op@example.com\tAda Lovelace"), "{out:?}");
    let out = admin(&dir, &["operator", "grant", "nobody@example.com"]);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(out.stderr.contains("there is no account with the address nobody@example.com"), "{out:?}");
    let out = admin(&dir, &["operator", "grant", "not an address"]);
    assert_eq!(out.code(), Some(1), "{out:?}");
    let out = admin(&dir, &["operator", "revoke", "op@example.com"]);
    assert!(out.status.success() && out.stdout.contains("is no longer an operator"), "{out:?}");
    let out = admin(&dir, &["operator", "list"]);
    assert!(out.stdout.contains("# 0 operator(s)"), "{out:?}");
}

/// `worker` (and `serve`) compare the configuration with the last start's and record the keys
/// that changed in the audit log (`nanopost_services::Services::audit_config`).
#[test]
fn a_start_with_another_configuration_records_the_keys_that_changed() {
    let dir = TempDir::new("config-audit");
    let start = |extra: &[(&str, &str)]| {
        let mut cmd = nanopost(dir.path());
        cmd.arg("worker");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        Server::start(&mut cmd, "Nanopost worker is running").stop()
    };
    let first = start(&[]);
    assert!(first.contains("first start: every key recorded"), "{first}");
    let second = start(&[("NANOPOST_AUTH__SESSION_TTL_HOURS", "48")]);
    assert!(second.contains("configuration changed") && second.contains("keys=auth.session_ttl_hours"), "{second}");
    let third = start(&[("NANOPOST_AUTH__SESSION_TTL_HOURS", "48")]);
    assert!(!third.contains("configuration changed"), "unchanged: nothing recorded\n{third}");
}
