//! SQLite (the embedded default) or PostgreSQL (several replicas), each
//! through an r2d2 pool, behind one interface: the functions of this
//! module's files see a `Conn` (sql.rs) and never the driver. `read` and
//! `write` are synchronous: callers run them on a blocking thread (one hop
//! per HTTP request). `read` runs its closure in one snapshot (SQLite: a
//! deferred transaction; PostgreSQL: `REPEATABLE READ READ ONLY`), so the
//! statements of one read agree with each other. `write` is the unit of
//! work: one transaction that commits on `Ok` and rolls back on `Err`, so
//! an operation's load, allow and act see one consistent state.
//!
//! Rules enforced here rather than remembered by each operation: only the
//! write handle runs statements that change data (`Write::execute`); every
//! function that changes data takes one and a proof (an `Allowed`, which only
//! a Cedar decision or the operator's warrant makes, or the server's own
//! `SystemTask`); the mutators record their effects on it (the audit event,
//! the webhook outbox, the `Invalidation`s of what a key may do); a
//! transaction with a decision that has no audit event does not commit; and
//! after the commit, before the operation can answer, the evictions reach
//! the verification cache (and, on PostgreSQL, every other replica through a
//! notification sent in the same transaction) and the webhook workers wake.
pub mod accounts;
pub mod api_keys;
pub mod audit;
pub mod invitations;
mod key_pages;
pub mod memberships;
mod migrate;
pub mod notices;
pub mod notify;
pub mod paging;
mod pg;
pub mod sql;
pub mod tenants;
mod unit_of_work;
mod values;
pub mod webhooks;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use r2d2::{Pool, PooledConnection};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, TransactionBehavior};

pub use sql::{Conn, Dialect, FromValue, Row, ToValue, Value, ValueRef};
pub use unit_of_work::{Doorbell, Evict, Invalidation, Read, Write};

use crate::error::{AppError, AppResult};
use crate::metrics::Metrics;

/// How long a statement waits for another connection's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the data lives: a SQLite file (a path, or `sqlite://path`), or a
/// PostgreSQL database (`postgres://` or `postgresql://`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    pub fn parse(db: &Path) -> Self {
        let text = db.to_string_lossy();
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Self::Postgres(text.into_owned())
        } else if let Some(path) = text.strip_prefix("sqlite://") {
            Self::Sqlite(PathBuf::from(path))
        } else {
            Self::Sqlite(db.to_owned())
        }
    }
}

#[derive(Clone)]
enum Backend {
    Sqlite {
        pool: Pool<SqliteConnectionManager>,
        /// Writers queue here rather than in SQLite's busy handler, which
        /// sleeps with backoff and gave concurrent writes second-long tails.
        writer: Arc<Mutex<()>>,
    },
    Postgres {
        pool: Pool<pg::Manager>,
        url: Arc<str>,
    },
}

#[derive(Clone)]
pub struct Store {
    backend: Backend,
    doorbell: Arc<Doorbell>,
    /// Told after every commit what it changed. Weak: the cache holds the
    /// store, not the other way round.
    evictor: Arc<OnceLock<Weak<dyn Evict>>>,
    metrics: Metrics,
}

/// A pooled connection of either backend (one lives per call, on the
/// stack: the size difference does not matter).
#[allow(clippy::large_enum_variant)]
enum Pooled {
    Sqlite(PooledConnection<SqliteConnectionManager>),
    Postgres(PooledConnection<pg::Manager>),
}

impl Store {
    /// Opens the database at `db` (a SQLite file, created if needed, or a
    /// PostgreSQL URL) and brings its schema up to date.
    pub fn open(db: &Path) -> AppResult<Self> {
        let backend = match Location::parse(db) {
            Location::Sqlite(path) => Self::sqlite(&path)?,
            Location::Postgres(url) => Self::postgres(&url)?,
        };
        let store = Self {
            backend,
            doorbell: Arc::default(),
            evictor: Arc::new(OnceLock::new()),
            metrics: Metrics::default(),
        };
        store.with_conn(|c| migrate::run(&c))?;
        Ok(store)
    }

    fn sqlite(path: &Path) -> AppResult<Backend> {
        let manager = SqliteConnectionManager::file(path).with_init(|c| {
            // WAL: readers never block the writer. FULL: an acknowledged write
            // (a revocation above all) survives a power cut.
            c.execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = FULL;
                 PRAGMA foreign_keys = ON;
",
            )?;
            c.busy_timeout(BUSY_TIMEOUT)
        });
        let pool = Pool::builder()
            .max_size(8)
            .connection_timeout(Duration::from_secs(5))
            .build(manager)
            .map_err(|e| {
                AppError::internal(format!("cannot open database {}: {e}", path.display()))
            })?;
        Ok(Backend::Sqlite {
            pool,
            writer: Arc::new(Mutex::new(())),
        })
    }

    fn postgres(url: &str) -> AppResult<Backend> {
        let pool = Pool::builder()
            .max_size(16)
            .connection_timeout(Duration::from_secs(5))
            .build(pg::Manager::new(url)?)
            .map_err(|e| AppError::internal(format!("cannot connect to PostgreSQL: {e}")))?;
        Ok(Backend::Postgres {
            pool,
            url: url.into(),
        })
    }

    /// Which database this store talks to.
    pub fn dialect(&self) -> Dialect {
        match self.backend {
            Backend::Sqlite { .. } => Dialect::Sqlite,
            Backend::Postgres { .. } => Dialect::Postgres,
        }
    }

    /// The PostgreSQL URL, for the invalidation listener.
    pub fn postgres_url(&self) -> Option<&str> {
        match &self.backend {
            Backend::Postgres { url, .. } => Some(url),
            Backend::Sqlite { .. } => None,
        }
    }

    /// Counts into `metrics` (the pool's waits) from now on.
    pub fn observed_by(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    fn pooled(&self) -> AppResult<Pooled> {
        let waited = std::time::Instant::now();
        let conn = match &self.backend {
            Backend::Sqlite { pool, .. } => Pooled::Sqlite(pool.get()?),
            Backend::Postgres { pool, .. } => Pooled::Postgres(pool.get()?),
        };
        self.metrics.pool_wait(waited.elapsed());
        Ok(conn)
    }

    fn with_conn<T>(&self, f: impl FnOnce(Conn<'_>) -> AppResult<T>) -> AppResult<T> {
        match self.pooled()? {
            Pooled::Sqlite(c) => f(Conn::lite(&c)),
            Pooled::Postgres(mut c) => {
                let cell = RefCell::new(&mut *c);
                f(Conn::pg(&cell))
            }
        }
    }

    /// Sets who hears of committed invalidations (once; later calls are ignored).
    pub fn evict_into(&self, cache: Weak<dyn Evict>) {
        let _ = self.evictor.set(cache);
    }

    /// Runs `f` in one read-only snapshot of the database.
    pub fn read<T>(&self, f: impl FnOnce(&Read<'_>) -> AppResult<T>) -> AppResult<T> {
        match self.pooled()? {
            Pooled::Sqlite(mut c) => {
                // Deferred: the snapshot is taken at the first read, and no
                // lock is held against writers.
                let tx = c.transaction()?;
                let out = f(&Read(Conn::lite(&tx)))?;
                tx.commit()?;
                Ok(out)
            }
            Pooled::Postgres(mut c) => {
                let cell = RefCell::new(&mut *c);
                let conn = Conn::pg(&cell);
                conn.batch("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
                let out = f(&Read(conn));
                match out {
                    Ok(_) => Conn::pg(&cell).batch("COMMIT")?,
                    // The read's own error is the answer; a broken
                    // connection is dropped by the pool (as in `write`).
                    Err(_) => {
                        let _ = Conn::pg(&cell).batch("ROLLBACK");
                    }
                }
                out
            }
        }
    }

    /// Runs `f` in one transaction: commits on `Ok`, rolls back on `Err`.
    /// What `f` recorded with `Write::evict` reaches the cache after the
    /// commit and before this returns (and, on PostgreSQL, every other
    /// replica through a notification sent in the same transaction).
    ///
    /// SQLite: an IMMEDIATE transaction, one writer at a time. PostgreSQL:
    /// writers from every replica take one transaction-scoped advisory
    /// lock, so checks such as "the last admin" see every committed change.
    pub fn write<T>(&self, f: impl FnOnce(&Write<'_>) -> AppResult<T>) -> AppResult<T> {
        let mut evictions = Vec::new();
        let mut emitted = false;
        let out = match &self.backend {
            Backend::Sqlite { writer, pool } => {
                let _turn = writer.lock().unwrap_or_else(|e| e.into_inner());
                let waited = std::time::Instant::now();
                let mut c = pool.get()?;
                self.metrics.pool_wait(waited.elapsed());
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let w = Write::new(Conn::lite(&tx));
                let out = f(&w)?;
                (evictions, emitted) = w.finish()?;
                drop(w);
                // Evicting is harmless even if the commit then fails, so the
                // evictions are applied whatever the commit's outcome.
                tx.commit()?;
                Ok(out)
            }
            Backend::Postgres { .. } => self.with_conn(|c| {
                c.batch("BEGIN; SELECT pg_advisory_xact_lock(7318349394477056)")?;
                let w = Write::new(c);
                let attempt = f(&w).and_then(|out| {
                    let (ev, em) = w.finish()?;
                    notify::publish(&w, &ev)?;
                    Ok((out, ev, em))
                });
                match attempt {
                    Ok((out, ev, em)) => {
                        evictions = ev;
                        w.batch("COMMIT")?;
                        emitted = em;
                        Ok(out)
                    }
                    Err(e) => {
                        // A broken connection is dropped by the pool; the
                        // rollback's own failure adds nothing.
                        let _ = w.batch("ROLLBACK");
                        Err(e)
                    }
                }
            }),
        };
        if !evictions.is_empty()
            && let Some(cache) = self.evictor.get().and_then(Weak::upgrade)
        {
            cache.evict(&evictions);
        }
        if emitted && out.is_ok() {
            self.doorbell.ring();
        }
        out
    }

    /// What wakes the webhook workers.
    pub fn doorbell(&self) -> Arc<Doorbell> {
        self.doorbell.clone()
    }

    /// Succeeds when the database answers a query that reads it within about
    /// a second: a health check must not hang on a busy pool or a lock.
    pub fn ping(&self) -> AppResult<()> {
        const PATIENCE: Duration = Duration::from_secs(1);
        match &self.backend {
            Backend::Sqlite { pool, .. } => {
                let conn = pool.get_timeout(PATIENCE)?;
                conn.busy_timeout(PATIENCE)?;
                let answer = conn.query_row("SELECT count(*) FROM tenants", [], |_| Ok(()));
                conn.busy_timeout(BUSY_TIMEOUT)?;
                Ok(answer?)
            }
            Backend::Postgres { pool, .. } => {
                let mut conn = pool.get_timeout(PATIENCE)?;
                let cell = RefCell::new(&mut *conn);
                let c = Conn::pg(&cell);
                c.batch("SET statement_timeout = 1000")?;
                let answer = c.query_one("SELECT count(*) FROM tenants", &[], |_| Ok(()));
                c.batch("SET statement_timeout = 0")?;
                answer
            }
        }
    }

    /// A consistent copy of the whole database in a new file at `to`, taken
    /// with SQLite's online backup API while the server keeps serving
    /// (writers are not blocked for the whole copy: it goes a batch of
    /// pages at a time). Refuses to overwrite an existing file. The copy is
    /// made readable by its owner only (mode 0600): the database holds the
    /// webhooks' signing secrets.
    pub fn backup_to(&self, to: &Path) -> AppResult<()> {
        let Backend::Sqlite { pool, .. } = &self.backend else {
            return Err(AppError::Invalid(
                "keyward backup copies SQLite databases; back PostgreSQL up with pg_dump".into(),
            ));
        };
        use std::os::unix::fs::OpenOptionsExt;
        // Created here, new and private, before SQLite writes a page of it.
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(to)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => AppError::Conflict(format!(
                    "{} exists; give a new file name (a backup never overwrites)",
                    to.display()
                )),
                _ => AppError::Invalid(format!("cannot create {}: {e}", to.display())),
            })?;
        let copied = (|| {
            let mut dst = Connection::open(to)
                .map_err(|e| AppError::Invalid(format!("cannot create {}: {e}", to.display())))?;
            let src = pool.get()?;
            rusqlite::backup::Backup::new(&src, &mut dst)?.run_to_completion(
                256,
                Duration::from_millis(5),
                None,
            )?;
            // The copy is a plain database file, readable without its WAL.
            dst.execute_batch("PRAGMA journal_mode = DELETE;")?;
            Ok(())
        })();
        // A copy that failed half-way is no backup.
        if copied.is_err() {
            let _ = std::fs::remove_file(to);
        }
        copied
    }

    /// Moves the WAL's content into the database and truncates the WAL
    /// file, so that constant writes never grow it without bound. Returns
    /// whether the checkpoint completed (false: readers kept it busy; the
    /// next one catches up). PostgreSQL checkpoints by itself.
    pub fn checkpoint(&self) -> AppResult<bool> {
        let Backend::Sqlite { pool, .. } = &self.backend else {
            return Ok(true);
        };
        let busy: i64 = pool
            .get()?
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        Ok(busy == 0)
    }

    /// How many connections the pool holds at most.
    pub fn max_connections(&self) -> u32 {
        match &self.backend {
            Backend::Sqlite { pool, .. } => pool.max_size(),
            Backend::Postgres { pool, .. } => pool.max_size(),
        }
    }
}

/// Times are stored as fixed-width RFC 3339 UTC text, so they sort as they compare.
pub(crate) use crate::domain::time::to_sql as time_to_sql;

pub(crate) fn time_from_sql(s: &str) -> AppResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| AppError::internal(format!("a stored time {s:?}: {e}")))
}

pub(crate) fn opt_time_from_sql(s: Option<String>) -> AppResult<Option<DateTime<Utc>>> {
    s.as_deref().map(time_from_sql).transpose()
}

/// Reads a text column holding one of our text enums.
pub(crate) fn parse_col<T: std::str::FromStr<Err = String>>(s: &str) -> AppResult<T> {
    s.parse()
        .map_err(|e: String| AppError::internal(format!("a stored value {s:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_times_sort_as_they_compare() {
        let a = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.5Z")
            .unwrap()
            .with_timezone(&Utc);
        let b = a + chrono::Duration::microseconds(1);
        assert!(time_to_sql(&a) < time_to_sql(&b));
        assert_eq!(time_from_sql(&time_to_sql(&a)).unwrap(), a);
    }

    #[test]
    fn a_checkpoint_truncates_the_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.db");
        let s = Store::open(&path).unwrap();
        s.read(|c| {
            c.batch("CREATE TABLE t (x BLOB); INSERT INTO t SELECT randomblob(4096) FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) SELECT i FROM n);")
        })
        .unwrap();
        let wal = dir.path().join("k.db-wal");
        assert!(std::fs::metadata(&wal).unwrap().len() > 100_000);
        assert!(s.checkpoint().unwrap());
        assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0);
    }

    #[test]
    fn a_backup_is_a_complete_standalone_copy() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("k.db")).unwrap();
        let copy = dir.path().join("copy.db");
        s.backup_to(&copy).unwrap();
        assert!(matches!(s.backup_to(&copy), Err(AppError::Conflict(_))));
        let c = Connection::open(&copy).unwrap();
        let mode: String = c
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete");
        let version: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert!(version >= 3);
    }

    #[test]
    fn open_migrates_and_reopen_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.db");
        let s = Store::open(&path).unwrap();
        s.ping().unwrap();
        let mode: String = s
            .read(|c| c.query_one("PRAGMA journal_mode", &[], |r| r.get(0)))
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = s
            .read(|c| c.query_one("PRAGMA synchronous", &[], |r| r.get(0)))
            .unwrap();
        assert_eq!(sync, 2, "synchronous must be FULL");
        drop(s);
        Store::open(&path).unwrap().ping().unwrap();
    }
}
