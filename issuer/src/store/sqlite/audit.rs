//! The append-only audit trail (table `audit`; triggers reject UPDATE and DELETE).
//!
//! Events: [`crate::domain::audit::AuditEvent`] names each one (`enrolment.basic`,
//! `status.revoke`, `housekeeping.sweep`, ...). `detail` holds ids and outcomes only, never
//! claim values or secrets.
//!
//! The functions here are the SQLite side ([`crate::store`]'s SQLite backend calls them inside
//! its write jobs); the PostgreSQL backend appends the same rows with the same columns.

use rusqlite::{params, Connection};
use serde_json::Value;

use crate::domain::audit::{AuditEntry, AuditFilter};
use crate::store::error::DbError;

/// Appends one event.
///
/// # Errors
/// SQLite errors.
pub fn append(
    conn: &Connection,
    at: i64,
    actor: &str,
    event: &str,
    subject: Option<&str>,
    detail: &Value,
) -> Result<(), DbError> {
    conn.prepare_cached(
        "INSERT INTO audit (at, actor, event, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![at, actor, event, subject, detail.to_string()])?;
    Ok(())
}

/// [`crate::store::Store::audit_list`]'s selection, in SQLite's dialect: `?1` since, `?2` until (inclusive
/// unix times), `?3` event prefix, `?4` actor (each NULL for any), `?5` limit.
const AUDIT_LIST_SQLITE: &str = "SELECT seq, at, actor, event, subject, detail FROM audit
     WHERE (?1 IS NULL OR at >= ?1) AND (?2 IS NULL OR at <= ?2)
       AND (?3 IS NULL OR substr(event, 1, length(?3)) = ?3)
       AND (?4 IS NULL OR actor = ?4)
     ORDER BY seq DESC LIMIT ?5";

/// The events `filter` selects: the newest `filter.limit`, oldest first.
///
/// # Errors
/// SQLite errors.
pub fn list(conn: &Connection, filter: &AuditFilter) -> Result<Vec<AuditEntry>, DbError> {
    let mut s = conn.prepare_cached(AUDIT_LIST_SQLITE)?;
    let mut rows = s
        .query_map(
            params![
                filter.since,
                filter.until,
                filter.event_prefix,
                filter.actor,
                filter.limit
            ],
            entry,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    rows.reverse();
    Ok(rows)
}

fn entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        seq: r.get(0)?,
        at: r.get(1)?,
        actor: r.get(2)?,
        event: r.get(3)?,
        subject: r.get(4)?,
        detail: r.get(5)?,
    })
}

/// The last `limit` events, newest first.
///
/// # Errors
/// SQLite errors.
pub fn recent(conn: &Connection, limit: i64) -> Result<Vec<AuditEntry>, DbError> {
    let mut s = conn.prepare(
        "SELECT seq, at, actor, event, subject, detail FROM audit ORDER BY seq DESC LIMIT ?1",
    )?;
    let rows = s
        .query_map([limit], entry)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
