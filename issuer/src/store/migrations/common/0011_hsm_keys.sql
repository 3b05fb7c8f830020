-- 11: signing keys held in a hardware security module (docs/issuer/operating.md, "Keys in an
-- HSM"): the row keeps the key's pkcs11: reference (RFC 7512: token label and CKA_ID) and its
-- public JWK; sealed_jwk stays NULL, so no private key material is in the database.
ALTER TABLE signing_keys ADD COLUMN hsm_key TEXT;
ALTER TABLE signing_keys ADD COLUMN public_jwk TEXT;
