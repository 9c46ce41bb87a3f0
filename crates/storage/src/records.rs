//! What the repositories store and return, beyond the domain's own types.

use jiff::Timestamp;
use nanopost_domain::account::Email;
use nanopost_domain::ids::{ApiTokenId, InvitationId, UserId, WorkspaceId};
use nanopost_domain::role::{Role, Scope};
use std::fmt;
use uuid::Uuid;

/// A stored account. The password hash never leaves this struct through `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub display_name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub email_verified_at: Option<Timestamp>,
    /// When the person confirmed being 18 or older (required at sign-up).
    pub age_confirmed_at: Timestamp,
    pub created_at: Timestamp,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("display_name", &self.display_name)
            .field("password_hash", &"<redacted>")
            .field("email_verified_at", &self.email_verified_at)
            .finish_non_exhaustive()
    }
}

/// The SHA-256 of a secret token (session, e-mail link, invitation, API token). Only hashes are
/// stored, so a copy of the database does not let anyone sign in.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(<redacted>)")
    }
}

/// What a single-use e-mailed token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    VerifyEmail,
    ResetPassword,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "verify_email",
            TokenPurpose::ResetPassword => "reset_password",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserToken {
    pub hash: TokenHash,
    pub user_id: UserId,
    pub purpose: TokenPurpose,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A server-side login session, found by the hash of the cookie's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub hash: TokenHash,
    pub user_id: UserId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub name: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub email: Email,
    pub display_name: String,
    pub role: Role,
    pub joined_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: InvitationId,
    pub workspace_id: WorkspaceId,
    pub email: Email,
    pub role: Role,
    pub hash: TokenHash,
    pub invited_by: UserId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A token for the JSON API. Acts as `created_by`, narrowed to `scopes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: ApiTokenId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub hash: TokenHash,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// Mail waiting to be sent. Until the notifications work lands, the outbox is the delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEmail {
    pub id: Uuid,
    pub to: Email,
    /// `verify_email`, `reset_password`, `invitation`, …
    pub kind: String,
    pub subject: String,
    pub body: String,
    pub created_at: Timestamp,
}

/// Keyset pagination, newest first: `after` is the last id of the previous page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<Uuid>,
}

impl PageRequest {
    pub const MAX_LIMIT: u32 = 100;

    pub fn first(limit: u32) -> Self {
        Self { limit: limit.clamp(1, Self::MAX_LIMIT), after: None }
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self::first(50)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `after` to read the next page; `None` on the last page.
    pub next: Option<Uuid>,
}

/// Which posts to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostFilter {
    pub brand_id: Option<nanopost_domain::ids::BrandId>,
    pub state: Option<nanopost_domain::post::PostState>,
}

/// What a new account brings along: its first workspace and the verification e-mail.
#[derive(Debug, Clone)]
pub struct SignUp {
    pub user: User,
    pub workspace: Workspace,
    pub verify_token: UserToken,
    pub verify_email: OutboxEmail,
}
