-- 10, PostgreSQL's part (after common/0010_key_withdrawals.sql):
INSERT INTO key_withdrawals (kid, since, withdrawn_at)
SELECT subject, CASE WHEN COUNT(*) > COUNT(since) THEN NULL ELSE MIN(since) END, MIN(at)
FROM (SELECT subject, at,
             CASE WHEN jsonb_typeof(detail::jsonb -> 'since') = 'number'
                  THEN (detail::jsonb ->> 'since')::BIGINT END AS since
      FROM audit WHERE event = 'key.withdrawn' AND subject IS NOT NULL) AS w
GROUP BY subject;
