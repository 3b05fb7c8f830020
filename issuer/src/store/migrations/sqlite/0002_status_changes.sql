-- 2: the status-change log (trust-bundle deltas; issuer/src/status_changes.rs). One row per
-- changed entry, written in the transaction of the change; `seq` is the high-water mark a
-- trust bundle carries as `status_seq`.
CREATE TABLE status_changes (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    shard   INTEGER NOT NULL,
    idx     INTEGER NOT NULL CHECK (idx >= 0),
    status  INTEGER NOT NULL CHECK (status IN (0, 1, 2))
);
CREATE TRIGGER status_changes_no_update BEFORE UPDATE ON status_changes
BEGIN SELECT RAISE(ABORT, 'status_changes is append-only'); END;
