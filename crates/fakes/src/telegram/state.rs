//! What the fake Telegram remembers: users and their private chats with the bot, every message
//! in each chat, callback queries waiting for an answer, the update queue, and the webhook.

use super::{CallbackAnswer, ChatMessage, PhotoSent, TelegramSettings, WebhookDelivery, WebhookSetting};
use crate::common::Counters;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};

pub(crate) struct Person {
    pub id: i64,
    pub first_name: String,
    pub username: Option<String>,
    /// The person blocked the bot: every send answers 403.
    pub blocked: bool,
}

impl Person {
    pub fn user_json(&self) -> Value {
        let mut u = json!({"id": self.id, "is_bot": false, "first_name": self.first_name, "language_code": "en"});
        if let Some(name) = &self.username {
            u["username"] = json!(name);
        }
        u
    }

    pub fn chat_json(&self) -> Value {
        let mut c = json!({"id": self.id, "type": "private", "first_name": self.first_name});
        if let Some(name) = &self.username {
            c["username"] = json!(name);
        }
        c
    }
}

pub(crate) struct PendingQuery {
    pub chat_id: i64,
    pub message_id: i64,
    pub created: Timestamp,
    pub answered: bool,
}

pub(crate) struct State {
    pub settings: TelegramSettings,
    pub counters: Counters,
    /// Private chats by chat id (= the person's user id).
    pub people: BTreeMap<i64, Person>,
    /// Messages of each chat, oldest first.
    pub chats: BTreeMap<i64, Vec<ChatMessage>>,
    pub next_update_id: i64,
    /// Updates not yet confirmed by a `getUpdates` offset (or not yet delivered to the webhook).
    pub updates: VecDeque<(i64, Value)>,
    pub queries: BTreeMap<String, PendingQuery>,
    pub answers: Vec<CallbackAnswer>,
    pub webhook: Option<WebhookSetting>,
    pub deliveries: Vec<WebhookDelivery>,
    pub last_webhook_error: Option<(Timestamp, String)>,
    /// Bumped by each `getUpdates`; a waiting poll that sees it change answers 409.
    pub poll_generation: u64,
    /// Sends per chat in the current one-second window, for the optional per-chat limit.
    pub sends: BTreeMap<i64, (Timestamp, u32)>,
}

impl State {
    pub fn new(settings: TelegramSettings) -> Self {
        State {
            settings,
            counters: Counters::default(),
            people: BTreeMap::new(),
            chats: BTreeMap::new(),
            // Telegram's update ids start at an arbitrary large number.
            next_update_id: 700_000_001,
            updates: VecDeque::new(),
            queries: BTreeMap::new(),
            answers: Vec::new(),
            webhook: None,
            deliveries: Vec::new(),
            last_webhook_error: None,
            poll_generation: 0,
            sends: BTreeMap::new(),
        }
    }

    pub fn person(&mut self, chat_id: i64) -> &mut Person {
        self.chats.entry(chat_id).or_default();
        self.people.entry(chat_id).or_insert_with(|| Person {
            id: chat_id,
            first_name: format!("Tester {chat_id}"),
            username: None,
            blocked: false,
        })
    }

    pub fn next_message_id(&mut self, chat_id: i64) -> i64 {
        // Message ids count per chat, as in private chats on Telegram.
        self.chats.get(&chat_id).and_then(|m| m.last()).map_or(1, |m| m.message_id + 1)
    }

    pub fn push_update(&mut self, body: Value) -> i64 {
        let id = self.next_update_id;
        self.next_update_id += 1;
        let mut update = json!({"update_id": id});
        if let (Some(obj), Value::Object(fields)) = (update.as_object_mut(), body) {
            obj.extend(fields);
        }
        self.updates.push_back((id, update));
        id
    }

    /// Forgets updates older than the retention (Telegram keeps them 24 h).
    pub fn expire_updates(&mut self, now: Timestamp) {
        let keep = self.settings.update_retention;
        let at = |u: &Value| u["message"]["date"].as_i64().or_else(|| u["callback_query"]["message"]["date"].as_i64());
        self.updates.retain(|(_, u)| {
            at(u).and_then(|d| Timestamp::from_second(d).ok()).is_none_or(|d| now.duration_since(d) < keep)
        });
    }

    pub fn message(&self, chat_id: i64, message_id: i64) -> Option<&ChatMessage> {
        self.chats.get(&chat_id)?.iter().find(|m| m.message_id == message_id)
    }

    pub fn message_mut(&mut self, chat_id: i64, message_id: i64) -> Option<&mut ChatMessage> {
        self.chats.get_mut(&chat_id)?.iter_mut().find(|m| m.message_id == message_id)
    }

    /// Counts a send against the optional per-chat limit; `Err(seconds)` when over it.
    pub fn count_send(&mut self, chat_id: i64, now: Timestamp) -> Result<(), u64> {
        let Some(limit) = self.settings.per_chat_messages_per_second else { return Ok(()) };
        let entry = self.sends.entry(chat_id).or_insert((now, 0));
        if now.duration_since(entry.0) >= SignedDuration::from_secs(1) {
            *entry = (now, 0);
        }
        if entry.1 >= limit {
            return Err(1);
        }
        entry.1 += 1;
        Ok(())
    }
}

/// The `Message` JSON Telegram answers with.
pub(crate) fn message_json(m: &ChatMessage, bot: &Value, person: Option<&Person>) -> Value {
    let chat = person.map(Person::chat_json).unwrap_or_else(|| json!({"id": m.chat_id, "type": "private"}));
    let from = if m.from_bot { bot.clone() } else { person.map(Person::user_json).unwrap_or(Value::Null) };
    let mut v = json!({"message_id": m.message_id, "date": m.date.as_second(), "chat": chat, "from": from});
    if let Some(t) = &m.text {
        v["text"] = json!(t);
    }
    if let Some(c) = &m.caption {
        v["caption"] = json!(c);
    }
    if let Some(p) = &m.photo {
        v["photo"] = photo_sizes(&m.photo_file_id, p);
    }
    if let Some(g) = &m.media_group_id {
        v["media_group_id"] = json!(g);
    }
    if let Some(k) = &m.reply_markup {
        v["reply_markup"] = k.clone();
    }
    if m.edited_at.is_some() {
        v["edit_date"] = json!(m.edited_at.map(|t| t.as_second()));
    }
    v
}

fn photo_sizes(file_id: &str, photo: &PhotoSent) -> Value {
    let size = match photo {
        PhotoSent::Upload { bytes, .. } => bytes.len() as u64,
        _ => 0,
    };
    json!([
        {"file_id": format!("{file_id}-s"), "file_unique_id": format!("{file_id}-us"), "width": 90, "height": 90, "file_size": size / 10},
        {"file_id": file_id, "file_unique_id": format!("{file_id}-u"), "width": 1080, "height": 1080, "file_size": size},
    ])
}
