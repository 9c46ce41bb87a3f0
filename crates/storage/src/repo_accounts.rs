// Connected accounts and OAuth states, included right after `repo.rs` in both backend modules
// (so it shares their `Db`, `BACKEND` and helpers). Its own imports live in a child module so
// they never collide with the ones of `repo.rs`.

mod connected_accounts {
    use super::*;
    use crate::records::TokenHash;
    use crate::records_accounts::{
        ConnectedAccount, ConnectedAccountId, OAuthState, SealedSecret, SealedTokens, TakenState, TokenUpdate,
    };
    use nanopost_domain::network::Network;
    use std::collections::BTreeMap;

    macro_rules! account_cols {
        () => {
            "id, workspace_id, brand_id, network, kind, grant_id, external_id, display_name, handle, details, \
             scopes, key_id, wrapped_key, access_nonce, access_ciphertext, refresh_nonce, refresh_ciphertext, \
             token_version, token_issued_at, access_expires_at, refresh_expires_at, refresh_due_at, status, \
             status_reason, created_at, updated_at"
        };
    }
    macro_rules! state_cols {
        () => {
            "state_hash, workspace_id, brand_id, user_id, network, flavour, created_at, expires_at"
        };
    }

    /// Most rows one unscoped batch (refresh job, key rotation) returns.
    const MAX_BATCH: u32 = 500;

    impl Repo {
        // -------------------------------------------------------------------------------------
        // OAuth states.

        pub async fn insert_oauth_state(&self, st: &OAuthState) -> Result<()> {
            sqlx::query(concat!(
                "INSERT INTO oauth_states (",
                state_cols!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ))
            .bind(st.state_hash.0.as_slice())
            .bind(st.workspace_id.as_uuid())
            .bind(st.brand_id.as_uuid())
            .bind(st.user_id.as_uuid())
            .bind(st.network.as_str())
            .bind(&st.flavour)
            .bind(micros(st.created_at))
            .bind(micros(st.expires_at))
            .execute(&self.pool)
            .await
            .map_err(|e| write_error(e, "oauth_state"))?;
            Ok(())
        }

        /// Spends the state atomically: only one caller ever gets [`TakenState::Fresh`].
        pub async fn take_oauth_state(&self, hash: &TokenHash, now: Timestamp) -> Result<TakenState> {
            let fresh = sqlx::query(concat!(
                "UPDATE oauth_states SET used_at = $2 WHERE state_hash = $1 AND used_at IS NULL RETURNING ",
                state_cols!()
            ))
            .bind(hash.0.as_slice())
            .bind(micros(now))
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = fresh {
                return Ok(TakenState::Fresh(state_from(&row)?));
            }
            let used = sqlx::query(concat!("SELECT ", state_cols!(), " FROM oauth_states WHERE state_hash = $1"))
                .bind(hash.0.as_slice())
                .fetch_optional(&self.pool)
                .await?;
            Ok(match used {
                Some(row) => TakenState::AlreadyUsed(state_from(&row)?),
                None => TakenState::Unknown,
            })
        }

        pub async fn delete_expired_oauth_states(&self, now: Timestamp) -> Result<u64> {
            let done = sqlx::query("DELETE FROM oauth_states WHERE expires_at <= $1")
                .bind(micros(now))
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected())
        }

        // -------------------------------------------------------------------------------------
        // Connected accounts.

        /// Inserts the account, or replaces the tokens and names of the same external account
        /// of the same brand (a reconnect), keeping its id. Conflict if that external account
        /// is stored under another id (its tokens were sealed for this id, so they must not land
        /// on the other row).
        pub async fn save_connected_account(&self, a: &ConnectedAccount) -> Result<()> {
            let refresh = a.tokens.refresh.as_ref();
            let done = sqlx::query(concat!(
                "INSERT INTO connected_accounts (",
                account_cols!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
                 $19, $20, $21, $22, $23, $24, $25, $26) \
                 ON CONFLICT (workspace_id, brand_id, network, external_id) DO UPDATE SET \
                 kind = excluded.kind, grant_id = excluded.grant_id, display_name = excluded.display_name, \
                 handle = excluded.handle, details = excluded.details, scopes = excluded.scopes, \
                 key_id = excluded.key_id, wrapped_key = excluded.wrapped_key, \
                 access_nonce = excluded.access_nonce, access_ciphertext = excluded.access_ciphertext, \
                 refresh_nonce = excluded.refresh_nonce, refresh_ciphertext = excluded.refresh_ciphertext, \
                 token_version = connected_accounts.token_version + 1, \
                 token_issued_at = excluded.token_issued_at, access_expires_at = excluded.access_expires_at, \
                 refresh_expires_at = excluded.refresh_expires_at, refresh_due_at = excluded.refresh_due_at, \
                 status = excluded.status, status_reason = excluded.status_reason, \
                 updated_at = excluded.updated_at \
                 WHERE connected_accounts.id = excluded.id"
            ))
            .bind(a.id.as_uuid())
            .bind(a.workspace_id.as_uuid())
            .bind(a.brand_id.as_uuid())
            .bind(a.network.as_str())
            .bind(a.kind.as_str())
            .bind(a.grant_id)
            .bind(&a.external_id)
            .bind(&a.display_name)
            .bind(&a.handle)
            .bind(Json(&a.details))
            .bind(a.scopes.join(" "))
            .bind(&a.tokens.key_id)
            .bind(a.tokens.wrapped_key.as_slice())
            .bind(a.tokens.access.nonce.as_slice())
            .bind(a.tokens.access.ciphertext.as_slice())
            .bind(refresh.map(|r| r.nonce.as_slice()))
            .bind(refresh.map(|r| r.ciphertext.as_slice()))
            .bind(a.token_version)
            .bind(micros(a.token_issued_at))
            .bind(a.access_expires_at.map(micros))
            .bind(a.refresh_expires_at.map(micros))
            .bind(a.refresh_due_at.map(micros))
            .bind(a.status.as_str())
            .bind(&a.status_reason)
            .bind(micros(a.created_at))
            .bind(micros(a.updated_at))
            .execute(&self.pool)
            .await
            .map_err(|e| write_error(e, "connected_account"))?;
            if done.rows_affected() == 0 {
                return Err(StorageError::Conflict("connected_account"));
            }
            Ok(())
        }

        pub async fn connected_account(
            &self,
            ws: WorkspaceId,
            id: ConnectedAccountId,
        ) -> Result<Option<ConnectedAccount>> {
            sqlx::query(concat!(
                "SELECT ",
                account_cols!(),
                " FROM connected_accounts WHERE workspace_id = $1 AND id = $2"
            ))
            .bind(ws.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await?
            .map(|r| account_from(&r))
            .transpose()
        }

        pub async fn connected_account_by_external(
            &self,
            ws: WorkspaceId,
            brand: BrandId,
            network: Network,
            external_id: &str,
        ) -> Result<Option<ConnectedAccount>> {
            sqlx::query(concat!(
                "SELECT ",
                account_cols!(),
                " FROM connected_accounts \
                 WHERE workspace_id = $1 AND brand_id = $2 AND network = $3 AND external_id = $4"
            ))
            .bind(ws.as_uuid())
            .bind(brand.as_uuid())
            .bind(network.as_str())
            .bind(external_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| account_from(&r))
            .transpose()
        }

        /// The workspace's accounts (of one brand if given), oldest first.
        pub async fn connected_accounts(
            &self,
            ws: WorkspaceId,
            brand: Option<BrandId>,
        ) -> Result<Vec<ConnectedAccount>> {
            sqlx::query(concat!(
                "SELECT ",
                account_cols!(),
                " FROM connected_accounts WHERE workspace_id = $1 AND ($2 IS NULL OR brand_id = $2) ORDER BY id"
            ))
            .bind(ws.as_uuid())
            .bind(brand.map(|b| b.as_uuid()))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(account_from)
            .collect()
        }

        /// The accounts connected through one consent.
        pub async fn accounts_of_grant(&self, ws: WorkspaceId, grant: Uuid) -> Result<Vec<ConnectedAccount>> {
            sqlx::query(concat!(
                "SELECT ",
                account_cols!(),
                " FROM connected_accounts WHERE workspace_id = $1 AND grant_id = $2 ORDER BY id"
            ))
            .bind(ws.as_uuid())
            .bind(grant)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(account_from)
            .collect()
        }

        /// How many other connections, in any workspace, reach the same account on the network.
        /// (Only a count crosses workspaces: revoking a token could end their access too.)
        pub async fn other_connections_to(
            &self,
            network: Network,
            external_id: &str,
            except: ConnectedAccountId,
        ) -> Result<u64> {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM connected_accounts WHERE network = $1 AND external_id = $2 AND id <> $3",
            )
            .bind(network.as_str())
            .bind(external_id)
            .bind(except.as_uuid())
            .fetch_one(&self.pool)
            .await?;
            Ok(u64::try_from(n).unwrap_or(0))
        }

        /// Replaces the tokens if the stored `token_version` is still `expected_version` (and
        /// marks the account active if `update.reactivate`). Stale if someone replaced them in between.
        pub async fn update_account_tokens(
            &self,
            ws: WorkspaceId,
            id: ConnectedAccountId,
            expected_version: i64,
            update: &TokenUpdate,
            now: Timestamp,
        ) -> Result<ConnectedAccount> {
            let refresh = update.tokens.refresh.as_ref();
            let row = sqlx::query(concat!(
                "UPDATE connected_accounts SET key_id = $4, wrapped_key = $5, access_nonce = $6, \
                 access_ciphertext = $7, refresh_nonce = $8, refresh_ciphertext = $9, \
                 token_issued_at = $10, access_expires_at = $11, refresh_expires_at = $12, refresh_due_at = $13, \
                 token_version = token_version + 1, updated_at = $14, \
                 status = CASE WHEN $15 THEN 'active' ELSE status END, \
                 status_reason = CASE WHEN $15 THEN NULL ELSE status_reason END \
                 WHERE workspace_id = $1 AND id = $2 AND token_version = $3 RETURNING ",
                account_cols!()
            ))
            .bind(ws.as_uuid())
            .bind(id.as_uuid())
            .bind(expected_version)
            .bind(&update.tokens.key_id)
            .bind(update.tokens.wrapped_key.as_slice())
            .bind(update.tokens.access.nonce.as_slice())
            .bind(update.tokens.access.ciphertext.as_slice())
            .bind(refresh.map(|r| r.nonce.as_slice()))
            .bind(refresh.map(|r| r.ciphertext.as_slice()))
            .bind(micros(update.token_issued_at))
            .bind(update.access_expires_at.map(micros))
            .bind(update.refresh_expires_at.map(micros))
            .bind(update.refresh_due_at.map(micros))
            .bind(micros(now))
            .bind(update.reactivate)
            .fetch_optional(&self.pool)
            .await?;
            match row {
                Some(r) => account_from(&r),
                None => match self.connected_account(ws, id).await? {
                    Some(_) => Err(StorageError::Stale),
                    None => Err(StorageError::NotFound),
                },
            }
        }

        /// The refresh failed or the network refused the token; the refresh job skips it.
        pub async fn mark_account_reconnect_needed(
            &self,
            ws: WorkspaceId,
            id: ConnectedAccountId,
            reason: &str,
            now: Timestamp,
        ) -> Result<()> {
            let done = sqlx::query(
                "UPDATE connected_accounts SET status = 'reconnect_needed', status_reason = $3, updated_at = $4 \
                 WHERE workspace_id = $1 AND id = $2",
            )
            .bind(ws.as_uuid())
            .bind(id.as_uuid())
            .bind(reason)
            .bind(micros(now))
            .execute(&self.pool)
            .await?;
            found(done.rows_affected())
        }

        /// Deletes the account and its token bytes at once; returns what was deleted (the
        /// caller may still need the token in memory to revoke it at the network).
        pub async fn delete_connected_account(
            &self,
            ws: WorkspaceId,
            id: ConnectedAccountId,
        ) -> Result<ConnectedAccount> {
            sqlx::query(concat!(
                "DELETE FROM connected_accounts WHERE workspace_id = $1 AND id = $2 RETURNING ",
                account_cols!()
            ))
            .bind(ws.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await?
            .map(|r| account_from(&r))
            .transpose()?
            .ok_or(StorageError::NotFound)
        }

        /// Unscoped, for the refresh job: active accounts due before `before`, soonest first.
        pub async fn accounts_due_for_refresh(&self, before: Timestamp, limit: u32) -> Result<Vec<ConnectedAccount>> {
            sqlx::query(concat!(
                "SELECT ",
                account_cols!(),
                " FROM connected_accounts WHERE status = 'active' AND refresh_due_at IS NOT NULL \
                 AND refresh_due_at <= $1 ORDER BY refresh_due_at, id LIMIT $2"
            ))
            .bind(micros(before))
            .bind(i64::from(limit.clamp(1, MAX_BATCH)))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(account_from)
            .collect()
        }

        /// Unscoped, for key rotation: accounts whose tokens are sealed under another key.
        pub async fn accounts_sealed_with_other_keys(
            &self,
            current_key_id: &str,
            limit: u32,
        ) -> Result<Vec<ConnectedAccount>> {
            sqlx::query(concat!(
                "SELECT ",
                account_cols!(),
                " FROM connected_accounts WHERE key_id <> $1 ORDER BY id LIMIT $2"
            ))
            .bind(current_key_id)
            .bind(i64::from(limit.clamp(1, MAX_BATCH)))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(account_from)
            .collect()
        }
    }

    fn state_from(r: &DbRow) -> Result<OAuthState> {
        Ok(OAuthState {
            state_hash: hash_col(r, "state_hash")?,
            workspace_id: WorkspaceId::from_uuid(r.try_get("workspace_id")?),
            brand_id: BrandId::from_uuid(r.try_get("brand_id")?),
            user_id: UserId::from_uuid(r.try_get("user_id")?),
            network: text_col(r, "network")?,
            flavour: r.try_get("flavour")?,
            created_at: ts_col(r, "created_at")?,
            expires_at: ts_col(r, "expires_at")?,
        })
    }

    fn account_from(r: &DbRow) -> Result<ConnectedAccount> {
        let Json(details) = r.try_get::<Json<BTreeMap<String, String>>, _>("details")?;
        let scopes: String = r.try_get("scopes")?;
        let refresh = match (
            r.try_get::<Option<Vec<u8>>, _>("refresh_nonce")?,
            r.try_get::<Option<Vec<u8>>, _>("refresh_ciphertext")?,
        ) {
            (Some(nonce), Some(ciphertext)) => Some(SealedSecret { nonce, ciphertext }),
            (None, None) => None,
            _ => {
                return Err(StorageError::Corrupt("refresh token has a nonce without ciphertext or the reverse".into()));
            }
        };
        Ok(ConnectedAccount {
            id: ConnectedAccountId::from_uuid(r.try_get("id")?),
            workspace_id: WorkspaceId::from_uuid(r.try_get("workspace_id")?),
            brand_id: BrandId::from_uuid(r.try_get("brand_id")?),
            network: text_col(r, "network")?,
            kind: text_col(r, "kind")?,
            grant_id: r.try_get("grant_id")?,
            external_id: r.try_get("external_id")?,
            display_name: r.try_get("display_name")?,
            handle: r.try_get("handle")?,
            details,
            scopes: scopes.split_whitespace().map(str::to_owned).collect(),
            tokens: SealedTokens {
                key_id: r.try_get("key_id")?,
                wrapped_key: r.try_get("wrapped_key")?,
                access: SealedSecret { nonce: r.try_get("access_nonce")?, ciphertext: r.try_get("access_ciphertext")? },
                refresh,
            },
            token_version: r.try_get("token_version")?,
            token_issued_at: ts_col(r, "token_issued_at")?,
            access_expires_at: ts_opt_col(r, "access_expires_at")?,
            refresh_expires_at: ts_opt_col(r, "refresh_expires_at")?,
            refresh_due_at: ts_opt_col(r, "refresh_due_at")?,
            status: text_col(r, "status")?,
            status_reason: r.try_get("status_reason")?,
            created_at: ts_col(r, "created_at")?,
            updated_at: ts_col(r, "updated_at")?,
        })
    }
}
