-- 4: signing keys sealed in the database (shared by replicas); shard versions (status-list
-- caches see a change at once). Same numbers as the PostgreSQL migrations.
ALTER TABLE signing_keys ADD COLUMN sealed_jwk BLOB;
ALTER TABLE status_shards ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
