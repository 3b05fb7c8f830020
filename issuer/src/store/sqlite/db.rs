//! The SQLite engine behind the store's SQLite backend: SQLite in the data directory (WAL,
//! `synchronous=FULL`), the migration runner ([`migrate`]) and one writer thread that commits in
//! groups.
//!
//! ```text
//!  async handlers ──write(f)──► channel ──► writer thread: BEGIN IMMEDIATE
//!                                                 SAVEPOINT; f(ctx) ─ Err ─► ROLLBACK TO (no trace)
//!                                                 ... up to MAX_GROUP jobs ...
//!                                                COMMIT (fsync) ──► every caller gets its answer
//!  async handlers ──read(f)───► spawn_blocking on a pooled read-only connection
//! ```
//!
//! A caller hears `Ok` only after the transaction holding its change is durably committed, so a
//! crash (even `kill -9`) never loses an answered write. A job that fails is rolled back to its
//! savepoint and changes nothing; the other jobs of its group commit. Status indexes are drawn by
//! the writer from an injected CSPRNG ([`WriteCtx::rng`]).

#[cfg(test)]
mod schema;

use std::path::Path;
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::thread;
use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rusqlite::{Connection, OpenFlags};

use crate::store::error::DbError;
use crate::store::interface::WriteObserver;
pub use crate::store::migrations::SCHEMA_VERSION;
use crate::store::migrations::{self, Dialect};

/// Most jobs committed in one transaction.
const MAX_GROUP: usize = 512;

/// What a write job sees: the connection inside the group transaction, and the CSPRNG.
pub struct WriteCtx<'a> {
    /// The connection; a transaction is open.
    pub conn: &'a Connection,
    /// The injected CSPRNG (status indexes).
    pub rng: &'a mut ChaCha20Rng,
}

type Done = Box<dyn FnOnce(bool) + Send>;
type Job = Box<dyn FnOnce(&mut WriteCtx<'_>) -> Done + Send>;

/// Handle to the database: a group-committing writer and a pool of readers.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("sqlite")
    }
}

struct Inner {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<thread::JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
    path: std::path::PathBuf,
    /// Told each write's queue wait and latency (the metrics).
    observer: OnceLock<WriteObserver>,
}

fn open(path: &Path, read_only: bool) -> Result<Connection, DbError> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch("PRAGMA foreign_keys = ON;")?;
    if !read_only {
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
    }
    Ok(conn)
}

impl Db {
    /// Opens (creating if needed) `issuer.sqlite3` in `dir`, migrates it, and starts the writer
    /// thread with `rng` as its CSPRNG.
    ///
    /// # Errors
    /// [`DbError`] when the file cannot be opened or migrated.
    pub fn open(dir: &Path, rng: ChaCha20Rng) -> Result<Db, DbError> {
        let path = dir.join("issuer.sqlite3");
        // Created (or tightened to) 0600 before SQLite opens it: SQLite gives its -wal and -shm
        // files the database file's mode.
        crate::files::private_file(&path).map_err(DbError::Io)?;
        let mut conn = open(&path, false)?;
        for suffix in ["-wal", "-shm"] {
            let mut side = path.clone().into_os_string();
            side.push(suffix);
            crate::files::owner_only(std::path::Path::new(&side), 0o600).map_err(DbError::Io)?;
        }
        migrate(&mut conn)?;
        let (tx, rx) = mpsc::channel::<Job>();
        let writer = thread::Builder::new()
            .name("issuer-db-writer".into())
            .spawn(move || writer_loop(conn, rx, rng))
            .map_err(|_| DbError::WriterGone)?;
        Ok(Db {
            inner: Arc::new(Inner {
                jobs: Mutex::new(Some(tx)),
                writer: Mutex::new(Some(writer)),
                readers: Mutex::new(Vec::new()),
                path,
                observer: OnceLock::new(),
            }),
        })
    }

    /// Sets the observer told each [`Db::write`]'s timings (once; later calls are ignored).
    pub fn set_write_observer(&self, observer: WriteObserver) {
        let _ = self.inner.observer.set(observer);
    }

    fn submit(&self, job: Job) -> Result<(), DbError> {
        let guard = self.inner.jobs.lock().map_err(|_| DbError::WriterGone)?;
        let sender = guard.as_ref().ok_or(DbError::WriterGone)?;
        sender.send(job).map_err(|_| DbError::WriterGone)
    }

    fn job<T, E, F, R>(f: F, reply: R) -> Job
    where
        F: FnOnce(&mut WriteCtx<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        R: FnOnce(Result<T, E>) + Send + 'static,
    {
        Box::new(move |ctx: &mut WriteCtx<'_>| -> Done {
            if let Err(e) = ctx.conn.execute_batch("SAVEPOINT job") {
                let e = E::from(DbError::from(e));
                return Box::new(move |_| {
                    reply(Err(e));
                });
            }
            match f(ctx) {
                Ok(value) => {
                    let released = ctx.conn.execute_batch("RELEASE job");
                    Box::new(move |committed| {
                        let result = match (released, committed) {
                            (Ok(()), true) => Ok(value),
                            (Err(e), _) => Err(E::from(DbError::from(e))),
                            (_, false) => Err(E::from(DbError::CommitFailed)),
                        };
                        reply(result);
                    })
                }
                Err(e) => {
                    // Undo whatever the job did; the rest of the group is unaffected.
                    let _ = ctx.conn.execute_batch("ROLLBACK TO job; RELEASE job");
                    Box::new(move |_| {
                        reply(Err(e));
                    })
                }
            }
        })
    }

    /// Runs `f` in the writer's group transaction and waits until it is durably committed.
    /// When `f` returns `Err`, its changes are rolled back and the error is returned.
    ///
    /// # Errors
    /// `f`'s error, or [`DbError`] converted into `E`.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut WriteCtx<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let submitted = Instant::now();
        let waited = Arc::new(OnceLock::new());
        let ran = Arc::clone(&waited);
        let f = move |ctx: &mut WriteCtx<'_>| {
            let _ = ran.set(submitted.elapsed());
            f(ctx)
        };
        self.submit(Db::job(f, move |r| {
            let _ = tx.send(r);
        }))
        .map_err(E::from)?;
        let answer = rx.await.map_err(|_| E::from(DbError::WriterGone))?;
        if let (Some(observe), Some(waited)) = (self.inner.observer.get(), waited.get()) {
            observe(*waited, submitted.elapsed());
        }
        answer
    }

    /// [`Db::write`] for callers outside an async runtime (the unit tests below).
    ///
    /// # Errors
    /// As [`Db::write`].
    #[cfg(test)]
    pub fn write_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut WriteCtx<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        // A std channel, so this also works (briefly blocking) on a runtime thread at startup.
        let (tx, rx) = mpsc::sync_channel(1);
        self.submit(Db::job(f, move |r| {
            let _ = tx.send(r);
        }))
        .map_err(E::from)?;
        rx.recv().map_err(|_| E::from(DbError::WriterGone))?
    }

    fn reader(&self) -> Result<Connection, DbError> {
        let pooled = self
            .inner
            .readers
            .lock()
            .map_err(|_| DbError::WriterGone)?
            .pop();
        match pooled {
            Some(conn) => Ok(conn),
            None => open(&self.inner.path, true),
        }
    }

    fn give_back(&self, conn: Connection) {
        if let Ok(mut pool) = self.inner.readers.lock() {
            if pool.len() < 8 {
                pool.push(conn);
            }
        }
    }

    /// Runs a read-only `f` on a pooled connection, off the async runtime.
    ///
    /// # Errors
    /// `f`'s error, or [`DbError`] converted into `E`.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.read_blocking(f))
            .await
            .map_err(|_| E::from(DbError::Join))?
    }

    /// [`Db::read`] for callers outside an async runtime.
    ///
    /// # Errors
    /// As [`Db::read`].
    pub fn read_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E>,
        E: From<DbError>,
    {
        let conn = self.reader().map_err(E::from)?;
        let result = f(&conn);
        self.give_back(conn);
        result
    }

    /// Stops the writer after the jobs already queued, and waits for it.
    pub fn close(&self) {
        if let Ok(mut jobs) = self.inner.jobs.lock() {
            jobs.take();
        }
        let handle = self.inner.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

fn writer_loop(conn: Connection, rx: mpsc::Receiver<Job>, mut rng: ChaCha20Rng) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let began = conn.execute_batch("BEGIN IMMEDIATE").is_ok();
        let mut done = Vec::with_capacity(group.len());
        let mut ctx = WriteCtx {
            conn: &conn,
            rng: &mut rng,
        };
        for job in group {
            if began {
                done.push(job(&mut ctx));
            } else {
                // Could not start a transaction: every job in the group fails unrun.
                drop(job);
            }
        }
        let committed = began && conn.execute_batch("COMMIT").is_ok();
        if began && !committed {
            let _ = conn.execute_batch("ROLLBACK");
            tracing::error!("group commit failed; {} jobs rolled back", done.len());
        }
        for d in done {
            d(committed);
        }
    }
}

/// The SQLite migration runner: applies [`crate::store::migrations::sql`] in order, each
/// once, in its own transaction, recording its number in `schema_version`: brings the database
/// to [`SCHEMA_VERSION`].
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
    for (i, sql) in migrations::sql(Dialect::Sqlite)
        .iter()
        .enumerate()
        .skip(current as usize)
    {
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
    use rand_chacha::rand_core::SeedableRng;

    use super::*;

    #[test]
    fn failed_job_leaves_no_trace_and_others_commit() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), ChaCha20Rng::seed_from_u64(1)).unwrap();
        let r: Result<(), DbError> = db.write_blocking(|ctx| {
            ctx.conn.execute(
                "INSERT INTO audit (at, actor, event) VALUES (1, 'test', 'a')",
                [],
            )?;
            Err(DbError::CommitFailed)
        });
        assert!(r.is_err());
        db.write_blocking(|ctx| {
            ctx.conn.execute(
                "INSERT INTO audit (at, actor, event) VALUES (2, 'test', 'b')",
                [],
            )?;
            Ok::<_, DbError>(())
        })
        .unwrap();
        let events: Vec<String> = db
            .read_blocking(|c| {
                let mut s = c.prepare("SELECT event FROM audit ORDER BY seq")?;
                let v = s
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<Vec<String>, _>>()?;
                Ok::<_, DbError>(v)
            })
            .unwrap();
        assert_eq!(events, ["b"]);
        db.close();
    }

    #[test]
    fn audit_is_append_only() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), ChaCha20Rng::seed_from_u64(1)).unwrap();
        db.write_blocking(|ctx| {
            ctx.conn.execute(
                "INSERT INTO audit (at, actor, event) VALUES (1, 'test', 'a')",
                [],
            )?;
            Ok::<_, DbError>(())
        })
        .unwrap();
        for sql in ["UPDATE audit SET actor = 'x'", "DELETE FROM audit"] {
            let r: Result<usize, DbError> =
                db.write_blocking(move |ctx| Ok(ctx.conn.execute(sql, [])?));
            let err = r.unwrap_err().to_string();
            assert!(err.contains("append-only"), "{err}");
        }
        db.close();
    }

    #[test]
    fn reopening_keeps_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        Db::open(dir.path(), ChaCha20Rng::seed_from_u64(1))
            .unwrap()
            .close();
        let db = Db::open(dir.path(), ChaCha20Rng::seed_from_u64(1)).unwrap();
        let v: i64 = db
            .read_blocking(|c| {
                Ok::<_, DbError>(c.query_row(
                    "SELECT MAX(version) FROM schema_version",
                    [],
                    |r| r.get(0),
                )?)
            })
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        db.close();
    }
}
