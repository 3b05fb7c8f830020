-- 2, PostgreSQL's part (after common/0002_status_changes.sql). Appends are serialised by an
-- advisory lock in `change_status`, so `seq` order is commit order.
CREATE FUNCTION status_changes_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'status_changes is append-only'; END $$;
CREATE TRIGGER status_changes_no_update BEFORE UPDATE ON status_changes
    FOR EACH ROW EXECUTE FUNCTION status_changes_append_only();
