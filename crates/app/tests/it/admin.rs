//! `admin create-user`.

use crate::harness::{TempDir, nanopost, run};

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
