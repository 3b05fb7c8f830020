//! Tests of the SQLite migrations ([`crate::store::migrations::sql`]) and their runner
//! ([`super::migrate`]).

use rusqlite::Connection;

use super::{migrate, SCHEMA_VERSION};
use crate::store::migrations::{self, Dialect};

#[cfg(test)]
mod tests {
    use super::*;

    /// An in-memory database at migration `n`, recorded in `schema_version`; with foreign keys
    /// off when `foreign_keys_off`.
    fn at_migration(n: usize, foreign_keys_off: bool) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        if foreign_keys_off {
            conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        }
        conn.execute_batch(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
        )
        .unwrap();
        for (i, sql) in migrations::sql(Dialect::Sqlite).iter().take(n).enumerate() {
            conn.execute_batch(sql).unwrap();
            conn.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?1, 0)",
                [i as i64 + 1],
            )
            .unwrap();
        }
        conn
    }

    /// A database at migration 6 holding credentials with the given holder thumbprints.
    fn at_migration_6(holders: &[&str]) -> Connection {
        // The rows below only need their holder keys: no enrolment or shard rows behind them.
        let conn = at_migration(6, true);
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
        let mut conn = at_migration(8, true);
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

        let mut conn = at_migration(9, false);
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
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(|row| {
                let (kid, since, withdrawn_at) = row.unwrap();
                KeyWithdrawal {
                    kid,
                    since,
                    withdrawn_at,
                }
            })
            .collect();
        let expected = [("a", Some(86_400), 10), ("b", None, 40), ("c", None, 60)];
        let expected: Vec<KeyWithdrawal> = expected
            .into_iter()
            .map(|(kid, since, withdrawn_at)| KeyWithdrawal {
                kid: kid.into(),
                since,
                withdrawn_at,
            })
            .collect();
        assert_eq!(rows, expected);
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
