-- E-mail delivery and in-app notifications. Every column is classified in src/inventory.rs.

-- The outbox becomes a delivery queue of its own: a mail is written in the transaction of the
-- change that causes it (as before) and delivered later by the `email.deliver` job. A sender
-- leases a row (`claim_id`, `claimed_until`) before talking to the SMTP server, so two
-- senders never send the same mail; a lease that runs out (a crashed sender) makes the row
-- claimable again.
--   pending: waiting (or leased); sent: the server accepted it; failed: refused for good or
--   out of attempts; skipped: not sent on purpose (the recipient turned the kind off).
ALTER TABLE email_outbox ADD COLUMN state TEXT NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending','sent','failed','skipped'));
ALTER TABLE email_outbox ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE email_outbox ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE email_outbox ADD COLUMN claim_id UUID;
ALTER TABLE email_outbox ADD COLUMN claimed_until BIGINT;
ALTER TABLE email_outbox ADD COLUMN last_error TEXT;
ALTER TABLE email_outbox ADD COLUMN finished_at BIGINT;
UPDATE email_outbox SET state = 'sent', finished_at = sent_at WHERE sent_at IS NOT NULL;
CREATE INDEX email_outbox_due ON email_outbox(state, next_attempt_at);

-- Per person and kind of notice: whether it also comes by e-mail (in-app always). No row: the
-- kind's default. Essential mail (verification, password reset, deletion) has no switch.
CREATE TABLE notification_preferences (
    user_id       UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    email_enabled BOOLEAN NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- In-app notifications, one row per recipient (each reads at their own pace).
CREATE TABLE notifications (
    id           UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id      UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    subject      TEXT NOT NULL,
    body         TEXT NOT NULL,
    link         TEXT,
    created_at   BIGINT NOT NULL,
    read_at      BIGINT
);
CREATE INDEX notifications_inbox ON notifications(user_id, workspace_id, id);
CREATE INDEX notifications_created ON notifications(created_at);
