use super::sql::{Conn, Row};
use crate::params;
use chrono::{DateTime, Utc};

use super::paging::{Bind, SortKey, Sql, page};
use super::{Write, time_from_sql, time_to_sql};
use crate::authz::{Action, Allowed};
use crate::domain::ids::{AccountId, TenantId};
use crate::domain::model::Tenant;
use crate::domain::names::{DisplayName, Slug};
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};

fn from_row(r: &Row<'_>) -> AppResult<Tenant> {
    Ok(Tenant {
        id: r.get(0)?,
        name: r.get(1)?,
        slug: r.get(2)?,
        created_at: time_from_sql(&r.get::<String>(3)?)?,
    })
}

pub fn insert(
    w: &Write,
    proof: &Allowed,
    name: &DisplayName,
    slug: &Slug,
    now: DateTime<Utc>,
) -> AppResult<Tenant> {
    w.authorized(proof, &[Action::CreateTenant])?;
    let t = Tenant {
        id: TenantId::random(),
        name: name.clone(),
        slug: slug.clone(),
        created_at: now,
    };
    w.insert(
        "INSERT INTO tenants (id, name, slug, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![t.id, t.name, t.slug, time_to_sql(&now)],
        || {
            AppError::Conflict(format!(
                "a tenant with slug {:?} already exists",
                slug.as_str()
            ))
        },
    )?;
    Ok(t)
}

pub fn count(conn: &Conn) -> AppResult<i64> {
    conn.query_one("SELECT count(*) FROM tenants", &[], |r| r.get(0))
}

pub fn get(conn: &Conn, id: TenantId) -> AppResult<Option<Tenant>> {
    conn.query_opt(
        "SELECT id, name, slug, created_at FROM tenants WHERE id = ?1",
        params![id],
        from_row,
    )
}

pub fn find_by_slug(conn: &Conn, slug: &Slug) -> AppResult<Option<Tenant>> {
    conn.query_opt(
        "SELECT id, name, slug, created_at FROM tenants WHERE slug = ?1",
        params![slug.as_str()],
        from_row,
    )
}

/// How a tenant list is sorted, besides by id last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TenantOrder {
    Slug { desc: bool },
    Name { desc: bool },
}

/// Which tenants a page is cut from, besides the policies' conditions: the
/// member's, and those matching every given field.
pub struct TenantScope<'a> {
    pub member: AccountId,
    pub id: Option<TenantId>,
    pub slug: Option<&'a str>,
    pub name: Option<&'a str>,
}

/// One page of the tenants in `scope` where any of `conditions` holds; by
/// slug unless `order` says otherwise.
pub fn page_of(
    conn: &Conn,
    p: &Principal,
    scope: &TenantScope<'_>,
    conditions: &[Sql],
    order: &[TenantOrder],
    limit: usize,
    offset: usize,
) -> AppResult<Vec<Tenant>> {
    let mut keys: Vec<SortKey> = order
        .iter()
        .map(|o| match *o {
            TenantOrder::Slug { desc } => SortKey::new("t.slug", "s_slug", desc),
            TenantOrder::Name { desc } => SortKey::new("t.name", "s_name", desc),
        })
        .collect();
    keys.push(SortKey::asc("t.slug", "s_slug_last"));
    let mut text = vec!["mine.account_id = ?"];
    let mut binds = vec![Bind::Text(scope.member.to_string())];
    if let Some(id) = scope.id {
        text.push("t.id = ?");
        binds.push(Bind::Text(id.to_string()));
    }
    if let Some(slug) = scope.slug {
        text.push("t.slug = ?");
        binds.push(Bind::Text(slug.to_owned()));
    }
    if let Some(name) = scope.name {
        text.push("t.name = ?");
        binds.push(Bind::Text(name.to_owned()));
    }
    let scope = Sql::new(text.join(" AND "), binds);
    // From the member's memberships: a few rows, however many tenants.
    let select = "SELECT t.id, t.name, t.slug, t.created_at FROM tenants t
        JOIN memberships mine ON mine.tenant_id = t.id";
    page(
        conn.dialect(),
        select,
        &scope,
        conditions,
        &keys,
        limit,
        offset,
    )
    .map_or(Ok(vec![]), |q| q.rows(conn, Some(p), from_row))
}
