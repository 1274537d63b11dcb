use super::sql::{Conn, Row};
use crate::params;
use chrono::{DateTime, Utc};

use super::paging::{Bind, SortKey, Sql, page};
use super::{Invalidation, Write, parse_col, time_from_sql, time_to_sql};
use crate::authz::{Action, Allowed};
use crate::domain::ids::{AccountId, TenantId};
use crate::domain::model::{Account, AccountKind, Role};
use crate::domain::names::{DisplayName, Email};
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};

const COLUMNS: &str = "id, kind, name, email, tenant_id, created_at, server_admin";
/// `COLUMNS` of the table aliased `acc`.
const ACC_COLUMNS: &str =
    "acc.id, acc.kind, acc.name, acc.email, acc.tenant_id, acc.created_at, acc.server_admin";

fn from_row(r: &Row<'_>) -> AppResult<Account> {
    from_row_at(r, 0)
}

/// An account whose `COLUMNS` start at column `at` (after a join's own).
pub(super) fn from_row_at(r: &Row<'_>, at: usize) -> AppResult<Account> {
    Ok(Account {
        id: r.get(at)?,
        kind: parse_col(&r.get::<String>(at + 1)?)?,
        name: r.get(at + 2)?,
        email: r.get(at + 3)?,
        tenant_id: r.get(at + 4)?,
        created_at: time_from_sql(&r.get::<String>(at + 5)?)?,
        server_admin: r.get(at + 6)?,
    })
}

fn insert(w: &Write, a: &Account) -> AppResult<()> {
    w.insert(
        &format!("INSERT INTO accounts ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
        params![
            a.id,
            a.kind.as_str(),
            a.name,
            a.email,
            a.tenant_id,
            time_to_sql(&a.created_at),
            a.server_admin
        ],
        || {
            AppError::Conflict(format!(
                "a user with e-mail {:?} already exists",
                a.email.as_ref().map(Email::as_str).unwrap_or_default()
            ))
        },
    )?;
    Ok(())
}

pub fn insert_user(
    w: &Write,
    proof: &Allowed,
    email: &Email,
    server_admin: bool,
    now: DateTime<Utc>,
) -> AppResult<Account> {
    w.authorized(proof, &[Action::AcceptInvitation])?;
    let a = Account {
        id: AccountId::random(),
        kind: AccountKind::User,
        name: DisplayName::of_email(email),
        email: Some(email.clone()),
        tenant_id: None,
        server_admin,
        created_at: now,
    };
    insert(w, &a)?;
    Ok(a)
}

/// The user with `email`, made if there is none.
pub fn find_or_create_user(
    w: &Write,
    proof: &Allowed,
    email: &Email,
    now: DateTime<Utc>,
) -> AppResult<Account> {
    match find_user_by_email(w, email)? {
        Some(a) => Ok(a),
        None => insert_user(w, proof, email, false, now),
    }
}

pub fn insert_service_account(
    w: &Write,
    proof: &Allowed,
    tenant: TenantId,
    name: &DisplayName,
    now: DateTime<Utc>,
) -> AppResult<Account> {
    w.authorized(proof, &[Action::CreateServiceAccount])?;
    let a = Account {
        id: AccountId::random(),
        kind: AccountKind::Service,
        name: name.clone(),
        email: None,
        tenant_id: Some(tenant),
        server_admin: false,
        created_at: now,
    };
    insert(w, &a)?;
    Ok(a)
}

pub fn get(conn: &Conn, id: AccountId) -> AppResult<Option<Account>> {
    conn.query_opt(
        &format!("SELECT {COLUMNS} FROM accounts WHERE id = ?1"),
        params![id],
        from_row,
    )
}

/// Deletes the account; its memberships and keys go with it (foreign keys).
pub fn delete(w: &Write, proof: &Allowed, id: AccountId) -> AppResult<bool> {
    w.authorized(proof, &[Action::DeleteServiceAccount])?;
    w.evict(Invalidation::Account(id));
    Ok(w.execute("DELETE FROM accounts WHERE id = ?1", params![id])? == 1)
}

pub fn find_user_by_email(conn: &Conn, email: &Email) -> AppResult<Option<Account>> {
    conn.query_opt(
        &format!("SELECT {COLUMNS} FROM accounts WHERE email = ?1"),
        params![email.as_str()],
        from_row,
    )
}

/// One page of `tenant`'s service accounts where any of `conditions`
/// holds, oldest first, with their roles there.
pub fn service_accounts_page(
    conn: &Conn,
    p: &Principal,
    tenant: TenantId,
    conditions: &[Sql],
    limit: usize,
    offset: usize,
) -> AppResult<Vec<(Account, Option<Role>)>> {
    let order = [
        SortKey::asc("acc.created_at", "s_created"),
        SortKey::asc("acc.rowid", "s_row"),
    ];
    let scope = Sql::new(
        "acc.kind = 'SERVICE' AND acc.tenant_id = ?",
        vec![Bind::Text(tenant.to_string())],
    );
    let select = format!(
        "SELECT {ACC_COLUMNS}, r.role FROM accounts acc
         LEFT JOIN memberships r ON r.account_id = acc.id AND r.tenant_id = acc.tenant_id"
    );
    page(
        conn.dialect(),
        &select,
        &scope,
        conditions,
        &order,
        limit,
        offset,
    )
    .map_or(Ok(vec![]), |q| {
        q.rows(conn, Some(p), |r| {
            let role: Option<String> = r.get(7)?;
            Ok((from_row(r)?, role.as_deref().map(parse_col).transpose()?))
        })
    })
}

pub fn rename(w: &Write, proof: &Allowed, id: AccountId, name: &DisplayName) -> AppResult<()> {
    w.authorized(proof, &[Action::UpdateServiceAccount])?;
    w.execute(
        "UPDATE accounts SET name = ?2 WHERE id = ?1",
        params![id, name.as_str()],
    )?;
    Ok(())
}
