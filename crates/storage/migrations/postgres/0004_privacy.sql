-- Privacy centre: the audit log, consent records, data exports, scheduled deletions and the
-- register of data-subject requests. Every column is classified in src/inventory.rs (a test
-- fails when one is not).

-- Append-only: rows are only ever added, removed by retention or erasure, or anonymised on
-- erasure (who and from where set to NULL). The trigger refuses any other change.
CREATE TABLE audit_log (
    id           UUID PRIMARY KEY,
    at           BIGINT NOT NULL,
    workspace_id UUID,
    actor_id     UUID,
    subject_id   UUID,
    action       TEXT NOT NULL,
    target       TEXT,
    client_ip    TEXT,
    user_agent   TEXT
);
CREATE INDEX audit_log_workspace ON audit_log(workspace_id, id);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_actor ON audit_log(actor_id);
CREATE INDEX audit_log_subject ON audit_log(subject_id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.at IS DISTINCT FROM OLD.at
       OR NEW.workspace_id IS DISTINCT FROM OLD.workspace_id OR NEW.action IS DISTINCT FROM OLD.action
       OR (NEW.actor_id IS NOT NULL AND NEW.actor_id IS DISTINCT FROM OLD.actor_id)
       OR (NEW.subject_id IS NOT NULL AND NEW.subject_id IS DISTINCT FROM OLD.subject_id)
       OR (NEW.client_ip IS NOT NULL AND NEW.client_ip IS DISTINCT FROM OLD.client_ip)
       OR (NEW.user_agent IS NOT NULL AND NEW.user_agent IS DISTINCT FROM OLD.user_agent)
       OR (NEW.target IS DISTINCT FROM OLD.target AND NEW.target IS DISTINCT FROM 'user:erased') THEN
        RAISE EXCEPTION 'audit_log is append-only';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- Consent and its withdrawal, one row per decision (the newest row per subject and purpose is
-- the current state). A visitor without an account is known by the random id in their
-- consent cookie.
CREATE TABLE consents (
    id             UUID PRIMARY KEY,
    user_id        UUID REFERENCES users(id) ON DELETE CASCADE,
    visitor_id     TEXT,
    purpose        TEXT NOT NULL,
    granted        BOOLEAN NOT NULL,
    policy_version TEXT NOT NULL,
    source         TEXT NOT NULL,
    at             BIGINT NOT NULL,
    CHECK (user_id IS NOT NULL OR visitor_id IS NOT NULL)
);
CREATE INDEX consents_user ON consents(user_id, purpose, at);
CREATE INDEX consents_visitor ON consents(visitor_id);

-- Finished export archives, downloadable by their requester until they expire.
CREATE TABLE privacy_exports (
    id           UUID PRIMARY KEY,
    requested_by UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id UUID REFERENCES workspaces(id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    archive      BYTEA NOT NULL
);
CREATE INDEX privacy_exports_user ON privacy_exports(requested_by);
CREATE INDEX privacy_exports_expiry ON privacy_exports(expires_at);

-- Accounts deactivated and waiting for their purge. `contact` is the address the confirmation
-- goes to (the account's own address is replaced at deactivation).
CREATE TABLE account_deletions (
    user_id      UUID PRIMARY KEY,
    contact      TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    purge_after  BIGINT NOT NULL
);
CREATE INDEX account_deletions_due ON account_deletions(purge_after);

CREATE TABLE workspace_deletions (
    workspace_id   UUID PRIMARY KEY,
    workspace_name TEXT NOT NULL,
    contacts       TEXT NOT NULL,
    requested_by   UUID NOT NULL,
    requested_at   BIGINT NOT NULL,
    purge_after    BIGINT NOT NULL
);
CREATE INDEX workspace_deletions_due ON workspace_deletions(purge_after);

-- Requests of data subjects (GDPR art. 15-21), kept as the operator's record of compliance.
CREATE TABLE rights_requests (
    id            UUID PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('access','rectification','deletion','portability','objection','restriction')),
    subject_email TEXT NOT NULL,
    user_id       UUID,
    received_at   BIGINT NOT NULL,
    due_at        BIGINT NOT NULL,
    verified_at   BIGINT,
    verification  TEXT,
    status        TEXT NOT NULL CHECK (status IN ('received','verified','completed','refused')),
    outcome       TEXT,
    closed_at     BIGINT
);
CREATE INDEX rights_requests_due ON rights_requests(status, due_at);

-- Who authored content whose author has been erased: posts and approvals keep a valid author
-- (the foreign keys stay) without keeping the person.
INSERT INTO users (id, email, display_name, password_hash, email_verified_at, age_confirmed_at, created_at)
VALUES ('00000000-0000-0000-0000-000000000000', 'erased-user@nanopost.invalid', 'Erased user', '!', NULL, 0, 0);
