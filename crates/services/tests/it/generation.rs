//! Generation end to end over a real SQLite file and the real job runtime with a controllable
//! clock, with the offline provider and against the fake OpenAI-compatible server: drafts land
//! pending review with their images, plans follow the brand's slots in its zone, failures leave
//! nothing behind, the quota holds, guardrails flag, and providers see only what they need.

use crate::Env;
use jiff::{SignedDuration, Timestamp};
use nanopost_ai::openai::{OpenAiConfig, RetryPolicy};
use nanopost_ai::{AiConfig, AiProviders, ApiKey};
use nanopost_domain::brand::BrandInput;
use nanopost_domain::clock::{Clock, ManualClock};
use nanopost_domain::ids::BrandId;
use nanopost_domain::network::Network;
use nanopost_domain::post::{Post, PostContent, PostState, Target, Variant};
use nanopost_domain::role::Role;
use nanopost_fakes::openai::{FakeOpenAi, Misbehaviour};
use nanopost_fakes::{Failure, Route};
use nanopost_jobs::{Handlers, JobQueue, Runtime, RuntimeConfig};
use nanopost_media::store::KeyPrefix;
use nanopost_services::generation::{FlagKind, Generation, Period, PlanInput, PostInput};
use nanopost_services::media::MediaUpload;
use nanopost_services::{Actor, Argon2Params, ServiceConfig, ServiceError, Services};
use nanopost_storage::{
    GenerationKind, GenerationRecord, GenerationState, MediaFilter, PageRequest, PostFilter, Store, User,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

const START: &str = "2027-01-12T10:00:00Z";
const OWNER_EMAIL: &str = "owner.private@acme-mail.example";

struct Desk {
    e: Env,
    owner: (User, Actor),
    brand: BrandId,
}

/// Services over a fresh SQLite file with `ai` (offline when `None`) and a monthly `quota`.
async fn desk_with(ai: Option<AiProviders>, quota: u32, start: &str) -> Desk {
    let path = std::env::temp_dir().join(format!("nanopost-services-gen-{}.db", uuid::Uuid::new_v4().simple()));
    let store = Store::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    store.migrate().await.unwrap();
    let clock = Arc::new(ManualClock::new(start.parse().unwrap()));
    let mut config = ServiceConfig {
        argon2: Argon2Params { memory_kib: 64, iterations: 1, parallelism: 1 },
        ..ServiceConfig::default()
    };
    config.generation.monthly_quota = quota;
    let mut services = Services::new(store, clock.clone(), config).unwrap();
    if let Some(ai) = ai {
        services = services.with_ai(Arc::new(ai));
    }
    let e = Env { services, clock, path };
    let owner = e.owner(OWNER_EMAIL).await;
    let brand = e.services.create_brand(&owner.1, &brand_input()).await.unwrap().id;
    Desk { e, owner, brand }
}

async fn desk() -> Desk {
    desk_with(None, 0, START).await
}

fn brand_input() -> BrandInput {
    BrandInput {
        name: "Acme Bakery".into(),
        description: "A family bakery baking sourdough since 1990.".into(),
        voice: "warm, playful".into(),
        audience: "bread lovers".into(),
        timezone: "Europe/Berlin".into(),
        topics: vec!["sourdough bread".into(), "seasonal pastries".into()],
        hashtags: vec!["AcmeBakery".into(), "sourdough".into()],
        colors: vec!["#7a3e1d".into(), "#f4d35e".into()],
        avoid_words: vec!["cheap".into()],
        avoid_claims: vec!["gluten-free".into()],
        posts_per_week: 3,
        slots: vec!["mon 09:00".into(), "wed 09:00".into(), "fri 09:00".into()],
        competitors: vec!["instagram:rival_bakery_handle".into()],
        ..Default::default()
    }
}

/// Providers on the fake: fast retries, no image model (images are offline cards), and
/// provider-level retries off where `job_retries` is set, so failures reach the job engine.
fn remote(fake: &FakeOpenAi, job_retries: bool) -> AiProviders {
    let config = OpenAiConfig {
        name: "fake".into(),
        base_url: fake.base_url(),
        api_key: Some(ApiKey::new("sk-test-generation")),
        text_model: "gpt-4o-mini".into(),
        request_timeout_ms: 5_000,
        retry: RetryPolicy {
            max_attempts: if job_retries { 1 } else { 3 },
            base_delay_ms: 5,
            max_delay_ms: 20,
            max_retry_after_ms: 50,
        },
        ..OpenAiConfig::default()
    };
    AiProviders::from_config(&AiConfig::OpenaiCompatible(Box::new(config))).unwrap()
}

impl Desk {
    fn s(&self) -> &Services {
        &self.e.services
    }

    fn now(&self) -> Timestamp {
        self.e.clock.now()
    }

    /// Runs every job due now, and their follow-ups, as the worker would.
    async fn run_due(&self) -> usize {
        let clock: Arc<dyn Clock> = self.e.clock.clone();
        let handlers = Generation::new(self.s()).register(Handlers::new());
        Runtime::new(self.s().queue().clone(), handlers, RuntimeConfig::default(), clock)
            .run_until_idle(200)
            .await
            .unwrap()
    }

    async fn record(&self, g: &GenerationRecord) -> GenerationRecord {
        self.s().store().generation(g.workspace_id, g.id).await.unwrap().unwrap()
    }

    async fn drafts(&self) -> Vec<Post> {
        let filter = PostFilter { brand_id: Some(self.brand), state: None };
        self.s().posts(&self.owner.1, &filter, PageRequest::first(100)).await.unwrap().items
    }

    async fn library(&self) -> usize {
        let filter = MediaFilter::default();
        self.s().media_list(&self.owner.1, &filter, PageRequest::first(100)).await.unwrap().items.len()
    }

    async fn stored_objects(&self) -> usize {
        nanopost_media::store::list_all(self.s().media_store().as_ref(), KeyPrefix::All).await.unwrap().len()
    }

    /// The stored bytes behind a media reference hash to its digest.
    async fn assert_digest_matches(&self, r: &nanopost_domain::post::MediaRef) {
        let m = self.s().media_item(&self.owner.1, r.id).await.unwrap();
        let key = nanopost_media::store::ObjectKey::parse(&m.storage_key).unwrap();
        let bytes = self.s().media_store().get(&key).await.unwrap().expect("the file is stored");
        let digest =
            format!("sha256:{}", Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect::<String>());
        assert_eq!(digest, r.digest, "the post pins the digest of the stored bytes");
        assert_eq!(m.mime, "image/jpeg");
    }
}

fn caption_reply(network: &str, text: &str) -> Misbehaviour {
    Misbehaviour::Reply(
        json!({"captions": [{"network": network, "text": text, "hashtags": ["AcmeBakery"], "headline": "Fresh rye"}]}),
    )
}

#[tokio::test]
async fn a_generated_post_lands_pending_review_with_a_caption_per_network_within_limits_and_its_image() {
    let d = desk().await;
    let reviewer = d.e.member(&d.owner.1, "reviewer@example.com", Role::Reviewer).await;
    let input = PostInput {
        networks: vec![Network::Instagram, Network::Linkedin, Network::Tiktok],
        brief: "Our new rye loaf, out of the oven at 7.".into(),
    };
    let g = d.s().generate_post(&d.owner.1, d.brand, input).await.unwrap();
    assert_eq!(g.state, GenerationState::Queued);
    assert!(d.drafts().await.is_empty(), "nothing is written before the job runs");

    assert_eq!(d.run_due().await, 1);
    let view = d.s().generation(&d.owner.1, g.id).await.unwrap();
    assert_eq!(view.record.state, GenerationState::Done, "{:?}", view.record.error);
    assert_eq!((view.record.provider.as_deref(), view.record.offline), (Some("offline"), true));
    assert_eq!(view.posts.len(), 1);
    let post = d.s().post(&d.owner.1, view.posts[0].post_id).await.unwrap().post;
    assert_eq!(post.state, PostState::PendingReview);
    assert!(post.schedule.is_none() && post.approval_id.is_none(), "never scheduled, never approved (I1)");
    assert_eq!(post.content.variants.len(), 3);
    assert_eq!(post.content.targets.len(), 3);
    let original = &post.content.variants[0].media[0];
    for v in &post.content.variants {
        assert!(!v.caption.trim().is_empty());
        assert!(v.caption.chars().count() <= v.network.caption_limit(), "{} caption too long", v.network);
        assert!(nanopost_platforms::rules::hashtags(&v.caption) <= v.network.max_hashtags());
        assert_eq!(v.media.len(), 1, "{} has its image", v.network);
        d.assert_digest_matches(&v.media[0]).await;
    }
    assert!(post.content.validate().is_ok());
    let image = d.s().media_item(&d.owner.1, original.id).await.unwrap();
    assert!(image.tags.contains(&"ai-generated".to_owned()));
    assert!(image.alt_text.contains("Acme Bakery"));

    // The editor knows it was written by the AI, offline.
    let ai = d.s().post_ai(&d.owner.1, &post).await.unwrap();
    let provenance = ai.provenance.expect("provenance");
    assert_eq!((provenance.kind, provenance.offline), (GenerationKind::Post, true));
    assert!(ai.suggestion.is_none(), "a single post suggests no time");

    // Usage: one generation, one image, no tokens offline; the reviewer was told.
    let usage = d.s().ai_usage(&d.owner.1).await.unwrap();
    assert_eq!((usage.generations, usage.images, usage.prompt_tokens, usage.completion_tokens), (1, 1, 0, 0));
    let notices = d.s().notifications(&reviewer.1, false, PageRequest::first(10)).await.unwrap().items;
    assert!(notices.iter().any(|n| n.kind == "drafts_ready"), "{notices:?}");

    // A job that runs again changes nothing.
    assert!(
        !d.s()
            .store()
            .finish_generation(&nanopost_storage::GenerationOutcome {
                generation: &d.record(&g).await,
                posts: &[],
                links: &[],
                usage: Default::default(),
                month: "2027-01",
            })
            .await
            .unwrap(),
        "an ended generation is not ended again"
    );
}

#[tokio::test]
async fn only_members_who_edit_content_may_generate_and_input_is_checked() {
    let d = desk().await;
    let viewer = d.e.member(&d.owner.1, "viewer@example.com", Role::Viewer).await;
    let reviewer = d.e.member(&d.owner.1, "reviewer@example.com", Role::Reviewer).await;
    let input = || PostInput { networks: vec![Network::Instagram], brief: String::new() };
    for actor in [&viewer.1, &reviewer.1] {
        assert!(matches!(d.s().generate_post(actor, d.brand, input()).await, Err(ServiceError::Forbidden(_))));
        let plan = PlanInput {
            networks: vec![Network::Instagram],
            period: Period::Week,
            count: Some(1),
            theme: String::new(),
        };
        assert!(matches!(d.s().generate_plan(actor, d.brand, plan).await, Err(ServiceError::Forbidden(_))));
    }
    let none = PostInput { networks: vec![], brief: "x".repeat(3_000) };
    let Err(ServiceError::Invalid(v)) = d.s().generate_post(&d.owner.1, d.brand, none).await else { panic!() };
    let fields: Vec<_> = v.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, vec!["networks", "brief"]);
    let too_many =
        PlanInput { networks: vec![Network::Instagram], period: Period::Week, count: Some(4), theme: String::new() };
    let Err(ServiceError::Invalid(v)) = d.s().generate_plan(&d.owner.1, d.brand, too_many).await else { panic!() };
    assert!(v.to_string().contains("3 queue slots in the coming week"), "{v}");
    // Another workspace's brand is not found.
    let (_, stranger) = d.e.owner("stranger@example.com").await;
    assert!(matches!(d.s().generate_post(&stranger, d.brand, input()).await, Err(ServiceError::NotFound)));
    assert_eq!(d.s().ai_usage(&d.owner.1).await.unwrap().generations, 0, "refusals are not counted");
}

#[tokio::test]
async fn a_plan_lands_spread_over_the_brand_slots_in_its_zone_across_a_dst_change() {
    // Thursday 26 March 2026, noon in Berlin; clocks go forward on Sunday 29 March.
    let d = desk_with(None, 0, "2026-03-26T11:00:00Z").await;
    let mut input = brand_input();
    input.slots = vec!["fri 09:00".into(), "sun 09:00".into(), "mon 09:00".into(), "tue 09:00".into()];
    d.s().update_brand(&d.owner.1, d.brand, &input).await.unwrap();
    let plan = PlanInput {
        networks: vec![Network::Instagram, Network::Linkedin],
        period: Period::Week,
        count: None,
        theme: "Easter".into(),
    };
    let g = d.s().generate_plan(&d.owner.1, d.brand, plan).await.unwrap();
    let asked = d.s().generation(&d.owner.1, g.id).await.unwrap();
    assert_eq!(asked.count, 3, "the cadence's posts a week");
    assert_eq!(asked.suggestions.len(), 3, "suggested times are known at once");

    d.run_due().await;
    let view = d.s().generation(&d.owner.1, g.id).await.unwrap();
    assert_eq!(view.record.state, GenerationState::Done, "{:?}", view.record.error);
    assert_eq!(view.posts.len(), 3);
    let shown: Vec<String> = view
        .posts
        .iter()
        .map(|l| {
            format!("{} {} {}", l.suggested_local.unwrap(), l.suggested_tz.as_deref().unwrap(), l.suggested_at.unwrap())
        })
        .collect();
    // Four slots in the week (Fri, Sun, Mon, Tue), three posts spread over them; 09:00 local
    // throughout, so UTC moves by an hour across the change.
    assert_eq!(
        shown,
        vec![
            "2026-03-27T09:00:00 Europe/Berlin 2026-03-27T08:00:00Z",
            "2026-03-29T09:00:00 Europe/Berlin 2026-03-29T07:00:00Z",
            "2026-03-30T09:00:00 Europe/Berlin 2026-03-30T07:00:00Z",
        ]
    );
    for (i, link) in view.posts.iter().enumerate() {
        assert_eq!(link.position as usize, i);
        let post = d.s().post(&d.owner.1, link.post_id).await.unwrap().post;
        assert_eq!(post.state, PostState::PendingReview);
        assert!(post.schedule.is_none(), "a suggestion is not a schedule");
        let ai = d.s().post_ai(&d.owner.1, &post).await.unwrap();
        assert_eq!(ai.suggestion.unwrap().suggested_at, link.suggested_at);
        for v in &post.content.variants {
            d.assert_digest_matches(&v.media[0]).await;
        }
    }
    let usage = d.s().ai_usage(&d.owner.1).await.unwrap();
    assert_eq!((usage.generations, usage.images), (1, 3), "a plan is one generation with an image per draft");
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_by_the_job_engine() {
    let fake = FakeOpenAi::start().await.unwrap();
    let d = desk_with(Some(remote(&fake, true)), 0, START).await;
    fake.fail_next(Route::post("**/chat/completions"), Failure::RateLimited { retry_after: Some(120) });
    let g = d
        .s()
        .generate_post(&d.owner.1, d.brand, PostInput { networks: vec![Network::Linkedin], brief: "Rye.".into() })
        .await
        .unwrap();

    d.run_due().await;
    let waiting = d.record(&g).await;
    assert_eq!(waiting.state, GenerationState::Queued);
    assert!(waiting.progress.starts_with("Waiting to try again"), "{}", waiting.progress);
    let job = d.s().queue().job_by_key(&format!("generation:{}", g.id)).await.unwrap().unwrap();
    assert!(
        job.due_at >= d.now() + SignedDuration::from_secs(120),
        "Retry-After is respected: {} vs {}",
        job.due_at,
        d.now()
    );
    assert!(job.last_error.as_deref().unwrap_or("").contains("rate limiting"));

    d.e.clock.advance(SignedDuration::from_secs(60));
    assert_eq!(d.run_due().await, 0, "not before the provider said");
    d.e.clock.advance(SignedDuration::from_secs(61));
    assert_eq!(d.run_due().await, 1);
    let done = d.record(&g).await;
    assert_eq!(done.state, GenerationState::Done, "{:?}", done.error);
    assert_eq!(done.provider.as_deref(), Some("fake (gpt-4o-mini); images: offline"));
    assert!(!done.offline, "written by the endpoint, so not labelled offline");
    assert_eq!(fake.chats().len(), 1, "the throttled request never reached validation; the retry did");
    let usage = d.s().ai_usage(&d.owner.1).await.unwrap();
    assert!(usage.prompt_tokens > 0 && usage.completion_tokens > 0, "tokens are metered from the provider's usage");
}

#[tokio::test]
async fn a_refusal_fails_the_generation_with_a_sentence_and_leaves_no_orphan_media_or_draft() {
    let fake = FakeOpenAi::start().await.unwrap();
    let d = desk_with(Some(remote(&fake, false)), 0, START).await;
    // A plan of two: the plan and the first captions are fine (its image is stored), then the
    // second captions are refused.
    let ideas = json!({"posts": [
        {"topic": "rye", "angle": "tip", "headline": "Rye at seven", "brief": "The rye loaf."},
        {"topic": "buns", "angle": "story", "headline": "Sunday buns", "brief": "Cinnamon buns."}
    ]});
    fake.misbehave_next(Misbehaviour::Reply(ideas));
    fake.misbehave_next(caption_reply("instagram", "Rye, warm from the oven."));
    fake.misbehave_next(Misbehaviour::Refusal("I can't help with that.".into()));
    let plan =
        PlanInput { networks: vec![Network::Instagram], period: Period::Week, count: Some(2), theme: String::new() };
    let g = d.s().generate_plan(&d.owner.1, d.brand, plan).await.unwrap();

    d.run_due().await;
    let failed = d.record(&g).await;
    assert_eq!(failed.state, GenerationState::Failed);
    let error = failed.error.unwrap();
    assert!(error.starts_with("The AI declined to write this") && error.ends_with('.'), "{error}");
    assert!(failed.finished_at.is_some());
    assert!(d.drafts().await.is_empty(), "no draft without its image, and no half plan");
    assert_eq!(d.library().await, 0, "the image of the first draft was removed");
    assert_eq!(d.stored_objects().await, 0, "with its file");
    let usage = d.s().ai_usage(&d.owner.1).await.unwrap();
    assert_eq!(usage.generations, 0, "a failed generation does not count against the quota");
    assert_eq!(usage.images, 1, "but what was made is metered");
    assert_eq!(d.run_due().await, 0, "its job is finished, not retried");
}

#[tokio::test]
async fn a_transient_failure_resumes_from_the_checkpoint_without_making_anything_twice() {
    let fake = FakeOpenAi::start().await.unwrap();
    let d = desk_with(Some(remote(&fake, true)), 0, START).await;
    let ideas = json!({"posts": [
        {"topic": "rye", "angle": "tip", "headline": "Rye at seven", "brief": "The rye loaf."},
        {"topic": "buns", "angle": "story", "headline": "Sunday buns", "brief": "Cinnamon buns."}
    ]});
    fake.misbehave_next(Misbehaviour::Reply(ideas));
    fake.misbehave_next(caption_reply("instagram", "Rye, warm from the oven."));
    fake.misbehave_next(Misbehaviour::MalformedBody);
    fake.misbehave_next(caption_reply("instagram", "Buns on Sunday."));
    let plan =
        PlanInput { networks: vec![Network::Instagram], period: Period::Week, count: Some(2), theme: String::new() };
    let g = d.s().generate_plan(&d.owner.1, d.brand, plan).await.unwrap();

    d.run_due().await;
    assert_eq!(d.record(&g).await.state, GenerationState::Queued, "a malformed answer is retried");
    assert_eq!(d.library().await, 1, "the first draft's image is kept for the retry");
    d.e.clock.advance(SignedDuration::from_mins(5));
    d.run_due().await;
    let done = d.record(&g).await;
    assert_eq!(done.state, GenerationState::Done, "{:?}", done.error);
    let plans = fake.chats().iter().filter(|c| c.schema_name.as_deref() == Some("post_plan")).count();
    assert_eq!(plans, 1, "the plan was not asked for again");
    assert_eq!(fake.chats().len(), 4, "plan, captions, the malformed one, its retry");
    assert_eq!(d.library().await, 2, "one image per draft, none twice");
    let captions: Vec<String> = d.drafts().await.iter().map(|p| p.content.variants[0].caption.clone()).collect();
    assert!(
        captions.iter().any(|c| c.starts_with("Rye, warm")) && captions.iter().any(|c| c.starts_with("Buns on Sunday")),
        "{captions:?}"
    );
}

#[tokio::test]
async fn the_quota_stops_the_generation_after_the_last_one_of_the_month() {
    let d = desk_with(None, 2, START).await;
    let input = || PostInput { networks: vec![Network::Instagram], brief: String::new() };
    d.s().generate_post(&d.owner.1, d.brand, input()).await.unwrap();
    d.s().generate_post(&d.owner.1, d.brand, input()).await.unwrap();
    let Err(ServiceError::Conflict(why)) = d.s().generate_post(&d.owner.1, d.brand, input()).await else {
        panic!("the third is refused")
    };
    assert!(why.contains("used its 2 AI generations for January 2027"), "{why}");
    assert!(why.contains("1 February 2027"), "{why}");
    d.run_due().await;
    let posts = d.drafts().await;
    assert_eq!(posts.len(), 2);
    assert!(
        matches!(d.s().regenerate(&d.owner.1, posts[0].id, "shorter").await, Err(ServiceError::Conflict(m)) if m.contains("AI generations")),
        "every kind counts"
    );
    let usage = d.s().ai_usage(&d.owner.1).await.unwrap();
    assert_eq!((usage.generations, usage.quota, usage.remaining()), (2, 2, Some(0)));

    // Another workspace has its own quota; a new month starts afresh.
    let (_, other) = d.e.owner("other@example.com").await;
    let theirs = d.s().create_brand(&other, &brand_input()).await.unwrap();
    d.s().generate_post(&other, theirs.id, input()).await.unwrap();
    d.e.clock.set("2027-02-01T00:00:01Z".parse().unwrap());
    d.s().generate_post(&d.owner.1, d.brand, input()).await.unwrap();
    assert_eq!(d.s().ai_usage(&d.owner.1).await.unwrap().generations, 1);
}

#[tokio::test]
async fn guardrails_flag_a_forbidden_word_and_too_many_hashtags() {
    let fake = FakeOpenAi::start().await.unwrap();
    let d = desk_with(Some(remote(&fake, false)), 0, START).await;
    let tags: String = (0..40).map(|i| format!(" #tag{i}")).collect();
    fake.misbehave_next(caption_reply("instagram", &format!("Our cheap rye is back!{tags}")));
    let g = d
        .s()
        .generate_post(&d.owner.1, d.brand, PostInput { networks: vec![Network::Instagram], brief: "Rye".into() })
        .await
        .unwrap();
    d.run_due().await;
    let view = d.s().generation(&d.owner.1, g.id).await.unwrap();
    assert_eq!(view.record.state, GenerationState::Done, "{:?}", view.record.error);
    let post = d.s().post(&d.owner.1, view.posts[0].post_id).await.unwrap().post;
    assert_eq!(
        nanopost_platforms::rules::hashtags(&post.content.variants[0].caption),
        30,
        "cut to the network's limit"
    );
    assert!(view.posts[0].notes.iter().any(|n| n.contains("40 hashtags")), "{:?}", view.posts[0].notes);
    let flags = d.s().post_ai(&d.owner.1, &post).await.unwrap().flags;
    assert_eq!(flags.iter().map(|f| f.kind).collect::<Vec<_>>(), vec![FlagKind::AvoidWord]);
    assert_eq!(flags[0].reason, "Uses \"cheap\", a word the brand avoids.");

    // The same guardrails for a draft a person wrote.
    let mentions: String = (0..21).map(|i| format!(" @friend{i}")).collect();
    let content = PostContent {
        variants: vec![Variant {
            network: Network::Instagram,
            caption: format!("Now gluten-free!{mentions}"),
            media: vec![],
            options: BTreeMap::new(),
        }],
        targets: vec![Target { network: Network::Instagram, account: None }],
    };
    let mine = d.s().create_post(&d.owner.1, d.brand, content).await.unwrap();
    let flags = d.s().post_flags(&d.owner.1, mine.id).await.unwrap();
    assert_eq!(flags.iter().map(|f| f.kind).collect::<Vec<_>>(), vec![FlagKind::AvoidClaim, FlagKind::Mentions]);
    assert!(d.s().post_ai(&d.owner.1, &mine).await.unwrap().provenance.is_none(), "a person wrote it");
}

#[tokio::test]
async fn regenerate_with_feedback_voids_the_approval_and_returns_to_review() {
    let d = desk().await;
    let reviewer = d.e.member(&d.owner.1, "reviewer@example.com", Role::Reviewer).await;
    let viewer = d.e.member(&d.owner.1, "viewer@example.com", Role::Viewer).await;
    d.s()
        .generate_post(&d.owner.1, d.brand, PostInput { networks: vec![Network::Linkedin], brief: "Rye".into() })
        .await
        .unwrap();
    d.run_due().await;
    let post = d.drafts().await.remove(0);
    let approved = d.s().approve_post(&reviewer.1, post.id, &post.content.digest()).await.unwrap();
    assert_eq!(approved.state, PostState::Approved);

    assert!(matches!(d.s().regenerate(&viewer.1, post.id, "shorter").await, Err(ServiceError::Forbidden(_))));
    assert!(matches!(d.s().regenerate(&d.owner.1, post.id, "  ").await, Err(ServiceError::Invalid(_))));
    let g = d.s().regenerate(&d.owner.1, post.id, "shorter, please").await.unwrap();
    d.run_due().await;
    let view = d.s().generation(&d.owner.1, g.id).await.unwrap();
    assert_eq!(view.record.state, GenerationState::Done, "{:?}", view.record.error);
    assert_eq!(view.feedback.as_deref(), Some("shorter, please"));
    let after = d.s().post(&d.owner.1, post.id).await.unwrap().post;
    assert_eq!(after.state, PostState::PendingReview, "back to review");
    assert!(after.approval_id.is_none(), "the approval is void");
    assert_ne!(after.content.variants[0].caption, post.content.variants[0].caption);
    assert_eq!(after.content.variants[0].media, post.content.variants[0].media, "the image stays");
    let provenance = d.s().post_ai(&d.owner.1, &after).await.unwrap().provenance.unwrap();
    assert_eq!(provenance.kind, GenerationKind::Regenerate);
    assert!(provenance.link.notes.iter().any(|n| n.contains("shorter")), "{:?}", provenance.link.notes);
}

#[tokio::test]
async fn describing_an_image_suggests_alt_text_that_a_person_may_use() {
    let d = desk().await;
    let mut png = Vec::new();
    let img = image::RgbImage::from_pixel(64, 48, image::Rgb([200, 40, 40]));
    image::DynamicImage::ImageRgb8(img).write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    let upload = MediaUpload {
        brand_id: Some(d.brand),
        file_name: "red.png".into(),
        bytes: png,
        alt_text: String::new(),
        tags: vec![],
    };
    let media = d.s().upload_media(&d.owner.1, upload).await.unwrap().media;
    assert!(matches!(d.s().use_image_description(&d.owner.1, media.id).await, Err(ServiceError::Conflict(_))));
    let g = d.s().describe_image(&d.owner.1, media.id).await.unwrap();
    d.run_due().await;
    assert_eq!(d.record(&g).await.state, GenerationState::Done);
    let suggestion = d.s().image_description(&d.owner.1, media.id).await.unwrap().expect("a suggestion");
    assert!(suggestion.offline);
    assert!(suggestion.alt_text.contains("64×48"), "{}", suggestion.alt_text);
    assert!(!suggestion.suggested_caption.is_empty());
    let used = d.s().use_image_description(&d.owner.1, media.id).await.unwrap();
    assert_eq!(used.alt_text, suggestion.alt_text);
}

#[tokio::test]
async fn a_lost_job_is_enqueued_again_and_a_dead_one_ends_the_generation() {
    let d = desk().await;
    let input = || PostInput { networks: vec![Network::Instagram], brief: String::new() };
    // Lost: the job is gone (as when Redis lost it); the sweep puts it back.
    let lost = d.s().generate_post(&d.owner.1, d.brand, input()).await.unwrap();
    d.s().queue().cancel_by_key(&format!("generation:{}", lost.id)).await.unwrap();
    assert_eq!(d.run_due().await, 0);
    let sweep = Generation::new(d.s());
    assert_eq!(sweep.sweep().await.unwrap().requeued, 0, "not before it is stale");
    d.e.clock.advance(SignedDuration::from_mins(16));
    assert_eq!(sweep.sweep().await.unwrap().requeued, 1);
    d.run_due().await;
    assert_eq!(d.record(&lost).await.state, GenerationState::Done);

    // Dead: no worker knows the job (every attempt fails); the sweep ends it with a sentence.
    let dead = d.s().generate_post(&d.owner.1, d.brand, input()).await.unwrap();
    let clock: Arc<dyn Clock> = d.e.clock.clone();
    let nobody = Runtime::new(d.s().queue().clone(), Handlers::new(), RuntimeConfig::default(), clock);
    for _ in 0..10 {
        nobody.run_until_idle(50).await.unwrap();
        d.e.clock.advance(SignedDuration::from_hours(2));
    }
    let report = sweep.sweep().await.unwrap();
    assert_eq!(report.failed, 1, "{report:?}");
    let ended = d.record(&dead).await;
    assert_eq!(ended.state, GenerationState::Failed);
    assert!(ended.error.unwrap().contains("Please try again"));
}

#[tokio::test]
async fn promise_ai_providers_receive_only_the_brand_and_content_data_needed_for_the_requested_output() {
    let fake = FakeOpenAi::start().await.unwrap();
    let d = desk_with(Some(remote(&fake, false)), 0, START).await;
    let s = d.s();
    let member = d.e.member(&d.owner.1, "editor.private@acme-mail.example", Role::Editor).await;
    let post = s
        .generate_post(
            &member.1,
            d.brand,
            PostInput { networks: vec![Network::Instagram], brief: "Our new rye loaf.".into() },
        )
        .await
        .unwrap();
    let plan = PlanInput {
        networks: vec![Network::Linkedin],
        period: Period::Week,
        count: Some(2),
        theme: "Harvest week".into(),
    };
    let plan = s.generate_plan(&d.owner.1, d.brand, plan).await.unwrap();
    d.run_due().await;
    let draft = d.drafts().await.into_iter().find(|p| p.content.variants[0].network == Network::Instagram).unwrap();
    let regen = s.regenerate(&d.owner.1, draft.id, "mention the morning bake").await.unwrap();
    let media = draft.content.variants[0].media[0].id;
    let describe = s.describe_image(&d.owner.1, media).await.unwrap();
    d.run_due().await;
    for g in [&post, &plan, &regen, &describe] {
        assert_eq!(d.record(g).await.state, GenerationState::Done, "{:?}", d.record(g).await.error);
    }

    let sent: String = fake.requests().iter().map(|r| r.body_text()).collect();
    for needed in ["Acme Bakery", "Our new rye loaf", "Harvest week", "mention the morning bake", "warm, playful"] {
        assert!(sent.contains(needed), "{needed} is needed for the output and was sent");
    }
    let brand = s.brand(&d.owner.1, d.brand).await.unwrap();
    let never = [
        OWNER_EMAIL.to_owned(),
        "editor.private@acme-mail.example".to_owned(),
        d.owner.0.id.to_string(),
        member.0.id.to_string(),
        d.owner.1.workspace_id.to_string(),
        d.brand.to_string(),
        brand.profile.timezone.clone(),
        "rival_bakery_handle".to_owned(),
        "mon 09:00".to_owned(),
        draft.id.to_string(),
        media.to_string(),
        post.id.to_string(),
        plan.id.to_string(),
    ];
    for secret in never {
        assert!(!sent.contains(&secret), "{secret} reached the AI provider");
    }
}

#[tokio::test]
async fn a_generated_image_is_fitted_per_network_and_drafts_are_isolated_between_workspaces() {
    let d = desk().await;
    let g = d
        .s()
        .generate_post(
            &d.owner.1,
            d.brand,
            PostInput { networks: vec![Network::Linkedin, Network::Instagram], brief: String::new() },
        )
        .await
        .unwrap();
    d.run_due().await;
    let view = d.s().generation(&d.owner.1, g.id).await.unwrap();
    let post = d.s().post(&d.owner.1, view.posts[0].post_id).await.unwrap().post;
    let linkedin = d.s().media_item(&d.owner.1, post.content.variants[0].media[0].id).await.unwrap();
    assert_eq!(
        (linkedin.width, linkedin.height),
        (Some(1200), Some(627)),
        "the card is made in the first network's size"
    );
    for v in &post.content.variants {
        let facts = nanopost_services::media::facts_of(&d.s().media_item(&d.owner.1, v.media[0].id).await.unwrap());
        let issues = nanopost_platforms::rules::check(v.network, &v.caption, &[facts]);
        assert!(issues.is_empty(), "{} takes its image as it is: {issues:?}", v.network);
    }
    let (_, stranger) = d.e.owner("stranger@example.com").await;
    assert!(matches!(d.s().generation(&stranger, g.id).await, Err(ServiceError::NotFound)));
    assert!(matches!(d.s().post_ai(&stranger, &post).await, Err(ServiceError::NotFound)));
    assert!(matches!(d.s().regenerate(&stranger, post.id, "x").await, Err(ServiceError::NotFound)));
}

#[tokio::test]
async fn an_image_left_by_a_crashed_attempt_is_removed_when_the_generation_ends() {
    let d = desk().await;
    let input = PostInput { networks: vec![Network::Instagram], brief: String::new() };
    let g = d.s().generate_post(&d.owner.1, d.brand, input).await.unwrap();
    // What an attempt that died between storing its image and its checkpoint leaves behind.
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(30, 30, image::Rgb([1, 2, 3])))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let tag = format!("gen-{}", g.id.as_uuid().simple());
    let upload = MediaUpload {
        brand_id: Some(d.brand),
        file_name: "lost.png".into(),
        bytes: png,
        alt_text: String::new(),
        tags: vec!["ai-generated".into(), tag],
    };
    let orphan = d.s().upload_media(&d.owner.1, upload).await.unwrap().media;
    // And an unrelated item of the library, which must stay.
    let mut other = Vec::new();
    image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(20, 20, image::Rgb([9, 9, 9])))
        .write_to(&mut std::io::Cursor::new(&mut other), image::ImageFormat::Png)
        .unwrap();
    let kept = MediaUpload {
        brand_id: None,
        file_name: "mine.png".into(),
        bytes: other,
        alt_text: String::new(),
        tags: vec![],
    };
    let kept = d.s().upload_media(&d.owner.1, kept).await.unwrap().media;

    d.run_due().await;
    assert_eq!(d.record(&g).await.state, GenerationState::Done);
    assert!(matches!(d.s().media_item(&d.owner.1, orphan.id).await, Err(ServiceError::NotFound)), "the orphan is gone");
    assert!(d.s().media_item(&d.owner.1, kept.id).await.is_ok(), "a person's upload is never touched");
    let post = d.drafts().await.remove(0);
    d.assert_digest_matches(&post.content.variants[0].media[0]).await;
    assert_eq!(d.library().await, 2, "the draft's image and the person's upload");
}

#[tokio::test]
async fn deleting_a_generated_post_deletes_its_image_once_no_other_post_uses_it() {
    let d = desk().await;
    let input = PostInput { networks: vec![Network::Tiktok, Network::Instagram], brief: "Rye at seven.".into() };
    let g = d.s().generate_post(&d.owner.1, d.brand, input).await.unwrap();
    d.run_due().await;
    let view = d.s().generation(&d.owner.1, g.id).await.unwrap();
    let post = d.s().post(&d.owner.1, view.posts[0].post_id).await.unwrap().post;
    let objects = d.stored_objects().await;
    assert!(objects >= 2, "the generated image and a rendition of it are stored ({objects})");

    // A hand-written post reuses the Instagram rendition: deleting the draft keeps what it uses.
    let instagram = post.content.variants.iter().find(|v| v.network == Network::Instagram).unwrap();
    let content = PostContent {
        variants: vec![Variant {
            network: Network::Instagram,
            caption: "Again, with the same picture.".into(),
            media: instagram.media.clone(),
            options: BTreeMap::new(),
        }],
        targets: vec![Target { network: Network::Instagram, account: None }],
    };
    let keeper = d.s().create_post(&d.owner.1, d.brand, content).await.unwrap();
    d.s().delete_post(&d.owner.1, post.id).await.unwrap();
    assert!(d.library().await >= 1, "the image another post uses stays");
    let used = &instagram.media[0];
    d.assert_digest_matches(used).await;

    // Once the last post that used it is deleted, the image, its renditions and their files go.
    d.s().delete_post(&d.owner.1, keeper.id).await.unwrap();
    let rows = d.s().store().all_media(None, 100).await.unwrap();
    assert!(rows.is_empty(), "no media row is left: {rows:?}");
    assert_eq!(d.stored_objects().await, 0, "no file is left in the media store");
}
