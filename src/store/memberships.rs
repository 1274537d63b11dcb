use super::sql::{Conn, Row};
use crate::params;
use chrono::{DateTime, Utc};

use super::paging::{Bind, SortKey, Sql, page};
use super::{Invalidation, Write, parse_col, time_to_sql};
use crate::authz::{Action, Allowed};
use crate::domain::ids::{AccountId, MembershipId, TenantId};
use crate::domain::model::{Member, Membership, Role};
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};

pub fn insert(
    w: &Write,
    proof: &Allowed,
    tenant: TenantId,
    account: AccountId,
    role: Role,
    now: DateTime<Utc>,
) -> AppResult<Membership> {
    w.authorized(
        proof,
        &[
            Action::CreateServiceAccount,
            Action::CreateTenant,
            Action::AcceptInvitation,
        ],
    )?;
    // The account's tenants are part of what its keys are decided on.
    w.evict(Invalidation::Account(account));
    let m = Membership {
        id: MembershipId::random(),
        tenant_id: tenant,
        account_id: account,
        role,
    };
    w.insert("INSERT INTO memberships (id, tenant_id, account_id, role, created_at) VALUES (?1, ?2, ?3, ?4, ?5)", params![m.id, tenant, account, role.as_str(), time_to_sql(&now)], || { AppError::Conflict("the account is already a member of this tenant".to_owned()) })?;
    Ok(m)
}

pub fn role_of(conn: &Conn, account: AccountId, tenant: TenantId) -> AppResult<Option<Role>> {
    let role: Option<String> = conn.query_opt(
        "SELECT role FROM memberships WHERE account_id = ?1 AND tenant_id = ?2",
        params![account, tenant],
        |r| r.get(0),
    )?;
    role.as_deref().map(parse_col).transpose()
}

/// Every tenant `account` is a member of.
pub fn tenants_of(conn: &Conn, account: AccountId) -> AppResult<Vec<TenantId>> {
    conn.query(
        "SELECT tenant_id FROM memberships WHERE account_id = ?1",
        params![account],
        |r| r.get(0),
    )
}

const MEMBER: &str = "SELECT mb.id, mb.tenant_id, mb.account_id, mb.role,
        acc.id, acc.kind, acc.name, acc.email, acc.tenant_id, acc.created_at, acc.server_admin
    FROM memberships mb JOIN accounts acc ON acc.id = mb.account_id";

fn member_from_row(r: &Row<'_>) -> AppResult<Member> {
    Ok(Member {
        membership: Membership {
            id: r.get(0)?,
            tenant_id: r.get(1)?,
            account_id: r.get(2)?,
            role: parse_col(&r.get::<String>(3)?)?,
        },
        account: super::accounts::from_row_at(r, 4)?,
    })
}

pub fn get(conn: &Conn, id: MembershipId) -> AppResult<Option<Member>> {
    conn.query_opt(
        &format!("{MEMBER} WHERE mb.id = ?1"),
        params![id],
        member_from_row,
    )
}

/// One page of `tenant`'s members where any of `conditions` holds, in the
/// order they joined (the tenant index's order: no sort, whatever the size).
pub fn page_of(
    conn: &Conn,
    p: &Principal,
    tenant: TenantId,
    conditions: &[Sql],
    limit: usize,
    offset: usize,
) -> AppResult<Vec<Member>> {
    let order = [SortKey::asc("mb.rowid", "s_row")];
    let scope = Sql::new("mb.tenant_id = ?", vec![Bind::Text(tenant.to_string())]);
    page(
        conn.dialect(),
        MEMBER,
        &scope,
        conditions,
        &order,
        limit,
        offset,
    )
    .map_or(Ok(vec![]), |q| q.rows(conn, Some(p), member_from_row))
}

/// Changes a member's role; its keys in that tenant carry the new one.
pub fn set_role(w: &Write, proof: &Allowed, id: MembershipId, role: Role) -> AppResult<()> {
    w.authorized(proof, &[Action::UpdateMembership])?;
    let changed = w.query_opt(
        "UPDATE memberships SET role = ?2 WHERE id = ?1 RETURNING account_id, tenant_id",
        params![id, role.as_str()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if let Some((account, tenant)) = changed {
        w.evict(Invalidation::AccountInTenant(account, tenant));
    }
    Ok(())
}

/// Removes a membership; the account's keys in that tenant stop working.
pub fn delete(w: &Write, proof: &Allowed, id: MembershipId) -> AppResult<()> {
    w.authorized(proof, &[Action::DeleteMembership])?;
    let gone: Option<(AccountId, TenantId)> = w.query_opt(
        "DELETE FROM memberships WHERE id = ?1 RETURNING account_id, tenant_id",
        params![id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    // Every key of the account carries the tenants it is a member of (its
    // Cedar entity is `in` them), not only its keys for this tenant: all go.
    if let Some((account, _tenant)) = gone {
        w.evict(Invalidation::Account(account));
    }
    Ok(())
}

/// How many people (not service accounts) administer `tenant`.
pub fn count_human_admins(conn: &Conn, tenant: TenantId) -> AppResult<i64> {
    conn.query_one(
        "SELECT count(*) FROM memberships m JOIN accounts a ON a.id = m.account_id
         WHERE m.tenant_id = ?1 AND m.role = 'TENANT_ADMIN' AND a.kind = 'USER'",
        params![tenant],
        |r| r.get(0),
    )
}
