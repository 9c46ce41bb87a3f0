//! The TikTok fake's memory: creators, codes, token grants, publishes and rate windows.

use super::errors::{self, ApiError};
use super::{CreatorSpec, TikTokSettings};
use crate::common::{AppRegistration, Counters, Readiness};
use jiff::{SignedDuration, Timestamp};
use std::collections::{HashMap, VecDeque};

#[derive(Debug, Clone)]
pub(crate) struct Creator {
    pub open_id: String,
    pub union_id: String,
    pub spec: CreatorSpec,
}

#[derive(Debug, Clone)]
pub(crate) struct Code {
    pub client_key: String,
    pub redirect_uri: String,
    pub open_id: String,
    pub scopes: Vec<String>,
    pub challenge: Option<String>,
    pub expires_at: Timestamp,
    pub used: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub open_id: String,
    pub client_key: String,
    pub scopes: Vec<String>,
    pub expires_at: Timestamp,
    /// Tokens of one authorization share a grant; revoking kills the grant.
    pub grant: u64,
    pub revoked: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PublishKind {
    DirectVideo,
    InboxVideo,
    DirectPhoto,
    InboxPhoto,
}

impl PublishKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PublishKind::DirectVideo => "DIRECT_VIDEO",
            PublishKind::InboxVideo => "INBOX_VIDEO",
            PublishKind::DirectPhoto => "DIRECT_PHOTO",
            PublishKind::InboxPhoto => "INBOX_PHOTO",
        }
    }
    pub fn is_direct(self) -> bool {
        matches!(self, PublishKind::DirectVideo | PublishKind::DirectPhoto)
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Source {
    Pull { urls: Vec<String> },
    Upload { video_size: u64, chunk_size: u64, total_chunks: u64, received: u64, chunks: u64, upload_id: String },
}

#[derive(Debug, Clone)]
pub(crate) struct Publish {
    pub publish_id: String,
    pub open_id: String,
    pub kind: PublishKind,
    pub source: Source,
    pub privacy_level: Option<String>,
    pub title: String,
    pub body: serde_json::Value,
    pub created_at: Timestamp,
    /// When processing may start: creation for pulls, the last chunk for uploads.
    pub processing_since: Option<Timestamp>,
    pub polls: u32,
    pub readiness: Readiness,
    pub fail_reason: Option<String>,
    pub post_id: Option<u64>,
    pub polls_since_complete: u32,
}

pub(crate) struct State {
    pub settings: TikTokSettings,
    pub apps: Vec<AppRegistration>,
    pub creators: Vec<Creator>,
    pub codes: HashMap<String, Code>,
    pub tokens: HashMap<String, Token>,
    pub refresh_tokens: HashMap<String, Token>,
    pub publishes: Vec<Publish>,
    pub ids: Counters,
    pub next_publish_failures: VecDeque<String>,
    /// (token, bucket) → call instants in the last minute.
    pub windows: HashMap<(String, &'static str), VecDeque<Timestamp>>,
}

impl State {
    pub fn new(settings: TikTokSettings, apps: Vec<AppRegistration>) -> Self {
        State {
            settings,
            apps,
            creators: Vec::new(),
            codes: HashMap::new(),
            tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            publishes: Vec::new(),
            ids: Counters::default(),
            next_publish_failures: VecDeque::new(),
            windows: HashMap::new(),
        }
    }

    pub fn log_id(&mut self) -> String {
        format!("20260101000000FAKE{:08}", self.ids.next("log"))
    }

    pub fn add_creator(&mut self, spec: CreatorSpec) -> String {
        let n = self.ids.next("creator");
        let open_id = format!("fake-open-id-{n:04}");
        self.creators.push(Creator { open_id: open_id.clone(), union_id: format!("fake-union-id-{n:04}"), spec });
        open_id
    }

    pub fn creator(&self, open_id: &str) -> Option<&Creator> {
        self.creators.iter().find(|c| c.open_id == open_id)
    }

    /// A new access token, and a refresh token unless `keep_refresh` carries the existing one.
    pub fn issue(
        &mut self,
        open_id: &str,
        client_key: &str,
        scopes: Vec<String>,
        now: Timestamp,
        grant: Option<u64>,
    ) -> (String, Token, String, Token) {
        let grant = grant.unwrap_or_else(|| self.ids.next("grant"));
        let access = format!("act.fake{:06}", self.ids.next("access"));
        let refresh = format!("rft.fake{:06}", self.ids.next("refresh"));
        let token = |ttl: SignedDuration| Token {
            open_id: open_id.to_owned(),
            client_key: client_key.to_owned(),
            scopes: scopes.clone(),
            expires_at: now.checked_add(ttl).unwrap_or(now),
            grant,
            revoked: false,
        };
        let (access_token, refresh_token) = (token(self.settings.access_ttl), token(self.settings.refresh_ttl));
        self.tokens.insert(access.clone(), access_token.clone());
        self.refresh_tokens.insert(refresh.clone(), refresh_token.clone());
        (access, access_token, refresh, refresh_token)
    }

    pub fn check_token(&self, value: Option<&str>, now: Timestamp) -> Result<Token, ApiError> {
        let token = value.and_then(|v| self.tokens.get(v)).ok_or_else(|| errors::api("access_token_invalid"))?;
        if token.revoked || token.expires_at <= now {
            return Err(errors::api("access_token_invalid"));
        }
        Ok(token.clone())
    }

    pub fn revoke_grant(&mut self, grant: u64) {
        for t in self.tokens.values_mut().chain(self.refresh_tokens.values_mut()).filter(|t| t.grant == grant) {
            t.revoked = true;
        }
    }

    /// Counts one call against a per-token, per-minute window; `Err` once over the limit.
    pub fn rate(
        &mut self,
        token: &str,
        bucket: &'static str,
        limit: Option<u32>,
        now: Timestamp,
    ) -> Result<(), ApiError> {
        let Some(limit) = limit else { return Ok(()) };
        let window = self.windows.entry((token.to_owned(), bucket)).or_default();
        let minute_ago = now.checked_sub(SignedDuration::from_mins(1)).unwrap_or(now);
        while window.front().is_some_and(|t| *t <= minute_ago) {
            window.pop_front();
        }
        if window.len() as u32 >= limit {
            let mut e = errors::api("rate_limit_exceeded");
            e.retry_after = window.front().map(|first| first.duration_since(minute_ago).as_secs().max(1) as u64);
            return Err(e);
        }
        window.push_back(now);
        Ok(())
    }

    /// Direct posts by this creator in the last 24 h.
    pub fn posts_today(&self, open_id: &str, now: Timestamp) -> usize {
        let day_ago = now.checked_sub(SignedDuration::from_hours(24)).unwrap_or(now);
        self.publishes.iter().filter(|p| p.open_id == open_id && p.kind.is_direct() && p.created_at > day_ago).count()
    }

    /// Distinct creators who posted through this app in the last 24 h.
    pub fn active_posters(&self, now: Timestamp) -> Vec<String> {
        let day_ago = now.checked_sub(SignedDuration::from_hours(24)).unwrap_or(now);
        let mut users: Vec<String> =
            self.publishes.iter().filter(|p| p.created_at > day_ago).map(|p| p.open_id.clone()).collect();
        users.sort();
        users.dedup();
        users
    }
}

impl Publish {
    /// The status a fetch would report now, without counting it as a poll.
    pub fn status(&self, now: Timestamp) -> &'static str {
        let processing = match (&self.source, self.processing_since) {
            (Source::Upload { .. }, None) => return "PROCESSING_UPLOAD",
            (Source::Upload { .. }, Some(_)) => "PROCESSING_UPLOAD",
            (Source::Pull { .. }, _) => "PROCESSING_DOWNLOAD",
        };
        let since = self.processing_since.unwrap_or(self.created_at);
        if !self.readiness.is_ready(self.polls, since, now) {
            return processing;
        }
        match (&self.fail_reason, self.kind.is_direct()) {
            (Some(_), _) => "FAILED",
            (None, true) => "PUBLISH_COMPLETE",
            (None, false) => "SEND_TO_USER_INBOX",
        }
    }
}
