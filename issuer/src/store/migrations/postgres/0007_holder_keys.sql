-- 7: one holder key per credential (SQLite migration 7).
UPDATE credentials SET holder_thumbprint = 'simulated:' || id WHERE holder_thumbprint = 'simulated';
CREATE UNIQUE INDEX credentials_holder ON credentials (holder_thumbprint);
