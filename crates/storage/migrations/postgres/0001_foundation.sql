-- Foundation: accounts, workspaces, brands, posts and approvals.
-- Instants are BIGINT microseconds since the Unix epoch (UTC) on both backends, so one code
-- path reads and writes them; ids are UUIDv7 (native uuid here, 16-byte BLOBs on SQLite).

CREATE TABLE users (
    id                UUID PRIMARY KEY,
    email             TEXT NOT NULL UNIQUE,
    display_name      TEXT NOT NULL,
    password_hash     TEXT NOT NULL,
    email_verified_at BIGINT,
    age_confirmed_at  BIGINT NOT NULL,
    created_at        BIGINT NOT NULL
);

CREATE TABLE user_tokens (
    hash       BYTEA PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX user_tokens_user ON user_tokens(user_id);

CREATE TABLE sessions (
    hash       BYTEA PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expiry ON sessions(expires_at);

CREATE TABLE workspaces (
    id         UUID PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE memberships (
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id      UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('owner','admin','editor','reviewer','viewer')),
    joined_at    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX memberships_user ON memberships(user_id);

CREATE TABLE invitations (
    id           UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    email        TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('owner','admin','editor','reviewer','viewer')),
    hash         BYTEA NOT NULL UNIQUE,
    invited_by   UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    accepted_at  BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX invitations_workspace ON invitations(workspace_id);

CREATE TABLE api_tokens (
    id           UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    hash         BYTEA NOT NULL UNIQUE,
    created_by   UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX api_tokens_workspace ON api_tokens(workspace_id);

CREATE TABLE email_outbox (
    id         UUID PRIMARY KEY,
    recipient  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at    BIGINT
);

CREATE TABLE brands (
    id           UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    profile      JSONB NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    -- Lets posts reference a brand of their own workspace only (invariant I3).
    UNIQUE (workspace_id, id)
);

CREATE TABLE posts (
    id               UUID PRIMARY KEY,
    workspace_id     UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    brand_id         UUID NOT NULL,
    state            TEXT NOT NULL,
    content          JSONB NOT NULL,
    schedule_local   TEXT,
    schedule_tz      TEXT,
    due_at           BIGINT,
    approval_id      UUID,
    rejection_reason TEXT,
    version          BIGINT NOT NULL,
    created_by       UUID NOT NULL REFERENCES users(id),
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (workspace_id, id),
    FOREIGN KEY (workspace_id, brand_id) REFERENCES brands(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX posts_brand ON posts(workspace_id, brand_id, id);
CREATE INDEX posts_due ON posts(workspace_id, due_at);

CREATE TABLE approvals (
    id            UUID PRIMARY KEY,
    workspace_id  UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    post_id       UUID NOT NULL,
    approver      UUID NOT NULL REFERENCES users(id),
    approver_role TEXT NOT NULL,
    channel       TEXT NOT NULL,
    digest        TEXT NOT NULL,
    at            BIGINT NOT NULL,
    FOREIGN KEY (workspace_id, post_id) REFERENCES posts(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX approvals_post ON approvals(workspace_id, post_id);
