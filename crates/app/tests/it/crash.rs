//! The crash suite (invariant I2): several `nanopost worker` processes publish approved posts
//! to the LinkedIn fake while the test kills them with SIGKILL at random moments and starts
//! them again, on SQLite, on PostgreSQL, and on PostgreSQL with the queue in Redis. Afterwards every approved post is published
//! exactly once per target, or marked unconfirmed (a person checks), or failed with a reason;
//! none is published twice and none is left behind.
//!
//! The fake creates each post at once and answers slowly, so that many kills land between the
//! creation and the saving of its answer: the case that would double-post without the
//! in-flight marker (removing it makes this suite fail).
//! The random seed is printed; `NANOPOST_CRASH_SEED` replays a run.

use crate::harness::{Server, TempDir, nanopost, send_signal};
use crate::postgres::PgDb;
use nanopost_domain::clock::SystemClock;
use nanopost_domain::network::Network;
use nanopost_domain::post::{PostContent, PostState, Target, Variant};
use nanopost_domain::publication::PublicationState;
use nanopost_fakes::{Consent, Failure, FakeLinkedIn, Route, demo};
use nanopost_jobs::{AnyQueue, RedisQueue};
use nanopost_platforms::Secret;
use nanopost_platforms::config::{AppCredentials, LinkedinConfig};
use nanopost_platforms::custody::{KeyRing, derive_key};
use nanopost_platforms::linkedin::Linkedin;
use nanopost_platforms::network::Flavour;
use nanopost_platforms::vault::{Networks, Vault};
use nanopost_services::{Accounts, Actor, Argon2Params, ServiceConfig, Services, SignUpInput};
use nanopost_storage::Store;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const WORKERS: usize = 3;
const POSTS: usize = 24;
/// Posts fall due one after another across the chaos, so kills land at every stage.
const SPREAD: Duration = Duration::from_millis(400);
/// How long workers are killed and restarted at random.
const CHAOS: Duration = Duration::from_secs(12);
/// How long, after the chaos, everything may take to settle.
const SETTLE: Duration = Duration::from_secs(60);

/// A small xorshift generator: the test needs no crate for its dice.
pub(crate) struct Dice(u64);

impl Dice {
    pub(crate) fn new() -> Self {
        let seed = std::env::var("NANOPOST_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
        });
        eprintln!("crash suite seed: {seed} (NANOPOST_CRASH_SEED={seed} replays it)");
        Self(seed)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

pub(crate) struct Installation {
    pub(crate) dir: TempDir,
    pub(crate) database_url: String,
    /// `(url, prefix)` when the queue is in Redis.
    pub(crate) redis: Option<(String, String)>,
    pub(crate) secret: [u8; 32],
    pub(crate) li: FakeLinkedIn,
}

impl Installation {
    /// A fresh installation: its data directory with a secret key, the LinkedIn fake.
    pub(crate) async fn new(
        database_url: String,
        redis: Option<(String, String)>,
        dir: TempDir,
        dice: &mut Dice,
    ) -> Self {
        let mut secret = [0u8; 32];
        for b in &mut secret {
            *b = dice.below(256) as u8;
        }
        write_secret(&dir.data_dir(), &secret);
        let li = FakeLinkedIn::start().await.unwrap();
        Installation { dir, database_url, redis, secret, li }
    }

    /// `nanopost <subcommand>` configured for this installation (database, queue, LinkedIn).
    pub(crate) fn command(&self, subcommand: &str) -> std::process::Command {
        let mut cmd = nanopost(self.dir.path());
        cmd.arg(subcommand)
            .env("NANOPOST_DATA_DIR", self.dir.data_dir())
            .env("NANOPOST_DATABASE_URL", &self.database_url)
            .env("NANOPOST_LOG", "warn")
            .env("NANOPOST_WORKERS__CONCURRENCY", "8")
            .env("NANOPOST_WORKERS__JOB_LEASE_SECS", "2")
            // A call unanswered after 2 s is abandoned; its publication looks again 7 s later.
            .env("NANOPOST_NETWORKS__REQUEST_TIMEOUT_SECS", "2")
            // Slots a killed worker held free themselves after 14 s; leave room meanwhile.
            .env("NANOPOST_PUBLISHING__MAX_CONCURRENT_PER_ACCOUNT", "8")
            .env("NANOPOST_NETWORKS__LINKEDIN__CLIENT_ID", demo::LINKEDIN_CLIENT_ID)
            .env("NANOPOST_NETWORKS__LINKEDIN__CLIENT_SECRET", demo::LINKEDIN_CLIENT_SECRET)
            .env("NANOPOST_NETWORKS__LINKEDIN__OAUTH_URL", self.li.base_url())
            .env("NANOPOST_NETWORKS__LINKEDIN__API_URL", self.li.base_url());
        if let Some((url, prefix)) = &self.redis {
            cmd.env("NANOPOST_QUEUE__BACKEND", "redis")
                .env("NANOPOST_QUEUE__REDIS_URL", url)
                .env("NANOPOST_QUEUE__REDIS_PREFIX", prefix);
        }
        cmd
    }

    fn worker(&self) -> Server {
        Server::start(&mut self.command("worker"), "Nanopost worker is running")
    }
}

fn write_secret(data_dir: &Path, secret: &[u8; 32]) {
    std::fs::create_dir_all(data_dir).unwrap();
    std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let path = data_dir.join("secret.key");
    std::fs::write(&path, secret).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// The test's own view of the installation: its services (same database, same queue), a
/// signed-up owner, a brand, and LinkedIn connected (a member and a Company Page).
pub(crate) struct Desk {
    pub(crate) services: Services,
    pub(crate) actor: Actor,
    pub(crate) brand: nanopost_domain::ids::BrandId,
    pub(crate) targets: Vec<Target>,
}

pub(crate) async fn desk(inst: &Installation) -> Desk {
    let store = Store::connect(&inst.database_url).await.unwrap();
    store.migrate().await.unwrap();
    let config = ServiceConfig {
        argon2: Argon2Params { memory_kib: 64, iterations: 1, parallelism: 1 },
        ..ServiceConfig::default()
    };
    let mut services = Services::new(store.clone(), Arc::new(SystemClock), config).unwrap();
    if let Some((url, prefix)) = &inst.redis {
        services = services.with_queue(AnyQueue::Redis(RedisQueue::connect(url, prefix).await.unwrap()));
    }
    let mut li_cfg = LinkedinConfig::new(
        AppCredentials {
            client_id: demo::LINKEDIN_CLIENT_ID.into(),
            client_secret: Secret::new(demo::LINKEDIN_CLIENT_SECRET),
        },
        "http://127.0.0.1:9/oauth/linkedin/callback",
    );
    li_cfg.oauth_url = inst.li.base_url();
    li_cfg.api_url = inst.li.base_url();
    let networks = Networks { linkedin: Some(Linkedin::new(li_cfg)), ..Default::default() };
    let vault = Vault::new(
        store,
        KeyRing::from_installation_secret(&inst.secret),
        derive_key(&inst.secret, "oauth-pkce/v1"),
        networks,
    );
    let accounts = Accounts::new(services.clone(), Arc::new(vault));
    let user = services
        .sign_up(SignUpInput {
            email: "owner@example.com".into(),
            password: "correct horse battery staple".into(),
            display_name: "Owner".into(),
            workspace_name: "Crash".into(),
            age_confirmed: true,
        })
        .await
        .unwrap();
    let ws = services.workspaces_of(&user).await.unwrap()[0].0.id;
    let actor = services.actor(&user, ws).await.unwrap();
    let brand = nanopost_domain::brand::BrandInput {
        name: "Crash Bakery".into(),
        timezone: "Europe/Berlin".into(),
        ..Default::default()
    };
    let brand = services.create_brand(&actor, &brand).await.unwrap();
    let url = accounts.begin_connect(&actor, brand.id, Flavour::Linkedin).await.unwrap();
    let back = inst.li.consent(&url, Consent::allow()).unwrap();
    let params: BTreeMap<String, String> =
        reqwest::Url::parse(&back).unwrap().query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let connected = accounts.complete_connect(&user, &params).await.unwrap();
    let targets: Vec<Target> = connected
        .accounts
        .iter()
        .map(|a| Target { network: Network::Linkedin, account: Some(a.external_id.clone()) })
        .collect();
    assert_eq!(targets.len(), 2, "the member and the Company Page");
    Desk { services, actor, brand: brand.id, targets }
}

/// Approves `POSTS` posts to both LinkedIn accounts, due one after another from two seconds on.
async fn prepare(inst: &Installation) -> (Services, Actor) {
    let Desk { services, actor, brand, targets } = desk(inst).await;
    for i in 0..POSTS {
        let content = PostContent {
            variants: vec![Variant {
                network: Network::Linkedin,
                caption: format!("Crash test post number {i:02}"),
                media: vec![],
                options: BTreeMap::new(),
            }],
            targets: targets.clone(),
        };
        let post = services.create_post(&actor, brand, content).await.unwrap();
        let post = services.submit_post(&actor, post.id, post.version).await.unwrap();
        let due = jiff::Timestamp::now() + Duration::from_secs(2) + SPREAD * i as u32;
        let local = due.to_zoned(jiff::tz::TimeZone::get("Europe/Berlin").unwrap()).datetime();
        let post = services.schedule_post(&actor, post.id, post.version, Some(local)).await.unwrap();
        services.approve_post(&actor, post.id, &post.content.digest()).await.unwrap();
    }
    (services, actor)
}

async fn run(database_url: String, redis: Option<(String, String)>, dir: TempDir) {
    let mut dice = Dice::new();
    let inst = Installation::new(database_url, redis, dir, &mut dice).await;
    let (services, actor) = prepare(&inst).await;
    // LinkedIn creates the post at once and answers slowly: many kills land between the
    // creation and the saving of its answer.
    inst.li.fail_always(Route::post("/rest/posts"), Failure::SlowAnswer(Duration::from_millis(150)));

    let mut workers: Vec<Server> = (0..WORKERS).map(|_| inst.worker()).collect();
    let started = Instant::now();
    let mut kills = 0;
    while started.elapsed() < CHAOS {
        tokio::time::sleep(Duration::from_millis(100 + dice.below(300))).await;
        let i = dice.below(WORKERS as u64) as usize;
        send_signal(workers[i].pid(), "KILL");
        kills += 1;
        // The handle waits for the killed process; then a fresh one takes its place.
        workers[i] = inst.worker();
    }

    // Let the survivors finish: every post settles (leases of killed workers expire in 2 s).
    let deadline = Instant::now() + SETTLE;
    let posts = loop {
        let page = services
            .posts(&actor, &nanopost_storage::PostFilter::default(), nanopost_storage::PageRequest::first(100))
            .await
            .unwrap();
        let settled = page
            .items
            .iter()
            .all(|p| matches!(p.state, PostState::Published | PostState::Failed | PostState::Unconfirmed));
        if settled || Instant::now() > deadline {
            break page.items;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let stderr: String = workers.iter().map(Server::stderr).collect();
    drop(workers);

    let on_network = inst.li.posts();
    let mut outcome: BTreeMap<&'static str, usize> = BTreeMap::new();
    assert_eq!(posts.len(), POSTS);
    for post in &posts {
        assert!(
            matches!(post.state, PostState::Published | PostState::Failed | PostState::Unconfirmed),
            "post {} was left {} after {kills} kills; workers said:\n{stderr}",
            post.id,
            post.state
        );
        let caption = &post.content.variants[0].caption;
        for p in services.publications(&actor, post.id).await.unwrap() {
            let copies: Vec<_> = on_network
                .iter()
                .filter(|n| !n.deleted && n.author == p.target && n.commentary.contains(caption.as_str()))
                .collect();
            assert!(copies.len() <= 1, "{caption:?} was posted {} times to {}", copies.len(), p.target);
            match p.state {
                PublicationState::Published => {
                    assert_eq!(copies.len(), 1, "{caption:?} to {} is marked published: {p:?}", p.target);
                    assert_eq!(p.external_id.as_deref(), Some(copies[0].urn.as_str()));
                }
                PublicationState::Failed => {
                    assert!(copies.is_empty(), "{caption:?} to {} is marked failed but is out: {p:?}", p.target)
                }
                PublicationState::Unconfirmed => {}
                PublicationState::Pending => panic!("{p:?} is still pending"),
            }
            *outcome.entry(p.state.as_str()).or_default() += 1;
        }
    }
    eprintln!("{kills} kills; publications: {outcome:?}; LinkedIn holds {} posts", on_network.len());
    assert!(kills >= 20, "the chaos killed only {kills} workers");
    assert!(outcome.get("published").copied().unwrap_or(0) >= POSTS, "most went out: {outcome:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_workers_never_post_twice_on_sqlite() {
    let dir = TempDir::new("crash-sqlite");
    let url = format!("sqlite://{}/nanopost.db", dir.data_dir().display());
    run(url, None, dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_workers_never_post_twice_on_postgres() {
    let db = PgDb::create("crash");
    run(db.url.clone(), None, TempDir::new("crash-pg")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_workers_never_post_twice_with_the_queue_in_redis() {
    let db = PgDb::create("crash_redis");
    let url = std::env::var("NANOPOST_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("np-crash-{}-{}", std::process::id(), jiff::Timestamp::now().as_microsecond());
    run(db.url.clone(), Some((url.clone(), prefix.clone())), TempDir::new("crash-redis")).await;
    RedisQueue::connect(&url, &prefix).await.unwrap().purge().await.unwrap();
}
