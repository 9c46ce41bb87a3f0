-- An account a network told to wait (a quota or rate limit answered with a time to come back):
-- every worker process holds that account's publications until then instead of calling again
-- and being refused again. One row per account; a later pause replaces an earlier one.

CREATE TABLE publishing_pauses (
    account_id  BLOB PRIMARY KEY NOT NULL REFERENCES connected_accounts(id) ON DELETE CASCADE,
    until_at    INTEGER NOT NULL,
    reason      TEXT NOT NULL
);
