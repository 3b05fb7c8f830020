-- 2: the status-change log (trust-bundle deltas). One row per
-- changed entry, written in the transaction of the change; `seq` is the high-water mark a
-- trust bundle carries as `status_seq`.
CREATE TABLE status_changes (
    seq     {serial},
    at      {int} NOT NULL,
    shard   {int} NOT NULL,
    idx     {int} NOT NULL CHECK (idx >= 0),
    status  {int} NOT NULL CHECK (status IN (0, 1, 2))
);
