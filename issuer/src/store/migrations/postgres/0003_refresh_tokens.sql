-- 3: refresh tokens and the access tokens they grant (SQLite migration 3).
CREATE TABLE refresh_tokens (
    id            TEXT PRIMARY KEY,
    token_hash    BYTEA NOT NULL,
    family_id     TEXT NOT NULL,
    enrolment_id  TEXT NOT NULL REFERENCES enrolments (id),
    config_ids    TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('active', 'used', 'revoked')),
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE TABLE refreshed_access_tokens (
    id          TEXT PRIMARY KEY,
    token_hash  BYTEA NOT NULL,
    refresh_id  TEXT NOT NULL UNIQUE REFERENCES refresh_tokens (id),
    expires_at  BIGINT NOT NULL
);
CREATE TABLE refreshed_issuances (
    token_id   TEXT NOT NULL REFERENCES refreshed_access_tokens (id),
    config_id  TEXT NOT NULL,
    PRIMARY KEY (token_id, config_id)
);
CREATE INDEX credentials_enrolment ON credentials (enrolment_id, status);
