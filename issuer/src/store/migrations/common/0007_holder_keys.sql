-- 7: one holder key per credential (docs/issuer.md, "Holder keys"): copies that share a
-- key can be linked by verifiers. Simulated rows (crate::simulate) all carried the
-- placeholder 'simulated' and get one of their own first. Real duplicates from before this
-- migration make it fail, which stops the upgrade: see the pre-upgrade check in the docs.
UPDATE credentials SET holder_thumbprint = 'simulated:' || id WHERE holder_thumbprint = 'simulated';
CREATE UNIQUE INDEX credentials_holder ON credentials (holder_thumbprint);
