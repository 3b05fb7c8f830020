//! The schema migrations, as `.sql` files: one numbered set per dialect (`sqlite/`,
//! `postgres/`), the same numbers with the same effects. Each backend's runner applies the
//! missing ones in order, each in its own transaction, and records its number in
//! `schema_version`. Never edit a released migration; append a new file to both sets.
//!
//! What is stored, and what is not: no claim value is stored in clear. An enrolment keeps its
//! claims sealed with AES-256-GCM under a key derived from the data directory's master secret
//! (needed to issue when the wallet redeems the offer). A citizen is identified by a peppered
//! SHA-256 digest of the `id_number`. Bearer secrets (officer tokens, pre-authorized codes,
//! access tokens, refresh tokens), `tx_code`s and nonces are stored as SHA-256 digests only.

/// SQLite's migrations, in order (migration `n` at index `n - 1`).
pub const SQLITE: [&str; 11] = [
    include_str!("sqlite/0001_init.sql"),
    include_str!("sqlite/0002_status_changes.sql"),
    include_str!("sqlite/0003_refresh_tokens.sql"),
    include_str!("sqlite/0004_sealed_keys_shard_versions.sql"),
    include_str!("sqlite/0005_refresh_grace.sql"),
    include_str!("sqlite/0006_expiry_indexes.sql"),
    include_str!("sqlite/0007_holder_keys.sql"),
    include_str!("sqlite/0008_citizen_holds.sql"),
    include_str!("sqlite/0009_keyed_tx_codes.sql"),
    include_str!("sqlite/0010_key_withdrawals.sql"),
    include_str!("sqlite/0011_hsm_keys.sql"),
];

/// PostgreSQL's migrations, in order: the same numbers as [`SQLITE`] (the array types keep
/// the two sets the same length).
pub const POSTGRES: [&str; 11] = [
    include_str!("postgres/0001_init.sql"),
    include_str!("postgres/0002_status_changes.sql"),
    include_str!("postgres/0003_refresh_tokens.sql"),
    include_str!("postgres/0004_sealed_keys_shard_versions.sql"),
    include_str!("postgres/0005_refresh_grace.sql"),
    include_str!("postgres/0006_expiry_indexes.sql"),
    include_str!("postgres/0007_holder_keys.sql"),
    include_str!("postgres/0008_citizen_holds.sql"),
    include_str!("postgres/0009_keyed_tx_codes.sql"),
    include_str!("postgres/0010_key_withdrawals.sql"),
    include_str!("postgres/0011_hsm_keys.sql"),
];

/// The newest schema version this binary knows (both dialects).
pub const SCHEMA_VERSION: i64 = SQLITE.len() as i64;

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
        let sqlite = files("sqlite");
        assert_eq!(sqlite.len(), super::SQLITE.len());
        assert_eq!(
            files("postgres"),
            sqlite,
            "same numbers and names per dialect"
        );
        for (i, name) in sqlite.iter().enumerate() {
            assert!(name.starts_with(&format!("{:04}_", i + 1)), "{name}");
        }
    }
}
