-- 10: key withdrawals in their own table (docs/issuer.md, "Withdrawing a compromised key"),
-- so loading the keys does not scan the audit trail. One row per key, the strictest
-- withdrawal: `since` NULL (every credential) beats any time, else the earliest; written
-- in the same transaction as the `key.withdrawn` audit event, and filled here from the
-- events recorded before this migration.
CREATE TABLE key_withdrawals (
    kid           TEXT PRIMARY KEY,
    since         INTEGER,
    withdrawn_at  INTEGER NOT NULL
);
INSERT INTO key_withdrawals (kid, since, withdrawn_at)
SELECT subject, CASE WHEN COUNT(*) > COUNT(since) THEN NULL ELSE MIN(since) END, MIN(at)
FROM (SELECT subject, at,
             CASE WHEN json_valid(detail) THEN
               CASE WHEN json_type(detail, '$.since') = 'integer'
                    THEN json_extract(detail, '$.since') END
             END AS since
      FROM audit WHERE event = 'key.withdrawn' AND subject IS NOT NULL)
GROUP BY subject;
