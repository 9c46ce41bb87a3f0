//! The Instagram fake's memory: accounts, Facebook users and Pages, codes, tokens, containers,
//! published media, and the rules that read them (token validity, who may touch which account).

use super::errors::{self, GraphError};
use super::{ContainerKind, InstagramSettings, IssuedToken};
use crate::common::{AppRegistration, Counters, Readiness};
use jiff::Timestamp;
use std::collections::{BTreeMap, HashMap, VecDeque};

pub(crate) const IG_LISTENER: &str = "instagram";
pub(crate) const FB_LISTENER: &str = "facebook";

#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub id: String,
    pub app_scoped_id: String,
    pub username: String,
    pub name: String,
    pub account_type: String,
    pub biography: String,
    pub followers_count: u64,
    pub follows_count: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct FbUser {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Page {
    pub id: String,
    pub name: String,
    pub admin: String,
    pub ig_account: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    InstagramLogin,
    FacebookLogin,
}

#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub flow: Flow,
    pub app_id: String,
    pub redirect_uri: String,
    pub subject: String,
    pub scopes: Vec<String>,
    pub declined: Vec<String>,
    pub expires_at: Timestamp,
    pub used: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    IgShort,
    IgLong,
    FbShort,
    FbLong,
    Page,
}

impl TokenKind {
    pub fn listener(self) -> &'static str {
        match self {
            TokenKind::IgShort | TokenKind::IgLong => IG_LISTENER,
            _ => FB_LISTENER,
        }
    }
    pub fn is_instagram_login(self) -> bool {
        self.listener() == IG_LISTENER
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Subject {
    Ig(String),
    FbUser(String),
    Page(String),
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub subject: Subject,
    pub app_id: String,
    pub scopes: Vec<String>,
    pub declined: Vec<String>,
    pub issued_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked: bool,
    pub invalidated: bool,
    /// For Page tokens: the user token they were derived from (revoked with it).
    pub parent: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Container {
    pub id: String,
    pub owner: String,
    pub kind: ContainerKind,
    pub params: Vec<(String, String)>,
    pub children: Vec<String>,
    pub created_at: Timestamp,
    pub polls: u32,
    pub readiness: Readiness,
    /// Processing ends in ERROR with this `status` text.
    pub error: Option<String>,
    pub published_media: Option<String>,
    /// Bytes pushed through the resumable upload (rupload), for `upload_type=resumable` Reels.
    pub uploaded_bytes: Option<usize>,
}

impl Container {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone)]
pub(crate) struct ChildMedia {
    pub id: String,
    pub media_type: &'static str,
    pub media_url: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Media {
    pub id: String,
    pub owner: String,
    pub container_id: String,
    pub caption: Option<String>,
    pub media_type: &'static str,
    pub media_product_type: &'static str,
    pub shortcode: String,
    pub permalink: String,
    pub timestamp: Timestamp,
    pub media_url: Option<String>,
    pub children: Vec<ChildMedia>,
}

/// `IN_PROGRESS`, `FINISHED`, `PUBLISHED`, `ERROR`, `EXPIRED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusCode {
    InProgress,
    Finished,
    Published,
    Error,
    Expired,
}

impl StatusCode {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusCode::InProgress => "IN_PROGRESS",
            StatusCode::Finished => "FINISHED",
            StatusCode::Published => "PUBLISHED",
            StatusCode::Error => "ERROR",
            StatusCode::Expired => "EXPIRED",
        }
    }
}

pub(crate) struct State {
    pub settings: InstagramSettings,
    pub instagram_apps: Vec<AppRegistration>,
    pub facebook_apps: Vec<AppRegistration>,
    pub accounts: Vec<Account>,
    pub fb_users: Vec<FbUser>,
    pub pages: Vec<Page>,
    pub codes: HashMap<String, AuthCode>,
    pub tokens: HashMap<String, Token>,
    pub containers: BTreeMap<String, Container>,
    pub media: Vec<Media>,
    pub ids: Counters,
    pub next_container_errors: VecDeque<String>,
}

impl State {
    pub fn new(settings: InstagramSettings, ig_apps: Vec<AppRegistration>, fb_apps: Vec<AppRegistration>) -> Self {
        State {
            settings,
            instagram_apps: ig_apps,
            facebook_apps: fb_apps,
            accounts: Vec::new(),
            fb_users: Vec::new(),
            pages: Vec::new(),
            codes: HashMap::new(),
            tokens: HashMap::new(),
            containers: BTreeMap::new(),
            media: Vec::new(),
            ids: Counters::default(),
            next_container_errors: VecDeque::new(),
        }
    }

    pub fn trace(&mut self) -> String {
        format!("AfakeTrace{:06}", self.ids.next("trace"))
    }

    pub fn add_account(&mut self, username: &str, name: &str) -> String {
        let n = self.ids.next("account");
        let id = format!("178414{n:011}");
        self.accounts.push(Account {
            id: id.clone(),
            app_scoped_id: format!("2{n:015}"),
            username: username.to_owned(),
            name: name.to_owned(),
            account_type: "BUSINESS".into(),
            biography: String::new(),
            followers_count: 100 * n,
            follows_count: 10 * n,
        });
        id
    }

    pub fn add_fb_user(&mut self, name: &str) -> String {
        let id = format!("1000{:011}", self.ids.next("fb_user"));
        self.fb_users.push(FbUser { id: id.clone(), name: name.to_owned() });
        id
    }

    pub fn add_page(&mut self, admin: &str, name: &str, ig_account: Option<&str>) -> String {
        let id = format!("1010{:011}", self.ids.next("page"));
        self.pages.push(Page {
            id: id.clone(),
            name: name.to_owned(),
            admin: admin.to_owned(),
            ig_account: ig_account.map(str::to_owned),
        });
        id
    }

    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.id == id)
    }

    pub fn issue_code(&mut self, code: AuthCode) -> String {
        let value = format!("AQfakeCode{:06}", self.ids.next("code"));
        self.codes.insert(value.clone(), code);
        value
    }

    #[allow(clippy::too_many_arguments)]
    pub fn issue_token(
        &mut self,
        kind: TokenKind,
        subject: Subject,
        app_id: &str,
        scopes: Vec<String>,
        declined: Vec<String>,
        now: Timestamp,
        parent: Option<String>,
    ) -> IssuedToken {
        let n = self.ids.next("token");
        let value = match kind {
            TokenKind::IgShort => format!("IGQfakeShort{n:06}"),
            TokenKind::IgLong => format!("IGAAfakeLong{n:06}"),
            TokenKind::FbShort => format!("EAAfakeShort{n:06}"),
            TokenKind::FbLong => format!("EAAfakeLong{n:06}"),
            TokenKind::Page => format!("EAAfakePage{n:06}"),
        };
        let ttl = match kind {
            TokenKind::IgShort => Some(self.settings.short_lived_ttl),
            TokenKind::IgLong => Some(self.settings.long_lived_ttl),
            TokenKind::FbShort => Some(self.settings.facebook_short_lived_ttl),
            TokenKind::FbLong => Some(self.settings.facebook_long_lived_ttl),
            // A Page token from a long-lived user token has no expiry; from a short one it dies
            // with its parent.
            TokenKind::Page => parent.as_ref().and_then(|p| self.tokens.get(p)).and_then(|t| {
                (t.kind == TokenKind::FbShort).then(|| t.expires_at.map(|e| e.duration_since(now))).flatten()
            }),
        };
        let expires_at = ttl.and_then(|d| now.checked_add(d).ok());
        self.tokens.insert(
            value.clone(),
            Token {
                kind,
                subject,
                app_id: app_id.to_owned(),
                scopes,
                declined,
                issued_at: now,
                expires_at,
                revoked: false,
                invalidated: false,
                parent,
            },
        );
        IssuedToken { access_token: value, expires_at }
    }

    /// The token, if it is valid on this listener right now; else the documented 190 error.
    pub fn check_token(
        &self,
        value: Option<&str>,
        listener: &str,
        now: Timestamp,
    ) -> Result<(String, Token), GraphError> {
        let value = value.filter(|v| !v.is_empty()).ok_or_else(errors::missing_token)?;
        let token =
            self.tokens.get(value).filter(|t| t.kind.listener() == listener).ok_or_else(errors::invalid_token)?;
        let parent_revoked = token.parent.as_ref().and_then(|p| self.tokens.get(p)).is_some_and(|p| p.revoked);
        if token.revoked || parent_revoked {
            return Err(errors::revoked_token(&token.app_id));
        }
        if token.invalidated {
            return Err(GraphError::new(
                190,
                Some(460),
                "Error validating access token: The session has been invalidated because the user changed their password.",
            ));
        }
        if let Some(expired_at) = token.expires_at.filter(|e| *e <= now) {
            return Err(errors::expired_token(&expired_at.to_string(), &now.to_string()));
        }
        Ok((value.to_owned(), token.clone()))
    }

    /// Whether the token's subject may act for this Instagram account.
    pub fn can_access_account(&self, token: &Token, ig_id: &str) -> bool {
        match &token.subject {
            Subject::Ig(id) => id == ig_id,
            Subject::FbUser(user) => {
                self.pages.iter().any(|p| &p.admin == user && p.ig_account.as_deref() == Some(ig_id))
            }
            Subject::Page(page) => self.pages.iter().any(|p| &p.id == page && p.ig_account.as_deref() == Some(ig_id)),
        }
    }

    pub fn can_access_page(&self, token: &Token, page_id: &str) -> bool {
        match &token.subject {
            Subject::FbUser(user) => self.pages.iter().any(|p| p.id == page_id && &p.admin == user),
            Subject::Page(page) => page == page_id,
            Subject::Ig(_) => false,
        }
    }

    /// The scope needed to publish, per login variant.
    pub fn require_scope(token: &Token, instagram_login: &str, facebook_login: &str) -> Result<(), GraphError> {
        let needed = if token.kind.is_instagram_login() { instagram_login } else { facebook_login };
        if token.scopes.iter().any(|s| s == needed) { Ok(()) } else { Err(errors::permission(needed)) }
    }

    /// Evaluates a container's status; a read counts as one poll.
    pub fn container_status(&mut self, id: &str, now: Timestamp, count_poll: bool) -> Option<StatusCode> {
        let ttl = self.settings.container_ttl;
        let c = self.containers.get_mut(id)?;
        let status = evaluate(c, now, ttl);
        if count_poll && status == StatusCode::InProgress {
            c.polls += 1;
        }
        Some(status)
    }

    /// Published media of an account within the quota window (a carousel counts once).
    pub fn quota_usage(&self, ig_id: &str, now: Timestamp, since: Option<Timestamp>) -> u32 {
        let window_start = now.checked_sub(self.settings.quota_duration).unwrap_or(now);
        let start = since.filter(|s| *s > window_start).unwrap_or(window_start);
        self.media.iter().filter(|m| m.owner == ig_id && m.timestamp > start).count() as u32
    }

    /// Revokes every token of this subject for this app, and the Page tokens derived from them.
    pub fn revoke(&mut self, subject: &Subject, app_id: &str) {
        for token in self.tokens.values_mut() {
            if &token.subject == subject && token.app_id == app_id {
                token.revoked = true;
            }
        }
    }
}

pub(crate) fn evaluate(c: &Container, now: Timestamp, ttl: jiff::SignedDuration) -> StatusCode {
    if c.published_media.is_some() {
        return StatusCode::Published;
    }
    let ready = c.readiness.is_ready(c.polls, c.created_at, now) && c.uploaded_bytes != Some(0);
    if ready && c.error.is_some() {
        return StatusCode::Error;
    }
    if now.duration_since(c.created_at) >= ttl {
        return StatusCode::Expired;
    }
    if ready { StatusCode::Finished } else { StatusCode::InProgress }
}
