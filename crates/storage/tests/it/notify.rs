//! Notifications' storage on SQLite and PostgreSQL: in-app notices are per person and per
//! workspace, preferences default and update, notices and their mails are written together,
//! and the outbox leases each mail to one sender and records what became of it.

use crate::fixtures::*;
use jiff::{SignedDuration, Timestamp};
use nanopost_domain::ids::{UserId, WorkspaceId};
use nanopost_domain::role::Role;
use nanopost_storage::{
    DeliveryState, MailClaim, MailOutcome, Notification, NotificationPreference, OutboxCounts, PageRequest,
    RetentionCutoffs, StorageError, Store,
};
use uuid::Uuid;

macro_rules! notify_contract {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $case() {
                crate::harness::run(crate::harness::sqlite().await, true, super::$case).await
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $case() {
                crate::harness::run(crate::harness::postgres().await, true, super::$case).await
            })*
        }
    };
}

notify_contract![
    notifications_are_per_person_and_per_workspace,
    notices_and_their_mails_are_written_together,
    preferences_default_to_none_and_opt_outs_are_per_workspace,
    the_outbox_leases_each_mail_to_one_sender,
    a_lost_lease_cannot_record_an_outcome,
    retention_removes_old_notifications,
    erasing_an_account_removes_its_notifications_and_preferences,
];

fn note(ws: WorkspaceId, user: UserId, kind: &str, at: Timestamp) -> Notification {
    Notification {
        id: Uuid::now_v7(),
        workspace_id: ws,
        user_id: user,
        kind: kind.into(),
        subject: format!("{kind} subject"),
        body: "Something happened.".into(),
        link: Some("/posts".into()),
        created_at: at,
        read_at: None,
    }
}

async fn notifications_are_per_person_and_per_workspace(s: Store) {
    let (ana, ws1) = owner(&s, "ana@example.com").await;
    let bob = member(&s, ws1.id, ana.id, "bob@example.com", Role::Editor).await;
    let (_, ws2) = owner(&s, "cy@example.com").await;
    let a1 = note(ws1.id, ana.id, "publish_failed", t(10));
    let a2 = note(ws1.id, ana.id, "drafts_ready", t(11));
    let b1 = note(ws1.id, bob.id, "drafts_ready", t(12));
    s.insert_notifications(&[a1.clone(), a2.clone(), b1.clone()], &[]).await.unwrap();

    let page = s.notifications(ws1.id, ana.id, false, PageRequest::first(10)).await.unwrap();
    assert_eq!(page.items, vec![a2.clone(), a1.clone()], "Ana's two, newest first");
    assert_eq!(s.unread_notification_count(ws1.id, ana.id).await.unwrap(), 2);
    // Another workspace, another person: nothing of Ana's.
    assert!(s.notifications(ws2.id, ana.id, false, PageRequest::first(10)).await.unwrap().items.is_empty());
    assert_eq!(s.notifications(ws1.id, bob.id, false, PageRequest::first(10)).await.unwrap().items, vec![b1.clone()]);

    // Paging: one at a time.
    let first = s.notifications(ws1.id, ana.id, false, PageRequest::first(1)).await.unwrap();
    assert_eq!(first.items, vec![a2.clone()]);
    let second = s.notifications(ws1.id, ana.id, false, PageRequest { limit: 1, after: first.next }).await.unwrap();
    assert_eq!(second.items, vec![a1.clone()]);
    assert_eq!(second.next, None);

    // Bob cannot mark Ana's; in the wrong workspace it is not found either.
    assert!(matches!(s.mark_notification_read(ws1.id, bob.id, a1.id, t(20)).await, Err(StorageError::NotFound)));
    assert!(matches!(s.mark_notification_read(ws2.id, ana.id, a1.id, t(20)).await, Err(StorageError::NotFound)));
    s.mark_notification_read(ws1.id, ana.id, a1.id, t(20)).await.unwrap();
    // Again: no change to the first reading time.
    s.mark_notification_read(ws1.id, ana.id, a1.id, t(30)).await.unwrap();
    let unread = s.notifications(ws1.id, ana.id, true, PageRequest::first(10)).await.unwrap();
    assert_eq!(unread.items, vec![a2.clone()]);
    let all = s.notifications(ws1.id, ana.id, false, PageRequest::first(10)).await.unwrap();
    assert_eq!(all.items[1].read_at, Some(t(20)));
    assert_eq!(s.unread_notification_count(ws1.id, ana.id).await.unwrap(), 1);

    assert_eq!(s.mark_all_notifications_read(ws1.id, ana.id, t(40)).await.unwrap(), 1);
    assert_eq!(s.unread_notification_count(ws1.id, ana.id).await.unwrap(), 0);
    assert_eq!(s.unread_notification_count(ws1.id, bob.id).await.unwrap(), 1, "Bob's stays unread");
}

async fn notices_and_their_mails_are_written_together(s: Store) {
    let (ana, ws) = owner(&s, "ana@example.com").await;
    let taken = mail("ana@example.com", "publish_failed", t(5));
    s.enqueue_email(&taken).await.unwrap();
    // The second mail reuses an id: the whole write fails, the notice included.
    let n = note(ws.id, ana.id, "publish_failed", t(6));
    let err = s.insert_notifications(std::slice::from_ref(&n), std::slice::from_ref(&taken)).await.unwrap_err();
    assert!(matches!(err, StorageError::Conflict(_)), "{err:?}");
    assert!(s.notifications(ws.id, ana.id, false, PageRequest::first(10)).await.unwrap().items.is_empty());

    let fresh = mail("ana@example.com", "publish_failed", t(7));
    s.insert_notifications(std::slice::from_ref(&n), std::slice::from_ref(&fresh)).await.unwrap();
    assert_eq!(s.notifications(ws.id, ana.id, false, PageRequest::first(10)).await.unwrap().items, vec![n]);
    let delivery = s.mail_delivery(fresh.id).await.unwrap().expect("the mail is in the outbox");
    assert_eq!(delivery.state, DeliveryState::Pending);
    assert_eq!(delivery.attempts, 0);
}

async fn preferences_default_to_none_and_opt_outs_are_per_workspace(s: Store) {
    let (ana, ws1) = owner(&s, "ana@example.com").await;
    let bob = member(&s, ws1.id, ana.id, "bob@example.com", Role::Reviewer).await;
    let (cy, _ws2) = owner(&s, "cy@example.com").await;
    assert_eq!(s.email_preference(ana.id, "drafts_ready").await.unwrap(), None);
    assert!(s.notification_preferences(ana.id).await.unwrap().is_empty());

    let off = |user: UserId, kind: &str, at: i64| NotificationPreference {
        user_id: user,
        kind: kind.into(),
        email_enabled: false,
        updated_at: t(at),
    };
    s.set_notification_preference(&off(bob.id, "drafts_ready", 1)).await.unwrap();
    s.set_notification_preference(&off(cy.id, "drafts_ready", 1)).await.unwrap();
    s.set_notification_preference(&off(ana.id, "publish_failed", 1)).await.unwrap();
    assert_eq!(s.email_preference(bob.id, "drafts_ready").await.unwrap(), Some(false));
    // Cy turned it off too, but Cy is not a member of ws1.
    assert_eq!(s.email_opt_outs(ws1.id, "drafts_ready").await.unwrap(), vec![bob.id]);
    assert_eq!(s.email_opt_outs(ws1.id, "publish_failed").await.unwrap(), vec![ana.id]);

    // Back on: an update, not a second row.
    s.set_notification_preference(&NotificationPreference { email_enabled: true, ..off(bob.id, "drafts_ready", 2) })
        .await
        .unwrap();
    assert_eq!(s.email_preference(bob.id, "drafts_ready").await.unwrap(), Some(true));
    assert!(s.email_opt_outs(ws1.id, "drafts_ready").await.unwrap().is_empty());
    let prefs = s.notification_preferences(bob.id).await.unwrap();
    assert_eq!(prefs.len(), 1);
    assert_eq!(prefs[0].updated_at, t(2));
}

fn claim(now: Timestamp, lease_secs: i64, limit: u32) -> MailClaim {
    MailClaim { now, until: now + SignedDuration::from_secs(lease_secs), limit }
}

async fn the_outbox_leases_each_mail_to_one_sender(s: Store) {
    let m1 = mail("a@example.com", "verify_email", t(1));
    let m2 = mail("b@example.com", "reset_password", t(2));
    let m3 = mail("c@example.com", "invitation", t(3));
    for m in [&m1, &m2, &m3] {
        s.enqueue_email(m).await.unwrap();
    }
    assert_eq!(s.next_mail_due().await.unwrap(), Some(Timestamp::UNIX_EPOCH), "new mail is due at once");

    let first = s.claim_mail(&claim(t(10), 60, 2)).await.unwrap();
    assert_eq!(first.iter().map(|c| c.mail.id).collect::<Vec<_>>(), vec![m1.id, m2.id], "oldest first");
    assert!(first.iter().all(|c| c.attempt == 1));
    assert_eq!(first[0].mail, m1, "the mail comes back as written");
    // A second sender at the same time gets only what is left.
    let second = s.claim_mail(&claim(t(10), 60, 10)).await.unwrap();
    assert_eq!(second.iter().map(|c| c.mail.id).collect::<Vec<_>>(), vec![m3.id]);
    assert!(s.claim_mail(&claim(t(11), 60, 10)).await.unwrap().is_empty(), "everything is leased");

    let c1 = &first[0];
    let c2 = &first[1];
    assert!(s.record_mail_outcome(m1.id, c1.claim, &MailOutcome::Sent, t(12)).await.unwrap());
    let retry = MailOutcome::Retry { at: t(100), error: "451 try later".into() };
    assert!(s.record_mail_outcome(m2.id, c2.claim, &retry, t(12)).await.unwrap());
    let failed = MailOutcome::Failed { error: "550 no such mailbox".into() };
    assert!(s.record_mail_outcome(m3.id, second[0].claim, &failed, t(12)).await.unwrap());

    let d1 = s.mail_delivery(m1.id).await.unwrap().unwrap();
    assert_eq!((d1.state, d1.attempts, d1.finished_at, d1.last_error), (DeliveryState::Sent, 1, Some(t(12)), None));
    let d2 = s.mail_delivery(m2.id).await.unwrap().unwrap();
    assert_eq!(
        (d2.state, d2.next_attempt_at, d2.last_error.as_deref()),
        (DeliveryState::Pending, t(100), Some("451 try later"))
    );
    let d3 = s.mail_delivery(m3.id).await.unwrap().unwrap();
    assert_eq!((d3.state, d3.last_error.as_deref()), (DeliveryState::Failed, Some("550 no such mailbox")));
    assert_eq!(s.next_mail_due().await.unwrap(), Some(t(100)));

    // Not before its time; then the second attempt.
    assert!(s.claim_mail(&claim(t(99), 60, 10)).await.unwrap().is_empty());
    let again = s.claim_mail(&claim(t(100), 60, 10)).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].mail.id, again[0].attempt), (m2.id, 2));
    let skipped = MailOutcome::Skipped { reason: "turned off".into() };
    assert!(s.record_mail_outcome(m2.id, again[0].claim, &skipped, t(101)).await.unwrap());
    // A finished mail records nothing more, whoever asks.
    assert!(!s.record_mail_outcome(m2.id, again[0].claim, &MailOutcome::Sent, t(102)).await.unwrap());
    assert_eq!(s.next_mail_due().await.unwrap(), None);
    assert_eq!(s.outbox_counts().await.unwrap(), OutboxCounts { pending: 0, sent: 1, failed: 1, skipped: 1 });
    let listed = s.outbox_deliveries(10).await.unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0].0.id, m3.id, "newest first");
}

async fn a_lost_lease_cannot_record_an_outcome(s: Store) {
    let m = mail("a@example.com", "verify_email", t(1));
    s.enqueue_email(&m).await.unwrap();
    let stalled = s.claim_mail(&claim(t(10), 30, 1)).await.unwrap().remove(0);
    // While leased, the lease's end is when it may be claimed again.
    assert_eq!(s.next_mail_due().await.unwrap(), Some(t(40)));
    assert!(s.claim_mail(&claim(t(39), 30, 1)).await.unwrap().is_empty());
    // The lease ran out: another sender takes the mail, and only it may record.
    let taker = s.claim_mail(&claim(t(40), 30, 1)).await.unwrap().remove(0);
    assert_eq!(taker.attempt, 2);
    assert_ne!(taker.claim, stalled.claim);
    assert!(!s.record_mail_outcome(m.id, stalled.claim, &MailOutcome::Sent, t(41)).await.unwrap());
    assert_eq!(s.mail_delivery(m.id).await.unwrap().unwrap().state, DeliveryState::Pending);
    assert!(s.record_mail_outcome(m.id, taker.claim, &MailOutcome::Sent, t(42)).await.unwrap());
    assert_eq!(s.mail_delivery(m.id).await.unwrap().unwrap().state, DeliveryState::Sent);
}

async fn retention_removes_old_notifications(s: Store) {
    let (ana, ws) = owner(&s, "ana@example.com").await;
    let old = note(ws.id, ana.id, "drafts_ready", t(10));
    let new = note(ws.id, ana.id, "drafts_ready", t(200));
    s.insert_notifications(&[old, new.clone()], &[]).await.unwrap();
    let report = s
        .apply_retention(&RetentionCutoffs {
            now: t(300),
            outbox_before: t(100),
            audit_before: t(0),
            tokens_before: t(0),
            api_tokens_before: t(0),
            visitor_consents_before: t(0),
        })
        .await
        .unwrap();
    assert_eq!(report.notifications, 1);
    assert_eq!(s.notifications(ws.id, ana.id, false, PageRequest::first(10)).await.unwrap().items, vec![new]);
}

async fn erasing_an_account_removes_its_notifications_and_preferences(s: Store) {
    let (ana, ws) = owner(&s, "ana@example.com").await;
    let bob = member(&s, ws.id, ana.id, "bob@example.com", Role::Editor).await;
    s.insert_notifications(
        &[note(ws.id, bob.id, "drafts_ready", t(10)), note(ws.id, ana.id, "drafts_ready", t(10))],
        &[],
    )
    .await
    .unwrap();
    s.set_notification_preference(&NotificationPreference {
        user_id: bob.id,
        kind: "drafts_ready".into(),
        email_enabled: false,
        updated_at: t(10),
    })
    .await
    .unwrap();
    s.remove_member(ws.id, bob.id).await.unwrap();
    let deletion = nanopost_storage::AccountDeletion {
        user_id: bob.id,
        contact: bob.email.clone(),
        tombstone_email: email(&format!("deleted-{}@erased.invalid", bob.id)),
        requested_at: t(20),
        purge_after: t(30),
    };
    s.deactivate_account(&deletion, &[]).await.unwrap();
    s.purge_account(&deletion, &mail("bob@example.com", "account_deleted", t(31))).await.unwrap();
    assert!(s.notifications(ws.id, bob.id, false, PageRequest::first(10)).await.unwrap().items.is_empty());
    assert!(s.notification_preferences(bob.id).await.unwrap().is_empty());
    assert_eq!(s.notifications(ws.id, ana.id, false, PageRequest::first(10)).await.unwrap().items.len(), 1);
}
