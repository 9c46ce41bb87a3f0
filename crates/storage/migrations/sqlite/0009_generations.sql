-- AI generation: one row per request (a post, a plan, a regeneration, an image description),
-- run as a job. `request` is what was asked (networks, brief, period…), `work` the job's
-- checkpoint (what is already made, so a retried job resumes and a failed one can delete the
-- media it made), `result` what a description found. Drafts it produced are linked in
-- `generation_posts` with the suggested time (never a schedule: scheduling follows approval).
-- `ai_usage` meters generations, tokens and images per workspace and month (the quota).

CREATE TABLE generations (
    id            BLOB PRIMARY KEY NOT NULL,
    workspace_id  BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    brand_id      BLOB,
    kind          TEXT NOT NULL CHECK (kind IN ('post','plan','regenerate','describe')),
    state         TEXT NOT NULL CHECK (state IN ('queued','running','done','failed')),
    request       TEXT NOT NULL,
    work          TEXT NOT NULL,
    progress      TEXT NOT NULL,
    result        TEXT,
    error         TEXT,
    provider      TEXT,
    offline       INTEGER NOT NULL,
    post_id       BLOB,
    media_id      BLOB,
    requested_by  BLOB REFERENCES users(id) ON DELETE SET NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    finished_at   INTEGER,
    UNIQUE (workspace_id, id),
    FOREIGN KEY (workspace_id, brand_id) REFERENCES brands(workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, post_id) REFERENCES posts(workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, media_id) REFERENCES media(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX generations_brand ON generations(workspace_id, brand_id, id);
CREATE INDEX generations_media ON generations(workspace_id, media_id, id);
CREATE INDEX generations_post ON generations(workspace_id, post_id);
CREATE INDEX generations_open ON generations(state, updated_at);

CREATE TABLE generation_posts (
    workspace_id     BLOB NOT NULL,
    generation_id    BLOB NOT NULL REFERENCES generations(id) ON DELETE CASCADE,
    post_id          BLOB NOT NULL,
    position         INTEGER NOT NULL,
    suggested_local  TEXT,
    suggested_tz     TEXT,
    suggested_at     INTEGER,
    notes            TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (generation_id, post_id),
    FOREIGN KEY (workspace_id, post_id) REFERENCES posts(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX generation_posts_post ON generation_posts(workspace_id, post_id);

CREATE TABLE ai_usage (
    workspace_id       BLOB NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    -- `YYYY-MM`, UTC.
    month              TEXT NOT NULL,
    generations        INTEGER NOT NULL,
    prompt_tokens      INTEGER NOT NULL,
    completion_tokens  INTEGER NOT NULL,
    images             INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, month)
);
