//! On SQLite and PostgreSQL a job is enqueued in the same transaction as the domain change that
//! causes it: a rolled-back write leaves no job, a committed one leaves both.

use crate::harness::t;
use nanopost_domain::account::Email;
use nanopost_domain::brand::{Brand, BrandInput};
use nanopost_domain::ids::{BrandId, UserId, WorkspaceId};
use nanopost_domain::network::Network;
use nanopost_domain::post::{Post, PostContent, Target, Variant};
use nanopost_jobs::{AnyQueue, Enqueued, JobQueue, NewJob};
use nanopost_storage::{SignUp, StorageError, Store, TokenHash, TokenPurpose, User, UserToken, Workspace};
use serde_json::json;
use std::collections::BTreeMap;
use uuid::Uuid;

#[tokio::test]
async fn sqlite_rolled_back_write_leaves_no_job() {
    crate::harness::run(crate::harness::sqlite().await, |q, s| case(q, s.unwrap())).await
}

#[tokio::test]
async fn postgres_rolled_back_write_leaves_no_job() {
    crate::harness::run(crate::harness::postgres().await, |q, s| case(q, s.unwrap())).await
}

async fn case(q: AnyQueue, store: Store) {
    let post = seed_post(&store).await;
    let job =
        |key: &str| NewJob::new("publish", json!({"post": post.id}), t(0)).workspace(post.workspace_id).unique_key(key);

    // A stale write (someone saved the post in between) fails, and takes its job with it.
    let stale = Post { version: post.version + 7, ..post.clone() };
    let err = store.save_post_and_enqueue(&stale, &job("stale")).await.unwrap_err();
    assert!(matches!(err, StorageError::Stale), "{err:?}");
    assert_eq!(q.job_by_key("stale").await.unwrap(), None, "the rolled-back write left a job behind");
    assert_eq!(q.next_due().await.unwrap(), None, "nor a lane");

    // A write that succeeds brings its job.
    let (saved, enqueued) = store.save_post_and_enqueue(&post, &job("ok")).await.unwrap();
    assert_eq!(saved.version, post.version + 1);
    let Enqueued::New(id) = enqueued else { panic!("{enqueued:?}") };
    assert_eq!(q.job_by_key("ok").await.unwrap().unwrap().id, id);
    assert_eq!(store.post(post.workspace_id, post.id).await.unwrap().unwrap().version, saved.version);
}

async fn seed_post(store: &Store) -> Post {
    let user = User {
        id: UserId::new(),
        email: Email::parse(&format!("{}@example.com", Uuid::new_v4().simple())).unwrap(),
        display_name: "Owner".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        email_verified_at: None,
        age_confirmed_at: t(0),
        created_at: t(0),
    };
    let workspace = Workspace { id: WorkspaceId::new(), name: "Bakery".into(), created_at: t(0) };
    let ws = workspace.id;
    store
        .sign_up(&SignUp {
            verify_token: UserToken {
                hash: TokenHash(*Uuid::new_v4().as_bytes().repeat(2).first_chunk::<32>().unwrap()),
                user_id: user.id,
                purpose: TokenPurpose::VerifyEmail,
                created_at: t(0),
                expires_at: t(86_400),
            },
            verify_email: nanopost_storage::OutboxEmail {
                id: Uuid::now_v7(),
                to: user.email.clone(),
                kind: "verify_email".into(),
                subject: "Verify".into(),
                body: "Click.".into(),
                created_at: t(0),
            },
            workspace,
            user: user.clone(),
        })
        .await
        .unwrap();
    let profile = BrandInput {
        name: "Bakery".into(),
        timezone: "Europe/Berlin".into(),
        language: "de".into(),
        posts_per_week: 3,
        ..Default::default()
    }
    .validate()
    .unwrap();
    let brand = Brand { id: BrandId::new(), workspace_id: ws, profile, created_at: t(0), updated_at: t(0) };
    store.insert_brand(&brand).await.unwrap();
    let content = PostContent {
        variants: vec![Variant {
            network: Network::Instagram,
            caption: "Fresh bread".into(),
            media: vec![],
            options: BTreeMap::new(),
        }],
        targets: vec![Target { network: Network::Instagram, account: None }],
    };
    let post = Post::new(ws, brand.id, user.id, content, t(0)).unwrap();
    store.insert_post(&post).await.unwrap();
    post
}
