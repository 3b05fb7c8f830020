-- 2: the status-change log (trust-bundle deltas; SQLite migration 2). Appends are
-- serialised by an advisory lock in `change_status`, so `seq` order is commit order.
CREATE TABLE status_changes (
    seq     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      BIGINT NOT NULL,
    shard   BIGINT NOT NULL,
    idx     BIGINT NOT NULL CHECK (idx >= 0),
    status  BIGINT NOT NULL CHECK (status IN (0, 1, 2))
);
CREATE FUNCTION status_changes_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'status_changes is append-only'; END $$;
CREATE TRIGGER status_changes_no_update BEFORE UPDATE ON status_changes
    FOR EACH ROW EXECUTE FUNCTION status_changes_append_only();
