-- 9: tx_code digests are keyed (HMAC-SHA-256 under a key derived from the master secret,
-- docs/issuer.md "Storage and durability"). Offers still open carry the old unkeyed digest,
-- which a database reader can crack: they are closed, and the officer enrols the citizen
-- again for a new offer.
UPDATE offers SET state = 'dead', code_sealed = NULL WHERE state = 'open';
