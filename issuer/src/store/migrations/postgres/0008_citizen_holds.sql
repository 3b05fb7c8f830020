-- 8: citizen holds (SQLite migration 8).
CREATE TABLE citizen_holds (
    citizen_id  TEXT PRIMARY KEY,
    status      BIGINT NOT NULL CHECK (status IN (1, 2)),
    changed_at  BIGINT NOT NULL,
    actor       TEXT NOT NULL
);
