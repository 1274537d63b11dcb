//! Versioned migrations, embedded in the binary: one set per backend,
//! numbered alike (SQLite's version N and PostgreSQL's version N hold the
//! same data). SQLite tracks its version in `PRAGMA user_version`,
//! PostgreSQL in `keyward_schema`. Each runs in its own transaction; a
//! database newer than the binary is refused.
use super::sql::{Conn, Dialect};
use crate::error::{AppError, AppResult};

const SQLITE: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_teams.sql"),
    include_str!("migrations/0003_revoked_key_owner.sql"),
    include_str!("migrations/0004_list_indexes.sql"),
    include_str!("migrations/0005_key_lifecycle_and_audit.sql"),
    include_str!("migrations/0006_webhooks.sql"),
];

const POSTGRES: &[&str] = &[
    include_str!("migrations/postgres/0001_init.sql"),
    include_str!("migrations/postgres/0002_teams.sql"),
    include_str!("migrations/postgres/0003_revoked_key_owner.sql"),
    include_str!("migrations/postgres/0004_list_indexes.sql"),
    include_str!("migrations/postgres/0005_key_lifecycle_and_audit.sql"),
    include_str!("migrations/postgres/0006_webhooks.sql"),
];

pub fn run(conn: &Conn<'_>) -> AppResult<()> {
    match conn.dialect() {
        Dialect::Sqlite => {
            let current: i64 = conn.query_one("PRAGMA user_version", &[], |r| r.get(0))?;
            let mark = |v| format!("PRAGMA user_version = {v}");
            apply(conn, SQLITE, current, mark, true)
        }
        Dialect::Postgres => {
            // Replicas starting together: one migrates, the others wait for
            // its lock and then find nothing to do.
            conn.batch(
                "BEGIN;
                 SELECT pg_advisory_xact_lock(7318349394477057);
                 CREATE TABLE IF NOT EXISTS keyward_schema (version BIGINT NOT NULL);
                 INSERT INTO keyward_schema SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM keyward_schema);",
            )?;
            let out = conn
                .query_one("SELECT version FROM keyward_schema", &[], |r| r.get(0))
                .and_then(|current: i64| {
                    apply(
                        conn,
                        POSTGRES,
                        current,
                        |v| format!("UPDATE keyward_schema SET version = {v}"),
                        false,
                    )
                });
            match out {
                Ok(()) => conn.batch("COMMIT"),
                Err(e) => {
                    let _ = conn.batch("ROLLBACK");
                    Err(e)
                }
            }
        }
    }
}

fn check(set: &[&str], current: i64) -> AppResult<usize> {
    let current = usize::try_from(current).unwrap_or(usize::MAX);
    if current > set.len() {
        return Err(AppError::internal(format!(
            "the database is at schema version {current}, newer than this keyward ({}); upgrade keyward",
            set.len()
        )));
    }
    Ok(current)
}

/// Applies the migrations after `current`, each marked with `mark`: in a
/// transaction of its own each (`own_transactions`, SQLite), or all in the
/// caller's (PostgreSQL, under the migration lock).
fn apply(
    conn: &Conn<'_>,
    set: &[&str],
    current: i64,
    mark: impl Fn(usize) -> String,
    own_transactions: bool,
) -> AppResult<()> {
    for (i, sql) in set.iter().enumerate().skip(check(set, current)?) {
        let body = format!("{sql}\n;{};", mark(i + 1));
        if own_transactions {
            conn.batch(&format!("BEGIN;\n{body}\nCOMMIT;"))
                .inspect_err(|_| {
                    let _ = conn.batch("ROLLBACK");
                })?;
        } else {
            conn.batch(&body)?;
        }
        tracing::info!(version = i + 1, "applied database migration");
    }
    Ok(())
}
