//! Contract of the Telegram repository, on SQLite and PostgreSQL.

use crate::fixtures::*;
use nanopost_domain::ids::UserId;
use nanopost_domain::role::Role;
use nanopost_storage::{
    StorageError, Store, TakenLinkCode, TelegramDecision, TelegramLink, TelegramLinkCode, TelegramReviewMessage,
    TokenHash,
};

macro_rules! telegram_contract {
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

telegram_contract![
    link_codes_are_single_use_and_expire,
    a_new_code_replaces_the_unused_one,
    links_are_one_to_one_and_unlink_deletes,
    reviewers_are_the_linked_members_with_their_role_now,
    review_messages_are_found_by_token_and_chat_only,
    the_poll_offset_only_moves_forward,
    deleting_the_user_or_workspace_takes_everything,
];

fn code(user: UserId, ws: nanopost_domain::ids::WorkspaceId, hash: &TokenHash, expires: i64) -> TelegramLinkCode {
    TelegramLinkCode {
        code_hash: hash.clone(),
        user_id: user,
        workspace_id: ws,
        created_at: t(0),
        expires_at: t(expires),
    }
}

fn link(user: UserId, chat: i64) -> TelegramLink {
    TelegramLink { user_id: user, chat_id: chat, telegram_name: format!("@chat{chat}"), linked_at: t(5) }
}

async fn link_codes_are_single_use_and_expire(s: Store) {
    let (u, ws) = owner(&s, "ana@example.com").await;
    let h = hash();
    s.create_telegram_link_code(&code(u.id, ws.id, &h, 600)).await.unwrap();
    assert_eq!(s.take_telegram_link_code(&hash(), t(10)).await.unwrap(), TakenLinkCode::Unknown);
    match s.take_telegram_link_code(&h, t(10)).await.unwrap() {
        TakenLinkCode::Fresh(c) => assert_eq!((c.user_id, c.workspace_id, c.expires_at), (u.id, ws.id, t(600))),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.take_telegram_link_code(&h, t(11)).await.unwrap(), TakenLinkCode::AlreadyUsed);

    let late = hash();
    s.create_telegram_link_code(&code(u.id, ws.id, &late, 600)).await.unwrap();
    assert_eq!(s.take_telegram_link_code(&late, t(600)).await.unwrap(), TakenLinkCode::Expired);
    // An expired code stays unusable (it was not spent by the failed attempt either).
    assert_eq!(s.take_telegram_link_code(&late, t(700)).await.unwrap(), TakenLinkCode::Expired);
}

async fn a_new_code_replaces_the_unused_one(s: Store) {
    let (u, ws) = owner(&s, "ana@example.com").await;
    let (first, second) = (hash(), hash());
    s.create_telegram_link_code(&code(u.id, ws.id, &first, 600)).await.unwrap();
    s.create_telegram_link_code(&code(u.id, ws.id, &second, 600)).await.unwrap();
    assert_eq!(s.take_telegram_link_code(&first, t(1)).await.unwrap(), TakenLinkCode::Unknown);
    assert!(matches!(s.take_telegram_link_code(&second, t(1)).await.unwrap(), TakenLinkCode::Fresh(_)));
    // The same hash twice is a conflict, not an overwrite.
    let other = member(&s, ws.id, u.id, "bo@example.com", Role::Reviewer).await;
    let dup = hash();
    s.create_telegram_link_code(&code(u.id, ws.id, &dup, 600)).await.unwrap();
    let err = s.create_telegram_link_code(&code(other.id, ws.id, &dup, 600)).await.unwrap_err();
    assert!(matches!(err, StorageError::Conflict(_)), "{err:?}");
}

async fn links_are_one_to_one_and_unlink_deletes(s: Store) {
    let (ana, ws) = owner(&s, "ana@example.com").await;
    let bo = member(&s, ws.id, ana.id, "bo@example.com", Role::Reviewer).await;
    s.link_telegram_chat(&link(ana.id, 100)).await.unwrap();
    assert_eq!(s.telegram_link(ana.id).await.unwrap(), Some(link(ana.id, 100)));
    assert_eq!(s.telegram_link_by_chat(100).await.unwrap().map(|l| l.user_id), Some(ana.id));
    // Ana moves to another chat: the old one is no longer hers.
    s.link_telegram_chat(&link(ana.id, 101)).await.unwrap();
    assert_eq!(s.telegram_link_by_chat(100).await.unwrap(), None);
    // Bo links chat 101: it is his now, and Ana has none.
    s.link_telegram_chat(&link(bo.id, 101)).await.unwrap();
    assert_eq!(s.telegram_link(ana.id).await.unwrap(), None);
    assert_eq!(s.telegram_link_by_chat(101).await.unwrap().map(|l| l.user_id), Some(bo.id));
    assert_eq!(s.unlink_telegram(bo.id).await.unwrap().map(|l| l.chat_id), Some(101));
    assert_eq!(s.unlink_telegram(bo.id).await.unwrap(), None);
    assert_eq!(s.telegram_link_by_chat(101).await.unwrap(), None);
}

async fn reviewers_are_the_linked_members_with_their_role_now(s: Store) {
    let (ana, ws) = owner(&s, "ana@example.com").await;
    let rev = member(&s, ws.id, ana.id, "rev@example.com", Role::Reviewer).await;
    let viewer = member(&s, ws.id, ana.id, "viewer@example.com", Role::Viewer).await;
    let _unlinked = member(&s, ws.id, ana.id, "quiet@example.com", Role::Reviewer).await;
    let (stranger, _other_ws) = owner(&s, "stranger@example.com").await;
    for (u, chat) in [(ana.id, 1), (rev.id, 2), (viewer.id, 3), (stranger.id, 4)] {
        s.link_telegram_chat(&link(u, chat)).await.unwrap();
    }
    let mut got: Vec<(i64, Role)> =
        s.telegram_reviewers(ws.id).await.unwrap().into_iter().map(|(l, r)| (l.chat_id, r)).collect();
    got.sort_by_key(|(c, _)| *c);
    assert_eq!(got, vec![(1, Role::Owner), (2, Role::Reviewer), (3, Role::Viewer)]);
    s.set_role(ws.id, rev.id, Role::Viewer).await.unwrap();
    let roles: Vec<Role> = s.telegram_reviewers(ws.id).await.unwrap().into_iter().map(|(_, r)| r).collect();
    assert!(!roles.contains(&Role::Reviewer));
}

async fn review_messages_are_found_by_token_and_chat_only(s: Store) {
    let (ana, ws) = owner(&s, "ana@example.com").await;
    let b = brand(ws.id, "Bakery");
    s.insert_brand(&b).await.unwrap();
    let p = post(ws.id, b.id, ana.id, "fresh bread");
    s.insert_post(&p).await.unwrap();
    let m = TelegramReviewMessage {
        token: "tok_123456789abc".into(),
        workspace_id: ws.id,
        post_id: p.id,
        user_id: ana.id,
        chat_id: 42,
        message_ids: vec![7, 8, 9],
        digest: p.content.digest(),
        sent_at: t(3),
        decision: None,
        decided_at: None,
    };
    s.insert_telegram_review_message(&m).await.unwrap();
    assert_eq!(s.telegram_review_message("tok_123456789abc", 42).await.unwrap(), Some(m.clone()));
    assert_eq!(m.keyboard_message_id(), Some(9));
    assert_eq!(s.telegram_review_message("tok_123456789abc", 43).await.unwrap(), None, "another chat");
    assert_eq!(s.telegram_review_message("tok_nope", 42).await.unwrap(), None);
    // The same draft (post and digest) to the same person is recorded once.
    let again = TelegramReviewMessage { token: "tok_other".into(), ..m.clone() };
    assert!(matches!(s.insert_telegram_review_message(&again).await.unwrap_err(), StorageError::Conflict(_)));
    assert_eq!(s.telegram_review_messages_of_post(ws.id, p.id).await.unwrap().len(), 1);
    let (_, other_ws) = owner(&s, "other@example.com").await;
    assert!(s.telegram_review_messages_of_post(other_ws.id, p.id).await.unwrap().is_empty());

    assert!(s.decide_telegram_review(&m.token, TelegramDecision::Approved, t(9)).await.unwrap());
    assert!(!s.decide_telegram_review(&m.token, TelegramDecision::Rejected, t(10)).await.unwrap(), "decided once");
    let stored = s.telegram_review_message(&m.token, 42).await.unwrap().unwrap();
    assert_eq!((stored.decision, stored.decided_at), (Some(TelegramDecision::Approved), Some(t(9))));
}

async fn the_poll_offset_only_moves_forward(s: Store) {
    assert_eq!(s.telegram_poll_offset("123").await.unwrap(), None);
    s.set_telegram_poll_offset("123", 700, t(1)).await.unwrap();
    s.set_telegram_poll_offset("123", 650, t(2)).await.unwrap();
    assert_eq!(s.telegram_poll_offset("123").await.unwrap(), Some(700));
    s.set_telegram_poll_offset("123", 701, t(3)).await.unwrap();
    assert_eq!(s.telegram_poll_offset("123").await.unwrap(), Some(701));
    assert_eq!(s.telegram_poll_offset("999").await.unwrap(), None, "per bot");
}

async fn deleting_the_user_or_workspace_takes_everything(s: Store) {
    let (ana, ws) = owner(&s, "ana@example.com").await;
    let bo = member(&s, ws.id, ana.id, "bo@example.com", Role::Reviewer).await;
    let b = brand(ws.id, "Bakery");
    s.insert_brand(&b).await.unwrap();
    let p = post(ws.id, b.id, ana.id, "x");
    s.insert_post(&p).await.unwrap();
    s.link_telegram_chat(&link(bo.id, 55)).await.unwrap();
    let h = hash();
    s.create_telegram_link_code(&code(bo.id, ws.id, &h, 600)).await.unwrap();
    let m = TelegramReviewMessage {
        token: "tok_bo".into(),
        workspace_id: ws.id,
        post_id: p.id,
        user_id: bo.id,
        chat_id: 55,
        message_ids: vec![1],
        digest: p.content.digest(),
        sent_at: t(1),
        decision: None,
        decided_at: None,
    };
    s.insert_telegram_review_message(&m).await.unwrap();
    // Deleting the post takes its drafts.
    s.delete_post(ws.id, p.id).await.unwrap();
    assert_eq!(s.telegram_review_message("tok_bo", 55).await.unwrap(), None);
    // Removing a member keeps their link (it is theirs, not the workspace's) but they are no
    // longer a reviewer there.
    s.remove_member(ws.id, bo.id).await.unwrap();
    assert!(s.telegram_reviewers(ws.id).await.unwrap().is_empty());
    assert!(s.telegram_link(bo.id).await.unwrap().is_some());
    // The exports see the link as the person's data.
    let dump = s.dump_person(bo.id, &bo.email).await.unwrap();
    assert!(dump.iter().any(|t| t.table == "telegram_links"), "{dump:?}");
}
