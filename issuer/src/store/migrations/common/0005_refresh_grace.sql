-- 5: the refresh-token reuse grace window (docs/issuer.md, "Refreshing a batch"). A spent
-- token records when it was spent and its live successor; a successor that a retry of its
-- predecessor replaced before it was ever used is revoked with `superseded_at` set, so
-- presenting it later is reuse. Tokens spent before this migration have no `used_at` and
-- get no grace.
ALTER TABLE refresh_tokens ADD COLUMN used_at {int};
ALTER TABLE refresh_tokens ADD COLUMN next_id TEXT;
ALTER TABLE refresh_tokens ADD COLUMN superseded_at {int};
