// The repository, written once and compiled twice (see lib.rs): the including module supplies
// `Db` (the sqlx database type), `BACKEND` and `MIGRATOR`. Queries use `$n` placeholders, which
// sqlx accepts on both SQLite and PostgreSQL, so the SQL text is shared; the few dialect
// differences branch on `BACKEND`.
//
// Conventions: instants are i64 microseconds (UTC), ids are `Uuid` (BLOB on SQLite, uuid on
// PostgreSQL), enums are their `as_str()` text, JSON goes through `sqlx::types::Json`. Every
// statement over tenant data carries `workspace_id = $n` (invariant I3).

use crate::records::{
    ApiToken, Invitation, Member, OutboxEmail, Page, PageRequest, PostFilter, Session, SignUp, TokenHash,
    TokenPurpose, User, UserToken, Workspace,
};
use crate::{Backend, Result, StorageError};
use jiff::{Timestamp, civil};
use nanopost_domain::account::Email;
use nanopost_domain::approval::{Approval, ApprovalId, Channel, ContentDigest};
use nanopost_domain::brand::{Brand, BrandProfile};
use nanopost_domain::ids::{ApiTokenId, BrandId, InvitationId, PostId, UserId, WorkspaceId};
use nanopost_domain::post::{Post, PostContent, PostState, Schedule};
use nanopost_domain::role::{Role, Scope};
use sqlx::Row as _;
use sqlx::types::Json;
use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;
use uuid::Uuid;

type DbRow = <Db as sqlx::Database>::Row;
type DbConn = <Db as sqlx::Database>::Connection;
type DbTx = sqlx::Transaction<'static, Db>;

/// How long `is_ready` waits for an answer before it says no.
const READY_TIMEOUT: Duration = Duration::from_secs(5);
/// `api_token_by_hash` records a use at most this often per token, so that a burst of API
/// calls does not turn every read into a write.
const TOKEN_USE_GRANULARITY_MICROS: i64 = 60 * 1_000_000;

/// What a repository holds (see [`Repo`]).
struct Opened<DB: sqlx::Database> {
    pool: sqlx::Pool<DB>,
    writer: sqlx::Pool<DB>,
    checkpoints: Option<std::sync::Arc<crate::wal_checkpoints::Checkpoints>>,
    job_thread: Option<std::sync::Arc<crate::sqlite_job_thread::JobThread>>,
}

/// Opens the pools with the settings each backend needs on every connection.
trait Open: sqlx::Database {
    async fn open(url: &str) -> Result<Opened<Self>>;
}

impl Open for sqlx::Sqlite {
    async fn open(url: &str) -> Result<Opened<Self>> {
        use crate::wal_checkpoints::{WAL_SIZE_LIMIT_BYTES, WRITER_AUTOCHECKPOINT_PAGES};
        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
        // Set through the options, so that every pooled connection gets them (a PRAGMA run as
        // a query would reach one connection only).
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
            // Deleted rows (disconnected tokens, purged accounts) are overwritten with zeros
            // rather than left readable in free pages.
            .pragma("secure_delete", "ON")
            .pragma("journal_size_limit", WAL_SIZE_LIMIT_BYTES.to_string());
        // Each connection to `:memory:` is its own database: keep exactly one, forever, for
        // reading and writing alike.
        if url.contains(":memory:") || url.contains("mode=memory") {
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .test_before_acquire(false)
                .connect_with(options)
                .await?;
            return Ok(Opened { pool: pool.clone(), writer: pool, checkpoints: None, job_thread: None });
        }
        // A local file cannot drop a connection under us: skip the per-acquire ping (a round
        // trip to the connection's worker thread, as dear as a small statement).
        let pool = SqlitePoolOptions::new().max_connections(8).test_before_acquire(false).connect_with(options.clone());
        // One connection for every write transaction. SQLite has one writer at a time anyway,
        // and a connection whose cache another connection's commit made stale throws its page
        // cache away at its next transaction: with writes spread over the pool, every claim
        // and completion re-read its pages from the file.
        // Its WAL checkpoints are taken by a background task (see wal_checkpoints.rs).
        let file = options.get_filename().to_string_lossy().into_owned();
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .test_before_acquire(false)
            .connect_with(options.pragma("wal_autocheckpoint", WRITER_AUTOCHECKPOINT_PAGES.to_string()));
        let (pool, writer) = (pool.await?, writer.await?);
        let checkpoints = crate::wal_checkpoints::spawn(pool.clone());
        // Opened after the pools, which created the file if it was missing.
        let job_thread = crate::sqlite_job_thread::JobThread::start(&file, crate::job_records::sqlite_write_lock(&file))?;
        Ok(Opened { pool, writer, checkpoints: Some(checkpoints), job_thread: Some(job_thread) })
    }
}

impl Open for sqlx::Postgres {
    async fn open(url: &str) -> Result<Opened<Self>> {
        use sqlx::Connection;
        use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
        let options = PgConnectOptions::from_str(url)?;
        // One direct connection first: an unreachable or misconfigured server then fails at
        // once with its real reason, instead of a pool timeout ten seconds later.
        PgConnection::connect_with(&options).await?.close().await?;
        // No ping before each acquire: it doubled the round trips of short statements (job
        // claims and completions). A connection the server dropped fails its next statement
        // and is discarded by the pool; callers already treat that as a transient error.
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(10))
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        // Writers run side by side on PostgreSQL: one pool for all.
        Ok(Opened { pool: pool.clone(), writer: pool, checkpoints: None, job_thread: None })
    }
}

/// The repository over one database. `Debug` shows the pools' sizes, never their URL.
#[derive(Clone, Debug)]
pub struct Repo {
    pool: sqlx::Pool<Db>,
    /// Where write transactions run: on SQLite one connection of its own (its page cache
    /// stays warm), on PostgreSQL the same pool.
    writer: sqlx::Pool<Db>,
    /// SQLite's checkpointing task, stopped with the last clone.
    _checkpoints: Option<std::sync::Arc<crate::wal_checkpoints::Checkpoints>>,
    /// SQLite's thread for single-job claims and completions (sqlite_job_thread.rs).
    job_thread: Option<std::sync::Arc<crate::sqlite_job_thread::JobThread>>,
}

// ---------------------------------------------------------------------------------------------
// Column lists, shared by every SELECT/RETURNING of a table and its row mapper.

macro_rules! user_cols {
    () => {
        "id, email, display_name, password_hash, email_verified_at, age_confirmed_at, created_at"
    };
}
macro_rules! session_cols {
    () => {
        "hash, user_id, created_at, expires_at"
    };
}
macro_rules! outbox_cols {
    () => {
        "id, recipient, kind, subject, body, created_at"
    };
}
macro_rules! invitation_cols {
    () => {
        "id, workspace_id, email, role, hash, invited_by, created_at, expires_at"
    };
}
macro_rules! api_token_cols {
    () => {
        "id, workspace_id, name, scopes, hash, created_by, created_at, expires_at, last_used_at, revoked_at"
    };
}
macro_rules! brand_cols {
    () => {
        "id, workspace_id, profile, created_at, updated_at"
    };
}
macro_rules! post_cols {
    () => {
        "id, workspace_id, brand_id, state, content, schedule_local, schedule_tz, approval_id, \
         rejection_reason, version, created_by, created_at, updated_at"
    };
}
macro_rules! approval_cols {
    () => {
        "id, workspace_id, post_id, approver, approver_role, channel, digest, at"
    };
}

impl Repo {
    /// Opens the pool for this module's backend. Does not migrate.
    pub(crate) async fn connect(url: &str) -> Result<Self> {
        let Opened { pool, writer, checkpoints, job_thread } = <Db as Open>::open(url).await?;
        Ok(Self { pool, writer, _checkpoints: checkpoints, job_thread })
    }

    /// Starts a transaction that writes. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`), so it waits under `busy_timeout` instead of failing with
    /// SQLITE_BUSY when a deferred transaction would upgrade from reading to writing.
    async fn begin_write(&self) -> Result<DbTx> {
        let tx = match BACKEND {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.writer.begin().await?,
        };
        Ok(tx)
    }

    /// Serialises membership changes of one workspace inside a write transaction. SQLite
    /// already holds the database's write lock; PostgreSQL locks the workspace row, so two
    /// concurrent demotions cannot each see "another owner is left". NotFound if no workspace.
    async fn lock_workspace(conn: &mut DbConn, ws: WorkspaceId) -> Result<()> {
        if BACKEND == Backend::Postgres {
            sqlx::query("SELECT 1 FROM workspaces WHERE id = $1 FOR NO KEY UPDATE")
                .bind(ws.as_uuid())
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(StorageError::NotFound)?;
        }
        Ok(())
    }

    pub async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    pub async fn is_ready(&self) -> bool {
        if self.pool.is_closed() {
            return false;
        }
        tokio::time::timeout(READY_TIMEOUT, self.check_ready()).await.unwrap_or(false)
    }

    async fn check_ready(&self) -> bool {
        if sqlx::query("SELECT 1").execute(&self.pool).await.is_err() {
            return false;
        }
        // A fresh database has no migrations table: the query fails and we are not ready.
        let Ok(rows) = sqlx::query("SELECT version, checksum FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_all(&self.pool)
            .await
        else {
            return false;
        };
        let mut applied = Vec::with_capacity(rows.len());
        for row in &rows {
            match (row.try_get::<i64, _>("version"), row.try_get::<Vec<u8>, _>("checksum")) {
                (Ok(v), Ok(c)) => applied.push((v, c)),
                _ => return false,
            }
        }
        MIGRATOR
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .all(|m| applied.iter().any(|(v, c)| *v == m.version && c.as_slice() == &*m.checksum))
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }

    // -----------------------------------------------------------------------------------------
    // Accounts.

    pub async fn sign_up(&self, s: &SignUp) -> Result<()> {
        let mut tx = self.begin_write().await?;
        insert_user(&mut tx, &s.user).await?;
        insert_workspace(&mut tx, &s.workspace).await?;
        insert_membership(&mut tx, s.workspace.id, s.user.id, Role::Owner, s.workspace.created_at).await?;
        insert_user_token(&mut tx, &s.verify_token).await?;
        insert_email(&mut tx, &s.verify_email).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn create_user(&self, user: &User) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        insert_user(&mut conn, user).await
    }

    pub async fn user_by_email(&self, email: &Email) -> Result<Option<User>> {
        sqlx::query(concat!("SELECT ", user_cols!(), " FROM users WHERE email = $1"))
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await?
            .map(|r| user_from(&r))
            .transpose()
    }

    pub async fn user_by_id(&self, id: UserId) -> Result<Option<User>> {
        sqlx::query(concat!("SELECT ", user_cols!(), " FROM users WHERE id = $1"))
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await?
            .map(|r| user_from(&r))
            .transpose()
    }

    pub async fn set_email_verified(&self, id: UserId, at: Timestamp) -> Result<()> {
        let done = sqlx::query("UPDATE users SET email_verified_at = $2 WHERE id = $1")
            .bind(id.as_uuid())
            .bind(micros(at))
            .execute(&self.pool)
            .await?;
        found(done.rows_affected())
    }

    pub async fn set_password_hash(&self, id: UserId, hash: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(id.as_uuid())
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        found(done.rows_affected())?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id.as_uuid()).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn create_user_token(&self, token: &UserToken, mail: Option<&OutboxEmail>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        insert_user_token(&mut tx, token).await?;
        if let Some(mail) = mail {
            insert_email(&mut tx, mail).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn consume_user_token(
        &self,
        purpose: TokenPurpose,
        hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<UserId>> {
        let user: Option<Uuid> = sqlx::query_scalar(
            "UPDATE user_tokens SET used_at = $3 \
             WHERE hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 \
             RETURNING user_id",
        )
        .bind(hash.0.as_slice())
        .bind(purpose.as_str())
        .bind(micros(now))
        .fetch_optional(&self.pool)
        .await?;
        Ok(user.map(UserId::from_uuid))
    }

    pub async fn create_session(&self, session: &Session) -> Result<()> {
        sqlx::query("INSERT INTO sessions (hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(session.hash.0.as_slice())
            .bind(session.user_id.as_uuid())
            .bind(micros(session.created_at))
            .bind(micros(session.expires_at))
            .execute(&self.pool)
            .await
            .map_err(|e| write_error(e, "session"))?;
        Ok(())
    }

    pub async fn session(&self, hash: &TokenHash, now: Timestamp) -> Result<Option<Session>> {
        sqlx::query(concat!("SELECT ", session_cols!(), " FROM sessions WHERE hash = $1 AND expires_at > $2"))
            .bind(hash.0.as_slice())
            .bind(micros(now))
            .fetch_optional(&self.pool)
            .await?
            .map(|r| session_from(&r))
            .transpose()
    }

    /// Idempotent: deleting a session that is already gone is not an error (logout twice).
    pub async fn delete_session(&self, hash: &TokenHash) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE hash = $1").bind(hash.0.as_slice()).execute(&self.pool).await?;
        Ok(())
    }

    pub async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64> {
        let done =
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(micros(now)).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    pub async fn enqueue_email(&self, mail: &OutboxEmail) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        insert_email(&mut conn, mail).await
    }

    pub async fn outbox(&self, limit: u32) -> Result<Vec<OutboxEmail>> {
        sqlx::query(concat!("SELECT ", outbox_cols!(), " FROM email_outbox ORDER BY created_at DESC, id DESC LIMIT $1"))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(outbox_from)
            .collect()
    }

    // -----------------------------------------------------------------------------------------
    // Workspaces and members.

    pub async fn create_workspace(&self, ws: &Workspace, owner: UserId) -> Result<()> {
        let mut tx = self.begin_write().await?;
        insert_workspace(&mut tx, ws).await?;
        insert_membership(&mut tx, ws.id, owner, Role::Owner, ws.created_at).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn workspace(&self, ws: WorkspaceId) -> Result<Option<Workspace>> {
        sqlx::query("SELECT id, name, created_at FROM workspaces WHERE id = $1")
            .bind(ws.as_uuid())
            .fetch_optional(&self.pool)
            .await?
            .map(|r| workspace_from(&r))
            .transpose()
    }

    /// Oldest workspace first.
    pub async fn workspaces_of(&self, user: UserId) -> Result<Vec<(Workspace, Role)>> {
        sqlx::query(
            "SELECT w.id, w.name, w.created_at, m.role FROM memberships m \
             JOIN workspaces w ON w.id = m.workspace_id \
             WHERE m.user_id = $1 ORDER BY w.created_at, w.id",
        )
        .bind(user.as_uuid())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok((workspace_from(r)?, text_col(r, "role")?)))
        .collect()
    }

    pub async fn role_of(&self, ws: WorkspaceId, user: UserId) -> Result<Option<Role>> {
        let role: Option<String> =
            sqlx::query_scalar("SELECT role FROM memberships WHERE workspace_id = $1 AND user_id = $2")
                .bind(ws.as_uuid())
                .bind(user.as_uuid())
                .fetch_optional(&self.pool)
                .await?;
        role.map(|r| parse_text("role", &r)).transpose()
    }

    /// Earliest member first.
    pub async fn members(&self, ws: WorkspaceId) -> Result<Vec<Member>> {
        sqlx::query(
            "SELECT m.workspace_id, m.user_id, u.email, u.display_name, m.role, m.joined_at \
             FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.workspace_id = $1 ORDER BY m.joined_at, u.email",
        )
        .bind(ws.as_uuid())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Member {
                workspace_id: WorkspaceId::from_uuid(r.try_get("workspace_id")?),
                user_id: UserId::from_uuid(r.try_get("user_id")?),
                email: email_col(r, "email")?,
                display_name: r.try_get("display_name")?,
                role: text_col(r, "role")?,
                joined_at: ts_col(r, "joined_at")?,
            })
        })
        .collect()
    }

    pub async fn set_role(&self, ws: WorkspaceId, user: UserId, role: Role) -> Result<()> {
        let mut tx = self.begin_write().await?;
        Self::lock_workspace(&mut tx, ws).await?;
        let current = member_role(&mut tx, ws, user).await?.ok_or(StorageError::NotFound)?;
        if current == role {
            return Ok(());
        }
        if current == Role::Owner {
            ensure_another_owner(&mut tx, ws).await?;
        }
        sqlx::query("UPDATE memberships SET role = $3 WHERE workspace_id = $1 AND user_id = $2")
            .bind(ws.as_uuid())
            .bind(user.as_uuid())
            .bind(role.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn remove_member(&self, ws: WorkspaceId, user: UserId) -> Result<()> {
        let mut tx = self.begin_write().await?;
        Self::lock_workspace(&mut tx, ws).await?;
        let current = member_role(&mut tx, ws, user).await?.ok_or(StorageError::NotFound)?;
        if current == Role::Owner {
            ensure_another_owner(&mut tx, ws).await?;
        }
        sqlx::query("DELETE FROM memberships WHERE workspace_id = $1 AND user_id = $2")
            .bind(ws.as_uuid())
            .bind(user.as_uuid())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn create_invitation(&self, inv: &Invitation, mail: &OutboxEmail) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO invitations (id, workspace_id, email, role, hash, invited_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(inv.id.as_uuid())
        .bind(inv.workspace_id.as_uuid())
        .bind(inv.email.as_str())
        .bind(inv.role.as_str())
        .bind(inv.hash.0.as_slice())
        .bind(inv.invited_by.as_uuid())
        .bind(micros(inv.created_at))
        .bind(micros(inv.expires_at))
        .execute(&mut *tx)
        .await
        .map_err(|e| write_error(e, "invitation"))?;
        insert_email(&mut tx, mail).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Oldest first.
    pub async fn invitations(&self, ws: WorkspaceId, now: Timestamp) -> Result<Vec<Invitation>> {
        sqlx::query(concat!(
            "SELECT ",
            invitation_cols!(),
            " FROM invitations WHERE workspace_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL \
             AND expires_at > $2 ORDER BY created_at, id"
        ))
        .bind(ws.as_uuid())
        .bind(micros(now))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(invitation_from)
        .collect()
    }

    /// Revokes an invitation that is neither accepted nor already revoked; NotFound otherwise.
    pub async fn revoke_invitation(&self, ws: WorkspaceId, id: InvitationId, now: Timestamp) -> Result<()> {
        let done = sqlx::query(
            "UPDATE invitations SET revoked_at = $3 \
             WHERE id = $1 AND workspace_id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
        )
        .bind(id.as_uuid())
        .bind(ws.as_uuid())
        .bind(micros(now))
        .execute(&self.pool)
        .await?;
        found(done.rows_affected())
    }

    /// Returns the workspace and the role the user holds there afterwards: the invited role, or
    /// the role they already had if they were a member before (an invitation never changes an
    /// existing membership).
    pub async fn accept_invitation(&self, hash: &TokenHash, user: &User, now: Timestamp) -> Result<(WorkspaceId, Role)> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE invitations SET accepted_at = $3 \
             WHERE hash = $1 AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $3 \
             RETURNING workspace_id, role",
        )
        .bind(hash.0.as_slice())
        .bind(user.email.as_str())
        .bind(micros(now))
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StorageError::NotFound)?;
        let ws = WorkspaceId::from_uuid(row.try_get("workspace_id")?);
        let invited: Role = text_col(&row, "role")?;
        sqlx::query(
            "INSERT INTO memberships (workspace_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (workspace_id, user_id) DO NOTHING",
        )
        .bind(ws.as_uuid())
        .bind(user.id.as_uuid())
        .bind(invited.as_str())
        .bind(micros(now))
        .execute(&mut *tx)
        .await
        .map_err(|e| write_error(e, "membership"))?;
        let role = member_role(&mut tx, ws, user.id).await?.ok_or(StorageError::NotFound)?;
        tx.commit().await?;
        Ok((ws, role))
    }

    // -----------------------------------------------------------------------------------------
    // API tokens.

    pub async fn create_api_token(&self, token: &ApiToken) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_tokens (id, workspace_id, name, scopes, hash, created_by, created_at, expires_at, \
             last_used_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(token.id.as_uuid())
        .bind(token.workspace_id.as_uuid())
        .bind(token.name.as_str())
        .bind(scopes_text(&token.scopes))
        .bind(token.hash.0.as_slice())
        .bind(token.created_by.as_uuid())
        .bind(micros(token.created_at))
        .bind(token.expires_at.map(micros))
        .bind(token.last_used_at.map(micros))
        .bind(token.revoked_at.map(micros))
        .execute(&self.pool)
        .await
        .map_err(|e| write_error(e, "api token"))?;
        Ok(())
    }

    /// A live token, with its use recorded (at most once a minute, see
    /// `TOKEN_USE_GRANULARITY_MICROS`; the returned `last_used_at` is what is stored).
    pub async fn api_token_by_hash(&self, hash: &TokenHash, now: Timestamp) -> Result<Option<ApiToken>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            api_token_cols!(),
            " FROM api_tokens WHERE hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)"
        ))
        .bind(hash.0.as_slice())
        .bind(micros(now))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut token = api_token_from(&row)?;
        let stale = token.last_used_at.is_none_or(|t| micros(now) - micros(t) >= TOKEN_USE_GRANULARITY_MICROS);
        if stale {
            // Scoped by id and workspace; a token revoked meanwhile is simply not touched.
            sqlx::query(
                "UPDATE api_tokens SET last_used_at = $3 WHERE id = $1 AND workspace_id = $2 AND revoked_at IS NULL",
            )
            .bind(token.id.as_uuid())
            .bind(token.workspace_id.as_uuid())
            .bind(micros(now))
            .execute(&self.pool)
            .await?;
            token.last_used_at = Some(now);
        }
        Ok(Some(token))
    }

    /// Every token of the workspace, revoked and expired ones included, newest first.
    pub async fn api_tokens(&self, ws: WorkspaceId) -> Result<Vec<ApiToken>> {
        sqlx::query(concat!("SELECT ", api_token_cols!(), " FROM api_tokens WHERE workspace_id = $1 ORDER BY id DESC"))
            .bind(ws.as_uuid())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(api_token_from)
            .collect()
    }

    /// Idempotent within the workspace (revoking twice keeps the first time); NotFound outside it.
    pub async fn revoke_api_token(&self, ws: WorkspaceId, id: ApiTokenId, now: Timestamp) -> Result<()> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $3) WHERE id = $1 AND workspace_id = $2",
        )
        .bind(id.as_uuid())
        .bind(ws.as_uuid())
        .bind(micros(now))
        .execute(&self.pool)
        .await?;
        found(done.rows_affected())
    }

    // -----------------------------------------------------------------------------------------
    // Brands.

    pub async fn insert_brand(&self, brand: &Brand) -> Result<()> {
        sqlx::query(
            "INSERT INTO brands (id, workspace_id, name, profile, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(brand.id.as_uuid())
        .bind(brand.workspace_id.as_uuid())
        .bind(brand.profile.name.as_str())
        .bind(Json(&brand.profile))
        .bind(micros(brand.created_at))
        .bind(micros(brand.updated_at))
        .execute(&self.pool)
        .await
        .map_err(|e| write_error(e, "brand"))?;
        Ok(())
    }

    pub async fn brand(&self, ws: WorkspaceId, id: BrandId) -> Result<Option<Brand>> {
        sqlx::query(concat!("SELECT ", brand_cols!(), " FROM brands WHERE id = $1 AND workspace_id = $2"))
            .bind(id.as_uuid())
            .bind(ws.as_uuid())
            .fetch_optional(&self.pool)
            .await?
            .map(|r| brand_from(&r))
            .transpose()
    }

    pub async fn brands(&self, ws: WorkspaceId, page: PageRequest) -> Result<Page<Brand>> {
        let limit = page_limit(page);
        let rows = sqlx::query(concat!(
            "SELECT ",
            brand_cols!(),
            " FROM brands WHERE workspace_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
        ))
        .bind(ws.as_uuid())
        .bind(page.after)
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(brand_from).collect::<Result<Vec<_>>>()?;
        Ok(paginate(items, limit, |b| b.id.as_uuid()))
    }

    pub async fn update_brand(
        &self,
        ws: WorkspaceId,
        id: BrandId,
        profile: &BrandProfile,
        now: Timestamp,
    ) -> Result<Brand> {
        let row = sqlx::query(concat!(
            "UPDATE brands SET name = $3, profile = $4, updated_at = $5 WHERE id = $1 AND workspace_id = $2 RETURNING ",
            brand_cols!()
        ))
        .bind(id.as_uuid())
        .bind(ws.as_uuid())
        .bind(profile.name.as_str())
        .bind(Json(profile))
        .bind(micros(now))
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StorageError::NotFound)?;
        brand_from(&row)
    }

    /// Deletes the brand and, with it, its posts, their approvals and its media rows (renditions
    /// included). Returns the storage keys of those media, read in the same transaction, so the
    /// caller can delete the objects.
    pub async fn delete_brand(&self, ws: WorkspaceId, id: BrandId) -> Result<Vec<String>> {
        let mut tx = self.begin_write().await?;
        let keys: Vec<String> =
            sqlx::query_scalar("SELECT storage_key FROM media WHERE workspace_id = $1 AND brand_id = $2 ORDER BY id")
                .bind(ws.as_uuid())
                .bind(id.as_uuid())
                .fetch_all(&mut *tx)
                .await?;
        let done = sqlx::query("DELETE FROM brands WHERE id = $1 AND workspace_id = $2")
            .bind(id.as_uuid())
            .bind(ws.as_uuid())
            .execute(&mut *tx)
            .await?;
        found(done.rows_affected())?;
        tx.commit().await?;
        Ok(keys)
    }

    // -----------------------------------------------------------------------------------------
    // Posts and approvals.

    /// NotFound when the brand is not in the post's workspace.
    pub async fn insert_post(&self, post: &Post) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        insert_post(&mut conn, post).await
    }

    pub async fn post(&self, ws: WorkspaceId, id: PostId) -> Result<Option<Post>> {
        let mut conn = self.pool.acquire().await?;
        fetch_post(&mut conn, ws, id).await
    }

    pub async fn posts(&self, ws: WorkspaceId, filter: &PostFilter, page: PageRequest) -> Result<Page<Post>> {
        let limit = page_limit(page);
        let rows = sqlx::query(concat!(
            "SELECT ",
            post_cols!(),
            " FROM posts WHERE workspace_id = $1 AND ($2 IS NULL OR id < $2) \
             AND ($3 IS NULL OR brand_id = $3) AND ($4 IS NULL OR state = $4) \
             ORDER BY id DESC LIMIT $5"
        ))
        .bind(ws.as_uuid())
        .bind(page.after)
        .bind(filter.brand_id.map(|b| b.as_uuid()))
        .bind(filter.state.map(PostState::as_str))
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(post_from).collect::<Result<Vec<_>>>()?;
        Ok(paginate(items, limit, |p| p.id.as_uuid()))
    }

    pub async fn save_post(&self, post: &Post) -> Result<Post> {
        let mut conn = self.pool.acquire().await?;
        write_post(&mut conn, post).await
    }

    /// The approval must be for this post in this workspace (Conflict otherwise).
    pub async fn save_approved_post(&self, post: &Post, approval: &Approval) -> Result<Post> {
        if approval.post_id != post.id || approval.workspace_id != post.workspace_id {
            return Err(StorageError::Conflict("approval is for another post"));
        }
        let mut tx = self.begin_write().await?;
        let saved = write_post(&mut tx, post).await?;
        insert_approval(&mut tx, approval).await?;
        tx.commit().await?;
        Ok(saved)
    }

    pub async fn approval(&self, ws: WorkspaceId, id: ApprovalId) -> Result<Option<Approval>> {
        sqlx::query(concat!("SELECT ", approval_cols!(), " FROM approvals WHERE id = $1 AND workspace_id = $2"))
            .bind(id.as_uuid())
            .bind(ws.as_uuid())
            .fetch_optional(&self.pool)
            .await?
            .map(|r| approval_from(&r))
            .transpose()
    }

    pub async fn approvals_of(&self, ws: WorkspaceId, post: PostId) -> Result<Vec<Approval>> {
        sqlx::query(concat!(
            "SELECT ",
            approval_cols!(),
            " FROM approvals WHERE workspace_id = $1 AND post_id = $2 ORDER BY at, id"
        ))
        .bind(ws.as_uuid())
        .bind(post.as_uuid())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(approval_from)
        .collect()
    }

    /// Deletes the post and its approvals.
    pub async fn delete_post(&self, ws: WorkspaceId, id: PostId) -> Result<()> {
        let done = sqlx::query("DELETE FROM posts WHERE id = $1 AND workspace_id = $2")
            .bind(id.as_uuid())
            .bind(ws.as_uuid())
            .execute(&self.pool)
            .await?;
        found(done.rows_affected())
    }
}

// ---------------------------------------------------------------------------------------------
// Statements shared by several methods. Each takes a connection, so it runs alone or inside the
// caller's transaction.

/// A new post (a draft written by hand, or by a generation inside its transaction).
async fn insert_post(conn: &mut DbConn, post: &Post) -> Result<()> {
    let (local, tz, due) = schedule_cols(post.schedule.as_ref());
    sqlx::query(
        "INSERT INTO posts (id, workspace_id, brand_id, state, content, schedule_local, schedule_tz, due_at, \
         approval_id, rejection_reason, version, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(post.id.as_uuid())
    .bind(post.workspace_id.as_uuid())
    .bind(post.brand_id.as_uuid())
    .bind(post.state.as_str())
    .bind(Json(&post.content))
    .bind(local)
    .bind(tz)
    .bind(due)
    .bind(post.approval_id.map(|a| a.as_uuid()))
    .bind(post.rejection_reason.as_deref())
    .bind(post.version)
    .bind(post.created_by.as_uuid())
    .bind(micros(post.created_at))
    .bind(micros(post.updated_at))
    .execute(&mut *conn)
    .await
    .map_err(|e| write_error(e, "post"))?;
    Ok(())
}

async fn insert_user(conn: &mut DbConn, user: &User) -> Result<()> {
    sqlx::query(
        "INSERT INTO users (id, email, display_name, password_hash, email_verified_at, age_confirmed_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(user.id.as_uuid())
    .bind(user.email.as_str())
    .bind(user.display_name.as_str())
    .bind(user.password_hash.as_str())
    .bind(user.email_verified_at.map(micros))
    .bind(micros(user.age_confirmed_at))
    .bind(micros(user.created_at))
    .execute(&mut *conn)
    .await
    .map_err(|e| write_error(e, "email"))?;
    Ok(())
}

async fn insert_workspace(conn: &mut DbConn, ws: &Workspace) -> Result<()> {
    sqlx::query("INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(ws.id.as_uuid())
        .bind(ws.name.as_str())
        .bind(micros(ws.created_at))
        .execute(&mut *conn)
        .await
        .map_err(|e| write_error(e, "workspace"))?;
    Ok(())
}

async fn insert_membership(conn: &mut DbConn, ws: WorkspaceId, user: UserId, role: Role, at: Timestamp) -> Result<()> {
    sqlx::query("INSERT INTO memberships (workspace_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4)")
        .bind(ws.as_uuid())
        .bind(user.as_uuid())
        .bind(role.as_str())
        .bind(micros(at))
        .execute(&mut *conn)
        .await
        .map_err(|e| write_error(e, "membership"))?;
    Ok(())
}

async fn insert_user_token(conn: &mut DbConn, token: &UserToken) -> Result<()> {
    sqlx::query(
        "INSERT INTO user_tokens (hash, user_id, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token.hash.0.as_slice())
    .bind(token.user_id.as_uuid())
    .bind(token.purpose.as_str())
    .bind(micros(token.created_at))
    .bind(micros(token.expires_at))
    .execute(&mut *conn)
    .await
    .map_err(|e| write_error(e, "token"))?;
    Ok(())
}

async fn insert_email(conn: &mut DbConn, mail: &OutboxEmail) -> Result<()> {
    sqlx::query(
        "INSERT INTO email_outbox (id, recipient, kind, subject, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(mail.id)
    .bind(mail.to.as_str())
    .bind(mail.kind.as_str())
    .bind(mail.subject.as_str())
    .bind(mail.body.as_str())
    .bind(micros(mail.created_at))
    .execute(&mut *conn)
    .await
    .map_err(|e| write_error(e, "email outbox"))?;
    Ok(())
}

async fn member_role(conn: &mut DbConn, ws: WorkspaceId, user: UserId) -> Result<Option<Role>> {
    let role: Option<String> = sqlx::query_scalar("SELECT role FROM memberships WHERE workspace_id = $1 AND user_id = $2")
        .bind(ws.as_uuid())
        .bind(user.as_uuid())
        .fetch_optional(&mut *conn)
        .await?;
    role.map(|r| parse_text("role", &r)).transpose()
}

/// Conflict unless the workspace has at least two owners (so one may go).
async fn ensure_another_owner(conn: &mut DbConn, ws: WorkspaceId) -> Result<()> {
    let owners: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE workspace_id = $1 AND role = $2")
        .bind(ws.as_uuid())
        .bind(Role::Owner.as_str())
        .fetch_one(&mut *conn)
        .await?;
    if owners < 2 { Err(StorageError::Conflict("last owner")) } else { Ok(()) }
}

async fn fetch_post(conn: &mut DbConn, ws: WorkspaceId, id: PostId) -> Result<Option<Post>> {
    sqlx::query(concat!("SELECT ", post_cols!(), " FROM posts WHERE id = $1 AND workspace_id = $2"))
        .bind(id.as_uuid())
        .bind(ws.as_uuid())
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| post_from(&r))
        .transpose()
}

/// Records who approved which content, when and through which channel.
async fn insert_approval(conn: &mut DbConn, approval: &Approval) -> Result<()> {
    sqlx::query(
        "INSERT INTO approvals (id, workspace_id, post_id, approver, approver_role, channel, digest, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(approval.id.as_uuid())
    .bind(approval.workspace_id.as_uuid())
    .bind(approval.post_id.as_uuid())
    .bind(approval.approver.as_uuid())
    .bind(approval.approver_role.as_str())
    .bind(approval.channel.as_str())
    .bind(approval.digest.as_str())
    .bind(micros(approval.at))
    .execute(&mut *conn)
    .await
    .map_err(|e| write_error(e, "approval"))?;
    Ok(())
}

/// Optimistic write: succeeds only if the stored version is still `post.version`. The brand,
/// author and creation time never change after insert.
async fn write_post(conn: &mut DbConn, post: &Post) -> Result<Post> {
    let (local, tz, due) = schedule_cols(post.schedule.as_ref());
    let done = sqlx::query(
        "UPDATE posts SET state = $3, content = $4, schedule_local = $5, schedule_tz = $6, due_at = $7, \
         approval_id = $8, rejection_reason = $9, updated_at = $10, version = version + 1 \
         WHERE id = $1 AND workspace_id = $2 AND version = $11",
    )
    .bind(post.id.as_uuid())
    .bind(post.workspace_id.as_uuid())
    .bind(post.state.as_str())
    .bind(Json(&post.content))
    .bind(local)
    .bind(tz)
    .bind(due)
    .bind(post.approval_id.map(|a| a.as_uuid()))
    .bind(post.rejection_reason.as_deref())
    .bind(micros(post.updated_at))
    .bind(post.version)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        let exists = sqlx::query("SELECT 1 FROM posts WHERE id = $1 AND workspace_id = $2")
            .bind(post.id.as_uuid())
            .bind(post.workspace_id.as_uuid())
            .fetch_optional(&mut *conn)
            .await?
            .is_some();
        return Err(if exists { StorageError::Stale } else { StorageError::NotFound });
    }
    Ok(Post { version: post.version + 1, ..post.clone() })
}

// ---------------------------------------------------------------------------------------------
// Conversions.

fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

fn timestamp(us: i64) -> Result<Timestamp> {
    Timestamp::from_microsecond(us).map_err(|e| StorageError::Corrupt(format!("instant {us}: {e}")))
}

fn ts_col(row: &DbRow, col: &str) -> Result<Timestamp> {
    timestamp(row.try_get::<i64, _>(col)?)
}

fn ts_opt_col(row: &DbRow, col: &str) -> Result<Option<Timestamp>> {
    row.try_get::<Option<i64>, _>(col)?.map(timestamp).transpose()
}

fn hash_col(row: &DbRow, col: &str) -> Result<TokenHash> {
    let bytes: Vec<u8> = row.try_get(col)?;
    let arr: [u8; 32] =
        bytes.try_into().map_err(|b: Vec<u8>| StorageError::Corrupt(format!("{col}: {} bytes, not 32", b.len())))?;
    Ok(TokenHash(arr))
}

fn email_col(row: &DbRow, col: &str) -> Result<Email> {
    let s: String = row.try_get(col)?;
    Email::parse(&s).map_err(|e| StorageError::Corrupt(format!("{col}: {e}")))
}

fn parse_text<T>(what: &str, s: &str) -> Result<T>
where
    T: FromStr,
    T::Err: Display,
{
    s.parse().map_err(|e| StorageError::Corrupt(format!("{what} {s:?}: {e}")))
}

/// A text column parsed with `FromStr` (roles, states, channels, dates).
fn text_col<T>(row: &DbRow, col: &str) -> Result<T>
where
    T: FromStr,
    T::Err: Display,
{
    let s: String = row.try_get(col)?;
    parse_text(col, &s)
}

fn scopes_text(scopes: &[Scope]) -> String {
    scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
}

fn schedule_cols(s: Option<&Schedule>) -> (Option<String>, Option<String>, Option<i64>) {
    match s {
        Some(s) => (Some(s.local.to_string()), Some(s.timezone.clone()), Some(micros(s.instant()))),
        None => (None, None, None),
    }
}

/// 0 rows touched means the row is not there (or not in this workspace).
fn found(rows: u64) -> Result<()> {
    if rows == 0 { Err(StorageError::NotFound) } else { Ok(()) }
}

/// A refused write: a duplicate is a Conflict naming `what`; a missing parent row (a user,
/// a workspace, a brand of this workspace) is NotFound.
fn write_error(e: sqlx::Error, what: &'static str) -> StorageError {
    match e.as_database_error() {
        Some(d) if d.is_unique_violation() => StorageError::Conflict(what),
        Some(d) if d.is_foreign_key_violation() => StorageError::NotFound,
        _ => StorageError::Database(e),
    }
}

fn page_limit(page: PageRequest) -> i64 {
    i64::from(page.limit.clamp(1, PageRequest::MAX_LIMIT))
}

/// `items` holds up to `limit + 1` rows; the extra one only says there is a next page.
fn paginate<T>(mut items: Vec<T>, limit: i64, id: impl Fn(&T) -> Uuid) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(id)
    } else {
        None
    };
    Page { items, next }
}

fn user_from(r: &DbRow) -> Result<User> {
    Ok(User {
        id: UserId::from_uuid(r.try_get("id")?),
        email: email_col(r, "email")?,
        display_name: r.try_get("display_name")?,
        password_hash: r.try_get("password_hash")?,
        email_verified_at: ts_opt_col(r, "email_verified_at")?,
        age_confirmed_at: ts_col(r, "age_confirmed_at")?,
        created_at: ts_col(r, "created_at")?,
    })
}

fn session_from(r: &DbRow) -> Result<Session> {
    Ok(Session {
        hash: hash_col(r, "hash")?,
        user_id: UserId::from_uuid(r.try_get("user_id")?),
        created_at: ts_col(r, "created_at")?,
        expires_at: ts_col(r, "expires_at")?,
    })
}

fn outbox_from(r: &DbRow) -> Result<OutboxEmail> {
    Ok(OutboxEmail {
        id: r.try_get("id")?,
        to: email_col(r, "recipient")?,
        kind: r.try_get("kind")?,
        subject: r.try_get("subject")?,
        body: r.try_get("body")?,
        created_at: ts_col(r, "created_at")?,
    })
}

fn workspace_from(r: &DbRow) -> Result<Workspace> {
    Ok(Workspace {
        id: WorkspaceId::from_uuid(r.try_get("id")?),
        name: r.try_get("name")?,
        created_at: ts_col(r, "created_at")?,
    })
}

fn invitation_from(r: &DbRow) -> Result<Invitation> {
    Ok(Invitation {
        id: InvitationId::from_uuid(r.try_get("id")?),
        workspace_id: WorkspaceId::from_uuid(r.try_get("workspace_id")?),
        email: email_col(r, "email")?,
        role: text_col(r, "role")?,
        hash: hash_col(r, "hash")?,
        invited_by: UserId::from_uuid(r.try_get("invited_by")?),
        created_at: ts_col(r, "created_at")?,
        expires_at: ts_col(r, "expires_at")?,
    })
}

fn api_token_from(r: &DbRow) -> Result<ApiToken> {
    let scopes: String = r.try_get("scopes")?;
    Ok(ApiToken {
        id: ApiTokenId::from_uuid(r.try_get("id")?),
        workspace_id: WorkspaceId::from_uuid(r.try_get("workspace_id")?),
        name: r.try_get("name")?,
        scopes: scopes.split(',').filter(|s| !s.is_empty()).map(|s| parse_text("scope", s)).collect::<Result<_>>()?,
        hash: hash_col(r, "hash")?,
        created_by: UserId::from_uuid(r.try_get("created_by")?),
        created_at: ts_col(r, "created_at")?,
        expires_at: ts_opt_col(r, "expires_at")?,
        last_used_at: ts_opt_col(r, "last_used_at")?,
        revoked_at: ts_opt_col(r, "revoked_at")?,
    })
}

fn brand_from(r: &DbRow) -> Result<Brand> {
    let Json(profile) = r.try_get::<Json<BrandProfile>, _>("profile")?;
    Ok(Brand {
        id: BrandId::from_uuid(r.try_get("id")?),
        workspace_id: WorkspaceId::from_uuid(r.try_get("workspace_id")?),
        profile,
        created_at: ts_col(r, "created_at")?,
        updated_at: ts_col(r, "updated_at")?,
    })
}

fn post_from(r: &DbRow) -> Result<Post> {
    let Json(content) = r.try_get::<Json<PostContent>, _>("content")?;
    let local: Option<String> = r.try_get("schedule_local")?;
    let timezone: Option<String> = r.try_get("schedule_tz")?;
    let schedule = match (local, timezone) {
        (Some(local), Some(timezone)) => {
            Some(Schedule { local: parse_text::<civil::DateTime>("schedule_local", &local)?, timezone })
        }
        (None, None) => None,
        _ => return Err(StorageError::Corrupt("post schedule has a time without a zone or the reverse".into())),
    };
    Ok(Post {
        id: PostId::from_uuid(r.try_get("id")?),
        workspace_id: WorkspaceId::from_uuid(r.try_get("workspace_id")?),
        brand_id: BrandId::from_uuid(r.try_get("brand_id")?),
        content,
        schedule,
        state: text_col(r, "state")?,
        approval_id: r.try_get::<Option<Uuid>, _>("approval_id")?.map(ApprovalId::from_uuid),
        rejection_reason: r.try_get("rejection_reason")?,
        version: r.try_get("version")?,
        created_by: UserId::from_uuid(r.try_get("created_by")?),
        created_at: ts_col(r, "created_at")?,
        updated_at: ts_col(r, "updated_at")?,
    })
}

fn approval_from(r: &DbRow) -> Result<Approval> {
    let digest: String = r.try_get("digest")?;
    Ok(Approval {
        id: ApprovalId::from_uuid(r.try_get("id")?),
        workspace_id: WorkspaceId::from_uuid(r.try_get("workspace_id")?),
        post_id: PostId::from_uuid(r.try_get("post_id")?),
        approver: UserId::from_uuid(r.try_get("approver")?),
        approver_role: text_col(r, "approver_role")?,
        channel: text_col::<Channel>(r, "channel")?,
        digest: ContentDigest::parse(&digest).map_err(|e| StorageError::Corrupt(format!("digest: {e}")))?,
        at: ts_col(r, "at")?,
    })
}
