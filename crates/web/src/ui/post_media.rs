//! The media of a post in its editor: per network, the items attached (with what was fixed for
//! that network), the brand's library to add from, and the networks' rules the post breaks.
//! Plain forms, one action each: works without JavaScript and with the keyboard.

use super::posts::{Rerender, done, editor_page, refused};
use super::{PageResult, WsCtx, one_error};
use crate::AppState;
use crate::session::CsrfForm;
use axum::extract::State;
use axum::http::StatusCode;
use nanopost_domain::ids::{MediaId, PostId};
use nanopost_domain::network::Network;
use nanopost_domain::post::Post;
use nanopost_services::Actor;
use nanopost_storage::{MediaFilter, PageRequest};
use serde::Deserialize;

pub struct AttachedRow {
    pub position: usize,
    pub file_name: String,
    pub thumb: String,
    pub fixes: String,
}

pub struct LibraryRow {
    pub id: String,
    pub file_name: String,
    pub thumb: String,
}

pub struct MediaCard {
    pub key: &'static str,
    pub label: &'static str,
    pub attached: Vec<AttachedRow>,
}

/// What the editor shows about media and rules.
pub struct MediaPanel {
    pub cards: Vec<MediaCard>,
    pub library: Vec<LibraryRow>,
    /// "Instagram · media: …" sentences.
    pub rule_issues: Vec<String>,
}

/// Most library items offered beside the editor (the newest of the brand).
const LIBRARY_OFFERED: u32 = 12;

pub async fn panel(state: &AppState, actor: &Actor, post: &Post) -> Result<MediaPanel, super::PageError> {
    let s = &state.services;
    let ws = actor.workspace_id;
    let cards = s
        .post_media(actor, post)
        .await?
        .into_iter()
        .map(|(network, items)| MediaCard {
            key: network.as_str(),
            label: network.label(),
            attached: items
                .into_iter()
                .enumerate()
                .map(|(position, m)| AttachedRow {
                    position,
                    file_name: m.file_name,
                    thumb: s.media_url(ws, m.id),
                    fixes: m.fixes.join(", "),
                })
                .collect(),
        })
        .collect();
    let filter = MediaFilter { brand_id: Some(post.brand_id), tag: None, originals_only: true };
    let library = s
        .media_list(actor, &filter, PageRequest::first(LIBRARY_OFFERED))
        .await?
        .items
        .into_iter()
        .filter(|m| m.mime.starts_with("image/") || m.mime.starts_with("video/"))
        .map(|m| LibraryRow { id: m.id.to_string(), thumb: s.media_url(ws, m.id), file_name: m.file_name })
        .collect();
    let rule_issues = s
        .post_rule_issues(actor, post)
        .await?
        .into_iter()
        .map(|(n, i)| match i.fix {
            Some(fix) => format!("{} · {}: {} (can be fixed: {fix})", n.label(), i.field, i.message),
            None => format!("{} · {}: {}", n.label(), i.field, i.message),
        })
        .collect();
    Ok(MediaPanel { cards, library, rule_issues })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddForm {
    #[serde(default)]
    version: String,
    #[serde(default)]
    network: String,
    #[serde(default)]
    media_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveForm {
    #[serde(default)]
    version: String,
    #[serde(default)]
    network: String,
    #[serde(default)]
    position: String,
}

pub async fn add(State(state): State<AppState>, ctx: WsCtx, form: CsrfForm<AddForm>) -> PageResult {
    let id: PostId = ctx.id("id")?;
    let f = form.data;
    let parsed = (f.version.trim().parse::<i64>(), f.network.parse::<Network>(), f.media_id.trim().parse::<MediaId>());
    let (Ok(version), Ok(network), Ok(media)) = parsed else {
        let errors =
            one_error("media", "choose an item and a network, then try again (reload the page if it persists)");
        return editor_page(&state, ctx, id, StatusCode::UNPROCESSABLE_ENTITY, Rerender::errors(errors)).await;
    };
    match state.services.add_post_media(&ctx.actor, id, version, network, media).await {
        Ok(_) => done(&ctx, id, "media_added"),
        Err(e) => refused(&state, ctx, id, e, Rerender::default()).await,
    }
}

pub async fn remove(State(state): State<AppState>, ctx: WsCtx, form: CsrfForm<RemoveForm>) -> PageResult {
    let id: PostId = ctx.id("id")?;
    let f = form.data;
    let parsed = (f.version.trim().parse::<i64>(), f.network.parse::<Network>(), f.position.trim().parse::<usize>());
    let (Ok(version), Ok(network), Ok(position)) = parsed else {
        let errors = one_error("media", "that item could not be found; reload the page");
        return editor_page(&state, ctx, id, StatusCode::UNPROCESSABLE_ENTITY, Rerender::errors(errors)).await;
    };
    match state.services.remove_post_media(&ctx.actor, id, version, network, position).await {
        Ok(_) => done(&ctx, id, "media_removed"),
        Err(e) => refused(&state, ctx, id, e, Rerender::default()).await,
    }
}
