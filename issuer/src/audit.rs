//! The append-only audit trail (table `audit`; triggers reject UPDATE and DELETE).
//!
//! Events: `enrolment.basic`, `enrolment.high`, `offer.redeemed`, `offer.dead`,
//! `refresh.used`, `refresh.grace` (a retry within the reuse grace window), `refresh.refused`,
//! `credential.issued`, `status.revoke|suspend|reinstate`, `key.created`, `key.rotated`,
//! `officer.added|removed`, `platform.added|removed`, `housekeeping.sweep` (counts of the rows a
//! sweep deleted, [`crate::sweep`]). `detail` holds ids and outcomes only, never
//! claim values or secrets.
//!
//! The functions here are the SQLite side ([`crate::store`]'s SQLite backend calls them inside
//! its write jobs); the PostgreSQL backend appends the same rows with the same columns.

use rusqlite::{params, Connection};
use serde_json::Value;

use crate::db::DbError;

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

/// One audit row.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditEntry {
    /// Sequence number.
    pub seq: i64,
    /// Unix time.
    pub at: i64,
    /// Who: an officer id, `system`, `wallet`, `cli:<user>`.
    pub actor: String,
    /// Event name.
    pub event: String,
    /// Subject id.
    pub subject: Option<String>,
    /// Ids and outcomes (JSON).
    pub detail: Option<String>,
}

/// Which audit events to list (`issuer audit`); `None` selects any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Events at or after this unix time.
    pub since: Option<i64>,
    /// Events at or before this unix time.
    pub until: Option<i64>,
    /// Events whose name starts with this (`status.` selects every status change).
    pub event_prefix: Option<String>,
    /// Events of this actor.
    pub actor: Option<String>,
    /// The newest this many matching events are listed (oldest first).
    pub limit: i64,
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
        .query_map([limit], |r| {
            Ok(AuditEntry {
                seq: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                event: r.get(3)?,
                subject: r.get(4)?,
                detail: r.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
