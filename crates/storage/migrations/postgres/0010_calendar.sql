-- The calendar reads a month of posts by time without touching their content: an index that
-- carries every column it needs (an index-only scan).
-- Posts published without a schedule are placed by when their first publication started.
CREATE INDEX posts_calendar ON posts(workspace_id, due_at) INCLUDE (brand_id, state, id);
CREATE INDEX publications_calendar ON publications(workspace_id, created_at);
