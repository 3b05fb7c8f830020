-- 4: signing keys sealed in the database (shared by replicas); shard versions (status-list
-- caches see a change at once).
ALTER TABLE signing_keys ADD COLUMN sealed_jwk {bytes};
ALTER TABLE status_shards ADD COLUMN version {int} NOT NULL DEFAULT 0;
