-- Publishing slots: at most `publishing.max_concurrent_per_account` publications advance at
-- once per connected account, across every worker process (the database is what they share).
-- A slot is a lease: one a crashed worker held frees itself when it expires.

CREATE TABLE publishing_slots (
    account_id  UUID NOT NULL,
    holder      UUID NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (account_id, holder)
);
CREATE INDEX publishing_slots_expiry ON publishing_slots(expires_at);
