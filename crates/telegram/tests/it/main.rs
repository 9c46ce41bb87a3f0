//! The client against the fake Bot API: every call, the error classes, and the token never
//! showing up in anything printable.

use nanopost_fakes::telegram::{PhotoSent, too_many_requests};
use nanopost_fakes::{Failure, FakeTelegram, Route};
use nanopost_telegram::{
    Bot, BotConfig, BotToken, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, TelegramError,
};
use std::time::Duration;

const CHAT: i64 = 9_100_001;

fn bot_for(fake: &FakeTelegram) -> Bot {
    Bot::new(BotConfig::new(BotToken::parse(fake.bot_token()).unwrap()).with_base_url(fake.base_url()))
}

fn buttons() -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::rows(vec![vec![
        InlineKeyboardButton::callback("Approve", "a:tok"),
        InlineKeyboardButton::callback("Reject", "r:tok"),
    ]])
}

#[tokio::test]
async fn every_call_reaches_the_fake_as_telegram_expects() {
    let fake = FakeTelegram::start().await.unwrap();
    let bot = bot_for(&fake);
    let me = bot.get_me().await.unwrap();
    assert_eq!(me.username, fake.bot_username());
    assert_eq!(me.id.to_string(), bot.bot_id());

    fake.user_sends_text(CHAT, "/start CODE").await;
    let updates = bot.get_updates(None, 0, 100).await.unwrap();
    assert_eq!(updates.len(), 1);
    let msg = updates[0].message.as_ref().unwrap();
    assert_eq!((msg.chat.id, msg.text.as_deref()), (CHAT, Some("/start CODE")));
    assert!(bot.get_updates(Some(updates[0].update_id + 1), 0, 100).await.unwrap().is_empty());

    let sent = bot.send_message(CHAT, "A draft <b>not bold</b>", Some(&buttons())).await.unwrap();
    assert_eq!(sent.text.as_deref(), Some("A draft <b>not bold</b>"));
    assert_eq!(sent.reply_markup.unwrap().inline_keyboard[0][1].callback_data.as_deref(), Some("r:tok"));
    let req = fake.requests().into_iter().rfind(|r| r.path.ends_with("/sendMessage")).unwrap();
    assert!(req.json().unwrap().get("parse_mode").is_none(), "plain text: nothing to escape");

    let edited = bot.edit_message_text(CHAT, sent.message_id, "changed", None).await.unwrap();
    assert!(edited.reply_markup.is_none());
    let again = bot.edit_message_text(CHAT, sent.message_id, "changed", None).await.unwrap_err();
    assert!(again.is_not_modified(), "{again:?}");

    // Photos: uploaded (multipart) and by URL; albums with uploads.
    let jpeg = InputFile::Upload {
        file_name: "draft.jpg".into(),
        content_type: "image/jpeg".into(),
        bytes: b"\xff\xd8\xff\xe0xyz".to_vec(),
    };
    let photo = bot.send_photo(CHAT, &jpeg, Some("caption"), Some(&buttons())).await.unwrap();
    assert!(photo.photo.is_some_and(|p| !p.is_empty()));
    let stored = fake.last_bot_message(CHAT).unwrap();
    assert_eq!(
        stored.photo,
        Some(PhotoSent::Upload {
            file_name: "draft.jpg".into(),
            content_type: "image/jpeg".into(),
            bytes: b"\xff\xd8\xff\xe0xyz".to_vec()
        })
    );
    assert_eq!(stored.buttons().len(), 2);
    bot.edit_message_caption(CHAT, photo.message_id, "new caption", None).await.unwrap();
    bot.edit_message_reply_markup(CHAT, sent.message_id, Some(&buttons())).await.unwrap();

    let album = bot
        .send_media_group(CHAT, &[InputFile::Url("https://example.com/1.jpg".into()), jpeg.clone()], Some("album"))
        .await
        .unwrap();
    assert_eq!(album.len(), 2);
    assert_eq!(album[0].caption.as_deref(), Some("album"));
    assert_eq!(album[0].media_group_id, album[1].media_group_id);
    let last = fake.last_bot_message(CHAT).unwrap();
    assert!(matches!(last.photo, Some(PhotoSent::Upload { .. })), "attach:// resolved to the uploaded part");

    fake.user_presses_button(CHAT, sent.message_id, "a:tok").await.unwrap();
    let updates = bot.get_updates(Some(-1), 0, 1).await.unwrap();
    let q = updates[0].callback_query.as_ref().unwrap();
    assert_eq!((q.data.as_deref(), q.from.id), (Some("a:tok"), CHAT));
    assert!(bot.answer_callback_query(&q.id, Some("Approved"), false).await.unwrap());
    assert!(bot.answer_callback_query(&q.id, None, false).await.unwrap_err().is_query_too_old());

    assert!(bot.set_webhook("http://127.0.0.1:9/telegram/webhook", "secret_1", true).await.unwrap());
    assert_eq!(fake.webhook().unwrap().secret_token.as_deref(), Some("secret_1"));
    let info = bot.get_webhook_info().await.unwrap();
    assert_eq!(info.url, "http://127.0.0.1:9/telegram/webhook");
    assert!(matches!(bot.get_updates(None, 0, 10).await.unwrap_err(), TelegramError::Conflict { .. }));
    assert!(bot.delete_webhook(false).await.unwrap());
}

#[tokio::test]
async fn errors_are_typed_and_retry_after_is_carried() {
    let fake = FakeTelegram::start().await.unwrap();
    let bot = bot_for(&fake);
    assert!(bot.send_message(CHAT, "hi", None).await.unwrap_err().is_chat_unreachable());
    fake.user_sends_text(CHAT, "/start").await;
    fake.block_bot(CHAT);
    let e = bot.send_message(CHAT, "hi", None).await.unwrap_err();
    assert!(matches!(e, TelegramError::Forbidden { .. }) && e.is_chat_unreachable(), "{e:?}");
    fake.unblock_bot(CHAT);

    fake.fail_next(Route::post("/*/sendMessage"), too_many_requests(17));
    let e = bot.send_message(CHAT, "hi", None).await.unwrap_err();
    assert_eq!(e.retry_after(), Some(Duration::from_secs(17)));
    assert!(e.is_transient());
    fake.fail_next(Route::any(), Failure::ServerError);
    assert!(matches!(bot.get_me().await.unwrap_err(), TelegramError::Api { code: 502, .. }));

    let wrong = Bot::new(BotConfig::new(BotToken::parse("1:wrong").unwrap()).with_base_url(fake.base_url()));
    assert_eq!(wrong.get_me().await.unwrap_err(), TelegramError::Unauthorized);
}

#[tokio::test]
async fn the_token_is_never_printed_even_in_transport_errors() {
    let fake = FakeTelegram::start().await.unwrap();
    let token = fake.bot_token();
    let secret_part = token.split_once(':').unwrap().1.to_owned();
    let mut config = BotConfig::new(BotToken::parse(token.clone()).unwrap()).with_base_url(fake.base_url());
    config.request_timeout = Duration::from_millis(300);
    let bot = Bot::new(config.clone());
    assert!(!format!("{bot:?}{config:?}").contains(&secret_part));

    // A request that never gets an answer: the timeout fires, and the error names no URL.
    fake.fail_next(Route::any(), Failure::Hang);
    let e = bot.get_me().await.unwrap_err();
    assert!(matches!(e, TelegramError::Transport { timeout: true, .. }), "{e:?}");
    assert!(!format!("{e} {e:?}").contains(&secret_part), "{e}");

    // Nobody listening at all.
    let closed = Bot::new(BotConfig::new(BotToken::parse(token).unwrap()).with_base_url("http://127.0.0.1:9"));
    let e = closed.get_me().await.unwrap_err();
    assert!(matches!(e, TelegramError::Transport { timeout: false, .. }), "{e:?}");
    assert!(!format!("{e} {e:?}").contains(&secret_part), "{e}");
}

#[tokio::test]
async fn a_long_poll_waits_for_the_first_update() {
    let fake = FakeTelegram::start().await.unwrap();
    let mut config = BotConfig::new(BotToken::parse(fake.bot_token()).unwrap()).with_base_url(fake.base_url());
    config.request_timeout = Duration::from_secs(2);
    let bot = Bot::new(config);
    let poll = {
        let bot = bot.clone();
        tokio::spawn(async move { bot.get_updates(None, 10, 100).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    fake.user_sends_text(CHAT, "late").await;
    // The HTTP timeout (2 s) is extended by the poll's wait, so this does not time out.
    let updates = tokio::time::timeout(Duration::from_secs(8), poll).await.unwrap().unwrap().unwrap();
    assert_eq!(updates[0].message.as_ref().unwrap().text.as_deref(), Some("late"));
}
