//! The fake Telegram Bot API on the wire: envelopes, error shapes, long polling, webhooks with
//! the secret-token header, simulated people, and failure injection.

use crate::support::client;
use nanopost_fakes::telegram::{Delivery, PhotoSent, PressError, api_error, too_many_requests};
use nanopost_fakes::{Failure, FakeTelegram, Route};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CHAT: i64 = 5_550_001;

fn url(fake: &FakeTelegram, method: &str) -> String {
    format!("{}/bot{}/{method}", fake.base_url(), fake.bot_token())
}

async fn call(fake: &FakeTelegram, method: &str, body: Value) -> (u16, Value) {
    let r = client().post(url(fake, method)).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

fn keyboard(data: &[&str]) -> Value {
    json!({"inline_keyboard": [data.iter().map(|d| json!({"text": d.to_uppercase(), "callback_data": d})).collect::<Vec<_>>()]})
}

#[tokio::test]
async fn envelopes_tokens_and_methods_are_telegrams() {
    let fake = FakeTelegram::start().await.unwrap();
    let (status, me) = call(&fake, "getMe", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(me["ok"], true);
    assert_eq!(me["result"]["username"], fake.bot_username());
    assert_eq!(me["result"]["is_bot"], true);
    // Method names are case-insensitive; GET with a query string works too.
    let r = client().get(url(&fake, "GETME")).send().await.unwrap();
    assert_eq!(r.status(), 200);

    let wrong = format!("{}/bot123:wrong/getMe", fake.base_url());
    let r = client().post(wrong).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"ok": false, "error_code": 401, "description": "Unauthorized"})
    );

    let (status, body) = call(&fake, "noSuchMethod", json!({})).await;
    assert_eq!((status, body["ok"].clone()), (404, json!(false)));
}

#[tokio::test]
async fn sending_needs_a_chat_that_wrote_first_and_checks_limits() {
    let fake = FakeTelegram::start().await.unwrap();
    let (status, body) = call(&fake, "sendMessage", json!({"chat_id": CHAT, "text": "hi"})).await;
    assert_eq!((status, body["description"].as_str()), (400, Some("Bad Request: chat not found")));

    fake.user_sends_text(CHAT, "/start").await;
    let (status, body) =
        call(&fake, "sendMessage", json!({"chat_id": CHAT, "text": "hello", "reply_markup": keyboard(&["a:1"])})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["chat"]["id"], CHAT);
    assert_eq!(body["result"]["text"], "hello");
    assert_eq!(body["result"]["message_id"], 2, "message ids count per chat, after the person's /start");
    assert_eq!(fake.last_bot_message(CHAT).unwrap().buttons(), vec![("A:1".to_owned(), "a:1".to_owned())]);

    // Form-encoded parameters with the keyboard as JSON text work the same.
    let r = client()
        .post(url(&fake, "sendMessage"))
        .form(&[("chat_id", CHAT.to_string()), ("text", "form".into()), ("reply_markup", keyboard(&["b"]).to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let long = "x".repeat(65);
    let (status, body) =
        call(&fake, "sendMessage", json!({"chat_id": CHAT, "text": "t", "reply_markup": keyboard(&[&long])})).await;
    assert_eq!((status, body["description"].as_str()), (400, Some("Bad Request: BUTTON_DATA_INVALID")));
    let (status, body) = call(&fake, "sendMessage", json!({"chat_id": CHAT, "text": "y".repeat(4097)})).await;
    assert_eq!((status, body["description"].as_str()), (400, Some("Bad Request: message is too long")));
    let (status, _) = call(&fake, "sendMessage", json!({"chat_id": CHAT, "text": ""})).await;
    assert_eq!(status, 400);

    fake.block_bot(CHAT);
    let (status, body) = call(&fake, "sendMessage", json!({"chat_id": CHAT, "text": "hello"})).await;
    assert_eq!((status, body["description"].as_str()), (403, Some("Forbidden: bot was blocked by the user")));
}

#[tokio::test]
async fn photos_by_url_and_upload_albums_and_edits() {
    let fake = FakeTelegram::start().await.unwrap();
    fake.user_sends_text(CHAT, "/start").await;
    let (status, body) =
        call(&fake, "sendPhoto", json!({"chat_id": CHAT, "photo": "https://example.com/a.jpg", "caption": "cap"}))
            .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["result"]["photo"].as_array().is_some_and(|p| !p.is_empty()));
    assert_eq!(fake.last_bot_message(CHAT).unwrap().photo, Some(PhotoSent::Url("https://example.com/a.jpg".into())));
    let (status, body) =
        call(&fake, "sendPhoto", json!({"chat_id": CHAT, "photo": "x", "caption": "c".repeat(1025)})).await;
    assert_eq!((status, body["description"].as_str()), (400, Some("Bad Request: message caption is too long")));

    // A multipart upload.
    let boundary = "b0undary";
    let mut multipart = Vec::new();
    multipart.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n{CHAT}\r\n").as_bytes(),
    );
    multipart.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").as_bytes());
    multipart.extend_from_slice(b"\xff\xd8\xff\xe0JPEGDATA\r\n");
    multipart.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let r = client()
        .post(url(&fake, "sendPhoto"))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(multipart)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    match fake.last_bot_message(CHAT).unwrap().photo.unwrap() {
        PhotoSent::Upload { file_name, bytes, .. } => {
            assert_eq!((file_name.as_str(), bytes.as_slice()), ("p.jpg", b"\xff\xd8\xff\xe0JPEGDATA".as_slice()))
        }
        other => panic!("{other:?}"),
    }

    // Albums: 2–10 items, no keyboard, one media_group_id.
    let one = json!([{"type": "photo", "media": "https://example.com/1.jpg"}]);
    let (status, _) = call(&fake, "sendMediaGroup", json!({"chat_id": CHAT, "media": one})).await;
    assert_eq!(status, 400);
    let two = json!([{"type": "photo", "media": "https://example.com/1.jpg", "caption": "album"}, {"type": "photo", "media": "https://example.com/2.jpg"}]);
    let (status, _) =
        call(&fake, "sendMediaGroup", json!({"chat_id": CHAT, "media": two, "reply_markup": keyboard(&["a"])})).await;
    assert_eq!(status, 400, "albums carry no keyboard");
    let (status, body) = call(&fake, "sendMediaGroup", json!({"chat_id": CHAT, "media": two})).await;
    assert_eq!(status, 200);
    let items = body["result"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["media_group_id"], items[1]["media_group_id"]);
    assert_eq!(items[0]["caption"], "album");

    // Edits: text messages by text, photos by caption; identical edits are refused.
    let (_, sent) =
        call(&fake, "sendMessage", json!({"chat_id": CHAT, "text": "v1", "reply_markup": keyboard(&["a"])})).await;
    let id = sent["result"]["message_id"].as_i64().unwrap();
    let (status, body) = call(
        &fake,
        "editMessageText",
        json!({"chat_id": CHAT, "message_id": id, "text": "v1", "reply_markup": keyboard(&["a"])}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["description"].as_str().unwrap().starts_with("Bad Request: message is not modified"));
    let (status, body) = call(&fake, "editMessageText", json!({"chat_id": CHAT, "message_id": id, "text": "v2"})).await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["text"], "v2");
    assert!(body["result"].get("reply_markup").is_none(), "an edit without a keyboard removes it");
    let (status, _) =
        call(&fake, "editMessageCaption", json!({"chat_id": CHAT, "message_id": id, "caption": "x"})).await;
    assert_eq!(status, 400);
    let (status, body) = call(&fake, "editMessageReplyMarkup", json!({"chat_id": CHAT, "message_id": 999})).await;
    assert_eq!((status, body["description"].as_str()), (400, Some("Bad Request: message to edit not found")));
}

#[tokio::test]
async fn long_polling_confirms_with_offsets_and_wakes_on_new_updates() {
    let fake = FakeTelegram::start().await.unwrap();
    let d = fake.user_sends_text(CHAT, "/start CODE1").await;
    assert!(matches!(d, Delivery::Queued { .. }));
    let (_, body) = call(&fake, "getUpdates", json!({})).await;
    let updates = body["result"].as_array().unwrap().clone();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0]["message"]["text"], "/start CODE1");
    assert_eq!(updates[0]["message"]["chat"]["type"], "private");
    let first = updates[0]["update_id"].as_i64().unwrap();
    // Unconfirmed updates come again; an offset confirms them.
    let (_, body) = call(&fake, "getUpdates", json!({})).await;
    assert_eq!(body["result"].as_array().unwrap().len(), 1);
    let (_, body) = call(&fake, "getUpdates", json!({"offset": first + 1})).await;
    assert_eq!(body["result"], json!([]));
    assert!(fake.pending_updates().is_empty());

    // A waiting poll answers as soon as something arrives.
    let poller = {
        let fake = fake.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let (_, body) = call(&fake, "getUpdates", json!({"offset": first + 1, "timeout": 20})).await;
            (started.elapsed(), body)
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    fake.user_sends_text(CHAT, "hello").await;
    let (took, body) = poller.await.unwrap();
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(body["result"][0]["message"]["text"], "hello");
    assert_eq!(body["result"][0]["update_id"].as_i64().unwrap(), first + 1);

    // An empty long poll ends at its timeout.
    let started = Instant::now();
    let (_, body) = call(&fake, "getUpdates", json!({"offset": first + 2, "timeout": 1})).await;
    assert_eq!(body["result"], json!([]));
    assert!(started.elapsed() >= Duration::from_millis(900));

    // A second poller takes over; the first answers 409.
    let older = {
        let fake = fake.clone();
        tokio::spawn(async move { call(&fake, "getUpdates", json!({"offset": first + 2, "timeout": 20})).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let newer = {
        let fake = fake.clone();
        tokio::spawn(async move { call(&fake, "getUpdates", json!({"offset": first + 2, "timeout": 1})).await })
    };
    let (status, body) = older.await.unwrap();
    assert_eq!(status, 409);
    assert!(body["description"].as_str().unwrap().starts_with("Conflict: terminated by other getUpdates request"));
    assert_eq!(newer.await.unwrap().0, 200);
}

#[tokio::test]
async fn buttons_make_callback_queries_that_are_answered_once() {
    let fake = FakeTelegram::start().await.unwrap();
    fake.user_sends_text(CHAT, "/start").await;
    let (_, sent) = call(
        &fake,
        "sendMessage",
        json!({"chat_id": CHAT, "text": "draft", "reply_markup": keyboard(&["ok:1", "no:1"])}),
    )
    .await;
    let id = sent["result"]["message_id"].as_i64().unwrap();
    assert_eq!(fake.user_presses_button(CHAT, id, "nope").await, Err(PressError::NoSuchButton));
    assert_eq!(fake.user_presses_button(CHAT, 999, "ok:1").await, Err(PressError::NoSuchMessage));
    fake.user_presses_button(CHAT, id, "ok:1").await.unwrap();
    let (_, body) = call(&fake, "getUpdates", json!({"offset": -1})).await;
    let q = &body["result"][0]["callback_query"];
    assert_eq!(q["data"], "ok:1");
    assert_eq!(q["from"]["id"], CHAT);
    assert_eq!(q["message"]["message_id"], id);
    assert_eq!(q["message"]["text"], "draft");
    let qid = q["id"].as_str().unwrap().to_owned();
    let (status, _) = call(&fake, "answerCallbackQuery", json!({"callback_query_id": qid, "text": "Approved"})).await;
    assert_eq!(status, 200);
    let (status, body) = call(&fake, "answerCallbackQuery", json!({"callback_query_id": qid})).await;
    assert_eq!(status, 400);
    assert!(body["description"].as_str().unwrap().contains("query is too old"));
    let answers = fake.callback_answers();
    assert_eq!((answers.len(), answers[0].text.as_deref(), answers[0].message_id), (1, Some("Approved"), id));
}

/// What a webhook receiver saw: each POST's secret header and body.
type Seen = Arc<Mutex<Vec<(Option<String>, Value)>>>;

/// A tiny webhook receiver: records each POST, answers `status` with `reply`.
async fn receiver(status: u16, reply: &'static str) -> (String, Seen) {
    use axum::http::HeaderMap;
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let log = log.clone();
            async move {
                let secret =
                    headers.get("x-telegram-bot-api-secret-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
                log.lock().unwrap().push((secret, serde_json::from_slice(&body).unwrap_or(Value::Null)));
                (axum::http::StatusCode::from_u16(status).unwrap(), [("content-type", "application/json")], reply)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), seen)
}

#[tokio::test]
async fn webhooks_carry_the_secret_token_and_block_polling() {
    let fake = FakeTelegram::start().await.unwrap();
    let (hook, seen) = receiver(200, "").await;
    let (status, body) = call(&fake, "setWebhook", json!({"url": hook, "secret_token": "bad token!"})).await;
    assert_eq!(
        (status, body["description"].as_str()),
        (400, Some("Bad Request: secret token contains unallowed characters"))
    );
    let (status, body) = call(&fake, "setWebhook", json!({"url": hook, "secret_token": "s3cret_T-1"})).await;
    assert_eq!(
        (status, body["result"].clone(), body["description"].as_str()),
        (200, json!(true), Some("Webhook was set"))
    );
    let (status, _) = call(&fake, "getUpdates", json!({})).await;
    assert_eq!(status, 409);

    let d = fake.user_sends_text(CHAT, "/start ABC").await;
    let Delivery::Webhook(d) = d else { panic!("{d:?}") };
    assert!(d.delivered(), "{d:?}");
    let got = seen.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0.as_deref(), Some("s3cret_T-1"));
    assert_eq!(got[0].1["message"]["text"], "/start ABC");
    assert!(fake.pending_updates().is_empty());

    let (_, info) = call(&fake, "getWebhookInfo", json!({})).await;
    assert_eq!(info["result"]["url"], hook.as_str());
    assert_eq!(info["result"]["pending_update_count"], 0);

    let (_, body) = call(&fake, "deleteWebhook", json!({})).await;
    assert_eq!(body["description"], "Webhook was deleted");
    assert!(fake.webhook().is_none());
}

#[tokio::test]
async fn a_failing_webhook_keeps_the_update_and_an_answer_can_be_a_method_call() {
    let fake = FakeTelegram::start().await.unwrap();
    let (refusing, _) = receiver(401, "").await;
    call(&fake, "setWebhook", json!({"url": refusing, "secret_token": "abc"})).await;
    let Delivery::Webhook(d) = fake.user_sends_text(CHAT, "hi").await else { panic!() };
    assert_eq!(d.status, Some(401));
    assert_eq!(fake.pending_updates().len(), 1);
    let (_, info) = call(&fake, "getWebhookInfo", json!({})).await;
    assert_eq!(info["result"]["pending_update_count"], 1);
    assert!(info["result"]["last_error_message"].as_str().unwrap().contains("401"));

    let (answering, _) =
        receiver(200, r#"{"method":"sendMessage","chat_id":5550001,"text":"from the webhook answer"}"#).await;
    call(&fake, "setWebhook", json!({"url": answering, "secret_token": "abc"})).await;
    let again = fake.redeliver_pending().await;
    assert_eq!(again.len(), 1);
    assert!(fake.pending_updates().is_empty());
    assert_eq!(fake.last_bot_message(CHAT).unwrap().text.as_deref(), Some("from the webhook answer"));
}

#[tokio::test]
async fn injected_failures_use_the_bot_api_shape() {
    let fake = FakeTelegram::start().await.unwrap();
    fake.user_sends_text(CHAT, "/start").await;
    fake.fail_next(Route::post("/*/sendMessage"), Failure::RateLimited { retry_after: Some(7) });
    let r = client().post(url(&fake, "sendMessage")).json(&json!({"chat_id": CHAT, "text": "x"})).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 7", "parameters": {"retry_after": 7}})
    );
    fake.fail_next(Route::any(), too_many_requests(3));
    let (status, body) = call(&fake, "getMe", json!({})).await;
    assert_eq!((status, body["parameters"]["retry_after"].clone()), (429, json!(3)));
    fake.fail_next(Route::any(), api_error(400, "Bad Request: chat not found"));
    let (status, body) = call(&fake, "getMe", json!({})).await;
    assert_eq!((status, body["description"].as_str()), (400, Some("Bad Request: chat not found")));
    fake.fail_next(Route::any(), Failure::ServerError);
    assert_eq!(call(&fake, "getMe", json!({})).await.0, 502);

    // The per-chat limit, when configured.
    fake.update_settings(|s| s.per_chat_messages_per_second = Some(1));
    assert_eq!(call(&fake, "sendMessage", json!({"chat_id": CHAT, "text": "1"})).await.0, 200);
    let (status, body) = call(&fake, "sendMessage", json!({"chat_id": CHAT, "text": "2"})).await;
    assert_eq!((status, body["parameters"]["retry_after"].clone()), (429, json!(1)));
    // Every request was journalled, token path included.
    assert!(fake.requests().iter().all(|r| r.path.starts_with("/bot")));
}

#[tokio::test]
async fn the_chat_page_lets_a_person_write_and_press() {
    let fake = FakeTelegram::start().await.unwrap();
    let r = client()
        .post(format!("{}/chat", fake.base_url()))
        .form(&[("chat_id", "77"), ("text", "/start XYZ")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(fake.messages(77)[0].text.as_deref(), Some("/start XYZ"));
    call(&fake, "sendMessage", json!({"chat_id": 77, "text": "<b>draft</b>", "reply_markup": keyboard(&["ok"])})).await;
    let page = client().get(format!("{}/chat/77", fake.base_url())).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("&lt;b&gt;draft&lt;/b&gt;"), "escaped: {page}");
    assert!(page.contains("name=\"data\" value=\"ok\""));
    let id = fake.last_bot_message(77).unwrap().message_id.to_string();
    let r = client()
        .post(format!("{}/chat/77/press", fake.base_url()))
        .form(&[("message_id", id.as_str()), ("data", "ok")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(fake.pending_updates().last().unwrap()["callback_query"]["data"], "ok");
}
