use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{parse_col, time_to_sql};
use crate::domain::ids::{AccountId, MembershipId, TenantId};
use crate::domain::model::{Membership, Role};
use crate::error::AppResult;

pub fn insert(
    conn: &Connection,
    tenant: TenantId,
    account: AccountId,
    role: Role,
    now: DateTime<Utc>,
) -> AppResult<Membership> {
    let m = Membership {
        id: MembershipId::random(),
        tenant_id: tenant,
        account_id: account,
        role,
    };
    conn.execute(
        "INSERT INTO memberships (id, tenant_id, account_id, role, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![m.id, tenant, account, role.as_str(), time_to_sql(&now)],
    )?;
    Ok(m)
}

pub fn role_of(conn: &Connection, account: AccountId, tenant: TenantId) -> AppResult<Option<Role>> {
    let role: Option<String> = conn
        .prepare_cached("SELECT role FROM memberships WHERE account_id = ?1 AND tenant_id = ?2")?
        .query_row(params![account, tenant], |r| r.get(0))
        .optional()?;
    Ok(role.as_deref().map(parse_col).transpose()?)
}

/// Every tenant `account` is a member of.
pub fn tenants_of(conn: &Connection, account: AccountId) -> AppResult<Vec<TenantId>> {
    let mut stmt =
        conn.prepare_cached("SELECT tenant_id FROM memberships WHERE account_id = ?1")?;
    let rows = stmt.query_map([account], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
