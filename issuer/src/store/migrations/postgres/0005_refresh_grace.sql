-- 5: the refresh-token reuse grace window (SQLite migration 5): when a token was spent,
-- its live successor, and whether a retry of its predecessor superseded it.
ALTER TABLE refresh_tokens ADD COLUMN used_at BIGINT;
ALTER TABLE refresh_tokens ADD COLUMN next_id TEXT;
ALTER TABLE refresh_tokens ADD COLUMN superseded_at BIGINT;
