-- The calendar reads a month of posts by time without touching their content: an index that
-- holds every column it needs (SQLite has no INCLUDE, so they are trailing key columns).
-- Posts published without a schedule are placed by when their first publication started.
CREATE INDEX posts_calendar ON posts(workspace_id, due_at, brand_id, state, id);
CREATE INDEX publications_calendar ON publications(workspace_id, created_at);
