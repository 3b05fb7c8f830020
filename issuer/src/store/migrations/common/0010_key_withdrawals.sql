-- 10: key withdrawals in their own table (docs/issuer.md, "Withdrawing a compromised key"),
-- so loading the keys does not scan the audit trail. One row per key, the strictest
-- withdrawal: `since` NULL (every credential) beats any time, else the earliest; written
-- in the same transaction as the `key.withdrawn` audit event, and filled here from the
-- events recorded before this migration.
CREATE TABLE key_withdrawals (
    kid           TEXT PRIMARY KEY,
    since         {int},
    withdrawn_at  {int} NOT NULL
);
