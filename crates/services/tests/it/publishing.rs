//! Publishing end to end (invariant I2) against the LinkedIn fake, driven through the real job
//! queue (SQLite) with a controllable clock: posts go out once, at their time, with their
//! permalink; what changed, missed its time or lost its account does not go out, and says why.

use super::accounts::{World, world};
use jiff::{SignedDuration, Timestamp};
use nanopost_domain::approval::Channel;
use nanopost_domain::clock::Clock;
use nanopost_domain::network::Network;
use nanopost_domain::post::{Post, PostContent, PostState, Target, Variant};
use nanopost_domain::publication::PublicationState;
use nanopost_domain::role::Role;
use nanopost_fakes::{Failure, Route};
use nanopost_jobs::{Handlers, JobQueue, Runtime, RuntimeConfig};
use nanopost_platforms::network::Flavour;
use nanopost_services::publishing::{PUBLISH_POST, Publishing};
use nanopost_services::{Actor, ServiceError};
use nanopost_storage::User;
use std::collections::BTreeMap;
use std::sync::Arc;

struct Desk {
    w: World,
    publishing: Publishing,
    reviewer: (User, Actor),
    /// The LinkedIn member's URN (the target of the posts).
    member: String,
}

async fn desk() -> Desk {
    let w = world().await;
    let reviewer = w.e.member(&w.owner.1, "reviewer@example.com", Role::Reviewer).await;
    let connected = w.connect(&w.owner, Flavour::Linkedin).await.unwrap();
    let member = connected.accounts.iter().find(|a| a.external_id.starts_with("urn:li:person:")).unwrap();
    let member = member.external_id.clone();
    let publishing = Publishing::new(&w.accounts);
    Desk { w, publishing, reviewer, member }
}

fn linkedin_post(caption: &str, account: Option<&str>) -> PostContent {
    PostContent {
        variants: vec![Variant {
            network: Network::Linkedin,
            caption: caption.into(),
            media: vec![],
            options: BTreeMap::new(),
        }],
        targets: vec![Target { network: Network::Linkedin, account: account.map(str::to_owned) }],
    }
}

impl Desk {
    fn now(&self) -> Timestamp {
        self.w.e.clock.now()
    }

    /// Drafts, submits and approves a post, scheduled `in_` from now (brand time zone).
    async fn approved(&self, caption: &str, in_: SignedDuration) -> Post {
        let owner = &self.w.owner.1;
        let s = &self.w.e.services;
        let post = s.create_post(owner, self.w.brand, linkedin_post(caption, Some(&self.member))).await.unwrap();
        let post = s.submit_post(owner, post.id, post.version).await.unwrap();
        let tz = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
        let at = (self.now() + in_).to_zoned(tz).datetime();
        let post = s.schedule_post(owner, post.id, post.version, Some(at)).await.unwrap();
        let mut reviewer = self.reviewer.1.clone();
        reviewer.channel = Channel::Web;
        s.approve_post(&reviewer, post.id, &post.content.digest()).await.unwrap()
    }

    async fn post(&self, post: &Post) -> Post {
        self.w.e.services.store().post(post.workspace_id, post.id).await.unwrap().unwrap()
    }

    /// Runs every job due now, and their follow-ups, with the real runtime's handling.
    async fn run_due(&self) -> usize {
        let clock: Arc<dyn Clock> = self.w.e.clock.clone();
        let handlers = self.publishing.register(Handlers::new());
        let runtime = Runtime::new(self.w.e.services.queue().clone(), handlers, RuntimeConfig::default(), clock);
        runtime.run_until_idle(500).await.unwrap()
    }

    /// Runs jobs, moving the clock to each next due job, for at most `horizon` of fake time.
    async fn run_for(&self, horizon: SignedDuration) -> usize {
        let end = self.now() + horizon;
        let mut ran = self.run_due().await;
        while let Some(next) = self.w.e.services.queue().next_due().await.unwrap() {
            if next > end {
                break;
            }
            if next > self.now() {
                self.w.e.clock.set(next);
            }
            ran += self.run_due().await;
        }
        ran
    }
}

#[tokio::test]
async fn an_approved_post_goes_out_once_at_its_time_with_its_permalink() {
    let d = desk().await;
    let post = d.approved("Launch day: the new roaster is here", SignedDuration::from_hours(1)).await;
    assert_eq!(post.state, PostState::Scheduled);

    // Before its time nothing happens.
    d.run_due().await;
    assert!(d.w.li.posts().is_empty());

    d.w.e.clock.advance(SignedDuration::from_hours(1));
    assert_eq!(d.run_due().await, 2, "the post's job, then its one publication's");
    let posts = d.w.li.posts();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0].author, d.member);
    assert!(posts[0].commentary.contains("Launch day"));

    let done = d.post(&post).await;
    assert_eq!(done.state, PostState::Published);
    let publications = d.w.e.services.publications(&d.w.owner.1, post.id).await.unwrap();
    assert_eq!(publications.len(), 1);
    let p = &publications[0];
    assert_eq!(p.state, PublicationState::Published);
    assert_eq!(p.external_id.as_deref(), Some(posts[0].urn.as_str()));
    assert!(p.url.as_deref().is_some_and(|u| u.starts_with("https://") && u.contains(&posts[0].urn)), "{p:?}");

    // Running everything again, later, never posts twice.
    d.w.e.clock.advance(SignedDuration::from_hours(3));
    d.publishing.sweep().await.unwrap();
    d.run_for(SignedDuration::from_hours(1)).await;
    assert_eq!(d.w.li.posts().len(), 1);
    let audit: Vec<String> = d.w.audit().await.into_iter().map(|a| a.0).collect();
    assert!(audit.contains(&"publication.published".to_owned()), "{audit:?}");
}

#[tokio::test]
async fn a_post_edited_or_rescheduled_after_approval_does_not_go_out_at_the_old_time() {
    let d = desk().await;
    let owner = &d.w.owner.1;
    let s = &d.w.e.services;
    let edited = d.approved("First version", SignedDuration::from_hours(1)).await;
    let edited =
        s.edit_post(owner, edited.id, edited.version, linkedin_post("Second version", Some(&d.member))).await.unwrap();
    assert_eq!(edited.state, PostState::PendingReview);

    let moved = d.approved("Moved to the afternoon", SignedDuration::from_hours(1)).await;
    let tz = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
    let later = (d.now() + SignedDuration::from_hours(5)).to_zoned(tz).datetime();
    let moved = s.schedule_post(owner, moved.id, moved.version, Some(later)).await.unwrap();
    assert_eq!(moved.state, PostState::Scheduled, "time is not content: the approval stands");

    d.w.e.clock.advance(SignedDuration::from_hours(2));
    d.run_due().await;
    assert!(d.w.li.posts().is_empty(), "{:?}", d.w.li.posts());
    assert_eq!(d.post(&edited).await.state, PostState::PendingReview);
    assert_eq!(d.post(&moved).await.state, PostState::Scheduled);

    d.w.e.clock.advance(SignedDuration::from_hours(3));
    d.run_due().await;
    let posts = d.w.li.posts();
    assert_eq!(posts.len(), 1);
    assert!(posts[0].commentary.contains("afternoon"));
}

#[tokio::test]
async fn a_post_that_missed_its_time_during_downtime_is_not_published_late_and_the_workspace_is_told() {
    let d = desk().await;
    let post = d.approved("Breakfast special until 11", SignedDuration::from_hours(1)).await;
    // The service was down for five hours: the job runs long after its time.
    d.w.e.clock.advance(SignedDuration::from_hours(6));
    d.run_due().await;
    assert!(d.w.li.posts().is_empty());
    let after = d.post(&post).await;
    assert_eq!(after.state, PostState::Failed);
    let p = &d.w.e.services.publications(&d.w.owner.1, post.id).await.unwrap()[0];
    assert_eq!(p.state, PublicationState::Failed);
    assert_eq!(p.error_class.as_deref(), Some("missed"));
    assert!(p.error.as_deref().unwrap().contains("was due 5 hours ago"), "{p:?}");
    let mail = d.w.e.services.store().outbox(50).await.unwrap();
    assert!(mail.iter().any(|m| m.to.as_str() == "owner@example.com" && m.kind == "publish_failed"), "{mail:?}");

    // A person decides it is still wanted: it goes out now, once.
    let retried = d.w.e.services.retry_publishing(&d.w.owner.1, post.id, after.version).await.unwrap();
    assert_eq!(retried.state, PostState::Scheduled);
    d.run_due().await;
    assert_eq!(d.w.li.posts().len(), 1);
    assert_eq!(d.post(&post).await.state, PostState::Published);
}

#[tokio::test]
async fn a_target_without_a_usable_account_fails_with_a_reason_and_others_are_not_touched() {
    let d = desk().await;
    let owner = &d.w.owner.1;
    let s = &d.w.e.services;
    // Approved while the brand had one LinkedIn account (the page was disconnected), then the
    // page came back: two accounts and no choice made, so publishing refuses rather than guesses.
    let accounts = d.w.accounts.connected_accounts(owner, d.w.brand).await.unwrap();
    let page = accounts.iter().find(|a| a.external_id.starts_with("urn:li:organization:")).unwrap();
    d.w.accounts.disconnect(owner, page.id).await.unwrap();
    let post = s.create_post(owner, d.w.brand, linkedin_post("Which one?", None)).await.unwrap();
    let post = s.submit_post(owner, post.id, post.version).await.unwrap();
    let post = s.approve_post(&d.reviewer.1, post.id, &post.content.digest()).await.unwrap();
    d.w.connect(&d.w.owner, Flavour::Linkedin).await.unwrap();
    let post = d.w.e.services.publish_now(owner, post.id, post.version).await.unwrap();
    assert_eq!(post.state, PostState::Scheduled);
    d.run_due().await;
    assert!(d.w.li.posts().is_empty());
    assert_eq!(d.post(&post).await.state, PostState::Failed);
    let p = &d.w.e.services.publications(owner, post.id).await.unwrap()[0];
    assert!(p.error.as_deref().unwrap().contains("several LinkedIn accounts"), "{p:?}");

    // A viewer may not publish, another workspace cannot see it.
    let viewer = d.w.e.member(owner, "viewer@example.com", Role::Viewer).await;
    let fresh = d.approved("Viewer cannot push this", SignedDuration::from_hours(1)).await;
    assert!(matches!(
        d.w.e.services.publish_now(&viewer.1, fresh.id, fresh.version).await,
        Err(ServiceError::Forbidden(_))
    ));
    let stranger = d.w.e.owner("stranger@example.com").await;
    assert!(d.w.e.services.publications(&stranger.1, post.id).await.unwrap().is_empty());
    assert!(matches!(
        d.w.e.services.retry_publishing(&stranger.1, post.id, post.version).await,
        Err(ServiceError::NotFound)
    ));
}

#[tokio::test]
async fn a_lost_answer_to_the_creating_call_never_makes_a_second_post() {
    let d = desk().await;
    let post = d.approved("Exactly once", SignedDuration::from_mins(1)).await;
    // LinkedIn creates the post, then the connection drops before the answer.
    d.w.li.fail_next(Route::post("/rest/posts"), Failure::DropAfterAction);
    d.w.e.clock.advance(SignedDuration::from_mins(1));
    d.run_for(SignedDuration::from_hours(2)).await;
    assert_eq!(d.w.li.posts().len(), 1, "{:?}", d.w.li.posts());
    let p = &d.w.e.services.publications(&d.w.owner.1, post.id).await.unwrap()[0];
    // Either found again on the network, or left to a person: never posted twice.
    assert!(matches!(p.state, PublicationState::Published | PublicationState::Unconfirmed), "{p:?}");
    let state = d.post(&post).await.state;
    assert!(matches!(state, PostState::Published | PostState::Unconfirmed), "{state}");
}

#[tokio::test]
async fn a_rate_limited_creating_call_is_waited_out_and_goes_out_once() {
    let d = desk().await;
    let post = d.approved("Through the storm", SignedDuration::from_mins(1)).await;
    d.w.li.fail_times(Route::post("/rest/posts"), Failure::RateLimited { retry_after: Some(600) }, 2);
    d.w.e.clock.advance(SignedDuration::from_mins(1));
    let started = d.now();
    d.run_for(SignedDuration::from_hours(48)).await;
    assert_eq!(d.w.li.posts().len(), 1);
    assert_eq!(d.post(&post).await.state, PostState::Published);
    let tries: Vec<Timestamp> = d.w.li.requests_to(&Route::post("/rest/posts")).iter().map(|r| r.at).collect();
    assert_eq!(tries.len(), 3, "{tries:?}");
    assert!(tries[1] >= started + SignedDuration::from_secs(600), "the rate limit's wait was honoured: {tries:?}");
}

#[tokio::test]
async fn a_server_error_at_the_creating_call_is_left_to_a_person_who_resolves_it() {
    let d = desk().await;
    let owner = &d.w.owner.1;
    let post = d.approved("Did it go?", SignedDuration::from_mins(1)).await;
    // A 500 to the creating call: LinkedIn may or may not have the post, and cannot be asked
    // (listing a member's posts needs a scope apps rarely get).
    d.w.li.fail_next(Route::post("/rest/posts"), Failure::ServerError);
    d.w.e.clock.advance(SignedDuration::from_mins(1));
    d.run_for(SignedDuration::from_hours(2)).await;
    assert!(d.w.li.posts().is_empty());
    let after = d.post(&post).await;
    assert_eq!(after.state, PostState::Unconfirmed);
    let p = d.w.e.services.publications(owner, post.id).await.unwrap().remove(0);
    assert_eq!(p.state, PublicationState::Unconfirmed);
    let mail = d.w.e.services.store().outbox(50).await.unwrap();
    assert!(mail.iter().any(|m| m.kind == "publish_unconfirmed"), "{mail:?}");
    // Retrying is refused while a person has not looked.
    let retried = d.w.e.services.retry_publishing(owner, post.id, after.version).await.unwrap();
    d.run_due().await;
    assert!(d.w.li.posts().is_empty(), "an unconfirmed publication never goes again by itself");
    assert_eq!(d.post(&post).await.state, PostState::Unconfirmed, "{retried:?}");

    // The person checked: it is not there. The next retry sends it, once.
    let p = d.w.e.services.resolve_unconfirmed(owner, p.id, None).await.unwrap();
    assert_eq!(p.state, PublicationState::Failed);
    let failed = d.post(&post).await;
    assert_eq!(failed.state, PostState::Failed);
    d.w.e.services.retry_publishing(owner, post.id, failed.version).await.unwrap();
    d.run_due().await;
    assert_eq!(d.w.li.posts().len(), 1);
    assert_eq!(d.post(&post).await.state, PostState::Published);
}

#[tokio::test]
async fn a_revoked_token_fails_the_publication_and_asks_for_a_reconnect() {
    let d = desk().await;
    let post = d.approved("Nobody home", SignedDuration::from_mins(1)).await;
    // The member revoked the app: every call, the token refresh included, is refused.
    d.w.li.fail_always(Route::any(), Failure::TokenRevoked);
    d.w.e.clock.advance(SignedDuration::from_mins(1));
    d.run_for(SignedDuration::from_hours(1)).await;
    assert!(d.w.li.posts().is_empty());
    let p = &d.w.e.services.publications(&d.w.owner.1, post.id).await.unwrap()[0];
    assert_eq!(d.post(&post).await.state, PostState::Failed, "{p:?}");
    assert_eq!(p.error_class.as_deref(), Some("reconnect_needed"), "{p:?}");
    let mail = d.w.e.services.store().outbox(50).await.unwrap();
    assert!(mail.iter().any(|m| m.kind == "reconnect_needed"), "{mail:?}");
}

#[tokio::test]
async fn the_sweep_requeues_a_due_post_whose_job_was_lost() {
    let d = desk().await;
    let post = d.approved("Lost and found", SignedDuration::from_mins(10)).await;
    // Lose the job (as a Redis queue that lost its data would).
    let q = d.w.e.services.queue().clone();
    let key = format!("{PUBLISH_POST}:{}:{}", post.id, post.schedule.as_ref().unwrap().instant().as_microsecond());
    let job = q.job_by_key(&key).await.unwrap().expect("the publish job was enqueued with the approval");
    q.cancel(job.id).await.unwrap();
    d.w.e.clock.advance(SignedDuration::from_mins(11));
    d.run_due().await;
    assert!(d.w.li.posts().is_empty());
    let report = d.publishing.sweep().await.unwrap();
    assert_eq!(report.posts_requeued, 1, "{report:?}");
    d.run_due().await;
    assert_eq!(d.w.li.posts().len(), 1);
    assert_eq!(d.publishing.sweep().await.unwrap(), Default::default());
}

#[tokio::test]
async fn a_publication_waits_while_another_worker_publishes_to_the_same_account() {
    let d = desk().await;
    let post = d.approved("One at a time", SignedDuration::from_mins(1)).await;
    let account = d.w.e.services.store().connected_accounts(post.workspace_id, Some(post.brand_id)).await.unwrap();
    let member = account.iter().find(|a| a.external_id == d.member).unwrap().id;
    // Another worker holds the account's one slot for ten minutes.
    let other = uuid::Uuid::now_v7();
    let until = d.now() + SignedDuration::from_mins(10);
    assert!(d.w.e.services.store().take_publishing_slot(member, other, 1, until, d.now()).await.unwrap());
    d.w.e.clock.advance(SignedDuration::from_mins(1));
    d.run_for(SignedDuration::from_mins(2)).await;
    assert!(d.w.li.posts().is_empty(), "nothing is sent while the slot is taken");
    let p = &d.w.e.services.publications(&d.w.owner.1, post.id).await.unwrap()[0];
    assert_eq!(p.state, PublicationState::Pending, "waiting is not failing: {p:?}");
    // The other worker finishes: the post goes out, once.
    d.w.e.services.store().release_publishing_slot(member, other).await.unwrap();
    d.run_for(SignedDuration::from_mins(1)).await;
    assert_eq!(d.w.li.posts().len(), 1);
    assert_eq!(d.post(&post).await.state, PostState::Published);
}

#[tokio::test]
async fn a_brand_may_allow_its_posts_to_go_out_later_after_downtime() {
    let d = desk().await;
    let owner = &d.w.owner.1;
    let s = &d.w.e.services;
    // This brand's posts are still worth publishing up to eight hours late.
    let input = nanopost_domain::brand::BrandInput { late_tolerance_minutes: Some(8 * 60), ..super::brand_input() };
    s.update_brand(owner, d.w.brand, &input).await.unwrap();
    let bad = nanopost_domain::brand::BrandInput { late_tolerance_minutes: Some(100_000), ..super::brand_input() };
    assert!(matches!(s.update_brand(owner, d.w.brand, &bad).await, Err(ServiceError::Invalid(_))));
    let post = d.approved("Evergreen news", SignedDuration::from_hours(1)).await;
    d.w.e.clock.advance(SignedDuration::from_hours(6));
    d.run_due().await;
    assert_eq!(d.w.li.posts().len(), 1, "five hours late, within the brand's eight");
    assert_eq!(d.post(&post).await.state, PostState::Published);
}

#[tokio::test]
async fn a_post_for_two_linkedin_accounts_is_not_approved_until_one_is_chosen() {
    let d = desk().await;
    let s = &d.w.e.services;
    let owner = &d.w.owner.1;
    // As a generated draft arrives: LinkedIn, no account named, and the brand has the member
    // and the Company Page.
    let post = s.create_post(owner, d.w.brand, linkedin_post("Which page?", None)).await.unwrap();
    let post = s.submit_post(owner, post.id, post.version).await.unwrap();
    let problems = s.target_problems(owner, &post).await.unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].blocks_approval());
    assert!(problems[0].what_to_do().starts_with("Choose which LinkedIn account"), "{problems:?}");

    let err = s.approve_post(&d.reviewer.1, post.id, &post.content.digest()).await.unwrap_err();
    let ServiceError::Invalid(v) = &err else { panic!("{err:?}") };
    assert_eq!(v.0[0].field, "targets");
    assert!(v.0[0].message.starts_with("Choose which LinkedIn account this post goes to (the brand has 2:"), "{v:?}");
    let unchanged = d.post(&post).await;
    assert_eq!(
        (unchanged.state, unchanged.version, unchanged.approval_id),
        (PostState::PendingReview, post.version, None)
    );
    assert!(s.post(owner, post.id).await.unwrap().approvals.is_empty());

    // Choosing the member (an edit: the new content is what gets approved) settles it.
    let chosen =
        s.edit_post(owner, post.id, post.version, linkedin_post("Which page?", Some(&d.member))).await.unwrap();
    assert!(s.target_problems(owner, &chosen).await.unwrap().is_empty());
    let approved = s.approve_post(&d.reviewer.1, post.id, &chosen.content.digest()).await.unwrap();
    assert_eq!(approved.state, PostState::Approved);
}

#[tokio::test]
async fn with_one_account_per_network_an_unnamed_target_resolves_and_a_gone_account_blocks() {
    let d = desk().await;
    let s = &d.w.e.services;
    let owner = &d.w.owner.1;
    let accounts = d.w.accounts.connected_accounts(owner, d.w.brand).await.unwrap();
    let page = accounts.iter().find(|a| a.external_id.starts_with("urn:li:organization:")).unwrap();
    let page_urn = page.external_id.clone();
    d.w.accounts.disconnect(owner, page.id).await.unwrap();

    // One LinkedIn account left: the draft that names none goes to it, nothing to choose.
    let post = s.create_post(owner, d.w.brand, linkedin_post("Only one", None)).await.unwrap();
    let post = s.submit_post(owner, post.id, post.version).await.unwrap();
    assert!(s.target_problems(owner, &post).await.unwrap().is_empty());
    s.approve_post(&d.reviewer.1, post.id, &post.content.digest()).await.unwrap();

    // A post naming the disconnected page cannot be approved; hostile ids are just "not connected".
    for named in [page_urn.as_str(), "urn:li:person:<script>", ""] {
        let post = s.create_post(owner, d.w.brand, linkedin_post("Gone", Some(named))).await.unwrap();
        let post = s.submit_post(owner, post.id, post.version).await.unwrap();
        let err = s.approve_post(&d.reviewer.1, post.id, &post.content.digest()).await.unwrap_err();
        assert!(
            matches!(&err, ServiceError::Invalid(v) if v.0[0].message.contains("is not connected to this brand")),
            "{err:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_people_taking_the_next_queue_slot_at_once_get_two_slots() {
    let d = desk().await;
    let s = &d.w.e.services;
    let owner = &d.w.owner.1;
    let brand = s.brand(owner, d.w.brand).await.unwrap();
    let mut input = nanopost_domain::brand::BrandInput::from(&brand.profile);
    input.slots = vec!["mon 09:00".into(), "wed 09:00".into(), "fri 09:00".into()];
    s.update_brand(owner, brand.id, &input).await.unwrap();
    let mut posts = vec![];
    for i in 0..6 {
        posts.push(d.approved(&format!("Queued {i}"), SignedDuration::from_hours(1)).await);
    }
    let mut placing = tokio::task::JoinSet::new();
    for p in &posts {
        let (s, owner, id, version) = (s.clone(), owner.clone(), p.id, p.version);
        placing.spawn(async move { s.schedule_in_next_slot(&owner, id, version).await });
    }
    let placed: Vec<Post> = placing.join_all().await.into_iter().map(Result::unwrap).collect();
    let mut at: Vec<Timestamp> = placed.iter().map(|p| p.schedule.as_ref().unwrap().instant()).collect();
    at.sort();
    at.dedup();
    assert_eq!(at.len(), 6, "six posts, six different slots: {at:?}");
    assert!(placed.iter().all(|p| p.state == PostState::Scheduled && p.approval_id.is_some()));
}
