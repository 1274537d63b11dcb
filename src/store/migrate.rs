//! Versioned migrations, embedded in the binary and tracked in
//! `PRAGMA user_version`. Each runs in its own transaction.
use rusqlite::Connection;

use crate::error::{AppError, AppResult};

const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_teams.sql"),
    include_str!("migrations/0003_revoked_key_owner.sql"),
    include_str!("migrations/0004_list_indexes.sql"),
    include_str!("migrations/0005_key_lifecycle_and_audit.sql"),
];

pub fn run(conn: &mut Connection) -> AppResult<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let current = usize::try_from(current).unwrap_or(usize::MAX);
    if current > MIGRATIONS.len() {
        return Err(AppError::internal(format!(
            "the database is at schema version {current}, newer than this keyward ({}); upgrade keyward",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied database migration");
    }
    Ok(())
}
