-- 9: keyed tx_code digests; open offers (unkeyed digests) are closed (SQLite migration 9).
UPDATE offers SET state = 'dead', code_sealed = NULL WHERE state = 'open';
