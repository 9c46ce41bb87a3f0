-- Publications: one approved post going out to one connected account (invariant I2).
-- `progress` is the adapter's memory (containers, uploads, "the creating call is in flight"),
-- written before each next network call; `version` guards every write so two workers can
-- never both advance the same publication.
-- The account is not a foreign key: disconnecting it must not erase what was published where.

CREATE TABLE publications (
    id            UUID PRIMARY KEY,
    workspace_id  UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    post_id       UUID NOT NULL,
    approval_id   UUID NOT NULL,
    network       TEXT NOT NULL CHECK (network IN ('instagram','linkedin','tiktok')),
    -- The target as the post names it: the account's external id, or '' for "the brand's one account".
    target        TEXT NOT NULL,
    account_id    UUID,
    account_name  TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('pending','published','failed','unconfirmed')),
    progress      TEXT NOT NULL,
    external_id   TEXT,
    url           TEXT,
    error_class   TEXT,
    error         TEXT,
    version       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    finished_at   BIGINT,
    UNIQUE (workspace_id, post_id, network, target),
    FOREIGN KEY (workspace_id, post_id) REFERENCES posts(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX publications_pending ON publications(state, updated_at);
