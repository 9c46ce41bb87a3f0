-- Foundation: accounts, workspaces, brands, posts and approvals.
-- Instants are INTEGER microseconds since the Unix epoch (UTC) on both backends, so one code
-- path reads and writes them; ids are UUIDv7 stored as 16-byte BLOBs.

CREATE TABLE users (
    id                BLOB PRIMARY KEY NOT NULL,
    email             TEXT NOT NULL UNIQUE,
    display_name      TEXT NOT NULL,
    password_hash     TEXT NOT NULL,
    email_verified_at INTEGER,
    age_confirmed_at  INTEGER NOT NULL,
    created_at        INTEGER NOT NULL
);

CREATE TABLE user_tokens (
    hash       BLOB PRIMARY KEY NOT NULL,
    user_id    BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX user_tokens_user ON user_tokens(user_id);

CREATE TABLE sessions (
    hash       BLOB PRIMARY KEY NOT NULL,
    user_id    BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expiry ON sessions(expires_at);

CREATE TABLE workspaces (
    id         BLOB PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE memberships (
    workspace_id BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id      BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('owner','admin','editor','reviewer','viewer')),
    joined_at    INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX memberships_user ON memberships(user_id);

CREATE TABLE invitations (
    id           BLOB PRIMARY KEY NOT NULL,
    workspace_id BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    email        TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('owner','admin','editor','reviewer','viewer')),
    hash         BLOB NOT NULL UNIQUE,
    invited_by   BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    accepted_at  INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX invitations_workspace ON invitations(workspace_id);

CREATE TABLE api_tokens (
    id           BLOB PRIMARY KEY NOT NULL,
    workspace_id BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    hash         BLOB NOT NULL UNIQUE,
    created_by   BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX api_tokens_workspace ON api_tokens(workspace_id);

CREATE TABLE email_outbox (
    id         BLOB PRIMARY KEY NOT NULL,
    recipient  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    sent_at    INTEGER
);

CREATE TABLE brands (
    id           BLOB PRIMARY KEY NOT NULL,
    workspace_id BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    profile      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    -- Lets posts reference a brand of their own workspace only (invariant I3).
    UNIQUE (workspace_id, id)
);

CREATE TABLE posts (
    id               BLOB PRIMARY KEY NOT NULL,
    workspace_id     BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    brand_id         BLOB NOT NULL,
    state            TEXT NOT NULL,
    content          TEXT NOT NULL,
    schedule_local   TEXT,
    schedule_tz      TEXT,
    due_at           INTEGER,
    approval_id      BLOB,
    rejection_reason TEXT,
    version          INTEGER NOT NULL,
    created_by       BLOB NOT NULL REFERENCES users(id),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (workspace_id, id),
    FOREIGN KEY (workspace_id, brand_id) REFERENCES brands(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX posts_brand ON posts(workspace_id, brand_id, id);
CREATE INDEX posts_due ON posts(workspace_id, due_at);

CREATE TABLE approvals (
    id            BLOB PRIMARY KEY NOT NULL,
    workspace_id  BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    post_id       BLOB NOT NULL,
    approver      BLOB NOT NULL REFERENCES users(id),
    approver_role TEXT NOT NULL,
    channel       TEXT NOT NULL,
    digest        TEXT NOT NULL,
    at            INTEGER NOT NULL,
    FOREIGN KEY (workspace_id, post_id) REFERENCES posts(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX approvals_post ON approvals(workspace_id, post_id);
