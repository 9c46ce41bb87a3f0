//! TikTok: OAuth v2 with PKCE and refresh-token rotation, `creator_info` before each post, photo
//! and video direct posts pulled from our media URLs, status polling.

pub mod errors;

use crate::config::{TiktokConfig, join};
use crate::custody::PlainTokens;
use crate::error::{ErrorClass, PlatformError, Result, after};
use crate::http;
use crate::json;
use crate::network::{Connection, DiscoveredAccount, Flavour, Revocation, SocialNetwork};
use crate::oauth::{StateValue, TokenGrant, expires_in, pkce_challenge};
use crate::publish::{
    AccountAccess, Existence, MediaItem, PublishProgress, Published, PublishingLimits, Stage, Step, approved_variant,
    elapsed,
};
use crate::rules::{MediaKind, tiktok_photo_title};
use crate::secret::Secret;
use jiff::Timestamp;
use nanopost_domain::approval::ApprovedPublication;
use nanopost_domain::network::Network;
use nanopost_storage::AccountKind;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const NET: Network = Network::Tiktok;
pub const SELF_ONLY: &str = "SELF_ONLY";
/// The option key a post uses to choose its privacy level.
pub const PRIVACY_OPTION: &str = "privacy_level";

pub struct Tiktok {
    cfg: TiktokConfig,
    http: reqwest::Client,
}

/// What `creator_info` says about the creator right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatorInfo {
    pub username: Option<String>,
    pub nickname: Option<String>,
    pub privacy_level_options: Vec<String>,
    pub comment_disabled: bool,
    pub duet_disabled: bool,
    pub stitch_disabled: bool,
    pub max_video_post_duration_sec: Option<i64>,
}

/// The privacy level to post with: SELF_ONLY while the app is unaudited; otherwise the one the
/// post asked for, which must be among those TikTok offers this creator now.
pub fn choose_privacy(audited: bool, requested: Option<&str>, offered: &[String]) -> Result<String, String> {
    if !audited {
        return Ok(SELF_ONLY.to_owned());
    }
    match requested {
        Some(level) if offered.iter().any(|o| o == level) => Ok(level.to_owned()),
        Some(level) => {
            Err(format!("TikTok does not offer {level} for this account now; choose one of {}", offered.join(", ")))
        }
        None => Err(format!("choose who can see the TikTok post: one of {}", offered.join(", "))),
    }
}

impl Tiktok {
    /// The timeouts its HTTP client uses.
    pub fn http_settings(&self) -> crate::http::HttpSettings {
        self.cfg.http
    }

    pub fn new(cfg: TiktokConfig) -> Self {
        let http = http::client(cfg.http);
        Self { cfg, http }
    }

    pub fn is_audited(&self) -> bool {
        self.cfg.audited
    }

    /// The consent page's base URL (for a page's `form-action`).
    pub fn consent_urls(&self) -> Vec<&str> {
        vec![self.cfg.authorize_url.as_str()]
    }

    fn api(&self, path: &str) -> String {
        join(&self.cfg.api_url, path)
    }

    /// Sends and returns `data` (TikTok may put an error in a 200 answer's envelope).
    async fn call(&self, request: reqwest::RequestBuilder, now: Timestamp) -> Result<Value> {
        let answer = http::send(NET, request).await?;
        if let Some(e) = errors::error_in(&answer, now) {
            return Err(e);
        }
        let v: Value = answer.parse(NET, "answer")?;
        Ok(v.get("data").cloned().unwrap_or(v))
    }

    async fn api_post(&self, path: &str, token: &Secret, body: Option<Value>, now: Timestamp) -> Result<Value> {
        let mut request = self
            .http
            .post(self.api(path))
            .bearer_auth(token.expose())
            .header("Content-Type", "application/json; charset=UTF-8");
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        self.call(request, now).await
    }

    async fn token(&self, form: &[(&str, &str)], now: Timestamp) -> Result<(TokenGrant, Option<String>)> {
        let v = self.call(self.http.post(self.api("/v2/oauth/token/")).form(form), now).await?;
        let access = json::text(v.get("access_token"))
            .map(Secret::new)
            .ok_or_else(|| PlatformError::malformed(NET, "no access_token"))?;
        let grant = TokenGrant {
            access,
            refresh: json::text(v.get("refresh_token")).map(Secret::new),
            issued_at: now,
            access_expires_at: expires_in(now, json::int(v.get("expires_in"))),
            refresh_expires_at: expires_in(now, json::int(v.get("refresh_expires_in"))),
            scopes: json::list(v.get("scope")),
        };
        Ok((grant, json::text(v.get("open_id"))))
    }

    pub async fn creator_info(&self, token: &Secret, now: Timestamp) -> Result<CreatorInfo> {
        let d = self.api_post("/v2/post/publish/creator_info/query/", token, None, now).await?;
        let flag = |k: &str| d.get(k).and_then(Value::as_bool).unwrap_or(false);
        Ok(CreatorInfo {
            username: json::text(d.get("creator_username")),
            nickname: json::text(d.get("creator_nickname")),
            privacy_level_options: json::list(d.get("privacy_level_options")),
            comment_disabled: flag("comment_disabled"),
            duet_disabled: flag("duet_disabled"),
            stitch_disabled: flag("stitch_disabled"),
            max_video_post_duration_sec: json::int(d.get("max_video_post_duration_sec")),
        })
    }

    async fn status(&self, token: &Secret, publish_id: &str, now: Timestamp) -> Result<Value> {
        self.api_post("/v2/post/publish/status/fetch/", token, Some(json!({"publish_id": publish_id})), now).await
    }

    fn published_from(&self, status: &Value, publish_id: &str, username: Option<&str>) -> Published {
        let post_id = status
            .get("publicaly_available_post_id")
            .or_else(|| status.get("publicly_available_post_id"))
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(|id| json::id(Some(id)));
        match post_id {
            Some(id) => {
                // The share URL is on the web host, the one the consent page is on (the fake's
                // in `nanopost demo`).
                let url = username.map(|u| join(&self.cfg.authorize_url, &format!("/@{u}/video/{id}")));
                Published { url, external_id: id }
            }
            // Private (SELF_ONLY) posts and posts still in moderation have no public id yet.
            None => Published { external_id: publish_id.to_owned(), url: None },
        }
    }
}

impl SocialNetwork for Tiktok {
    fn network(&self) -> Network {
        NET
    }

    fn uses_pkce(&self, _flavour: Flavour) -> bool {
        self.cfg.pkce
    }

    fn authorize_url(&self, _flavour: Flavour, state: &StateValue, pkce: Option<&Secret>) -> Result<String> {
        let mut url = reqwest::Url::parse(&join(&self.cfg.authorize_url, "/v2/auth/authorize/"))
            .map_err(|e| PlatformError::malformed(NET, format!("authorize URL: {e}")))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_key", &self.cfg.app.client_id)
                .append_pair("scope", &self.cfg.scopes.join(","))
                .append_pair("response_type", "code")
                .append_pair("redirect_uri", &self.cfg.redirect_uri)
                .append_pair("state", state.expose());
            if let Some(verifier) = pkce {
                q.append_pair("code_challenge", &pkce_challenge(verifier)).append_pair("code_challenge_method", "S256");
            }
        }
        Ok(url.into())
    }

    async fn connect(
        &self,
        _flavour: Flavour,
        code: &Secret,
        pkce: Option<&Secret>,
        now: Timestamp,
    ) -> Result<Connection> {
        let mut form = vec![
            ("client_key", self.cfg.app.client_id.as_str()),
            ("client_secret", self.cfg.app.client_secret.expose()),
            ("code", code.expose()),
            ("grant_type", "authorization_code"),
            ("redirect_uri", self.cfg.redirect_uri.as_str()),
        ];
        if let Some(v) = pkce {
            form.push(("code_verifier", v.expose()));
        }
        let (grant, open_id) = self.token(&form, now).await?;
        let fields = if grant.scopes.iter().any(|s| s == "user.info.profile") {
            "open_id,union_id,avatar_url,display_name,username"
        } else {
            "open_id,union_id,avatar_url,display_name"
        };
        let info = self
            .call(
                self.http
                    .get(self.api("/v2/user/info/"))
                    .query(&[("fields", fields)])
                    .bearer_auth(grant.access.expose()),
                now,
            )
            .await?;
        let user = info.get("user").unwrap_or(&info);
        let external_id =
            json::text(user.get("open_id")).or(open_id).ok_or_else(|| PlatformError::malformed(NET, "no open_id"))?;
        let handle = json::text(user.get("username"));
        let mut details = BTreeMap::new();
        if let Some(union) = json::text(user.get("union_id")) {
            details.insert("union_id".to_owned(), union);
        }
        let account = DiscoveredAccount {
            kind: AccountKind::Tiktok,
            display_name: json::text(user.get("display_name"))
                .or_else(|| handle.clone())
                .unwrap_or_else(|| external_id.clone()),
            external_id,
            handle,
            details,
            own_grant: None,
        };
        Ok(Connection { grant, accounts: vec![account] })
    }

    async fn refresh(&self, _kind: AccountKind, current: &TokenGrant, now: Timestamp) -> Result<TokenGrant> {
        let Some(refresh) = current.refresh.as_ref().filter(|r| !r.is_empty()) else {
            return Err(PlatformError::new(
                NET,
                ErrorClass::ReconnectNeeded,
                "no_refresh_token",
                "no TikTok refresh token is stored",
            ));
        };
        let (fresh, _) = self
            .token(
                &[
                    ("client_key", self.cfg.app.client_id.as_str()),
                    ("client_secret", self.cfg.app.client_secret.expose()),
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.expose()),
                ],
                now,
            )
            .await?;
        // Rotation: the answer's refresh token replaces the old one, which stops working.
        Ok(TokenGrant::refreshed(current, fresh))
    }

    fn refresh_due(&self, _kind: AccountKind, grant: &TokenGrant) -> Option<Timestamp> {
        let expiry = grant.access_expires_at?;
        let lifetime = expiry.as_second() - grant.issued_at.as_second();
        Some(after(expiry, -(lifetime / 4).max(600)))
    }

    async fn revoke(&self, _kind: AccountKind, tokens: &PlainTokens) -> Result<Revocation> {
        let form = [
            ("client_key", self.cfg.app.client_id.as_str()),
            ("client_secret", self.cfg.app.client_secret.expose()),
            ("token", tokens.access.expose()),
        ];
        self.call(self.http.post(self.api("/v2/oauth/revoke/")).form(&form), Timestamp::now()).await?;
        Ok(Revocation::Revoked)
    }

    async fn limits(&self, _account: &AccountAccess, _now: Timestamp) -> Result<PublishingLimits> {
        // TikTok does not publish the per-user daily cap; it surfaces as spam_risk_too_many_posts.
        Ok(PublishingLimits { remaining: None, total: None, window_secs: Some(86_400) })
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
        let reject = |code: &str, m: String| PlatformError::new(NET, ErrorClass::ContentRejected, code, m);
        let mut p = progress.clone();
        let is_video = media.first().is_some_and(|m| m.facts.kind() == MediaKind::Video);
        match p.stage {
            Stage::Start | Stage::Items | Stage::Container => {
                if media.is_empty() || (is_video && media.len() > 1) || media.len() > 35 {
                    return Err(reject("media_count", "a TikTok post is one video or 1 to 35 photos".into()));
                }
                // TikTok's guidelines: ask creator_info before each post, offer only its options.
                let info = self.creator_info(&account.access_token, now).await?;
                let privacy = choose_privacy(
                    self.cfg.audited,
                    variant.options.get(PRIVACY_OPTION).map(String::as_str),
                    &info.privacy_level_options,
                )
                .map_err(|m| reject("privacy_level_option_mismatch", m))?;
                if is_video
                    && let (Some(max), Some(ms)) = (info.max_video_post_duration_sec, media[0].facts.duration_ms)
                    && ms as i64 > max * 1000
                {
                    return Err(reject("duration", format!("this creator may post videos of up to {max} seconds")));
                }
                p.chosen.insert(PRIVACY_OPTION.into(), privacy);
                p.chosen.insert("disable_comment".into(), info.comment_disabled.to_string());
                p.chosen.insert("disable_duet".into(), info.duet_disabled.to_string());
                p.chosen.insert("disable_stitch".into(), info.stitch_disabled.to_string());
                if let Some(u) = info.username {
                    p.chosen.insert("username".into(), u);
                }
                // Recorded before the post is created (invariant I2).
                p.enter_in_flight(now);
                Ok(Step::go(p))
            }
            Stage::PublishInFlight => {
                if p.maybe_sent {
                    return Ok(Step::unconfirmed(
                        p,
                        "the TikTok post may have been created before the interruption and TikTok cannot be asked which",
                    ));
                }
                let privacy = p.chosen.get(PRIVACY_OPTION).cloned().unwrap_or_else(|| SELF_ONLY.into());
                let flag = |k: &str| p.chosen.get(k).is_some_and(|v| v == "true");
                let data = if is_video {
                    let body = json!({
                        "post_info": {
                            "title": variant.caption,
                            "privacy_level": privacy,
                            "disable_duet": flag("disable_duet"),
                            "disable_comment": flag("disable_comment"),
                            "disable_stitch": flag("disable_stitch"),
                        },
                        "source_info": {"source": "PULL_FROM_URL", "video_url": media[0].url},
                    });
                    self.api_post("/v2/post/publish/video/init/", &account.access_token, Some(body), now).await?
                } else {
                    let urls: Vec<&str> = media.iter().map(|m| m.url.as_str()).collect();
                    let body = json!({
                        "media_type": "PHOTO",
                        "post_mode": "DIRECT_POST",
                        "post_info": {
                            "title": tiktok_photo_title(&variant.caption),
                            "description": variant.caption,
                            "privacy_level": privacy,
                            "disable_comment": flag("disable_comment"),
                            "auto_add_music": true,
                        },
                        "source_info": {"source": "PULL_FROM_URL", "photo_cover_index": 0, "photo_images": urls},
                    });
                    self.api_post("/v2/post/publish/content/init/", &account.access_token, Some(body), now).await?
                };
                let publish_id =
                    json::text(data.get("publish_id")).ok_or_else(|| PlatformError::malformed(NET, "no publish_id"))?;
                p.container = Some(publish_id);
                p.stage = Stage::Processing;
                p.polling_since = Some(now);
                Ok(Step::go(p))
            }
            Stage::Processing => {
                let id = p
                    .container
                    .clone()
                    .ok_or_else(|| PlatformError::malformed(NET, "processing without publish_id"))?;
                let s = self.status(&account.access_token, &id, now).await?;
                match json::text(s.get("status")).as_deref() {
                    Some("PUBLISH_COMPLETE") | Some("SEND_TO_USER_INBOX") => {
                        let published = self.published_from(&s, &id, p.chosen.get("username").map(String::as_str));
                        Ok(Step::done(p, published))
                    }
                    Some("FAILED") => {
                        let reason = json::text(s.get("fail_reason")).unwrap_or_else(|| "unknown".into());
                        let class = errors::class_of_fail_reason(&reason);
                        Err(PlatformError::new(
                            NET,
                            class,
                            reason.clone(),
                            format!("TikTok could not publish: {reason}"),
                        )
                        .restart(true))
                    }
                    _ => {
                        if elapsed(p.polling_since, now) > self.cfg.poll.max_wait {
                            return Err(PlatformError::new(
                                NET,
                                ErrorClass::RetryLater,
                                "PROCESSING",
                                "TikTok is still processing the post",
                            ));
                        }
                        Ok(Step::poll(p, self.cfg.poll.interval))
                    }
                }
            }
            Stage::Published => match p.published.clone() {
                Some(published) => Ok(Step::done(p, published)),
                None => Err(PlatformError::malformed(NET, "published without an id")),
            },
        }
    }

    async fn find_existing(
        &self,
        account: &AccountAccess,
        _publication: &ApprovedPublication,
        progress: &PublishProgress,
    ) -> Result<Existence> {
        if let Some(p) = &progress.published {
            return Ok(Existence::Exists(p.clone()));
        }
        match &progress.container {
            Some(id) => {
                let s = self.status(&account.access_token, id, Timestamp::now()).await?;
                Ok(match json::text(s.get("status")).as_deref() {
                    Some("PUBLISH_COMPLETE") | Some("SEND_TO_USER_INBOX") => Existence::Exists(self.published_from(
                        &s,
                        id,
                        progress.chosen.get("username").map(String::as_str),
                    )),
                    Some("FAILED") => Existence::Absent,
                    _ => Existence::CannotTell("TikTok is still processing the post".into()),
                })
            }
            None if progress.stage == Stage::PublishInFlight && progress.maybe_sent => {
                Ok(Existence::CannotTell("TikTok cannot be asked whether an interrupted post was created".into()))
            }
            None => Ok(Existence::Absent),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privacy_is_self_only_unaudited_and_offered_otherwise() {
        let offered = vec!["MUTUAL_FOLLOW_FRIENDS".to_owned(), "SELF_ONLY".to_owned()];
        assert_eq!(choose_privacy(false, Some("PUBLIC_TO_EVERYONE"), &offered).unwrap(), "SELF_ONLY");
        assert_eq!(choose_privacy(true, Some("SELF_ONLY"), &offered).unwrap(), "SELF_ONLY");
        assert!(
            choose_privacy(true, Some("PUBLIC_TO_EVERYONE"), &offered).unwrap_err().contains("MUTUAL_FOLLOW_FRIENDS")
        );
        assert!(choose_privacy(true, None, &offered).is_err());
    }
}
