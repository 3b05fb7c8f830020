-- 8: citizen holds (docs/issuer.md, "Revoking a citizen"): a revoked or suspended citizen
-- gets nothing new from any enrolment, pending offers and tokens included. `status` uses
-- the status-list bits (1 revoked, final; 2 suspended, lifted by reinstate).
CREATE TABLE citizen_holds (
    citizen_id  TEXT PRIMARY KEY,
    status      {int} NOT NULL CHECK (status IN (1, 2)),
    changed_at  {int} NOT NULL,
    actor       TEXT NOT NULL
);
