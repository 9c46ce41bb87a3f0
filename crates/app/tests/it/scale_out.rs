//! Scaled out: two `serve --no-workers` and two `worker` processes share one PostgreSQL
//! database and one Redis queue. Posts approved and pushed through the API of one server are
//! published once by whichever worker takes them (150 posts to two accounts: 300
//! publications, each checked on the fake), and both servers show the result; SIGTERM
//! stops every process cleanly.

use crate::crash::{Dice, Installation, desk};
use crate::harness::{Server, TempDir};
use crate::postgres::PgDb;
use nanopost_domain::role::Scope;
use nanopost_jobs::RedisQueue;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const POSTS: usize = 150;

struct Api {
    client: reqwest::Client,
    token: String,
}

impl Api {
    async fn call(&self, base: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.client.request(method, format!("{base}{path}")).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_and_two_workers_share_postgresql_and_redis() {
    let db = PgDb::create("scale");
    let redis = std::env::var("NANOPOST_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("np-scale-{}-{}", std::process::id(), jiff::Timestamp::now().as_microsecond());
    let mut dice = Dice::new();
    let inst =
        Installation::new(db.url.clone(), Some((redis.clone(), prefix.clone())), TempDir::new("scale"), &mut dice)
            .await;
    let d = desk(&inst).await;
    let (_, token) = d.services.create_api_token(&d.actor, "scale-out test", &Scope::ALL, None).await.unwrap();
    let api = Api { client: reqwest::Client::new(), token };

    let serve = || {
        let mut cmd = inst.command("serve");
        cmd.args(["--no-workers", "--listen", "127.0.0.1:0"]);
        Server::serve(&mut cmd)
    };
    let servers = [serve(), serve()];
    let workers = [0, 1].map(|_| Server::start(&mut inst.command("worker"), "Nanopost worker is running"));

    // Each post goes through one server or the other: created, submitted, approved, published.
    let mut ids = vec![];
    for i in 0..POSTS {
        let base = &servers[i % 2].url;
        let targets: Vec<Value> =
            d.targets.iter().map(|t| json!({"network": "linkedin", "account": t.account})).collect();
        let body = json!({
            "brand_id": d.brand.as_uuid(),
            "variants": [{"network": "linkedin", "caption": format!("Scaled out post {i}")}],
            "targets": targets,
        });
        let post = api.call(base, reqwest::Method::POST, "/api/v1/posts", Some(body)).await;
        let path = format!("/api/v1/posts/{}", post["id"].as_str().unwrap());
        let post = api
            .call(base, reqwest::Method::POST, &format!("{path}/submit"), Some(json!({"version": post["version"]})))
            .await;
        let digest = json!({"content_digest": post["content_digest"]});
        let post = api.call(base, reqwest::Method::POST, &format!("{path}/approve"), Some(digest)).await;
        api.call(base, reqwest::Method::POST, &format!("{path}/publish"), Some(json!({"version": post["version"]})))
            .await;
        ids.push(path);
    }

    // Published once each, seen alike from both servers.
    let deadline = Instant::now() + Duration::from_secs(60);
    for path in &ids {
        loop {
            let post = api.call(&servers[1].url, reqwest::Method::GET, path, None).await;
            if post["state"] == "published" {
                break;
            }
            assert!(Instant::now() < deadline, "{path} is {} after 60 s", post["state"]);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let from_a = api.call(&servers[0].url, reqwest::Method::GET, &format!("{path}/publications"), None).await;
        let from_b = api.call(&servers[1].url, reqwest::Method::GET, &format!("{path}/publications"), None).await;
        assert_eq!(from_a, from_b);
        assert_eq!(from_a.as_array().unwrap().len(), 2);
        assert!(from_a.as_array().unwrap().iter().all(|p| p["state"] == "published" && p["url"].is_string()));
    }
    let on_network = inst.li.posts();
    assert_eq!(on_network.len(), POSTS * 2, "each post once per account");

    // Every process stops on SIGTERM.
    for mut p in servers.into_iter().chain(workers) {
        let (status, took) = p.stop_with("TERM");
        assert!(status.success(), "exit {status:?} after {took:?}: {}", p.stderr());
    }
    RedisQueue::connect(&redis, &prefix).await.unwrap().purge().await.unwrap();
}
