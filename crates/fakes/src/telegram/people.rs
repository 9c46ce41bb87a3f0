//! Simulated people: what they write and press becomes an update, queued for `getUpdates` or
//! POSTed to the webhook.

use super::{ChatMessage, Delivery, Inner, PressError, api, state};
use crate::server::lock;
use serde_json::json;
use std::sync::Arc;

pub(crate) async fn user_message(inner: &Arc<Inner>, chat_id: i64, text: &str, reply_to: Option<i64>) -> Delivery {
    let update_id = {
        let now = inner.now();
        let mut st = lock(&inner.state);
        st.person(chat_id);
        let message_id = st.next_message_id(chat_id);
        let m = ChatMessage {
            chat_id,
            message_id,
            from_bot: false,
            date: now,
            text: Some(text.to_owned()),
            caption: None,
            photo: None,
            photo_file_id: String::new(),
            media_group_id: None,
            reply_markup: None,
            reply_to,
            edited_at: None,
        };
        let bot = api::bot_user_json(&st.settings);
        let mut message = state::message_json(&m, &bot, st.people.get(&chat_id));
        if let Some(r) = reply_to.and_then(|id| st.message(chat_id, id)) {
            message["reply_to_message"] = state::message_json(r, &bot, st.people.get(&chat_id));
        }
        st.chats.entry(chat_id).or_default().push(m);
        st.push_update(json!({ "message": message }))
    };
    deliver(inner, update_id).await
}

pub(crate) async fn press(
    inner: &Arc<Inner>,
    chat_id: i64,
    message_id: i64,
    callback_data: &str,
) -> Result<Delivery, PressError> {
    let update_id = {
        let now = inner.now();
        let mut st = lock(&inner.state);
        let m = st.message(chat_id, message_id).filter(|m| m.from_bot).ok_or(PressError::NoSuchMessage)?;
        if !m.buttons().iter().any(|(_, d)| d == callback_data) {
            return Err(PressError::NoSuchButton);
        }
        let bot = api::bot_user_json(&st.settings);
        let message = state::message_json(m, &bot, st.people.get(&chat_id));
        let id = format!("{}", 4_382_000_000_000_000_000u64 + st.counters.next("callback_query"));
        st.queries.insert(id.clone(), state::PendingQuery { chat_id, message_id, created: now, answered: false });
        let from = st.person(chat_id).user_json();
        st.push_update(json!({"callback_query": {
            "id": id, "from": from, "message": message,
            "chat_instance": format!("-{}", 5_000_000 + chat_id.unsigned_abs()), "data": callback_data,
        }}))
    };
    Ok(deliver(inner, update_id).await)
}

/// Queues the update, or POSTs it to the webhook when one is set.
pub(crate) async fn deliver(inner: &Arc<Inner>, update_id: i64) -> Delivery {
    let target = {
        let st = lock(&inner.state);
        st.webhook
            .clone()
            .and_then(|w| st.updates.iter().find(|(id, _)| *id == update_id).map(|(_, u)| (w, u.to_string())))
    };
    let Some((hook, body)) = target else {
        inner.updates_ready.notify_waiters();
        return Delivery::Queued { update_id };
    };
    Delivery::Webhook(api::post_to_webhook(inner, &hook, update_id, body).await)
}
