-- 3: refresh tokens (RFC 6749 section 6) and the access tokens they grant. A refresh token
-- belongs to a family (one per redeemed offer): each use marks it `used` and adds the next
-- one; presenting a `used` one revokes the family. Bound to the enrolment and the offer's
-- configurations.
CREATE TABLE refresh_tokens (
    id            TEXT PRIMARY KEY,
    token_hash    {bytes} NOT NULL,
    family_id     TEXT NOT NULL,
    enrolment_id  TEXT NOT NULL REFERENCES enrolments (id),
    config_ids    TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('active', 'used', 'revoked')),
    created_at    {int} NOT NULL,
    expires_at    {int} NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE TABLE refreshed_access_tokens (
    id          TEXT PRIMARY KEY,
    token_hash  {bytes} NOT NULL,
    refresh_id  TEXT NOT NULL UNIQUE REFERENCES refresh_tokens (id),
    expires_at  {int} NOT NULL
);
CREATE TABLE refreshed_issuances (
    token_id   TEXT NOT NULL REFERENCES refreshed_access_tokens (id),
    config_id  TEXT NOT NULL,
    PRIMARY KEY (token_id, config_id)
);
CREATE INDEX credentials_enrolment ON credentials (enrolment_id, status);
