//! Storage: one repository API over two databases.
//!
//! [`Store`] is an enum over the SQLite and PostgreSQL repositories. Both are compiled from the
//! same source (`repo.rs`, included once per backend with its own `Db` type), so every query is
//! written once and branches only where the SQL dialects differ. Every method that touches
//! tenant data takes a [`WorkspaceId`] and puts it in the `WHERE` clause (invariant I3).

mod error;
mod records;

pub use error::{Result, StorageError};
pub use records::*;

use jiff::Timestamp;
use nanopost_domain::account::Email;
use nanopost_domain::approval::{Approval, ApprovalId};
use nanopost_domain::brand::{Brand, BrandProfile};
use nanopost_domain::ids::{ApiTokenId, BrandId, InvitationId, PostId, UserId, WorkspaceId};
use nanopost_domain::post::Post;
use nanopost_domain::role::Role;

/// Which SQL dialect a repository speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub mod sqlite {
    //! The embedded default: one SQLite file in WAL mode.
    pub(crate) type Db = sqlx::Sqlite;
    pub(crate) const BACKEND: super::Backend = super::Backend::Sqlite;
    pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
    include!("repo.rs");
}

pub mod postgres {
    //! The scaled-out backend.
    pub(crate) type Db = sqlx::Postgres;
    pub(crate) const BACKEND: super::Backend = super::Backend::Postgres;
    pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
    include!("repo.rs");
}

/// The repository the rest of the program talks to.
#[derive(Clone, Debug)]
pub enum Store {
    Sqlite(sqlite::Repo),
    Postgres(postgres::Repo),
}

impl Store {
    /// Opens `sqlite://path` (created if missing) or `postgres://…`. Does not migrate.
    pub async fn connect(url: &str) -> Result<Store> {
        if url.starts_with("sqlite:") {
            Ok(Store::Sqlite(sqlite::Repo::connect(url).await?))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Store::Postgres(postgres::Repo::connect(url).await?))
        } else {
            Err(StorageError::Corrupt("database URL must start with sqlite:// or postgres://".into()))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Store::Sqlite(_) => Backend::Sqlite,
            Store::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Forwards each listed method to the backend in use.
macro_rules! delegate {
    ($( $(#[$meta:meta])* fn $name:ident(&self $(, $arg:ident : $ty:ty)* $(,)?) -> $ret:ty; )*) => {
        impl Store {
            $(
                $(#[$meta])*
                pub async fn $name(&self $(, $arg: $ty)*) -> $ret {
                    match self {
                        Store::Sqlite(r) => r.$name($($arg),*).await,
                        Store::Postgres(r) => r.$name($($arg),*).await,
                    }
                }
            )*
        }
    };
}

delegate! {
    /// Applies the embedded migrations that are not yet applied.
    fn migrate(&self) -> Result<()>;
    /// True when the database answers and every embedded migration is applied.
    fn is_ready(&self) -> bool;
    fn close(&self) -> ();

    // Accounts.
    /// Creates the user, their first workspace (as owner) and the verification mail, atomically.
    fn sign_up(&self, s: &SignUp) -> Result<()>;
    fn create_user(&self, user: &User) -> Result<()>;
    fn user_by_email(&self, email: &Email) -> Result<Option<User>>;
    fn user_by_id(&self, id: UserId) -> Result<Option<User>>;
    fn set_email_verified(&self, id: UserId, at: Timestamp) -> Result<()>;
    /// Replaces the password hash and ends every session of the user.
    fn set_password_hash(&self, id: UserId, hash: &str) -> Result<()>;
    fn create_user_token(&self, token: &UserToken, mail: Option<&OutboxEmail>) -> Result<()>;
    /// Marks an unexpired, unused token used and returns its user; `None` otherwise.
    fn consume_user_token(&self, purpose: TokenPurpose, hash: &TokenHash, now: Timestamp) -> Result<Option<UserId>>;
    fn create_session(&self, session: &Session) -> Result<()>;
    /// The unexpired session with this hash.
    fn session(&self, hash: &TokenHash, now: Timestamp) -> Result<Option<Session>>;
    fn delete_session(&self, hash: &TokenHash) -> Result<()>;
    fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64>;
    fn enqueue_email(&self, mail: &OutboxEmail) -> Result<()>;
    /// The newest mail first.
    fn outbox(&self, limit: u32) -> Result<Vec<OutboxEmail>>;

    // Workspaces and members.
    fn create_workspace(&self, ws: &Workspace, owner: UserId) -> Result<()>;
    fn workspace(&self, ws: WorkspaceId) -> Result<Option<Workspace>>;
    fn workspaces_of(&self, user: UserId) -> Result<Vec<(Workspace, Role)>>;
    fn role_of(&self, ws: WorkspaceId, user: UserId) -> Result<Option<Role>>;
    fn members(&self, ws: WorkspaceId) -> Result<Vec<Member>>;
    /// Refuses (Conflict) to leave the workspace without an owner.
    fn set_role(&self, ws: WorkspaceId, user: UserId, role: Role) -> Result<()>;
    /// Refuses (Conflict) to remove the last owner.
    fn remove_member(&self, ws: WorkspaceId, user: UserId) -> Result<()>;
    fn create_invitation(&self, inv: &Invitation, mail: &OutboxEmail) -> Result<()>;
    /// Pending (not accepted, not revoked, not expired) invitations.
    fn invitations(&self, ws: WorkspaceId, now: Timestamp) -> Result<Vec<Invitation>>;
    fn revoke_invitation(&self, ws: WorkspaceId, id: InvitationId, now: Timestamp) -> Result<()>;
    /// Accepts a pending invitation addressed to `user`'s e-mail; NotFound for anything else.
    fn accept_invitation(&self, hash: &TokenHash, user: &User, now: Timestamp) -> Result<(WorkspaceId, Role)>;

    // API tokens.
    fn create_api_token(&self, token: &ApiToken) -> Result<()>;
    /// A live (not revoked, not expired) token; records its use.
    fn api_token_by_hash(&self, hash: &TokenHash, now: Timestamp) -> Result<Option<ApiToken>>;
    fn api_tokens(&self, ws: WorkspaceId) -> Result<Vec<ApiToken>>;
    fn revoke_api_token(&self, ws: WorkspaceId, id: ApiTokenId, now: Timestamp) -> Result<()>;

    // Brands.
    fn insert_brand(&self, brand: &Brand) -> Result<()>;
    fn brand(&self, ws: WorkspaceId, id: BrandId) -> Result<Option<Brand>>;
    fn brands(&self, ws: WorkspaceId, page: PageRequest) -> Result<Page<Brand>>;
    fn update_brand(&self, ws: WorkspaceId, id: BrandId, profile: &BrandProfile, now: Timestamp) -> Result<Brand>;
    fn delete_brand(&self, ws: WorkspaceId, id: BrandId) -> Result<()>;

    // Posts and approvals.
    fn insert_post(&self, post: &Post) -> Result<()>;
    fn post(&self, ws: WorkspaceId, id: PostId) -> Result<Option<Post>>;
    fn posts(&self, ws: WorkspaceId, filter: &PostFilter, page: PageRequest) -> Result<Page<Post>>;
    /// Writes `post` if the stored version is still `post.version`; returns it with the new
    /// version. [`StorageError::Stale`] if someone wrote in between.
    fn save_post(&self, post: &Post) -> Result<Post>;
    /// [`Store::save_post`] and the approval record, in one transaction.
    fn save_approved_post(&self, post: &Post, approval: &Approval) -> Result<Post>;
    fn approval(&self, ws: WorkspaceId, id: ApprovalId) -> Result<Option<Approval>>;
    /// Every approval ever given to the post, oldest first.
    fn approvals_of(&self, ws: WorkspaceId, post: PostId) -> Result<Vec<Approval>>;
    fn delete_post(&self, ws: WorkspaceId, id: PostId) -> Result<()>;
}
