//! Notices and e-mail end to end: who hears about what, preferences, one-click unsubscribe,
//! and delivery of every kind of mail to a real SMTP server (aiosmtpd, see scripts/smtp_sink.py).

use crate::{Env, PASSWORD, brand_input, content, env};
use jiff::SignedDuration;
use nanopost_domain::network::Network;
use nanopost_domain::role::Role;
use nanopost_mail::testing::{Received, SmtpSink};
use nanopost_mail::{SmtpSettings, SmtpTransport, TlsMode};
use nanopost_services::{DeliveryPolicy, MailKind, Mailer, Notice, ServiceError};
use nanopost_storage::{DeliveryState, OutboxEmail, PageRequest};
use std::sync::Arc;

const FROM: &str = "Nanopost <no-reply@nanopost.test>";

fn mailer(settings: SmtpSettings) -> Mailer {
    Mailer {
        transport: Arc::new(SmtpTransport::new(settings).unwrap()),
        from: FROM.into(),
        reply_to: Some("help@nanopost.test".into()),
    }
}

async fn deliver(e: &Env, m: &Mailer) -> nanopost_services::DeliveryReport {
    e.services.deliver_due_mail(m, &DeliveryPolicy::default()).await.unwrap()
}

fn by_subject<'a>(got: &'a [Received], part: &str) -> &'a Received {
    got.iter()
        .find(|r| r.header("Subject").is_some_and(|s| s.contains(part)))
        .unwrap_or_else(|| panic!("no mail with {part:?} in its subject among {:?}", subjects(got)))
}

fn subjects(got: &[Received]) -> Vec<String> {
    got.iter().map(|r| r.header("Subject").unwrap_or_default().to_owned()).collect()
}

async fn outbox_of(e: &Env, kind: &str) -> Vec<OutboxEmail> {
    e.services.store().outbox(500).await.unwrap().into_iter().filter(|m| m.kind == kind).collect()
}

#[tokio::test]
async fn notices_reach_the_members_they_concern() {
    let e = env().await;
    let (_, owner) = e.owner("owner@example.com").await;
    let (_, admin) = e.member(&owner, "admin@example.com", Role::Admin).await;
    let (_, editor) = e.member(&owner, "editor@example.com", Role::Editor).await;
    let (_, reviewer) = e.member(&owner, "reviewer@example.com", Role::Reviewer).await;
    let (_, viewer) = e.member(&owner, "viewer@example.com", Role::Viewer).await;
    let brand = e.services.create_brand(&owner, &brand_input()).await.unwrap();
    let post = e.services.create_post(&editor, brand.id, content("Fresh bread")).await.unwrap();
    let ws = owner.workspace_id;

    let notice = Notice::PublishFailed { post: post.id, network: Network::Linkedin, reason: "token revoked".into() };
    e.services.notify(ws, notice).await.unwrap();
    for (who, expected) in [(&owner, 1), (&admin, 1), (&editor, 1), (&reviewer, 1), (&viewer, 0)] {
        let got = e.services.notifications(who, false, PageRequest::first(10)).await.unwrap().items;
        assert_eq!(got.len(), expected, "{:?}", who.role);
        if let Some(n) = got.first() {
            assert_eq!(n.kind, "publish_failed");
            assert!(
                n.subject.contains("LinkedIn") && n.body.contains("token revoked") && n.body.contains("Fresh bread")
            );
            assert_eq!(n.link.as_deref(), Some(format!("/w/{ws}/posts/{}", post.id).as_str()));
        }
    }
    let mut to: Vec<_> = outbox_of(&e, "publish_failed").await.into_iter().map(|m| m.to.as_str().to_owned()).collect();
    to.sort();
    assert_eq!(to, ["admin@example.com", "editor@example.com", "owner@example.com", "reviewer@example.com"]);
    let mail = &outbox_of(&e, "publish_failed").await[0];
    assert!(
        mail.body.contains(&format!("{}/w/{ws}/posts/{}", e.services.config().public_url, post.id)),
        "{}",
        mail.body
    );

    // The inbox: unread count, mark one read, nobody else's.
    assert_eq!(e.services.unread_notifications(&owner).await.unwrap(), 1);
    let mine = e.services.notifications(&owner, false, PageRequest::first(10)).await.unwrap().items[0].id;
    assert!(matches!(e.services.mark_notification_read(&admin, mine).await, Err(ServiceError::NotFound)));
    e.services.mark_notification_read(&owner, mine).await.unwrap();
    assert_eq!(e.services.unread_notifications(&owner).await.unwrap(), 0);
    assert_eq!(e.services.unread_notifications(&admin).await.unwrap(), 1);
    assert_eq!(e.services.mark_all_notifications_read(&admin).await.unwrap(), 1);

    // Drafts ready: writers and reviewers, not viewers.
    e.services.notify(ws, Notice::DraftsReady { brand: brand.id, count: 3 }).await.unwrap();
    assert_eq!(outbox_of(&e, "drafts_ready").await.len(), 4);
    let n = &e.services.notifications(&reviewer, true, PageRequest::first(10)).await.unwrap().items[0];
    assert_eq!(n.subject, "3 new drafts for Acme are ready for review");
    assert!(e.services.notifications(&viewer, false, PageRequest::first(10)).await.unwrap().items.is_empty());

    // A notice about a post that is gone meanwhile is dropped, not an error.
    let gone = Notice::PublishFailed {
        post: nanopost_domain::ids::PostId::new(),
        network: Network::Tiktok,
        reason: "x".into(),
    };
    e.services.notify(ws, gone).await.unwrap();
    assert_eq!(outbox_of(&e, "publish_failed").await.len(), 4);
}

#[tokio::test]
async fn reconnect_needed_goes_to_owners_and_admins_and_is_delivered_with_an_unsubscribe_link() {
    let w = crate::accounts::world().await;
    let (_, admin) = w.e.member(&w.owner.1, "admin@example.com", Role::Admin).await;
    let (_, editor) = w.e.member(&w.owner.1, "editor@example.com", Role::Editor).await;
    let connected = w.connect(&w.owner, nanopost_platforms::network::Flavour::Tiktok).await.unwrap();
    let account = &connected.accounts[0];
    let notice = Notice::ReconnectNeeded {
        account: account.id,
        network: Network::Tiktok,
        reason: "refresh token revoked".into(),
    };
    w.e.services.notify(w.owner.1.workspace_id, notice).await.unwrap();
    assert_eq!(w.e.services.unread_notifications(&admin).await.unwrap(), 1);
    assert_eq!(w.e.services.unread_notifications(&w.owner.1).await.unwrap(), 1);
    assert_eq!(w.e.services.unread_notifications(&editor).await.unwrap(), 0);

    let sink = SmtpSink::start().await;
    let m = mailer(sink.settings());
    let report = deliver(&w.e, &m).await;
    assert_eq!(report.failed, 0, "{report:?}");
    let got = sink.wait_for(report.sent as usize).await;
    let reconnect: Vec<_> =
        got.iter().filter(|r| r.header("Subject").unwrap_or("").starts_with("Reconnect TikTok")).collect();
    let mut to: Vec<_> = reconnect.iter().map(|r| r.rcpt_tos[0].clone()).collect();
    to.sort();
    assert_eq!(to, ["admin@example.com", "owner@example.com"]);
    let r = reconnect[0];
    assert!(r.header("List-Unsubscribe").is_some_and(|v| v.contains("k=reconnect_needed")));
    assert!(r.text.as_deref().unwrap().contains("refresh token revoked"));
    assert!(r.html.as_deref().unwrap().contains(">Reconnect the account</a>"));
}

/// Every kind of mail, from the use case that writes it to what the SMTP server received.
#[tokio::test]
async fn every_kind_of_mail_is_delivered_with_the_right_headers() {
    let e = env().await;
    let s = &e.services;
    let (owner_user, owner) = e.owner("owner@example.com").await; // verify_email
    s.request_password_reset("owner@example.com").await.unwrap(); // reset_password
    s.invite(&owner, "new@example.com", Role::Editor).await.unwrap(); // invitation
    let hostile = nanopost_domain::brand::BrandInput { name: "<script>alert(1)</script> & Co".into(), ..brand_input() };
    let brand = s.create_brand(&owner, &hostile).await.unwrap();
    let post = s.create_post(&owner, brand.id, content("<b>bold</b> claim")).await.unwrap();
    let ws = owner.workspace_id;
    s.notify(ws, Notice::DraftsReady { brand: brand.id, count: 2 }).await.unwrap();
    s.notify(
        ws,
        Notice::PublishFailed { post: post.id, network: Network::Linkedin, reason: "<i>rate</i> limited".into() },
    )
    .await
    .unwrap();
    s.notify(ws, Notice::PublishUnconfirmed { post: post.id, network: Network::Linkedin, reason: "timeout".into() })
        .await
        .unwrap();
    s.set_marketing_consent(&owner_user, true).await.unwrap();
    assert!(s.send_marketing(&owner_user, "News from Nanopost", "We shipped calendars.").await.unwrap());

    let sink = SmtpSink::start().await;
    let m = mailer(sink.settings());
    let report = deliver(&e, &m).await;
    assert_eq!((report.sent, report.failed, report.retried, report.skipped), (7, 0, 0, 0), "{report:?}");
    assert_eq!(report.next_due, None, "nothing left");
    let got = sink.wait_for(7).await;
    assert_eq!(got.len(), 7, "{:?}", subjects(&got));
    for r in &got {
        assert_eq!(r.header("From"), Some(FROM));
        assert_eq!(r.header("Reply-To"), Some("help@nanopost.test"));
        assert_eq!(r.mail_from, "no-reply@nanopost.test");
        assert!(
            r.header("Message-ID").is_some_and(|id| id.ends_with("@nanopost.test>")),
            "{:?}",
            r.header("Message-ID")
        );
        assert!(r.text.is_some() && r.html.is_some(), "text and HTML");
    }

    let essential = [
        ("Confirm your e-mail address", "owner@example.com", "Confirm your address"),
        ("Reset your Nanopost password", "owner@example.com", "Choose a new password"),
        ("You are invited to", "new@example.com", "Accept the invitation"),
    ];
    for (subject, to, button) in essential {
        let r = by_subject(&got, subject);
        assert_eq!(r.header("To"), Some(to), "{subject}");
        assert_eq!(r.header("List-Unsubscribe"), None, "{subject}: essential mail cannot be unsubscribed from");
        assert_eq!(r.header("List-Unsubscribe-Post"), None, "{subject}");
        assert!(!r.text.as_deref().unwrap().contains("Unsubscribe"), "{subject}");
        assert!(r.html.as_deref().unwrap().contains(&format!(">{button}</a>")), "{subject}");
    }
    let optional = [
        ("new drafts for", "drafts_ready"),
        ("Not published to LinkedIn", "publish_failed"),
        ("Check LinkedIn", "publish_unconfirmed"),
        ("News from Nanopost", "marketing"),
    ];
    for (subject, kind) in optional {
        let r = by_subject(&got, subject);
        assert_eq!(r.header("To"), Some("owner@example.com"));
        let link = r.header("List-Unsubscribe").unwrap_or_else(|| panic!("{subject}: no List-Unsubscribe"));
        assert!(link.starts_with(&format!("<{}/unsubscribe?u={}", s.config().public_url, owner_user.id)), "{link}");
        if kind != "marketing" {
            assert!(link.contains(&format!("&k={kind}&sig=")), "{link}");
        }
        assert_eq!(r.header("List-Unsubscribe-Post"), Some("List-Unsubscribe=One-Click"), "{subject}");
        let url = link.trim_start_matches('<').trim_end_matches('>');
        assert!(r.text.as_deref().unwrap().contains(url), "{subject}: the link is in the text too");
    }

    // User-provided text is escaped in the HTML part, and stays text in the plain part.
    let drafts = by_subject(&got, "new drafts for");
    assert_eq!(drafts.header("Subject"), Some("2 new drafts for <script>alert(1)</script> & Co are ready for review"));
    let html = drafts.html.as_deref().unwrap();
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"), "{html}");
    assert!(drafts.text.as_deref().unwrap().contains("<script>alert(1)</script> & Co"));
    let failed = by_subject(&got, "Not published to LinkedIn");
    let html = failed.html.as_deref().unwrap();
    assert!(
        html.contains("&lt;i&gt;rate&lt;/i&gt; limited") && html.contains("&lt;b&gt;bold&lt;/b&gt; claim"),
        "{html}"
    );
    assert!(!html.contains("<i>") && !html.contains("<b>"));

    // The outbox records each as sent.
    for (mail, d) in s.store().outbox_deliveries(50).await.unwrap() {
        assert_eq!((d.state, d.attempts), (DeliveryState::Sent, 1), "{}", mail.kind);
    }

    // Account deletion: confirmed by mail after the purge, essential.
    let (leaver, _) = e.owner("leaver@example.com").await;
    deliver(&e, &m).await;
    s.delete_account(&leaver, PASSWORD).await.unwrap();
    e.clock.advance(s.config().privacy.deletion_grace + SignedDuration::from_secs(1));
    s.purge_due_deletions().await.unwrap();
    // The account and the workspace it alone owned: two confirmations.
    assert_eq!(deliver(&e, &m).await.sent, 2);
    let got = sink.wait_for(10).await;
    for subject in ["Your Nanopost account has been deleted", "Your Nanopost workspace has been deleted"] {
        let bye = by_subject(&got, subject);
        assert_eq!(bye.header("To"), Some("leaver@example.com"));
        assert_eq!(bye.header("List-Unsubscribe"), None, "{subject}");
    }
}

#[tokio::test]
async fn turned_off_means_no_mail_but_the_notification_is_still_there() {
    let e = env().await;
    let (user, owner) = e.owner("owner@example.com").await;
    let brand = e.services.create_brand(&owner, &brand_input()).await.unwrap();
    let prefs = e.services.email_preferences(&user).await.unwrap();
    assert_eq!(prefs.iter().map(|p| p.kind).collect::<Vec<_>>(), MailKind::OPTIONAL.to_vec());
    assert!(prefs.iter().all(|p| p.email == (p.kind != MailKind::Marketing)), "{prefs:?}");

    e.services.set_email_preference(&user, MailKind::DraftsReady, false).await.unwrap();
    e.services.notify(owner.workspace_id, Notice::DraftsReady { brand: brand.id, count: 1 }).await.unwrap();
    assert!(outbox_of(&e, "drafts_ready").await.is_empty(), "no mail");
    let inbox = e.services.notifications(&owner, true, PageRequest::first(10)).await.unwrap().items;
    assert_eq!(inbox.len(), 1, "in-app always");
    assert_eq!(inbox[0].subject, "1 new draft for Acme is ready for review");

    // Essential mail has no switch.
    for kind in [MailKind::VerifyEmail, MailKind::ResetPassword, MailKind::AccountDeleted, MailKind::Invitation] {
        let err = e.services.set_email_preference(&user, kind, false).await.unwrap_err();
        assert!(matches!(err, ServiceError::Invalid(_)), "{kind}: {err}");
    }
    // Marketing is the consent of the privacy centre.
    e.services.set_email_preference(&user, MailKind::Marketing, true).await.unwrap();
    assert!(e.services.marketing_consent(&user).await.unwrap());
}

#[tokio::test]
async fn one_click_unsubscribe_takes_effect_at_once_even_for_mail_already_queued() {
    let e = env().await;
    let (user, owner) = e.owner("owner@example.com").await;
    let brand = e.services.create_brand(&owner, &brand_input()).await.unwrap();
    let ws = owner.workspace_id;
    let sink = SmtpSink::start().await;
    let m = mailer(sink.settings());
    deliver(&e, &m).await; // the verification mail
    e.services.notify(ws, Notice::DraftsReady { brand: brand.id, count: 1 }).await.unwrap();
    deliver(&e, &m).await;
    let got = sink.wait_for(2).await;
    let link = by_subject(&got, "new draft").header("List-Unsubscribe").unwrap().to_owned();
    let url = reqwest::Url::parse(link.trim_start_matches('<').trim_end_matches('>')).unwrap();
    let q = |k: &str| url.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.into_owned());
    let (u, k, sig) = (q("u").unwrap(), q("k"), q("sig").unwrap());

    // A second digest is queued before the person clicks.
    e.services.notify(ws, Notice::DraftsReady { brand: brand.id, count: 2 }).await.unwrap();

    // Bad signatures, another kind with this signature, another person: refused, nothing changes.
    let bad = [
        (u.clone(), k.clone(), format!("{sig}x")),
        (u.clone(), Some("publish_failed".into()), sig.clone()),
        (u.clone(), Some("verify_email".into()), sig.clone()),
        (nanopost_domain::ids::UserId::new().to_string(), k.clone(), sig.clone()),
        ("not-a-user".into(), k.clone(), sig.clone()),
    ];
    for (u, k, sig) in &bad {
        let err = e.services.unsubscribe_with_link(u, k.as_deref(), sig).await.unwrap_err();
        assert!(matches!(err, ServiceError::Conflict(_)), "{u} {k:?}: {err}");
    }
    assert!(e.services.wants_email(&user, MailKind::DraftsReady).await.unwrap());

    assert_eq!(e.services.unsubscribe_with_link(&u, k.as_deref(), &sig).await.unwrap(), MailKind::DraftsReady);
    assert!(!e.services.wants_email(&user, MailKind::DraftsReady).await.unwrap());
    assert!(e.services.wants_email(&user, MailKind::PublishFailed).await.unwrap(), "only that kind");

    // The queued digest is not sent: skipped, with the reason.
    let report = deliver(&e, &m).await;
    assert_eq!((report.sent, report.skipped), (0, 1), "{report:?}");
    let (_, d) = e.services.store().outbox_deliveries(1).await.unwrap().remove(0);
    assert_eq!(d.state, DeliveryState::Skipped);
    assert!(d.last_error.unwrap().contains("turned off"));
    assert_eq!(sink.received().len(), 2);
    // New notices: in-app only.
    e.services.notify(ws, Notice::DraftsReady { brand: brand.id, count: 1 }).await.unwrap();
    assert_eq!(outbox_of(&e, "drafts_ready").await.len(), 2, "the two from before, no new one");
    assert_eq!(e.services.unread_notifications(&owner).await.unwrap(), 3);
    // Clicking again is harmless.
    e.services.unsubscribe_with_link(&u, k.as_deref(), &sig).await.unwrap();
}

#[tokio::test]
async fn a_permanent_refusal_fails_the_mail_and_a_transient_one_retries_with_backoff() {
    let e = env().await;
    let sink = SmtpSink::start().await;
    let m = mailer(sink.settings());
    let now = e.services.now();
    let mail = |to: &str| OutboxEmail {
        id: uuid::Uuid::now_v7(),
        to: nanopost_domain::account::Email::parse(to).unwrap(),
        kind: "invitation".into(),
        subject: "Join us".into(),
        body: "Open:\nhttps://app.test/invitations/accept?token=t".into(),
        created_at: now,
    };
    let rejected = mail("reject550@example.com");
    let later = mail("tempfail451@example.com");
    let fine = mail("fine@example.com");
    for x in [&rejected, &later, &fine] {
        e.services.store().enqueue_email(x).await.unwrap();
    }
    let report = deliver(&e, &m).await;
    assert_eq!((report.sent, report.failed, report.retried), (1, 1, 1), "{report:?}");
    let d = e.services.store().mail_delivery(rejected.id).await.unwrap().unwrap();
    assert_eq!(d.state, DeliveryState::Failed);
    assert!(d.last_error.as_deref().unwrap().contains("550"), "{d:?}");
    let d = e.services.store().mail_delivery(later.id).await.unwrap().unwrap();
    assert_eq!((d.state, d.attempts), (DeliveryState::Pending, 1));
    assert!(d.last_error.as_deref().unwrap().contains("451"), "{d:?}");
    let first_delay = d.next_attempt_at.duration_since(now);
    assert!(
        first_delay >= SignedDuration::from_secs(48) && first_delay <= SignedDuration::from_secs(60),
        "{first_delay:?}"
    );
    assert_eq!(report.next_due, Some(d.next_attempt_at));
    // The job comes back when the retry is due (within the poll interval).
    let job = e.services.next_delivery_job(&report, &DeliveryPolicy::default());
    assert_eq!(job.kind, "email.deliver");
    assert_eq!(job.due_at, now + DeliveryPolicy::default().poll);

    // Not before its time.
    assert_eq!(
        deliver(&e, &m).await,
        nanopost_services::DeliveryReport { next_due: Some(d.next_attempt_at), ..Default::default() }
    );
    // Then again, with a longer wait each time, until the attempts run out.
    let policy = DeliveryPolicy::default();
    let mut previous = first_delay;
    for attempt in 2..=policy.max_attempts {
        e.clock.advance(previous);
        let report = deliver(&e, &m).await;
        let d = e.services.store().mail_delivery(later.id).await.unwrap().unwrap();
        assert_eq!(d.attempts, attempt);
        if attempt < policy.max_attempts {
            assert_eq!((report.retried, d.state), (1, DeliveryState::Pending));
            let delay = d.next_attempt_at.duration_since(e.services.now());
            assert!(delay > previous || delay >= SignedDuration::from_secs(5000), "{delay:?} after {previous:?}");
            previous = delay;
        } else {
            assert_eq!((report.failed, d.state), (1, DeliveryState::Failed));
            assert!(d.last_error.as_deref().unwrap().starts_with("gave up after 8 attempts: "), "{d:?}");
        }
    }
    assert_eq!(sink.received().len(), 1, "only the good one arrived");
}

#[tokio::test]
async fn an_unreachable_server_keeps_the_mail_for_later_and_old_mail_is_not_sent() {
    let e = env().await;
    e.owner("owner@example.com").await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let down = mailer(SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        tls: TlsMode::None,
        username: None,
        password: None,
        timeout: std::time::Duration::from_secs(5),
        hello_name: None,
        extra_roots_pem: vec![],
    });
    let report = deliver(&e, &down).await;
    assert_eq!(report.retried, 1, "{report:?}");
    let (mail, d) = e.services.store().outbox_deliveries(1).await.unwrap().remove(0);
    assert_eq!((d.state, d.attempts), (DeliveryState::Pending, 1));

    // The server is back: the mail goes on its next turn.
    let sink = SmtpSink::start().await;
    let up = mailer(sink.settings());
    e.clock.advance(SignedDuration::from_mins(2));
    assert_eq!(deliver(&e, &up).await.sent, 1);
    assert_eq!(sink.wait_for(1).await[0].rcpt_tos, [mail.to.as_str()]);

    // Mail that waited longer than max_age (email was off, say) fails instead of going out late.
    e.owner("late@example.com").await;
    e.clock.advance(DeliveryPolicy::default().max_age + SignedDuration::from_secs(1));
    let report = deliver(&e, &up).await;
    assert_eq!((report.sent, report.failed), (0, 1), "{report:?}");
    let (_, d) = e.services.store().outbox_deliveries(1).await.unwrap().remove(0);
    assert!(d.last_error.unwrap().contains("too old"));
}

#[tokio::test]
async fn starttls_delivery_works_end_to_end() {
    let e = env().await;
    e.owner("owner@example.com").await;
    let sink = SmtpSink::start_with(TlsMode::StartTls, None).await;
    assert_eq!(deliver(&e, &mailer(sink.settings())).await.sent, 1);
    let got = sink.wait_for(1).await;
    assert!(got[0].tls);
}
