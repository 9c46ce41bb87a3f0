//! The Bot API methods.

use super::errors::ApiError;
use super::params::{Params, Upload};
use super::state::{PendingQuery, State, message_json};
use super::{CallbackAnswer, ChatMessage, Inner, PhotoSent, TelegramSettings, WebhookDelivery, WebhookSetting};
use crate::common::ok_json;
use crate::incoming::Incoming;
use crate::server::lock;
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

pub(crate) async fn handle(inner: Arc<Inner>, req: Incoming) -> Response {
    let segments = req.seg();
    let api_call = match segments.as_slice() {
        [bot, method] if bot.starts_with("bot") => Some((bot.trim_start_matches("bot").to_owned(), method.to_string())),
        _ => None,
    };
    let Some((token, method)) = api_call else {
        return super::page::handle(&inner, &req).await.unwrap_or_else(|| ApiError::not_found().response());
    };
    if token != lock(&inner.state).settings.bot_token {
        return ApiError::unauthorized().response();
    }
    let params = match Params::from_request(&req) {
        Ok(p) => p,
        Err(e) => return e.response(),
    };
    match call(&inner, &method, params).await {
        Ok(body) => ok_json(body),
        Err(e) => e.response(),
    }
}

/// Performs a method; the success body (`{"ok":true,"result":…}`).
pub(crate) async fn call(inner: &Arc<Inner>, method: &str, p: Params) -> Result<Value, ApiError> {
    let ok = |result: Value| json!({"ok": true, "result": result});
    match method.to_ascii_lowercase().as_str() {
        "getme" => Ok(ok(bot_user_json(&lock(&inner.state).settings))),
        "sendmessage" => send_message(inner, &p).map(ok),
        "sendphoto" => send_photo(inner, &p).await.map(ok),
        "sendmediagroup" => send_media_group(inner, &p).await.map(ok),
        "editmessagetext" => edit(inner, &p, Edit::Text).map(ok),
        "editmessagecaption" => edit(inner, &p, Edit::Caption).map(ok),
        "editmessagereplymarkup" => edit(inner, &p, Edit::Markup).map(ok),
        "answercallbackquery" => answer_callback_query(inner, &p).map(ok),
        "getupdates" => get_updates(inner, &p).await.map(ok),
        "setwebhook" => set_webhook(inner, &p),
        "deletewebhook" => {
            let mut st = lock(&inner.state);
            let had = st.webhook.take().is_some();
            if p.bool("drop_pending_updates") {
                st.updates.clear();
            }
            let description = if had { "Webhook was deleted" } else { "Webhook is already deleted" };
            Ok(json!({"ok": true, "result": true, "description": description}))
        }
        "getwebhookinfo" => Ok(ok(webhook_info(&lock(&inner.state)))),
        _ => Err(ApiError::new(404, "Not Found: method not found")),
    }
}

pub(crate) fn bot_user_json(s: &TelegramSettings) -> Value {
    let id: i64 = s.bot_token.split(':').next().and_then(|n| n.parse().ok()).unwrap_or(0);
    json!({"id": id, "is_bot": true, "first_name": s.bot_first_name, "username": s.bot_username,
        "can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false})
}

/// The target chat: a known private chat whose person has not blocked the bot, within the
/// optional rate limit.
fn target_chat(st: &mut State, p: &Params, now: jiff::Timestamp) -> Result<i64, ApiError> {
    if !p.has("chat_id") {
        return Err(ApiError::bad_request("Bad Request: chat_id is empty"));
    }
    let chat_id = p.i64("chat_id").ok_or_else(ApiError::chat_not_found)?;
    let person = st.people.get(&chat_id).ok_or_else(ApiError::chat_not_found)?;
    if person.blocked {
        return Err(ApiError::blocked());
    }
    st.count_send(chat_id, now).map_err(ApiError::too_many_requests)?;
    Ok(chat_id)
}

fn keyboard(p: &Params) -> Result<Option<Value>, ApiError> {
    let Some(markup) = p.json("reply_markup")? else { return Ok(None) };
    let Some(obj) = markup.as_object() else {
        return Err(ApiError::bad_request("Bad Request: can't parse reply keyboard markup JSON object"));
    };
    if let Some(rows) = obj.get("inline_keyboard") {
        let rows = rows.as_array().ok_or_else(|| {
            ApiError::bad_request(
                "Bad Request: can't parse inline keyboard markup: Field \"inline_keyboard\" must be of type Array",
            )
        })?;
        for button in rows.iter().flat_map(|r| r.as_array().cloned().unwrap_or_default()) {
            if !button["text"].is_string() {
                return Err(ApiError::bad_request(
                    "Bad Request: can't parse inline keyboard button: Field \"text\" must be of type String",
                ));
            }
            if let Some(data) = button.get("callback_data") {
                let len = data.as_str().map_or(0, str::len);
                if !(1..=64).contains(&len) {
                    return Err(ApiError::bad_request("Bad Request: BUTTON_DATA_INVALID"));
                }
            } else if button.get("url").is_none() {
                return Err(ApiError::bad_request(
                    "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
                ));
            }
        }
    }
    Ok(Some(markup))
}

fn new_message(chat_id: i64, message_id: i64, now: jiff::Timestamp) -> ChatMessage {
    ChatMessage {
        chat_id,
        message_id,
        from_bot: true,
        date: now,
        text: None,
        caption: None,
        photo: None,
        photo_file_id: String::new(),
        media_group_id: None,
        reply_markup: None,
        reply_to: None,
        edited_at: None,
    }
}

/// Stores a bot message and returns its JSON.
fn store(st: &mut State, m: ChatMessage) -> Value {
    let bot = bot_user_json(&st.settings);
    let json = message_json(&m, &bot, st.people.get(&m.chat_id));
    st.chats.entry(m.chat_id).or_default().push(m);
    json
}

fn send_message(inner: &Arc<Inner>, p: &Params) -> Result<Value, ApiError> {
    let now = inner.now();
    let mut st = lock(&inner.state);
    let text = p.str("text").unwrap_or_default();
    if text.trim().is_empty() {
        return Err(ApiError::bad_request("Bad Request: message text is empty"));
    }
    if text.chars().count() > 4096 {
        return Err(ApiError::bad_request("Bad Request: message is too long"));
    }
    let markup = keyboard(p)?;
    let chat_id = target_chat(&mut st, p, now)?;
    let mut m = new_message(chat_id, st.next_message_id(chat_id), now);
    m.text = Some(text);
    m.reply_markup = markup;
    m.reply_to = p.i64("reply_to_message_id");
    Ok(store(&mut st, m))
}

fn caption(p: &Params) -> Result<Option<String>, ApiError> {
    let c = p.str("caption").filter(|c| !c.is_empty());
    if c.as_ref().is_some_and(|c| c.chars().count() > 1024) {
        return Err(ApiError::bad_request("Bad Request: message caption is too long"));
    }
    Ok(c)
}

/// What a `photo` / `media` reference points at: an upload (`attach://name` or the field's own
/// file), a URL, or a file id.
fn photo_ref(reference: Option<String>, upload: Option<&Upload>, p: &Params) -> Result<PhotoSent, ApiError> {
    if let Some(u) = upload {
        return Ok(PhotoSent::Upload {
            file_name: u.file_name.clone(),
            content_type: u.content_type.clone(),
            bytes: u.bytes.clone(),
        });
    }
    let r = reference
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::bad_request("Bad Request: there is no photo in the request"))?;
    if let Some(name) = r.strip_prefix("attach://") {
        let u = p.files.get(name).ok_or_else(|| {
            ApiError::bad_request(format!("Bad Request: failed to send message #1 with the error message \"Wrong file identifier/HTTP URL specified\" ({name})"))
        })?;
        return photo_ref(None, Some(u), p);
    }
    if r.starts_with("http://") || r.starts_with("https://") {
        Ok(PhotoSent::Url(r))
    } else if r.contains(['/', ' ']) {
        Err(ApiError::bad_request("Bad Request: wrong file identifier/HTTP URL specified"))
    } else {
        Ok(PhotoSent::FileId(r))
    }
}

/// Telegram downloads photos given by URL; the fake does so over loopback when asked to.
async fn check_photo(inner: &Arc<Inner>, photo: &PhotoSent) -> Result<(), ApiError> {
    let PhotoSent::Url(url) = photo else { return Ok(()) };
    if !lock(&inner.state).settings.check_photo_urls {
        return Ok(());
    }
    let fetched = crate::fetch::fetch_loopback(url)
        .await
        .map_err(|_| ApiError::bad_request("Bad Request: failed to get HTTP URL content"))?;
    if crate::fetch::sniff(&fetched.body) == crate::fetch::Sniffed::Unknown {
        return Err(ApiError::bad_request("Bad Request: wrong type of the web page content"));
    }
    if fetched.body.len() > 5 * 1024 * 1024 {
        return Err(ApiError::bad_request("Bad Request: failed to get HTTP URL content"));
    }
    Ok(())
}

fn upload_limit(photo: &PhotoSent) -> Result<(), ApiError> {
    match photo {
        PhotoSent::Upload { bytes, .. } if bytes.len() > 10 * 1024 * 1024 => {
            Err(ApiError::bad_request("Bad Request: file is too big"))
        }
        PhotoSent::Upload { bytes, .. } if bytes.is_empty() => {
            Err(ApiError::bad_request("Bad Request: file must be non-empty"))
        }
        _ => Ok(()),
    }
}

fn file_id(st: &mut State) -> String {
    format!("AgACAgFakePhoto{:06}", st.counters.next("file"))
}

async fn send_photo(inner: &Arc<Inner>, p: &Params) -> Result<Value, ApiError> {
    let photo = photo_ref(p.str("photo"), p.files.get("photo"), p)?;
    upload_limit(&photo)?;
    let caption = caption(p)?;
    let markup = keyboard(p)?;
    check_photo(inner, &photo).await?;
    let now = inner.now();
    let mut st = lock(&inner.state);
    let chat_id = target_chat(&mut st, p, now)?;
    let mut m = new_message(chat_id, st.next_message_id(chat_id), now);
    m.photo_file_id = file_id(&mut st);
    m.photo = Some(photo);
    m.caption = caption;
    m.reply_markup = markup;
    Ok(store(&mut st, m))
}

async fn send_media_group(inner: &Arc<Inner>, p: &Params) -> Result<Value, ApiError> {
    if p.has("reply_markup") {
        // Albums carry no keyboard (the reference's warning): Telegram ignores it; the fake
        // refuses, so a client relying on it learns at once.
        return Err(ApiError::bad_request("Bad Request: media groups cannot have a reply_markup"));
    }
    let media = p.json("media")?.ok_or_else(|| ApiError::bad_request("Bad Request: media is empty"))?;
    let items = media.as_array().ok_or_else(|| ApiError::bad_request("Bad Request: can't parse media JSON array"))?;
    if items.len() < 2 {
        return Err(ApiError::bad_request("Bad Request: too few media in the group"));
    }
    if items.len() > 10 {
        return Err(ApiError::bad_request("Bad Request: too many media in the group"));
    }
    let mut photos = Vec::new();
    for item in items {
        if item["type"].as_str() != Some("photo") {
            return Err(ApiError::bad_request("Bad Request: unsupported media type in the group"));
        }
        let photo = photo_ref(item["media"].as_str().map(str::to_owned), None, p)?;
        upload_limit(&photo)?;
        let c = item["caption"].as_str().map(str::to_owned);
        if c.as_ref().is_some_and(|c| c.chars().count() > 1024) {
            return Err(ApiError::bad_request("Bad Request: message caption is too long"));
        }
        check_photo(inner, &photo).await?;
        photos.push((photo, c));
    }
    let now = inner.now();
    let mut st = lock(&inner.state);
    let chat_id = target_chat(&mut st, p, now)?;
    let group = format!("{}", 13_900_000_000_000_000u64 + st.counters.next("media_group"));
    let mut out = Vec::new();
    for (photo, caption) in photos {
        let mut m = new_message(chat_id, st.next_message_id(chat_id), now);
        m.photo_file_id = file_id(&mut st);
        m.photo = Some(photo);
        m.caption = caption;
        m.media_group_id = Some(group.clone());
        out.push(store(&mut st, m));
    }
    Ok(Value::Array(out))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Edit {
    Text,
    Caption,
    Markup,
}

fn edit(inner: &Arc<Inner>, p: &Params, what: Edit) -> Result<Value, ApiError> {
    if p.has("inline_message_id") {
        return Err(ApiError::bad_request("Bad Request: the fake supports chat messages only, not inline messages"));
    }
    let now = inner.now();
    let markup = keyboard(p)?;
    let new_text = match what {
        Edit::Text => {
            let t = p.str("text").unwrap_or_default();
            if t.trim().is_empty() {
                return Err(ApiError::bad_request("Bad Request: message text is empty"));
            }
            if t.chars().count() > 4096 {
                return Err(ApiError::bad_request("Bad Request: message is too long"));
            }
            Some(t)
        }
        Edit::Caption => Some(caption(p)?.unwrap_or_default()),
        Edit::Markup => None,
    };
    let mut st = lock(&inner.state);
    let chat_id = p.i64("chat_id").ok_or_else(|| ApiError::bad_request("Bad Request: chat_id is empty"))?;
    if !st.people.contains_key(&chat_id) {
        return Err(ApiError::chat_not_found());
    }
    let message_id =
        p.i64("message_id").ok_or_else(|| ApiError::bad_request("Bad Request: message identifier is not specified"))?;
    let m = st
        .message_mut(chat_id, message_id)
        .filter(|m| m.from_bot)
        .ok_or_else(|| ApiError::bad_request("Bad Request: message to edit not found"))?;
    match what {
        Edit::Text if m.photo.is_some() => {
            return Err(ApiError::bad_request("Bad Request: there is no text in the message to edit"));
        }
        Edit::Caption if m.photo.is_none() => {
            return Err(ApiError::bad_request("Bad Request: there is no caption in the message to edit"));
        }
        _ => {}
    }
    let unchanged = match what {
        Edit::Text => m.text == new_text && m.reply_markup == markup,
        Edit::Caption => {
            m.caption.clone().unwrap_or_default() == new_text.clone().unwrap_or_default() && m.reply_markup == markup
        }
        Edit::Markup => m.reply_markup == markup,
    };
    if unchanged {
        return Err(ApiError::bad_request(
            "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
        ));
    }
    match what {
        Edit::Text => m.text = new_text,
        Edit::Caption => m.caption = new_text.filter(|c| !c.is_empty()),
        Edit::Markup => {}
    }
    // An edit without a keyboard removes the one the message had.
    m.reply_markup = markup;
    m.edited_at = Some(now);
    let m = m.clone();
    let bot = bot_user_json(&st.settings);
    Ok(message_json(&m, &bot, st.people.get(&chat_id)))
}

fn answer_callback_query(inner: &Arc<Inner>, p: &Params) -> Result<Value, ApiError> {
    let now = inner.now();
    let mut st = lock(&inner.state);
    let too_old =
        || ApiError::bad_request("Bad Request: query is too old and response timeout expired or query ID is invalid");
    let id = p.str("callback_query_id").ok_or_else(|| ApiError::bad_request("Bad Request: QUERY_ID_INVALID"))?;
    let window = st.settings.callback_answer_window;
    let text = p.str("text").filter(|t| !t.is_empty());
    if text.as_ref().is_some_and(|t| t.chars().count() > 200) {
        return Err(ApiError::bad_request("Bad Request: MESSAGE_TOO_LONG"));
    }
    let q: &mut PendingQuery = st.queries.get_mut(&id).ok_or_else(too_old)?;
    if q.answered || now.duration_since(q.created) > window {
        return Err(too_old());
    }
    q.answered = true;
    let answer = CallbackAnswer {
        query_id: id,
        chat_id: q.chat_id,
        message_id: q.message_id,
        text,
        show_alert: p.bool("show_alert"),
        at: now,
    };
    st.answers.push(answer);
    Ok(Value::Bool(true))
}

async fn get_updates(inner: &Arc<Inner>, p: &Params) -> Result<Value, ApiError> {
    let limit = p.i64("limit").unwrap_or(100).clamp(1, 100) as usize;
    let (generation, wait) = {
        let mut st = lock(&inner.state);
        if st.webhook.is_some() {
            return Err(ApiError::conflict(
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            ));
        }
        st.poll_generation += 1;
        let secs = u64::try_from(p.i64("timeout").unwrap_or(0)).unwrap_or(0);
        (st.poll_generation, Duration::from_secs(secs).min(st.settings.max_poll_wait))
    };
    // A poll waiting before this one is now superseded: wake it so it answers 409.
    inner.updates_ready.notify_waiters();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let notified = inner.updates_ready.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let now = inner.now();
            let mut st = lock(&inner.state);
            if st.poll_generation != generation {
                return Err(ApiError::conflict(
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                ));
            }
            if st.webhook.is_some() {
                return Err(ApiError::conflict(
                    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
                ));
            }
            st.expire_updates(now);
            match p.i64("offset") {
                Some(o) if o < 0 => {
                    let keep = usize::try_from(o.unsigned_abs()).unwrap_or(usize::MAX);
                    while st.updates.len() > keep {
                        st.updates.pop_front();
                    }
                }
                Some(o) => st.updates.retain(|(id, _)| *id >= o),
                None => {}
            }
            if !st.updates.is_empty() || tokio::time::Instant::now() >= deadline {
                let out: Vec<Value> = st.updates.iter().take(limit).map(|(_, u)| u.clone()).collect();
                return Ok(Value::Array(out));
            }
        }
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
}

fn valid_secret_token(s: &str) -> bool {
    (1..=256).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn set_webhook(inner: &Arc<Inner>, p: &Params) -> Result<Value, ApiError> {
    let mut st = lock(&inner.state);
    let url = p.str("url").unwrap_or_default();
    if p.bool("drop_pending_updates") {
        st.updates.clear();
    }
    if url.is_empty() {
        let had = st.webhook.take().is_some();
        let description = if had { "Webhook was deleted" } else { "Webhook is already deleted" };
        return Ok(json!({"ok": true, "result": true, "description": description}));
    }
    let https = url.starts_with("https://");
    if !(https || (url.starts_with("http://") && !st.settings.require_https_webhook)) {
        return Err(ApiError::bad_request("Bad Request: bad webhook: An HTTPS URL must be provided for webhook"));
    }
    let secret = p.str("secret_token").filter(|s| !s.is_empty());
    if secret.as_deref().is_some_and(|s| !valid_secret_token(s)) {
        return Err(ApiError::bad_request("Bad Request: secret token contains unallowed characters"));
    }
    let max_connections = p.i64("max_connections").unwrap_or(40);
    if !(1..=100).contains(&max_connections) {
        return Err(ApiError::bad_request("Bad Request: bad webhook: max_connections must be between 1 and 100"));
    }
    let allowed = match p.json("allowed_updates")? {
        Some(Value::Array(a)) => Some(a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()),
        _ => st.webhook.as_ref().and_then(|w| w.allowed_updates.clone()),
    };
    let unchanged = st.webhook.as_ref().is_some_and(|w| w.url == url && w.secret_token == secret);
    st.webhook = Some(WebhookSetting {
        url,
        secret_token: secret,
        allowed_updates: allowed,
        max_connections: max_connections as u32,
    });
    let description = if unchanged { "Webhook is already set" } else { "Webhook was set" };
    Ok(json!({"ok": true, "result": true, "description": description}))
}

fn webhook_info(st: &State) -> Value {
    let mut info = json!({
        "url": st.webhook.as_ref().map(|w| w.url.clone()).unwrap_or_default(),
        "has_custom_certificate": false,
        "pending_update_count": st.updates.len(),
    });
    if let Some(w) = &st.webhook {
        info["max_connections"] = json!(w.max_connections);
        if let Some(a) = &w.allowed_updates {
            info["allowed_updates"] = json!(a);
        }
        if let Some((at, message)) = &st.last_webhook_error {
            info["last_error_date"] = json!(at.as_second());
            info["last_error_message"] = json!(message);
        }
    }
    info
}

/// POSTs one update to the webhook; a 2xx removes it from the pending ones, and an answer that
/// is a method call is performed.
pub(crate) async fn post_to_webhook(
    inner: &Arc<Inner>,
    hook: &WebhookSetting,
    update_id: i64,
    body: String,
) -> WebhookDelivery {
    let answer = super::webhook::post(&hook.url, hook.secret_token.as_deref(), body.as_bytes()).await;
    let now = inner.now();
    let (status, error, reply) = match answer {
        Ok(a) if (200..300).contains(&a.status) => (Some(a.status), None, Some(a.body)),
        Ok(a) => (Some(a.status), Some(format!("Wrong response from the webhook: {}", a.status)), None),
        Err(e) => (None, Some(e), None),
    };
    let delivery = WebhookDelivery { update_id, url: hook.url.clone(), status, error: error.clone(), at: now };
    {
        let mut st = lock(&inner.state);
        match &error {
            None => st.updates.retain(|(id, _)| *id != update_id),
            Some(e) => st.last_webhook_error = Some((now, e.clone())),
        }
        st.deliveries.push(delivery.clone());
    }
    // "The webhook response body may itself be a method call."
    if let Some(Ok(Value::Object(mut fields))) =
        reply.filter(|b| !b.is_empty()).map(|b| serde_json::from_slice::<Value>(&b))
        && let Some(Value::String(method)) = fields.remove("method")
    {
        let _ = Box::pin(call(inner, &method, Params::from_json(fields))).await;
    }
    delivery
}
