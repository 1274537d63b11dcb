//! PostgreSQL through the blocking `postgres` client and an r2d2 pool, the
//! same shape as the SQLite store: each connection keeps its prepared
//! statements, values are bound by the column types PostgreSQL infers.
use std::collections::HashMap;

use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, NoTls, Statement};

use super::values::{ToValue, Value, ValueRef};
use crate::error::{AppError, AppResult};

/// A pooled connection and its prepared statements.
pub struct Session {
    /// Always `Some` but while it is being dropped.
    client: Option<Client>,
    prepared: HashMap<String, Statement>,
}

/// The blocking client runs its own small runtime and may not be closed
/// from inside another (the pool goes with the server's last worker,
/// which is one): there, the closing moves to a thread of its own.
impl Drop for Session {
    fn drop(&mut self) {
        if let Some(client) = self.client.take()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            let _ = std::thread::Builder::new()
                .name("keyward-pg-close".into())
                .spawn(move || drop(client));
        }
    }
}

/// How many prepared statements a connection keeps.
const PREPARED_KEPT: usize = 512;

impl Session {
    fn client(&mut self) -> AppResult<&mut Client> {
        self.client
            .as_mut()
            .ok_or_else(|| AppError::internal("a closed PostgreSQL connection"))
    }

    fn prepare(&mut self, sql: &str) -> AppResult<Statement> {
        if let Some(s) = self.prepared.get(sql) {
            return Ok(s.clone());
        }
        let stmt = self.client()?.prepare(&numbered(sql))?;
        if self.prepared.len() >= PREPARED_KEPT {
            self.prepared.clear();
        }
        self.prepared.insert(sql.to_owned(), stmt.clone());
        Ok(stmt)
    }

    pub fn execute(&mut self, sql: &str, params: &[&dyn ToValue]) -> AppResult<usize> {
        let stmt = self.prepare(sql)?;
        let values = values(params);
        let refs = refs(&values);
        let n = self.client()?.execute(&stmt, &refs)?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// `execute` (in a write transaction); true when a UNIQUE constraint
    /// refused the row. The refusal is rolled back to a savepoint, so the
    /// transaction goes on as it does on SQLite (an error would otherwise
    /// abort all of it).
    pub fn insert(&mut self, sql: &str, params: &[&dyn ToValue]) -> AppResult<bool> {
        let stmt = self.prepare(sql)?;
        let values = values(params);
        let refs = refs(&values);
        let client = self.client()?;
        client.batch_execute("SAVEPOINT keyward_insert")?;
        match client.execute(&stmt, &refs) {
            Ok(_) => {
                client.batch_execute("RELEASE SAVEPOINT keyward_insert")?;
                Ok(false)
            }
            Err(e) if e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) => {
                client.batch_execute("ROLLBACK TO SAVEPOINT keyward_insert")?;
                Ok(true)
            }
            Err(e) => Err(e.into()),
        }
    }

    pub fn query(&mut self, sql: &str, params: &[&dyn ToValue]) -> AppResult<Vec<postgres::Row>> {
        let stmt = self.prepare(sql)?;
        let values = values(params);
        let refs = refs(&values);
        Ok(self.client()?.query(&stmt, &refs)?)
    }

    pub fn batch(&mut self, sql: &str) -> AppResult<()> {
        Ok(self.client()?.batch_execute(sql)?)
    }

    pub fn is_closed(&self) -> bool {
        self.client.as_ref().is_none_or(Client::is_closed)
    }
}

fn values<'a>(params: &'a [&'a dyn ToValue]) -> Vec<Bound<'a>> {
    params.iter().map(|p| Bound(p.to_value())).collect()
}

fn refs<'a>(values: &'a [Bound<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

/// A value bound as the type PostgreSQL inferred for its placeholder.
#[derive(Debug)]
struct Bound<'a>(Value<'a>);

impl ToSql for Bound<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match &self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(n) => match *ty {
                Type::INT8 => n.to_sql(ty, out),
                Type::INT4 => i32::try_from(*n)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*n)?.to_sql(ty, out),
                Type::BOOL => (*n != 0).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => n.to_string().to_sql(ty, out),
                _ => Err(format!("an integer bound as {ty}").into()),
            },
            Value::Text(s) => s.as_ref().to_sql(ty, out),
            Value::Blob(b) => b.as_ref().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Column `i` of `r`, as the store's values.
pub(super) fn read<T>(
    r: &postgres::Row,
    i: usize,
    f: impl FnOnce(ValueRef<'_>) -> AppResult<T>,
) -> AppResult<T> {
    let ty = r
        .columns()
        .get(i)
        .ok_or_else(|| AppError::internal(format!("no column {i}")))?
        .type_()
        .clone();
    let int = |n: Option<i64>| n.map_or(ValueRef::Null, ValueRef::Int);
    match ty {
        Type::INT8 => f(int(r.try_get::<_, Option<i64>>(i)?)),
        Type::INT4 => f(int(r.try_get::<_, Option<i32>>(i)?.map(i64::from))),
        Type::INT2 => f(int(r.try_get::<_, Option<i16>>(i)?.map(i64::from))),
        Type::BOOL => f(int(r.try_get::<_, Option<bool>>(i)?.map(i64::from))),
        Type::BYTEA => f(r
            .try_get::<_, Option<&[u8]>>(i)?
            .map_or(ValueRef::Null, ValueRef::Blob)),
        _ => f(r
            .try_get::<_, Option<&str>>(i)?
            .map_or(ValueRef::Null, ValueRef::Text)),
    }
}

/// Opens `Session`s on one database for r2d2.
#[derive(Debug)]
pub struct Manager {
    config: postgres::Config,
}

impl Manager {
    pub fn new(url: &str) -> AppResult<Self> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e| AppError::Invalid(format!("not a PostgreSQL URL ({e})")))?;
        // A request waits seconds, not minutes, for a database that is gone.
        config
            .connect_timeout(std::time::Duration::from_secs(5))
            .keepalives(true)
            .keepalives_idle(std::time::Duration::from_secs(30));
        Ok(Self { config })
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Session;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Session, postgres::Error> {
        Ok(Session {
            client: Some(self.config.connect(NoTls)?),
            prepared: HashMap::new(),
        })
    }

    fn is_valid(&self, s: &mut Session) -> Result<(), postgres::Error> {
        match s.client.as_mut() {
            Some(c) => c.simple_query("").map(|_| ()),
            None => Ok(()),
        }
    }

    fn has_broken(&self, s: &mut Session) -> bool {
        s.is_closed()
    }
}

/// `sql` with SQLite's `?` and `?N` placeholders as PostgreSQL's `$N`.
pub fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut largest = 0usize;
    let mut chars = sql.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                out.push(c);
            }
            (Some(_), c) => out.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                out.push(c);
            }
            (None, '?') => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                let n = if digits.is_empty() {
                    largest + 1
                } else {
                    digits.parse().unwrap_or(largest + 1)
                };
                largest = largest.max(n);
                out.push('$');
                out.push_str(&n.to_string());
            }
            (None, c) => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_as_sqlite_numbers_them() {
        assert_eq!(numbered("a = ? AND b = ?"), "a = $1 AND b = $2");
        assert_eq!(
            numbered("a = ?2 AND b = ?1 OR c = ?"),
            "a = $2 AND b = $1 OR c = $3"
        );
        assert_eq!(numbered("x = '?' AND y = ?"), "x = '?' AND y = $1");
    }
}
