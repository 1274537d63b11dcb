use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{all, opt_time_from_sql, parse_col, time_from_sql, time_to_sql};
use crate::domain::api_key::KeyHash;
use crate::domain::ids::{AccountId, KeyId, TenantId};
use crate::domain::model::{ApiKey, KeyWithOwner, Revocation};
use crate::error::AppResult;

/// A key joined with its owner's kind and the owner's role in the key's tenant.
const SELECT: &str = "SELECT k.id, k.name, k.account_id, k.tenant_id, k.created_by, k.created_at,
        k.expires_at, k.last_used_at, a.kind, m.role, a.server_admin
    FROM api_keys k
    JOIN accounts a ON a.id = k.account_id
    LEFT JOIN memberships m ON m.account_id = k.account_id AND m.tenant_id = k.tenant_id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<KeyWithOwner> {
    Ok(KeyWithOwner {
        key: ApiKey {
            id: r.get(0)?,
            name: r.get(1)?,
            account_id: r.get(2)?,
            tenant_id: r.get(3)?,
            created_by: r.get(4)?,
            created_at: time_from_sql(&r.get::<_, String>(5)?)?,
            expires_at: opt_time_from_sql(r.get(6)?)?,
            last_used_at: opt_time_from_sql(r.get(7)?)?,
        },
        owner_kind: parse_col(&r.get::<_, String>(8)?)?,
        owner_role: r
            .get::<_, Option<String>>(9)?
            .as_deref()
            .map(parse_col)
            .transpose()?,
        owner_server_admin: r.get(10)?,
    })
}

pub fn insert(conn: &Connection, key: &ApiKey, hash: &KeyHash) -> AppResult<()> {
    conn.prepare_cached(
        "INSERT INTO api_keys (id, hash, name, account_id, tenant_id, created_by, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
            key.id,
            &hash.0[..],
            key.name,
            key.account_id,
            key.tenant_id,
            key.created_by,
            time_to_sql(&key.created_at),
            key.expires_at.as_ref().map(time_to_sql),
        ])?;
    Ok(())
}

pub fn find_by_hash(conn: &Connection, hash: &KeyHash) -> AppResult<Option<KeyWithOwner>> {
    Ok(conn
        .prepare_cached(&format!("{SELECT} WHERE k.hash = ?1"))?
        .query_row([&hash.0[..]], from_row)
        .optional()?)
}

pub fn get(conn: &Connection, id: KeyId) -> AppResult<Option<KeyWithOwner>> {
    Ok(conn
        .prepare_cached(&format!("{SELECT} WHERE k.id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

/// The keys a caller might see: its own (in any tenant) and every key of its
/// tenant. Cedar then decides row by row; this only narrows the scan.
pub fn candidates_for(
    conn: &Connection,
    owner: AccountId,
    tenant: TenantId,
) -> AppResult<Vec<KeyWithOwner>> {
    all(
        conn,
        &format!(
            "{SELECT} WHERE k.account_id = ?1 OR k.tenant_id = ?2 ORDER BY k.created_at, k.rowid"
        ),
        params![owner, tenant],
        from_row,
    )
}

/// Why a key that no longer exists stopped working, if it ever existed.
pub fn revocation(
    conn: &Connection,
    hash: &KeyHash,
) -> AppResult<Option<(Revocation, DateTime<Utc>)>> {
    let row: Option<(String, String)> = conn
        .prepare_cached("SELECT reason, revoked_at FROM revoked_keys WHERE hash = ?1")?
        .query_row([&hash.0[..]], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(match row {
        Some((reason, at)) => Some((parse_col(&reason)?, time_from_sql(&at)?)),
        None => None,
    })
}

/// Deletes keys matching `filter`, leaving a tombstone of each hash with `reason`.
fn revoke_where(
    conn: &Connection,
    filter: &str,
    arg: &dyn rusqlite::ToSql,
    reason: Revocation,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    conn.execute(
        &format!(
            "INSERT OR REPLACE INTO revoked_keys (hash, key_id, reason, revoked_at)
             SELECT hash, id, ?2, ?3 FROM api_keys WHERE {filter}"
        ),
        params![arg, reason.as_str(), time_to_sql(&now)],
    )?;
    Ok(conn.execute(&format!("DELETE FROM api_keys WHERE {filter}"), [arg])?)
}

pub fn revoke(
    conn: &Connection,
    id: KeyId,
    reason: Revocation,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    Ok(revoke_where(conn, "id = ?1", &id, reason, now)? == 1)
}

pub fn revoke_all_of(
    conn: &Connection,
    account: AccountId,
    reason: Revocation,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    revoke_where(conn, "account_id = ?1", &account, reason, now)
}

/// Records when a key was last used (never moving it backwards).
pub fn set_last_used(conn: &Connection, id: KeyId, when: DateTime<Utc>) -> AppResult<()> {
    conn.prepare_cached(
        "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2)",
    )?
    .execute(params![id, time_to_sql(&when)])?;
    Ok(())
}

/// Revokes every key `account` holds for `tenant` (it left the tenant).
pub fn revoke_all_of_in(
    conn: &Connection,
    account: AccountId,
    tenant: TenantId,
    reason: Revocation,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    conn.execute(
        "INSERT OR REPLACE INTO revoked_keys (hash, key_id, reason, revoked_at)
         SELECT hash, id, ?3, ?4 FROM api_keys WHERE account_id = ?1 AND tenant_id = ?2",
        params![account, tenant, reason.as_str(), time_to_sql(&now)],
    )?;
    Ok(conn.execute(
        "DELETE FROM api_keys WHERE account_id = ?1 AND tenant_id = ?2",
        params![account, tenant],
    )?)
}

/// Every key `account` holds, oldest first.
pub fn of_account(conn: &Connection, account: AccountId) -> AppResult<Vec<KeyWithOwner>> {
    all(
        conn,
        &format!("{SELECT} WHERE k.account_id = ?1 ORDER BY k.created_at, k.rowid"),
        [account],
        from_row,
    )
}
