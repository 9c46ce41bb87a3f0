//! Telegram on the web: the public webhook (secret header checked in constant time; missing or
//! wrong → 401 and nothing done), fed by the fake Bot API over real HTTP, and the settings page
//! that makes a link code, shows the link and unlinks.

use crate::support::{TestApp, body_text};
use crate::ui::Browser;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use nanopost_domain::role::Role;
use nanopost_fakes::FakeTelegram;
use nanopost_fakes::telegram::Delivery;
use nanopost_services::telegram::TelegramChannel;
use nanopost_telegram::{Bot, BotConfig, BotToken};
use serde_json::json;
use std::net::SocketAddr;

const SECRET: &str = "webhook_secret-0123456789abcdef";
const CHAT: i64 = 4_242_001;

fn bot(fake: &FakeTelegram) -> Bot {
    Bot::new(BotConfig::new(BotToken::parse(fake.bot_token()).unwrap()).with_base_url(fake.base_url()))
}

/// The app with the fake's bot attached; `secret` turns webhook mode on.
async fn app(fake: &FakeTelegram, secret: Option<&str>) -> TestApp {
    let channel = TelegramChannel::new(bot(fake), None);
    let channel = match secret {
        Some(s) => channel.with_webhook_secret(s),
        None => channel,
    };
    TestApp::build_with("http://127.0.0.1:8080", 64 * 1024, |s| s.with_telegram(channel)).await
}

/// Serves the app on loopback, so the fake can POST to it.
async fn serve(app: &TestApp) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app.router.clone();
    tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    format!("http://{addr}/telegram/webhook")
}

fn update(text: &str) -> String {
    json!({"update_id": 1, "message": {"message_id": 1, "date": 1_800_000_000, "text": text,
        "chat": {"id": CHAT, "type": "private"}, "from": {"id": CHAT, "is_bot": false, "first_name": "Eve"}}})
    .to_string()
}

async fn post_update(app: &TestApp, body: String, secret: Option<&str>) -> (StatusCode, String) {
    let mut req = Request::post("/telegram/webhook").header("content-type", "application/json");
    if let Some(s) = secret {
        req = req.header("X-Telegram-Bot-Api-Secret-Token", s);
    }
    let res = app.send(req.body(Body::from(body)).unwrap()).await;
    let status = res.status();
    (status, body_text(res).await)
}

#[tokio::test]
async fn a_missing_or_wrong_secret_is_401_and_nothing_happens() {
    let fake = FakeTelegram::start().await.unwrap();
    let app = app(&fake, Some(SECRET)).await;
    let (owner, ws) = app.user("owner@example.com").await;
    let code = app.services.create_telegram_link_code(&app.actor(&owner, ws).await).await.unwrap();
    fake.add_user(CHAT, "Eve", None);
    fake.clear_requests(); // making the code asked the bot's name
    let body = update(&code.command());

    for secret in [None, Some(""), Some("webhook_secret-0123456789abcdeF"), Some("webhook_secret-0123456789abcde")] {
        let (status, _) = post_update(&app, body.clone(), secret).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{secret:?}");
    }
    assert!(app.services.store().telegram_link_by_chat(CHAT).await.unwrap().is_none(), "nothing linked");
    assert!(fake.requests().is_empty(), "the bot said nothing");

    // The right secret: the same update links the chat (the code was not spent by the refusals).
    let (status, _) = post_update(&app, body, Some(SECRET)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.services.store().telegram_link_by_chat(CHAT).await.unwrap().map(|l| l.user_id), Some(owner.id));
    assert!(fake.last_bot_message(CHAT).unwrap().text.unwrap().starts_with("Linked."));

    // A body that is not an update.
    let (status, _) = post_update(&app, "{not json".into(), Some(SECRET)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn without_webhook_mode_there_is_no_webhook() {
    let fake = FakeTelegram::start().await.unwrap();
    let polling = app(&fake, None).await;
    assert_eq!(post_update(&polling, update("/start"), Some(SECRET)).await.0, StatusCode::NOT_FOUND);
    let none = TestApp::new().await;
    assert_eq!(post_update(&none, update("/start"), Some(SECRET)).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn link_on_the_page_then_approve_from_telegram_over_the_webhook() {
    let fake = FakeTelegram::start().await.unwrap();
    let app = app(&fake, Some(SECRET)).await;
    let team = app.team("bakery").await;
    let reviewer = team.user(Role::Reviewer).clone();
    let url = serve(&app).await;
    assert!(bot(&fake).set_webhook(&url, SECRET, false).await.unwrap());

    let mut b = Browser::signed_in(&app, &reviewer).await;
    let path = format!("/w/{}/telegram", team.workspace);
    let page = b.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Not linked"), "{}", page.body);
    assert!(page.body.contains(&format!("@{}", fake.bot_username())));

    // The code is shown once, on the answer to the form.
    let made = b.submit(&format!("{path}/code"), &[]).await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let start = made.body.find("value=\"/start ").expect("the command on the page") + "value=\"".len();
    let command = made.body[start..].split('"').next().unwrap().to_owned();
    assert!(!b.get(&path).await.body.contains(&command), "not shown again");

    // Telegram delivers the person's message to the webhook, with the secret.
    let Delivery::Webhook(d) = fake.user_sends_text(CHAT, &command).await else { panic!("a webhook is set") };
    assert_eq!(d.status, Some(200), "{d:?}");
    let linked = b.get(&path).await;
    assert!(linked.body.contains("Linked to"), "{}", linked.body);

    // A draft submitted by the editor reaches the reviewer; the button approves it.
    let editor = team.user(Role::Editor).clone();
    let brand = crate::ui::brand(&app, &editor, team.workspace, "Bakery").await;
    let post = crate::ui::draft(&app, &editor, team.workspace, brand.id, "Rye today").await;
    let editor_actor = app.actor(&editor, team.workspace).await;
    app.services.submit_post(&editor_actor, post.id, post.version).await.unwrap();
    let job = {
        use nanopost_jobs::JobQueue;
        let now = app.clock_now();
        let claim = nanopost_jobs::Claim { now, lease_until: now + jiff::SignedDuration::from_mins(1), limit: 10 };
        app.services.queue().claim(&claim).await.unwrap().pop().expect("the Telegram job")
    };
    app.services.run_telegram_send_review(&job).await.unwrap();
    let draft = fake.last_bot_message(CHAT).unwrap();
    assert!(draft.text.as_deref().unwrap().contains("Rye today"));
    let approve = draft.button("✅ Approve").unwrap();
    let Delivery::Webhook(d) = fake.user_presses_button(CHAT, draft.message_id, &approve).await.unwrap() else {
        panic!()
    };
    assert_eq!(d.status, Some(200));
    let view = app.services.post(&editor_actor, post.id).await.unwrap();
    assert_eq!(view.post.state, nanopost_domain::post::PostState::Approved);
    assert_eq!(view.approvals[0].approver, reviewer.id);
    assert_eq!(view.approvals[0].channel, nanopost_domain::approval::Channel::Telegram);

    // Unlink on the page: the link is gone and the page says so.
    let done = b.submit(&format!("{path}/unlink"), &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let after = b.get(done.location().unwrap()).await;
    assert!(after.body.contains("Telegram unlinked"), "{}", after.body);
    assert!(app.services.store().telegram_link_by_chat(CHAT).await.unwrap().is_none());
}

#[tokio::test]
async fn the_page_needs_a_session_and_csrf_and_viewers_get_no_code() {
    let fake = FakeTelegram::start().await.unwrap();
    let app = app(&fake, None).await;
    let team = app.team("shop").await;
    let path = format!("/w/{}/telegram", team.workspace);
    let mut anonymous = Browser::new(&app);
    assert_eq!(anonymous.get(&path).await.status, StatusCode::SEE_OTHER);

    let mut viewer = Browser::signed_in(&app, team.user(Role::Viewer)).await;
    let page = viewer.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("Create a link code"));
    assert_eq!(viewer.submit(&format!("{path}/code"), &[]).await.status, StatusCode::FORBIDDEN);

    let mut owner = Browser::signed_in(&app, team.user(Role::Owner)).await;
    let forged = owner.post(&format!("{path}/code"), &[("csrf", "forged")]).await;
    assert_ne!(forged.status, StatusCode::OK);
    assert!(!forged.body.contains("/start "));

    // No bot configured: the page says so.
    let plain = TestApp::new().await;
    let (u, ws) = plain.user("solo@example.com").await;
    let mut b = Browser::signed_in(&plain, &u).await;
    assert!(b.get(&format!("/w/{ws}/telegram")).await.body.contains("not set up"));
}
