//! Pages of keys: in creation order through the indexes (with a cursor to
//! continue), or sorted by name or expiry up to a bound; and the first keys
//! of many accounts at once.
use chrono::{DateTime, Utc};

use super::api_keys::{SELECT, from_row};
use super::paging::{Bind, SortKey, Sql, more_than, page};
use super::sql::{Conn, Row};
use super::{time_from_sql, time_to_sql};
use crate::domain::ids::{AccountId, KeyId};
use crate::domain::model::KeyWithOwner;
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};
use crate::params;

/// The key `id` with its cursor (as a list gives it).
pub fn listed(conn: &Conn, id: KeyId) -> AppResult<Option<(KeyWithOwner, Cursor)>> {
    conn.query_opt(&format!("{SELECT} WHERE k.id = ?1"), params![id], |r| {
        Ok((from_row(r)?, Cursor::of(r)?))
    })
}

/// Where a key stands in creation order: what `after` continues from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    created_at: String,
    rowid: i64,
}

impl Cursor {
    fn of(r: &Row<'_>) -> AppResult<Self> {
        Ok(Self {
            created_at: r.get(5)?,
            rowid: r.get(11)?,
        })
    }

    /// Opaque to clients: the creation time and insertion order.
    pub fn encode(&self) -> String {
        format!("{}|{}", self.created_at, self.rowid)
    }

    pub fn decode(s: &str) -> AppResult<Self> {
        let bad = || AppError::Invalid(format!("{s:?} is not a cursor this list gave"));
        let (created_at, rowid) = s.split_once('|').ok_or_else(bad)?;
        time_from_sql(created_at).map_err(|_| bad())?;
        Ok(Self {
            created_at: created_at.to_owned(),
            rowid: rowid.parse().map_err(|_| bad())?,
        })
    }
}

/// The sort keys of a key list: creation time, name, expiry, either way;
/// ties in insertion order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyOrder {
    Created { desc: bool },
    Name { desc: bool },
    ExpiresAt { desc: bool },
}

fn sort_keys(order: &[KeyOrder]) -> Vec<SortKey> {
    let mut keys: Vec<SortKey> = order
        .iter()
        .map(|o| match *o {
            KeyOrder::Created { desc } => SortKey::new("k.created_at", "s_created", desc),
            KeyOrder::Name { desc } => SortKey::new("k.name", "s_name", desc),
            KeyOrder::ExpiresAt { desc } => SortKey::new("k.expires_at", "s_expires", desc),
        })
        .collect();
    if keys.is_empty() {
        keys.push(SortKey::asc("k.created_at", "s_created"));
    }
    // Ties go the way creation time does, so an index on (…, created_at)
    // read backwards serves `{created: desc}` with no sort at all.
    let desc = matches!(order.first(), Some(KeyOrder::Created { desc: true }));
    keys.push(SortKey::new("k.rowid", "s_row", desc));
    keys
}

/// The most keys a list sorts by something other than creation time (which
/// the indexes hold in order): more is refused, so no page sorts a million.
pub const MAX_SORTED: usize = 5_000;

/// Which keys a page is cut from, besides the policies' conditions.
pub struct KeyScope {
    /// Only this account's keys.
    pub owner: Option<AccountId>,
    /// Only those after this one, in the list's order (creation order).
    pub after: Option<Cursor>,
    /// Now: a rotated key whose grace is over is no longer listed.
    pub now: DateTime<Utc>,
}

/// A key still listed at `?`: not past the grace of its rotation.
const LIVE: &str = "(k.grace_until IS NULL OR k.grace_until > ?)";

/// One page of the keys where any of `conditions` holds, with each key's
/// cursor.
pub fn page_of(
    conn: &Conn,
    p: &Principal,
    conditions: &[Sql],
    scope: &KeyScope,
    order: &[KeyOrder],
    limit: usize,
    offset: usize,
) -> AppResult<Vec<(KeyWithOwner, Cursor)>> {
    let mut text = vec![LIVE.to_owned()];
    let mut binds = vec![Bind::Text(time_to_sql(&scope.now))];
    if let Some(owner) = scope.owner {
        text.push("k.account_id = ?".into());
        binds.push(Bind::Text(owner.to_string()));
    }
    if let Some(c) = &scope.after {
        let desc = match order {
            [] | [KeyOrder::Created { desc: false }] => false,
            [KeyOrder::Created { desc: true }] => true,
            _ => {
                return Err(AppError::Invalid(
                    "`after` continues a list in creation order: use it with no order_by or order_by {created: asc|desc}".into(),
                ));
            }
        };
        let past = if desc { "<" } else { ">" };
        text.push(format!(
            "(k.created_at {past} ? OR (k.created_at = ? AND k.rowid {past} ?))"
        ));
        binds.extend([
            Bind::Text(c.created_at.clone()),
            Bind::Text(c.created_at.clone()),
            Bind::Int(c.rowid),
        ]);
    }
    let scope = Sql::new(text.join(" AND "), binds);
    let indexed = order.iter().all(|o| matches!(o, KeyOrder::Created { .. }));
    if !indexed && more_than(conn, p, SELECT, &scope, conditions, MAX_SORTED)? {
        return Err(AppError::Invalid(format!(
            "ordering by name or expires_at sorts every matching key, and more than {MAX_SORTED} match: order by created (indexed), or narrow the list with where: {{user_id: {{_eq: ...}}}}"
        )));
    }
    page(
        conn.dialect(),
        SELECT,
        &scope,
        conditions,
        &sort_keys(order),
        limit,
        offset,
    )
    .map_or(Ok(vec![]), |q| {
        q.rows(conn, Some(p), |r| Ok((from_row(r)?, Cursor::of(r)?)))
    })
}

/// At most `per_account` keys (the oldest) of each of `accounts` where any
/// of `conditions` holds, in creation order: one statement, each account's
/// keys read through its index and cut there, however many it holds.
pub fn of_accounts(
    conn: &Conn,
    p: &Principal,
    accounts: &[AccountId],
    conditions: &[Sql],
    per_account: usize,
    now: DateTime<Utc>,
) -> AppResult<Vec<(KeyWithOwner, Cursor)>> {
    if accounts.is_empty() || conditions.is_empty() {
        return Ok(vec![]);
    }
    let (cols, from) = SELECT.split_once(" FROM ").unwrap_or((SELECT, ""));
    let joins = from.trim_start().trim_start_matches("api_keys k");
    let owners = vec!["(?)"; accounts.len()].join(", ");
    let any = conditions
        .iter()
        .map(|c| format!("({})", c.text))
        .collect::<Vec<_>>()
        .join(" OR ");
    let text = format!(
        "{cols} FROM (VALUES {owners}) o
         JOIN api_keys k ON k.rowid IN (
             SELECT k.rowid FROM {from} WHERE k.account_id = o.column1 AND {LIVE} AND ({any})
             ORDER BY k.created_at, k.rowid LIMIT ?)
         {joins}
         ORDER BY k.created_at, k.rowid"
    );
    let mut binds: Vec<Bind> = accounts.iter().map(|a| Bind::Text(a.to_string())).collect();
    binds.push(Bind::Text(time_to_sql(&now)));
    binds.extend(conditions.iter().flat_map(|c| c.binds.iter().cloned()));
    binds.push(Bind::Int(i64::try_from(per_account).unwrap_or(i64::MAX)));
    Sql::new(text, binds).rows(conn, Some(p), |r| Ok((from_row(r)?, Cursor::of(r)?)))
}
