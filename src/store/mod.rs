//! SQLite through an r2d2 pool. `read` and `write` are synchronous: callers
//! run them on a blocking thread (one hop per HTTP request). `write` runs its
//! closure in an IMMEDIATE transaction that commits on `Ok` and rolls back on
//! `Err`, so a resolver's load, allow and act see one consistent state.
//!
//! Two rules are enforced here rather than remembered by each resolver:
//! every function that changes data takes a `Write` (only `write` makes one)
//! and an `Allowed` proof (only a Cedar decision makes one); and every change
//! that affects what a key may do records an `Invalidation` on the `Write`,
//! which `write` hands to the verification cache after the commit, before the
//! resolver can answer.
pub mod accounts;
pub mod api_keys;
pub mod audit;
pub mod invitations;
pub mod listing;
pub mod memberships;
mod migrate;
pub mod tenants;

use std::cell::{Cell, RefCell};
use std::ops::Deref;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use r2d2::Pool;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::authz::{Action, Allowed};
use crate::domain::ids::{AccountId, KeyId, TenantId};
use crate::error::{AppError, AppResult};
use crate::metrics::Metrics;

/// How long a statement waits for another connection's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// What a committed change made stale: cached answers that depend on it go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invalidation {
    Key(KeyId),
    Account(AccountId),
    AccountInTenant(AccountId, TenantId),
}

/// Whoever caches what the store holds (the key verifier) and must forget
/// what a commit changed.
pub trait Evict: Send + Sync {
    fn evict(&self, what: &[Invalidation]);
}

#[derive(Clone)]
pub struct Store {
    pool: Pool<SqliteConnectionManager>,
    /// Writers queue here rather than in SQLite's busy handler, which sleeps
    /// with backoff and gave concurrent writes second-long tails.
    writer: Arc<Mutex<()>>,
    /// Told after every commit what it changed. Weak: the cache holds the
    /// store, not the other way round.
    evictor: Arc<OnceLock<Weak<dyn Evict>>>,
    metrics: Metrics,
}

/// A read: a pooled connection, outside any write transaction.
pub struct Read<'c>(&'c Connection);

impl Deref for Read<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.0
    }
}

/// The write transaction. Functions that change data take this (and a
/// proof), so they cannot run in a plain read.
pub struct Write<'c> {
    tx: Transaction<'c>,
    evictions: RefCell<Vec<Invalidation>>,
    /// Changes made on a Cedar decision, and audit events appended: a
    /// transaction with the first and none of the second does not commit.
    decided: Cell<usize>,
    audited: Cell<usize>,
}

impl Deref for Write<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.tx
    }
}

impl Write<'_> {
    /// Notes that what depends on `what` is stale once this commits.
    pub(crate) fn evict(&self, what: Invalidation) {
        self.evictions.borrow_mut().push(what);
    }

    /// `Ok` when `proof` covers one of `actions` (`Allowed::covers`); the
    /// change it allows then needs its audit event before this commits.
    pub(crate) fn authorized(&self, proof: &Allowed, actions: &[Action]) -> AppResult<()> {
        proof.covers(actions)?;
        self.decided.set(self.decided.get() + 1);
        Ok(())
    }

    /// Notes that an audit event was appended (`audit::append`).
    pub(crate) fn audited(&self) {
        self.audited.set(self.audited.get() + 1);
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema
    /// up to date.
    pub fn open(path: &Path) -> AppResult<Self> {
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
        let store = Self {
            pool,
            writer: Arc::new(Mutex::new(())),
            evictor: Arc::new(OnceLock::new()),
            metrics: Metrics::default(),
        };
        store.with_conn(migrate::run)?;
        Ok(store)
    }

    /// Counts into `metrics` (the pool's waits) from now on.
    pub fn observed_by(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    fn with_conn<T>(&self, f: impl FnOnce(&mut Connection) -> AppResult<T>) -> AppResult<T> {
        let waited = std::time::Instant::now();
        let mut conn = self.pool.get()?;
        self.metrics.pool_wait(waited.elapsed());
        f(&mut conn)
    }

    /// Sets who hears of committed invalidations (once; later calls are ignored).
    pub fn evict_into(&self, cache: Weak<dyn Evict>) {
        let _ = self.evictor.set(cache);
    }

    pub fn read<T>(&self, f: impl FnOnce(&Read<'_>) -> AppResult<T>) -> AppResult<T> {
        self.with_conn(|c| f(&Read(c)))
    }

    /// Runs `f` in one IMMEDIATE transaction: commits on `Ok`, rolls back on
    /// `Err`. What `f` recorded with `Write::evict` reaches the cache after
    /// the commit and before this returns.
    pub fn write<T>(&self, f: impl FnOnce(&Write<'_>) -> AppResult<T>) -> AppResult<T> {
        let _turn = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut evictions = Vec::new();
        let out = self.with_conn(|c| {
            let w = Write {
                tx: c.transaction_with_behavior(TransactionBehavior::Immediate)?,
                evictions: RefCell::new(Vec::new()),
                decided: Cell::new(0),
                audited: Cell::new(0),
            };
            let out = f(&w)?;
            if w.decided.get() > 0 && w.audited.get() == 0 {
                return Err(AppError::internal(
                    "a change was made without its audit event; nothing was committed",
                ));
            }
            evictions = w.evictions.take();
            // Evicting is harmless even if the commit then fails, so the
            // evictions are applied whatever the commit's outcome.
            w.tx.commit()?;
            Ok(out)
        });
        if !evictions.is_empty()
            && let Some(cache) = self.evictor.get().and_then(Weak::upgrade)
        {
            cache.evict(&evictions);
        }
        out
    }

    /// Succeeds when the database answers a query that reads it within about
    /// a second: a health check must not hang on a busy pool or a lock.
    pub fn ping(&self) -> AppResult<()> {
        const PATIENCE: Duration = Duration::from_secs(1);
        let conn = self.pool.get_timeout(PATIENCE)?;
        conn.busy_timeout(PATIENCE)?;
        let answer = conn.query_row("SELECT count(*) FROM tenants", [], |_| Ok(()));
        conn.busy_timeout(BUSY_TIMEOUT)?;
        Ok(answer?)
    }

    /// A consistent copy of the whole database in a new file at `to`, taken
    /// with SQLite's online backup API while the server keeps serving
    /// (writers are not blocked for the whole copy: it goes a batch of
    /// pages at a time). Refuses to overwrite an existing file.
    pub fn backup_to(&self, to: &Path) -> AppResult<()> {
        if to.exists() {
            return Err(AppError::Conflict(format!(
                "{} exists; give a new file name (a backup never overwrites)",
                to.display()
            )));
        }
        let mut dst = Connection::open(to)
            .map_err(|e| AppError::Invalid(format!("cannot create {}: {e}", to.display())))?;
        self.with_conn(|src| {
            rusqlite::backup::Backup::new(src, &mut dst)?.run_to_completion(
                256,
                Duration::from_millis(5),
                None,
            )?;
            Ok(())
        })?;
        // The copy is a plain database file, readable without its WAL.
        dst.execute_batch("PRAGMA journal_mode = DELETE;")?;
        Ok(())
    }

    /// Moves the WAL's content into the database and truncates the WAL
    /// file, so that constant writes never grow it without bound. Returns
    /// whether the checkpoint completed (false: readers kept it busy; the
    /// next one catches up).
    pub fn checkpoint(&self) -> AppResult<bool> {
        let busy: i64 = self
            .with_conn(|c| Ok(c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?))?;
        Ok(busy == 0)
    }

    /// How many connections the pool holds at most.
    pub fn max_connections(&self) -> u32 {
        self.pool.max_size()
    }
}

/// Every row `sql` selects, each through `map` (a cached statement).
pub(crate) fn all<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> AppResult<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, map)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Times are stored as fixed-width RFC 3339 UTC text, so they sort as they compare.
pub(crate) fn time_to_sql(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn time_from_sql(s: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
}

pub(crate) fn opt_time_from_sql(s: Option<String>) -> rusqlite::Result<Option<DateTime<Utc>>> {
    s.as_deref().map(time_from_sql).transpose()
}

/// Reads a text column holding one of our text enums.
pub(crate) fn parse_col<T: std::str::FromStr<Err = String>>(s: &str) -> rusqlite::Result<T> {
    s.parse().map_err(|e: String| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
    })
}

/// True when `e` is a UNIQUE constraint failure.
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
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
            c.execute_batch("CREATE TABLE t (x BLOB); INSERT INTO t SELECT randomblob(4096) FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) SELECT i FROM n);")?;
            Ok(())
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
            .read(|c| Ok(c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = s
            .read(|c| Ok(c.query_row("PRAGMA synchronous", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(sync, 2, "synchronous must be FULL");
        drop(s);
        Store::open(&path).unwrap().ping().unwrap();
    }
}
