//! The relying party's pending requests: one SQLite file in the data directory,
//! `requests.sqlite`. A row is written by `verifier request` and removed by `verifier verify`
//! when an answer to it passed the holder-binding checks (so each nonce is answered once), or
//! when it has expired.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension as _};

/// A request waiting for its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The nonce (primary key).
    pub nonce: String,
    /// The `client_id` it was made with (the expected KB-JWT `aud`).
    pub client_id: String,
    /// The profile's name.
    pub profile: String,
    /// The policy file text, so the answer is checked with the policy it was asked under.
    pub policy: String,
    /// The DCQL credential query ids, JSON array.
    pub query_ids: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// The open state database.
pub struct State {
    conn: Connection,
}

impl State {
    /// Opens (creating) `dir/requests.sqlite`.
    pub fn open(dir: &Path) -> anyhow::Result<State> {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("data directory {}: {e}", dir.display()))?;
        let conn = Connection::open(dir.join("requests.sqlite"))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS requests (
               nonce TEXT PRIMARY KEY,
               client_id TEXT NOT NULL,
               profile TEXT NOT NULL,
               policy TEXT NOT NULL,
               query_ids TEXT NOT NULL,
               created_at INTEGER NOT NULL,
               expires_at INTEGER NOT NULL
             );",
        )?;
        Ok(State { conn })
    }

    /// Remembers a request, dropping expired ones.
    pub fn remember(&self, p: &Pending, now: i64) -> anyhow::Result<()> {
        self.conn
            .execute("DELETE FROM requests WHERE expires_at < ?1", [now])?;
        self.conn.execute(
            "INSERT INTO requests (nonce, client_id, profile, policy, query_ids, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                p.nonce,
                p.client_id,
                p.profile,
                p.policy,
                serde_json::to_string(&p.query_ids)?,
                p.created_at,
                p.expires_at
            ],
        )?;
        Ok(())
    }

    /// The pending request with this nonce, if any.
    pub fn find(&self, nonce: &str) -> anyhow::Result<Option<Pending>> {
        let row = self
            .conn
            .query_row(
                "SELECT nonce, client_id, profile, policy, query_ids, created_at, expires_at
                 FROM requests WHERE nonce = ?1",
                [nonce],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, i64>(5)?,
                        r.get::<_, i64>(6)?,
                    ))
                },
            )
            .optional()?;
        let Some((nonce, client_id, profile, policy, ids, created_at, expires_at)) = row else {
            return Ok(None);
        };
        Ok(Some(Pending {
            nonce,
            client_id,
            profile,
            policy,
            query_ids: serde_json::from_str(&ids)?,
            created_at,
            expires_at,
        }))
    }

    /// Removes the request; `true` when this call removed it (so exactly one answer wins,
    /// even with concurrent `verify` processes).
    pub fn consume(&self, nonce: &str) -> anyhow::Result<bool> {
        Ok(self
            .conn
            .execute("DELETE FROM requests WHERE nonce = ?1", [nonce])?
            == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remember_find_consume_once() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::open(dir.path()).unwrap();
        let p = Pending {
            nonce: "n1".into(),
            client_id: "https://hotel.example".into(),
            profile: "hotel".into(),
            policy: "name = \"hotel\"".into(),
            query_ids: vec!["citizen_id".into()],
            created_at: 100,
            expires_at: 700,
        };
        state.remember(&p, 100).unwrap();
        assert!(state.remember(&p, 100).is_err(), "a nonce is unique");
        assert_eq!(state.find("n1").unwrap(), Some(p.clone()));
        // Another process sees it too.
        let other = State::open(dir.path()).unwrap();
        assert!(other.consume("n1").unwrap());
        assert!(!state.consume("n1").unwrap());
        assert_eq!(state.find("n1").unwrap(), None);
        // Expired rows go on the next write.
        let old = Pending {
            nonce: "n2".into(),
            expires_at: 150,
            ..p
        };
        state.remember(&old, 100).unwrap();
        state
            .remember(
                &Pending {
                    nonce: "n3".into(),
                    ..old.clone()
                },
                200,
            )
            .unwrap();
        assert_eq!(state.find("n2").unwrap(), None);
    }
}
