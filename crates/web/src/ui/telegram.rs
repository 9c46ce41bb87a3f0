//! Telegram review, the person's settings: whether their chat is linked, a one-time code to
//! link one (shown once, on the answer to the form), and Unlink.

use super::auth::Empty;
use super::{Chrome, PageResult, WsCtx, fmt_ts, redirect_msg, render};
use crate::AppState;
use crate::session::CsrfForm;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use nanopost_services::telegram::{LinkCode, TelegramStatus};

/// The code just made, as the page shows it.
struct NewCode {
    code: String,
    command: String,
    deep_link: Option<String>,
    expires: String,
}

#[derive(Template)]
#[template(path = "telegram.html")]
struct TelegramPage {
    chrome: Chrome,
    ws: String,
    csrf: String,
    enabled: bool,
    may_review: bool,
    bot: Option<String>,
    linked_as: Option<String>,
    linked_at: Option<String>,
    code: Option<NewCode>,
}

fn page(ctx: WsCtx, status: &TelegramStatus, code: Option<LinkCode>) -> TelegramPage {
    TelegramPage {
        ws: ctx.ws_path(),
        csrf: ctx.chrome.csrf.clone(),
        enabled: status.enabled,
        may_review: status.may_review,
        bot: status.bot_username.clone(),
        linked_as: status.link.as_ref().map(|l| l.telegram_name.clone()),
        linked_at: status.link.as_ref().map(|l| fmt_ts(l.linked_at)),
        code: code.map(|c| NewCode {
            command: c.command(),
            deep_link: c.deep_link(),
            expires: fmt_ts(c.expires_at),
            code: c.code,
        }),
        chrome: ctx.chrome,
    }
}

pub async fn show(State(state): State<AppState>, ctx: WsCtx) -> PageResult {
    let status = state.services.telegram_status(&ctx.actor).await?;
    Ok(render(StatusCode::OK, &page(ctx, &status, None)))
}

pub async fn create_code(State(state): State<AppState>, ctx: WsCtx, _form: CsrfForm<Empty>) -> PageResult {
    let code = state.services.create_telegram_link_code(&ctx.actor).await?;
    let status = state.services.telegram_status(&ctx.actor).await?;
    Ok(render(StatusCode::OK, &page(ctx, &status, Some(code))))
}

pub async fn unlink(State(state): State<AppState>, ctx: WsCtx, _form: CsrfForm<Empty>) -> PageResult {
    let removed = state.services.unlink_telegram(&ctx.actor).await?;
    let msg = if removed { "telegram_unlinked" } else { "telegram_not_linked" };
    Ok(redirect_msg(&format!("{}/telegram", ctx.ws_path()), msg))
}
