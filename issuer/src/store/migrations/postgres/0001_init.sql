-- 1: initial schema (SQLite migration 1 in PostgreSQL's dialect).
CREATE TABLE officers (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('officer', 'admin')),
    token_hash  BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    removed_at  BIGINT
);
CREATE TABLE platforms (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kid         TEXT NOT NULL UNIQUE,
    jwk         TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    removed_at  BIGINT
);
CREATE TABLE attestation_nonces (
    nonce_hash  BYTEA PRIMARY KEY,
    expires_at  BIGINT NOT NULL
);
CREATE TABLE enrolments (
    id          TEXT PRIMARY KEY,
    citizen_id  TEXT NOT NULL,
    level       TEXT NOT NULL CHECK (level IN ('basic', 'high')),
    evidence    TEXT NOT NULL,
    claims      BYTEA,
    actor       TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX enrolments_citizen ON enrolments (citizen_id);
CREATE TABLE offers (
    id            TEXT PRIMARY KEY,
    enrolment_id  TEXT NOT NULL REFERENCES enrolments (id),
    config_ids    TEXT NOT NULL,
    code_hash     BYTEA NOT NULL,
    code_sealed   BYTEA,
    tx_code_hash  BYTEA NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 0,
    state         TEXT NOT NULL CHECK (state IN ('open', 'redeemed', 'dead')),
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE TABLE access_tokens (
    id          TEXT PRIMARY KEY,
    token_hash  BYTEA NOT NULL,
    offer_id    TEXT NOT NULL UNIQUE REFERENCES offers (id),
    expires_at  BIGINT NOT NULL
);
CREATE TABLE token_issuances (
    token_id   TEXT NOT NULL REFERENCES access_tokens (id),
    config_id  TEXT NOT NULL,
    PRIMARY KEY (token_id, config_id)
);
CREATE TABLE c_nonces (
    nonce_hash  BYTEA PRIMARY KEY,
    expires_at  BIGINT NOT NULL
);
CREATE TABLE used_proofs (
    proof_hash  BYTEA PRIMARY KEY,
    expires_at  BIGINT NOT NULL
);
CREATE TABLE signing_keys (
    kid                     TEXT PRIMARY KEY,
    alg                     TEXT NOT NULL CHECK (alg IN ('ES256', 'EdDSA')),
    purpose                 TEXT NOT NULL CHECK (purpose IN ('credential', 'root')),
    state                   TEXT NOT NULL CHECK (state IN ('active', 'retired')),
    file                    TEXT NOT NULL,
    not_before              BIGINT NOT NULL,
    not_after               BIGINT,
    last_credential_expiry  BIGINT
);
CREATE UNIQUE INDEX one_active_key ON signing_keys (purpose) WHERE state = 'active';
CREATE TABLE status_shards (
    shard      BIGINT PRIMARY KEY,
    size       BIGINT NOT NULL,
    allocated  BIGINT NOT NULL DEFAULT 0,
    state      TEXT NOT NULL CHECK (state IN ('open', 'full'))
);
CREATE TABLE credentials (
    id                 TEXT PRIMARY KEY,
    enrolment_id       TEXT NOT NULL REFERENCES enrolments (id),
    citizen_id         TEXT NOT NULL,
    batch_id           TEXT NOT NULL,
    config_id          TEXT NOT NULL,
    level              TEXT NOT NULL,
    format             TEXT NOT NULL,
    status_shard       BIGINT NOT NULL REFERENCES status_shards (shard),
    status_idx         BIGINT NOT NULL CHECK (status_idx >= 0),
    status             BIGINT NOT NULL DEFAULT 0 CHECK (status IN (0, 1, 2)),
    kid                TEXT NOT NULL,
    holder_thumbprint  TEXT NOT NULL,
    issued_at          BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL,
    UNIQUE (status_shard, status_idx)
);
CREATE INDEX credentials_citizen ON credentials (citizen_id);
CREATE INDEX credentials_batch ON credentials (batch_id);
CREATE INDEX credentials_kid ON credentials (kid, expires_at);
CREATE INDEX credentials_shard_status ON credentials (status_shard, status) WHERE status <> 0;
CREATE TABLE audit (
    seq      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       BIGINT NOT NULL,
    actor    TEXT NOT NULL,
    event    TEXT NOT NULL,
    subject  TEXT,
    detail   TEXT
);
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit is append-only'; END $$;
CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
