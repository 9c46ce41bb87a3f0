//! LinkedIn: the member's profile and the Company Pages they administer (organization ACLs);
//! posts through `/rest/posts` with images from the Images API, commentary in little text.

pub mod errors;

use crate::config::{LinkedinConfig, join};
use crate::custody::PlainTokens;
use crate::error::{ErrorClass, PlatformError, Result, after};
use crate::http::{self, Answer};
use crate::json;
use crate::little_text;
use crate::network::{Connection, DiscoveredAccount, Flavour, Revocation, SocialNetwork};
use crate::oauth::{StateValue, TokenGrant, expires_in};
use crate::publish::{
    AccountAccess, Existence, MediaItem, PublishProgress, Published, PublishingLimits, Stage, Step, approved_variant,
    elapsed,
};
use crate::rules::MediaKind;
use crate::secret::Secret;
use jiff::Timestamp;
use nanopost_domain::approval::ApprovedPublication;
use nanopost_domain::network::Network;
use nanopost_storage::AccountKind;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const NET: Network = Network::Linkedin;
/// Refresh access tokens (60 days) this long before they expire.
const REFRESH_MARGIN_SECS: i64 = 7 * 86_400;
/// Roles that may post as an organization.
const POSTING_ROLES: [&str; 4] =
    ["ADMINISTRATOR", "CONTENT_ADMINISTRATOR", "CONTENT_ADMIN", "DIRECT_SPONSORED_CONTENT_POSTER"];

pub struct Linkedin {
    cfg: LinkedinConfig,
    http: reqwest::Client,
}

/// `urn:li:organization:123` → `urn%3Ali%3Aorganization%3A123` (URNs in paths must be encoded).
pub fn encode_urn(urn: &str) -> String {
    let mut out = String::with_capacity(urn.len() + 16);
    for b in urn.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Linkedin {
    /// The timeouts its HTTP client uses.
    pub fn http_settings(&self) -> crate::http::HttpSettings {
        self.cfg.http
    }

    pub fn new(cfg: LinkedinConfig) -> Self {
        let http = http::client(cfg.http);
        Self { cfg, http }
    }

    /// The consent page's base URL (for a page's `form-action`).
    pub fn consent_urls(&self) -> Vec<&str> {
        vec![self.cfg.oauth_url.as_str()]
    }

    fn rest(&self, method: reqwest::Method, path: &str, token: &Secret) -> reqwest::RequestBuilder {
        self.http
            .request(method, join(&self.cfg.api_url, path))
            .bearer_auth(token.expose())
            .header("LinkedIn-Version", &self.cfg.api_version)
            .header("X-Restli-Protocol-Version", "2.0.0")
    }

    async fn send(&self, request: reqwest::RequestBuilder, now: Timestamp) -> Result<Answer> {
        let answer = http::send(NET, request).await?;
        if !answer.is_success() {
            return Err(errors::classify(&answer, now));
        }
        Ok(answer)
    }

    async fn json(&self, request: reqwest::RequestBuilder, now: Timestamp) -> Result<Value> {
        self.send(request, now).await?.parse(NET, "answer")
    }

    async fn token_request(&self, form: &[(&str, &str)], now: Timestamp) -> Result<TokenGrant> {
        let answer =
            http::send(NET, self.http.post(join(&self.cfg.oauth_url, "/oauth/v2/accessToken")).form(form)).await?;
        if !answer.is_success() {
            return Err(errors::classify_token_endpoint(&answer, now));
        }
        let v: Value = answer.parse(NET, "token")?;
        let access = json::text(v.get("access_token"))
            .map(Secret::new)
            .ok_or_else(|| PlatformError::malformed(NET, "no access_token"))?;
        Ok(TokenGrant {
            access,
            refresh: json::text(v.get("refresh_token")).map(Secret::new),
            issued_at: now,
            access_expires_at: expires_in(now, json::int(v.get("expires_in"))),
            refresh_expires_at: expires_in(now, json::int(v.get("refresh_token_expires_in"))),
            scopes: json::list(v.get("scope")),
        })
    }

    /// Organizations the member may post for, from the ACLs (`/rest/organizationAcls`), with
    /// names from the projection or, failing that, `/rest/organizations/{id}`.
    async fn organizations(&self, token: &Secret, member_urn: &str, now: Timestamp) -> Result<Vec<DiscoveredAccount>> {
        let v = self
            .json(
                self.rest(reqwest::Method::GET, "/rest/organizationAcls", token).query(&[
                    ("q", "roleAssignee"),
                    ("state", "APPROVED"),
                    ("projection", "(elements*(*,organization~(localizedName,vanityName)))"),
                ]),
                now,
            )
            .await?;
        let mut found: Vec<DiscoveredAccount> = Vec::new();
        for el in v.get("elements").and_then(Value::as_array).into_iter().flatten() {
            let role = json::text(el.get("role")).unwrap_or_default();
            let state = json::text(el.get("state")).unwrap_or_else(|| "APPROVED".into());
            if !POSTING_ROLES.contains(&role.as_str()) || state != "APPROVED" {
                continue;
            }
            // `organization` in /rest; `organizationalTarget` in the legacy /v2 answer.
            let Some(urn) = json::text(el.get("organization")).or_else(|| json::text(el.get("organizationalTarget")))
            else {
                continue;
            };
            if found.iter().any(|a| a.external_id == urn) {
                continue;
            }
            let projected = el.get("organization~");
            let mut name = json::text(projected.and_then(|o| o.get("localizedName")));
            let mut vanity = json::text(projected.and_then(|o| o.get("vanityName")));
            if name.is_none() {
                let id = urn.rsplit(':').next().unwrap_or_default();
                if let Ok(org) =
                    self.json(self.rest(reqwest::Method::GET, &format!("/rest/organizations/{id}"), token), now).await
                {
                    name = json::text(org.get("localizedName"));
                    vanity = vanity.or_else(|| json::text(org.get("vanityName")));
                }
            }
            let mut details = BTreeMap::new();
            details.insert("member_urn".to_owned(), member_urn.to_owned());
            details.insert("role".to_owned(), role);
            found.push(DiscoveredAccount {
                kind: AccountKind::LinkedinOrganization,
                display_name: name.unwrap_or_else(|| urn.clone()),
                external_id: urn,
                handle: vanity,
                details,
                own_grant: None,
            });
        }
        Ok(found)
    }

    /// Initializes an image upload for `owner` and PUTs the bytes; returns the image URN.
    async fn upload_image(&self, account: &AccountAccess, item: &MediaItem, now: Timestamp) -> Result<String> {
        let bytes = item.bytes.clone().ok_or_else(|| {
            PlatformError::new(NET, ErrorClass::RetryLater, "media_unavailable", "the image bytes are not available")
        })?;
        let init = self
            .json(
                self.rest(reqwest::Method::POST, "/rest/images", &account.access_token)
                    .query(&[("action", "initializeUpload")])
                    .json(&json!({"initializeUploadRequest": {"owner": account.external_id}})),
                now,
            )
            .await?;
        let value = init.get("value").unwrap_or(&init);
        let upload_url =
            json::text(value.get("uploadUrl")).ok_or_else(|| PlatformError::malformed(NET, "no uploadUrl"))?;
        let image = json::text(value.get("image")).ok_or_else(|| PlatformError::malformed(NET, "no image URN"))?;
        self.send(
            self.http
                .put(upload_url)
                .bearer_auth(account.access_token.expose())
                .header("Content-Type", item.facts.format.mime())
                .timeout(self.cfg.http.upload_timeout)
                .body(bytes.as_ref().clone()),
            now,
        )
        .await?;
        Ok(image)
    }

    /// AVAILABLE (or unreadable with this token: LinkedIn lets member tokens upload images they
    /// cannot read back, so after a grace period the post is attempted anyway).
    async fn image_ready(&self, account: &AccountAccess, urn: &str, now: Timestamp) -> Result<bool> {
        let answer = http::send(
            NET,
            self.rest(reqwest::Method::GET, &format!("/rest/images/{}", encode_urn(urn)), &account.access_token),
        )
        .await?;
        match answer.status {
            200..=299 => {
                let v: Value = answer.parse(NET, "image")?;
                match json::text(v.get("status")).as_deref() {
                    Some("AVAILABLE") | None => Ok(true),
                    Some("PROCESSING_FAILED") => Err(PlatformError::new(
                        NET,
                        ErrorClass::ContentRejected,
                        "PROCESSING_FAILED",
                        "LinkedIn could not process the image",
                    )
                    .restart(true)),
                    Some(_) => Ok(false),
                }
            }
            403 | 404 => Ok(true),
            _ => Err(errors::classify(&answer, now)),
        }
    }

    fn post_body(&self, author: &str, commentary: &str, images: &[String], alt: &[Option<String>]) -> Value {
        let mut body = json!({
            "author": author,
            "commentary": commentary,
            "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": false,
        });
        match images {
            [] => {}
            [one] => {
                let mut media = json!({"id": one});
                if let Some(Some(text)) = alt.first() {
                    media["altText"] = json!(text);
                }
                body["content"] = json!({"media": media});
            }
            many => {
                let list: Vec<Value> = many.iter().map(|id| json!({"id": id})).collect();
                body["content"] = json!({"multiImage": {"images": list}});
            }
        }
        body
    }

    /// The author's recent posts with this commentary (needs read access; else "cannot tell").
    async fn recent_with_commentary(&self, account: &AccountAccess, commentary: &str) -> Result<Existence> {
        let answer = http::send(
            NET,
            self.rest(reqwest::Method::GET, "/rest/posts", &account.access_token).query(&[
                ("q", "author"),
                ("author", account.external_id.as_str()),
                ("count", "20"),
            ]),
        )
        .await?;
        if !answer.is_success() {
            return Ok(Existence::CannotTell(format!("LinkedIn did not list recent posts ({})", answer.status)));
        }
        let v: Value = answer.parse(NET, "posts")?;
        let hit = v.get("elements").and_then(Value::as_array).into_iter().flatten().find_map(|p| {
            let same = json::text(p.get("commentary")).as_deref() == Some(commentary);
            same.then(|| json::text(p.get("id"))).flatten()
        });
        Ok(match hit {
            Some(urn) => Existence::Exists(Published { url: Some(self.post_url(&urn)), external_id: urn }),
            None => Existence::Absent,
        })
    }
}

impl Linkedin {
    /// The post's public page (on the configured web host: the fake's in `nanopost demo`).
    fn post_url(&self, urn: &str) -> String {
        join(&self.cfg.web_url, &format!("/feed/update/{urn}"))
    }
}

impl SocialNetwork for Linkedin {
    fn network(&self) -> Network {
        NET
    }

    fn uses_pkce(&self, _flavour: Flavour) -> bool {
        false
    }

    fn authorize_url(&self, _flavour: Flavour, state: &StateValue, _pkce: Option<&Secret>) -> Result<String> {
        let mut url = reqwest::Url::parse(&join(&self.cfg.oauth_url, "/oauth/v2/authorization"))
            .map_err(|e| PlatformError::malformed(NET, format!("authorize URL: {e}")))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.cfg.app.client_id)
            .append_pair("redirect_uri", &self.cfg.redirect_uri)
            .append_pair("state", state.expose())
            .append_pair("scope", &self.cfg.scopes.join(" "));
        Ok(url.into())
    }

    async fn connect(
        &self,
        _flavour: Flavour,
        code: &Secret,
        _pkce: Option<&Secret>,
        now: Timestamp,
    ) -> Result<Connection> {
        let grant = self
            .token_request(
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code.expose()),
                    ("redirect_uri", self.cfg.redirect_uri.as_str()),
                    ("client_id", self.cfg.app.client_id.as_str()),
                    ("client_secret", self.cfg.app.client_secret.expose()),
                ],
                now,
            )
            .await?;
        let me = self
            .json(self.http.get(join(&self.cfg.api_url, "/v2/userinfo")).bearer_auth(grant.access.expose()), now)
            .await?;
        let sub = json::text(me.get("sub")).ok_or_else(|| PlatformError::malformed(NET, "userinfo has no sub"))?;
        let member_urn = format!("urn:li:person:{sub}");
        let name = json::text(me.get("name"))
            .or_else(|| {
                let parts: Vec<String> = [json::text(me.get("given_name")), json::text(me.get("family_name"))]
                    .into_iter()
                    .flatten()
                    .collect();
                (!parts.is_empty()).then(|| parts.join(" "))
            })
            .unwrap_or_else(|| member_urn.clone());
        let mut accounts = vec![DiscoveredAccount {
            kind: AccountKind::LinkedinMember,
            external_id: member_urn.clone(),
            display_name: name,
            handle: None,
            details: BTreeMap::new(),
            own_grant: None,
        }];
        // Without an organization scope the ACL lookup is refused; the member alone is connected.
        match self.organizations(&grant.access, &member_urn, now).await {
            Ok(orgs) => accounts.extend(orgs),
            Err(e) if e.class == ErrorClass::ReconnectNeeded => {
                tracing::info!(code = %e.code, "LinkedIn organization ACLs not readable; connecting the member only");
            }
            Err(e) => return Err(e),
        }
        Ok(Connection { grant, accounts })
    }

    async fn refresh(&self, _kind: AccountKind, current: &TokenGrant, now: Timestamp) -> Result<TokenGrant> {
        let Some(refresh) = current.refresh.as_ref().filter(|r| !r.is_empty()) else {
            return Err(PlatformError::new(
                NET,
                ErrorClass::ReconnectNeeded,
                "no_refresh_token",
                "this LinkedIn app has no refresh tokens; connect again before the token expires",
            ));
        };
        if current.refresh_expires_at.is_some_and(|e| e <= now) {
            return Err(PlatformError::new(
                NET,
                ErrorClass::ReconnectNeeded,
                "refresh_expired",
                "the LinkedIn refresh token expired",
            ));
        }
        let fresh = self
            .token_request(
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.expose()),
                    ("client_id", self.cfg.app.client_id.as_str()),
                    ("client_secret", self.cfg.app.client_secret.expose()),
                ],
                now,
            )
            .await?;
        // A refresh does not reset the refresh token's clock: keep its original expiry when the
        // answer repeats the same refresh token.
        let mut merged = TokenGrant::refreshed(current, fresh);
        if merged.refresh == current.refresh {
            merged.refresh_expires_at = current.refresh_expires_at.or(merged.refresh_expires_at);
        }
        Ok(merged)
    }

    fn refresh_due(&self, _kind: AccountKind, grant: &TokenGrant) -> Option<Timestamp> {
        let expiry = grant.access_expires_at?;
        // Without a refresh token nothing can be renewed; the job marks it "reconnect needed" then.
        Some(after(expiry, -REFRESH_MARGIN_SECS))
    }

    async fn revoke(&self, _kind: AccountKind, _tokens: &PlainTokens) -> Result<Revocation> {
        Ok(Revocation::NotOffered)
    }

    async fn limits(&self, _account: &AccountAccess, _now: Timestamp) -> Result<PublishingLimits> {
        // LinkedIn does not publish its limits (they are in the developer portal only).
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
        let commentary = little_text::escape_commentary(&variant.caption);
        let mut p = progress.clone();
        match p.stage {
            Stage::Start => {
                if media.iter().any(|m| m.facts.kind() == MediaKind::Video) {
                    return Err(PlatformError::new(
                        NET,
                        ErrorClass::ContentRejected,
                        "video",
                        "LinkedIn video is not supported yet",
                    ));
                }
                if media.len() > 20 {
                    return Err(PlatformError::new(
                        NET,
                        ErrorClass::ContentRejected,
                        "media_count",
                        "LinkedIn takes at most 20 images",
                    ));
                }
                p.stage = if media.is_empty() { Stage::Container } else { Stage::Items };
                Ok(Step::go(p))
            }
            Stage::Items => {
                if let Some(item) = media.get(p.items.len()) {
                    let urn = self.upload_image(account, item, now).await?;
                    p.items.push(urn);
                    return Ok(Step::go(p));
                }
                for urn in &p.items {
                    if !self.image_ready(account, urn, now).await? {
                        let since = *p.polling_since.get_or_insert(now);
                        if elapsed(Some(since), now) > self.cfg.poll.max_wait {
                            return Err(PlatformError::new(
                                NET,
                                ErrorClass::RetryLater,
                                "PROCESSING",
                                "LinkedIn is still processing the images",
                            ));
                        }
                        return Ok(Step::poll(p, self.cfg.poll.interval));
                    }
                }
                p.stage = Stage::Container;
                p.polling_since = None;
                Ok(Step::go(p))
            }
            Stage::Container => {
                // Recorded before the post is created (invariant I2).
                p.enter_in_flight(now);
                Ok(Step::go(p))
            }
            Stage::PublishInFlight => {
                if p.maybe_sent {
                    // A previous attempt may have created the post: ask before creating again.
                    match self.recent_with_commentary(account, &commentary).await? {
                        Existence::Exists(published) => return Ok(Step::done(p, published)),
                        Existence::CannotTell(why) => return Ok(Step::unconfirmed(p, why)),
                        Existence::Absent => {}
                    }
                }
                let alt: Vec<Option<String>> = vec![variant.options.get("alt_text").cloned()];
                let body = self.post_body(&account.external_id, &commentary, &p.items, &alt);
                let answer = self
                    .send(self.rest(reqwest::Method::POST, "/rest/posts", &account.access_token).json(&body), now)
                    .await?;
                let urn = answer
                    .header("x-restli-id")
                    .map(str::to_owned)
                    .or_else(|| answer.json().and_then(|v| json::text(v.get("id"))))
                    .ok_or_else(|| PlatformError::malformed(NET, "the post was created without an x-restli-id"))?;
                Ok(Step::done(p, Published { url: Some(self.post_url(&urn)), external_id: urn }))
            }
            Stage::Processing => Err(PlatformError::malformed(NET, "LinkedIn publications have no processing stage")),
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
        if progress.stage != Stage::PublishInFlight {
            return Ok(Existence::Absent);
        }
        let caption = publication
            .content()
            .variants
            .iter()
            .find(|v| v.network == NET)
            .map(|v| v.caption.clone())
            .unwrap_or_default();
        self.recent_with_commentary(account, &little_text::escape_commentary(&caption)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urns_are_encoded_for_paths() {
        assert_eq!(encode_urn("urn:li:image:C4E10AQ"), "urn%3Ali%3Aimage%3AC4E10AQ");
    }
}
