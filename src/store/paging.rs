//! Lists in SQL: a policy-derived `Condition` (authz/list_filter.rs) as WHERE
//! clauses over one resource table, and pages of it. Each conjunction of
//! the condition becomes its own index-ordered arm of a compound SELECT,
//! merged in order and cut in SQL: an OR across columns would otherwise
//! make SQLite sort every matching row to return ten.

use super::sql::{Conn, Dialect, Row, ToValue, Value};
use crate::authz::condition::{Atom, Condition, Lit, Param, Val};
use crate::domain::principal::Principal;

/// The resource types lists are made of, with their tables' aliases:
/// `k` api_keys (with `a`, its owner's account, and `m`, the owner's
/// membership in the key's tenant), `mb` memberships (with `acc`),
/// `i` invitations, `acc` accounts, `t` tenants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    ApiKey,
    Membership,
    Invitation,
    Account,
    Tenant,
}

/// A value to bind: given, or the caller's own ids.
#[derive(Clone, Debug)]
pub enum Bind {
    Param(Param),
    Text(String),
    Int(i64),
}

impl Bind {
    /// Its value; a caller's id without a caller is NULL (matches nothing).
    fn value(&self, p: Option<&Principal>) -> Value<'_> {
        match (self, p) {
            (Bind::Param(_), None) => Value::Null,
            (Bind::Param(Param::Key), Some(p)) => Value::Text(p.key_id.to_string().into()),
            (Bind::Param(Param::Owner), Some(p)) => Value::Text(p.account_id.to_string().into()),
            (Bind::Param(Param::Tenant), Some(p)) => Value::Text(p.tenant_id.to_string().into()),
            (Bind::Text(s), _) => Value::Text(s.as_str().into()),
            (Bind::Int(n), _) => Value::Int(*n),
        }
    }
}

/// SQL text with its `?` values in order.
#[derive(Clone, Debug, Default)]
pub struct Sql {
    pub text: String,
    pub binds: Vec<Bind>,
}

impl Sql {
    pub fn new(text: impl Into<String>, binds: Vec<Bind>) -> Self {
        Self {
            text: text.into(),
            binds,
        }
    }

    pub fn values(&self, p: Option<&Principal>) -> Vec<Value<'_>> {
        self.binds.iter().map(|b| b.value(p)).collect()
    }

    /// Runs it for `p` (if its values name the caller's ids), each row read
    /// by `f`.
    pub fn rows<T>(
        &self,
        conn: &Conn,
        p: Option<&Principal>,
        f: impl FnMut(&Row<'_>) -> crate::error::AppResult<T>,
    ) -> crate::error::AppResult<Vec<T>> {
        let values = self.values(p);
        let params: Vec<&dyn ToValue> = values.iter().map(|v| v as &dyn ToValue).collect();
        conn.query(&self.text, &params, f)
    }
}

/// A condition as WHERE clauses, one per conjunction, and whether they say
/// all of it (`false`: some test had no SQL form and was left out, so the
/// rows are a superset to decide one by one).
pub struct Where {
    pub any_of: Vec<Sql>,
    pub exact: bool,
}

/// `condition` over `resource`'s table.
pub fn where_clauses(resource: Resource, condition: &Condition) -> Where {
    let mut exact = true;
    let any_of = condition
        .any_of
        .iter()
        .map(|conj| {
            let mut parts = Vec::new();
            let mut binds = Vec::new();
            for lit in conj {
                match literal(resource, lit) {
                    Some(sql) => {
                        parts.push(sql.text);
                        binds.extend(sql.binds);
                    }
                    // Leaving a test out of a conjunction only widens it.
                    None => exact = false,
                }
            }
            if parts.is_empty() {
                Sql::new("TRUE", vec![])
            } else {
                Sql::new(parts.join(" AND "), binds)
            }
        })
        .collect();
    Where { any_of, exact }
}

fn literal(resource: Resource, lit: &Lit) -> Option<Sql> {
    let sql = atom(resource, &lit.atom)?;
    Some(if lit.negated {
        Sql::new(format!("NOT ({})", sql.text), sql.binds)
    } else {
        sql
    })
}

/// What kind of value a column holds, to compare only like with like (a
/// comparison across types is false in Cedar).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Entity(&'static str),
    Text,
    Bool,
}

fn kind_of(v: &Val) -> Kind {
    match v {
        Val::Param(Param::Key) => Kind::Entity("ApiKey"),
        Val::Param(Param::Owner) => Kind::Entity("Account"),
        Val::Param(Param::Tenant) => Kind::Entity("Tenant"),
        Val::Entity(ty, _) => Kind::Entity(ty),
        Val::Str(_) => Kind::Text,
        Val::Bool(_) => Kind::Bool,
        Val::Long(_) => Kind::Bool, // no Long attributes: never equal
    }
}

fn bind(v: &Val) -> Bind {
    match v {
        Val::Param(p) => Bind::Param(*p),
        Val::Entity(_, id) | Val::Str(id) => Bind::Text(id.clone()),
        Val::Bool(b) => Bind::Int(i64::from(*b)),
        Val::Long(n) => Bind::Int(*n),
    }
}

/// `column = value`, or false when the value is of another kind.
fn equals(column: &str, kind: Kind, v: &Val) -> Sql {
    if kind_of(v) != kind {
        return Sql::new("FALSE", vec![]);
    }
    Sql::new(format!("{column} = ?"), vec![bind(v)])
}

/// `account` is a member of `tenant` (both SQL expressions).
fn member(account: &str, tenant: &str, binds: Vec<Bind>) -> Sql {
    Sql::new(
        format!(
            "EXISTS (SELECT 1 FROM memberships x WHERE x.account_id = {account} AND x.tenant_id = {tenant})"
        ),
        binds,
    )
}

/// A key's role as its entity has it: NONE without a membership, else the
/// lower of its own (if restricted) and its owner's.
const EFFECTIVE_ROLE: &str = "(CASE
    WHEN m.role IS NULL THEN 'NONE'
    WHEN k.role IS NULL THEN m.role
    WHEN k.role = 'READ_ONLY_USER' OR m.role = 'READ_ONLY_USER' THEN 'READ_ONLY_USER'
    WHEN k.role = 'USER' OR m.role = 'USER' THEN 'USER'
    ELSE 'TENANT_ADMIN' END)";

/// A resource attribute's column: what it holds.
fn column(resource: Resource, path: &[&str]) -> Option<(&'static str, Kind)> {
    use Kind::*;
    Some(match (resource, path) {
        (Resource::ApiKey, []) => ("k.id", Entity("ApiKey")),
        (Resource::ApiKey, ["owner"]) => ("k.account_id", Entity("Account")),
        (Resource::ApiKey, ["tenant"]) => ("k.tenant_id", Entity("Tenant")),
        // What the key may do: its own role capped by its owner's
        // (`KeyWithOwner::effective_role`).
        (Resource::ApiKey, ["role"]) => (EFFECTIVE_ROLE, Text),
        (Resource::ApiKey, ["owner", "kind"]) => ("k.owner_kind", Text),
        (Resource::ApiKey, ["owner", "server_admin"]) => ("a.server_admin", Bool),
        (Resource::Membership, []) => ("mb.id", Entity("Membership")),
        (Resource::Membership, ["account"]) => ("mb.account_id", Entity("Account")),
        (Resource::Membership, ["tenant"]) => ("mb.tenant_id", Entity("Tenant")),
        (Resource::Membership, ["role"]) => ("mb.role", Text),
        (Resource::Membership, ["account", "kind"]) => ("acc.kind", Text),
        (Resource::Membership, ["account", "server_admin"]) => ("acc.server_admin", Bool),
        (Resource::Invitation, []) => ("i.id", Entity("Invitation")),
        (Resource::Invitation, ["tenant"]) => ("i.tenant_id", Entity("Tenant")),
        (Resource::Invitation, ["email"]) => ("i.email", Text),
        (Resource::Invitation, ["role"]) => ("i.role", Text),
        (Resource::Account, []) => ("acc.id", Entity("Account")),
        (Resource::Account, ["kind"]) => ("acc.kind", Text),
        (Resource::Account, ["server_admin"]) => ("acc.server_admin", Bool),
        (Resource::Tenant, []) => ("t.id", Entity("Tenant")),
        _ => return None,
    })
}

/// An entity and the tenants it is `in`: a key, membership or invitation is
/// in its tenant; an account in every tenant it is a member of; a tenant in
/// none but itself.
fn within(column: &str, kind: Kind, ancestor: &Val) -> Option<Sql> {
    let a = kind_of(ancestor);
    Some(match (kind, a) {
        (Kind::Entity(x), Kind::Entity(y)) if x == y => equals(column, kind, ancestor),
        (Kind::Entity("Account"), Kind::Entity("Tenant")) => {
            member(column, "?", vec![bind(ancestor)])
        }
        (Kind::Entity(_), Kind::Entity(_)) => return None,
        _ => Sql::new("FALSE", vec![]),
    })
}

fn atom(resource: Resource, atom: &Atom) -> Option<Sql> {
    fn path(p: &[String]) -> Vec<&str> {
        p.iter().map(String::as_str).collect()
    }
    match atom {
        Atom::Eq(p, v) => {
            let (col, kind) = column(resource, &path(p))?;
            Some(equals(col, kind, v))
        }
        Atom::In(p, ancestor) => {
            let p = path(p);
            // A key's, membership's or invitation's tenant, at any depth
            // the schema allows: `resource in T` is its tenant column.
            let tenant_of = match resource {
                Resource::ApiKey => Some("k.tenant_id"),
                Resource::Membership => Some("mb.tenant_id"),
                Resource::Invitation => Some("i.tenant_id"),
                _ => None,
            };
            match (p.as_slice(), tenant_of, kind_of(ancestor)) {
                ([], Some(col), Kind::Entity("Tenant")) => {
                    Some(equals(col, Kind::Entity("Tenant"), ancestor))
                }
                _ => {
                    let (col, kind) = column(resource, &p)?;
                    within(col, kind, ancestor)
                }
            }
        }
        Atom::Holds(descendant, p) => {
            let (col, kind) = column(resource, &path(p))?;
            match (kind_of(descendant), kind) {
                (Kind::Entity("Account"), Kind::Entity("Tenant")) => {
                    Some(member("?", col, vec![bind(descendant)]))
                }
                (d, k) if d == k => Some(equals(col, kind, descendant)),
                _ => Some(Sql::new("FALSE", vec![])),
            }
        }
        Atom::Member(a, b) => match (kind_of(a), kind_of(b)) {
            (Kind::Entity("Account"), Kind::Entity("Tenant")) => {
                Some(member("?", "?", vec![bind(a), bind(b)]))
            }
            (x, y) if x == y => Some(Sql::new("? = ?", vec![bind(a), bind(b)])),
            _ => None,
        },
    }
}

/// Whether more than `max` rows of `select` hold `scope` and any of
/// `conditions`, reading at most `max + 1` of them per condition (an
/// overestimate where conditions overlap, never an under one).
pub fn more_than(
    conn: &Conn,
    p: &Principal,
    select: &str,
    scope: &Sql,
    conditions: &[Sql],
    max: usize,
) -> crate::error::AppResult<bool> {
    let Some((_, from)) = select.split_once(" FROM ") else {
        return Ok(true);
    };
    let mut seen = 0usize;
    for c in conditions {
        let q = Sql::new(
            format!(
                "SELECT count(*) FROM (SELECT 1 FROM {from} WHERE ({}) AND ({}) LIMIT ?) AS sub",
                scope.text, c.text
            ),
            scope
                .binds
                .iter()
                .chain(&c.binds)
                .cloned()
                .chain([Bind::Int(i64::try_from(max + 1).unwrap_or(i64::MAX))])
                .collect(),
        );
        let n: i64 = q
            .rows(conn, Some(p), |r| r.get(0))?
            .first()
            .copied()
            .unwrap_or(0);
        seen += usize::try_from(n).unwrap_or(usize::MAX);
        if seen > max {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A sort key: an SQL expression, the name it is selected as, and its
/// direction. A list's order ends with a unique key, so pages are stable.
#[derive(Clone, Debug)]
pub struct SortKey {
    pub expr: &'static str,
    pub alias: &'static str,
    pub desc: bool,
}

impl SortKey {
    pub const fn new(expr: &'static str, alias: &'static str, desc: bool) -> Self {
        Self { expr, alias, desc }
    }

    pub const fn asc(expr: &'static str, alias: &'static str) -> Self {
        Self::new(expr, alias, false)
    }

    pub const fn desc(expr: &'static str, alias: &'static str) -> Self {
        Self::new(expr, alias, true)
    }
}

fn order_by(keys: &[SortKey], outer: bool) -> String {
    keys.iter()
        .map(|k| {
            let e = if outer { k.alias } else { k.expr };
            format!("{e}{}", if k.desc { " DESC" } else { "" })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One page of `select` (columns, then `FROM` and joins) where `scope`
/// holds and any of `conditions` does, in `order`: one arm per condition,
/// merged in order. `None` when no condition can hold (nothing to read).
pub fn page(
    dialect: Dialect,
    select: &str,
    scope: &Sql,
    conditions: &[Sql],
    order: &[SortKey],
    limit: usize,
    offset: usize,
) -> Option<Sql> {
    if conditions.is_empty() {
        return None;
    }
    // A key named twice sorts by its first mention only.
    let mut seen = std::collections::HashSet::new();
    let order: Vec<SortKey> = order
        .iter()
        .filter(|k| seen.insert(k.alias))
        .cloned()
        .collect();
    let order = order.as_slice();
    let sort_cols = order
        .iter()
        .map(|k| format!("{} AS {}", k.expr, k.alias))
        .collect::<Vec<_>>()
        .join(", ");
    let (select_cols, from) = select.split_once(" FROM ")?;
    let one = |c: &Sql| -> (String, Vec<Bind>) {
        let text = format!(
            "{select_cols}, {sort_cols} FROM {from} WHERE ({}) AND ({})",
            scope.text, c.text
        );
        let binds = scope.binds.iter().chain(&c.binds).cloned().collect();
        (text, binds)
    };
    let (limit, offset) = (
        i64::try_from(limit).unwrap_or(i64::MAX),
        i64::try_from(offset).unwrap_or(i64::MAX),
    );
    if let [only] = conditions {
        let (text, mut binds) = one(only);
        binds.extend([Bind::Int(limit), Bind::Int(offset)]);
        return Some(Sql::new(
            format!(
                "{text} ORDER BY {} LIMIT ? OFFSET ?",
                order_by(order, false)
            ),
            binds,
        ));
    }
    // A compound ordered by the sort columns: SQLite merges the arms as
    // they come out of their indexes (MERGE (UNION)), dropping a row two
    // arms share, and stops at the limit: no arm is read further or sorted.
    // PostgreSQL sorts a compound whole before it limits it: each arm is
    // cut at the page's end first (through its index), so no arm is read
    // past `limit + offset` rows there either.
    let mut parts = Vec::new();
    let mut binds = Vec::new();
    for c in conditions {
        let (text, b) = one(c);
        binds.extend(b);
        match dialect {
            Dialect::Sqlite => parts.push(text),
            Dialect::Postgres => {
                parts.push(format!(
                    "({text} ORDER BY {} LIMIT ?)",
                    order_by(order, false)
                ));
                binds.push(Bind::Int(limit.saturating_add(offset)));
            }
        }
    }
    binds.extend([Bind::Int(limit), Bind::Int(offset)]);
    Some(Sql::new(
        format!(
            "{} ORDER BY {} LIMIT ? OFFSET ?",
            parts.join(" UNION "),
            order_by(order, true)
        ),
        binds,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(atom: Atom) -> Lit {
        Lit {
            atom,
            negated: false,
        }
    }

    #[test]
    fn atoms_become_columns_and_memberships() {
        let c = Condition {
            any_of: vec![
                vec![lit(Atom::Eq(
                    vec!["owner".into()],
                    Val::Param(Param::Owner),
                ))],
                vec![
                    lit(Atom::Eq(
                        vec!["owner".into(), "kind".into()],
                        Val::Str("SERVICE".into()),
                    )),
                    lit(Atom::In(vec![], Val::Param(Param::Tenant))),
                ],
            ],
        };
        let w = where_clauses(Resource::ApiKey, &c);
        assert!(w.exact);
        assert_eq!(w.any_of[0].text, "k.account_id = ?");
        assert_eq!(w.any_of[1].text, "k.owner_kind = ? AND k.tenant_id = ?");
        let t = Condition {
            any_of: vec![vec![lit(Atom::Holds(Val::Param(Param::Owner), vec![]))]],
        };
        let w = where_clauses(Resource::Tenant, &t);
        assert!(
            w.any_of[0]
                .text
                .starts_with("EXISTS (SELECT 1 FROM memberships")
        );
        // Comparing with a value of another type is false, as in Cedar.
        let wrong = Condition {
            any_of: vec![vec![lit(Atom::Eq(
                vec!["owner".into()],
                Val::Param(Param::Tenant),
            ))]],
        };
        assert_eq!(
            where_clauses(Resource::ApiKey, &wrong).any_of[0].text,
            "FALSE"
        );
        // An attribute the schema does not have: left out, and said so.
        let unknown = Condition {
            any_of: vec![vec![lit(Atom::Eq(
                vec!["color".into()],
                Val::Str("x".into()),
            ))]],
        };
        assert!(!where_clauses(Resource::ApiKey, &unknown).exact);
    }
}
