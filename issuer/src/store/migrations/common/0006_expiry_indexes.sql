-- 6: expiry indexes, so the housekeeping sweep (crate::sweep) finds expired rows without
-- scanning the live ones.
CREATE INDEX c_nonces_expiry ON c_nonces (expires_at);
CREATE INDEX attestation_nonces_expiry ON attestation_nonces (expires_at);
CREATE INDEX used_proofs_expiry ON used_proofs (expires_at);
CREATE INDEX access_tokens_expiry ON access_tokens (expires_at);
CREATE INDEX refreshed_access_tokens_expiry ON refreshed_access_tokens (expires_at);
CREATE INDEX offers_expiry ON offers (expires_at);
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);
