//! The schema each backend ends up with after all migrations is the one recorded in
//! `tests/it/schema/sqlite.txt` and `tests/it/schema/postgres.txt`: how the migrations are
//! written (a file shared by both dialects, a column type filled in per dialect) must not change
//! a table, column, type, default, index, constraint, trigger or function. SQLite keeps each
//! `CREATE` statement's text, so its dump compares them to the letter; PostgreSQL's dump lists
//! its catalogue. After a deliberate schema change (a new migration), rewrite the records with
//! `ISSUER_TEST_WRITE_SCHEMA=1` and review the diff.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use issuer::config::DatabaseUrl;
use issuer::store::DatabaseTls;

use crate::client::{fresh_postgres_database, PG_GATE};

/// Compares `dump` with the record `name`, or rewrites the record when asked to.
fn compare_with_record(name: &str, dump: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/schema")
        .join(name);
    if std::env::var("ISSUER_TEST_WRITE_SCHEMA").as_deref() == Ok("1") {
        std::fs::write(&path, dump).unwrap();
        return;
    }
    let recorded = std::fs::read_to_string(&path).unwrap();
    assert!(
        recorded == dump,
        "the {name} schema differs from the record:\n--- recorded\n{recorded}\n--- now\n{dump}"
    );
}

#[tokio::test]
async fn the_sqlite_schema_after_all_migrations_is_the_recorded_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = issuer::store::open(
        dir.path(),
        None,
        &DatabaseTls::default(),
        1,
        ChaCha20Rng::seed_from_u64(1),
    )
    .await
    .unwrap();
    drop(store);
    let conn = rusqlite::Connection::open(dir.path().join("issuer.sqlite3")).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT type, name, tbl_name, sql FROM sqlite_master
             WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
        )
        .unwrap();
    let dump: Vec<String> = stmt
        .query_map([], |r| {
            Ok(format!(
                "{} {} on {}:\n{}\n",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?.unwrap_or_default()
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    compare_with_record("sqlite.txt", &dump.concat());
}

/// What PostgreSQL's catalogue says about the issuer's schema, one line per item.
const POSTGRES_CATALOGUE: [&str; 5] = [
    "SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type
            || ' nullable=' || is_nullable || ' default=' || COALESCE(column_default, '-')
            || ' identity=' || COALESCE(identity_generation, '-')
       FROM information_schema.columns WHERE table_schema = 'public'
      ORDER BY table_name, ordinal_position",
    "SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' '
            || pg_get_constraintdef(oid)
       FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1",
    "SELECT 'index ' || indexname || ' ' || indexdef
       FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1",
    "SELECT 'trigger ' || tgname || ' ' || pg_get_triggerdef(oid)
       FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1",
    "SELECT 'function ' || proname || ' ' || prosrc
       FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY 1",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_schema_after_all_migrations_is_the_recorded_one() {
    let _gate = PG_GATE.read().await;
    let Some(url) = fresh_postgres_database().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = issuer::store::open(
        dir.path(),
        Some(&DatabaseUrl::parse(&url).unwrap()),
        &DatabaseTls::default(),
        1,
        ChaCha20Rng::seed_from_u64(1),
    )
    .await
    .unwrap();
    drop(store);
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut dump = String::new();
    for query in POSTGRES_CATALOGUE {
        for row in client.query(query, &[]).await.unwrap() {
            dump.push_str(row.get::<_, &str>(0));
            dump.push('\n');
        }
    }
    compare_with_record("postgres.txt", &dump);
}
