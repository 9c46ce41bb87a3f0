// Notifications: in-app notices, e-mail preferences and the outbox's delivery state. Included
// right after `repo.rs` in both backend modules (so it shares their `Db`, `BACKEND` and
// helpers); its own imports live in a child module so they never collide with those of
// `repo.rs`.
//
// The outbox is a small queue of its own: senders lease rows (`claim_id`, `claimed_until`)
// before talking to the SMTP server, and only the lease holder records the outcome. A mail is
// therefore sent by one sender at a time; only a sender that dies between the server's "250
// OK" and its own write can cause a second delivery, after its lease ran out.

mod notify {
    use super::*;
    use crate::notify_records::{
        ClaimedMail, Delivery, DeliveryState, MailClaim, MailOutcome, Notification, NotificationPreference,
        OutboxCounts,
    };

    macro_rules! notification_cols {
        () => {
            "id, workspace_id, user_id, kind, subject, body, link, created_at, read_at"
        };
    }
    macro_rules! delivery_cols {
        () => {
            "state, attempts, next_attempt_at, last_error, finished_at"
        };
    }

    /// Most mails one claim leases.
    const MAX_MAIL_BATCH: u32 = 100;

    /// The pending, due, unleased mails; PostgreSQL skips rows another sender is claiming.
    const CLAIMABLE_SQLITE: &str = "SELECT id FROM email_outbox WHERE state = 'pending' AND next_attempt_at <= $3 \
         AND (claimed_until IS NULL OR claimed_until <= $3) ORDER BY next_attempt_at, id LIMIT $4";
    const CLAIMABLE_POSTGRES: &str = "SELECT id FROM email_outbox WHERE state = 'pending' AND next_attempt_at <= $3 \
         AND (claimed_until IS NULL OR claimed_until <= $3) ORDER BY next_attempt_at, id LIMIT $4 \
         FOR UPDATE SKIP LOCKED";

    impl Repo {
        // -------------------------------------------------------------------------------------
        // In-app notifications.

        /// The notices and the mails that go with them, in one transaction: both or neither.
        pub async fn insert_notifications(&self, notes: &[Notification], mails: &[OutboxEmail]) -> Result<()> {
            let mut tx = self.begin_write().await?;
            for n in notes {
                sqlx::query(concat!(
                    "INSERT INTO notifications (",
                    notification_cols!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                ))
                .bind(n.id)
                .bind(n.workspace_id.as_uuid())
                .bind(n.user_id.as_uuid())
                .bind(n.kind.as_str())
                .bind(n.subject.as_str())
                .bind(n.body.as_str())
                .bind(n.link.as_deref())
                .bind(micros(n.created_at))
                .bind(n.read_at.map(micros))
                .execute(&mut *tx)
                .await
                .map_err(|e| write_error(e, "notification"))?;
            }
            for mail in mails {
                insert_email(&mut tx, mail).await?;
            }
            tx.commit().await?;
            Ok(())
        }

        /// The person's notices in the workspace, newest first.
        pub async fn notifications(
            &self,
            ws: WorkspaceId,
            user: UserId,
            unread_only: bool,
            page: PageRequest,
        ) -> Result<Page<Notification>> {
            let limit = page_limit(page);
            let rows = sqlx::query(concat!(
                "SELECT ",
                notification_cols!(),
                " FROM notifications WHERE workspace_id = $1 AND user_id = $2 AND ($3 = FALSE OR read_at IS NULL) \
                 AND ($4 IS NULL OR id < $4) ORDER BY id DESC LIMIT $5"
            ))
            .bind(ws.as_uuid())
            .bind(user.as_uuid())
            .bind(unread_only)
            .bind(page.after)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
            let items = rows.iter().map(notification_from).collect::<Result<Vec<_>>>()?;
            Ok(paginate(items, limit, |n| n.id))
        }

        pub async fn unread_notification_count(&self, ws: WorkspaceId, user: UserId) -> Result<u64> {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM notifications WHERE workspace_id = $1 AND user_id = $2 AND read_at IS NULL",
            )
            .bind(ws.as_uuid())
            .bind(user.as_uuid())
            .fetch_one(&self.pool)
            .await?;
            Ok(u64::try_from(n).unwrap_or(0))
        }

        /// Marks one of the person's notices read (again: no change). NotFound for anyone else's.
        pub async fn mark_notification_read(
            &self,
            ws: WorkspaceId,
            user: UserId,
            id: Uuid,
            now: Timestamp,
        ) -> Result<()> {
            let done = sqlx::query(
                "UPDATE notifications SET read_at = COALESCE(read_at, $4) \
                 WHERE id = $1 AND workspace_id = $2 AND user_id = $3",
            )
            .bind(id)
            .bind(ws.as_uuid())
            .bind(user.as_uuid())
            .bind(micros(now))
            .execute(&self.pool)
            .await?;
            found(done.rows_affected())
        }

        /// Marks every unread notice of the person in the workspace read; returns how many.
        pub async fn mark_all_notifications_read(&self, ws: WorkspaceId, user: UserId, now: Timestamp) -> Result<u64> {
            let done = sqlx::query(
                "UPDATE notifications SET read_at = $3 WHERE workspace_id = $1 AND user_id = $2 AND read_at IS NULL",
            )
            .bind(ws.as_uuid())
            .bind(user.as_uuid())
            .bind(micros(now))
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected())
        }

        // -------------------------------------------------------------------------------------
        // Preferences.

        pub async fn notification_preferences(&self, user: UserId) -> Result<Vec<NotificationPreference>> {
            sqlx::query(
                "SELECT user_id, kind, email_enabled, updated_at FROM notification_preferences \
                 WHERE user_id = $1 ORDER BY kind",
            )
            .bind(user.as_uuid())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(preference_from)
            .collect()
        }

        /// The person's choice for `kind`; `None` when they never chose (the kind's default).
        pub async fn email_preference(&self, user: UserId, kind: &str) -> Result<Option<bool>> {
            Ok(sqlx::query_scalar(
                "SELECT email_enabled FROM notification_preferences WHERE user_id = $1 AND kind = $2",
            )
            .bind(user.as_uuid())
            .bind(kind)
            .fetch_optional(&self.pool)
            .await?)
        }

        pub async fn set_notification_preference(&self, p: &NotificationPreference) -> Result<()> {
            sqlx::query(
                "INSERT INTO notification_preferences (user_id, kind, email_enabled, updated_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, kind) \
                 DO UPDATE SET email_enabled = excluded.email_enabled, updated_at = excluded.updated_at",
            )
            .bind(p.user_id.as_uuid())
            .bind(p.kind.as_str())
            .bind(p.email_enabled)
            .bind(micros(p.updated_at))
            .execute(&self.pool)
            .await
            .map_err(|e| write_error(e, "notification preference"))?;
            Ok(())
        }

        /// Members of the workspace who chose to get no e-mail of `kind`.
        pub async fn email_opt_outs(&self, ws: WorkspaceId, kind: &str) -> Result<Vec<UserId>> {
            let ids: Vec<Uuid> = sqlx::query_scalar(
                "SELECT p.user_id FROM notification_preferences p \
                 JOIN memberships m ON m.user_id = p.user_id AND m.workspace_id = $1 \
                 WHERE p.kind = $2 AND p.email_enabled = FALSE",
            )
            .bind(ws.as_uuid())
            .bind(kind)
            .fetch_all(&self.pool)
            .await?;
            Ok(ids.into_iter().map(UserId::from_uuid).collect())
        }

        // -------------------------------------------------------------------------------------
        // Outbox delivery.

        /// Leases up to `c.limit` due mails, oldest due first; each claim counts as an attempt.
        pub async fn claim_mail(&self, c: &MailClaim) -> Result<Vec<ClaimedMail>> {
            let claim = Uuid::now_v7();
            let pick = match BACKEND {
                Backend::Sqlite => CLAIMABLE_SQLITE,
                Backend::Postgres => CLAIMABLE_POSTGRES,
            };
            let sql = format!(
                "UPDATE email_outbox SET claim_id = $1, claimed_until = $2, attempts = attempts + 1 \
                 WHERE id IN ({pick}) RETURNING {}, attempts",
                outbox_cols!()
            );
            let mut tx = self.begin_write().await?;
            // The statement is built from constants only.
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(claim)
                .bind(micros(c.until))
                .bind(micros(c.now))
                .bind(i64::from(c.limit.clamp(1, MAX_MAIL_BATCH)))
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            let mut out = rows
                .iter()
                .map(|r| {
                    let attempts: i64 = r.try_get("attempts")?;
                    Ok(ClaimedMail {
                        mail: outbox_from(r)?,
                        claim,
                        attempt: u32::try_from(attempts).unwrap_or(u32::MAX),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            out.sort_by_key(|m| (m.mail.created_at, m.mail.id));
            Ok(out)
        }

        /// Records what became of a claimed mail. False if the lease is no longer ours (it ran
        /// out and another sender took the mail): nothing is written.
        pub async fn record_mail_outcome(
            &self,
            id: Uuid,
            claim: Uuid,
            outcome: &MailOutcome,
            now: Timestamp,
        ) -> Result<bool> {
            let (state, next_at, error, finished) = match outcome {
                MailOutcome::Sent => (DeliveryState::Sent, None, None, Some(now)),
                MailOutcome::Retry { at, error } => (DeliveryState::Pending, Some(*at), Some(error.as_str()), None),
                MailOutcome::Failed { error } => (DeliveryState::Failed, None, Some(error.as_str()), Some(now)),
                MailOutcome::Skipped { reason } => (DeliveryState::Skipped, None, Some(reason.as_str()), Some(now)),
            };
            let sent_at = (state == DeliveryState::Sent).then_some(micros(now));
            let done = sqlx::query(
                "UPDATE email_outbox SET state = $3, next_attempt_at = COALESCE($4, next_attempt_at), \
                 last_error = $5, finished_at = $6, sent_at = COALESCE($7, sent_at), \
                 claim_id = NULL, claimed_until = NULL \
                 WHERE id = $1 AND claim_id = $2 AND state = 'pending'",
            )
            .bind(id)
            .bind(claim)
            .bind(state.as_str())
            .bind(next_at.map(micros))
            .bind(error)
            .bind(finished.map(micros))
            .bind(sent_at)
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected() == 1)
        }

        /// When the next pending mail may be claimed (its due time, or its lease's end).
        pub async fn next_mail_due(&self) -> Result<Option<Timestamp>> {
            let at: Option<i64> = sqlx::query_scalar(
                "SELECT MIN(CASE WHEN claimed_until > next_attempt_at THEN claimed_until ELSE next_attempt_at END) \
                 FROM email_outbox WHERE state = 'pending'",
            )
            .fetch_one(&self.pool)
            .await?;
            at.map(timestamp).transpose()
        }

        pub async fn mail_delivery(&self, id: Uuid) -> Result<Option<Delivery>> {
            sqlx::query(concat!("SELECT ", delivery_cols!(), " FROM email_outbox WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| delivery_from(&r))
                .transpose()
        }

        /// The newest mails with their delivery state.
        pub async fn outbox_deliveries(&self, limit: u32) -> Result<Vec<(OutboxEmail, Delivery)>> {
            sqlx::query(concat!(
                "SELECT ",
                outbox_cols!(),
                ", ",
                delivery_cols!(),
                " FROM email_outbox ORDER BY created_at DESC, id DESC LIMIT $1"
            ))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((outbox_from(r)?, delivery_from(r)?)))
            .collect()
        }

        pub async fn outbox_counts(&self) -> Result<OutboxCounts> {
            let rows: Vec<(String, i64)> =
                sqlx::query_as("SELECT state, COUNT(*) FROM email_outbox GROUP BY state").fetch_all(&self.pool).await?;
            let mut c = OutboxCounts::default();
            for (state, n) in rows {
                let n = u64::try_from(n).unwrap_or(0);
                match parse_text::<DeliveryState>("state", &state)? {
                    DeliveryState::Pending => c.pending = n,
                    DeliveryState::Sent => c.sent = n,
                    DeliveryState::Failed => c.failed = n,
                    DeliveryState::Skipped => c.skipped = n,
                }
            }
            Ok(c)
        }
    }

    fn notification_from(r: &DbRow) -> Result<Notification> {
        Ok(Notification {
            id: r.try_get("id")?,
            workspace_id: WorkspaceId::from_uuid(r.try_get("workspace_id")?),
            user_id: UserId::from_uuid(r.try_get("user_id")?),
            kind: r.try_get("kind")?,
            subject: r.try_get("subject")?,
            body: r.try_get("body")?,
            link: r.try_get("link")?,
            created_at: ts_col(r, "created_at")?,
            read_at: ts_opt_col(r, "read_at")?,
        })
    }

    fn preference_from(r: &DbRow) -> Result<NotificationPreference> {
        Ok(NotificationPreference {
            user_id: UserId::from_uuid(r.try_get("user_id")?),
            kind: r.try_get("kind")?,
            email_enabled: r.try_get("email_enabled")?,
            updated_at: ts_col(r, "updated_at")?,
        })
    }

    fn delivery_from(r: &DbRow) -> Result<Delivery> {
        let attempts: i64 = r.try_get("attempts")?;
        Ok(Delivery {
            state: text_col(r, "state")?,
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            next_attempt_at: ts_col(r, "next_attempt_at")?,
            last_error: r.try_get("last_error")?,
            finished_at: ts_opt_col(r, "finished_at")?,
        })
    }
}
