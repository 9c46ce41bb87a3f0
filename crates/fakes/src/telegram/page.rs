//! A tiny chat simulator for `nanopost demo` (and browser tests): `GET /` lists the chats with
//! the bot, `GET /chat/{id}` shows one with its buttons, and two forms let a person write to
//! the bot (`POST /chat/{id}/send`, field `text`) and press a button (`POST /chat/{id}/press`,
//! fields `message_id`, `data`). No JavaScript; everything escaped.

use super::{ChatMessage, Inner, PhotoSent, people};
use crate::common::redirect;
use crate::incoming::Incoming;
use crate::server::lock;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::fmt::Write as _;
use std::sync::Arc;

pub(crate) async fn handle(inner: &Arc<Inner>, req: &Incoming) -> Option<Response> {
    let seg = req.seg();
    match (&req.method, seg.as_slice()) {
        (&Method::GET, []) => Some(index(inner)),
        (&Method::POST, ["chat"]) => {
            // "Start a chat": a person id and a first message.
            let id = req.form_value("chat_id").and_then(|v| v.trim().parse::<i64>().ok()).filter(|id| *id > 0);
            let Some(id) = id else {
                return Some(page(
                    "Bad request",
                    "<p>The chat id must be a positive number.</p>",
                    StatusCode::BAD_REQUEST,
                ));
            };
            let text = req.form_value("text").unwrap_or_else(|| "/start".into());
            people::user_message(inner, id, text.trim(), None).await;
            Some(redirect(&format!("/chat/{id}")))
        }
        (&Method::GET, ["chat", id]) => Some(id.parse().map_or_else(|_| not_found(), |id| chat(inner, id))),
        (&Method::POST, ["chat", id, "send"]) => {
            let Ok(id) = id.parse::<i64>() else { return Some(not_found()) };
            let text = req.form_value("text").unwrap_or_default();
            if !text.trim().is_empty() {
                people::user_message(inner, id, text.trim(), None).await;
            }
            Some(redirect(&format!("/chat/{id}")))
        }
        (&Method::POST, ["chat", id, "press"]) => {
            let Ok(id) = id.parse::<i64>() else { return Some(not_found()) };
            let message_id = req.form_value("message_id").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
            let data = req.form_value("data").unwrap_or_default();
            match people::press(inner, id, message_id, &data).await {
                Ok(_) => Some(redirect(&format!("/chat/{id}"))),
                Err(e) => {
                    Some(page("Cannot press", &format!("<p>{}</p>", escape(&e.to_string())), StatusCode::BAD_REQUEST))
                }
            }
        }
        _ => None,
    }
}

fn not_found() -> Response {
    page("Not found", "<p>No such chat.</p>", StatusCode::NOT_FOUND)
}

fn index(inner: &Arc<Inner>) -> Response {
    let st = lock(&inner.state);
    let mut body = format!(
        "<p>This is the local fake of Telegram for the bot <b>@{}</b>. Nothing leaves this machine.</p>",
        escape(&st.settings.bot_username)
    );
    body.push_str("<h2>Chats</h2><ul>");
    for (id, p) in &st.people {
        let _ = write!(body, "<li><a href=\"/chat/{id}\">{} ({id})</a></li>", escape(&p.first_name));
    }
    body.push_str("</ul><h2>Write to the bot as someone new</h2>");
    body.push_str(
        "<form method=\"post\" action=\"/chat\"><label>Chat id <input name=\"chat_id\" value=\"424242\"></label> \
         <label>Message <input name=\"text\" value=\"/start\" size=\"30\"></label> <button>Send</button></form>",
    );
    page("Fake Telegram", &body, StatusCode::OK)
}

fn chat(inner: &Arc<Inner>, id: i64) -> Response {
    let st = lock(&inner.state);
    let Some(person) = st.people.get(&id) else { return not_found() };
    let mut body = format!(
        "<p><a href=\"/\">All chats</a></p><h2>{} and @{}</h2>",
        escape(&person.first_name),
        escape(&st.settings.bot_username)
    );
    for m in st.chats.get(&id).map(Vec::as_slice).unwrap_or_default() {
        body.push_str(&message_html(m));
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/chat/{id}/send\"><input name=\"text\" size=\"50\" aria-label=\"Message\" autofocus> <button>Send</button></form>"
    );
    page(&format!("Chat {id}"), &body, StatusCode::OK)
}

fn message_html(m: &ChatMessage) -> String {
    let who = if m.from_bot { "bot" } else { "person" };
    let mut out = format!(
        "<div class=\"msg {who}\" id=\"m{}\"><small>#{} {who}{}</small>",
        m.message_id,
        m.message_id,
        if m.edited_at.is_some() { " (edited)" } else { "" }
    );
    if let Some(p) = &m.photo {
        let what = match p {
            PhotoSent::Url(u) => format!("photo from {}", escape(u)),
            PhotoSent::FileId(f) => format!("photo {}", escape(f)),
            PhotoSent::Upload { file_name, bytes, .. } => {
                format!("uploaded photo {} ({} bytes)", escape(file_name), bytes.len())
            }
        };
        let _ = write!(out, "<p><i>[{what}]</i></p>");
    }
    if let Some(t) = m.body() {
        let _ = write!(out, "<pre>{}</pre>", escape(t));
    }
    for (text, data) in m.buttons() {
        let _ = write!(
            out,
            "<form method=\"post\" action=\"/chat/{}/press\" class=\"button\"><input type=\"hidden\" name=\"message_id\" value=\"{}\"><input type=\"hidden\" name=\"data\" value=\"{}\"><button>{}</button></form>",
            m.chat_id,
            m.message_id,
            escape(&data),
            escape(&text)
        );
    }
    out.push_str("</div>");
    out
}

fn page(title: &str, body: &str, status: StatusCode) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>body{{font-family:sans-serif;max-width:46rem;margin:1rem auto}}.msg{{border:1px solid #ccc;border-radius:6px;padding:.4rem;margin:.4rem 0}}\
         .bot{{background:#eef5ff}}.person{{background:#f4fff0;margin-left:4rem}}pre{{white-space:pre-wrap;font-family:inherit}}form.button{{display:inline}}</style>\
         </head><body><h1>{}</h1>{body}</body></html>",
        escape(title),
        escape(title)
    );
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
