//! `[email]` in the binary: configuration checked and redacted, the start-up line saying where
//! mail goes, and the worker delivering the outbox to a real SMTP server (aiosmtpd).

use crate::harness::{Server, TempDir, assert_one_line_failure, nanopost, run};
use nanopost_mail::testing::SmtpSink;
use std::time::{Duration, Instant};

fn email_env(cmd: &mut std::process::Command, port: u16) -> &mut std::process::Command {
    cmd.env("NANOPOST_EMAIL__ENABLED", "true")
        .env("NANOPOST_EMAIL__FROM", "Nanopost <no-reply@nanopost.test>")
        .env("NANOPOST_EMAIL__POLL_SECS", "1")
        .env("NANOPOST_EMAIL__SMTP__HOST", "127.0.0.1")
        .env("NANOPOST_EMAIL__SMTP__PORT", port.to_string())
        .env("NANOPOST_EMAIL__SMTP__TLS", "none")
}

#[test]
fn config_check_shows_email_with_the_password_redacted_and_refuses_bad_values() {
    let dir = TempDir::new("email-check");
    let out = run(
        email_env(&mut nanopost(dir.path()), 2525)
            .args(["config", "check"])
            .env("NANOPOST_EMAIL__SMTP__TLS", "starttls")
            .env("NANOPOST_EMAIL__SMTP__USERNAME", "12345")
            .env("NANOPOST_EMAIL__SMTP__PASSWORD", "hunter2"),
        None,
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(!out.stdout.contains("hunter2") && !out.stderr.contains("hunter2"), "{out:?}");
    for line in
        ["[email]", "enabled = true", "[email.smtp]", "password = \"***\"", "username = \"12345\"", "port = 2525"]
    {
        assert!(out.stdout.contains(line), "{line:?} missing:\n{}", out.stdout);
    }

    for (env, needles) in [
        (vec![("NANOPOST_EMAIL__ENABLED", "true")], vec!["email.from", "is required"]),
        (
            vec![("NANOPOST_EMAIL__ENABLED", "true"), ("NANOPOST_EMAIL__FROM", "not-an-address")],
            vec!["email.from", "is not an e-mail address", "NANOPOST_EMAIL__FROM"],
        ),
        (
            vec![("NANOPOST_EMAIL__ENABLED", "true"), ("NANOPOST_EMAIL__FROM", "a@b.test")],
            vec!["email.smtp.host", "is required"],
        ),
        (vec![("NANOPOST_EMAIL__SMTP__TLS", "sometimes")], vec!["email.smtp.tls"]),
        (
            vec![
                ("NANOPOST_EMAIL__SMTP__HOST", "mail.example.com"),
                ("NANOPOST_EMAIL__SMTP__TLS", "none"),
                ("NANOPOST_EMAIL__SMTP__USERNAME", "u"),
                ("NANOPOST_EMAIL__SMTP__PASSWORD", "p"),
            ],
            vec!["email.smtp.tls", "unencrypted"],
        ),
    ] {
        let mut cmd = nanopost(dir.path());
        cmd.args(["config", "check"]);
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let out = run(&mut cmd, None);
        assert_eq!(out.code(), Some(2), "{env:?}: {out:?}");
        assert_one_line_failure(&out, &needles);
    }
}

#[test]
fn without_email_the_start_says_mail_waits_in_the_outbox() {
    let dir = TempDir::new("email-off");
    let server = Server::serve(nanopost(dir.path()).args(["serve", "--listen", "127.0.0.1:0"]));
    let logs = server.stop();
    assert!(logs.contains("e-mail delivery is off"), "{logs}");
    assert_eq!(logs.matches("e-mail delivery is").count(), 1, "said once: {logs}");
}

#[test]
fn the_worker_delivers_the_outbox_over_smtp() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sink = rt.block_on(SmtpSink::start());
    let dir = TempDir::new("email-on");
    let mut cmd = nanopost(dir.path());
    email_env(&mut cmd, sink.port).args(["serve", "--listen", "127.0.0.1:0"]);
    let server = Server::serve(&mut cmd);

    // A mail written by anything (here: straight into the outbox of the running server).
    let db = format!("sqlite://{}", dir.data_dir().join("nanopost.db").display());
    let id = rt.block_on(async {
        let store = nanopost_storage::Store::connect(&db).await.unwrap();
        let mail = nanopost_storage::OutboxEmail {
            id: uuid::Uuid::now_v7(),
            to: nanopost_domain::account::Email::parse("ana@example.com").unwrap(),
            kind: "reset_password".into(),
            subject: "Reset your Nanopost password".into(),
            body: "To choose a new password, open:\nhttps://app.test/reset-password?token=abc".into(),
            created_at: jiff::Timestamp::now(),
        };
        store.enqueue_email(&mail).await.unwrap();
        store.close().await;
        mail.id
    });
    let got = rt.block_on(sink.wait_for(1));
    assert_eq!(got.len(), 1, "stderr:\n{}", server.stderr());
    assert_eq!(got[0].rcpt_tos, ["ana@example.com"]);
    assert_eq!(got[0].header("Subject"), Some("Reset your Nanopost password"));
    assert_eq!(got[0].header("Message-ID"), Some(format!("<{id}@nanopost.test>").as_str()));
    assert!(got[0].html.as_deref().unwrap().contains(">Choose a new password</a>"));

    // The row says so (bounded wait: the record follows the server's answer).
    let deadline = Instant::now() + Duration::from_secs(15);
    let state = loop {
        let d = rt.block_on(async {
            let store = nanopost_storage::Store::connect(&db).await.unwrap();
            let d = store.mail_delivery(id).await.unwrap().unwrap();
            store.close().await;
            d
        });
        if d.state != nanopost_storage::DeliveryState::Pending || Instant::now() >= deadline {
            break d.state;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(state, nanopost_storage::DeliveryState::Sent);
    let logs = server.stop();
    assert!(logs.contains("e-mail delivery is on"), "{logs}");
    assert!(logs.contains("mail sent"), "{logs}");
    drop(sink);
}
