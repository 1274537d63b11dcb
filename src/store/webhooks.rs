//! Webhook endpoints and the outbox of their deliveries. `emit` writes one
//! delivery per subscribed endpoint in the caller's transaction, so a
//! change and the news of it commit together; the worker
//! (`webhooks::worker`) claims due deliveries, sends them and records how
//! each went. Every read is scoped to one tenant and cut at `limit`.
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::sql::{Conn, Row};
use super::{Write, opt_time_from_sql, parse_col, time_from_sql, time_to_sql};
use crate::authz::{Action, Allowed, SystemTask};
use crate::domain::events::{self, EventType};
use crate::domain::ids::{DeliveryId, TenantId, WebhookId};
use crate::domain::principal::Actor;
pub use crate::domain::webhooks::{Delivery, DeliveryFilter, Status, Webhook};
use crate::error::AppResult;
use crate::params;

/// How long deliveries are retried after the event (or a redelivery).
pub fn retry_window() -> Duration {
    Duration::hours(24)
}

const WEBHOOK: &str =
    "SELECT id, tenant_id, url, description, events, created_by, created_at FROM webhooks";

fn webhook_row(r: &Row<'_>) -> AppResult<Webhook> {
    let events: String = r.get(4)?;
    let names: Vec<String> = serde_json::from_str(&events).unwrap_or_default();
    Ok(Webhook {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        url: r.get(2)?,
        description: r.get(3)?,
        events: names
            .iter()
            .map(|n| parse_col(n))
            .collect::<AppResult<_>>()?,
        created_by: r.get(5)?,
        created_at: time_from_sql(&r.get::<String>(6)?)?,
    })
}

pub fn create(w: &Write, proof: &Allowed, hook: &Webhook, secret: &str) -> AppResult<()> {
    w.authorized(proof, &[Action::ManageWebhook])?;
    let events: Vec<&str> = hook.events.iter().map(EventType::as_str).collect();
    w.execute(
        "INSERT INTO webhooks (id, tenant_id, url, description, events, secret, created_by, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            hook.id,
            hook.tenant_id,
            hook.url,
            hook.description,
            serde_json::to_string(&events).unwrap_or_else(|_| "[]".into()),
            secret,
            hook.created_by,
            time_to_sql(&hook.created_at),
        ],
    )?;
    for e in &events {
        w.execute(
            "INSERT INTO webhook_subscriptions (webhook_id, tenant_id, event) VALUES (?1, ?2, ?3)",
            params![hook.id, hook.tenant_id, e],
        )?;
    }
    Ok(())
}

/// Deletes `id` of `tenant` with its subscriptions and deliveries; false if
/// there is no such webhook there.
pub fn delete(w: &Write, proof: &Allowed, tenant: TenantId, id: WebhookId) -> AppResult<bool> {
    w.authorized(proof, &[Action::ManageWebhook])?;
    w.execute(
        "DELETE FROM webhook_deliveries WHERE webhook_id = ?1 AND tenant_id = ?2",
        params![id, tenant],
    )?;
    w.execute(
        "DELETE FROM webhook_subscriptions WHERE webhook_id = ?1 AND tenant_id = ?2",
        params![id, tenant],
    )?;
    Ok(w.execute(
        "DELETE FROM webhooks WHERE id = ?1 AND tenant_id = ?2",
        params![id, tenant],
    )? == 1)
}

pub fn get(conn: &Conn, tenant: TenantId, id: WebhookId) -> AppResult<Option<Webhook>> {
    conn.query_opt(
        &format!("{WEBHOOK} WHERE id = ?1 AND tenant_id = ?2"),
        params![id, tenant],
        webhook_row,
    )
}

/// `tenant`'s webhooks, oldest first.
pub fn page_of(
    conn: &Conn,
    tenant: TenantId,
    limit: usize,
    offset: usize,
) -> AppResult<Vec<Webhook>> {
    conn.query(
        &format!("{WEBHOOK} WHERE tenant_id = ?1 ORDER BY created_at, id LIMIT ?2 OFFSET ?3"),
        params![tenant, limit, offset],
        webhook_row,
    )
}

/// Puts `event` about `object` (its `id` among its fields) in the outbox of
/// every endpoint of `tenant` subscribed to it, in `w`'s transaction: one
/// body, under a fresh event id, for all of them.
pub fn fire(
    w: &Write,
    event: EventType,
    at: DateTime<Utc>,
    tenant: TenantId,
    actor: Option<Actor>,
    object: Value,
) -> AppResult<()> {
    let body = events::body(event, uuid::Uuid::new_v4(), at, tenant, actor, object);
    emit(w, tenant, event, &body, at)?;
    Ok(())
}

/// Puts `body` (see `domain::events::body`) in the outbox for every
/// endpoint of `tenant` subscribed to `event`, in `w`'s transaction. No
/// proof: it records news of a change that had its own.
pub fn emit(
    w: &Write,
    tenant: TenantId,
    event: EventType,
    body: &Value,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let hooks: Vec<WebhookId> = w.query(
        "SELECT webhook_id FROM webhook_subscriptions WHERE tenant_id = ?1 AND event = ?2",
        params![tenant, event.as_str()],
        |r| r.get(0),
    )?;
    let (payload, now_sql) = (body.to_string(), time_to_sql(&now));
    let give_up = time_to_sql(&(now + retry_window()));
    for hook in &hooks {
        w.execute(
            "INSERT INTO webhook_deliveries (id, webhook_id, tenant_id, event, payload, status,
                 next_attempt_at, created_at, give_up_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?6, ?7)",
            params![
                DeliveryId::random(),
                hook,
                tenant,
                event.as_str(),
                payload,
                now_sql,
                give_up
            ],
        )?;
    }
    if !hooks.is_empty() {
        w.emitted();
    }
    Ok(hooks.len())
}

const DELIVERY: &str = "SELECT id, webhook_id, event, payload, status, attempts, next_attempt_at,
        last_attempt_at, last_status_code, last_error, created_at, delivered_at
    FROM webhook_deliveries";

fn delivery_row(r: &Row<'_>) -> AppResult<Delivery> {
    Ok(Delivery {
        id: r.get(0)?,
        webhook_id: r.get(1)?,
        event: parse_col(&r.get::<String>(2)?)?,
        payload: r.get(3)?,
        status: parse_col(&r.get::<String>(4)?)?,
        attempts: r.get(5)?,
        next_attempt_at: opt_time_from_sql(r.get(6)?)?,
        last_attempt_at: opt_time_from_sql(r.get(7)?)?,
        last_status_code: r.get(8)?,
        last_error: r.get(9)?,
        created_at: time_from_sql(&r.get::<String>(10)?)?,
        delivered_at: opt_time_from_sql(r.get(11)?)?,
    })
}

/// One page of deliveries, newest first.
pub fn deliveries(
    conn: &Conn,
    f: &DeliveryFilter,
    limit: usize,
    offset: usize,
) -> AppResult<Vec<Delivery>> {
    let mut text = format!("{DELIVERY} WHERE tenant_id = ?1");
    let mut args: Vec<&dyn super::ToValue> = vec![&f.tenant];
    let status = f.status.map(|s| s.as_str());
    if let Some(hook) = &f.webhook {
        args.push(hook);
        text.push_str(&format!(" AND webhook_id = ?{}", args.len()));
    }
    if let Some(status) = &status {
        args.push(status);
        text.push_str(&format!(" AND status = ?{}", args.len()));
    }
    args.push(&limit);
    args.push(&offset);
    text.push_str(&format!(
        " ORDER BY created_at DESC, id DESC LIMIT ?{} OFFSET ?{}",
        args.len() - 1,
        args.len()
    ));
    conn.query(&text, &args, delivery_row)
}

pub fn delivery(conn: &Conn, tenant: TenantId, id: DeliveryId) -> AppResult<Option<Delivery>> {
    conn.query_opt(
        &format!("{DELIVERY} WHERE id = ?1 AND tenant_id = ?2"),
        params![id, tenant],
        delivery_row,
    )
}

/// Sends `id` again from now on, with a fresh 24 hours of retries; false if
/// `tenant` has no such delivery.
pub fn redeliver(
    w: &Write,
    proof: &Allowed,
    tenant: TenantId,
    id: DeliveryId,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    w.authorized(proof, &[Action::ManageWebhook])?;
    let changed = w.execute(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?3, give_up_at = ?4
         WHERE id = ?1 AND tenant_id = ?2",
        params![
            id,
            tenant,
            time_to_sql(&now),
            time_to_sql(&(now + retry_window()))
        ],
    )? == 1;
    if changed {
        w.emitted();
    }
    Ok(changed)
}

/// A delivery a worker claimed: what it needs to send it.
#[derive(Debug)]
pub struct Claimed {
    pub id: DeliveryId,
    pub event: EventType,
    pub payload: String,
    pub url: String,
    pub secret: String,
    pub attempts: i64,
    pub give_up_at: DateTime<Utc>,
}

/// Whether any delivery is due at `now`: a plain read, so that idle
/// workers poll without taking the writers' lock.
pub fn any_due(conn: &Conn, now: DateTime<Utc>) -> AppResult<bool> {
    Ok(conn
        .query_opt(
            "SELECT 1 FROM webhook_deliveries
             WHERE status IN ('pending', 'sending') AND next_attempt_at <= ?1 LIMIT 1",
            params![time_to_sql(&now)],
            |_| Ok(()),
        )?
        .is_some())
}

/// Claims the delivery due first, if one is due at `now`: it is the
/// caller's until `now + lease` (then another worker may take it, so one
/// that died while sending loses nothing). On PostgreSQL, replicas skip
/// rows another holds.
pub fn claim(
    w: &Write,
    _: &SystemTask,
    now: DateTime<Utc>,
    lease: Duration,
) -> AppResult<Option<Claimed>> {
    let lock = match w.dialect() {
        super::Dialect::Postgres => " FOR UPDATE OF d SKIP LOCKED",
        super::Dialect::Sqlite => "",
    };
    let now_sql = time_to_sql(&now);
    let due = w.query_opt(
        &format!(
            "SELECT d.id, d.event, d.payload, h.url, h.secret, d.attempts, d.give_up_at
             FROM webhook_deliveries d JOIN webhooks h ON h.id = d.webhook_id
             WHERE d.status IN ('pending', 'sending') AND d.next_attempt_at <= ?1
             ORDER BY d.next_attempt_at LIMIT 1{lock}"
        ),
        params![now_sql],
        |r| {
            Ok(Claimed {
                id: r.get(0)?,
                event: parse_col(&r.get::<String>(1)?)?,
                payload: r.get(2)?,
                url: r.get(3)?,
                secret: r.get(4)?,
                attempts: r.get::<i64>(5)? + 1,
                give_up_at: time_from_sql(&r.get::<String>(6)?)?,
            })
        },
    )?;
    if let Some(c) = &due {
        w.execute(
            "UPDATE webhook_deliveries SET status = 'sending', attempts = ?2,
                 next_attempt_at = ?3, last_attempt_at = ?4
             WHERE id = ?1",
            params![c.id, c.attempts, time_to_sql(&(now + lease)), now_sql],
        )?;
    }
    Ok(due)
}

/// How an attempt went.
pub enum Attempt {
    Delivered {
        code: u16,
    },
    /// Retry at `retry_at`, or give up when that is past the window.
    Failed {
        code: Option<u16>,
        error: String,
        retry_at: DateTime<Utc>,
    },
}

/// Records `attempt` of claimed delivery `c`, unless the claim lapsed and
/// another worker (or a redelivery) took it over meanwhile.
pub fn record(
    w: &Write,
    _: &SystemTask,
    c: &Claimed,
    attempt: &Attempt,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let now_sql = time_to_sql(&now);
    match attempt {
        Attempt::Delivered { code } => w.execute(
            "UPDATE webhook_deliveries SET status = 'delivered', delivered_at = ?3,
                 last_status_code = ?4, last_error = NULL, next_attempt_at = NULL
             WHERE id = ?1 AND status = 'sending' AND attempts = ?2",
            params![c.id, c.attempts, now_sql, u32::from(*code)],
        )?,
        Attempt::Failed {
            code,
            error,
            retry_at,
        } => {
            let (status, next) = if *retry_at > c.give_up_at {
                ("failed", None)
            } else {
                ("pending", Some(time_to_sql(retry_at)))
            };
            w.execute(
                "UPDATE webhook_deliveries SET status = ?3, next_attempt_at = ?4,
                     last_status_code = ?5, last_error = ?6
                 WHERE id = ?1 AND status = 'sending' AND attempts = ?2",
                params![c.id, c.attempts, status, next, code.map(u32::from), error],
            )?
        }
    };
    Ok(())
}

/// On a database only this process uses (SQLite), claims of a previous run
/// that died are released at start instead of waiting out their lease.
pub fn release_claims(w: &Write, _: &SystemTask, now: DateTime<Utc>) -> AppResult<usize> {
    w.execute(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?1
         WHERE status = 'sending'",
        params![time_to_sql(&now)],
    )
}

/// Deletes up to `batch` delivered or failed deliveries created before
/// `before` (they follow the audit log's retention).
pub fn prune(w: &Write, _: &SystemTask, before: DateTime<Utc>, batch: usize) -> AppResult<usize> {
    w.execute(
        "DELETE FROM webhook_deliveries WHERE id IN (
             SELECT id FROM webhook_deliveries
             WHERE created_at < ?1 AND status IN ('delivered', 'failed') LIMIT ?2)",
        params![time_to_sql(&before), batch],
    )
}
