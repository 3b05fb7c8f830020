-- 10, SQLite's part (after common/0010_key_withdrawals.sql):
INSERT INTO key_withdrawals (kid, since, withdrawn_at)
SELECT subject, CASE WHEN COUNT(*) > COUNT(since) THEN NULL ELSE MIN(since) END, MIN(at)
FROM (SELECT subject, at,
             CASE WHEN json_valid(detail) THEN
               CASE WHEN json_type(detail, '$.since') = 'integer'
                    THEN json_extract(detail, '$.since') END
             END AS since
      FROM audit WHERE event = 'key.withdrawn' AND subject IS NOT NULL)
GROUP BY subject;
