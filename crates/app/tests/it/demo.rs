//! `nanopost demo`: the binary starts the three fakes on loopback, seeds a user and a brand, and
//! a browser-like client signs in and connects LinkedIn, TikTok and Instagram through the fakes'
//! consent pages, with no internet.

use crate::harness::{TempDir, nanopost, wait_for_exit};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A tiny browser: keeps cookies, never follows redirects.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: Vec<(String, String)>,
}

impl Browser {
    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn keep(&mut self, res: &reqwest::Response) {
        for line in res.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()) {
            let first = line.split(';').next().unwrap_or("");
            if let Some((k, v)) = first.split_once('=') {
                self.cookies.retain(|(n, _)| n != k);
                self.cookies.push((k.to_owned(), v.to_owned()));
            }
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") { path.to_owned() } else { format!("{}{path}", self.base) }
    }

    async fn get(&mut self, path: &str) -> (u16, Option<String>, String) {
        let res = self.http.get(self.url(path)).header("cookie", self.cookie_header()).send().await.expect("GET");
        self.read(res).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (u16, Option<String>, String) {
        let res = self
            .http
            .post(self.url(path))
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .expect("POST");
        self.read(res).await
    }

    async fn read(&mut self, res: reqwest::Response) -> (u16, Option<String>, String) {
        self.keep(&res);
        let status = res.status().as_u16();
        let location = res.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
        (status, location, res.text().await.unwrap_or_default())
    }
}

fn hidden(body: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let start = body.find(&needle).unwrap_or_else(|| panic!("no {name} in {body}")) + needle.len();
    body[start..].split('"').next().unwrap().to_owned()
}

fn local(url: &str) -> String {
    let u = reqwest::Url::parse(url).unwrap();
    format!("{}?{}", u.path(), u.query().unwrap_or(""))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_connects_all_three_networks_with_no_internet() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = TempDir::new("demo");
    let data = dir.path().join("demo-data");
    let mut cmd = nanopost(dir.path());
    cmd.args(["demo", "--in-data-dir", "--listen", "127.0.0.1:0", "--data-dir"]).arg(&data);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = cmd.spawn().expect("spawn nanopost demo");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let (mut password, mut url) = (None, None);
    let mut printed = Vec::new();
    while url.is_none() {
        let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        let line = rx.recv_timeout(left).unwrap_or_else(|_| panic!("the demo did not start; printed: {printed:?}"));
        if let Some(p) = line.split("with the password ").nth(1) {
            password = Some(p.trim().to_owned());
        }
        if let Some(u) = line.strip_prefix("Nanopost is running: open ") {
            url = Some(u.trim().to_owned());
        }
        printed.push(line);
    }
    let (password, base) = (password.expect("the password is printed"), url.unwrap());
    assert!(printed.iter().any(|l| l.contains("Sign in as demo@example.com")), "{printed:?}");
    assert!(printed.iter().any(|l| l.contains("/demo/mailbox")), "the mailbox is announced: {printed:?}");

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut b = Browser { http, base, cookies: vec![] };
    // The demo's mailbox answers (outside the demo it is a 404: crates/web tests).
    let (status, _, mailbox) = b.get("/demo/mailbox").await;
    assert_eq!(status, 200, "{mailbox}");
    assert!(mailbox.contains("Demo mailbox"), "{mailbox}");
    let (_, _, login) = b.get("/login").await;
    let csrf = hidden(&login, "csrf");
    let (status, _, body) = b
        .post("/login", &[("csrf", &csrf), ("email", "demo@example.com"), ("password", &password), ("next", "/")])
        .await;
    assert_eq!(status, 303, "{body}");
    let (_, to, _) = b.get("/").await;
    let ws = to.expect("to the workspace");
    let (_, _, brands) = b.get(&format!("{ws}/brands")).await;
    assert!(brands.contains("Demo Bakery"), "{brands}");
    let start = brands.find("/accounts\"").expect("a Connected accounts link");
    let href_start = brands[..start].rfind("href=\"").unwrap() + 6;
    let accounts = format!("{}/accounts", &brands[href_start..start]);

    let (status, _, page) = b.get(&accounts).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("SELF_ONLY"), "the unaudited TikTok notice");
    for (login, expect) in
        [("linkedin", "Nanopost Demo Co"), ("tiktok", "creator account"), ("instagram_login", "nanopost_demo")]
    {
        let (_, _, page) = b.get(&accounts).await;
        let csrf = hidden(&page, "csrf");
        let (status, consent, body) =
            b.post(&format!("{accounts}/connect"), &[("csrf", &csrf), ("login", login)]).await;
        assert_eq!(status, 303, "{login}: {body}");
        let consent = consent.unwrap();
        // The consent page a person would click, then "Allow" (the form posts the authorize
        // parameters back with decision=allow).
        let (status, _, html) = b.get(&consent).await;
        assert_eq!(status, 200, "{login}: {html}");
        assert!(html.contains("Allow"), "{html}");
        let mut form: Vec<(String, String)> = reqwest::Url::parse(&consent)
            .unwrap()
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        form.push(("decision".into(), "allow".into()));
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let action = consent.split('?').next().unwrap().to_owned();
        let (status, back, body) = b.post(&action, &pairs).await;
        assert!(status == 302 || status == 303, "{login}: {status} {body}");
        let back = back.unwrap();
        assert!(back.starts_with(&b.base), "{login}: back to the app: {back}");
        let (status, to, body) = b.get(&local(&back)).await;
        assert_eq!(status, 303, "{login}: {body}");
        assert!(to.unwrap().ends_with("?msg=accounts_connected"));
        let (_, _, page) = b.get(&accounts).await;
        assert!(page.contains(expect), "{login}: {expect} in {page}");
    }

    crate::harness::send_signal(child.id(), "TERM");
    let status = wait_for_exit(&mut child, Duration::from_secs(15)).expect("the demo stops on SIGTERM");
    assert!(status.success(), "{status:?}");
}
