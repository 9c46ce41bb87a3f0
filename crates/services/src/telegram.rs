//! Review in Telegram: reviewers link their chat with a one-time code, drafts submitted for
//! review are sent to every linked member who may review, and a button press is that person's
//! approval (or rejection) through [`Channel::Telegram`], bound to the digest of the content the
//! message showed.
//!
//! - Linking: a code of 10 characters (no look-alikes), single-use, valid 10 minutes, stored
//!   only as its SHA-256. The person sends `/start CODE` (or the code alone) to the bot; wrong,
//!   used or expired codes get a sentence back, and a chat guessing codes is slowed down.
//!   `/stop` in the bot, or Unlink on the web page, deletes the link: nothing more is sent there.
//! - Sending: `submit_post` enqueues one [`SEND_REVIEW`] job (so a Telegram outage never fails
//!   a submit). The job sends the draft as text with Approve / Reject / Regenerate buttons; the
//!   buttons carry `a:|r:|g:` and a 16-character random token that leads to the post and the
//!   digest sent. Roles are checked at send time and again at press time. A 429 becomes a job
//!   retry at the time Telegram named; recipients already served are not sent again.
//! - Pressing: the chat must still be linked to the person the draft was sent to, the person
//!   must still be a member whose role may review, and the post must still carry the digest that
//!   was sent. Otherwise nothing is decided, the button answers why, and the message says so.
//!   Reject uses the reason "Rejected in Telegram" (a reason can be written on the web);
//!   Regenerate answers that it is available in the web app (no generation use case exists yet).
//! - Photos: the images of the variant with the most media are uploaded with the request (not
//!   sent as URLs: Telegram could not fetch them from an installation without a public URL):
//!   one photo, or an album of up to 10, then the text with the buttons (an album cannot carry
//!   a keyboard). Videos and files Telegram does not show as photos are only counted in the
//!   text; if the media cannot be read, the draft goes as text alone.

use crate::Services;
use crate::actor::Actor;
use crate::audit::{AuditAction, AuditEvent};
use crate::error::{Result, ServiceError};
use crate::ratelimit::FailureCounter;
use jiff::{SignedDuration, Timestamp};
use nanopost_domain::approval::{Channel, ContentDigest};
use nanopost_domain::ids::{PostId, WorkspaceId};
use nanopost_domain::post::{Post, PostState};
use nanopost_domain::role::Permission;
use nanopost_jobs::{Job, JobError, JobResult, NewJob};
use nanopost_storage::{TakenLinkCode, TelegramDecision, TelegramLink, TelegramLinkCode, TelegramReviewMessage};
use nanopost_telegram::types::{MAX_TEXT_CHARS, Message};
use nanopost_telegram::{
    Bot, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, TelegramError, Update,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tokio::sync::OnceCell;

/// The job kind that sends a submitted draft to the linked reviewers.
pub const SEND_REVIEW: &str = "telegram.send_review";

/// How long a link code works.
pub const LINK_CODE_TTL: SignedDuration = SignedDuration::from_mins(10);

/// The reason recorded when a draft is rejected from Telegram.
pub const TELEGRAM_REJECT_REASON: &str = "Rejected in Telegram";

/// Added to a draft's message when a newer version of the draft was sent after it.
pub const OUTDATED_NOTE: &str = "⚠️ This draft changed since; the new version is in the message below.";

/// Shown when a button's draft changed after it was sent.
pub const CHANGED_ANSWER: &str = "This draft changed since it was sent; open it in Nanopost";

const CODE_LEN: usize = 10;
/// No 0/O, 1/I/L: a code is typed from a screen.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const GUESS_LIMIT: u32 = 5;
const GUESS_WINDOW: SignedDuration = SignedDuration::from_mins(15);
const SEND_ATTEMPTS: u32 = 20;
/// Telegram's limit for an uploaded photo.
const MAX_PHOTO_UPLOAD_BYTES: usize = 10 * 1024 * 1024;

/// The bot, as the use cases reach it. Cheap to clone.
#[derive(Clone)]
pub struct TelegramChannel {
    inner: Arc<ChannelInner>,
}

struct ChannelInner {
    bot: Bot,
    username: OnceCell<String>,
    /// Webhook mode: the SHA-256 of the secret Telegram must send back (never the secret).
    webhook_secret: Option<[u8; 32]>,
    /// Wrong codes per chat, so a chat cannot try codes quickly.
    guesses: FailureCounter,
}

impl TelegramChannel {
    /// `bot_username` when known from configuration; otherwise asked with `getMe` on first need.
    pub fn new(bot: Bot, bot_username: Option<String>) -> Self {
        let username = OnceCell::new();
        if let Some(u) = bot_username.filter(|u| !u.trim().is_empty()) {
            let _ = username.set(u.trim().trim_start_matches('@').to_owned());
        }
        Self {
            inner: Arc::new(ChannelInner { bot, username, webhook_secret: None, guesses: FailureCounter::default() }),
        }
    }

    /// Webhook mode: updates are accepted only with this `X-Telegram-Bot-Api-Secret-Token`.
    pub fn with_webhook_secret(self, secret: &str) -> Self {
        let inner = ChannelInner {
            bot: self.inner.bot.clone(),
            username: self.inner.username.clone(),
            webhook_secret: Some(Sha256::digest(secret.as_bytes()).into()),
            guesses: FailureCounter::default(),
        };
        Self { inner: Arc::new(inner) }
    }

    /// Whether webhook updates are expected at all.
    pub fn accepts_webhooks(&self) -> bool {
        self.inner.webhook_secret.is_some()
    }

    /// Compares the presented header with the secret in constant time (over hashes, so the
    /// length leaks nothing either). False when no webhook secret is configured.
    pub fn webhook_secret_matches(&self, presented: &[u8]) -> bool {
        let Some(expected) = &self.inner.webhook_secret else { return false };
        let got: [u8; 32] = Sha256::digest(presented).into();
        got.iter().zip(expected.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }

    pub fn bot(&self) -> &Bot {
        &self.inner.bot
    }

    /// The bot's @username (without `@`), if Telegram could be asked.
    pub async fn bot_username(&self) -> Option<String> {
        let got =
            self.inner.username.get_or_try_init(|| async { self.inner.bot.get_me().await.map(|me| me.username) }).await;
        match got {
            Ok(u) => Some(u.clone()),
            Err(e) => {
                tracing::warn!(error = %e, "cannot ask Telegram for the bot's name");
                None
            }
        }
    }
}

impl std::fmt::Debug for TelegramChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramChannel").field("bot", &self.inner.bot).finish()
    }
}

/// A new link code, to show once.
#[derive(Clone)]
pub struct LinkCode {
    pub code: String,
    pub expires_at: Timestamp,
    pub bot_username: Option<String>,
}

impl LinkCode {
    /// What to send to the bot.
    pub fn command(&self) -> String {
        format!("/start {}", self.code)
    }

    /// `https://t.me/<bot>?start=<code>`: opens the chat with the command filled in.
    pub fn deep_link(&self) -> Option<String> {
        self.bot_username.as_ref().map(|b| format!("https://t.me/{b}?start={}", self.code))
    }
}

impl std::fmt::Debug for LinkCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkCode").field("code", &"<redacted>").field("expires_at", &self.expires_at).finish()
    }
}

/// What the settings page shows.
#[derive(Debug, Clone)]
pub struct TelegramStatus {
    /// A bot is configured on this installation.
    pub enabled: bool,
    pub bot_username: Option<String>,
    pub link: Option<TelegramLink>,
    /// The person's role here lets them review (drafts of this workspace reach them).
    pub may_review: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct SendReviewPayload {
    workspace_id: WorkspaceId,
    post_id: PostId,
    digest: ContentDigest,
}

/// What a button asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Press {
    Approve,
    Reject,
    Regenerate,
}

impl Press {
    fn prefix(self) -> &'static str {
        match self {
            Press::Approve => "a",
            Press::Reject => "r",
            Press::Regenerate => "g",
        }
    }

    fn parse(data: &str) -> Option<(Press, &str)> {
        let (p, token) = data.split_once(':')?;
        let press = match p {
            "a" => Press::Approve,
            "r" => Press::Reject,
            "g" => Press::Regenerate,
            _ => return None,
        };
        (token.len() == 16 && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
            .then_some((press, token))
    }
}

impl Services {
    /// The same services with the Telegram bot. Call once at start-up, before sharing.
    pub fn with_telegram(self, channel: TelegramChannel) -> Self {
        let Ok(mut inner) = Arc::try_unwrap(self.inner) else {
            panic!("Services::with_telegram is called at start-up, before the services are shared");
        };
        inner.telegram = Some(channel);
        Self { inner: Arc::new(inner) }
    }

    /// The bot, when Telegram is configured.
    pub fn telegram(&self) -> Option<&TelegramChannel> {
        self.inner.telegram.as_ref()
    }

    fn telegram_or_unavailable(&self) -> Result<&TelegramChannel> {
        self.telegram().ok_or_else(|| ServiceError::Conflict("Telegram is not set up on this installation".into()))
    }

    /// After a submit: hands the draft to the Telegram job when someone could receive it. Never
    /// fails the submit (a failure to enqueue is logged).
    pub(crate) async fn telegram_review_requested(&self, post: &Post) {
        if self.telegram().is_none() || post.state != PostState::PendingReview {
            return;
        }
        let reviewers = match self.store().telegram_reviewers(post.workspace_id).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, post = %post.id, "cannot read the Telegram reviewers; the draft is not sent there");
                return;
            }
        };
        if !reviewers.iter().any(|(_, role)| role.can(Permission::Review)) {
            return;
        }
        let digest = post.content.digest();
        let payload = SendReviewPayload { workspace_id: post.workspace_id, post_id: post.id, digest: digest.clone() };
        let job = NewJob::new(SEND_REVIEW, serde_json::to_value(&payload).unwrap_or_default(), self.now())
            .workspace(post.workspace_id)
            .unique_key(format!("{SEND_REVIEW}:{}:{digest}", post.id))
            .max_attempts(SEND_ATTEMPTS);
        if let Err(e) = self.enqueue(&[job]).await {
            tracing::warn!(error = %e, post = %post.id, "cannot enqueue the Telegram review; the draft is not sent there");
        }
    }

    /// A one-time code the person sends to the bot to link their chat.
    pub async fn create_telegram_link_code(&self, actor: &Actor) -> Result<LinkCode> {
        actor.require(Permission::Review)?;
        let channel = self.telegram_or_unavailable()?;
        let code = random_code();
        let now = self.now();
        let expires_at = now.checked_add(LINK_CODE_TTL).unwrap_or(now);
        self.store()
            .create_telegram_link_code(&TelegramLinkCode {
                code_hash: crate::secrets::hash_token(&code),
                user_id: actor.user_id,
                workspace_id: actor.workspace_id,
                created_at: now,
                expires_at,
            })
            .await?;
        Ok(LinkCode { code, expires_at, bot_username: channel.bot_username().await })
    }

    pub async fn telegram_status(&self, actor: &Actor) -> Result<TelegramStatus> {
        let link = self.store().telegram_link(actor.user_id).await?;
        let (enabled, bot_username) = match self.telegram() {
            Some(c) => (true, c.bot_username().await),
            None => (false, None),
        };
        Ok(TelegramStatus { enabled, bot_username, link, may_review: actor.can(Permission::Review) })
    }

    /// Deletes the person's link (from the web): no further message goes to that chat.
    pub async fn unlink_telegram(&self, actor: &Actor) -> Result<bool> {
        let removed = self.store().unlink_telegram(actor.user_id).await?;
        if removed.is_some() {
            self.audit(AuditEvent::by(actor, AuditAction::TelegramUnlinked)).await;
        }
        Ok(removed.is_some())
    }

    /// One update from Telegram (webhook or long poll). `Err` only when it could not be
    /// processed and should come again (storage trouble); Telegram failing to take our answer
    /// is logged, not returned.
    pub async fn handle_telegram_update(&self, update: &Update) -> Result<()> {
        let channel = self.telegram_or_unavailable()?.clone();
        if let Some(q) = &update.callback_query {
            return self.telegram_press(&channel, q).await;
        }
        if let Some(m) = &update.message {
            return self.telegram_message(&channel, m).await;
        }
        Ok(())
    }

    /// Handles a [`SEND_REVIEW`] job: sends the draft to every linked member who may review
    /// and has not received this version yet.
    pub async fn run_telegram_send_review(&self, job: &Job) -> JobResult {
        let p: SendReviewPayload = serde_json::from_value(job.payload.clone())
            .map_err(|e| JobError::permanent(format!("malformed {SEND_REVIEW} payload: {e}")))?;
        let Some(channel) = self.telegram().cloned() else {
            return Err(JobError::retry("Telegram is not configured in this worker"));
        };
        let post = match self.store().post(p.workspace_id, p.post_id).await {
            Ok(Some(post)) => post,
            Ok(None) => return Ok(vec![]),
            Err(e) => return Err(JobError::retry(format!("reading the post: {e}"))),
        };
        // Decided or changed since: a newer job (new digest) carries the new version.
        if post.state != PostState::PendingReview || post.content.digest() != p.digest {
            return Ok(vec![]);
        }
        let store_err = |e: nanopost_storage::StorageError| JobError::retry(format!("storage: {e}"));
        let reviewers = self.store().telegram_reviewers(p.workspace_id).await.map_err(store_err)?;
        let sent_before =
            self.store().telegram_review_messages_of_post(p.workspace_id, p.post_id).await.map_err(store_err)?;
        let brand = self.store().brand(p.workspace_id, post.brand_id).await.map_err(store_err)?;
        let text = draft_text(&post, brand.as_ref().map_or("", |b| b.profile.name.as_str()), &self.post_url(&post));
        let photos = self.draft_photos(&post).await;
        for (link, role) in reviewers {
            if !role.can(Permission::Review) {
                continue;
            }
            if sent_before.iter().any(|m| m.user_id == link.user_id && m.digest == p.digest) {
                continue;
            }
            let token = random_token();
            let keyboard = review_keyboard(&token);
            // Photos first (an album takes no keyboard), then the text with the buttons.
            let bot = channel.bot();
            let sent = async {
                let mut ids = match photos.as_slice() {
                    [] => vec![],
                    [one] => vec![bot.send_photo(link.chat_id, one, None, None).await?.message_id],
                    many => {
                        bot.send_media_group(link.chat_id, many, None).await?.iter().map(|m| m.message_id).collect()
                    }
                };
                ids.push(bot.send_message(link.chat_id, &text, Some(&keyboard)).await?.message_id);
                Ok::<_, TelegramError>(ids)
            };
            match sent.await {
                Ok(message_ids) => {
                    let record = TelegramReviewMessage {
                        token,
                        workspace_id: p.workspace_id,
                        post_id: p.post_id,
                        user_id: link.user_id,
                        chat_id: link.chat_id,
                        message_ids,
                        digest: p.digest.clone(),
                        sent_at: self.now(),
                        decision: None,
                        decided_at: None,
                    };
                    self.store().insert_telegram_review_message(&record).await.map_err(store_err)?;
                    let outdated = sent_before.iter().filter(|m| m.user_id == link.user_id && m.decision.is_none());
                    for old in outdated {
                        self.mark_review_outdated(&channel, old).await.map_err(store_err)?;
                    }
                }
                Err(e) if e.is_chat_unreachable() => {
                    tracing::warn!(chat = link.chat_id, error = %e, "a reviewer's Telegram chat cannot receive drafts; skipped");
                }
                Err(e) => return Err(self.telegram_job_error(&e)),
            }
        }
        Ok(vec![])
    }

    /// An earlier version's message, once the new one is sent: its buttons go (they could only
    /// answer that the draft changed) and a line points to the new message below. Telegram
    /// refusing the edit is logged; the press would still be refused by the digest check.
    async fn mark_review_outdated(
        &self,
        channel: &TelegramChannel,
        old: &TelegramReviewMessage,
    ) -> std::result::Result<(), nanopost_storage::StorageError> {
        if !self.store().decide_telegram_review(&old.token, TelegramDecision::Stale, self.now()).await? {
            return Ok(()); // Decided meanwhile.
        }
        let Some(message_id) = old.keyboard_message_id() else { return Ok(()) };
        let bot = channel.bot();
        // Removing the keyboard answers the message as it is, text included: the note goes under it.
        let edited = match bot.edit_message_reply_markup(old.chat_id, message_id, None).await {
            Ok(m) => match m.text {
                Some(text) => {
                    bot.edit_message_text(old.chat_id, message_id, &with_note(&text, OUTDATED_NOTE), None).await
                }
                None => Ok(m),
            },
            Err(e) => Err(e),
        };
        if let Err(e) = edited
            && !e.is_not_modified()
        {
            tracing::warn!(chat = old.chat_id, error = %e, "Telegram did not take the edit of an outdated draft");
        }
        Ok(())
    }

    /// One long-polling step: fetches the updates after the stored offset (waiting up to
    /// `wait_secs` for the first), handles each and stores the offset after each. Returns how
    /// many were handled.
    pub async fn poll_telegram_once(&self, wait_secs: u32) -> std::result::Result<usize, TelegramPollError> {
        let channel = self.telegram().cloned().ok_or(TelegramPollError::NotConfigured)?;
        let bot_id = channel.bot().bot_id().to_owned();
        let offset =
            self.store().telegram_poll_offset(&bot_id).await.map_err(|e| TelegramPollError::Storage(e.to_string()))?;
        let updates = channel.bot().get_updates(offset, wait_secs, 100).await.map_err(TelegramPollError::Telegram)?;
        let mut handled = 0;
        for update in &updates {
            self.handle_telegram_update(update).await.map_err(|e| TelegramPollError::Storage(e.to_string()))?;
            self.store()
                .set_telegram_poll_offset(&bot_id, update.update_id + 1, self.now())
                .await
                .map_err(|e| TelegramPollError::Storage(e.to_string()))?;
            handled += 1;
        }
        Ok(handled)
    }

    /// The images of the draft as uploads (see the module docs); none when there are none or
    /// they cannot be read.
    async fn draft_photos(&self, post: &Post) -> Vec<InputFile> {
        let Some(variant) = post.content.variants.iter().max_by_key(|v| v.media.len()).filter(|v| !v.media.is_empty())
        else {
            return vec![];
        };
        let items = match self.publication_items(post.workspace_id, &variant.media).await {
            Ok(items) => items,
            Err(e) => {
                tracing::warn!(post = %post.id, error = %e, "the draft's media cannot be read; sent to Telegram as text");
                return vec![];
            }
        };
        items
            .into_iter()
            .filter_map(|item| {
                let mime = item.facts.format.mime();
                let ext = match mime {
                    "image/jpeg" => "jpg",
                    "image/png" => "png",
                    "image/webp" => "webp",
                    _ => return None,
                };
                let bytes = item.bytes?;
                (bytes.len() <= MAX_PHOTO_UPLOAD_BYTES).then(|| InputFile::Upload {
                    file_name: format!("{}.{ext}", item.id),
                    content_type: mime.to_owned(),
                    bytes: bytes.as_ref().clone(),
                })
            })
            .take(nanopost_telegram::types::MEDIA_GROUP_MAX)
            .collect()
    }

    fn telegram_job_error(&self, e: &TelegramError) -> JobError {
        let message = format!("Telegram: {e}");
        match e.retry_after() {
            Some(wait) => {
                let wait = SignedDuration::try_from(wait).unwrap_or(SignedDuration::from_secs(60));
                JobError::retry_at(message, self.now().checked_add(wait).unwrap_or(self.now()))
            }
            None if matches!(e, TelegramError::Unauthorized) => JobError::permanent(message),
            None => JobError::retry(message),
        }
    }

    fn post_url(&self, post: &Post) -> String {
        format!("{}/w/{}/posts/{}", self.config().public_url.trim_end_matches('/'), post.workspace_id, post.id)
    }

    // -----------------------------------------------------------------------------------------
    // Messages to the bot.

    async fn telegram_message(&self, channel: &TelegramChannel, m: &Message) -> Result<()> {
        let Some(text) = m.text.as_deref().map(str::trim) else { return Ok(()) };
        let chat_id = m.chat.id;
        if m.chat.kind != "private" {
            reply(channel, chat_id, "Please talk to me in a private chat: drafts are sent to one person at a time.")
                .await;
            return Ok(());
        }
        let (command, argument) = split_command(text);
        match command.as_deref() {
            Some("start" | "link") if !argument.is_empty() => self.telegram_link(channel, m, argument).await,
            Some("start") => {
                let answer = match self.store().telegram_link_by_chat(chat_id).await? {
                    Some(_) => {
                        "This chat is linked to Nanopost: drafts waiting for your review arrive here. Send /stop to unlink."
                    }
                    None => LINK_HELP,
                };
                reply(channel, chat_id, answer).await;
                Ok(())
            }
            Some("stop" | "unlink") => {
                let answer = match self.store().telegram_link_by_chat(chat_id).await? {
                    Some(link) => {
                        self.store().unlink_telegram(link.user_id).await?;
                        self.audit(AuditEvent::account(link.user_id, AuditAction::TelegramUnlinked)).await;
                        "Unlinked. No more drafts will be sent to this chat; you can link again from Nanopost at any time."
                    }
                    None => "This chat is not linked to Nanopost.",
                };
                reply(channel, chat_id, answer).await;
                Ok(())
            }
            Some("help") => {
                reply(channel, chat_id, HELP).await;
                Ok(())
            }
            None if looks_like_code(text) => self.telegram_link(channel, m, text).await,
            _ => {
                let linked = self.store().telegram_link_by_chat(chat_id).await?.is_some();
                reply(channel, chat_id, if linked { HELP } else { LINK_HELP }).await;
                Ok(())
            }
        }
    }

    async fn telegram_link(&self, channel: &TelegramChannel, m: &Message, presented: &str) -> Result<()> {
        let chat_id = m.chat.id;
        let now = self.now();
        let key = format!("telegram-chat:{chat_id}");
        if let Err(wait) = channel.inner.guesses.check(&key, GUESS_LIMIT, GUESS_WINDOW, now) {
            let minutes = wait.div_ceil(60);
            reply(channel, chat_id, &format!("Too many wrong codes. Please wait {minutes} minutes and try again."))
                .await;
            return Ok(());
        }
        let code = normalize_code(presented);
        let taken = if code.len() == CODE_LEN && code.bytes().all(|b| CODE_ALPHABET.contains(&b)) {
            self.store().take_telegram_link_code(&crate::secrets::hash_token(&code), now).await?
        } else {
            TakenLinkCode::Unknown
        };
        let fresh = match taken {
            TakenLinkCode::Fresh(c) => c,
            other => {
                channel.inner.guesses.record_failure(&key, GUESS_WINDOW, now);
                let answer = match other {
                    TakenLinkCode::Expired => {
                        "This code has expired (codes work for 10 minutes). Please create a new one in Nanopost."
                    }
                    TakenLinkCode::AlreadyUsed => "This code was already used. Please create a new one in Nanopost.",
                    _ => "I do not know this code. Please check it, or create a new one in Nanopost (Telegram page).",
                };
                reply(channel, chat_id, answer).await;
                return Ok(());
            }
        };
        // The person must still exist and belong to the workspace the code was made in.
        let Some(user) = self.store().user_by_id(fresh.user_id).await? else {
            reply(channel, chat_id, "This code is no longer valid. Please create a new one in Nanopost.").await;
            return Ok(());
        };
        let actor = match self.actor(&user, fresh.workspace_id).await {
            Ok(a) => a,
            Err(ServiceError::NotFound) => {
                reply(channel, chat_id, "This code is no longer valid. Please create a new one in Nanopost.").await;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        channel.inner.guesses.clear(&key);
        let name = m
            .from
            .as_ref()
            .map(|f| f.username.as_ref().map_or_else(|| f.first_name.clone(), |u| format!("@{u}")))
            .unwrap_or_else(|| format!("chat {chat_id}"));
        self.store()
            .link_telegram_chat(&TelegramLink { user_id: user.id, chat_id, telegram_name: name, linked_at: now })
            .await?;
        self.audit(AuditEvent::by(&actor, AuditAction::TelegramLinked)).await;
        let answer = format!(
            "Linked. This chat now belongs to {} in Nanopost: drafts waiting for your review will arrive here with Approve, Reject and Regenerate buttons. Send /stop to unlink.",
            user.display_name
        );
        reply(channel, chat_id, &answer).await;
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Button presses.

    async fn telegram_press(&self, channel: &TelegramChannel, q: &CallbackQuery) -> Result<()> {
        let chat_id = q.message.as_ref().map_or(q.from.id, |m| m.chat.id);
        let outcome = self.decide_press(q, chat_id).await?;
        let bot = channel.bot();
        if let Err(e) = bot.answer_callback_query(&q.id, Some(&outcome.answer), outcome.alert).await {
            tracing::warn!(error = %e, "Telegram did not take the answer to a button press");
        }
        if let (Some(note), Some(m)) = (&outcome.note, &q.message) {
            let original = m.text.clone().or_else(|| m.caption.clone()).unwrap_or_default();
            let text = with_note(&original, note);
            let edited = if m.text.is_some() {
                bot.edit_message_text(chat_id, m.message_id, &text, None).await
            } else if m.caption.is_some() {
                bot.edit_message_caption(chat_id, m.message_id, &truncate(&text, 1024), None).await
            } else {
                bot.edit_message_reply_markup(chat_id, m.message_id, None).await
            };
            if let Err(e) = edited
                && !e.is_not_modified()
            {
                tracing::warn!(error = %e, "Telegram did not take the edit of a reviewed draft");
            }
        }
        Ok(())
    }

    /// What a press does, and what to tell the person: `note` (when set) is appended to the
    /// message and its buttons removed.
    async fn decide_press(&self, q: &CallbackQuery, chat_id: i64) -> Result<PressOutcome> {
        let Some((press, token)) = q.data.as_deref().and_then(Press::parse) else {
            return Ok(PressOutcome::alert("This button is not one of Nanopost's."));
        };
        let Some(link) = self.store().telegram_link_by_chat(chat_id).await? else {
            return Ok(PressOutcome::alert("This chat is no longer linked to Nanopost, so nothing was decided."));
        };
        let Some(sent) = self.store().telegram_review_message(token, chat_id).await? else {
            return Ok(PressOutcome::done("This draft no longer exists in Nanopost.", "This draft no longer exists."));
        };
        if sent.user_id != link.user_id {
            return Ok(PressOutcome::alert("This draft was sent to another Nanopost account, so nothing was decided."));
        }
        let Some(user) = self.store().user_by_id(link.user_id).await? else {
            return Ok(PressOutcome::alert("Your Nanopost account no longer exists."));
        };
        let actor = match self.actor(&user, sent.workspace_id).await {
            Ok(a) => Actor { channel: Channel::Telegram, ..a },
            Err(ServiceError::NotFound) => {
                return Ok(PressOutcome::alert(
                    "You are no longer a member of this workspace, so nothing was decided.",
                ));
            }
            Err(e) => return Err(e),
        };
        if !actor.can(Permission::Review) {
            return Ok(PressOutcome::alert(
                "Your role in this workspace no longer allows approving or rejecting drafts, so nothing was decided.",
            ));
        }
        let Some(post) = self.store().post(sent.workspace_id, sent.post_id).await? else {
            return Ok(PressOutcome::done("This draft no longer exists in Nanopost.", "This draft no longer exists."));
        };
        let url = self.post_url(&post);
        if post.content.digest() != sent.digest {
            self.store().decide_telegram_review(&sent.token, TelegramDecision::Stale, self.now()).await?;
            return Ok(PressOutcome::changed(&url));
        }
        if post.state != PostState::PendingReview {
            let note = format!("This draft was already decided in Nanopost (it is now {}).", post.state.label());
            return Ok(PressOutcome::done(&note, &note));
        }
        let result = match press {
            Press::Approve => {
                self.approve_post(&actor, post.id, &sent.digest).await.map(|_| TelegramDecision::Approved)
            }
            Press::Reject => self
                .reject_post(&actor, post.id, &sent.digest, TELEGRAM_REJECT_REASON)
                .await
                .map(|_| TelegramDecision::Rejected),
            Press::Regenerate => {
                return Ok(PressOutcome::alert(&format!(
                    "Regenerate is available in the web app: {url} (nothing was changed here)."
                )));
            }
        };
        match result {
            Ok(decision) => {
                self.store().decide_telegram_review(&sent.token, decision, self.now()).await?;
                let (answer, note) = match decision {
                    TelegramDecision::Approved => {
                        ("Approved.", format!("✅ Approved by {} in Telegram.", user.display_name))
                    }
                    _ => ("Rejected.", format!("❌ Rejected by {} in Telegram.", user.display_name)),
                };
                Ok(PressOutcome { answer: answer.into(), alert: false, note: Some(note) })
            }
            // The post changed between our read and the approval: the domain refused it.
            Err(ServiceError::Conflict(_)) => {
                let now_post = self.store().post(sent.workspace_id, sent.post_id).await?;
                if now_post.is_some_and(|p| p.content.digest() != sent.digest) {
                    self.store().decide_telegram_review(&sent.token, TelegramDecision::Stale, self.now()).await?;
                    Ok(PressOutcome::changed(&url))
                } else {
                    let note = "This draft was already decided in Nanopost.";
                    Ok(PressOutcome::done(note, note))
                }
            }
            Err(ServiceError::Forbidden(_)) => Ok(PressOutcome::alert(
                "Your role in this workspace no longer allows approving or rejecting drafts, so nothing was decided.",
            )),
            // Something only the draft can settle (which account it goes to, …): said as is,
            // short enough for the alert; the message's link leads to the draft.
            Err(ServiceError::Invalid(v)) => {
                let why: Vec<&str> = v.0.iter().map(|e| e.message.as_str()).collect();
                Ok(PressOutcome::alert(&format!("Not approved. {}", why.join(" "))))
            }
            Err(ServiceError::NotFound) => {
                Ok(PressOutcome::done("This draft no longer exists in Nanopost.", "This draft no longer exists."))
            }
            Err(e) => Err(e),
        }
    }
}

/// Why a long-polling step failed.
#[derive(Debug, thiserror::Error)]
pub enum TelegramPollError {
    #[error("Telegram is not configured")]
    NotConfigured,
    #[error("{0}")]
    Telegram(TelegramError),
    #[error("storage: {0}")]
    Storage(String),
}

struct PressOutcome {
    /// The button's toast (≤ 200 characters).
    answer: String,
    alert: bool,
    note: Option<String>,
}

impl PressOutcome {
    fn alert(answer: &str) -> Self {
        Self { answer: answer.into(), alert: true, note: None }
    }
    fn done(answer: &str, note: &str) -> Self {
        Self { answer: answer.into(), alert: true, note: Some(note.into()) }
    }
    fn changed(url: &str) -> Self {
        Self {
            answer: format!("{CHANGED_ANSWER}."), alert: true, note: Some(format!("⚠️ {CHANGED_ANSWER}: {url}"))
        }
    }
}

const LINK_HELP: &str = "Hello! I send you Nanopost drafts to approve. To link this chat, open Nanopost, go to Telegram, create a link code and send it here as /start CODE.";
const HELP: &str = "Drafts waiting for your review arrive here with Approve, Reject and Regenerate buttons. Send /stop to unlink this chat.";

async fn reply(channel: &TelegramChannel, chat_id: i64, text: &str) {
    if let Err(e) = channel.bot().send_message(chat_id, text, None).await {
        tracing::warn!(chat = chat_id, error = %e, "Telegram did not take a reply");
    }
}

/// `/start@bot CODE` → (`start`, `CODE`); plain text → (None, text).
fn split_command(text: &str) -> (Option<String>, &str) {
    let Some(rest) = text.strip_prefix('/') else { return (None, text) };
    let (head, argument) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let command = head.split('@').next().unwrap_or("").to_ascii_lowercase();
    (Some(command), argument.trim())
}

fn normalize_code(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_ascii_uppercase()
}

fn looks_like_code(s: &str) -> bool {
    let n = normalize_code(s);
    n.len() == CODE_LEN && n.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn random_code() -> String {
    // Bytes at or above the largest multiple of the alphabet's size are drawn again, so every
    // character is equally likely.
    let limit = 256 - (256 % CODE_ALPHABET.len());
    let mut out = String::with_capacity(CODE_LEN);
    while out.len() < CODE_LEN {
        let mut pool = [0u8; 16];
        getrandom::fill(&mut pool).expect("the operating system has no random source");
        for b in pool.into_iter().map(usize::from).filter(|b| *b < limit).take(CODE_LEN - out.len()) {
            out.push(CODE_ALPHABET[b % CODE_ALPHABET.len()] as char);
        }
    }
    out
}

/// 16 URL-safe characters (96 random bits): the buttons' token.
fn random_token() -> String {
    use base64::Engine;
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).expect("the operating system has no random source");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn review_keyboard(token: &str) -> InlineKeyboardMarkup {
    let button = |label: &str, p: Press| InlineKeyboardButton::callback(label, format!("{}:{token}", p.prefix()));
    InlineKeyboardMarkup::rows(vec![vec![
        button("✅ Approve", Press::Approve),
        button("❌ Reject", Press::Reject),
        button("🔁 Regenerate", Press::Regenerate),
    ]])
}

/// The draft as one plain-text message: each network's caption, the targets, the time, the
/// number of media items, and the link to the post.
fn draft_text(post: &Post, brand: &str, url: &str) -> String {
    let mut head = String::from("📝 Draft for review");
    if !brand.is_empty() {
        head.push_str(&format!(" — {brand}"));
    }
    let mut tail = String::new();
    let targets: Vec<&str> = post.content.targets.iter().map(|t| t.network.label()).collect();
    if !targets.is_empty() {
        tail.push_str(&format!("\n\nTo: {}", targets.join(", ")));
    }
    if let Some(s) = &post.schedule {
        tail.push_str(&format!("\nWhen: {} ({})", s.local, s.timezone));
    }
    let media: usize = post.content.variants.iter().map(|v| v.media.len()).max().unwrap_or(0);
    if media > 0 {
        tail.push_str(&format!("\nMedia: {media} item{} (see them in Nanopost)", if media == 1 { "" } else { "s" }));
    }
    tail.push_str(&format!("\n\nOpen in Nanopost: {url}"));
    // Captions share what is left of Telegram's 4096 characters.
    let room = MAX_TEXT_CHARS.saturating_sub(head.chars().count() + tail.chars().count() + 8);
    let per_variant = room / post.content.variants.len().max(1);
    let mut body = String::new();
    for v in &post.content.variants {
        let label = v.network.label();
        let caption = truncate(&v.caption, per_variant.saturating_sub(label.len() + 4));
        body.push_str(&format!("\n\n{label}:\n{caption}"));
    }
    truncate(&format!("{head}{body}{tail}"), MAX_TEXT_CHARS)
}

fn with_note(original: &str, note: &str) -> String {
    let room = MAX_TEXT_CHARS.saturating_sub(note.chars().count() + 2);
    format!("{}\n\n{note}", truncate(original, room))
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_data_fits_and_round_trips() {
        let token = random_token();
        assert_eq!(token.len(), 16);
        for b in &review_keyboard(&token).inline_keyboard[0] {
            let data = b.callback_data.as_deref().unwrap();
            assert!(data.len() <= nanopost_telegram::types::MAX_CALLBACK_DATA_BYTES);
            assert_eq!(Press::parse(data).unwrap().1, token);
        }
        assert!(Press::parse("a:short").is_none());
        assert!(Press::parse("x:0123456789abcdef").is_none());
    }

    #[test]
    fn codes_are_unambiguous_and_commands_are_split() {
        for _ in 0..50 {
            let c = random_code();
            assert_eq!(c.len(), CODE_LEN);
            assert!(c.bytes().all(|b| CODE_ALPHABET.contains(&b)), "{c}");
            assert!(looks_like_code(&c.to_lowercase()));
        }
        assert_eq!(split_command("/start@nanopost_bot  ABC"), (Some("start".into()), "ABC"));
        assert_eq!(split_command("/STOP"), (Some("stop".into()), ""));
        assert_eq!(split_command("hello"), (None, "hello"));
        assert_eq!(normalize_code(" abcde-fghjk "), "ABCDEFGHJK");
    }

    #[test]
    fn long_texts_are_cut_to_telegrams_limit() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(with_note(&"x".repeat(5000), "note").chars().count(), MAX_TEXT_CHARS);
    }
}
