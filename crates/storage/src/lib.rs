//! Storage: one repository API over two databases.
//!
//! [`Store`] is an enum over the SQLite and PostgreSQL repositories. Both are compiled from the
//! same source (`repo.rs`, included once per backend with its own `Db` type), so every query is
//! written once and branches only where the SQL dialects differ. Every method that touches
//! tenant data takes a [`WorkspaceId`] and puts it in the `WHERE` clause (invariant I3).

mod calendar_records;
mod error;
mod generation_records;
pub mod inventory;
mod job_records;
mod media_records;
mod notify_records;
mod privacy_records;
mod publishing_records;
mod records;
mod records_accounts;
mod telegram_records;
mod wal_checkpoints;
// Before the repositories: they use its SQL macros.
#[macro_use]
mod sqlite_job_thread;

pub use calendar_records::*;
pub use error::{Result, StorageError};
pub use generation_records::*;
pub use job_records::*;
pub use media_records::*;
pub use notify_records::*;
pub use privacy_records::*;
pub use publishing_records::*;
pub use records::*;
pub use records_accounts::*;
pub use telegram_records::*;

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
    include!("repo_jobs.rs");
    include!("repo_accounts.rs");
    include!("repo_privacy.rs");
    include!("repo_media.rs");
    include!("repo_telegram.rs");
    include!("repo_notify.rs");
    include!("repo_publishing.rs");
    include!("repo_generation.rs");
    include!("repo_calendar.rs");
}

pub mod postgres {
    //! The scaled-out backend.
    pub(crate) type Db = sqlx::Postgres;
    pub(crate) const BACKEND: super::Backend = super::Backend::Postgres;
    pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
    include!("repo.rs");
    include!("repo_jobs.rs");
    include!("repo_accounts.rs");
    include!("repo_privacy.rs");
    include!("repo_media.rs");
    include!("repo_telegram.rs");
    include!("repo_notify.rs");
    include!("repo_publishing.rs");
    include!("repo_generation.rs");
    include!("repo_calendar.rs");
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
    /// Returns the storage keys of the media deleted with it.
    fn delete_brand(&self, ws: WorkspaceId, id: BrandId) -> Result<Vec<String>>;

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

// Connected accounts.
delegate! {
    fn insert_oauth_state(&self, st: &OAuthState) -> Result<()>;
    /// Spends a state value: `Fresh` for exactly one caller, then `AlreadyUsed`.
    fn take_oauth_state(&self, hash: &TokenHash, now: Timestamp) -> Result<TakenState>;
    fn delete_expired_oauth_states(&self, now: Timestamp) -> Result<u64>;
    /// Inserts, or replaces the tokens of the same external account of the brand (reconnect).
    fn save_connected_account(&self, account: &ConnectedAccount) -> Result<()>;
    fn connected_account(&self, ws: WorkspaceId, id: ConnectedAccountId) -> Result<Option<ConnectedAccount>>;
    fn connected_account_by_external(
        &self,
        ws: WorkspaceId,
        brand: BrandId,
        network: nanopost_domain::network::Network,
        external_id: &str,
    ) -> Result<Option<ConnectedAccount>>;
    fn connected_accounts(&self, ws: WorkspaceId, brand: Option<BrandId>) -> Result<Vec<ConnectedAccount>>;
    fn accounts_of_grant(&self, ws: WorkspaceId, grant: uuid::Uuid) -> Result<Vec<ConnectedAccount>>;
    /// Other connections, in any workspace, to the same network account (a count only).
    fn other_connections_to(&self, network: nanopost_domain::network::Network, external_id: &str, except: ConnectedAccountId) -> Result<u64>;
    /// Optimistic: Stale if the tokens changed since `expected_version`.
    fn update_account_tokens(
        &self,
        ws: WorkspaceId,
        id: ConnectedAccountId,
        expected_version: i64,
        update: &TokenUpdate,
        now: Timestamp,
    ) -> Result<ConnectedAccount>;
    fn mark_account_reconnect_needed(&self, ws: WorkspaceId, id: ConnectedAccountId, reason: &str, now: Timestamp) -> Result<()>;
    /// Deletes the row (and every token byte); returns it.
    fn delete_connected_account(&self, ws: WorkspaceId, id: ConnectedAccountId) -> Result<ConnectedAccount>;
    /// Unscoped (refresh job).
    fn accounts_due_for_refresh(&self, before: Timestamp, limit: u32) -> Result<Vec<ConnectedAccount>>;
    /// Unscoped (key rotation).
    fn accounts_sealed_with_other_keys(&self, current_key_id: &str, limit: u32) -> Result<Vec<ConnectedAccount>>;
}

// Jobs.
delegate! {
    fn enqueue_job(&self, job: &NewJob) -> Result<Enqueued>;
    /// All in one transaction.
    fn enqueue_jobs(&self, jobs: &[NewJob]) -> Result<Vec<Enqueued>>;
    /// Saves the post and enqueues the job in one transaction: both or neither.
    fn save_post_and_enqueue(&self, post: &Post, job: &NewJob) -> Result<(Post, Enqueued)>;
    /// Leases due jobs: lanes (workspaces) in turn, then by due time and priority.
    fn claim_jobs(&self, claim: &Claim) -> Result<Vec<Job>>;
    fn heartbeat_job(&self, lease: &Lease, until: Timestamp) -> Result<Heartbeat>;
    fn checkpoint_job(&self, lease: &Lease, payload: &serde_json::Value) -> Result<bool>;
    fn complete_jobs(&self, leases: &[Lease]) -> Result<u64>;
    /// Finishes the job and enqueues its follow-ups in one transaction; `None` if the lease is gone.
    fn complete_job_and_enqueue(&self, lease: &Lease, next: &[NewJob]) -> Result<Option<Vec<Enqueued>>>;
    fn retry_job(&self, lease: &Lease, due_at: Timestamp, error: &str, now: Timestamp) -> Result<bool>;
    fn dead_letter_job(&self, lease: &Lease, error: &str, now: Timestamp) -> Result<bool>;
    fn release_job(&self, lease: &Lease, now: Timestamp) -> Result<bool>;
    fn reap_expired_jobs(&self, now: Timestamp) -> Result<u64>;
    fn next_job_due(&self) -> Result<Option<Timestamp>>;
    fn next_lease_expiry(&self) -> Result<Option<Timestamp>>;
    fn job_wakeups(&self) -> Result<JobWakeups>;
    fn job(&self, id: JobId) -> Result<Option<Job>>;
    fn job_by_key(&self, key: &str) -> Result<Option<Job>>;
    fn dead_jobs(&self, limit: u32) -> Result<Vec<Job>>;
    fn retry_dead_job(&self, id: JobId, now: Timestamp) -> Result<bool>;
    fn cancel_job(&self, id: JobId) -> Result<Cancelled>;
    fn cancel_job_by_key(&self, key: &str) -> Result<Cancelled>;
}

// Privacy.
delegate! {
    fn append_audit(&self, entry: &AuditEntry) -> Result<()>;
    /// The workspace's audit entries, newest first.
    fn audit_log(&self, ws: WorkspaceId, page: PageRequest) -> Result<Page<AuditEntry>>;
    fn record_consent(&self, consent: &ConsentRecord) -> Result<()>;
    /// Every consent decision of the user, oldest first.
    fn consents_of(&self, user: UserId) -> Result<Vec<ConsentRecord>>;
    /// The decision in force: the newest for `purpose`.
    fn current_consent(&self, user: UserId, purpose: &str) -> Result<Option<ConsentRecord>>;
    fn insert_export(&self, export: &PrivacyExport) -> Result<()>;
    /// An unexpired export of `requester` (nobody else's).
    fn privacy_export(&self, id: uuid::Uuid, requester: UserId, now: Timestamp) -> Result<Option<PrivacyExport>>;
    fn exports_of(&self, requester: UserId, now: Timestamp) -> Result<Vec<ExportInfo>>;
    /// Every inventoried row concerning the person, secrets left out.
    fn dump_person(&self, user: UserId, email: &Email) -> Result<Vec<TableDump>>;
    /// Every inventoried row of the workspace, secrets left out.
    fn dump_workspace(&self, ws: WorkspaceId) -> Result<Vec<TableDump>>;
    /// Deactivates the account (and the workspaces it alone owns) at once.
    fn deactivate_account(&self, deletion: &AccountDeletion, workspaces: &[WorkspaceDeletion]) -> Result<()>;
    fn deactivate_workspace(&self, deletion: &WorkspaceDeletion) -> Result<()>;
    fn account_deletion(&self, user: UserId) -> Result<Option<AccountDeletion>>;
    fn workspace_deletion(&self, ws: WorkspaceId) -> Result<Option<WorkspaceDeletion>>;
    fn due_account_deletions(&self, now: Timestamp, limit: u32) -> Result<Vec<AccountDeletion>>;
    fn due_workspace_deletions(&self, now: Timestamp, limit: u32) -> Result<Vec<WorkspaceDeletion>>;
    /// Erases the account and queues the confirmation, in one transaction.
    fn purge_account(&self, deletion: &AccountDeletion, confirmation: &OutboxEmail) -> Result<()>;
    fn purge_workspace(&self, deletion: &WorkspaceDeletion, confirmations: &[OutboxEmail]) -> Result<()>;
    fn apply_retention(&self, cutoffs: &RetentionCutoffs) -> Result<RetentionReport>;
    fn insert_rights_request(&self, request: &RightsRequest) -> Result<()>;
    fn update_rights_request(&self, request: &RightsRequest) -> Result<()>;
    fn rights_request(&self, id: uuid::Uuid) -> Result<Option<RightsRequest>>;
    /// Open requests, soonest due first (only those due by `due_before`, if given).
    fn open_rights_requests(&self, due_before: Option<Timestamp>) -> Result<Vec<RightsRequest>>;
    /// Operators and the instance's own audit entries (migration 0012).
    fn instance_audit_log(&self, page: PageRequest) -> Result<Page<AuditEntry>>;
    fn is_operator(&self, user: UserId) -> Result<bool>;
    fn grant_operator(&self, user: UserId, at: Timestamp, entry: &AuditEntry) -> Result<bool>;
    fn revoke_operator(&self, user: UserId, entry: &AuditEntry) -> Result<bool>;
    fn operators(&self) -> Result<Vec<Operator>>;
    fn config_fingerprint(&self) -> Result<std::collections::BTreeMap<String, String>>;
    fn replace_config_fingerprint(
        &self,
        digests: &std::collections::BTreeMap<String, String>,
        at: Timestamp,
        entry: Option<&AuditEntry>,
    ) -> Result<()>;
    fn affected_workspaces(&self, class: inventory::DataClass) -> Result<Vec<AffectedWorkspace>>;
    fn affected_people(&self, class: inventory::DataClass) -> Result<Vec<AffectedPerson>>;
}

delegate! {
    // Publications (invariant I2).
    /// Moves the post to publishing, records its new publications and enqueues `jobs`, atomically.
    fn begin_publishing(&self, post: &Post, publications: &[Publication], jobs: &[NewJob]) -> Result<(Post, Vec<Enqueued>)>;
    /// Saves the approved post and its approval record, and enqueues `jobs`, atomically.
    fn save_approved_post_and_enqueue(&self, post: &Post, approval: &Approval, jobs: &[NewJob]) -> Result<Post>;
    fn publication(&self, ws: WorkspaceId, id: nanopost_domain::ids::PublicationId) -> Result<Option<Publication>>;
    fn publications_of_post(&self, ws: WorkspaceId, post: PostId) -> Result<Vec<Publication>>;
    /// Optimistic: `Stale` unless the stored version is still `p.version`.
    fn update_publication(&self, p: &Publication) -> Result<Publication>;
    /// One of `cap` concurrent publishing slots of the account, for `holder`, until `until`.
    fn take_publishing_slot(&self, account: ConnectedAccountId, holder: uuid::Uuid, cap: u32, until: Timestamp, now: Timestamp) -> Result<bool>;
    /// Holds the account's publications until `until` (kept if a longer pause is in force).
    fn pause_publishing(&self, account: ConnectedAccountId, until: Timestamp, reason: &str) -> Result<()>;
    /// Until when, and why, the account's publications are held; none once that has passed.
    fn publishing_pause(&self, account: ConnectedAccountId, now: Timestamp) -> Result<Option<(Timestamp, String)>>;
    fn release_publishing_slot(&self, account: ConnectedAccountId, holder: uuid::Uuid) -> Result<()>;
    /// Due scheduled posts and publishing posts with nothing recently pending, across workspaces.
    fn posts_for_publishing_sweep(&self, now: Timestamp, stale: Timestamp) -> Result<Vec<Post>>;
}

// Notifications: in-app notices, e-mail preferences, outbox delivery.
delegate! {
    /// The notices and their mails, in one transaction.
    fn insert_notifications(&self, notes: &[Notification], mails: &[OutboxEmail]) -> Result<()>;
    /// The person's notices in the workspace, newest first.
    fn notifications(&self, ws: WorkspaceId, user: UserId, unread_only: bool, page: PageRequest) -> Result<Page<Notification>>;
    fn unread_notification_count(&self, ws: WorkspaceId, user: UserId) -> Result<u64>;
    /// NotFound unless the notice is the person's, in this workspace.
    fn mark_notification_read(&self, ws: WorkspaceId, user: UserId, id: uuid::Uuid, now: Timestamp) -> Result<()>;
    fn mark_all_notifications_read(&self, ws: WorkspaceId, user: UserId, now: Timestamp) -> Result<u64>;
    fn notification_preferences(&self, user: UserId) -> Result<Vec<NotificationPreference>>;
    /// `None`: the person never chose for this kind.
    fn email_preference(&self, user: UserId, kind: &str) -> Result<Option<bool>>;
    fn set_notification_preference(&self, p: &NotificationPreference) -> Result<()>;
    /// Members of the workspace who turned e-mail of `kind` off.
    fn email_opt_outs(&self, ws: WorkspaceId, kind: &str) -> Result<Vec<UserId>>;
    /// Leases due mails (unscoped: the delivery job).
    fn claim_mail(&self, claim: &MailClaim) -> Result<Vec<ClaimedMail>>;
    /// False if the lease was lost (nothing written).
    fn record_mail_outcome(&self, id: uuid::Uuid, claim: uuid::Uuid, outcome: &MailOutcome, now: Timestamp) -> Result<bool>;
    fn next_mail_due(&self) -> Result<Option<Timestamp>>;
    fn mail_delivery(&self, id: uuid::Uuid) -> Result<Option<Delivery>>;
    fn outbox_deliveries(&self, limit: u32) -> Result<Vec<(OutboxEmail, Delivery)>>;
    fn outbox_counts(&self) -> Result<OutboxCounts>;
}

// Telegram review: link codes, links, drafts sent, the long-polling offset.
delegate! {
    /// Stores a new link code; the person's earlier unused codes, and expired ones, go.
    fn create_telegram_link_code(&self, code: &TelegramLinkCode) -> Result<()>;
    /// Spends a code: `Fresh` for exactly one caller.
    fn take_telegram_link_code(&self, hash: &TokenHash, now: Timestamp) -> Result<TakenLinkCode>;
    /// One chat per person, one person per chat: older links of either are replaced.
    fn link_telegram_chat(&self, link: &TelegramLink) -> Result<()>;
    fn telegram_link(&self, user: UserId) -> Result<Option<TelegramLink>>;
    fn telegram_link_by_chat(&self, chat_id: i64) -> Result<Option<TelegramLink>>;
    fn unlink_telegram(&self, user: UserId) -> Result<Option<TelegramLink>>;
    /// Members of the workspace with a linked chat, and their role now.
    fn telegram_reviewers(&self, ws: WorkspaceId) -> Result<Vec<(TelegramLink, Role)>>;
    fn insert_telegram_review_message(&self, m: &TelegramReviewMessage) -> Result<()>;
    /// Found by the buttons' token *and* the chat that pressed.
    fn telegram_review_message(&self, token: &str, chat_id: i64) -> Result<Option<TelegramReviewMessage>>;
    fn telegram_review_messages_of_post(&self, ws: WorkspaceId, post: PostId) -> Result<Vec<TelegramReviewMessage>>;
    /// False if the draft was already decided.
    fn decide_telegram_review(&self, token: &str, decision: TelegramDecision, now: Timestamp) -> Result<bool>;
    fn telegram_poll_offset(&self, bot_id: &str) -> Result<Option<i64>>;
    /// Only ever moves forward.
    fn set_telegram_poll_offset(&self, bot_id: &str, next_offset: i64, now: Timestamp) -> Result<()>;
}

// Media library.
delegate! {
    /// The item and its tags, in one transaction; Conflict for a second identical rendition.
    fn insert_media(&self, m: &MediaRecord) -> Result<()>;
    fn media(&self, ws: WorkspaceId, id: nanopost_domain::ids::MediaId) -> Result<Option<MediaRecord>>;
    /// Newest first.
    fn media_list(&self, ws: WorkspaceId, filter: &MediaFilter, page: PageRequest) -> Result<Page<MediaRecord>>;
    /// An upload (not a rendition) of the same bytes for the same brand, or none.
    fn media_by_digest(&self, ws: WorkspaceId, brand: Option<BrandId>, digest: &str) -> Result<Option<MediaRecord>>;
    fn media_rendition(&self, ws: WorkspaceId, parent: nanopost_domain::ids::MediaId, fixes: &str) -> Result<Option<MediaRecord>>;
    fn media_renditions(&self, ws: WorkspaceId, parent: nanopost_domain::ids::MediaId) -> Result<Vec<MediaRecord>>;
    /// Replaces the alt text and the tags.
    fn update_media_meta(&self, ws: WorkspaceId, id: nanopost_domain::ids::MediaId, alt_text: &str, tags: &[String]) -> Result<MediaRecord>;
    /// Deletes the item and its renditions; returns their storage keys (for the media store).
    fn delete_media(&self, ws: WorkspaceId, id: nanopost_domain::ids::MediaId) -> Result<Vec<String>>;
    /// Posts (any state) whose content names one of `ids`.
    fn media_uses(&self, ws: WorkspaceId, ids: &[nanopost_domain::ids::MediaId]) -> Result<Vec<MediaUse>>;
    /// Brands whose logo is one of `ids`.
    fn brands_with_logo(&self, ws: WorkspaceId, ids: &[nanopost_domain::ids::MediaId]) -> Result<Vec<Brand>>;
    fn media_keys_of_workspace(&self, ws: WorkspaceId) -> Result<Vec<String>>;
    /// Unscoped (the media store's orphan sweep).
    fn media_key_exists(&self, storage_key: &str) -> Result<bool>;
    /// Unscoped (operator commands): every item in id order, without tags.
    fn all_media(&self, after: Option<nanopost_domain::ids::MediaId>, limit: u32) -> Result<Vec<MediaRecord>>;
    /// Unscoped (the sweep): renditions made before `before`, in id order after `after`.
    fn renditions_made_before(&self, before: Timestamp, after: Option<nanopost_domain::ids::MediaId>, limit: u32) -> Result<Vec<MediaRecord>>;
}

// AI generation: requests run as jobs, the drafts they made, monthly usage and its quota.
delegate! {
    /// Records the generation and counts it in `month`'s usage if `quota` (0: none) leaves
    /// room, enqueueing `jobs` in the same transaction; nothing is written when it does not.
    fn insert_generation(&self, g: &GenerationRecord, month: &str, quota: u32, jobs: &[NewJob]) -> Result<Admission>;
    fn generation(&self, ws: WorkspaceId, id: nanopost_domain::ids::GenerationId) -> Result<Option<GenerationRecord>>;
    /// Newest first, of one brand if given.
    fn generations(&self, ws: WorkspaceId, brand: Option<BrandId>, page: PageRequest) -> Result<Page<GenerationRecord>>;
    /// Saves an open generation's progress; false if it has ended meanwhile.
    fn update_generation(&self, g: &GenerationRecord) -> Result<bool>;
    /// The final row, its drafts with their links, and the usage, in one transaction; false
    /// (nothing written) if the generation had already ended.
    fn finish_generation(&self, outcome: &GenerationOutcome<'_>) -> Result<bool>;
    fn generated_posts(&self, ws: WorkspaceId, generation: nanopost_domain::ids::GenerationId) -> Result<Vec<GeneratedPost>>;
    /// The generation that last wrote the post.
    fn post_provenance(&self, ws: WorkspaceId, post: PostId) -> Result<Option<PostProvenance>>;
    /// The newest suggested time a plan gave the post.
    fn post_suggestion(&self, ws: WorkspaceId, post: PostId) -> Result<Option<GeneratedPost>>;
    fn latest_description(&self, ws: WorkspaceId, media: nanopost_domain::ids::MediaId) -> Result<Option<GenerationRecord>>;
    fn ai_usage(&self, ws: WorkspaceId, month: &str) -> Result<AiUsage>;
    /// Unscoped (the generation sweep): open generations untouched since `before`.
    fn stale_generations(&self, before: Timestamp) -> Result<Vec<GenerationRecord>>;
}

// The calendar: a month of posts by time, light rows first, details of the shown ones after.
delegate! {
    /// Posts placed in `[from, to)` (of one brand, if given), earliest first, at most `limit`.
    fn calendar_entries(&self, ws: WorkspaceId, brand: Option<BrandId>, from: Timestamp, to: Timestamp, limit: u32) -> Result<Vec<CalendarEntry>>;
    /// Places a post into a free queue slot of its brand, one placement at a time per brand.
    fn place_post_in_slot(&self, ws: WorkspaceId, brand: BrandId, from: Timestamp, to: Timestamp, limit: u32, place: &SlotChoice<'_>) -> Result<Option<Post>>;
    /// Per day: the count, the failed or unconfirmed count, and the first `per_day` posts.
    fn calendar_days(&self, ws: WorkspaceId, brands: Option<&[BrandId]>, days: &[DayWindow], per_day: u32) -> Result<Vec<DayPosts>>;
    fn calendar_details(&self, ws: WorkspaceId, ids: &[PostId]) -> Result<Vec<CalendarDetail>>;
    /// The publications of several posts in one read, by post.
    fn publications_of_posts(&self, ws: WorkspaceId, ids: &[PostId]) -> Result<Vec<Publication>>;
}
