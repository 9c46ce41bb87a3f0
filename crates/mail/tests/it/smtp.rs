use nanopost_mail::testing::SmtpSink;
use nanopost_mail::{Failure, MailTransport, OutgoingMail, SmtpSettings, SmtpTransport, TlsMode};
use std::time::Duration;

fn mail(to: &str) -> OutgoingMail {
    OutgoingMail {
        from: "Nanopost <no-reply@nanopost.test>".into(),
        reply_to: Some("help@nanopost.test".into()),
        to: to.into(),
        subject: "Drafts ready — 3 new".into(),
        text: "Three drafts wait.\n\nhttps://app.test/review".into(),
        html: Some("<p>Three drafts wait.</p><p><a href=\"https://app.test/review\">Review</a></p>".into()),
        list_unsubscribe: None,
        message_id: Some("<0190-abc@nanopost.test>".into()),
    }
}

fn transport(settings: SmtpSettings) -> SmtpTransport {
    SmtpTransport::new(settings).expect("usable settings")
}

#[tokio::test]
async fn plain_smtp_delivers_text_and_html_with_the_headers() {
    let sink = SmtpSink::start().await;
    let t = transport(sink.settings());
    t.send(&mail("ana@example.com")).await.unwrap();
    let unsubscribable = OutgoingMail {
        list_unsubscribe: Some("https://app.test/unsubscribe?u=1&k=drafts_ready&sig=abc".into()),
        ..mail("bob@example.com")
    };
    t.send(&unsubscribable).await.unwrap();

    let got = sink.wait_for(2).await;
    assert_eq!(got.len(), 2);
    let first = &got[0];
    assert_eq!(first.mail_from, "no-reply@nanopost.test");
    assert_eq!(first.rcpt_tos, vec!["ana@example.com"]);
    assert_eq!(first.header("From"), Some("Nanopost <no-reply@nanopost.test>"));
    assert_eq!(first.header("To"), Some("ana@example.com"));
    assert_eq!(first.header("Reply-To"), Some("help@nanopost.test"));
    assert_eq!(first.header("Subject"), Some("Drafts ready — 3 new"), "non-ASCII subjects survive encoding");
    assert_eq!(first.header("Message-ID"), Some("<0190-abc@nanopost.test>"));
    assert!(first.header("Date").is_some());
    assert_eq!(first.header("List-Unsubscribe"), None, "only when asked for");
    assert_eq!(first.header("List-Unsubscribe-Post"), None);
    assert_eq!(first.text.as_deref().map(str::trim_end), Some("Three drafts wait.\n\nhttps://app.test/review"));
    assert!(first.html.as_deref().unwrap().contains("<a href=\"https://app.test/review\">Review</a>"));
    assert!(!first.tls);

    let second = &got[1];
    assert_eq!(second.header("List-Unsubscribe"), Some("<https://app.test/unsubscribe?u=1&k=drafts_ready&sig=abc>"));
    assert_eq!(second.header("List-Unsubscribe-Post"), Some("List-Unsubscribe=One-Click"));
}

#[tokio::test]
async fn starttls_and_implicit_tls_encrypt_and_check_the_certificate() {
    for mode in [TlsMode::StartTls, TlsMode::Tls] {
        let sink = SmtpSink::start_with(mode, None).await;
        transport(sink.settings()).send(&mail("ana@example.com")).await.unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        let got = sink.wait_for(1).await;
        assert_eq!(got.len(), 1, "{mode:?}");
        assert!(got[0].tls, "{mode:?}: the message travelled encrypted");

        // Without the test CA the certificate is unknown: not sent, and worth retrying (the
        // operator may fix the trust store), never a silent plain-text fallback.
        let untrusted = SmtpSettings { extra_roots_pem: vec![], ..sink.settings() };
        let err = transport(untrusted).send(&mail("bob@example.com")).await.unwrap_err();
        assert_eq!(err.failure, Failure::Transient, "{mode:?}: {err}");
        assert_eq!(sink.received().len(), 1, "{mode:?}: nothing more arrived");
    }
}

#[tokio::test]
async fn starttls_is_required_when_configured() {
    // A server that offers no STARTTLS: the mail is not sent in the clear.
    let sink = SmtpSink::start().await;
    let settings = SmtpSettings { tls: TlsMode::StartTls, ..sink.settings() };
    let err = transport(settings).send(&mail("ana@example.com")).await.unwrap_err();
    assert_eq!(err.failure, Failure::Transient, "{err}");
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn signs_in_with_the_configured_credentials() {
    let sink = SmtpSink::start_with(TlsMode::None, Some(("mailer", "s3cret"))).await;
    let good = SmtpSettings { username: Some("mailer".into()), password: Some("s3cret".into()), ..sink.settings() };
    transport(good).send(&mail("ana@example.com")).await.unwrap();
    let got = sink.wait_for(1).await;
    assert_eq!(got[0].auth.as_deref(), Some("mailer"));

    let wrong = SmtpSettings { username: Some("mailer".into()), password: Some("nope".into()), ..sink.settings() };
    let err = transport(wrong).send(&mail("bob@example.com")).await.unwrap_err();
    // The installation's fault, not the mail's: kept for another attempt after the fix.
    assert_eq!(err.failure, Failure::Transient, "535 authentication failed: {err}");
    assert!(err.message.contains("535"), "{err}");
    assert!(!err.message.contains("nope"), "the password is not in the error: {err}");
    let anonymous = sink.settings();
    let err = transport(anonymous).send(&mail("cy@example.com")).await.unwrap_err();
    assert_eq!(err.failure, Failure::Transient, "530 authentication required: {err}");
    assert_eq!(sink.received().len(), 1);
}

#[tokio::test]
async fn a_550_is_permanent_and_a_451_is_transient() {
    let sink = SmtpSink::start().await;
    let t = transport(sink.settings());
    let err = t.send(&mail("reject550@example.com")).await.unwrap_err();
    assert_eq!(err.failure, Failure::Permanent);
    assert!(err.message.contains("550"), "{err}");
    let err = t.send(&mail("tempfail451@example.com")).await.unwrap_err();
    assert_eq!(err.failure, Failure::Transient);
    assert!(err.message.contains("451"), "{err}");
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    // A port nobody listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let settings = SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        tls: TlsMode::None,
        username: None,
        password: None,
        timeout: Duration::from_secs(5),
        hello_name: None,
        extra_roots_pem: vec![],
    };
    let started = std::time::Instant::now();
    let err = transport(settings).send(&mail("ana@example.com")).await.unwrap_err();
    assert_eq!(err.failure, Failure::Transient, "{err}");
    assert!(started.elapsed() < Duration::from_secs(10), "bounded by the timeout");
}

#[tokio::test]
async fn invalid_addresses_are_permanent_failures() {
    let sink = SmtpSink::start().await;
    let err = transport(sink.settings()).send(&mail("not an address")).await.unwrap_err();
    assert_eq!(err.failure, Failure::Permanent);
    assert!(sink.received().is_empty());
}
