-- 1: initial schema.
CREATE TABLE officers (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('officer', 'admin')),
    token_hash  {bytes} NOT NULL,
    created_at  {int} NOT NULL,
    removed_at  {int}
);
CREATE TABLE platforms (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kid         TEXT NOT NULL UNIQUE,
    jwk         TEXT NOT NULL,
    created_at  {int} NOT NULL,
    removed_at  {int}
);
CREATE TABLE attestation_nonces (
    nonce_hash  {bytes} PRIMARY KEY,
    expires_at  {int} NOT NULL
);
CREATE TABLE enrolments (
    id          TEXT PRIMARY KEY,
    citizen_id  TEXT NOT NULL,
    level       TEXT NOT NULL CHECK (level IN ('basic', 'high')),
    evidence    TEXT NOT NULL,
    claims      {bytes},
    actor       TEXT NOT NULL,
    created_at  {int} NOT NULL
);
CREATE INDEX enrolments_citizen ON enrolments (citizen_id);
CREATE TABLE offers (
    id            TEXT PRIMARY KEY,
    enrolment_id  TEXT NOT NULL REFERENCES enrolments (id),
    config_ids    TEXT NOT NULL,
    code_hash     {bytes} NOT NULL,
    code_sealed   {bytes},
    tx_code_hash  {bytes} NOT NULL,
    attempts      {int} NOT NULL DEFAULT 0,
    state         TEXT NOT NULL CHECK (state IN ('open', 'redeemed', 'dead')),
    created_at    {int} NOT NULL,
    expires_at    {int} NOT NULL
);
CREATE TABLE access_tokens (
    id          TEXT PRIMARY KEY,
    token_hash  {bytes} NOT NULL,
    offer_id    TEXT NOT NULL UNIQUE REFERENCES offers (id),
    expires_at  {int} NOT NULL
);
CREATE TABLE token_issuances (
    token_id   TEXT NOT NULL REFERENCES access_tokens (id),
    config_id  TEXT NOT NULL,
    PRIMARY KEY (token_id, config_id)
);
CREATE TABLE c_nonces (
    nonce_hash  {bytes} PRIMARY KEY,
    expires_at  {int} NOT NULL
);
CREATE TABLE used_proofs (
    proof_hash  {bytes} PRIMARY KEY,
    expires_at  {int} NOT NULL
);
CREATE TABLE signing_keys (
    kid                     TEXT PRIMARY KEY,
    alg                     TEXT NOT NULL CHECK (alg IN ('ES256', 'EdDSA')),
    purpose                 TEXT NOT NULL CHECK (purpose IN ('credential', 'root')),
    state                   TEXT NOT NULL CHECK (state IN ('active', 'retired')),
    file                    TEXT NOT NULL,
    not_before              {int} NOT NULL,
    not_after               {int},
    last_credential_expiry  {int}
);
CREATE UNIQUE INDEX one_active_key ON signing_keys (purpose) WHERE state = 'active';
CREATE TABLE status_shards (
    shard      {int} PRIMARY KEY,
    size       {int} NOT NULL,
    allocated  {int} NOT NULL DEFAULT 0,
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
    status_shard       {int} NOT NULL REFERENCES status_shards (shard),
    status_idx         {int} NOT NULL CHECK (status_idx >= 0),
    status             {int} NOT NULL DEFAULT 0 CHECK (status IN (0, 1, 2)),
    kid                TEXT NOT NULL,
    holder_thumbprint  TEXT NOT NULL,
    issued_at          {int} NOT NULL,
    expires_at         {int} NOT NULL,
    UNIQUE (status_shard, status_idx)
);
CREATE INDEX credentials_citizen ON credentials (citizen_id);
CREATE INDEX credentials_batch ON credentials (batch_id);
CREATE INDEX credentials_kid ON credentials (kid, expires_at);
CREATE INDEX credentials_shard_status ON credentials (status_shard, status) WHERE status <> 0;
CREATE TABLE audit (
    seq      {serial},
    at       {int} NOT NULL,
    actor    TEXT NOT NULL,
    event    TEXT NOT NULL,
    subject  TEXT,
    detail   TEXT
);
