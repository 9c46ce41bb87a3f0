//! Instagram, through Instagram Login (graph.instagram.com) or Facebook Login (graph.facebook.com,
//! the Instagram account behind a Page). Publishing is the same on both hosts: containers,
//! status polling until FINISHED, the carousel parent, `media_publish`, the permalink.

pub mod errors;

use crate::config::{InstagramConfig, join};
use crate::custody::PlainTokens;
use crate::error::{ErrorClass, PlatformError, Result, after};
use crate::http::{self, Answer};
use crate::json;
use crate::network::{Connection, DiscoveredAccount, Flavour, Revocation, SocialNetwork};
use crate::oauth::{StateValue, TokenGrant, expires_in};
use crate::publish::{
    AccountAccess, Existence, MediaItem, PublishProgress, Published, PublishingLimits, Stage, Step, approved_variant,
    elapsed,
};
use crate::rules::MediaKind;
use crate::secret::Secret;
use jiff::{SignedDuration, Timestamp};
use nanopost_domain::approval::ApprovedPublication;
use nanopost_domain::network::Network;
use nanopost_storage::AccountKind;
use serde_json::Value;
use std::collections::BTreeMap;

const NET: Network = Network::Instagram;
/// Long-lived tokens last 60 days; refresh well before, but not before they are a day old.
const LONG_LIVED_SECS: i64 = 60 * 86_400;
const REFRESH_MARGIN_SECS: i64 = 10 * 86_400;
const MIN_AGE_SECS: i64 = 86_400;

pub struct Instagram {
    cfg: InstagramConfig,
    http: reqwest::Client,
}

/// A container's `status_code`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ContainerStatus {
    InProgress,
    Finished,
    Published,
    Error(String),
    Expired,
}

impl Instagram {
    /// The timeouts its HTTP client uses.
    pub fn http_settings(&self) -> crate::http::HttpSettings {
        self.cfg.http
    }

    pub fn new(cfg: InstagramConfig) -> Self {
        let http = http::client(cfg.http);
        Self { cfg, http }
    }

    /// Whether Facebook Login (the Instagram account behind a Page) is set up too.
    pub fn offers_facebook_login(&self) -> bool {
        self.cfg.facebook_app.is_some()
    }

    /// The consent pages' base URLs (for a page's `form-action`).
    pub fn consent_urls(&self) -> Vec<&str> {
        let mut urls = vec![self.cfg.authorize_url.as_str()];
        if self.offers_facebook_login() {
            urls.push(self.cfg.facebook_dialog_url.as_str());
        }
        urls
    }

    fn graph(&self, kind: AccountKind) -> &str {
        match kind {
            AccountKind::InstagramFacebook => &self.cfg.facebook_graph_url,
            _ => &self.cfg.graph_url,
        }
    }

    fn versioned(&self, base: &str, path: &str) -> String {
        join(base, &format!("/{}{}", self.cfg.api_version, path))
    }

    async fn call(&self, request: reqwest::RequestBuilder, now: Timestamp) -> Result<Value> {
        let answer = http::send(NET, request).await?;
        ok_json(&answer, now)
    }

    async fn get(&self, url: String, token: &Secret, query: &[(&str, &str)], now: Timestamp) -> Result<Value> {
        let mut q: Vec<(&str, &str)> = query.to_vec();
        q.push(("access_token", token.expose()));
        self.call(self.http.get(url).query(&q), now).await
    }

    /// POSTs parameters as a form body (keeps the token out of URLs and logs).
    async fn post(&self, url: String, token: &Secret, form: &[(&str, &str)], now: Timestamp) -> Result<Value> {
        let mut f: Vec<(&str, &str)> = form.to_vec();
        f.push(("access_token", token.expose()));
        self.call(self.http.post(url).form(&f), now).await
    }

    async fn connect_instagram_login(&self, code: &Secret, now: Timestamp) -> Result<Connection> {
        let form = [
            ("client_id", self.cfg.app.client_id.as_str()),
            ("client_secret", self.cfg.app.client_secret.expose()),
            ("grant_type", "authorization_code"),
            ("redirect_uri", self.cfg.redirect_uri.as_str()),
            ("code", code.expose()),
        ];
        let short =
            self.call(self.http.post(join(&self.cfg.oauth_api_url, "/oauth/access_token")).form(&form), now).await?;
        // [conflict] flat object, or wrapped in `data[]`.
        let short = json::unwrap_data(&short);
        let short_token = token_field(short)?;
        let permissions = json::list(short.get("permissions"));
        let long = self
            .call(
                self.http.get(join(&self.cfg.graph_url, "/access_token")).query(&[
                    ("grant_type", "ig_exchange_token"),
                    ("client_secret", self.cfg.app.client_secret.expose()),
                    ("access_token", short_token.expose()),
                ]),
                now,
            )
            .await?;
        let access = token_field(&long)?;
        let me = self
            .get(
                self.versioned(&self.cfg.graph_url, "/me"),
                &access,
                &[("fields", "user_id,username,name,profile_picture_url")],
                now,
            )
            .await?;
        let external_id = json::id(me.get("user_id"))
            .or_else(|| json::id(short.get("user_id")))
            .or_else(|| json::id(me.get("id")))
            .ok_or_else(|| PlatformError::malformed(NET, "the profile has no user_id"))?;
        let handle = json::text(me.get("username"));
        let display_name = json::text(me.get("name")).or_else(|| handle.clone()).unwrap_or_else(|| external_id.clone());
        let grant = TokenGrant {
            access,
            refresh: None,
            issued_at: now,
            access_expires_at: expires_in(now, json::int(long.get("expires_in")).or(Some(LONG_LIVED_SECS))),
            refresh_expires_at: None,
            scopes: permissions,
        };
        let account = DiscoveredAccount {
            kind: AccountKind::InstagramLogin,
            external_id,
            display_name,
            handle,
            details: BTreeMap::new(),
            own_grant: None,
        };
        Ok(Connection { grant, accounts: vec![account] })
    }

    async fn connect_facebook_login(&self, code: &Secret, now: Timestamp) -> Result<Connection> {
        let app = self.cfg.facebook_app.as_ref().ok_or_else(|| {
            PlatformError::new(NET, ErrorClass::Unknown, "not_configured", "Facebook Login is not configured")
        })?;
        let token_url = self.versioned(&self.cfg.facebook_graph_url, "/oauth/access_token");
        let short = self
            .call(
                self.http.get(&token_url).query(&[
                    ("client_id", app.client_id.as_str()),
                    ("redirect_uri", self.cfg.redirect_uri.as_str()),
                    ("client_secret", app.client_secret.expose()),
                    ("code", code.expose()),
                ]),
                now,
            )
            .await?;
        let short_token = token_field(&short)?;
        let long = self
            .call(
                self.http.get(&token_url).query(&[
                    ("grant_type", "fb_exchange_token"),
                    ("client_id", app.client_id.as_str()),
                    ("client_secret", app.client_secret.expose()),
                    ("fb_exchange_token", short_token.expose()),
                ]),
                now,
            )
            .await?;
        let user_token = token_field(&long)?;
        let fb = &self.cfg.facebook_graph_url;
        let permissions = self.get(self.versioned(fb, "/me/permissions"), &user_token, &[], now).await?;
        let granted: Vec<String> = permissions
            .get("data")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter(|p| p.get("status").and_then(Value::as_str) == Some("granted"))
                    .filter_map(|p| json::text(p.get("permission")))
                    .collect()
            })
            .unwrap_or_default();
        if !granted.iter().any(|p| p == "instagram_content_publish") {
            return Err(PlatformError::new(
                NET,
                ErrorClass::ReconnectNeeded,
                "permission_declined",
                "the permission to publish to Instagram was not granted; connect again and allow it",
            ));
        }
        let pages = self
            .get(
                self.versioned(fb, "/me/accounts"),
                &user_token,
                &[("fields", "id,name,access_token,instagram_business_account")],
                now,
            )
            .await?;
        let user_expiry = expires_in(now, json::int(long.get("expires_in")));
        let mut accounts = Vec::new();
        for page in pages.get("data").and_then(Value::as_array).into_iter().flatten() {
            let Some(ig_id) = json::id(page.get("instagram_business_account").and_then(|a| a.get("id"))) else {
                continue;
            };
            let page_token =
                json::text(page.get("access_token")).map(Secret::new).unwrap_or_else(|| user_token.clone());
            let profile = self
                .get(
                    self.versioned(fb, &format!("/{ig_id}")),
                    &page_token,
                    &[("fields", "username,name,profile_picture_url")],
                    now,
                )
                .await?;
            let handle = json::text(profile.get("username"));
            let mut details = BTreeMap::new();
            if let Some(id) = json::id(page.get("id")) {
                details.insert("page_id".to_owned(), id);
            }
            if let Some(name) = json::text(page.get("name")) {
                details.insert("page_name".to_owned(), name);
            }
            accounts.push(DiscoveredAccount {
                kind: AccountKind::InstagramFacebook,
                external_id: ig_id.clone(),
                display_name: json::text(profile.get("name")).or_else(|| handle.clone()).unwrap_or(ig_id),
                handle,
                details,
                // A Page token from a long-lived user token does not expire.
                own_grant: Some(TokenGrant {
                    access: page_token,
                    refresh: None,
                    issued_at: now,
                    access_expires_at: None,
                    refresh_expires_at: None,
                    scopes: granted.clone(),
                }),
            });
        }
        if accounts.is_empty() {
            return Err(PlatformError::new(
                NET,
                ErrorClass::ContentRejected,
                "no_instagram_account",
                "none of your Facebook Pages has an Instagram professional account linked",
            ));
        }
        let grant = TokenGrant {
            access: user_token,
            refresh: None,
            issued_at: now,
            access_expires_at: user_expiry,
            refresh_expires_at: None,
            scopes: granted,
        };
        Ok(Connection { grant, accounts })
    }

    async fn container_status(&self, account: &AccountAccess, id: &str, now: Timestamp) -> Result<ContainerStatus> {
        let v = self
            .get(
                self.versioned(self.graph(account.kind), &format!("/{id}")),
                &account.access_token,
                &[("fields", "status_code,status")],
                now,
            )
            .await?;
        Ok(match json::text(v.get("status_code")).as_deref() {
            Some("FINISHED") => ContainerStatus::Finished,
            Some("PUBLISHED") => ContainerStatus::Published,
            Some("IN_PROGRESS") | None => ContainerStatus::InProgress,
            Some("EXPIRED") => ContainerStatus::Expired,
            Some(_) => ContainerStatus::Error(json::text(v.get("status")).unwrap_or_else(|| "ERROR".into())),
        })
    }

    async fn create_container(
        &self,
        account: &AccountAccess,
        params: &[(&str, &str)],
        now: Timestamp,
    ) -> Result<String> {
        let url = self.versioned(self.graph(account.kind), &format!("/{}/media", account.external_id));
        let v = self.post(url, &account.access_token, params, now).await?;
        json::id(v.get("id")).ok_or_else(|| PlatformError::malformed(NET, "the container has no id"))
    }

    async fn permalink(&self, account: &AccountAccess, media_id: &str, now: Timestamp) -> Option<String> {
        let url = self.versioned(self.graph(account.kind), &format!("/{media_id}"));
        let v = self.get(url, &account.access_token, &[("fields", "permalink")], now).await.ok()?;
        json::text(v.get("permalink"))
    }

    /// The account's recent media with exactly this caption (a container that says PUBLISHED
    /// does not say which media it became).
    async fn recent_with_caption(
        &self,
        account: &AccountAccess,
        caption: &str,
        now: Timestamp,
    ) -> Result<Option<Published>> {
        let url = self.versioned(self.graph(account.kind), &format!("/{}/media", account.external_id));
        let v = self
            .get(url, &account.access_token, &[("fields", "id,caption,permalink,timestamp"), ("limit", "25")], now)
            .await?;
        Ok(v.get("data").and_then(Value::as_array).into_iter().flatten().find_map(|m| {
            let same = json::text(m.get("caption")).unwrap_or_default() == caption;
            let id = json::id(m.get("id"))?;
            same.then(|| Published { external_id: id, url: json::text(m.get("permalink")) })
        }))
    }

    /// Fails when a container (or child) ended in ERROR or EXPIRED; waits while IN_PROGRESS.
    fn status_problem(&self, status: &ContainerStatus) -> Option<PlatformError> {
        match status {
            ContainerStatus::Error(text) => Some(container_error(text)),
            ContainerStatus::Expired => Some(
                PlatformError::new(NET, ErrorClass::RetryLater, "EXPIRED", "the container expired before publishing")
                    .restart(true),
            ),
            _ => None,
        }
    }

    fn wait(&self, mut progress: PublishProgress, now: Timestamp) -> Result<Step> {
        let since = *progress.polling_since.get_or_insert(now);
        if elapsed(Some(since), now) > self.cfg.poll.max_wait {
            return Err(PlatformError::new(
                NET,
                ErrorClass::RetryLater,
                "IN_PROGRESS",
                "Instagram is still processing the media; trying again later",
            ));
        }
        Ok(Step::poll(progress, self.cfg.poll.interval))
    }

    async fn finish(
        &self,
        account: &AccountAccess,
        progress: PublishProgress,
        caption: &str,
        now: Timestamp,
    ) -> Result<Step> {
        match self.recent_with_caption(account, caption, now).await? {
            Some(p) => Ok(Step::done(progress, p)),
            None => {
                Ok(Step::unconfirmed(progress, "Instagram says the container is published but the post was not found"))
            }
        }
    }
}

fn container_error(status: &str) -> PlatformError {
    // `status` holds the error subcode or text ("ERROR: 2207052 …").
    let sub = status.split(|c: char| !c.is_ascii_digit()).find(|s| s.len() == 7).and_then(|s| s.parse::<i64>().ok());
    let body = serde_json::json!({"error": {"message": status, "code": 100, "error_subcode": sub}});
    let answer = Answer { status: 400, headers: Default::default(), body: body.to_string().into_bytes() };
    let mut e = errors::classify(&answer, Timestamp::UNIX_EPOCH);
    if e.class == ErrorClass::Unknown || sub.is_none() {
        e.class = ErrorClass::ContentRejected;
    }
    e.restart = true;
    e
}

fn ok_json(answer: &Answer, now: Timestamp) -> Result<Value> {
    if !answer.is_success() {
        return Err(errors::classify(answer, now));
    }
    let v: Value = answer.parse(NET, "answer")?;
    if v.get("error").is_some() {
        return Err(errors::classify(answer, now));
    }
    Ok(v)
}

fn token_field(v: &Value) -> Result<Secret> {
    json::text(v.get("access_token")).map(Secret::new).ok_or_else(|| PlatformError::malformed(NET, "no access_token"))
}

impl SocialNetwork for Instagram {
    fn network(&self) -> Network {
        NET
    }

    fn uses_pkce(&self, _flavour: Flavour) -> bool {
        false
    }

    fn authorize_url(&self, flavour: Flavour, state: &StateValue, _pkce: Option<&Secret>) -> Result<String> {
        let (base, client_id, scopes) = match flavour {
            Flavour::FacebookLogin => {
                let app = self.cfg.facebook_app.as_ref().ok_or_else(|| {
                    PlatformError::new(NET, ErrorClass::Unknown, "not_configured", "Facebook Login is not configured")
                })?;
                (
                    self.versioned(&self.cfg.facebook_dialog_url, "/dialog/oauth"),
                    &app.client_id,
                    &self.cfg.scopes_facebook_login,
                )
            }
            _ => (self.cfg.authorize_url.clone(), &self.cfg.app.client_id, &self.cfg.scopes_instagram_login),
        };
        let mut url =
            reqwest::Url::parse(&base).map_err(|e| PlatformError::malformed(NET, format!("authorize URL: {e}")))?;
        url.query_pairs_mut()
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", &self.cfg.redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", &scopes.join(","))
            .append_pair("state", state.expose());
        Ok(url.into())
    }

    async fn connect(
        &self,
        flavour: Flavour,
        code: &Secret,
        _pkce: Option<&Secret>,
        now: Timestamp,
    ) -> Result<Connection> {
        match flavour {
            Flavour::FacebookLogin => self.connect_facebook_login(code, now).await,
            _ => self.connect_instagram_login(code, now).await,
        }
    }

    async fn refresh(&self, kind: AccountKind, current: &TokenGrant, now: Timestamp) -> Result<TokenGrant> {
        if kind == AccountKind::InstagramFacebook {
            return Err(PlatformError::new(
                NET,
                ErrorClass::ReconnectNeeded,
                "no_refresh",
                "Facebook Login tokens cannot be refreshed; connect again",
            ));
        }
        if current.access_expires_at.is_some_and(|e| e <= now) {
            return Err(PlatformError::new(
                NET,
                ErrorClass::ReconnectNeeded,
                "expired",
                "the Instagram token expired; connect again",
            ));
        }
        if now.duration_since(current.issued_at) < SignedDuration::from_secs(MIN_AGE_SECS) {
            return Err(PlatformError::new(
                NET,
                ErrorClass::RetryLater,
                "too_young",
                "Instagram refreshes tokens at least a day old",
            ));
        }
        let v = self
            .call(
                self.http
                    .get(join(&self.cfg.graph_url, "/refresh_access_token"))
                    .query(&[("grant_type", "ig_refresh_token"), ("access_token", current.access.expose())]),
                now,
            )
            .await?;
        let fresh = TokenGrant {
            access: token_field(&v)?,
            refresh: None,
            issued_at: now,
            access_expires_at: expires_in(now, json::int(v.get("expires_in")).or(Some(LONG_LIVED_SECS))),
            refresh_expires_at: None,
            scopes: vec![],
        };
        Ok(TokenGrant::refreshed(current, fresh))
    }

    fn refresh_due(&self, kind: AccountKind, grant: &TokenGrant) -> Option<Timestamp> {
        if kind == AccountKind::InstagramFacebook {
            return None;
        }
        let expiry = grant.access_expires_at?;
        let due = after(expiry, -REFRESH_MARGIN_SECS);
        Some(due.max(after(grant.issued_at, MIN_AGE_SECS + 60)))
    }

    async fn revoke(&self, _kind: AccountKind, _tokens: &PlainTokens) -> Result<Revocation> {
        Ok(Revocation::NotOffered)
    }

    async fn limits(&self, account: &AccountAccess, now: Timestamp) -> Result<PublishingLimits> {
        let since = after(now, -86_400 + 60).as_second().to_string();
        let url =
            self.versioned(self.graph(account.kind), &format!("/{}/content_publishing_limit", account.external_id));
        let v =
            self.get(url, &account.access_token, &[("fields", "quota_usage,config"), ("since", &since)], now).await?;
        let row = json::unwrap_data(&v);
        let usage = json::int(row.get("quota_usage")).unwrap_or(0).max(0) as u32;
        let config = row.get("config").or_else(|| row.get("rate_limit_settings"));
        let total = json::int(config.and_then(|c| c.get("quota_total"))).map(|t| t.max(0) as u32);
        let window = json::int(config.and_then(|c| c.get("quota_duration"))).map(|d| d.max(0) as u64);
        Ok(PublishingLimits { remaining: total.map(|t| t.saturating_sub(usage)), total, window_secs: window })
    }

    async fn advance(
        &self,
        account: &AccountAccess,
        publication: &ApprovedPublication,
        media: &[MediaItem],
        progress: &PublishProgress,
        now: Timestamp,
    ) -> Result<Step> {
        let variant = approved_variant(NET, publication, account, media)?;
        let caption = variant.caption.as_str();
        let mut p = progress.clone();
        match p.stage {
            Stage::Start => {
                if media.is_empty() || media.len() > 10 {
                    return Err(PlatformError::new(
                        NET,
                        ErrorClass::ContentRejected,
                        "media_count",
                        "Instagram posts take 1 to 10 items",
                    ));
                }
                let limits = self.limits(account, now).await?;
                if limits.remaining == Some(0) {
                    return Err(PlatformError::new(
                        NET,
                        ErrorClass::BackOffUntil(after(now, 3_600)),
                        "quota_exhausted",
                        "the Instagram publishing limit for the last 24 hours is reached",
                    ));
                }
                if let [item] = media {
                    let id = match item.facts.kind() {
                        MediaKind::Image => {
                            self.create_container(account, &[("image_url", &item.url), ("caption", caption)], now)
                                .await?
                        }
                        MediaKind::Video => {
                            self.create_container(
                                account,
                                &[("media_type", "REELS"), ("video_url", &item.url), ("caption", caption)],
                                now,
                            )
                            .await?
                        }
                    };
                    p.stage = Stage::Container;
                    p.container = Some(id);
                } else {
                    p.stage = Stage::Items;
                }
                Ok(Step::go(p))
            }
            Stage::Items => {
                if let Some(item) = media.get(p.items.len()) {
                    let id = match item.facts.kind() {
                        MediaKind::Image => {
                            self.create_container(
                                account,
                                &[("image_url", &item.url), ("is_carousel_item", "true")],
                                now,
                            )
                            .await?
                        }
                        MediaKind::Video => {
                            self.create_container(
                                account,
                                &[("media_type", "VIDEO"), ("video_url", &item.url), ("is_carousel_item", "true")],
                                now,
                            )
                            .await?
                        }
                    };
                    p.items.push(id);
                    return Ok(Step::go(p));
                }
                for child in &p.items {
                    let status = self.container_status(account, child, now).await?;
                    if let Some(e) = self.status_problem(&status) {
                        return Err(e);
                    }
                    if status == ContainerStatus::InProgress {
                        return self.wait(p, now);
                    }
                }
                let children = p.items.join(",");
                let id = self
                    .create_container(
                        account,
                        &[("media_type", "CAROUSEL"), ("children", &children), ("caption", caption)],
                        now,
                    )
                    .await?;
                p.stage = Stage::Container;
                p.container = Some(id);
                p.polling_since = None;
                Ok(Step::go(p))
            }
            Stage::Container => {
                let id =
                    p.container.clone().ok_or_else(|| PlatformError::malformed(NET, "progress without container"))?;
                match self.container_status(account, &id, now).await? {
                    ContainerStatus::Finished => {
                        // Recorded before media_publish is called (invariant I2).
                        p.enter_in_flight(now);
                        Ok(Step::go(p))
                    }
                    ContainerStatus::InProgress => self.wait(p, now),
                    ContainerStatus::Published => self.finish(account, p, caption, now).await,
                    other => Err(self.status_problem(&other).expect("error statuses")),
                }
            }
            Stage::PublishInFlight => {
                let id =
                    p.container.clone().ok_or_else(|| PlatformError::malformed(NET, "progress without container"))?;
                match self.container_status(account, &id, now).await? {
                    ContainerStatus::Published => return self.finish(account, p, caption, now).await,
                    ContainerStatus::Finished => {}
                    ContainerStatus::InProgress => return self.wait(p, now),
                    other => return Err(self.status_problem(&other).expect("error statuses")),
                }
                let url = self.versioned(self.graph(account.kind), &format!("/{}/media_publish", account.external_id));
                let v = self.post(url, &account.access_token, &[("creation_id", &id)], now).await?;
                let media_id =
                    json::id(v.get("id")).ok_or_else(|| PlatformError::malformed(NET, "media_publish gave no id"))?;
                let permalink = self.permalink(account, &media_id, now).await;
                Ok(Step::done(p, Published { external_id: media_id, url: permalink }))
            }
            Stage::Processing => Err(PlatformError::malformed(NET, "Instagram publications have no processing stage")),
            Stage::Published => match p.published.clone() {
                Some(published) => Ok(Step::done(p, published)),
                None => Err(PlatformError::malformed(NET, "published without an id")),
            },
        }
    }

    async fn find_existing(
        &self,
        account: &AccountAccess,
        publication: &ApprovedPublication,
        progress: &PublishProgress,
    ) -> Result<Existence> {
        if let Some(p) = &progress.published {
            return Ok(Existence::Exists(p.clone()));
        }
        // Nothing is published without a container, and a container publishes only once.
        let Some(container) = &progress.container else { return Ok(Existence::Absent) };
        let now = Timestamp::now();
        match self.container_status(account, container, now).await? {
            ContainerStatus::Published => {
                let caption = publication
                    .content()
                    .variants
                    .iter()
                    .find(|v| v.network == NET)
                    .map(|v| v.caption.clone())
                    .unwrap_or_default();
                Ok(match self.recent_with_caption(account, &caption, now).await? {
                    Some(p) => Existence::Exists(p),
                    None => Existence::CannotTell("the container is published but the post was not found".into()),
                })
            }
            _ => Ok(Existence::Absent),
        }
    }
}
