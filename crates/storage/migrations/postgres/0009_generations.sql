-- AI generation: one row per request (a post, a plan, a regeneration, an image description),
-- run as a job. `request` is what was asked (networks, brief, period…), `work` the job's
-- checkpoint (what is already made, so a retried job resumes and a failed one can delete the
-- media it made), `result` what a description found. Drafts it produced are linked in
-- `generation_posts` with the suggested time (never a schedule: scheduling follows approval).
-- `ai_usage` meters generations, tokens and images per workspace and month (the quota).

CREATE TABLE generations (
    id            UUID PRIMARY KEY,
    workspace_id  UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    brand_id      UUID,
    kind          TEXT NOT NULL CHECK (kind IN ('post','plan','regenerate','describe')),
    state         TEXT NOT NULL CHECK (state IN ('queued','running','done','failed')),
    request       JSONB NOT NULL,
    work          JSONB NOT NULL,
    progress      TEXT NOT NULL,
    result        JSONB,
    error         TEXT,
    provider      TEXT,
    offline       BOOLEAN NOT NULL,
    post_id       UUID,
    media_id      UUID,
    requested_by  UUID REFERENCES users(id) ON DELETE SET NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    finished_at   BIGINT,
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
    workspace_id     UUID NOT NULL,
    generation_id    UUID NOT NULL REFERENCES generations(id) ON DELETE CASCADE,
    post_id          UUID NOT NULL,
    position         BIGINT NOT NULL,
    suggested_local  TEXT,
    suggested_tz     TEXT,
    suggested_at     BIGINT,
    notes            JSONB NOT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (generation_id, post_id),
    FOREIGN KEY (workspace_id, post_id) REFERENCES posts(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX generation_posts_post ON generation_posts(workspace_id, post_id);

CREATE TABLE ai_usage (
    workspace_id       UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    -- `YYYY-MM`, UTC.
    month              TEXT NOT NULL,
    generations        BIGINT NOT NULL,
    prompt_tokens      BIGINT NOT NULL,
    completion_tokens  BIGINT NOT NULL,
    images             BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, month)
);
