//! One way to run SQL on either backend: statements written once, with
//! SQLite's `?` and `?N` placeholders (turned into `$N` for PostgreSQL),
//! values bound through `ToValue` and read back through `FromValue`, rows
//! read in place. The store's functions see a `Conn` and never the driver.
use std::cell::RefCell;

pub use super::values::{FromValue, ToValue, Value, ValueRef};
use crate::error::{AppError, AppResult};

/// Which database a connection talks to, for the few statements that are
/// not written the same way in both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// One row of an answer, read in place.
pub struct Row<'a>(RowInner<'a>);

enum RowInner<'a> {
    Lite(&'a rusqlite::Row<'a>),
    Pg(&'a postgres::Row),
}

impl Row<'_> {
    /// How many columns the row has.
    pub fn len(&self) -> usize {
        match &self.0 {
            RowInner::Lite(r) => r.as_ref().column_count(),
            RowInner::Pg(r) => r.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Column `i`, as a `T`.
    pub fn get<T: FromValue>(&self, i: usize) -> AppResult<T> {
        let read = |v: ValueRef<'_>| {
            T::from_value(v).map_err(|e| AppError::internal(format!("column {i}: {e}")))
        };
        match &self.0 {
            RowInner::Lite(r) => {
                use rusqlite::types::ValueRef as L;
                match r.get_ref(i)? {
                    L::Null => read(ValueRef::Null),
                    L::Integer(n) => read(ValueRef::Int(n)),
                    L::Text(t) => {
                        read(ValueRef::Text(std::str::from_utf8(t).map_err(|e| {
                            AppError::internal(format!("column {i}: {e}"))
                        })?))
                    }
                    L::Blob(b) => read(ValueRef::Blob(b)),
                    L::Real(x) => Err(AppError::internal(format!(
                        "column {i}: unexpected real {x}"
                    ))),
                }
            }
            RowInner::Pg(r) => super::pg::read(r, i, read),
        }
    }
}

/// A connection (or the transaction on it) of either backend.
pub struct Conn<'a>(ConnInner<'a>);

enum ConnInner<'a> {
    Lite(&'a rusqlite::Connection),
    Pg(&'a RefCell<&'a mut super::pg::Session>),
}

impl<'a> Conn<'a> {
    pub(super) fn lite(c: &'a rusqlite::Connection) -> Self {
        Self(ConnInner::Lite(c))
    }

    pub(super) fn pg(c: &'a RefCell<&'a mut super::pg::Session>) -> Self {
        Self(ConnInner::Pg(c))
    }

    pub fn dialect(&self) -> Dialect {
        match self.0 {
            ConnInner::Lite(_) => Dialect::Sqlite,
            ConnInner::Pg(_) => Dialect::Postgres,
        }
    }

    /// Runs one statement; returns how many rows it changed. Private: only
    /// the write handle (`Write::execute`, below) and migrations run
    /// statements that change data, so a read cannot.
    fn execute(&self, sql: &str, params: &[&dyn ToValue]) -> AppResult<usize> {
        match &self.0 {
            ConnInner::Lite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                bind(&mut stmt, params)?;
                Ok(stmt.raw_execute()?)
            }
            ConnInner::Pg(c) => c.borrow_mut().execute(sql, params),
        }
    }

    /// `execute` for an insert, with a UNIQUE constraint's refusal
    /// answered as `conflict()`.
    fn insert(
        &self,
        sql: &str,
        params: &[&dyn ToValue],
        conflict: impl FnOnce() -> AppError,
    ) -> AppResult<()> {
        let unique = match &self.0 {
            ConnInner::Lite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                bind(&mut stmt, params)?;
                match stmt.raw_execute() {
                    Ok(_) => return Ok(()),
                    Err(rusqlite::Error::SqliteFailure(f, _))
                        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
                    {
                        true
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            ConnInner::Pg(c) => c.borrow_mut().insert(sql, params)?,
        };
        if unique { Err(conflict()) } else { Ok(()) }
    }

    /// Every row `sql` selects, each read by `f`.
    pub fn query<T>(
        &self,
        sql: &str,
        params: &[&dyn ToValue],
        mut f: impl FnMut(&Row<'_>) -> AppResult<T>,
    ) -> AppResult<Vec<T>> {
        match &self.0 {
            ConnInner::Lite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                bind(&mut stmt, params)?;
                let mut rows = stmt.raw_query();
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    out.push(f(&Row(RowInner::Lite(r)))?);
                }
                Ok(out)
            }
            ConnInner::Pg(c) => {
                let rows = c.borrow_mut().query(sql, params)?;
                rows.iter().map(|r| f(&Row(RowInner::Pg(r)))).collect()
            }
        }
    }

    /// The first row `sql` selects, if any, read by `f`.
    pub fn query_opt<T>(
        &self,
        sql: &str,
        params: &[&dyn ToValue],
        f: impl FnOnce(&Row<'_>) -> AppResult<T>,
    ) -> AppResult<Option<T>> {
        match &self.0 {
            ConnInner::Lite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                bind(&mut stmt, params)?;
                let mut rows = stmt.raw_query();
                match rows.next()? {
                    Some(r) => f(&Row(RowInner::Lite(r))).map(Some),
                    None => Ok(None),
                }
            }
            ConnInner::Pg(c) => {
                let rows = c.borrow_mut().query(sql, params)?;
                rows.first().map(|r| f(&Row(RowInner::Pg(r)))).transpose()
            }
        }
    }

    /// The row `sql` must select, read by `f`.
    pub fn query_one<T>(
        &self,
        sql: &str,
        params: &[&dyn ToValue],
        f: impl FnOnce(&Row<'_>) -> AppResult<T>,
    ) -> AppResult<T> {
        self.query_opt(sql, params, f)?
            .ok_or_else(|| AppError::internal(format!("no row from: {sql}")))
    }

    /// Runs statements separated by `;`, with no values.
    pub fn batch(&self, sql: &str) -> AppResult<()> {
        match &self.0 {
            ConnInner::Lite(c) => Ok(c.execute_batch(sql)?),
            ConnInner::Pg(c) => c.borrow_mut().batch(sql),
        }
    }
}

fn bind(stmt: &mut rusqlite::CachedStatement<'_>, params: &[&dyn ToValue]) -> AppResult<()> {
    use rusqlite::types::ValueRef as L;
    let expected = stmt.parameter_count();
    if expected != params.len() {
        return Err(AppError::internal(format!(
            "{} values for {expected} placeholders",
            params.len()
        )));
    }
    for (i, p) in params.iter().enumerate() {
        let v = p.to_value();
        let v = match &v {
            Value::Null => L::Null,
            Value::Int(n) => L::Integer(*n),
            Value::Text(s) => L::Text(s.as_bytes()),
            Value::Blob(b) => L::Blob(b),
        };
        stmt.raw_bind_parameter(i + 1, rusqlite::types::ToSqlOutput::Borrowed(v))?;
    }
    Ok(())
}

/// `sql` with SQLite's placeholders (`?`, `?N`) as PostgreSQL's (`$N`). A
/// bare `?` is one more than the largest number so far, as in SQLite.
/// Quoted text is copied as it is.
/// The statements that change data, on the write handle only.
impl super::Write<'_> {
    /// Runs one statement in the unit of work; returns how many rows it
    /// changed.
    pub fn execute(&self, sql: &str, params: &[&dyn ToValue]) -> AppResult<usize> {
        self.conn.execute(sql, params)
    }

    /// `execute` for an insert, with a UNIQUE constraint's refusal
    /// answered as `conflict()`.
    pub fn insert(
        &self,
        sql: &str,
        params: &[&dyn ToValue],
        conflict: impl FnOnce() -> AppError,
    ) -> AppResult<()> {
        self.conn.insert(sql, params, conflict)
    }
}
