//! Pages of lists the policies filter: in SQL where the policies' residual
//! conditions translate (authz/list_filter.rs, store/paging.rs), and row by
//! row with Cedar where they do not, reading a bounded number of rows.
use crate::store::Conn;

use super::Env;
use crate::authz::Action;
use crate::authz::list_filter::ListFilter;
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};
use crate::store::paging::{Resource, Sql, where_clauses};

/// The most rows one list field returns.
pub const MAX_LIST: i32 = 1_000;

/// The most candidate rows a list decides one by one (when some policy has
/// no SQL form) before it answers with what it found.
pub const MAX_DECIDED: usize = 2_000;

/// Which rows of a list a page is: `limit` of them after `offset`.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub limit: usize,
    pub offset: usize,
}

impl Window {
    /// The `limit` (`default` when absent) and `offset` arguments, checked.
    pub fn parse(limit: Option<i32>, offset: Option<i32>, default: i32) -> AppResult<Self> {
        Ok(Self {
            limit: self::limit(limit, default)?,
            offset: self::offset(offset)?,
        })
    }

    /// The first `n` rows.
    pub fn first(n: usize) -> Self {
        Self {
            limit: n,
            offset: 0,
        }
    }
}

/// A `limit` argument, checked against `MAX_LIST`; `default` when absent.
fn limit(raw: Option<i32>, default: i32) -> AppResult<usize> {
    match raw.unwrap_or(default) {
        n @ 0..=MAX_LIST => Ok(n as usize),
        n => Err(AppError::Invalid(format!(
            "limit must be between 0 and {MAX_LIST}, not {n}"
        ))),
    }
}

/// An `offset` argument. How deep it may go is the cost budget's to say
/// (it counts the rows skipped); deeper walks use `after`.
fn offset(raw: Option<i32>) -> AppResult<usize> {
    match raw.unwrap_or(0) {
        n @ 0.. => Ok(n.unsigned_abs() as usize),
        n => Err(AppError::Invalid(format!(
            "offset must be 0 or more, not {n}"
        ))),
    }
}

/// How lists are filtered. `RowByRow` is the reference the tests compare
/// the SQL filters with: every candidate row, decided by Cedar.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Strategy {
    #[default]
    Sql,
    RowByRow,
}

/// The SQL conditions that say exactly which of `resource`'s rows the
/// caller may see with `filter`; `None` when some rows must be decided one
/// by one.
fn conditions(env: &Env, filter: &ListFilter, resource: Resource) -> Option<Vec<Sql>> {
    if env.lists == Strategy::RowByRow || !filter.exact {
        return None;
    }
    let w = where_clauses(resource, &filter.condition);
    w.exact.then_some(w.any_of)
}

/// `action`'s exact conditions for the caller `p`, if there are.
pub fn exact_conditions(
    env: &Env,
    p: &Principal,
    action: Action,
    resource: Resource,
) -> AppResult<Option<Vec<Sql>>> {
    let filter = env.authz.list_filter(action, p)?;
    Ok(conditions(env, &filter, resource))
}

/// One page of `action`'s `resource`s for the caller `p`.
/// `fetch(conditions, limit, offset)` reads rows where any condition holds;
/// `decide(rows)` keeps those Cedar allows, one by one.
pub fn page<T>(
    env: &Env,
    p: &Principal,
    conn: &Conn,
    (action, resource): (Action, Resource),
    Window { limit, offset }: Window,
    fetch: impl Fn(&[Sql], usize, usize) -> AppResult<Vec<T>>,
    decide: impl Fn(&Conn, Vec<T>) -> AppResult<Vec<T>>,
) -> AppResult<Vec<T>> {
    let filter = env.authz.list_filter(action, p)?;
    let (conditions, cap) = match conditions(env, &filter, resource) {
        Some(exact) => return fetch(&exact, limit, offset),
        None if env.lists == Strategy::RowByRow => (vec![Sql::new("TRUE", vec![])], usize::MAX),
        None => (
            where_clauses(resource, &filter.condition).any_of,
            MAX_DECIDED,
        ),
    };
    let want = offset + limit;
    let batch = want.clamp(50, MAX_DECIDED);
    let mut kept = Vec::new();
    let mut read = 0;
    loop {
        let rows = fetch(&conditions, batch, read)?;
        let n = rows.len();
        read += n;
        kept.extend(decide(conn, rows)?);
        if kept.len() >= want || n < batch {
            break;
        }
        if read >= cap {
            // An answer cut short would look complete: refuse instead.
            return Err(AppError::TooExpensive(format!(
                "this page needs more than {cap} rows decided one by one, because {} have no SQL form; ask for a smaller limit or offset, or continue with `after`",
                policies(&filter.untranslated)
            )));
        }
    }
    Ok(kept.into_iter().skip(offset).take(limit).collect())
}

/// `policy "a"`, `policies "a", "b"`, or what the translator says.
fn policies(ids: &[String]) -> String {
    let quoted: Vec<String> = ids.iter().map(|i| format!("{i:?}")).collect();
    match quoted.as_slice() {
        [] => "some conditions".to_owned(),
        [one] => format!("policy {one}"),
        many => format!("policies {}", many.join(", ")),
    }
}
