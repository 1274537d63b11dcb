use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{Write, all, is_unique_violation, time_from_sql, time_to_sql};
use crate::authz::{Action, Allowed};
use crate::domain::ids::{AccountId, TenantId};
use crate::domain::model::Tenant;
use crate::domain::names::{DisplayName, Slug};
use crate::error::{AppError, AppResult};

fn from_row(r: &Row<'_>) -> rusqlite::Result<Tenant> {
    Ok(Tenant {
        id: r.get(0)?,
        name: r.get(1)?,
        slug: r.get(2)?,
        created_at: time_from_sql(&r.get::<_, String>(3)?)?,
    })
}

pub fn insert(
    w: &Write,
    proof: &Allowed,
    name: &DisplayName,
    slug: &Slug,
    now: DateTime<Utc>,
) -> AppResult<Tenant> {
    proof.covers(&[Action::CreateTenant])?;
    let t = Tenant {
        id: TenantId::random(),
        name: name.clone(),
        slug: slug.clone(),
        created_at: now,
    };
    w.execute(
        "INSERT INTO tenants (id, name, slug, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![t.id, t.name, t.slug, time_to_sql(&now)],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            AppError::Conflict(format!(
                "a tenant with slug {:?} already exists",
                slug.as_str()
            ))
        } else {
            e.into()
        }
    })?;
    Ok(t)
}

pub fn count(conn: &Connection) -> AppResult<i64> {
    Ok(conn.query_row("SELECT count(*) FROM tenants", [], |r| r.get(0))?)
}

pub fn get(conn: &Connection, id: TenantId) -> AppResult<Option<Tenant>> {
    Ok(conn
        .query_row(
            "SELECT id, name, slug, created_at FROM tenants WHERE id = ?1",
            [id],
            from_row,
        )
        .optional()?)
}

/// The tenants `account` is a member of, by slug.
pub fn of_member(conn: &Connection, account: AccountId) -> AppResult<Vec<Tenant>> {
    all(
        conn,
        "SELECT t.id, t.name, t.slug, t.created_at FROM tenants t
         JOIN memberships m ON m.tenant_id = t.id
         WHERE m.account_id = ?1 ORDER BY t.slug",
        [account],
        from_row,
    )
}
