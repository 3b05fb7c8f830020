//! Ordered schema migrations. Each runs once, in its own transaction, and records its number
//! in `schema_version`. Never edit a released migration; append a new one.
//!
//! What is stored, and what is not: no claim value is stored in clear. An enrolment keeps its
//! claims sealed with AES-256-GCM under a key derived from the data directory's master secret
//! (needed to issue when the wallet redeems the offer). A citizen is identified by a peppered
//! SHA-256 digest of the `id_number`. Bearer secrets (officer tokens, pre-authorized codes,
//! access tokens, refresh tokens), `tx_code`s and nonces are stored as SHA-256 digests only.

use rusqlite::Connection;

use super::DbError;

/// The newest schema version this binary knows.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const MIGRATIONS: &[&str] = &[
    // 1: initial schema.
    r#"
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
"#,
    // 2: the status-change log (trust-bundle deltas; issuer/src/status_changes.rs). One row per
    // changed entry, written in the transaction of the change; `seq` is the high-water mark a
    // trust bundle carries as `status_seq`.
    r#"
CREATE TABLE status_changes (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    shard   INTEGER NOT NULL,
    idx     INTEGER NOT NULL CHECK (idx >= 0),
    status  INTEGER NOT NULL CHECK (status IN (0, 1, 2))
);
CREATE TRIGGER status_changes_no_update BEFORE UPDATE ON status_changes
BEGIN SELECT RAISE(ABORT, 'status_changes is append-only'); END;
"#,
    // 3: refresh tokens (RFC 6749 section 6) and the access tokens they grant. A refresh token
    // belongs to a family (one per redeemed offer): each use marks it `used` and adds the next
    // one; presenting a `used` one revokes the family. Bound to the enrolment and the offer's
    // configurations.
    r#"
CREATE TABLE refresh_tokens (
    id            TEXT PRIMARY KEY,
    token_hash    BLOB NOT NULL,
    family_id     TEXT NOT NULL,
    enrolment_id  TEXT NOT NULL REFERENCES enrolments (id),
    config_ids    TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('active', 'used', 'revoked')),
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE TABLE refreshed_access_tokens (
    id          TEXT PRIMARY KEY,
    token_hash  BLOB NOT NULL,
    refresh_id  TEXT NOT NULL UNIQUE REFERENCES refresh_tokens (id),
    expires_at  INTEGER NOT NULL
);
CREATE TABLE refreshed_issuances (
    token_id   TEXT NOT NULL REFERENCES refreshed_access_tokens (id),
    config_id  TEXT NOT NULL,
    PRIMARY KEY (token_id, config_id)
);
CREATE INDEX credentials_enrolment ON credentials (enrolment_id, status);
"#,
    // 4: signing keys sealed in the database (shared by replicas); shard versions (status-list
    // caches see a change at once). Same numbers as the PostgreSQL migrations.
    r#"
ALTER TABLE signing_keys ADD COLUMN sealed_jwk BLOB;
ALTER TABLE status_shards ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
"#,
    // 5: the refresh-token reuse grace window (docs/issuer.md, "Refreshing a batch"). A spent
    // token records when it was spent and its live successor; a successor that a retry of its
    // predecessor replaced before it was ever used is revoked with `superseded_at` set, so
    // presenting it later is reuse. Tokens spent before this migration have no `used_at` and
    // get no grace.
    r#"
ALTER TABLE refresh_tokens ADD COLUMN used_at INTEGER;
ALTER TABLE refresh_tokens ADD COLUMN next_id TEXT;
ALTER TABLE refresh_tokens ADD COLUMN superseded_at INTEGER;
"#,
    // 6: expiry indexes, so the housekeeping sweep (crate::sweep) finds expired rows without
    // scanning the live ones.
    r#"
CREATE INDEX c_nonces_expiry ON c_nonces (expires_at);
CREATE INDEX attestation_nonces_expiry ON attestation_nonces (expires_at);
CREATE INDEX used_proofs_expiry ON used_proofs (expires_at);
CREATE INDEX access_tokens_expiry ON access_tokens (expires_at);
CREATE INDEX refreshed_access_tokens_expiry ON refreshed_access_tokens (expires_at);
CREATE INDEX offers_expiry ON offers (expires_at);
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);
"#,
    // 7: one holder key per credential (docs/issuer.md, "Holder keys"): copies that share a
    // key can be linked by verifiers. Simulated rows (crate::simulate) all carried the
    // placeholder 'simulated' and get one of their own first. Real duplicates from before this
    // migration make it fail, which stops the upgrade: see the pre-upgrade check in the docs.
    r#"
UPDATE credentials SET holder_thumbprint = 'simulated:' || id WHERE holder_thumbprint = 'simulated';
CREATE UNIQUE INDEX credentials_holder ON credentials (holder_thumbprint);
"#,
    // 8: citizen holds (docs/issuer.md, "Revoking a citizen"): a revoked or suspended citizen
    // gets nothing new from any enrolment, pending offers and tokens included. `status` uses
    // the status-list bits (1 revoked, final; 2 suspended, lifted by reinstate).
    r#"
CREATE TABLE citizen_holds (
    citizen_id  TEXT PRIMARY KEY,
    status      INTEGER NOT NULL CHECK (status IN (1, 2)),
    changed_at  INTEGER NOT NULL,
    actor       TEXT NOT NULL
);
"#,
    // 9: tx_code digests are keyed (HMAC-SHA-256 under a key derived from the master secret,
    // docs/issuer.md "Storage and durability"). Offers still open carry the old unkeyed digest,
    // which a database reader can crack: they are closed, and the officer enrols the citizen
    // again for a new offer.
    r#"
UPDATE offers SET state = 'dead', code_sealed = NULL WHERE state = 'open';
"#,
    // 10: key withdrawals in their own table (docs/issuer.md, "Withdrawing a compromised key"),
    // so loading the keys does not scan the audit trail. One row per key, the strictest
    // withdrawal: `since` NULL (every credential) beats any time, else the earliest; written
    // in the same transaction as the `key.withdrawn` audit event, and filled here from the
    // events recorded before this migration.
    r#"
CREATE TABLE key_withdrawals (
    kid           TEXT PRIMARY KEY,
    since         INTEGER,
    withdrawn_at  INTEGER NOT NULL
);
INSERT INTO key_withdrawals (kid, since, withdrawn_at)
SELECT subject, CASE WHEN COUNT(*) > COUNT(since) THEN NULL ELSE MIN(since) END, MIN(at)
FROM (SELECT subject, at,
             CASE WHEN json_valid(detail) THEN
               CASE WHEN json_type(detail, '$.since') = 'integer'
                    THEN json_extract(detail, '$.since') END
             END AS since
      FROM audit WHERE event = 'key.withdrawn' AND subject IS NOT NULL)
GROUP BY subject;
"#,
];

/// Brings the database to [`SCHEMA_VERSION`].
///
/// # Errors
/// [`DbError::SchemaTooNew`] when the file is from a newer binary; SQLite errors otherwise.
pub fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
            version     INTEGER PRIMARY KEY,
            applied_at  INTEGER NOT NULL
        )",
    )?;
    let current: i64 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )?;
    if current > SCHEMA_VERSION {
        return Err(DbError::SchemaTooNew {
            found: current,
            supported: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = i as i64 + 1;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Another process may have migrated between our read and our lock.
        let done: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM schema_version WHERE version = ?1)",
            [version],
            |r| r.get(0),
        )?;
        if !done {
            tx.execute_batch(sql)?;
            tx.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?1, unixepoch())",
                [version],
            )?;
        }
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database at migration 6 holding credentials with the given holder thumbprints.
    fn at_migration_6(holders: &[&str]) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        // The rows below only need their holder keys: no enrolment or shard rows behind them.
        conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
        )
        .unwrap();
        for (i, sql) in MIGRATIONS.iter().take(6).enumerate() {
            conn.execute_batch(sql).unwrap();
            conn.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?1, 0)",
                [i as i64 + 1],
            )
            .unwrap();
        }
        for (i, holder) in holders.iter().enumerate() {
            conn.execute(
                "INSERT INTO credentials (id, enrolment_id, citizen_id, batch_id, config_id, level,
                   format, status_shard, status_idx, kid, holder_thumbprint, issued_at, expires_at)
                 VALUES (?1, 'e', 'c', ?1, 'cfg', 'basic', 'dc+sd-jwt', 0, ?2, 'k', ?3, 0, 1)",
                rusqlite::params![format!("id{i}"), i as i64, holder],
            )
            .unwrap();
        }
        conn
    }

    fn version(conn: &Connection) -> i64 {
        conn.query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn migration_7_gives_simulated_rows_their_own_placeholder() {
        let mut conn = at_migration_6(&["simulated", "simulated", "real-a"]);
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn), SCHEMA_VERSION);
        let distinct: i64 = conn
            .query_row(
                "SELECT COUNT(DISTINCT holder_thumbprint) FROM credentials",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(distinct, 3);
        let err = conn.execute(
            "INSERT INTO credentials (id, enrolment_id, citizen_id, batch_id, config_id, level,
               format, status_shard, status_idx, kid, holder_thumbprint, issued_at, expires_at)
             VALUES ('x', 'e', 'c', 'x', 'cfg', 'basic', 'dc+sd-jwt', 0, 99, 'k', 'real-a', 0, 1)",
            [],
        );
        assert!(err.is_err(), "the unique index refuses a second real-a");
    }

    #[test]
    fn migration_9_closes_offers_with_unkeyed_tx_code_digests() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
        )
        .unwrap();
        for (i, sql) in MIGRATIONS.iter().take(8).enumerate() {
            conn.execute_batch(sql).unwrap();
            conn.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?1, 0)",
                [i as i64 + 1],
            )
            .unwrap();
        }
        for (id, state) in [("open1", "open"), ("used1", "redeemed")] {
            conn.execute(
                "INSERT INTO offers (id, enrolment_id, config_ids, code_hash, code_sealed,
                   tx_code_hash, state, created_at, expires_at)
                 VALUES (?1, 'e', '[]', x'00', x'01', x'02', ?2, 0, 99)",
                rusqlite::params![id, state],
            )
            .unwrap();
        }
        migrate(&mut conn).unwrap();
        let rows: Vec<(String, String, Option<Vec<u8>>)> = conn
            .prepare("SELECT id, state, code_sealed FROM offers ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows[0], ("open1".into(), "dead".into(), None));
        assert_eq!(rows[1].1, "redeemed");
    }

    #[test]
    fn migration_10_moves_key_withdrawals_from_the_audit_trail_to_their_table() {
        use crate::domain::audit::{AuditEntry, AuditEvent};
        use crate::domain::keys::{from_audit, KeyWithdrawal};
        const WITHDRAW_EVENT: &str = AuditEvent::KeyWithdrawn.as_str();

        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
        )
        .unwrap();
        for (i, sql) in MIGRATIONS.iter().take(9).enumerate() {
            conn.execute_batch(sql).unwrap();
            conn.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?1, 0)",
                [i as i64 + 1],
            )
            .unwrap();
        }
        // Key a withdrawn twice (the earlier day counts), b withdrawn for a day then for every
        // credential (all counts), c once for every credential; other events are not
        // withdrawals.
        let events = [
            (
                10,
                WITHDRAW_EVENT,
                "a",
                r#"{"since": 864000, "new_active_key": "n1"}"#,
            ),
            (
                20,
                "key.rotated",
                "n1",
                r#"{"retired": "a", "alg": "ES256"}"#,
            ),
            (
                30,
                WITHDRAW_EVENT,
                "a",
                r#"{"since": 86400, "new_active_key": "n2"}"#,
            ),
            (
                40,
                WITHDRAW_EVENT,
                "b",
                r#"{"since": 86400, "new_active_key": "n3"}"#,
            ),
            (
                50,
                WITHDRAW_EVENT,
                "b",
                r#"{"since": null, "new_active_key": "n4"}"#,
            ),
            (
                60,
                WITHDRAW_EVENT,
                "c",
                r#"{"since": null, "new_active_key": "n5"}"#,
            ),
        ];
        let mut entries = Vec::new();
        for (at, event, subject, detail) in events {
            conn.execute(
                "INSERT INTO audit (at, actor, event, subject, detail) VALUES (?1, 'cli:test', ?2, ?3, ?4)",
                rusqlite::params![at, event, subject, detail],
            )
            .unwrap();
            entries.push(AuditEntry {
                seq: at,
                at,
                actor: "cli:test".into(),
                event: event.into(),
                subject: Some(subject.into()),
                detail: Some(detail.into()),
            });
        }
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn), SCHEMA_VERSION);
        let rows: Vec<KeyWithdrawal> = conn
            .prepare("SELECT kid, since, withdrawn_at FROM key_withdrawals ORDER BY withdrawn_at")
            .unwrap()
            .query_map([], |r| {
                Ok(KeyWithdrawal {
                    kid: r.get(0)?,
                    since: r.get(1)?,
                    withdrawn_at: r.get(2)?,
                })
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![
                KeyWithdrawal {
                    kid: "a".into(),
                    since: Some(86_400),
                    withdrawn_at: 10
                },
                KeyWithdrawal {
                    kid: "b".into(),
                    since: None,
                    withdrawn_at: 40
                },
                KeyWithdrawal {
                    kid: "c".into(),
                    since: None,
                    withdrawn_at: 60
                },
            ]
        );
        assert_eq!(
            rows,
            from_audit(&entries),
            "the same rule as the audit fold"
        );
        let audit_rows: i64 = conn
            .query_row("SELECT COUNT(*) FROM audit", [], |r| r.get(0))
            .unwrap();
        assert_eq!(audit_rows, 6, "the audit trail is kept whole");
    }

    #[test]
    fn migration_7_stops_on_real_shared_keys_and_leaves_migration_6() {
        let mut conn = at_migration_6(&["real-a", "real-a"]);
        assert!(migrate(&mut conn).is_err());
        assert_eq!(version(&conn), 6);
    }
}
