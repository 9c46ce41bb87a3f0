//! `nanopost demo`'s mailbox: the demo has no mail server, so the mail it writes (confirm your
//! address, reset your password, join a workspace…) waits in the outbox. These pages list it and
//! show each message with its links clickable, so those flows work in the demo. Outside the
//! demo they answer 404: on a real installation the outbox holds other people's tokens.
//!
//! No sign-in is asked (a password reset is asked for signed out); the demo listens on loopback.

use super::{Chrome, PageError, PageResult, fmt_ts, render};
use crate::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use nanopost_services::ServiceError;
use nanopost_storage::OutboxEmail;
use uuid::Uuid;

/// The newest messages listed (a demo writes a handful).
const SHOWN: u32 = 200;

pub fn routes() -> Router<AppState> {
    Router::new().route("/demo/mailbox", get(mailbox)).route("/demo/mailbox/{id}", get(message))
}

pub struct MailRow {
    pub id: String,
    pub to: String,
    pub subject: String,
    pub time: String,
}

/// A piece of a line of the body: text, or a link (`href` is then the text itself).
#[derive(Debug, PartialEq, Eq)]
pub struct Part {
    pub text: String,
    pub link: bool,
}

pub struct Shown {
    pub row: MailRow,
    pub lines: Vec<Vec<Part>>,
}

#[derive(Template)]
#[template(path = "demo_mailbox.html")]
struct MailboxPage {
    chrome: Chrome,
    mails: Vec<MailRow>,
    shown: Option<Shown>,
}

/// The outbox, or 404 when this is not the demo.
async fn outbox(state: &AppState) -> Result<Vec<OutboxEmail>, PageError> {
    if !state.demo {
        return Err(PageError::not_found());
    }
    state.services.store().outbox(SHOWN).await.map_err(|e| PageError::from(ServiceError::from(e)))
}

fn row(m: &OutboxEmail) -> MailRow {
    MailRow {
        id: m.id.to_string(),
        to: m.to.as_str().to_owned(),
        subject: m.subject.clone(),
        time: fmt_ts(m.created_at),
    }
}

async fn mailbox(State(state): State<AppState>) -> PageResult {
    let mails = outbox(&state).await?.iter().map(row).collect();
    Ok(render(StatusCode::OK, &MailboxPage { chrome: Chrome::anonymous(), mails, shown: None }))
}

async fn message(State(state): State<AppState>, Path(id): Path<String>) -> PageResult {
    let all = outbox(&state).await?;
    let id: Uuid = id.parse().map_err(|_| PageError::not_found())?;
    let mail = all.iter().find(|m| m.id == id).ok_or_else(PageError::not_found)?;
    let shown = Shown { row: row(mail), lines: mail.body.lines().map(linkify).collect() };
    let mails = all.iter().map(row).collect();
    Ok(render(StatusCode::OK, &MailboxPage { chrome: Chrome::anonymous(), mails, shown: Some(shown) }))
}

/// Splits a line of a mail's text into text and `http(s)://` links (the template escapes both;
/// nothing else, `javascript:` say, ever becomes a link). Sentence punctuation after a link is
/// not part of it.
pub fn linkify(line: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut rest = line;
    while let Some(start) = next_link(rest) {
        let tail = &rest[start..];
        let end = tail.find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'')).unwrap_or(tail.len());
        let url = tail[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')']);
        let scheme = if tail.starts_with("https://") { "https://".len() } else { "http://".len() };
        if url.len() <= scheme {
            // A bare scheme: text.
            push_text(&mut parts, &rest[..start + url.len()]);
            rest = &rest[start + url.len()..];
            continue;
        }
        push_text(&mut parts, &rest[..start]);
        parts.push(Part { text: url.to_owned(), link: true });
        rest = &tail[url.len()..];
    }
    push_text(&mut parts, rest);
    parts
}

fn next_link(s: &str) -> Option<usize> {
    [s.find("https://"), s.find("http://")].into_iter().flatten().min()
}

fn push_text(parts: &mut Vec<Part>, text: &str) {
    if text.is_empty() {
        return;
    }
    match parts.last_mut() {
        Some(last) if !last.link => last.text.push_str(text),
        _ => parts.push(Part { text: text.to_owned(), link: false }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(line: &str) -> Vec<(bool, String)> {
        linkify(line).into_iter().map(|p| (p.link, p.text)).collect()
    }

    #[test]
    fn links_are_found_and_punctuation_stays_out() {
        assert_eq!(
            shape("Open http://127.0.0.1:8080/verify-email?token=abc. Thanks"),
            vec![
                (false, "Open ".to_owned()),
                (true, "http://127.0.0.1:8080/verify-email?token=abc".to_owned()),
                (false, ". Thanks".to_owned())
            ]
        );
        assert_eq!(
            shape("(see https://a.example/x)"),
            vec![(false, "(see ".to_owned()), (true, "https://a.example/x".to_owned()), (false, ")".to_owned())]
        );
        assert_eq!(
            shape("https://a.example https://b.example"),
            vec![
                (true, "https://a.example".to_owned()),
                (false, " ".to_owned()),
                (true, "https://b.example".to_owned())
            ]
        );
        assert_eq!(shape("no link here"), vec![(false, "no link here".to_owned())]);
        assert_eq!(shape(""), Vec::<(bool, String)>::new());
    }

    #[test]
    fn hostile_text_never_becomes_a_foreign_link_kind() {
        assert_eq!(shape("javascript:alert(1)"), vec![(false, "javascript:alert(1)".to_owned())]);
        assert_eq!(shape("x http:// y"), vec![(false, "x http:// y".to_owned())]);
        assert_eq!(
            shape("https://a.example/\"><script>"),
            vec![(true, "https://a.example/".to_owned()), (false, "\"><script>".to_owned())]
        );
        // Multi-byte text around a link is cut on character boundaries.
        assert_eq!(
            shape("é https://a.example/ü é"),
            vec![(false, "é ".to_owned()), (true, "https://a.example/ü".to_owned()), (false, " é".to_owned())]
        );
    }
}
