-- The calendar reads a month of posts by time without touching their content: an index that
-- carries every column it needs (an index-only scan).
CREATE INDEX posts_calendar ON posts(workspace_id, due_at) INCLUDE (brand_id, state, id);
