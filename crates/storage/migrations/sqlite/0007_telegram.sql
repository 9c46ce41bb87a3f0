-- Telegram review: one-time link codes, the person ↔ chat links, the drafts sent (so a button
-- press finds the post and the exact content digest it showed), and the long-polling offset.
-- Link codes are stored only as their SHA-256; the code itself exists only in the page that
-- showed it and the message the person sends to the bot.

CREATE TABLE telegram_link_codes (
    code_hash    BLOB PRIMARY KEY NOT NULL,
    user_id      BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER
);
CREATE INDEX telegram_link_codes_user ON telegram_link_codes(user_id);
CREATE INDEX telegram_link_codes_expiry ON telegram_link_codes(expires_at);

-- One chat per person and one person per chat; unlinking deletes the row.
CREATE TABLE telegram_links (
    user_id       BLOB PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    chat_id       INTEGER NOT NULL UNIQUE,
    telegram_name TEXT NOT NULL,
    linked_at     INTEGER NOT NULL
);

-- `token` is the short opaque id in the buttons' callback_data.
CREATE TABLE telegram_review_messages (
    token        TEXT PRIMARY KEY NOT NULL,
    workspace_id BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    post_id      BLOB NOT NULL,
    user_id      BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    chat_id      INTEGER NOT NULL,
    message_ids  TEXT NOT NULL,
    digest       TEXT NOT NULL,
    sent_at      INTEGER NOT NULL,
    decision     TEXT CHECK (decision IN ('approved','rejected','regenerate','stale')),
    decided_at   INTEGER,
    UNIQUE (post_id, digest, user_id),
    FOREIGN KEY (workspace_id, post_id) REFERENCES posts(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX telegram_review_messages_post ON telegram_review_messages(workspace_id, post_id);
CREATE INDEX telegram_review_messages_user ON telegram_review_messages(user_id);

-- The next getUpdates offset, per bot (its public numeric id).
CREATE TABLE telegram_poll_state (
    bot_id      TEXT PRIMARY KEY NOT NULL,
    next_offset INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
