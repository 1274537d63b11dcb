use super::sql::{Conn, Row};
use crate::params;
use chrono::{DateTime, Utc};

use super::paging::{Bind, SortKey, Sql, page};
use super::{Write, opt_time_from_sql, parse_col, time_from_sql, time_to_sql};
use crate::authz::{Action, Allowed};
use crate::domain::api_key::KeyHash;
use crate::domain::ids::{AccountId, InvitationId, TenantId};
use crate::domain::model::Invitation;
use crate::domain::principal::Principal;
use crate::error::AppResult;

const SELECT: &str = "SELECT i.id, i.tenant_id, i.email, i.role, i.created_by, i.created_at,
        i.expires_at, i.accepted_at, i.revoked_at
    FROM invitations i";

fn from_row(r: &Row<'_>) -> AppResult<Invitation> {
    Ok(Invitation {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        email: r.get(2)?,
        role: parse_col(&r.get::<String>(3)?)?,
        created_by: r.get(4)?,
        created_at: time_from_sql(&r.get::<String>(5)?)?,
        expires_at: time_from_sql(&r.get::<String>(6)?)?,
        accepted_at: opt_time_from_sql(r.get(7)?)?,
        revoked_at: opt_time_from_sql(r.get(8)?)?,
    })
}

pub fn insert(w: &Write, proof: &Allowed, inv: &Invitation, hash: &KeyHash) -> AppResult<()> {
    w.authorized(proof, &[Action::CreateInvitation])?;
    w.execute("INSERT INTO invitations (id, hash, tenant_id, email, role, created_by, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", params![
            inv.id,
            hash,
            inv.tenant_id,
            inv.email,
            inv.role.as_str(),
            inv.created_by,
            time_to_sql(&inv.created_at),
            time_to_sql(&inv.expires_at),
        ])?;
    Ok(())
}

pub fn find_by_hash(conn: &Conn, hash: &KeyHash) -> AppResult<Option<Invitation>> {
    conn.query_opt(
        &format!("{SELECT} WHERE i.hash = ?1"),
        params![hash],
        from_row,
    )
}

pub fn get(conn: &Conn, id: InvitationId) -> AppResult<Option<Invitation>> {
    conn.query_opt(&format!("{SELECT} WHERE i.id = ?1"), params![id], from_row)
}

/// One page of `tenant`'s invitations where any of `conditions` holds,
/// newest first.
pub fn page_of(
    conn: &Conn,
    p: &Principal,
    tenant: TenantId,
    conditions: &[Sql],
    limit: usize,
    offset: usize,
) -> AppResult<Vec<Invitation>> {
    let order = [
        SortKey::desc("i.created_at", "s_created"),
        SortKey::desc("i.rowid", "s_row"),
    ];
    let scope = Sql::new("i.tenant_id = ?", vec![Bind::Text(tenant.to_string())]);
    page(
        conn.dialect(),
        SELECT,
        &scope,
        conditions,
        &order,
        limit,
        offset,
    )
    .map_or(Ok(vec![]), |q| q.rows(conn, Some(p), from_row))
}

/// Marks the invitation used; false if it was already used or revoked (a
/// concurrent accept lost the race).
pub fn accept(
    w: &Write,
    proof: &Allowed,
    id: InvitationId,
    by: AccountId,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    w.authorized(proof, &[Action::AcceptInvitation])?;
    Ok(w.execute(
        "UPDATE invitations SET accepted_at = ?2, accepted_by = ?3
         WHERE id = ?1 AND accepted_at IS NULL AND revoked_at IS NULL",
        params![id, time_to_sql(&now), by],
    )? == 1)
}

pub fn revoke(w: &Write, proof: &Allowed, id: InvitationId, now: DateTime<Utc>) -> AppResult<()> {
    w.authorized(proof, &[Action::DeleteInvitation])?;
    w.execute(
        "UPDATE invitations SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        params![id, time_to_sql(&now)],
    )?;
    Ok(())
}
