-- The media library: uploaded images and videos (metadata removed before storing) and the
-- renditions made from them for a network (cropped, padded, scaled, re-encoded). The bytes live
-- in the media store (disk or S3) under `storage_key`, which is built from the two ids only.
-- `digest` is the SHA-256 of the stored bytes, the value posts pin (invariant I1).

CREATE TABLE media (
    id           UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    brand_id     UUID,
    kind         TEXT NOT NULL CHECK (kind IN ('image','video')),
    mime         TEXT NOT NULL,
    bytes        BIGINT NOT NULL CHECK (bytes >= 0),
    width        BIGINT,
    height       BIGINT,
    duration_ms  BIGINT,
    digest       TEXT NOT NULL,
    storage_key  TEXT NOT NULL UNIQUE,
    -- As uploaded, cleaned; shown to people, never used as a path.
    file_name    TEXT NOT NULL,
    alt_text     TEXT NOT NULL,
    -- Renditions: the original they were made from and the fixes applied (canonical JSON).
    parent_id    UUID,
    fixes        TEXT,
    created_by   UUID REFERENCES users(id) ON DELETE SET NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (workspace_id, id),
    CHECK ((parent_id IS NULL) = (fixes IS NULL)),
    FOREIGN KEY (workspace_id, brand_id) REFERENCES brands(workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, parent_id) REFERENCES media(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX media_brand ON media(workspace_id, brand_id, id);
CREATE INDEX media_digest ON media(workspace_id, digest);
CREATE INDEX media_parent ON media(workspace_id, parent_id);
-- One rendition per original and set of fixes: made once, then reused.
CREATE UNIQUE INDEX media_rendition ON media(workspace_id, parent_id, fixes) WHERE parent_id IS NOT NULL;

CREATE TABLE media_tags (
    workspace_id UUID NOT NULL,
    media_id     UUID NOT NULL,
    tag          TEXT NOT NULL,
    PRIMARY KEY (workspace_id, media_id, tag),
    FOREIGN KEY (workspace_id, media_id) REFERENCES media(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX media_tags_tag ON media_tags(workspace_id, tag, media_id);
