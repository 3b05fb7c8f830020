//! The schema migrations, as numbered `.sql` files: what both dialects share in `common/`
//! (column types as placeholders, filled per dialect by [`sql`]) and what only one dialect
//! says in `sqlite/` and `postgres/` (triggers, JSON functions), the same numbers with the
//! same effects. Each backend's runner applies the missing ones in order, each in its own
//! transaction, and records its number in `schema_version`. Never change the schema a released
//! migration makes (`issuer/tests/it/schema.rs` compares it with a record); append a new
//! number.
//!
//! What is stored, and what is not: no claim value is stored in clear. An enrolment keeps its
//! claims sealed with AES-256-GCM under a key derived from the data directory's master secret
//! (needed to issue when the wallet redeems the offer). A citizen is identified by a peppered
//! SHA-256 digest of the `id_number`. Bearer secrets (officer tokens, pre-authorized codes,
//! access tokens, refresh tokens), `tx_code`s and nonces are stored as SHA-256 digests only.

/// A SQL dialect the migrations are written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite (the embedded default).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Dialect {
    /// What each column-type placeholder of a shared file stands for in this dialect.
    fn types(self) -> [(&'static str, &'static str); 3] {
        match self {
            Dialect::Sqlite => [
                ("{serial}", "INTEGER PRIMARY KEY AUTOINCREMENT"),
                ("{int}", "INTEGER"),
                ("{bytes}", "BLOB"),
            ],
            Dialect::Postgres => [
                (
                    "{serial}",
                    "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
                ),
                ("{int}", "BIGINT"),
                ("{bytes}", "BYTEA"),
            ],
        }
    }
}

/// One migration: the part both dialects share (`common/`, column types written as
/// `{int}`, `{bytes}` and `{serial}`), then each dialect's own part (`sqlite/`, `postgres/`;
/// empty when the shared part says it all), applied in that order in one transaction.
struct Migration {
    common: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// A migration whose SQL is the same in both dialects but for the column types.
const fn shared(common: &'static str) -> Migration {
    Migration {
        common,
        sqlite: "",
        postgres: "",
    }
}

/// The migrations, in order (migration `n` at index `n - 1`).
const MIGRATIONS: [Migration; 11] = [
    Migration {
        common: include_str!("common/0001_init.sql"),
        sqlite: include_str!("sqlite/0001_init.sql"),
        postgres: include_str!("postgres/0001_init.sql"),
    },
    Migration {
        common: include_str!("common/0002_status_changes.sql"),
        sqlite: include_str!("sqlite/0002_status_changes.sql"),
        postgres: include_str!("postgres/0002_status_changes.sql"),
    },
    shared(include_str!("common/0003_refresh_tokens.sql")),
    shared(include_str!("common/0004_sealed_keys_shard_versions.sql")),
    shared(include_str!("common/0005_refresh_grace.sql")),
    shared(include_str!("common/0006_expiry_indexes.sql")),
    shared(include_str!("common/0007_holder_keys.sql")),
    shared(include_str!("common/0008_citizen_holds.sql")),
    shared(include_str!("common/0009_keyed_tx_codes.sql")),
    Migration {
        common: include_str!("common/0010_key_withdrawals.sql"),
        sqlite: include_str!("sqlite/0010_key_withdrawals.sql"),
        postgres: include_str!("postgres/0010_key_withdrawals.sql"),
    },
    shared(include_str!("common/0011_hsm_keys.sql")),
];

/// The newest schema version this binary knows (both dialects).
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Each migration's SQL in `dialect`, in order (migration `n` at index `n - 1`): the shared part
/// with its column types filled in, then the dialect's own part.
pub fn sql(dialect: Dialect) -> Vec<String> {
    MIGRATIONS
        .iter()
        .map(|m| {
            let mut common = m.common.to_owned();
            for (placeholder, column_type) in dialect.types() {
                common = common.replace(placeholder, column_type);
            }
            let own = match dialect {
                Dialect::Sqlite => m.sqlite,
                Dialect::Postgres => m.postgres,
            };
            common + own
        })
        .collect()
}

#[cfg(test)]
mod tests {
    /// The `.sql` files of a dialect's directory, sorted.
    fn files(dialect: &str) -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/store/migrations")
            .join(dialect);
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn every_migration_file_is_applied_and_both_dialects_number_them_alike() {
        let common = files("common");
        assert_eq!(common.len(), super::MIGRATIONS.len());
        for (i, name) in common.iter().enumerate() {
            assert!(name.starts_with(&format!("{:04}_", i + 1)), "{name}");
        }
        let sqlite = files("sqlite");
        assert_eq!(
            files("postgres"),
            sqlite,
            "same numbers and names per dialect"
        );
        for name in &sqlite {
            assert!(common.contains(name), "{name} has a shared part");
        }
        let own = super::MIGRATIONS.iter().filter(|m| !m.sqlite.is_empty());
        assert_eq!(own.count(), sqlite.len(), "every dialect file is applied");
    }

    #[test]
    fn shared_files_name_no_dialect_type_and_every_placeholder_is_filled() {
        for m in &super::MIGRATIONS {
            for word in [
                "INTEGER",
                "BIGINT",
                "BLOB",
                "BYTEA",
                "AUTOINCREMENT",
                "IDENTITY",
            ] {
                assert!(!m.common.contains(word), "{word} in {}", m.common);
            }
        }
        for dialect in [super::Dialect::Sqlite, super::Dialect::Postgres] {
            for sql in super::sql(dialect) {
                for (placeholder, _) in dialect.types() {
                    assert!(!sql.contains(placeholder), "{placeholder} left in {sql}");
                }
            }
        }
    }
}
