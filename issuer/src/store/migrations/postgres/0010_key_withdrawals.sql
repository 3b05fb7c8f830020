-- 10: key withdrawals in their own table, filled from the `key.withdrawn` audit events
-- (SQLite migration 10).
CREATE TABLE key_withdrawals (
    kid           TEXT PRIMARY KEY,
    since         BIGINT,
    withdrawn_at  BIGINT NOT NULL
);
INSERT INTO key_withdrawals (kid, since, withdrawn_at)
SELECT subject, CASE WHEN COUNT(*) > COUNT(since) THEN NULL ELSE MIN(since) END, MIN(at)
FROM (SELECT subject, at,
             CASE WHEN jsonb_typeof(detail::jsonb -> 'since') = 'number'
                  THEN (detail::jsonb ->> 'since')::BIGINT END AS since
      FROM audit WHERE event = 'key.withdrawn' AND subject IS NOT NULL) AS w
GROUP BY subject;
