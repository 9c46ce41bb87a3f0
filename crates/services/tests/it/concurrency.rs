//! Per-network publishing caps: how many publications advance at once for one connected
//! account is set per network, and the slots are counted in the database, so every worker
//! process shares the budget.

use super::accounts::{World, world_with};
use jiff::SignedDuration;
use nanopost_domain::clock::Clock;
use nanopost_domain::network::Network;
use nanopost_domain::post::{Post, PostContent, PostState, Target, Variant};
use nanopost_domain::role::Role;
use nanopost_fakes::{Failure, Route};
use nanopost_jobs::{Handlers, Runtime, RuntimeConfig};
use nanopost_platforms::network::Flavour;
use nanopost_services::Actor;
use nanopost_services::publishing::{AccountConcurrency, Publishing};
use nanopost_storage::User;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A LinkedIn post to the member `urn`, drafted by the owner and approved by `reviewer`.
async fn approved_for(w: &World, reviewer: &(User, Actor), urn: &str, caption: &str) -> Post {
    let s = &w.e.services;
    let content = PostContent {
        variants: vec![Variant {
            network: Network::Linkedin,
            caption: caption.into(),
            media: vec![],
            options: BTreeMap::new(),
        }],
        targets: vec![Target { network: Network::Linkedin, account: Some(urn.to_owned()) }],
    };
    let post = s.create_post(&w.owner.1, w.brand, content).await.unwrap();
    let post = s.submit_post(&w.owner.1, post.id, post.version).await.unwrap();
    s.approve_post(&reviewer.1, post.id, &post.content.digest()).await.unwrap()
}

/// Posts to the LinkedIn member while another worker holds one slot of that account; returns
/// how many posts reached LinkedIn.
async fn publish_beside_a_busy_worker(caps: AccountConcurrency) -> usize {
    let w = world_with(|c| c.publishing.max_concurrent = caps).await;
    let reviewer = w.e.member(&w.owner.1, "reviewer@example.com", Role::Reviewer).await;
    let connected = w.connect(&w.owner, Flavour::Linkedin).await.unwrap();
    let member = connected.accounts.iter().find(|a| a.external_id.starts_with("urn:li:person:")).unwrap();
    let s = &w.e.services;
    let post = approved_for(&w, &reviewer, &member.external_id, "Two at a time").await;

    // Another worker is publishing to the same account for the next ten minutes.
    let now = w.e.clock.now();
    let busy = uuid::Uuid::now_v7();
    let until = now + SignedDuration::from_mins(10);
    let cap = caps.for_network(Network::Linkedin);
    assert!(s.store().take_publishing_slot(member.id, busy, cap, until, now).await.unwrap());

    s.publish_now(&w.owner.1, post.id, post.version).await.unwrap();
    let clock: Arc<dyn Clock> = w.e.clock.clone();
    let handlers = Publishing::new(&w.accounts).register(Handlers::new());
    Runtime::new(s.queue().clone(), handlers, RuntimeConfig::default(), clock).run_until_idle(50).await.unwrap();
    let sent = w.li.posts().len();
    if sent == 1 {
        assert_eq!(s.store().post(post.workspace_id, post.id).await.unwrap().unwrap().state, PostState::Published);
    }
    sent
}

#[tokio::test]
async fn a_network_allowed_two_publications_per_account_publishes_beside_a_busy_worker() {
    let caps = AccountConcurrency { linkedin: 2, ..AccountConcurrency::uniform(1) };
    assert_eq!(publish_beside_a_busy_worker(caps).await, 1, "the second slot of the account is free");
}

#[tokio::test]
async fn a_network_allowed_one_publication_per_account_waits_for_the_busy_worker() {
    let caps = AccountConcurrency { instagram: 3, tiktok: 3, ..AccountConcurrency::uniform(1) };
    assert_eq!(publish_beside_a_busy_worker(caps).await, 0, "LinkedIn's one slot is taken: nothing is sent yet");
}

#[tokio::test]
async fn a_quota_the_network_answers_for_one_publication_holds_the_account_s_other_publications() {
    let w = world_with(|_| {}).await;
    let reviewer = w.e.member(&w.owner.1, "reviewer@example.com", Role::Reviewer).await;
    let connected = w.connect(&w.owner, Flavour::Linkedin).await.unwrap();
    let member = connected.accounts.iter().find(|a| a.external_id.starts_with("urn:li:person:")).unwrap();
    let s = &w.e.services;
    let mut posts = Vec::new();
    for caption in ["First of the day", "Second of the day"] {
        let post = approved_for(&w, &reviewer, &member.external_id, caption).await;
        posts.push(s.publish_now(&w.owner.1, post.id, post.version).await.unwrap());
    }
    // LinkedIn answers the first creating call with its daily limit (429: back at midnight UTC).
    w.li.fail_times(Route::post("/rest/posts"), Failure::RateLimited { retry_after: None }, 1);
    let clock: Arc<dyn Clock> = w.e.clock.clone();
    let run = || {
        let handlers = Publishing::new(&w.accounts).register(Handlers::new());
        Runtime::new(s.queue().clone(), handlers, RuntimeConfig::default(), clock.clone())
    };
    let calls = || w.li.requests_to(&Route::post("/rest/posts")).len();
    run().run_until_idle(50).await.unwrap();
    assert_eq!(calls(), 1, "one call was refused; the other publication waits for the account's slot");
    let (until, why) = s.store().publishing_pause(member.id, w.e.clock.now()).await.unwrap().expect("paused");
    assert!(why.contains("LinkedIn"), "{why}");

    // The other publication's turn comes: it holds back until the pause ends, without calling.
    for _ in 0..5 {
        w.e.clock.advance(SignedDuration::from_mins(30));
        run().run_until_idle(50).await.unwrap();
    }
    assert_eq!(calls(), 1, "nobody called LinkedIn during the pause");
    assert!(w.li.posts().is_empty());

    // Once it ends, both go out, once each.
    w.e.clock.set(until + SignedDuration::from_secs(1));
    run().run_until_idle(50).await.unwrap();
    w.e.clock.advance(SignedDuration::from_secs(5));
    run().run_until_idle(50).await.unwrap();
    assert_eq!(w.li.posts().len(), 2);
    assert_eq!(calls(), 3);
    for p in &posts {
        assert_eq!(s.store().post(p.workspace_id, p.id).await.unwrap().unwrap().state, PostState::Published);
    }
}
