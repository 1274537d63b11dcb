//! The audit log: an event appended in the transaction of the change it
//! records (or in its own, for a refusal), read a page at a time, newest
//! first, and pruned by age. Nothing updates an event (a trigger refuses
//! it). No event holds a secret, a token or a hash: callers pass names,
//! roles, times and ids only.
use super::sql::{Conn, Row};
use crate::params;
use chrono::{DateTime, Utc};

use super::paging::{Bind, Sql};
use super::{Write, parse_col, time_from_sql, time_to_sql};
use crate::authz::{Allowed, SystemTask};

use crate::error::AppResult;

/// The message of what the operator did on the local database (no key, no
/// policy).
pub const BY_OPERATOR: &str = "by the operator, on the local database";

pub use crate::domain::audit::{Event, Filter, Outcome, Stored};

/// Records the change `proof` allowed: its actor, request and policies
/// come from the proof (so an event cannot name the wrong caller), the rest
/// from `e`, in `w`'s transaction.
pub fn record(w: &Write, proof: &Allowed, e: Event) -> AppResult<()> {
    let actor = proof.actor();
    let e = Event {
        request_id: proof.request_id().map(str::to_owned).or(e.request_id),
        actor_key: actor.map(|a| a.key_id),
        actor_account: actor.map(|a| a.account_id),
        action: proof.action().name().to_owned(),
        outcome: Outcome::Allowed,
        policies: proof.policies().to_vec(),
        ..e
    };
    insert(w, &e)?;
    w.audited(proof);
    Ok(())
}

/// Records a refusal or a failure (nothing was changed), in its own
/// transaction or in the one of a report that goes on.
pub fn refusal(w: &Write, e: &Event) -> AppResult<()> {
    debug_assert_ne!(e.outcome, Outcome::Allowed);
    insert(w, e)
}

fn insert(w: &Write, e: &Event) -> AppResult<()> {
    w.execute(
        "INSERT INTO audit_events (at, request_id, actor_key_id, actor_account_id, tenant_id, action,
             resource_type, resource_id, outcome, policies, details, message)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)", params![
        time_to_sql(&e.at),
        e.request_id,
        e.actor_key,
        e.actor_account,
        e.tenant,
        e.action,
        e.resource_type,
        e.resource_id,
        e.outcome.as_str(),
        serde_json::to_string(&e.policies).unwrap_or_else(|_| "[]".into()),
        e.details.to_string(),
        e.message,
    ])?;
    Ok(())
}

const SELECT: &str = "SELECT id, at, request_id, actor_key_id, actor_account_id, tenant_id, action,
        resource_type, resource_id, outcome, policies, details, message
    FROM audit_events";

fn from_row(r: &Row<'_>) -> AppResult<Stored> {
    let policies: String = r.get(10)?;
    let details: String = r.get(11)?;
    Ok(Stored {
        id: r.get(0)?,
        event: Event {
            at: time_from_sql(&r.get::<String>(1)?)?,
            request_id: r.get(2)?,
            actor_key: r.get(3)?,
            actor_account: r.get(4)?,
            tenant: r.get(5)?,
            action: r.get(6)?,
            resource_type: r.get(7)?,
            resource_id: r.get(8)?,
            outcome: parse_col(&r.get::<String>(9)?)?,
            policies: serde_json::from_str(&policies).unwrap_or_default(),
            details: serde_json::from_str(&details).unwrap_or_default(),
            message: r.get(12)?,
        },
    })
}

/// One page of the events `filter` selects, newest first. Each filter
/// field has its index (migration 0005), so a page reads about `limit`
/// rows past `offset` whatever the log holds.
pub fn page_of(
    conn: &Conn,
    filter: &Filter,
    limit: usize,
    offset: usize,
) -> AppResult<Vec<Stored>> {
    let mut text = vec![match filter.tenant {
        Some(_) => "tenant_id = ?",
        None => "tenant_id IS NULL",
    }];
    let mut binds: Vec<Bind> = filter
        .tenant
        .iter()
        .map(|t| Bind::Text(t.to_string()))
        .collect();
    let mut eq = |column: &'static str, v: Option<String>| {
        if let Some(v) = v {
            text.push(column);
            binds.push(Bind::Text(v));
        }
    };
    eq("actor_key_id = ?", filter.actor_key.map(|k| k.to_string()));
    eq("resource_id = ?", filter.resource_id.clone());
    eq("action = ?", filter.action.clone());
    eq("outcome = ?", filter.outcome.map(|o| o.as_str().to_owned()));
    eq("at >= ?", filter.after.as_ref().map(time_to_sql));
    eq("at < ?", filter.before.as_ref().map(time_to_sql));
    if let Some(id) = filter.since_id {
        text.push("id > ?");
        binds.push(Bind::Int(id));
    }
    let order = if filter.since_id.is_some() {
        "at, id"
    } else {
        "at DESC, id DESC"
    };
    binds.extend([
        Bind::Int(i64::try_from(limit).unwrap_or(i64::MAX)),
        Bind::Int(i64::try_from(offset).unwrap_or(i64::MAX)),
    ]);
    let q = Sql::new(
        format!(
            "{SELECT} WHERE {} ORDER BY {order} LIMIT ? OFFSET ?",
            text.join(" AND ")
        ),
        binds,
    );
    q.rows(conn, None, from_row)
}

/// Deletes up to `batch` events older than `before`; how many it deleted.
/// Retention, not an edit: the only way an event leaves the log.
pub fn prune(w: &Write, _: &SystemTask, before: DateTime<Utc>, batch: usize) -> AppResult<usize> {
    w.execute(
        "DELETE FROM audit_events WHERE id IN
             (SELECT id FROM audit_events WHERE at < ?1 ORDER BY at LIMIT ?2)",
        params![
            time_to_sql(&before),
            i64::try_from(batch).unwrap_or(i64::MAX)
        ],
    )
}

/// The newest event's id (where `--follow` starts).
pub fn last_id(conn: &Conn) -> AppResult<Option<i64>> {
    conn.query_one("SELECT max(id) FROM audit_events", &[], |r| r.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::{Action, Allowed};
    use crate::domain::names::{DisplayName, Slug};
    use crate::store::{Store, tenants};

    /// A decided change commits with its audit event, and only with it:
    /// one event per decision, not one per transaction.
    #[test]
    fn a_decided_change_without_its_event_does_not_commit() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("a.db")).unwrap();
        let name = DisplayName::parse("name", "Acme").unwrap();
        let now = DateTime::UNIX_EPOCH;
        let insert = |slugs: &[&str], audited: usize| {
            store.write(|w| {
                for (n, slug) in slugs.iter().enumerate() {
                    let proof = Allowed::for_tests(Action::CreateTenant);
                    let t = tenants::insert(w, &proof, &name, &Slug::parse(slug).unwrap(), now)?;
                    if n < audited {
                        let e = Event::of(
                            now,
                            Some(t.id),
                            "tenant",
                            t.id.to_string(),
                            serde_json::json!({}),
                        );
                        record(w, &proof, e)?;
                    }
                }
                Ok(())
            })
        };
        assert!(insert(&["silent"], 0).is_err());
        assert!(insert(&["one", "of-two"], 1).is_err());
        assert!(insert(&["audited"], 1).is_ok());
        let slugs: Vec<String> = store
            .read(|c| c.query("SELECT slug FROM tenants", &[], |r| r.get(0)))
            .unwrap();
        assert_eq!(slugs, ["audited"]);
    }
}
