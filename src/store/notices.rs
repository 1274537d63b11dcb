//! Which keys are due for an expiry notice (`webhooks::notices`), and when
//! each one's next is: an indexed column, so a run reads only the due keys.
use chrono::{DateTime, Utc};

use super::sql::Conn;
use super::{Write, opt_time_from_sql, time_to_sql};
use crate::authz::SystemTask;
use crate::domain::ids::{AccountId, KeyId, TenantId};
use crate::error::AppResult;
use crate::params;

/// A key whose next expiry notice is due (`webhooks::notices`).
pub struct DueKey {
    pub id: KeyId,
    pub name: String,
    pub owner: AccountId,
    pub tenant: TenantId,
    pub expires_at: Option<DateTime<Utc>>,
    pub rotated: bool,
}

/// Up to `batch` keys whose next notice is due by `now`, the most overdue
/// first (an index on `next_notice_at` reads only these).
pub fn due_for_notice(conn: &Conn, now: DateTime<Utc>, batch: usize) -> AppResult<Vec<DueKey>> {
    conn.query(
        "SELECT id, name, account_id, tenant_id, expires_at, rotated_at FROM api_keys
         WHERE next_notice_at IS NOT NULL AND next_notice_at <= ?1
         ORDER BY next_notice_at LIMIT ?2",
        params![time_to_sql(&now), batch],
        |r| {
            Ok(DueKey {
                id: r.get(0)?,
                name: r.get(1)?,
                owner: r.get(2)?,
                tenant: r.get(3)?,
                expires_at: opt_time_from_sql(r.get(4)?)?,
                rotated: r.get::<Option<String>>(5)?.is_some(),
            })
        },
    )
}

/// When `id`'s next notice is due (`None`: never again).
pub fn set_next_notice(
    w: &Write,
    _: &SystemTask,
    id: KeyId,
    next: Option<DateTime<Utc>>,
) -> AppResult<()> {
    w.execute(
        "UPDATE api_keys SET next_notice_at = ?2 WHERE id = ?1",
        params![id, next.as_ref().map(time_to_sql)],
    )?;
    Ok(())
}
