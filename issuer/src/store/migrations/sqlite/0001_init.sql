-- 1: initial schema.
CREATE TABLE officers (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('officer', 'admin')),
    token_hash  BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    removed_at  INTEGER
);
CREATE TABLE platforms (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kid         TEXT NOT NULL UNIQUE,
    jwk         TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    removed_at  INTEGER
);
CREATE TABLE attestation_nonces (
    nonce_hash  BLOB PRIMARY KEY,
    expires_at  INTEGER NOT NULL
);
CREATE TABLE enrolments (
    id          TEXT PRIMARY KEY,
    citizen_id  TEXT NOT NULL,
    level       TEXT NOT NULL CHECK (level IN ('basic', 'high')),
    evidence    TEXT NOT NULL,
    claims      BLOB,
    actor       TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX enrolments_citizen ON enrolments (citizen_id);
CREATE TABLE offers (
    id            TEXT PRIMARY KEY,
    enrolment_id  TEXT NOT NULL REFERENCES enrolments (id),
    config_ids    TEXT NOT NULL,
    code_hash     BLOB NOT NULL,
    code_sealed   BLOB,
    tx_code_hash  BLOB NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    state         TEXT NOT NULL CHECK (state IN ('open', 'redeemed', 'dead')),
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);
CREATE TABLE access_tokens (
    id          TEXT PRIMARY KEY,
    token_hash  BLOB NOT NULL,
    offer_id    TEXT NOT NULL UNIQUE REFERENCES offers (id),
    expires_at  INTEGER NOT NULL
);
CREATE TABLE token_issuances (
    token_id   TEXT NOT NULL REFERENCES access_tokens (id),
    config_id  TEXT NOT NULL,
    PRIMARY KEY (token_id, config_id)
);
CREATE TABLE c_nonces (
    nonce_hash  BLOB PRIMARY KEY,
    expires_at  INTEGER NOT NULL
);
CREATE TABLE used_proofs (
    proof_hash  BLOB PRIMARY KEY,
    expires_at  INTEGER NOT NULL
);
CREATE TABLE signing_keys (
    kid                     TEXT PRIMARY KEY,
    alg                     TEXT NOT NULL CHECK (alg IN ('ES256', 'EdDSA')),
    purpose                 TEXT NOT NULL CHECK (purpose IN ('credential', 'root')),
    state                   TEXT NOT NULL CHECK (state IN ('active', 'retired')),
    file                    TEXT NOT NULL,
    not_before              INTEGER NOT NULL,
    not_after               INTEGER,
    last_credential_expiry  INTEGER
);
CREATE UNIQUE INDEX one_active_key ON signing_keys (purpose) WHERE state = 'active';
CREATE TABLE status_shards (
    shard      INTEGER PRIMARY KEY,
    size       INTEGER NOT NULL,
    allocated  INTEGER NOT NULL DEFAULT 0,
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
    status_shard       INTEGER NOT NULL REFERENCES status_shards (shard),
    status_idx         INTEGER NOT NULL CHECK (status_idx >= 0),
    status             INTEGER NOT NULL DEFAULT 0 CHECK (status IN (0, 1, 2)),
    kid                TEXT NOT NULL,
    holder_thumbprint  TEXT NOT NULL,
    issued_at          INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    UNIQUE (status_shard, status_idx)
);
CREATE INDEX credentials_citizen ON credentials (citizen_id);
CREATE INDEX credentials_batch ON credentials (batch_id);
CREATE INDEX credentials_kid ON credentials (kid, expires_at);
CREATE INDEX credentials_shard_status ON credentials (status_shard, status) WHERE status <> 0;
CREATE TABLE audit (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    at       INTEGER NOT NULL,
    actor    TEXT NOT NULL,
    event    TEXT NOT NULL,
    subject  TEXT,
    detail   TEXT
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
