-- Instance operators and the audit of the instance configuration. Every column is classified
-- in src/inventory.rs.

-- People who run this installation (not a workspace role): they see the register of
-- data-subject requests and the instance's own audit entries. Granted and revoked on the
-- command line (`nanopost admin operator grant|revoke EMAIL`).
CREATE TABLE operators (
    user_id    BLOB PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    granted_at INTEGER NOT NULL
);

-- The last effective configuration seen at start-up, one digest per key (never a value: a
-- secret's digest is keyed with the installation secret). A start with different digests
-- writes a `config.changed` audit entry naming the keys.
CREATE TABLE config_fingerprints (
    key         TEXT PRIMARY KEY NOT NULL,
    digest      TEXT NOT NULL,
    recorded_at INTEGER NOT NULL
);
