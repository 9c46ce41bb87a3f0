//! The LinkedIn fake's memory: members, organizations and their ACLs, codes, tokens, images,
//! posts; and the rules that read them.

use super::LinkedInSettings;
use super::errors::{self, RestError};
use crate::common::{AppRegistration, Counters, Readiness};
use crate::little_text::LittleText;
use jiff::Timestamp;
use std::collections::{HashMap, VecDeque};

#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub sub: String,
    pub given_name: String,
    pub family_name: String,
    pub email: String,
    pub vanity_name: String,
}

impl Member {
    pub fn urn(&self) -> String {
        format!("urn:li:person:{}", self.sub)
    }
    pub fn name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Organization {
    pub id: String,
    pub name: String,
    pub vanity: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Acl {
    pub member: String,
    pub org: String,
    pub role: String,
    pub state: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Code {
    pub app: String,
    pub redirect_uri: String,
    pub member: String,
    pub scopes: Vec<String>,
    pub expires_at: Timestamp,
    pub used: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct AccessToken {
    pub member: String,
    pub app: String,
    pub scopes: Vec<String>,
    pub expires_at: Timestamp,
    pub revoked: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct RefreshToken {
    pub member: String,
    pub app: String,
    pub scopes: Vec<String>,
    /// Fixed at the first authorization: refreshing does not reset it.
    pub expires_at: Timestamp,
    pub revoked: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Image {
    pub urn: String,
    pub owner: String,
    pub upload_token: String,
    pub upload_expires_at: Timestamp,
    pub bytes: Option<Vec<u8>>,
    pub uploaded_at: Option<Timestamp>,
    pub polls: u32,
    pub readiness: Readiness,
    pub fail_processing: bool,
}

impl Image {
    /// `WAITING_UPLOAD | PROCESSING | AVAILABLE | PROCESSING_FAILED`.
    pub fn status(&self, now: Timestamp) -> &'static str {
        match (&self.bytes, self.uploaded_at) {
            (Some(_), Some(at)) if self.readiness.is_ready(self.polls, at, now) => {
                if self.fail_processing {
                    "PROCESSING_FAILED"
                } else {
                    "AVAILABLE"
                }
            }
            (Some(_), Some(_)) => "PROCESSING",
            _ => "WAITING_UPLOAD",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Post {
    pub urn: String,
    pub author: String,
    pub commentary: String,
    pub text: LittleText,
    pub visibility: String,
    pub body: serde_json::Value,
    pub images: Vec<String>,
    pub created_at: Timestamp,
    pub version: String,
    pub deleted: bool,
}

pub(crate) struct State {
    pub settings: LinkedInSettings,
    pub apps: Vec<AppRegistration>,
    pub members: Vec<Member>,
    pub orgs: Vec<Organization>,
    pub acls: Vec<Acl>,
    pub codes: HashMap<String, Code>,
    pub tokens: HashMap<String, AccessToken>,
    pub refresh_tokens: HashMap<String, RefreshToken>,
    pub images: Vec<Image>,
    pub posts: Vec<Post>,
    pub ids: Counters,
    pub next_image_failures: VecDeque<()>,
    /// (member, UTC day) → calls, for the daily member limit.
    pub daily_calls: HashMap<(String, jiff::civil::Date), u32>,
}

/// Roles that may post as an organization.
pub(crate) const POSTING_ROLES: &[&str] =
    &["ADMINISTRATOR", "CONTENT_ADMINISTRATOR", "DIRECT_SPONSORED_CONTENT_POSTER"];

impl State {
    pub fn new(settings: LinkedInSettings, apps: Vec<AppRegistration>) -> Self {
        State {
            settings,
            apps,
            members: Vec::new(),
            orgs: Vec::new(),
            acls: Vec::new(),
            codes: HashMap::new(),
            tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            images: Vec::new(),
            posts: Vec::new(),
            ids: Counters::default(),
            next_image_failures: VecDeque::new(),
            daily_calls: HashMap::new(),
        }
    }

    pub fn add_member(&mut self, given: &str, family: &str) -> String {
        let n = self.ids.next("member");
        let sub = format!("fakeSub{n:04}");
        let vanity = format!("{}-{}-{n}", given.to_lowercase(), family.to_lowercase()).replace(' ', "-");
        self.members.push(Member {
            sub: sub.clone(),
            given_name: given.to_owned(),
            family_name: family.to_owned(),
            email: format!("{}@example.invalid", vanity),
            vanity_name: vanity,
        });
        sub
    }

    pub fn add_org(&mut self, name: &str, vanity: &str) -> String {
        let id = (10_000_000 + self.ids.next("org")).to_string();
        self.orgs.push(Organization { id: id.clone(), name: name.to_owned(), vanity: vanity.to_owned() });
        id
    }

    pub fn member(&self, sub: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.sub == sub)
    }

    pub fn issue_tokens(
        &mut self,
        member: &str,
        app: &str,
        scopes: Vec<String>,
        now: Timestamp,
        refresh_expires_at: Option<Timestamp>,
    ) -> (String, Timestamp, Option<(String, Timestamp)>) {
        let access = format!("AQVfakeAccess{:06}", self.ids.next("access"));
        let expires_at = now.checked_add(self.settings.access_ttl).unwrap_or(now);
        self.tokens.insert(
            access.clone(),
            AccessToken { member: member.into(), app: app.into(), scopes: scopes.clone(), expires_at, revoked: false },
        );
        let refresh = if self.settings.issue_refresh_tokens && refresh_expires_at.is_none() {
            let value = format!("AQXfakeRefresh{:06}", self.ids.next("refresh"));
            let refresh_expires = now.checked_add(self.settings.refresh_ttl).unwrap_or(now);
            self.refresh_tokens.insert(
                value.clone(),
                RefreshToken {
                    member: member.into(),
                    app: app.into(),
                    scopes,
                    expires_at: refresh_expires,
                    revoked: false,
                },
            );
            Some((value, refresh_expires))
        } else {
            None
        };
        (access, expires_at, refresh)
    }

    pub fn check_token(&self, value: Option<&str>, now: Timestamp) -> Result<AccessToken, RestError> {
        let value = value.filter(|v| !v.is_empty()).ok_or_else(errors::empty_token)?;
        let token = self.tokens.get(value).ok_or_else(errors::invalid_token)?;
        if token.revoked {
            return Err(errors::revoked_token());
        }
        if token.expires_at <= now {
            return Err(errors::expired_token());
        }
        Ok(token.clone())
    }

    /// Whether the member holds an approved role on the organization that lets them post.
    pub fn can_post_as_org(&self, member: &str, org: &str) -> bool {
        self.acls.iter().any(|a| {
            a.member == member && a.org == org && a.state == "APPROVED" && POSTING_ROLES.contains(&a.role.as_str())
        })
    }

    pub fn has_approved_role(&self, member: &str, org: &str) -> bool {
        self.acls.iter().any(|a| a.member == member && a.org == org && a.state == "APPROVED")
    }

    /// Checks that `token` may act (`write`) or read as `author` (a person or organization URN).
    pub fn may_act_as(
        &self,
        token: &AccessToken,
        author: &str,
        write: bool,
        method: &str,
        path: &str,
    ) -> Result<(), RestError> {
        let has = |s: &str| token.scopes.iter().any(|x| x == s);
        let allowed = if let Some(sub) = author.strip_prefix("urn:li:person:") {
            sub == token.member && if write { has("w_member_social") } else { has("r_member_social") }
        } else if let Some(org) = author.strip_prefix("urn:li:organization:") {
            if write {
                has("w_organization_social") && self.can_post_as_org(&token.member, org)
            } else {
                (has("r_organization_social") || has("w_organization_social"))
                    && self.has_approved_role(&token.member, org)
            }
        } else {
            false
        };
        if allowed { Ok(()) } else { Err(errors::forbidden(method, path)) }
    }
}
