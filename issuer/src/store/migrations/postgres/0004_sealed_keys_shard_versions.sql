-- 4: signing keys sealed in the database (shared by replicas); shard versions (status-list
-- caches of every replica see a change at once).
ALTER TABLE signing_keys ADD COLUMN sealed_jwk BYTEA;
ALTER TABLE status_shards ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
