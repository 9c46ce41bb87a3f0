// The privacy centre's storage, included right after `repo.rs` in both backend modules (so it
// shares their `Db`, `BACKEND` and helpers). Its own imports live in a child module so they
// never collide with those of `repo.rs`.
//
// The export and the breach report read the inventory (`crate::inventory`): which tables
// concern a person or a workspace, which columns are secret. A table added to the inventory is
// exported and reported without a change here.

mod privacy {
    use super::*;
    use crate::inventory::{self, DataClass, Kind, PersonLink};
    use crate::privacy_records::{
        AccountDeletion, AffectedPerson, AffectedWorkspace, AuditEntry, ConsentRecord, ERASED_USER, ExportInfo,
        Operator, PrivacyExport, RequestStatus, RetentionCutoffs, RetentionReport, RightsRequest, TableDump,
        WorkspaceDeletion,
    };
    use std::collections::{BTreeMap, BTreeSet};

    macro_rules! audit_cols {
        () => {
            "id, at, workspace_id, actor_id, subject_id, action, target, client_ip, user_agent"
        };
    }
    /// Entries about the installation itself, in no workspace: configuration changes, operator
    /// grants and the register of data-subject requests. Shown to operators only.
    macro_rules! instance_actions {
        () => {
            "(action LIKE 'config.%' OR action LIKE 'operator.%' OR action LIKE 'rights_request.%')"
        };
    }
    macro_rules! instance_scope {
        () => {
            concat!("workspace_id IS NULL AND ", instance_actions!())
        };
    }
    /// The workspace's entries, and the account events (sign-ins, failed ones included) of
    /// its current members: admins see who got into the accounts that can reach their data.
    /// Not the instance's entries, even when a member was the operator who acted.
    macro_rules! in_workspace {
        () => {
            concat!(
                "(workspace_id = $1 OR (workspace_id IS NULL AND NOT ",
                instance_actions!(),
                " AND (actor_id IN (SELECT user_id FROM memberships \
                 WHERE workspace_id = $1) OR subject_id IN (SELECT user_id FROM memberships WHERE workspace_id = $1))))"
            )
        };
    }
    macro_rules! consent_cols {
        () => {
            "id, user_id, visitor_id, purpose, granted, policy_version, source, at"
        };
    }
    macro_rules! rights_cols {
        () => {
            "id, kind, subject_email, user_id, received_at, due_at, verified_at, verification, status, outcome, \
             closed_at"
        };
    }

    /// What a deactivated account's password hash becomes: no password ever verifies against it.
    const DEACTIVATED_HASH: &str = "!deactivated";

    impl Repo {
        // -------------------------------------------------------------------------------------
        // Audit log.

        pub async fn append_audit(&self, e: &AuditEntry) -> Result<()> {
            let mut conn = self.pool.acquire().await?;
            append_audit_in(&mut conn, e).await
        }

        /// The workspace's entries and its members' account events, newest first.
        pub async fn audit_log(&self, ws: WorkspaceId, page: PageRequest) -> Result<Page<AuditEntry>> {
            let limit = page_limit(page);
            let rows = match page.after {
                Some(after) => {
                    sqlx::query(concat!(
                        "SELECT ",
                        audit_cols!(),
                        " FROM audit_log WHERE ",
                        in_workspace!(),
                        " AND id < $2 ORDER BY id DESC LIMIT $3"
                    ))
                    .bind(ws.as_uuid())
                    .bind(after)
                    .bind(limit + 1)
                    .fetch_all(&self.pool)
                    .await?
                }
                None => {
                    sqlx::query(concat!(
                        "SELECT ",
                        audit_cols!(),
                        " FROM audit_log WHERE ",
                        in_workspace!(),
                        " ORDER BY id DESC LIMIT $2"
                    ))
                    .bind(ws.as_uuid())
                    .bind(limit + 1)
                    .fetch_all(&self.pool)
                    .await?
                }
            };
            let items = rows.iter().map(audit_from).collect::<Result<Vec<_>>>()?;
            Ok(paginate(items, limit, |e| e.id))
        }

        /// The installation's own entries (see `instance_scope`), newest first.
        pub async fn instance_audit_log(&self, page: PageRequest) -> Result<Page<AuditEntry>> {
            let limit = page_limit(page);
            let rows = sqlx::query(concat!(
                "SELECT ",
                audit_cols!(),
                " FROM audit_log WHERE ",
                instance_scope!(),
                " AND ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2"
            ))
            .bind(page.after)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
            let items = rows.iter().map(audit_from).collect::<Result<Vec<_>>>()?;
            Ok(paginate(items, limit, |e| e.id))
        }

        // -------------------------------------------------------------------------------------
        // Operators and the instance configuration.

        pub async fn is_operator(&self, user: UserId) -> Result<bool> {
            let row = sqlx::query("SELECT 1 AS one FROM operators WHERE user_id = $1")
                .bind(user.as_uuid())
                .fetch_optional(&self.pool)
                .await?;
            Ok(row.is_some())
        }

        /// Makes the user an operator; `false` when they already were. Recorded with `entry`.
        pub async fn grant_operator(&self, user: UserId, at: Timestamp, entry: &AuditEntry) -> Result<bool> {
            let mut tx = self.begin_write().await?;
            let done =
                sqlx::query("INSERT INTO operators (user_id, granted_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(user.as_uuid())
                    .bind(micros(at))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| write_error(e, "operator"))?;
            let granted = done.rows_affected() == 1;
            if granted {
                append_audit_in(&mut tx, entry).await?;
            }
            tx.commit().await?;
            Ok(granted)
        }

        /// Takes the operator right away; `false` when the user was no operator.
        pub async fn revoke_operator(&self, user: UserId, entry: &AuditEntry) -> Result<bool> {
            let mut tx = self.begin_write().await?;
            let done =
                sqlx::query("DELETE FROM operators WHERE user_id = $1").bind(user.as_uuid()).execute(&mut *tx).await?;
            let revoked = done.rows_affected() == 1;
            if revoked {
                append_audit_in(&mut tx, entry).await?;
            }
            tx.commit().await?;
            Ok(revoked)
        }

        pub async fn operators(&self) -> Result<Vec<Operator>> {
            sqlx::query(
                "SELECT o.user_id, o.granted_at, u.email, u.display_name FROM operators o \
                 JOIN users u ON u.id = o.user_id ORDER BY u.email",
            )
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(Operator {
                    user_id: UserId::from_uuid(r.try_get("user_id")?),
                    email: email_col(r, "email")?,
                    display_name: r.try_get("display_name")?,
                    granted_at: ts_col(r, "granted_at")?,
                })
            })
            .collect()
        }

        /// The configuration digests recorded at the last start, by key.
        pub async fn config_fingerprint(&self) -> Result<BTreeMap<String, String>> {
            let rows = sqlx::query("SELECT key, digest FROM config_fingerprints").fetch_all(&self.pool).await?;
            rows.iter().map(|r| Ok((r.try_get("key")?, r.try_get("digest")?))).collect()
        }

        /// Replaces the recorded digests with `digests` and appends `entry` (the change), in
        /// one transaction: the record and its audit entry never disagree.
        pub async fn replace_config_fingerprint(
            &self,
            digests: &BTreeMap<String, String>,
            at: Timestamp,
            entry: Option<&AuditEntry>,
        ) -> Result<()> {
            let mut tx = self.begin_write().await?;
            sqlx::query("DELETE FROM config_fingerprints").execute(&mut *tx).await?;
            for (key, digest) in digests {
                sqlx::query("INSERT INTO config_fingerprints (key, digest, recorded_at) VALUES ($1, $2, $3)")
                    .bind(key)
                    .bind(digest)
                    .bind(micros(at))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| write_error(e, "configuration fingerprint"))?;
            }
            if let Some(entry) = entry {
                append_audit_in(&mut tx, entry).await?;
            }
            tx.commit().await?;
            Ok(())
        }

        // -------------------------------------------------------------------------------------
        // Consents.

        pub async fn record_consent(&self, c: &ConsentRecord) -> Result<()> {
            sqlx::query(concat!(
                "INSERT INTO consents (",
                consent_cols!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ))
            .bind(c.id)
            .bind(c.user_id.map(|u| u.as_uuid()))
            .bind(&c.visitor_id)
            .bind(&c.purpose)
            .bind(c.granted)
            .bind(&c.policy_version)
            .bind(&c.source)
            .bind(micros(c.at))
            .execute(&self.pool)
            .await
            .map_err(|e| write_error(e, "consent"))?;
            Ok(())
        }

        /// Every decision of the user, oldest first.
        pub async fn consents_of(&self, user: UserId) -> Result<Vec<ConsentRecord>> {
            sqlx::query(concat!("SELECT ", consent_cols!(), " FROM consents WHERE user_id = $1 ORDER BY at, id"))
                .bind(user.as_uuid())
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(consent_from)
                .collect()
        }

        /// The newest decision of the user for `purpose`: the one in force.
        pub async fn current_consent(&self, user: UserId, purpose: &str) -> Result<Option<ConsentRecord>> {
            sqlx::query(concat!(
                "SELECT ",
                consent_cols!(),
                " FROM consents WHERE user_id = $1 AND purpose = $2 ORDER BY at DESC, id DESC LIMIT 1"
            ))
            .bind(user.as_uuid())
            .bind(purpose)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| consent_from(&r))
            .transpose()
        }

        // -------------------------------------------------------------------------------------
        // Exports.

        pub async fn insert_export(&self, x: &PrivacyExport) -> Result<()> {
            sqlx::query(
                "INSERT INTO privacy_exports (id, requested_by, workspace_id, created_at, expires_at, sha256, archive) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(x.id)
            .bind(x.requested_by.as_uuid())
            .bind(x.workspace_id.map(|w| w.as_uuid()))
            .bind(micros(x.created_at))
            .bind(micros(x.expires_at))
            .bind(&x.sha256)
            .bind(x.archive.as_slice())
            .execute(&self.pool)
            .await
            .map_err(|e| write_error(e, "export"))?;
            Ok(())
        }

        /// An unexpired export of `requester`; `None` for anyone else's or an expired one.
        pub async fn privacy_export(
            &self,
            id: Uuid,
            requester: UserId,
            now: Timestamp,
        ) -> Result<Option<PrivacyExport>> {
            let row = sqlx::query(
                "SELECT id, requested_by, workspace_id, created_at, expires_at, sha256, archive FROM privacy_exports \
                 WHERE id = $1 AND requested_by = $2 AND expires_at > $3",
            )
            .bind(id)
            .bind(requester.as_uuid())
            .bind(micros(now))
            .fetch_optional(&self.pool)
            .await?;
            row.map(|r| {
                Ok(PrivacyExport {
                    id: r.try_get("id")?,
                    requested_by: UserId::from_uuid(r.try_get("requested_by")?),
                    workspace_id: r.try_get::<Option<Uuid>, _>("workspace_id")?.map(WorkspaceId::from_uuid),
                    created_at: ts_col(&r, "created_at")?,
                    expires_at: ts_col(&r, "expires_at")?,
                    sha256: r.try_get("sha256")?,
                    archive: r.try_get("archive")?,
                })
            })
            .transpose()
        }

        /// The requester's unexpired exports, newest first.
        pub async fn exports_of(&self, requester: UserId, now: Timestamp) -> Result<Vec<ExportInfo>> {
            let rows = sqlx::query(
                "SELECT id, workspace_id, created_at, expires_at, sha256, LENGTH(archive) AS bytes FROM privacy_exports \
                 WHERE requested_by = $1 AND expires_at > $2 ORDER BY created_at DESC, id DESC",
            )
            .bind(requester.as_uuid())
            .bind(micros(now))
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(ExportInfo {
                        id: r.try_get("id")?,
                        workspace_id: r.try_get::<Option<Uuid>, _>("workspace_id")?.map(WorkspaceId::from_uuid),
                        created_at: ts_col(r, "created_at")?,
                        expires_at: ts_col(r, "expires_at")?,
                        sha256: r.try_get("sha256")?,
                        bytes: int_col(r, "bytes")?.unwrap_or(0),
                    })
                })
                .collect()
        }

        /// Every row of every inventoried table that concerns the person (by id or by address),
        /// without secret columns. Tables with no such row are left out.
        pub async fn dump_person(&self, user: UserId, email: &Email) -> Result<Vec<TableDump>> {
            let mut out = Vec::new();
            for table in inventory::TABLES {
                let mut rows = Vec::new();
                let mut seen = BTreeSet::new();
                for link in table.person {
                    let found = match *link {
                        PersonLink::UserId(col) => self.select_exportable(table, col, Key::Id(user.as_uuid())).await?,
                        PersonLink::Email(col) => {
                            self.select_exportable(table, col, Key::Text(email.as_str().to_owned())).await?
                        }
                    };
                    for row in found {
                        // A row reached through two links (e.g. sender and recipient) appears once.
                        if seen.insert(serde_json::Value::Object(row.clone()).to_string()) {
                            rows.push(row);
                        }
                    }
                }
                if !rows.is_empty() {
                    out.push(TableDump { table: table.name, rows });
                }
            }
            Ok(out)
        }

        /// Every row of every inventoried table that belongs to the workspace, without secrets.
        pub async fn dump_workspace(&self, ws: WorkspaceId) -> Result<Vec<TableDump>> {
            let mut out = Vec::new();
            for table in inventory::TABLES {
                let Some(col) = table.workspace else { continue };
                let rows = self.select_exportable(table, col, Key::Id(ws.as_uuid())).await?;
                if !rows.is_empty() {
                    out.push(TableDump { table: table.name, rows });
                }
            }
            Ok(out)
        }

        async fn select_exportable(
            &self,
            table: &inventory::Table,
            key_col: &str,
            key: Key,
        ) -> Result<Vec<serde_json::Map<String, serde_json::Value>>> {
            let cols: Vec<&inventory::Column> = table.exportable().collect();
            let list = cols.iter().map(|c| c.name).collect::<Vec<_>>().join(", ");
            // Table and column names come from the static inventory, never from input.
            let sql = format!("SELECT {list} FROM {} WHERE {key_col} = $1 ORDER BY 1", table.name);
            let query = sqlx::query(sqlx::AssertSqlSafe(sql));
            let query = match key {
                Key::Id(u) => query.bind(u),
                Key::Text(s) => query.bind(s),
            };
            let rows = query.fetch_all(&self.pool).await?;
            rows.iter()
                .map(|r| {
                    let mut obj = serde_json::Map::new();
                    for c in &cols {
                        obj.insert(c.name.to_owned(), json_value(r, c.name, c.kind)?);
                    }
                    Ok(obj)
                })
                .collect()
        }

        // -------------------------------------------------------------------------------------
        // Deletion: deactivate at once, purge later.

        /// Deactivates the account now: no session, API token, e-mailed link or password works
        /// any more, the address is replaced (so no reset mail can revive it), it leaves every
        /// workspace, and the workspaces it alone owned are deactivated with it. The purge
        /// comes at `purge_after`.
        pub async fn deactivate_account(&self, d: &AccountDeletion, workspaces: &[WorkspaceDeletion]) -> Result<()> {
            let mut tx = self.begin_write().await?;
            for w in workspaces {
                deactivate_workspace_in(&mut tx, w).await?;
            }
            let u = d.user_id.as_uuid();
            let done = sqlx::query("UPDATE users SET email = $2, password_hash = $3 WHERE id = $1")
                .bind(u)
                .bind(d.tombstone_email.as_str())
                .bind(DEACTIVATED_HASH)
                .execute(&mut *tx)
                .await?;
            found(done.rows_affected())?;
            for sql in [
                "DELETE FROM sessions WHERE user_id = $1",
                "DELETE FROM user_tokens WHERE user_id = $1",
                "DELETE FROM api_tokens WHERE created_by = $1",
                "DELETE FROM memberships WHERE user_id = $1",
                "DELETE FROM privacy_exports WHERE requested_by = $1",
                // A deactivated account operates nothing.
                "DELETE FROM operators WHERE user_id = $1",
                // No more review messages to their chat, no code that could link it again.
                "DELETE FROM telegram_links WHERE user_id = $1",
                "DELETE FROM telegram_link_codes WHERE user_id = $1",
            ] {
                sqlx::query(sql).bind(u).execute(&mut *tx).await?;
            }
            sqlx::query(
                "INSERT INTO account_deletions (user_id, contact, requested_at, purge_after) VALUES ($1, $2, $3, $4)",
            )
            .bind(u)
            .bind(d.contact.as_str())
            .bind(micros(d.requested_at))
            .bind(micros(d.purge_after))
            .execute(&mut *tx)
            .await
            .map_err(|e| write_error(e, "account deletion"))?;
            tx.commit().await?;
            Ok(())
        }

        /// Deactivates the workspace now: members, API tokens, invitations, connected accounts
        /// (their tokens) and exports go; the content stays until the purge.
        pub async fn deactivate_workspace(&self, d: &WorkspaceDeletion) -> Result<()> {
            let mut tx = self.begin_write().await?;
            deactivate_workspace_in(&mut tx, d).await?;
            tx.commit().await?;
            Ok(())
        }

        pub async fn account_deletion(&self, user: UserId) -> Result<Option<AccountDeletion>> {
            sqlx::query(
                "SELECT d.user_id, d.contact, d.requested_at, d.purge_after, u.email FROM account_deletions d \
                 JOIN users u ON u.id = d.user_id WHERE d.user_id = $1",
            )
            .bind(user.as_uuid())
            .fetch_optional(&self.pool)
            .await?
            .map(|r| account_deletion_from(&r))
            .transpose()
        }

        pub async fn due_account_deletions(&self, now: Timestamp, limit: u32) -> Result<Vec<AccountDeletion>> {
            sqlx::query(
                "SELECT d.user_id, d.contact, d.requested_at, d.purge_after, u.email FROM account_deletions d \
                 JOIN users u ON u.id = d.user_id WHERE d.purge_after <= $1 ORDER BY d.purge_after LIMIT $2",
            )
            .bind(micros(now))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(account_deletion_from)
            .collect()
        }

        pub async fn due_workspace_deletions(&self, now: Timestamp, limit: u32) -> Result<Vec<WorkspaceDeletion>> {
            sqlx::query(
                "SELECT workspace_id, workspace_name, contacts, requested_by, requested_at, purge_after \
                 FROM workspace_deletions WHERE purge_after <= $1 ORDER BY purge_after LIMIT $2",
            )
            .bind(micros(now))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(workspace_deletion_from)
            .collect()
        }

        pub async fn workspace_deletion(&self, ws: WorkspaceId) -> Result<Option<WorkspaceDeletion>> {
            sqlx::query(
                "SELECT workspace_id, workspace_name, contacts, requested_by, requested_at, purge_after \
                 FROM workspace_deletions WHERE workspace_id = $1",
            )
            .bind(ws.as_uuid())
            .fetch_optional(&self.pool)
            .await?
            .map(|r| workspace_deletion_from(&r))
            .transpose()
        }

        /// Erases the account for good and queues the confirmation, in one transaction. Content
        /// the person wrote in workspaces that live on is kept, attributed to the erased-user
        /// row; audit entries they made lose who and from where; entries about them go.
        pub async fn purge_account(&self, d: &AccountDeletion, confirmation: &OutboxEmail) -> Result<()> {
            let mut tx = self.begin_write().await?;
            let u = d.user_id.as_uuid();
            let erased = ERASED_USER.as_uuid();
            sqlx::query("UPDATE posts SET created_by = $2 WHERE created_by = $1")
                .bind(u)
                .bind(erased)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE approvals SET approver = $2 WHERE approver = $1")
                .bind(u)
                .bind(erased)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE workspace_deletions SET requested_by = $2 WHERE requested_by = $1")
                .bind(u)
                .bind(erased)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE rights_requests SET user_id = NULL WHERE user_id = $1")
                .bind(u)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM audit_log WHERE subject_id = $1").bind(u).execute(&mut *tx).await?;
            sqlx::query(
                "UPDATE audit_log SET actor_id = NULL, client_ip = NULL, user_agent = NULL WHERE actor_id = $1",
            )
            .bind(u)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE audit_log SET target = 'user:erased' WHERE target = $1")
                .bind(format!("user:{u}"))
                .execute(&mut *tx)
                .await?;
            // Mail and invitations to the address from before the request: the address may
            // have signed up afresh since, and what came after belongs to the new account.
            for addr in [d.contact.as_str(), d.tombstone_email.as_str()] {
                for sql in [
                    "DELETE FROM email_outbox WHERE recipient = $1 AND created_at <= $2",
                    "DELETE FROM invitations WHERE email = $1 AND created_at <= $2",
                ] {
                    sqlx::query(sql).bind(addr).bind(micros(d.requested_at)).execute(&mut *tx).await?;
                }
            }
            // Sessions, tokens, memberships, invitations sent, API tokens, consents and exports
            // go with the row (ON DELETE CASCADE).
            sqlx::query("DELETE FROM users WHERE id = $1").bind(u).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM account_deletions WHERE user_id = $1").bind(u).execute(&mut *tx).await?;
            insert_email(&mut tx, confirmation).await?;
            tx.commit().await?;
            Ok(())
        }

        /// Erases the workspace and everything in it, and queues the confirmations.
        pub async fn purge_workspace(&self, d: &WorkspaceDeletion, confirmations: &[OutboxEmail]) -> Result<()> {
            let mut tx = self.begin_write().await?;
            let w = d.workspace_id.as_uuid();
            sqlx::query("DELETE FROM audit_log WHERE workspace_id = $1").bind(w).execute(&mut *tx).await?;
            // Background work queued for the workspace (its lane) has nothing left to work on.
            sqlx::query("DELETE FROM jobs WHERE lane = $1").bind(w).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM job_lanes WHERE lane = $1").bind(w).execute(&mut *tx).await?;
            // Brands, posts, approvals, invitations, tokens and connected accounts cascade.
            sqlx::query("DELETE FROM workspaces WHERE id = $1").bind(w).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM workspace_deletions WHERE workspace_id = $1").bind(w).execute(&mut *tx).await?;
            for mail in confirmations {
                insert_email(&mut tx, mail).await?;
            }
            tx.commit().await?;
            Ok(())
        }

        // -------------------------------------------------------------------------------------
        // Retention.

        /// Removes what the retention rules say has been kept long enough.
        pub async fn apply_retention(&self, c: &RetentionCutoffs) -> Result<RetentionReport> {
            let now = micros(c.now);
            let run = |sql: &'static str, at: i64| {
                let pool = self.pool.clone();
                async move { Ok::<u64, StorageError>(sqlx::query(sql).bind(at).execute(&pool).await?.rows_affected()) }
            };
            Ok(RetentionReport {
                sessions: run("DELETE FROM sessions WHERE expires_at <= $1", now).await?,
                outbox: run("DELETE FROM email_outbox WHERE created_at < $1", micros(c.outbox_before)).await?,
                audit: run("DELETE FROM audit_log WHERE at < $1", micros(c.audit_before)).await?,
                user_tokens: run(
                    "DELETE FROM user_tokens WHERE expires_at < $1 OR used_at < $1",
                    micros(c.tokens_before),
                )
                .await?,
                invitations: run(
                    "DELETE FROM invitations WHERE expires_at < $1 OR accepted_at < $1 OR revoked_at < $1",
                    micros(c.tokens_before),
                )
                .await?,
                api_tokens: run(
                    "DELETE FROM api_tokens WHERE expires_at < $1 OR revoked_at < $1",
                    micros(c.api_tokens_before),
                )
                .await?,
                exports: run("DELETE FROM privacy_exports WHERE expires_at <= $1", now).await?,
                visitor_consents: run(
                    "DELETE FROM consents WHERE user_id IS NULL AND at < $1",
                    micros(c.visitor_consents_before),
                )
                .await?,
                notifications: run("DELETE FROM notifications WHERE created_at < $1", micros(c.outbox_before)).await?,
            })
        }

        // -------------------------------------------------------------------------------------
        // Rights requests.

        pub async fn insert_rights_request(&self, r: &RightsRequest) -> Result<()> {
            sqlx::query(concat!(
                "INSERT INTO rights_requests (",
                rights_cols!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            ))
            .bind(r.id)
            .bind(r.kind.as_str())
            .bind(r.subject_email.as_str())
            .bind(r.user_id.map(|u| u.as_uuid()))
            .bind(micros(r.received_at))
            .bind(micros(r.due_at))
            .bind(r.verified_at.map(micros))
            .bind(&r.verification)
            .bind(r.status.as_str())
            .bind(&r.outcome)
            .bind(r.closed_at.map(micros))
            .execute(&self.pool)
            .await
            .map_err(|e| write_error(e, "rights request"))?;
            Ok(())
        }

        /// Writes the verification, status, outcome and closing time of a request.
        pub async fn update_rights_request(&self, r: &RightsRequest) -> Result<()> {
            let done = sqlx::query(
                "UPDATE rights_requests SET verified_at = $2, verification = $3, status = $4, outcome = $5, \
                 closed_at = $6, user_id = $7 WHERE id = $1",
            )
            .bind(r.id)
            .bind(r.verified_at.map(micros))
            .bind(&r.verification)
            .bind(r.status.as_str())
            .bind(&r.outcome)
            .bind(r.closed_at.map(micros))
            .bind(r.user_id.map(|u| u.as_uuid()))
            .execute(&self.pool)
            .await?;
            found(done.rows_affected())
        }

        pub async fn rights_request(&self, id: Uuid) -> Result<Option<RightsRequest>> {
            sqlx::query(concat!("SELECT ", rights_cols!(), " FROM rights_requests WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| rights_from(&r))
                .transpose()
        }

        /// Open requests (received or verified), the soonest due first; with `due_before`, only
        /// those due by then.
        pub async fn open_rights_requests(&self, due_before: Option<Timestamp>) -> Result<Vec<RightsRequest>> {
            sqlx::query(concat!(
                "SELECT ",
                rights_cols!(),
                " FROM rights_requests WHERE status IN ('received', 'verified') AND due_at <= $1 ORDER BY due_at, id"
            ))
            .bind(due_before.map_or(i64::MAX, micros))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(rights_from)
            .collect()
        }

        // -------------------------------------------------------------------------------------
        // Breach support.

        /// The workspaces holding data of `class` (from the inventory), with their owners.
        /// Account-level classes (held for every account) concern every workspace.
        pub async fn affected_workspaces(&self, class: DataClass) -> Result<Vec<AffectedWorkspace>> {
            let ids = self.workspaces_holding(class).await?;
            let mut out = Vec::with_capacity(ids.len());
            for ws in ids {
                let Some(w) = self.workspace(WorkspaceId::from_uuid(ws)).await? else { continue };
                let owners = sqlx::query(
                    "SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id \
                     WHERE m.workspace_id = $1 AND m.role = 'owner' ORDER BY u.email",
                )
                .bind(ws)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| email_col(r, "email"))
                .collect::<Result<Vec<_>>>()?;
                out.push(AffectedWorkspace { workspace_id: w.id, name: w.name, owners });
            }
            Ok(out)
        }

        /// The people whose data of `class` is held: directly (a person link of a table of that
        /// class) or as members of an affected workspace.
        pub async fn affected_people(&self, class: DataClass) -> Result<Vec<AffectedPerson>> {
            let mut users: BTreeSet<Uuid> = BTreeSet::new();
            for table in inventory::tables_with(class) {
                for link in table.person {
                    if let PersonLink::UserId(col) = *link {
                        let sql = format!("SELECT DISTINCT {col} AS id FROM {} WHERE {col} IS NOT NULL", table.name);
                        for r in sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await? {
                            users.insert(r.try_get("id")?);
                        }
                    }
                }
            }
            for ws in self.workspaces_holding(class).await? {
                for r in sqlx::query("SELECT user_id FROM memberships WHERE workspace_id = $1")
                    .bind(ws)
                    .fetch_all(&self.pool)
                    .await?
                {
                    users.insert(r.try_get("user_id")?);
                }
            }
            users.remove(&ERASED_USER.as_uuid());
            let mut out = Vec::with_capacity(users.len());
            for id in users {
                let Some(u) = self.user_by_id(UserId::from_uuid(id)).await? else { continue };
                let workspaces = self
                    .workspaces_of(u.id)
                    .await?
                    .into_iter()
                    .map(|(w, r)| (w.id, w.name, r.as_str().to_owned()))
                    .collect();
                out.push(AffectedPerson { user_id: u.id, email: u.email, display_name: u.display_name, workspaces });
            }
            Ok(out)
        }

        async fn workspaces_holding(&self, class: DataClass) -> Result<BTreeSet<Uuid>> {
            let mut ids = BTreeSet::new();
            for table in inventory::tables_with(class) {
                let Some(col) = table.workspace else { continue };
                let sql = format!("SELECT DISTINCT {col} AS id FROM {} WHERE {col} IS NOT NULL", table.name);
                for r in sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await? {
                    ids.insert(r.try_get("id")?);
                }
            }
            Ok(ids)
        }
    }

    enum Key {
        Id(Uuid),
        Text(String),
    }

    async fn append_audit_in(conn: &mut DbConn, e: &AuditEntry) -> Result<()> {
        sqlx::query(concat!("INSERT INTO audit_log (", audit_cols!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"))
            .bind(e.id)
            .bind(micros(e.at))
            .bind(e.workspace_id.map(|w| w.as_uuid()))
            .bind(e.actor_id.map(|u| u.as_uuid()))
            .bind(e.subject_id.map(|u| u.as_uuid()))
            .bind(&e.action)
            .bind(&e.target)
            .bind(&e.client_ip)
            .bind(&e.user_agent)
            .execute(&mut *conn)
            .await
            .map_err(|e| write_error(e, "audit entry"))?;
        Ok(())
    }

    async fn deactivate_workspace_in(conn: &mut DbConn, d: &WorkspaceDeletion) -> Result<()> {
        let w = d.workspace_id.as_uuid();
        sqlx::query(
            "INSERT INTO workspace_deletions (workspace_id, workspace_name, contacts, requested_by, requested_at, \
             purge_after) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(w)
        .bind(&d.workspace_name)
        .bind(serde_json::to_string(&d.contacts.iter().map(Email::as_str).collect::<Vec<_>>()).unwrap_or_default())
        .bind(d.requested_by.as_uuid())
        .bind(micros(d.requested_at))
        .bind(micros(d.purge_after))
        .execute(&mut *conn)
        .await
        .map_err(|e| write_error(e, "workspace deletion"))?;
        for sql in [
            "DELETE FROM memberships WHERE workspace_id = $1",
            "DELETE FROM api_tokens WHERE workspace_id = $1",
            "DELETE FROM invitations WHERE workspace_id = $1",
            "DELETE FROM connected_accounts WHERE workspace_id = $1",
            "DELETE FROM oauth_states WHERE workspace_id = $1",
            "DELETE FROM privacy_exports WHERE workspace_id = $1",
        ] {
            sqlx::query(sql).bind(w).execute(&mut *conn).await?;
        }
        Ok(())
    }

    fn int_col(r: &DbRow, col: &str) -> Result<Option<i64>> {
        // PostgreSQL keeps integers at their declared width; SQLite has one integer type.
        if let Ok(v) = r.try_get::<Option<i64>, _>(col) {
            return Ok(v);
        }
        if let Ok(v) = r.try_get::<Option<i32>, _>(col) {
            return Ok(v.map(i64::from));
        }
        Ok(r.try_get::<Option<i16>, _>(col)?.map(i64::from))
    }

    /// A column as JSON, read according to its inventory kind.
    fn json_value(r: &DbRow, col: &str, kind: Kind) -> Result<serde_json::Value> {
        use serde_json::Value;
        Ok(match kind {
            Kind::Id => r.try_get::<Option<Uuid>, _>(col)?.map_or(Value::Null, |u| Value::String(u.to_string())),
            Kind::Instant => match r.try_get::<Option<i64>, _>(col)? {
                Some(us) => Value::String(timestamp(us)?.to_string()),
                None => Value::Null,
            },
            Kind::Text => r.try_get::<Option<String>, _>(col)?.map_or(Value::Null, Value::String),
            Kind::Int => int_col(r, col)?.map_or(Value::Null, Value::from),
            Kind::Bool => r.try_get::<Option<bool>, _>(col)?.map_or(Value::Null, Value::Bool),
            Kind::Json => match r.try_get::<Option<Json<Value>>, _>(col) {
                Ok(v) => v.map_or(Value::Null, |Json(v)| v),
                // JSON kept in a TEXT column.
                Err(_) => match r.try_get::<Option<String>, _>(col)? {
                    Some(s) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
                    None => Value::Null,
                },
            },
            Kind::Secret => return Err(StorageError::Corrupt(format!("{col} is secret and must not be read"))),
        })
    }

    fn audit_from(r: &DbRow) -> Result<AuditEntry> {
        Ok(AuditEntry {
            id: r.try_get("id")?,
            at: ts_col(r, "at")?,
            workspace_id: r.try_get::<Option<Uuid>, _>("workspace_id")?.map(WorkspaceId::from_uuid),
            actor_id: r.try_get::<Option<Uuid>, _>("actor_id")?.map(UserId::from_uuid),
            subject_id: r.try_get::<Option<Uuid>, _>("subject_id")?.map(UserId::from_uuid),
            action: r.try_get("action")?,
            target: r.try_get("target")?,
            client_ip: r.try_get("client_ip")?,
            user_agent: r.try_get("user_agent")?,
        })
    }

    fn consent_from(r: &DbRow) -> Result<ConsentRecord> {
        Ok(ConsentRecord {
            id: r.try_get("id")?,
            user_id: r.try_get::<Option<Uuid>, _>("user_id")?.map(UserId::from_uuid),
            visitor_id: r.try_get("visitor_id")?,
            purpose: r.try_get("purpose")?,
            granted: r.try_get("granted")?,
            policy_version: r.try_get("policy_version")?,
            source: r.try_get("source")?,
            at: ts_col(r, "at")?,
        })
    }

    fn account_deletion_from(r: &DbRow) -> Result<AccountDeletion> {
        Ok(AccountDeletion {
            user_id: UserId::from_uuid(r.try_get("user_id")?),
            contact: email_col(r, "contact")?,
            requested_at: ts_col(r, "requested_at")?,
            purge_after: ts_col(r, "purge_after")?,
            tombstone_email: email_col(r, "email")?,
        })
    }

    fn workspace_deletion_from(r: &DbRow) -> Result<WorkspaceDeletion> {
        let contacts: String = r.try_get("contacts")?;
        let contacts: Vec<String> =
            serde_json::from_str(&contacts).map_err(|e| StorageError::Corrupt(format!("contacts: {e}")))?;
        Ok(WorkspaceDeletion {
            workspace_id: WorkspaceId::from_uuid(r.try_get("workspace_id")?),
            workspace_name: r.try_get("workspace_name")?,
            contacts: contacts
                .iter()
                .map(|c| Email::parse(c).map_err(|e| StorageError::Corrupt(format!("contacts: {e}"))))
                .collect::<Result<_>>()?,
            requested_by: UserId::from_uuid(r.try_get("requested_by")?),
            requested_at: ts_col(r, "requested_at")?,
            purge_after: ts_col(r, "purge_after")?,
        })
    }

    fn rights_from(r: &DbRow) -> Result<RightsRequest> {
        Ok(RightsRequest {
            id: r.try_get("id")?,
            kind: text_col(r, "kind")?,
            subject_email: email_col(r, "subject_email")?,
            user_id: r.try_get::<Option<Uuid>, _>("user_id")?.map(UserId::from_uuid),
            received_at: ts_col(r, "received_at")?,
            due_at: ts_col(r, "due_at")?,
            verified_at: ts_opt_col(r, "verified_at")?,
            verification: r.try_get("verification")?,
            status: text_col::<RequestStatus>(r, "status")?,
            outcome: r.try_get("outcome")?,
            closed_at: ts_opt_col(r, "closed_at")?,
        })
    }
}
