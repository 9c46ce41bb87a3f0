//! `config check` and the refusal of bad configuration.

use crate::harness::{TempDir, assert_one_line_failure, nanopost, run};
use std::os::unix::fs::PermissionsExt;

#[test]
fn config_check_prints_the_effective_configuration_with_the_password_redacted() {
    let dir = TempDir::new("check");
    let out = run(
        nanopost(dir.path())
            .args(["config", "check"])
            .env("NANOPOST_DATABASE_URL", "postgres://app:hunter2@db.internal:5432/nanopost?password=hunter3")
            .env("NANOPOST_AUTH__SESSION_TTL_HOURS", "12"),
        None,
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(!out.stdout.contains("hunter2") && !out.stderr.contains("hunter2"), "{out:?}");
    assert!(!out.stdout.contains("hunter3"), "{out:?}");
    assert!(
        out.stdout.contains("database_url = \"postgres://app:***@db.internal:5432/nanopost?password=***\""),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("session_ttl_hours = 12"), "{}", out.stdout);
    assert!(out.stdout.contains("listen = \"127.0.0.1:8080\""), "{}", out.stdout);
    assert!(out.stdout.contains("public_url = \"http://127.0.0.1:8080\""), "{}", out.stdout);
    // config check touches nothing on disk.
    assert!(!dir.data_dir().exists());
}

#[test]
fn config_check_reads_the_file_and_flags_win() {
    let dir = TempDir::new("file");
    let file = dir.path().join("nanopost.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:9000\"\nlog = \"debug\"\n[limits]\nmax_body_bytes = 2048\n").unwrap();
    let out = run(
        nanopost(dir.path())
            .args(["config", "check", "--config"])
            .arg(&file)
            .args(["--log", "warn"])
            .env("NANOPOST_LISTEN", "127.0.0.1:9001"),
        None,
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(out.stdout.contains("listen = \"127.0.0.1:9001\""), "{}", out.stdout);
    assert!(out.stdout.contains("log = \"warn\""), "{}", out.stdout);
    assert!(out.stdout.contains("max_body_bytes = 2048"), "{}", out.stdout);
}

fn refused(dir: &TempDir, args: &[&str], env: &[(&str, &str)]) -> crate::harness::Output {
    let mut cmd = nanopost(dir.path());
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run(&mut cmd, None);
    assert_eq!(out.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    // Nothing was created.
    assert!(!dir.data_dir().exists());
    out
}

#[test]
fn a_bad_listen_address_is_refused_with_one_sentence() {
    let dir = TempDir::new("listen");
    let out = refused(&dir, &["serve"], &[("NANOPOST_LISTEN", "abc")]);
    assert_one_line_failure(
        &out,
        &["configuration error: listen: \"abc\" is not an address like 127.0.0.1:8080", "NANOPOST_LISTEN"],
    );
    let out = refused(&dir, &["serve", "--listen", "abc"], &[]);
    assert_one_line_failure(&out, &["listen:", "--listen"]);
}

#[test]
fn an_unknown_key_in_the_file_is_refused() {
    let dir = TempDir::new("unknown");
    let file = dir.path().join("nanopost.toml");
    std::fs::write(&file, "[auth]\nsession_ttl_hour = 3\n").unwrap();
    let out = refused(&dir, &["serve", "--config", file.to_str().unwrap()], &[]);
    assert_one_line_failure(&out, &["auth.session_ttl_hour", "unknown key", "nanopost.toml"]);
    // Also through NANOPOST_CONFIG.
    let out = refused(&dir, &["config", "check"], &[("NANOPOST_CONFIG", file.to_str().unwrap())]);
    assert_one_line_failure(&out, &["auth.session_ttl_hour"]);
}

#[test]
fn a_missing_or_broken_file_is_refused() {
    let dir = TempDir::new("broken");
    let out = refused(&dir, &["config", "check", "--config", "/nonexistent/nanopost.toml"], &[]);
    assert_one_line_failure(&out, &["--config", "/nonexistent/nanopost.toml"]);
    let file = dir.path().join("broken.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:1\"\n[auth\n").unwrap();
    let out = refused(&dir, &["serve", "--config", file.to_str().unwrap()], &[]);
    assert_one_line_failure(&out, &["broken.toml", "not valid TOML at line 2"]);
}

#[test]
fn a_public_url_that_is_not_http_is_refused() {
    let dir = TempDir::new("public");
    let out = refused(&dir, &["serve"], &[("NANOPOST_PUBLIC_URL", "ftp://x")]);
    assert_one_line_failure(&out, &["public_url: \"ftp://x\" must start with http:// or https://"]);
}

#[test]
fn argon2_memory_zero_is_refused() {
    let dir = TempDir::new("argon");
    let out = refused(&dir, &["serve"], &[("NANOPOST_AUTH__ARGON2_MEMORY_KIB", "0")]);
    assert_one_line_failure(&out, &["auth.argon2_memory_kib: 0 is too small", "NANOPOST_AUTH__ARGON2_MEMORY_KIB"]);
}

#[test]
fn other_bad_values_are_refused() {
    let dir = TempDir::new("others");
    let cases: &[(&str, &str, &str)] = &[
        ("NANOPOST_DATABASE_URL", "mysql://root:hunter2@h/db", "database_url"),
        ("NANOPOST_LOG_FORMAT", "xml", "log_format"),
        ("NANOPOST_AUTH__SESSION_TTL_HOURS", "forever", "auth.session_ttl_hours"),
        ("NANOPOST_LIMITS__MAX_BODY_BYTES", "12", "limits.max_body_bytes"),
        ("NANOPOST_AUTH__LOGIN_WINDOW_MINUTES", "0", "auth.login_window_minutes"),
        ("NANOPOST_AUTH__ARGON2_PARALLELISM", "0", "auth.argon2_parallelism"),
    ];
    for (var, value, key) in cases {
        let out = refused(&dir, &["serve"], &[(var, value)]);
        assert_one_line_failure(&out, &[&format!("configuration error: {key}:"), var]);
        assert!(!out.stderr.contains("hunter2"), "{out:?}");
    }
}

#[test]
fn a_world_readable_secret_key_is_refused() {
    let dir = TempDir::new("leaky");
    std::fs::create_dir_all(dir.data_dir()).unwrap();
    let key = dir.data_dir().join("secret.key");
    std::fs::write(&key, [1u8; 32]).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(nanopost(dir.path()).args(["serve", "--listen", "127.0.0.1:0", "--log", "off"]), None);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert_one_line_failure(&out, &["secret.key", "group or others", "chmod 600"]);

    // A key of the wrong length is refused too, and left as it is.
    std::fs::write(&key, b"short").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = run(nanopost(dir.path()).args(["serve", "--listen", "127.0.0.1:0", "--log", "off"]), None);
    assert_one_line_failure(&out, &["secret.key", "5 bytes long instead of 32"]);
    assert_eq!(std::fs::read(&key).unwrap(), b"short");
}
