-- Connected social accounts and the OAuth states of connections in progress.
-- Tokens are stored only as ciphertext (XChaCha20-Poly1305, envelope: a per-row data key wrapped
-- by the key-encryption key `key_id`), bound to the row by associated data. Disconnect deletes
-- the row, and with it every token byte.

CREATE TABLE connected_accounts (
    id                 UUID PRIMARY KEY,
    workspace_id       UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    brand_id           UUID NOT NULL,
    network            TEXT NOT NULL CHECK (network IN ('instagram','linkedin','tiktok')),
    kind               TEXT NOT NULL,
    -- Accounts connected by one consent share a grant (a LinkedIn member and their pages).
    grant_id           UUID NOT NULL,
    external_id        TEXT NOT NULL,
    display_name       TEXT NOT NULL,
    handle             TEXT,
    details            JSONB NOT NULL,
    scopes             TEXT NOT NULL,
    key_id             TEXT NOT NULL,
    wrapped_key        BYTEA NOT NULL,
    access_nonce       BYTEA NOT NULL,
    access_ciphertext  BYTEA NOT NULL,
    refresh_nonce      BYTEA,
    refresh_ciphertext BYTEA,
    token_version      BIGINT NOT NULL,
    token_issued_at    BIGINT NOT NULL,
    access_expires_at  BIGINT,
    refresh_expires_at BIGINT,
    refresh_due_at     BIGINT,
    status             TEXT NOT NULL CHECK (status IN ('active','reconnect_needed')),
    status_reason      TEXT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    UNIQUE (workspace_id, brand_id, network, external_id),
    FOREIGN KEY (workspace_id, brand_id) REFERENCES brands(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX connected_accounts_brand ON connected_accounts(workspace_id, brand_id);
CREATE INDEX connected_accounts_grant ON connected_accounts(workspace_id, grant_id);
CREATE INDEX connected_accounts_refresh ON connected_accounts(refresh_due_at);
CREATE INDEX connected_accounts_key ON connected_accounts(key_id);

-- Only the SHA-256 of the state value is kept; the PKCE verifier is derived from the state and
-- the installation secret, so nothing here lets anyone finish a connection.
CREATE TABLE oauth_states (
    state_hash   BYTEA PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    brand_id     UUID NOT NULL,
    user_id      UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    network      TEXT NOT NULL CHECK (network IN ('instagram','linkedin','tiktok')),
    flavour      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT,
    FOREIGN KEY (workspace_id, brand_id) REFERENCES brands(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX oauth_states_expiry ON oauth_states(expires_at);
