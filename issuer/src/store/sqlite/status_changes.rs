//! The status-change log (`status_changes`, migration 2): every revoke, suspend and reinstate,
//! one row per changed entry, appended in the same transaction as the change itself. Its `seq`
//! is the high-water mark a trust bundle carries (`status_seq`) and a trust-bundle delta is
//! anchored on (`docs/scale.md`, "The delta format").
//!
//! All the SQL of the log is in this module's four small functions, so a storage backend
//! (PostgreSQL) ports them one by one.
//!
//! The invariant deltas rely on: once a reader sees `seq = n`, no change with a smaller `seq`
//! can still appear. SQLite gives it for free (one writer, `seq` assigned inside the writer's
//! transaction). PostgreSQL does not: a `BIGSERIAL` value is taken at insert time, so a
//! transaction holding `seq = 10` may commit after one holding `seq = 11`, and a reader that saw
//! 11 would never ship 10. A PostgreSQL port must serialize the log's writers (a row lock on a
//! counter row updated in the same transaction, or an advisory transaction lock) or cap the
//! high-water mark below every in-flight transaction. The PostgreSQL backend
//! (`store/postgres.rs`, `change_status` and `simulate`) takes an advisory transaction lock
//! before appending, so `seq` order is commit order there too.

use rusqlite::{params, Connection, OptionalExtension as _};

use crate::domain::status::{LogBounds, LoggedChange, ShardSizes};
use crate::store::error::DbError;

/// Appends one change (inside the caller's write transaction).
///
/// # Errors
/// SQLite errors.
pub fn record(
    conn: &Connection,
    at: i64,
    shard: i64,
    idx: i64,
    status: i64,
) -> Result<(), DbError> {
    conn.prepare_cached(
        "INSERT INTO status_changes (at, shard, idx, status) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![at, shard, idx, status])?;
    Ok(())
}

/// The newest `seq` (0 when no change was ever logged): the high-water mark.
///
/// # Errors
/// SQLite errors.
pub fn high_water(conn: &Connection) -> Result<i64, DbError> {
    Ok(conn
        .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM status_changes")?
        .query_row([], |r| r.get(0))?)
}

/// The log's bounds, and the time of change `since`.
///
/// # Errors
/// SQLite errors.
pub fn bounds(conn: &Connection, since: i64) -> Result<LogBounds, DbError> {
    let (latest, oldest): (i64, Option<i64>) = conn
        .prepare_cached("SELECT COALESCE(MAX(seq), 0), MIN(seq) FROM status_changes")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let since_at = conn
        .prepare_cached("SELECT at FROM status_changes WHERE seq = ?1")?
        .query_row([since], |r| r.get(0))
        .optional()?;
    Ok(LogBounds {
        latest,
        oldest,
        since_at,
    })
}

/// The changes with `after < seq <= upto`, in `seq` order, and the size of every shard.
///
/// # Errors
/// SQLite errors.
pub fn between(
    conn: &Connection,
    after: i64,
    upto: i64,
) -> Result<(Vec<LoggedChange>, ShardSizes), DbError> {
    let changes = conn
        .prepare_cached(
            "SELECT shard, idx, status FROM status_changes WHERE seq > ?1 AND seq <= ?2 ORDER BY seq",
        )?
        .query_map([after, upto], |r| {
            Ok(LoggedChange {
                shard: r.get(0)?,
                idx: r.get(1)?,
                status: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let sizes = conn
        .prepare_cached("SELECT shard, size FROM status_shards ORDER BY shard")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((changes, sizes))
}
