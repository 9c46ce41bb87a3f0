//! Review in Telegram end to end against the fake Bot API: linking with one-time codes, drafts
//! sent to linked reviewers only, button presses as approvals through the Telegram channel
//! (bound to the digest that was sent, checked against the role at press time), 429 back-off,
//! unlinking, and long polling with a stored offset.

use super::{Env, brand_input, content};
use jiff::{SignedDuration, Timestamp};
use nanopost_domain::approval::Channel;
use nanopost_domain::clock::{Clock, ManualClock};
use nanopost_domain::post::{Post, PostState};
use nanopost_domain::role::Role;
use nanopost_fakes::telegram::{ChatMessage, too_many_requests};
use nanopost_fakes::{FakeTelegram, Route, TelegramConfig};
use nanopost_jobs::{Claim, JobQueue};
use nanopost_services::telegram::{
    CHANGED_ANSWER, OUTDATED_NOTE, SEND_REVIEW, TELEGRAM_REJECT_REASON, TelegramChannel,
};
use nanopost_services::{Actor, Argon2Params, ServiceConfig, ServiceError, Services};
use nanopost_storage::{Store, User};
use nanopost_telegram::{Bot, BotConfig, BotToken};
use std::sync::Arc;

struct World {
    e: Env,
    tg: FakeTelegram,
    owner: (User, Actor),
}

async fn world() -> World {
    let path = std::env::temp_dir().join(format!("nanopost-telegram-{}.db", uuid::Uuid::new_v4().simple()));
    let store = Store::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    store.migrate().await.unwrap();
    let clock = Arc::new(ManualClock::new(Timestamp::from_second(1_800_000_000).unwrap()));
    let tg = FakeTelegram::start_with(TelegramConfig::default().with_clock(clock.clone())).await.unwrap();
    let bot = Bot::new(BotConfig::new(BotToken::parse(tg.bot_token()).unwrap()).with_base_url(tg.base_url()));
    let config = ServiceConfig {
        argon2: Argon2Params { memory_kib: 64, iterations: 1, parallelism: 1 },
        public_url: "https://nanopost.example".into(),
        ..ServiceConfig::default()
    };
    let services = Services::new(store, clock.clone(), config).unwrap().with_telegram(TelegramChannel::new(bot, None));
    let e = Env { services, clock, path };
    let owner = e.owner("owner@example.com").await;
    World { e, tg, owner }
}

impl World {
    fn s(&self) -> &Services {
        &self.e.services
    }

    /// Processes what the fake queued for the bot (one long-polling step, no waiting).
    async fn poll(&self) -> usize {
        self.s().poll_telegram_once(0).await.unwrap()
    }

    /// The person links `chat` with a fresh code; returns the bot's answer.
    async fn link(&self, who: &Actor, chat: i64) -> String {
        let code = self.s().create_telegram_link_code(who).await.unwrap();
        self.tg.user_sends_text(chat, &code.command()).await;
        self.poll().await;
        self.tg.last_bot_message(chat).unwrap().text.unwrap()
    }

    /// Runs every queued Telegram send job once; returns the failures.
    async fn run_send_jobs(&self) -> Vec<nanopost_jobs::JobError> {
        let q = self.s().queue();
        let now = self.e.clock.now();
        let claim = Claim { now, lease_until: now + SignedDuration::from_mins(5), limit: 100 };
        let mut failures = vec![];
        for job in q.claim(&claim).await.unwrap() {
            assert_eq!(job.kind, SEND_REVIEW);
            match self.s().run_telegram_send_review(&job).await {
                Ok(_) => {
                    q.complete(&[job.lease.unwrap()]).await.unwrap();
                }
                Err(e) => {
                    q.retry(job.lease.as_ref().unwrap(), e.retry_at.unwrap_or(now), &e.message, now).await.unwrap();
                    failures.push(e);
                }
            }
        }
        failures
    }

    async fn submitted_post(&self, author: &Actor, caption: &str) -> Post {
        let brand = self.s().create_brand(&self.owner.1, &brand_input()).await.unwrap();
        let post = self.s().create_post(author, brand.id, content(caption)).await.unwrap();
        self.s().submit_post(author, post.id, post.version).await.unwrap()
    }

    /// Presses a button of the last draft in `chat`, and lets the bot handle it.
    async fn press(&self, chat: i64, label: &str) -> ChatMessage {
        let draft = self.tg.last_bot_message(chat).expect("a draft in the chat");
        let data = draft.button(label).unwrap_or_else(|| panic!("no {label} button on {draft:?}"));
        self.tg.user_presses_button(chat, draft.message_id, &data).await.unwrap();
        self.poll().await;
        self.tg.messages(chat).into_iter().find(|m| m.message_id == draft.message_id).unwrap()
    }

    fn last_answer(&self) -> (String, bool) {
        let a = self.tg.callback_answers().pop().expect("the press was answered");
        (a.text.unwrap_or_default(), a.show_alert)
    }
}

const OWNER_CHAT: i64 = 1001;
const REVIEWER_CHAT: i64 = 1002;
const VIEWER_CHAT: i64 = 1003;

#[tokio::test]
async fn a_code_links_once_and_expires() {
    let w = world().await;
    let code = w.s().create_telegram_link_code(&w.owner.1).await.unwrap();
    assert_eq!(code.command(), format!("/start {}", code.code));
    assert_eq!(code.deep_link().unwrap(), format!("https://t.me/{}?start={}", w.tg.bot_username(), code.code));
    assert!(!format!("{code:?}").contains(&code.code), "Debug hides the code");

    // Stored only as a hash.
    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", w.e.path.display())).await.unwrap();
    let stored: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT code_hash FROM telegram_link_codes").fetch_all(&raw).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(!String::from_utf8_lossy(&stored[0]).contains(&code.code));

    w.tg.user_sends_text(OWNER_CHAT, &code.command()).await;
    assert_eq!(w.poll().await, 1);
    let answer = w.tg.last_bot_message(OWNER_CHAT).unwrap().text.unwrap();
    assert!(answer.starts_with("Linked."), "{answer}");
    let status = w.s().telegram_status(&w.owner.1).await.unwrap();
    assert_eq!(status.link.as_ref().map(|l| l.chat_id), Some(OWNER_CHAT));
    assert!(status.enabled && status.may_review);

    // The same code again, from another chat: refused with a sentence.
    w.tg.user_sends_text(REVIEWER_CHAT, &code.code.to_lowercase()).await;
    w.poll().await;
    assert_eq!(
        w.tg.last_bot_message(REVIEWER_CHAT).unwrap().text.unwrap(),
        "This code was already used. Please create a new one in Nanopost."
    );

    // A code older than 10 minutes.
    let late = w.s().create_telegram_link_code(&w.owner.1).await.unwrap();
    w.e.clock.advance(SignedDuration::from_mins(11));
    w.tg.user_sends_text(REVIEWER_CHAT, &late.command()).await;
    w.poll().await;
    assert!(w.tg.last_bot_message(REVIEWER_CHAT).unwrap().text.unwrap().starts_with("This code has expired"));

    // Nonsense.
    w.tg.user_sends_text(REVIEWER_CHAT, "/start NOTACODE99").await;
    w.poll().await;
    assert!(w.tg.last_bot_message(REVIEWER_CHAT).unwrap().text.unwrap().starts_with("I do not know this code"));
    // The failed chat is still unlinked, the owner still linked to theirs.
    assert_eq!(w.s().telegram_status(&w.owner.1).await.unwrap().link.unwrap().chat_id, OWNER_CHAT);

    // Guessing is slowed down: after five wrong codes in a row, even a good one waits.
    for _ in 0..3 {
        w.tg.user_sends_text(REVIEWER_CHAT, "/start ZZZZZZZZZZ").await;
    }
    w.poll().await;
    let good = w.s().create_telegram_link_code(&w.owner.1).await.unwrap();
    w.tg.user_sends_text(REVIEWER_CHAT, &good.command()).await;
    w.poll().await;
    assert!(w.tg.last_bot_message(REVIEWER_CHAT).unwrap().text.unwrap().starts_with("Too many wrong codes"));
}

#[tokio::test]
async fn viewers_and_editors_cannot_link_and_a_removed_member_code_is_void() {
    let w = world().await;
    let (_, viewer) = w.e.member(&w.owner.1, "viewer@example.com", Role::Viewer).await;
    assert!(matches!(w.s().create_telegram_link_code(&viewer).await, Err(ServiceError::Forbidden(_))));
    let (reviewer_user, reviewer) = w.e.member(&w.owner.1, "reviewer@example.com", Role::Reviewer).await;
    let code = w.s().create_telegram_link_code(&reviewer).await.unwrap();
    w.s().remove_member(&w.owner.1, reviewer_user.id).await.unwrap();
    w.tg.user_sends_text(REVIEWER_CHAT, &code.command()).await;
    w.poll().await;
    assert!(w.tg.last_bot_message(REVIEWER_CHAT).unwrap().text.unwrap().starts_with("This code is no longer valid"));
}

#[tokio::test]
async fn drafts_go_to_linked_members_who_may_review_only() {
    let w = world().await;
    let (_, reviewer) = w.e.member(&w.owner.1, "reviewer@example.com", Role::Reviewer).await;
    let (viewer_user, viewer) = w.e.member(&w.owner.1, "viewer@example.com", Role::Viewer).await;
    let (_, editor) = w.e.member(&w.owner.1, "editor@example.com", Role::Editor).await;
    let (_, _unlinked) = w.e.member(&w.owner.1, "quiet@example.com", Role::Reviewer).await;
    w.link(&w.owner.1, OWNER_CHAT).await;
    w.link(&reviewer, REVIEWER_CHAT).await;
    // The viewer linked while they were a reviewer, then was demoted.
    w.s().set_role(&w.owner.1, viewer_user.id, Role::Reviewer).await.unwrap();
    let as_reviewer = Actor { role: Role::Reviewer, ..viewer.clone() };
    w.link(&as_reviewer, VIEWER_CHAT).await;
    w.s().set_role(&w.owner.1, viewer_user.id, Role::Viewer).await.unwrap();

    let post = w.submitted_post(&editor, "Fresh sourdough, out at 7").await;
    assert!(w.run_send_jobs().await.is_empty());
    for chat in [OWNER_CHAT, REVIEWER_CHAT] {
        let draft = w.tg.last_bot_message(chat).unwrap();
        let text = draft.text.clone().unwrap();
        assert!(text.contains("Fresh sourdough, out at 7"), "{text}");
        assert!(text.contains(&format!("https://nanopost.example/w/{}/posts/{}", post.workspace_id, post.id)));
        let labels: Vec<String> = draft.buttons().into_iter().map(|(t, _)| t).collect();
        assert_eq!(labels, ["✅ Approve", "❌ Reject", "🔁 Regenerate"]);
        assert!(draft.buttons().iter().all(|(_, d)| d.len() <= 64));
    }
    let viewer_msgs = w.tg.bot_messages(VIEWER_CHAT);
    assert!(viewer_msgs.last().unwrap().text.as_deref().unwrap().starts_with("Linked."), "the viewer got no draft");
    // Running the job again sends nothing twice.
    let before = w.tg.bot_messages(OWNER_CHAT).len();
    w.s().run_telegram_send_review(&fake_job(&post)).await.unwrap();
    assert_eq!(w.tg.bot_messages(OWNER_CHAT).len(), before);
}

/// A send job for `post` as `submit_post` enqueues it.
fn fake_job(post: &Post) -> nanopost_jobs::Job {
    nanopost_jobs::Job {
        id: nanopost_jobs::JobId::new(),
        workspace_id: Some(post.workspace_id),
        kind: SEND_REVIEW.into(),
        payload: serde_json::json!({"workspace_id": post.workspace_id, "post_id": post.id, "digest": post.content.digest()}),
        state: nanopost_jobs::JobState::Running,
        due_at: post.updated_at,
        priority: 0,
        attempts: 1,
        max_attempts: 10,
        unique_key: None,
        lease: None,
        cancel_requested: false,
        last_error: None,
        created_at: post.updated_at,
    }
}

#[tokio::test]
async fn approve_in_telegram_is_an_approval_by_that_reviewer_through_telegram() {
    let w = world().await;
    let (reviewer_user, reviewer) = w.e.member(&w.owner.1, "reviewer@example.com", Role::Reviewer).await;
    w.link(&reviewer, REVIEWER_CHAT).await;
    let post = w.submitted_post(&w.owner.1, "Approve me").await;
    w.run_send_jobs().await;
    let edited = w.press(REVIEWER_CHAT, "✅ Approve").await;

    let view = w.s().post(&w.owner.1, post.id).await.unwrap();
    assert_eq!(view.post.state, PostState::Approved);
    assert_eq!(view.approvals.len(), 1);
    let a = &view.approvals[0];
    assert_eq!((a.approver, a.channel, a.approver_role), (reviewer_user.id, Channel::Telegram, Role::Reviewer));
    assert_eq!(a.digest, post.content.digest(), "bound to the digest that was sent");
    assert_eq!(w.last_answer().0, "Approved.");
    assert!(
        edited
            .text
            .as_deref()
            .unwrap()
            .ends_with(&format!("✅ Approved by {} in Telegram.", reviewer_user.display_name))
    );
    assert!(edited.buttons().is_empty(), "the buttons are gone once decided");
    let audit = w.s().audit_log(&w.owner.1, nanopost_storage::PageRequest::first(50)).await.unwrap();
    assert!(audit.items.iter().any(|e| e.action == "post.approved" && e.actor_id == Some(reviewer_user.id)));
}

#[tokio::test]
async fn a_draft_edited_after_it_was_sent_cannot_be_approved_from_the_old_message() {
    let w = world().await;
    let (_, reviewer) = w.e.member(&w.owner.1, "reviewer@example.com", Role::Reviewer).await;
    w.link(&reviewer, REVIEWER_CHAT).await;
    let post = w.submitted_post(&w.owner.1, "Version one").await;
    w.run_send_jobs().await;
    w.s().edit_post(&w.owner.1, post.id, post.version, content("Version two")).await.unwrap();

    let edited = w.press(REVIEWER_CHAT, "✅ Approve").await;
    let view = w.s().post(&w.owner.1, post.id).await.unwrap();
    assert_eq!(view.post.state, PostState::PendingReview);
    assert!(view.approvals.is_empty());
    let (answer, alert) = w.last_answer();
    assert_eq!(answer, format!("{CHANGED_ANSWER}."));
    assert!(alert);
    assert!(edited.text.as_deref().unwrap().contains(CHANGED_ANSWER));
    assert!(edited.buttons().is_empty());
    // Reject on the same stale message decides nothing either.
    assert!(w.tg.user_presses_button(REVIEWER_CHAT, edited.message_id, "r:whatever").await.is_err());
}

#[tokio::test]
async fn a_reviewer_demoted_after_the_draft_was_sent_is_refused() {
    let w = world().await;
    let (reviewer_user, reviewer) = w.e.member(&w.owner.1, "reviewer@example.com", Role::Reviewer).await;
    w.link(&reviewer, REVIEWER_CHAT).await;
    let post = w.submitted_post(&w.owner.1, "Careful").await;
    w.run_send_jobs().await;
    w.s().set_role(&w.owner.1, reviewer_user.id, Role::Viewer).await.unwrap();

    let after = w.press(REVIEWER_CHAT, "✅ Approve").await;
    assert_eq!(w.s().post(&w.owner.1, post.id).await.unwrap().post.state, PostState::PendingReview);
    let (answer, alert) = w.last_answer();
    assert!(answer.contains("no longer allows"), "{answer}");
    assert!(alert);
    assert_eq!(after.buttons().len(), 3, "nothing decided: the buttons stay");

    // Promoted again, the same button works.
    w.s().set_role(&w.owner.1, reviewer_user.id, Role::Reviewer).await.unwrap();
    w.press(REVIEWER_CHAT, "✅ Approve").await;
    assert_eq!(w.s().post(&w.owner.1, post.id).await.unwrap().post.state, PostState::Approved);
}

#[tokio::test]
async fn reject_and_regenerate_buttons() {
    let w = world().await;
    let (_, reviewer) = w.e.member(&w.owner.1, "reviewer@example.com", Role::Reviewer).await;
    w.link(&reviewer, REVIEWER_CHAT).await;
    let post = w.submitted_post(&w.owner.1, "Not great").await;
    w.run_send_jobs().await;

    w.press(REVIEWER_CHAT, "🔁 Regenerate").await;
    let (answer, _) = w.last_answer();
    assert!(answer.starts_with("Regenerate is available in the web app"), "{answer}");
    assert_eq!(w.s().post(&w.owner.1, post.id).await.unwrap().post.state, PostState::PendingReview);

    let edited = w.press(REVIEWER_CHAT, "❌ Reject").await;
    let view = w.s().post(&w.owner.1, post.id).await.unwrap();
    assert_eq!(view.post.state, PostState::Rejected);
    assert_eq!(view.post.rejection_reason.as_deref(), Some(TELEGRAM_REJECT_REASON));
    assert!(edited.text.as_deref().unwrap().contains("❌ Rejected by"));
}

#[tokio::test]
async fn a_429_makes_the_job_come_back_at_the_time_telegram_named() {
    let w = world().await;
    w.link(&w.owner.1, OWNER_CHAT).await;
    w.tg.fail_next(Route::post("/*/sendMessage"), too_many_requests(7));
    let post = w.submitted_post(&w.owner.1, "Busy").await;
    let failures = w.run_send_jobs().await;
    assert_eq!(failures.len(), 1);
    let now = w.e.clock.now();
    assert_eq!(failures[0].retry_at, Some(now + SignedDuration::from_secs(7)));
    assert!(!failures[0].permanent);
    // The job waits in the queue until then (the retry policy never brings it earlier).
    let policy = nanopost_jobs::RetryPolicy::default();
    let mut job = fake_job(&post);
    job.attempts = 1;
    assert_eq!(
        policy.decide(&job, &failures[0], now, 0.999),
        nanopost_jobs::retry::Decision::RetryAt(now + SignedDuration::from_secs(7))
    );
    assert!(w.run_send_jobs().await.is_empty());
    assert!(w.tg.bot_messages(OWNER_CHAT).last().unwrap().text.as_ref().unwrap().starts_with("Linked."), "not yet due");
    w.e.clock.advance(SignedDuration::from_secs(7));
    assert!(w.run_send_jobs().await.is_empty());
    assert!(w.tg.last_bot_message(OWNER_CHAT).unwrap().text.unwrap().contains("Busy"));
}

#[tokio::test]
async fn unlinking_stops_every_message() {
    let w = world().await;
    let (_, reviewer) = w.e.member(&w.owner.1, "reviewer@example.com", Role::Reviewer).await;
    w.link(&w.owner.1, OWNER_CHAT).await;
    w.link(&reviewer, REVIEWER_CHAT).await;
    assert!(w.s().unlink_telegram(&w.owner.1).await.unwrap());
    assert!(!w.s().unlink_telegram(&w.owner.1).await.unwrap());
    // /stop in the bot.
    w.tg.user_sends_text(REVIEWER_CHAT, "/stop").await;
    w.poll().await;
    assert!(w.tg.last_bot_message(REVIEWER_CHAT).unwrap().text.unwrap().starts_with("Unlinked."));
    let (owner_before, reviewer_before) = (w.tg.bot_messages(OWNER_CHAT).len(), w.tg.bot_messages(REVIEWER_CHAT).len());

    w.submitted_post(&w.owner.1, "Nobody in Telegram sees this").await;
    assert!(w.run_send_jobs().await.is_empty());
    assert_eq!(w.tg.bot_messages(OWNER_CHAT).len(), owner_before);
    assert_eq!(w.tg.bot_messages(REVIEWER_CHAT).len(), reviewer_before);
}

#[tokio::test]
async fn buttons_of_a_chat_that_was_unlinked_decide_nothing() {
    let w = world().await;
    let (_, reviewer) = w.e.member(&w.owner.1, "reviewer@example.com", Role::Reviewer).await;
    w.link(&reviewer, REVIEWER_CHAT).await;
    let post = w.submitted_post(&w.owner.1, "Linked then not").await;
    w.run_send_jobs().await;
    w.s().unlink_telegram(&reviewer).await.unwrap();
    w.press(REVIEWER_CHAT, "✅ Approve").await;
    assert!(w.last_answer().0.contains("no longer linked"));
    assert_eq!(w.s().post(&w.owner.1, post.id).await.unwrap().post.state, PostState::PendingReview);
}

#[tokio::test]
async fn long_polling_handles_updates_once_and_stores_the_offset() {
    let w = world().await;
    w.tg.user_sends_text(OWNER_CHAT, "/help").await;
    w.tg.user_sends_text(OWNER_CHAT, "hello?").await;
    assert_eq!(w.poll().await, 2);
    let bot_id = w.tg.bot_token().split(':').next().unwrap().to_owned();
    let offset = w.s().store().telegram_poll_offset(&bot_id).await.unwrap().unwrap();
    assert_eq!(w.tg.bot_messages(OWNER_CHAT).len(), 2, "one answer each");
    // Nothing comes twice, even for a new process reading the stored offset.
    assert_eq!(w.poll().await, 0);
    assert!(w.tg.pending_updates().is_empty(), "the stored offset confirmed them");
    w.tg.user_sends_text(OWNER_CHAT, "/start").await;
    assert_eq!(w.poll().await, 1);
    assert_eq!(w.s().store().telegram_poll_offset(&bot_id).await.unwrap(), Some(offset + 1));
}

fn jpeg(w: u32, h: u32, shade: u8) -> Vec<u8> {
    use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
    let img = RgbImage::from_fn(w, h, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, shade]));
    let mut out = std::io::Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(img).write_to(&mut out, ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// A submitted LinkedIn post with `images` uploaded JPEGs.
async fn post_with_images(w: &World, images: u8) -> Post {
    use nanopost_domain::network::Network;
    use nanopost_domain::post::{MediaRef, PostContent, Target, Variant};
    use nanopost_services::media::MediaUpload;
    let brand = w.s().create_brand(&w.owner.1, &brand_input()).await.unwrap();
    let mut media = vec![];
    for i in 0..images {
        let upload = MediaUpload {
            brand_id: Some(brand.id),
            file_name: format!("bread{i}.jpg"),
            bytes: jpeg(640, 480, 40 * i),
            alt_text: "Bread".into(),
            tags: vec![],
        };
        let up = w.s().upload_media(&w.owner.1, upload).await.unwrap();
        media.push(MediaRef { id: up.media.id, digest: up.media.digest.clone() });
    }
    let content = PostContent {
        variants: vec![Variant {
            network: Network::Linkedin,
            caption: "With pictures".into(),
            media,
            options: Default::default(),
        }],
        targets: vec![Target { network: Network::Linkedin, account: None }],
    };
    let post = w.s().create_post(&w.owner.1, brand.id, content).await.unwrap();
    w.s().submit_post(&w.owner.1, post.id, post.version).await.unwrap()
}

#[tokio::test]
async fn images_go_as_a_photo_or_an_album_before_the_buttons() {
    use nanopost_fakes::telegram::PhotoSent;
    let w = world().await;
    w.link(&w.owner.1, OWNER_CHAT).await;
    let before = w.tg.bot_messages(OWNER_CHAT).len();
    post_with_images(&w, 1).await;
    assert!(w.run_send_jobs().await.is_empty());
    let sent = w.tg.bot_messages(OWNER_CHAT)[before..].to_vec();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(
        matches!(&sent[0].photo, Some(PhotoSent::Upload { content_type, bytes, .. }) if content_type == "image/jpeg" && bytes.starts_with(&[0xFF, 0xD8]))
    );
    assert!(sent[0].buttons().is_empty());
    assert!(sent[1].text.as_deref().unwrap().contains("With pictures"));
    assert_eq!(sent[1].buttons().len(), 3);

    let before = w.tg.bot_messages(OWNER_CHAT).len();
    post_with_images(&w, 3).await;
    assert!(w.run_send_jobs().await.is_empty());
    let sent = w.tg.bot_messages(OWNER_CHAT)[before..].to_vec();
    assert_eq!(sent.len(), 4, "an album of three, then the buttons");
    let group = sent[0].media_group_id.clone().expect("an album");
    assert!(sent[..3].iter().all(|m| m.media_group_id.as_ref() == Some(&group) && m.photo.is_some()));
    assert_eq!(sent[3].buttons().len(), 3);
    // The buttons still decide: the press finds the draft by its last message.
    w.press(OWNER_CHAT, "✅ Approve").await;
    assert_eq!(w.last_answer().0, "Approved.");
}

#[tokio::test]
async fn deleting_an_account_unlinks_its_telegram_chat_at_once() {
    let w = world().await;
    let (reviewer_user, reviewer) = w.e.member(&w.owner.1, "reviewer@example.com", Role::Reviewer).await;
    w.link(&reviewer, REVIEWER_CHAT).await;
    w.s().create_telegram_link_code(&reviewer).await.unwrap();
    assert!(w.s().store().telegram_link(reviewer_user.id).await.unwrap().is_some());
    w.s().delete_account(&reviewer_user, super::PASSWORD).await.unwrap();
    // Deactivated at once: the chat is no longer linked, before any purge.
    assert!(w.s().store().telegram_link(reviewer_user.id).await.unwrap().is_none());
    assert!(w.s().store().telegram_link_by_chat(REVIEWER_CHAT).await.unwrap().is_none());
    let before = w.tg.bot_messages(REVIEWER_CHAT).len();
    w.submitted_post(&w.owner.1, "Not for a deleted account").await;
    assert!(w.run_send_jobs().await.is_empty());
    assert_eq!(w.tg.bot_messages(REVIEWER_CHAT).len(), before);
}

#[tokio::test]
async fn an_edit_during_review_sends_the_new_version_and_retires_the_old_buttons() {
    let w = world().await;
    let (_, reviewer) = w.e.member(&w.owner.1, "reviewer@example.com", Role::Reviewer).await;
    w.link(&reviewer, REVIEWER_CHAT).await;
    let post = w.submitted_post(&w.owner.1, "Version one").await;
    w.run_send_jobs().await;
    let first = w.tg.last_bot_message(REVIEWER_CHAT).unwrap();
    assert_eq!(first.buttons().len(), 3);

    // Saving the same content again is no new version: nothing more is sent.
    let same = w.s().edit_post(&w.owner.1, post.id, post.version, content("Version one")).await.unwrap();
    assert!(w.run_send_jobs().await.is_empty());
    assert_eq!(w.tg.last_bot_message(REVIEWER_CHAT).unwrap().message_id, first.message_id);

    let edited = w.s().edit_post(&w.owner.1, post.id, same.version, content("Version two")).await.unwrap();
    assert!(w.run_send_jobs().await.is_empty());
    let second = w.tg.last_bot_message(REVIEWER_CHAT).unwrap();
    assert_ne!(second.message_id, first.message_id, "the new version is a new message");
    assert!(second.text.as_deref().unwrap().contains("Version two"));
    assert_eq!(second.buttons().len(), 3);
    let old = w.tg.messages(REVIEWER_CHAT).into_iter().find(|m| m.message_id == first.message_id).unwrap();
    assert!(old.buttons().is_empty(), "the old version's buttons are gone");
    let old_text = old.text.unwrap();
    assert!(old_text.contains("Version one") && old_text.ends_with(OUTDATED_NOTE), "{old_text}");
    assert!(
        w.tg.user_presses_button(REVIEWER_CHAT, first.message_id, &first.button("✅ Approve").unwrap()).await.is_err()
    );

    // The new message approves the new content.
    w.press(REVIEWER_CHAT, "✅ Approve").await;
    let view = w.s().post(&w.owner.1, post.id).await.unwrap();
    assert_eq!(view.post.state, PostState::Approved);
    assert_eq!(view.approvals[0].digest, edited.content.digest());
}

#[tokio::test]
async fn approve_on_a_draft_whose_linkedin_account_is_not_chosen_says_what_to_do() {
    let w = world().await;
    let (_, reviewer) = w.e.member(&w.owner.1, "reviewer@example.com", Role::Reviewer).await;
    w.link(&reviewer, REVIEWER_CHAT).await;
    let post = w.submitted_post(&w.owner.1, "Member or page?").await;
    for (urn, name) in [("urn:li:person:1", "Ada Lovelace"), ("urn:li:organization:2", "Acme Page")] {
        w.s().store().save_connected_account(&linkedin_account(&post, urn, name)).await.unwrap();
    }
    w.run_send_jobs().await;

    let after = w.press(REVIEWER_CHAT, "✅ Approve").await;
    let (answer, alert) = w.last_answer();
    assert!(alert);
    assert!(
        answer.starts_with(
            "Not approved. Choose which LinkedIn account this post goes to (the brand has 2: Ada Lovelace, Acme Page)"
        ),
        "{answer}"
    );
    let view = w.s().post(&w.owner.1, post.id).await.unwrap();
    assert_eq!(view.post.state, PostState::PendingReview);
    assert!(view.approvals.is_empty());
    assert_eq!(after.buttons().len(), 3, "nothing decided: the buttons stay until a new version comes");
}

fn linkedin_account(post: &Post, urn: &str, name: &str) -> nanopost_storage::ConnectedAccount {
    use nanopost_storage::{AccountKind, AccountStatus, ConnectedAccountId, SealedSecret, SealedTokens};
    let sealed = SealedSecret { nonce: vec![1; 24], ciphertext: vec![2; 32] };
    nanopost_storage::ConnectedAccount {
        id: ConnectedAccountId::new(),
        workspace_id: post.workspace_id,
        brand_id: post.brand_id,
        network: nanopost_domain::network::Network::Linkedin,
        kind: if urn.contains("organization") {
            AccountKind::LinkedinOrganization
        } else {
            AccountKind::LinkedinMember
        },
        grant_id: uuid::Uuid::now_v7(),
        external_id: urn.into(),
        display_name: name.into(),
        handle: None,
        details: Default::default(),
        scopes: vec![],
        tokens: SealedTokens { key_id: "k".into(), wrapped_key: vec![3; 72], access: sealed, refresh: None },
        token_version: 1,
        token_issued_at: post.created_at,
        access_expires_at: None,
        refresh_expires_at: None,
        refresh_due_at: None,
        status: AccountStatus::Active,
        status_reason: None,
        created_at: post.created_at,
        updated_at: post.created_at,
    }
}
