-- The calendar reads a month of posts by time without touching their content: an index that
-- holds every column it needs (SQLite has no INCLUDE, so they are trailing key columns).
CREATE INDEX posts_calendar ON posts(workspace_id, due_at, brand_id, state, id);
