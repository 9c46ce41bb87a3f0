//! Server-side render time of the calendar with a busy month: seeds POSTS posts (default
//! 10,000) into one month of one workspace, then times `GET /w/{ws}/calendar` through the
//! whole router (session, query, grouping, details, template) in-process, RUNS times after a
//! warm-up, and prints one markdown table row per page: median, min and max.
//!
//! Run by `bench/calendar.sh` (it builds with `--release --features bench`):
//!   CAL_DB_URL=sqlite:///tmp/cal.db RUNS=30 cargo run --release -p nanopost-web --features bench --example calendar_bench
//!
//! The month is June 2027 in Europe/Berlin: the first half published (each post with two
//! publications, one with a permalink, one in twenty failed), the second half scheduled,
//! between 06:00 and 22:00, about 330 a day.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use jiff::Timestamp;
use jiff::civil::date;
use nanopost_domain::approval::ApprovalId;
use nanopost_domain::brand::BrandInput;
use nanopost_domain::clock::ManualClock;
use nanopost_domain::ids::PublicationId;
use nanopost_domain::network::Network;
use nanopost_domain::post::{Post, PostContent, PostState, Schedule, Target, Variant};
use nanopost_domain::publication::PublicationState;
use nanopost_services::{Argon2Params, ServiceConfig, Services, SignUpInput};
use nanopost_storage::{DayWindow, Publication, Store};
use nanopost_web::{WebConfig, router};
use std::sync::Arc;
use std::time::Instant;
use tower::ServiceExt;

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn content(i: usize) -> PostContent {
    let caption = format!(
        "Post {i}: fresh sourdough from the stone oven, crust that sings and a crumb you can read by. \
         Come early, we bake twice a day and the first batch goes fast. #bread #sourdough #bakery @acme"
    );
    let variant = |network, caption: String| Variant { network, caption, media: vec![], options: Default::default() };
    PostContent {
        variants: vec![
            variant(Network::Instagram, caption.clone()),
            variant(Network::Linkedin, format!("{caption}\n\nWe are also hiring bakers for the early shift.")),
        ],
        targets: vec![
            Target { network: Network::Instagram, account: None },
            Target { network: Network::Linkedin, account: None },
        ],
    }
}

fn publication(p: &Post, network: Network, state: PublicationState, at: Timestamp) -> Publication {
    Publication {
        id: PublicationId::new(),
        workspace_id: p.workspace_id,
        post_id: p.id,
        approval_id: p.approval_id.expect("seeded posts are approved"),
        network,
        target: String::new(),
        account_id: None,
        account_name: "acme".into(),
        state,
        progress: "{}".into(),
        external_id: Some(format!("{}", p.id)),
        url: (state == PublicationState::Published).then(|| format!("https://instagram.example/p/{}", p.id)),
        error_class: None,
        error: (state == PublicationState::Failed).then(|| "The network refused the token; reconnect.".to_owned()),
        version: 1,
        created_at: at,
        updated_at: at,
        finished_at: Some(at),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let url = std::env::var("CAL_DB_URL").expect("CAL_DB_URL: sqlite://… or postgres://… (an empty database)");
    let posts: usize = env_or("POSTS", 10_000);
    let runs: usize = env_or("RUNS", 30);
    let label = std::env::var("CAL_LABEL")
        .unwrap_or_else(|_| if url.starts_with("sqlite") { "SQLite".into() } else { "PostgreSQL".into() });

    let store = Store::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    // The middle of the month: the first half is history, the second half is planned.
    let now: Timestamp = "2027-06-15T10:00:00Z".parse().unwrap();
    let clock = Arc::new(ManualClock::new(now));
    let config = ServiceConfig {
        public_url: "http://127.0.0.1:8080".into(),
        argon2: Argon2Params { memory_kib: 64, iterations: 1, parallelism: 1 },
        ..ServiceConfig::default()
    };
    let services = Services::new(store.clone(), clock, config).expect("services");
    let user = services
        .sign_up(SignUpInput {
            email: "bench@example.com".into(),
            password: "correct horse battery staple".into(),
            display_name: "Bench".into(),
            workspace_name: "Bench".into(),
            age_confirmed: true,
        })
        .await
        .expect("sign up");
    let ws = services.workspaces_of(&user).await.unwrap()[0].0.id;
    let actor = services.actor(&user, ws).await.unwrap();
    let input = BrandInput { name: "Acme".into(), timezone: "Europe/Berlin".into(), ..Default::default() };
    let brand = services.create_brand(&actor, &input).await.unwrap();

    // Seed: `posts` posts spread over June, 06:00–22:00 local.
    let started = Instant::now();
    let minutes_per_day = 16 * 60;
    for i in 0..posts {
        let day = (i * 30) / posts;
        let minute = (i * 7919) % minutes_per_day;
        let local = date(2027, 6, 1 + day as i8).at(6 + (minute / 60) as i8, (minute % 60) as i8, 0, 0);
        let mut p = Post::new(ws, brand.id, user.id, content(i), now).unwrap();
        p.schedule = Some(Schedule::new(local, "Europe/Berlin").unwrap());
        let published = day < 14;
        p.state = if published { PostState::Publishing } else { PostState::Scheduled };
        p.approval_id = Some(ApprovalId::new());
        store.insert_post(&p).await.unwrap();
        if published {
            let at = p.schedule.as_ref().unwrap().instant();
            let second = if i % 20 == 0 { PublicationState::Failed } else { PublicationState::Published };
            let pubs = [
                publication(&p, Network::Instagram, PublicationState::Published, at),
                publication(&p, Network::Linkedin, second, at),
            ];
            let mut settled = p.clone();
            settled.state = if second == PublicationState::Failed { PostState::Failed } else { PostState::Published };
            store.begin_publishing(&settled, &pubs, &[]).await.unwrap();
        }
    }
    eprintln!("seeded {posts} posts in {:.1} s", started.elapsed().as_secs_f64());

    let app = router(services.clone(), WebConfig { public_url: "http://127.0.0.1:8080".into(), max_body_bytes: 65536 });
    let (_, session) =
        services.login("bench@example.com", "correct horse battery staple", [127, 0, 0, 1].into()).await.unwrap();
    let cookie = format!("np_session={}", session.expose());

    let pages = [
        ("month (all brands)", format!("/w/{ws}/calendar?view=month&date=2027-06-01")),
        ("month (one brand)", format!("/w/{ws}/calendar?view=month&date=2027-06-01&brand={}", brand.id)),
        ("week", format!("/w/{ws}/calendar?view=week&date=2027-06-14")),
        ("day (≈330 posts)", format!("/w/{ws}/calendar?view=day&date=2027-06-14")),
    ];
    for (name, path) in pages {
        let mut times = Vec::with_capacity(runs);
        let mut bytes = 0;
        for run in 0..runs + 3 {
            let req = Request::get(&path).header(header::COOKIE, &cookie).body(Body::empty()).unwrap();
            let t0 = Instant::now();
            let res = app.clone().oneshot(req).await.unwrap();
            let status = res.status();
            let body = res.into_body().collect().await.unwrap().to_bytes();
            let elapsed = t0.elapsed().as_secs_f64() * 1000.0;
            assert_eq!(status, StatusCode::OK, "{path}: {}", String::from_utf8_lossy(&body));
            bytes = body.len();
            if run >= 3 {
                times.push(elapsed);
            }
        }
        times.sort_by(f64::total_cmp);
        let median = if runs % 2 == 1 { times[runs / 2] } else { (times[runs / 2 - 1] + times[runs / 2]) / 2.0 };
        println!(
            "| {label} | {name} | {posts} | {median:.1} ms | {:.1} ms | {:.1} ms | {:.0} KiB |",
            times[0],
            times[runs - 1],
            bytes as f64 / 1024.0
        );
    }
    // The month's database read alone (counts per day and the first three of each), for the
    // breakdown.
    let tz = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
    let start = |d: jiff::civil::Date| d.to_zoned(tz.clone()).unwrap().timestamp();
    let days: Vec<DayWindow> = (1..=30)
        .map(|d| DayWindow { start: start(date(2027, 6, d)), end: start(date(2027, 6, d).tomorrow().unwrap()) })
        .collect();
    let mut times = Vec::with_capacity(runs);
    let mut counted = 0;
    for run in 0..runs + 3 {
        let t0 = Instant::now();
        counted = services.calendar_days(&actor, None, &days, 3).await.unwrap().iter().map(|d| d.total).sum::<u64>();
        if run >= 3 {
            times.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    let median = if runs % 2 == 1 { times[runs / 2] } else { (times[runs / 2 - 1] + times[runs / 2]) / 2.0 };
    println!(
        "| {label} | month: database read only ({counted} counted) | {posts} | {median:.1} ms | {:.1} ms | {:.1} ms | |",
        times[0],
        times[runs - 1]
    );
    store.close().await;
}
