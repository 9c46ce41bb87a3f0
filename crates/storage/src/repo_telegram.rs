// The Telegram review channel, included after `repo.rs` in both backend modules (it shares their
// `Db`, `BACKEND` and helpers); its own imports live in a child module.
//
// Scoping: link codes and links belong to a person (`user_id`); the reviewers of a workspace are
// read with `workspace_id` in the WHERE clause. A button press carries only the opaque token, so
// its draft is looked up by token *and* the chat that pressed: nobody can reach another chat's
// draft (invariant I3).

mod telegram {
    use super::*;
    use crate::records::TokenHash;
    use crate::telegram_records::{
        TakenLinkCode, TelegramDecision, TelegramLink, TelegramLinkCode, TelegramReviewMessage,
    };

    macro_rules! code_cols {
        () => {
            "code_hash, user_id, workspace_id, created_at, expires_at, used_at"
        };
    }
    macro_rules! link_cols {
        () => {
            "user_id, chat_id, telegram_name, linked_at"
        };
    }
    macro_rules! review_cols {
        () => {
            "token, workspace_id, post_id, user_id, chat_id, message_ids, digest, sent_at, decision, decided_at"
        };
    }

    impl Repo {
        /// Stores a new code; the person's earlier unused codes, and every expired code, go.
        pub async fn create_telegram_link_code(&self, code: &TelegramLinkCode) -> Result<()> {
            let mut tx = self.begin_write().await?;
            sqlx::query("DELETE FROM telegram_link_codes WHERE (user_id = $1 AND used_at IS NULL) OR expires_at <= $2")
                .bind(code.user_id.as_uuid())
                .bind(micros(code.created_at))
                .execute(&mut *tx)
                .await?;
            sqlx::query(concat!(
                "INSERT INTO telegram_link_codes (",
                code_cols!(),
                ") VALUES ($1, $2, $3, $4, $5, NULL)"
            ))
            .bind(code.code_hash.0.as_slice())
            .bind(code.user_id.as_uuid())
            .bind(code.workspace_id.as_uuid())
            .bind(micros(code.created_at))
            .bind(micros(code.expires_at))
            .execute(&mut *tx)
            .await
            .map_err(|e| write_error(e, "telegram_link_code"))?;
            tx.commit().await?;
            Ok(())
        }

        /// Spends a code atomically: only one caller ever gets [`TakenLinkCode::Fresh`].
        pub async fn take_telegram_link_code(&self, hash: &TokenHash, now: Timestamp) -> Result<TakenLinkCode> {
            let fresh = sqlx::query(concat!(
                "UPDATE telegram_link_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING ",
                code_cols!()
            ))
            .bind(hash.0.as_slice())
            .bind(micros(now))
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = fresh {
                return Ok(TakenLinkCode::Fresh(link_code_from(&row)?));
            }
            let row = sqlx::query(concat!("SELECT ", code_cols!(), " FROM telegram_link_codes WHERE code_hash = $1"))
                .bind(hash.0.as_slice())
                .fetch_optional(&self.pool)
                .await?;
            Ok(match row {
                None => TakenLinkCode::Unknown,
                Some(r) if ts_opt_col(&r, "used_at")?.is_some() => TakenLinkCode::AlreadyUsed,
                Some(_) => TakenLinkCode::Expired,
            })
        }

        /// Links the chat to the person, replacing the person's previous chat and any other
        /// person's link to this chat (one chat per person, one person per chat).
        pub async fn link_telegram_chat(&self, link: &TelegramLink) -> Result<()> {
            let mut tx = self.begin_write().await?;
            sqlx::query("DELETE FROM telegram_links WHERE user_id = $1 OR chat_id = $2")
                .bind(link.user_id.as_uuid())
                .bind(link.chat_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(concat!("INSERT INTO telegram_links (", link_cols!(), ") VALUES ($1, $2, $3, $4)"))
                .bind(link.user_id.as_uuid())
                .bind(link.chat_id)
                .bind(&link.telegram_name)
                .bind(micros(link.linked_at))
                .execute(&mut *tx)
                .await
                .map_err(|e| write_error(e, "telegram_link"))?;
            tx.commit().await?;
            Ok(())
        }

        pub async fn telegram_link(&self, user: UserId) -> Result<Option<TelegramLink>> {
            sqlx::query(concat!("SELECT ", link_cols!(), " FROM telegram_links WHERE user_id = $1"))
                .bind(user.as_uuid())
                .fetch_optional(&self.pool)
                .await?
                .as_ref()
                .map(link_from)
                .transpose()
        }

        pub async fn telegram_link_by_chat(&self, chat_id: i64) -> Result<Option<TelegramLink>> {
            sqlx::query(concat!("SELECT ", link_cols!(), " FROM telegram_links WHERE chat_id = $1"))
                .bind(chat_id)
                .fetch_optional(&self.pool)
                .await?
                .as_ref()
                .map(link_from)
                .transpose()
        }

        /// Deletes the person's link; returns it, if there was one.
        pub async fn unlink_telegram(&self, user: UserId) -> Result<Option<TelegramLink>> {
            sqlx::query(concat!("DELETE FROM telegram_links WHERE user_id = $1 RETURNING ", link_cols!()))
                .bind(user.as_uuid())
                .fetch_optional(&self.pool)
                .await?
                .as_ref()
                .map(link_from)
                .transpose()
        }

        /// The workspace's members with a linked chat, and their role now.
        pub async fn telegram_reviewers(&self, ws: WorkspaceId) -> Result<Vec<(TelegramLink, Role)>> {
            let rows = sqlx::query(
                "SELECT l.user_id, l.chat_id, l.telegram_name, l.linked_at, m.role \
                 FROM telegram_links l JOIN memberships m ON m.user_id = l.user_id \
                 WHERE m.workspace_id = $1 ORDER BY l.linked_at, l.chat_id",
            )
            .bind(ws.as_uuid())
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(|r| Ok((link_from(r)?, text_col::<Role>(r, "role")?))).collect()
        }

        /// Conflict if this draft (post and digest) was already recorded for the person.
        pub async fn insert_telegram_review_message(&self, m: &TelegramReviewMessage) -> Result<()> {
            sqlx::query(concat!(
                "INSERT INTO telegram_review_messages (",
                review_cols!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ))
            .bind(&m.token)
            .bind(m.workspace_id.as_uuid())
            .bind(m.post_id.as_uuid())
            .bind(m.user_id.as_uuid())
            .bind(m.chat_id)
            .bind(ids_text(&m.message_ids))
            .bind(m.digest.as_str())
            .bind(micros(m.sent_at))
            .bind(m.decision.map(TelegramDecision::as_str))
            .bind(m.decided_at.map(micros))
            .execute(&self.pool)
            .await
            .map_err(|e| write_error(e, "telegram_review_message"))?;
            Ok(())
        }

        /// The draft a button of `chat_id` points at (scoped by the chat that pressed).
        pub async fn telegram_review_message(
            &self,
            token: &str,
            chat_id: i64,
        ) -> Result<Option<TelegramReviewMessage>> {
            sqlx::query(concat!(
                "SELECT ",
                review_cols!(),
                " FROM telegram_review_messages WHERE token = $1 AND chat_id = $2"
            ))
            .bind(token)
            .bind(chat_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(review_from)
            .transpose()
        }

        /// Every draft of the post sent to anyone, oldest first.
        pub async fn telegram_review_messages_of_post(
            &self,
            ws: WorkspaceId,
            post: PostId,
        ) -> Result<Vec<TelegramReviewMessage>> {
            let rows = sqlx::query(concat!(
                "SELECT ",
                review_cols!(),
                " FROM telegram_review_messages WHERE workspace_id = $1 AND post_id = $2 ORDER BY sent_at, token"
            ))
            .bind(ws.as_uuid())
            .bind(post.as_uuid())
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(review_from).collect()
        }

        /// Records the outcome of a press once: false if the draft was already decided.
        pub async fn decide_telegram_review(
            &self,
            token: &str,
            decision: TelegramDecision,
            now: Timestamp,
        ) -> Result<bool> {
            let done = sqlx::query(
                "UPDATE telegram_review_messages SET decision = $2, decided_at = $3 WHERE token = $1 AND decision IS NULL",
            )
            .bind(token)
            .bind(decision.as_str())
            .bind(micros(now))
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() == 1)
        }

        /// The next `getUpdates` offset of the bot, if one was stored.
        pub async fn telegram_poll_offset(&self, bot_id: &str) -> Result<Option<i64>> {
            let row = sqlx::query("SELECT next_offset FROM telegram_poll_state WHERE bot_id = $1")
                .bind(bot_id)
                .fetch_optional(&self.pool)
                .await?;
            Ok(row.map(|r| r.try_get::<i64, _>("next_offset")).transpose()?)
        }

        /// Stores the offset; it only ever moves forward (an old poll finishing late cannot
        /// make updates come again).
        pub async fn set_telegram_poll_offset(&self, bot_id: &str, next_offset: i64, now: Timestamp) -> Result<()> {
            sqlx::query(
                "INSERT INTO telegram_poll_state (bot_id, next_offset, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (bot_id) DO UPDATE SET next_offset = excluded.next_offset, updated_at = excluded.updated_at \
                 WHERE excluded.next_offset > telegram_poll_state.next_offset",
            )
            .bind(bot_id)
            .bind(next_offset)
            .bind(micros(now))
            .execute(&self.pool)
            .await?;
            Ok(())
        }
    }

    fn ids_text(ids: &[i64]) -> String {
        ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
    }

    fn link_code_from(r: &DbRow) -> Result<TelegramLinkCode> {
        Ok(TelegramLinkCode {
            code_hash: hash_col(r, "code_hash")?,
            user_id: UserId::from_uuid(r.try_get("user_id")?),
            workspace_id: WorkspaceId::from_uuid(r.try_get("workspace_id")?),
            created_at: ts_col(r, "created_at")?,
            expires_at: ts_col(r, "expires_at")?,
        })
    }

    fn link_from(r: &DbRow) -> Result<TelegramLink> {
        Ok(TelegramLink {
            user_id: UserId::from_uuid(r.try_get("user_id")?),
            chat_id: r.try_get("chat_id")?,
            telegram_name: r.try_get("telegram_name")?,
            linked_at: ts_col(r, "linked_at")?,
        })
    }

    fn review_from(r: &DbRow) -> Result<TelegramReviewMessage> {
        let ids: String = r.try_get("message_ids")?;
        let message_ids = ids
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| parse_text::<i64>("message_ids", s))
            .collect::<Result<Vec<_>>>()?;
        let digest: String = r.try_get("digest")?;
        Ok(TelegramReviewMessage {
            token: r.try_get("token")?,
            workspace_id: WorkspaceId::from_uuid(r.try_get("workspace_id")?),
            post_id: PostId::from_uuid(r.try_get("post_id")?),
            user_id: UserId::from_uuid(r.try_get("user_id")?),
            chat_id: r.try_get("chat_id")?,
            message_ids,
            digest: ContentDigest::parse(&digest).map_err(|e| StorageError::Corrupt(format!("digest: {e}")))?,
            sent_at: ts_col(r, "sent_at")?,
            decision: r.try_get::<Option<String>, _>("decision")?.map(|d| parse_text("decision", &d)).transpose()?,
            decided_at: ts_opt_col(r, "decided_at")?,
        })
    }
}
