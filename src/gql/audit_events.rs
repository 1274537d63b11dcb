//! `audit_event`: a tenant's audit log (tenant admins), or the server's
//! (server admins), newest first, a page at a time.
use chrono::{DateTime, Utc};
use juniper::{GraphQLInputObject, GraphQLObject};

use super::context::Context;
use super::inputs::{StringComparison, UuidComparison};
use super::scalars::{GqlUuid, Timestamp, id};
use crate::domain::audit::{Filter, Outcome, Stored};
use crate::domain::ids::{KeyId, TenantId};
use crate::error::{AppError, AppResult};
use crate::ops;
use crate::ops::listing::{MAX_LIST, Window};

#[derive(GraphQLInputObject)]
#[graphql(name = "audit_event_bool_exp", rename_all = "none")]
pub struct AuditFilter {
    /// Default: the calling key's tenant.
    pub tenant_id: Option<UuidComparison>,
    /// The server's own log (server admins): tenants made by the operator,
    /// credentials keyward does not recognise.
    pub server: Option<bool>,
    pub actor_key_id: Option<UuidComparison>,
    pub resource_id: Option<StringComparison>,
    /// A Cedar action's name, or `Authenticate`.
    pub action: Option<StringComparison>,
    /// `allowed`, `denied` or `failed`.
    pub outcome: Option<StringComparison>,
    /// Events at or after this time.
    pub after: Option<Timestamp>,
    /// Events before this time.
    pub before: Option<Timestamp>,
    /// Events after this one, oldest first (to follow the log).
    pub after_id: Option<i32>,
}

/// One audit event. Never a secret, a token or a hash.
#[derive(GraphQLObject)]
#[graphql(name = "audit_event", rename_all = "none")]
pub struct AuditEventNode {
    /// Its place in the log: events are numbered in the order written.
    pub id: i32,
    pub at: Timestamp,
    pub request_id: Option<String>,
    pub actor_key_id: Option<GqlUuid>,
    pub actor_account_id: Option<GqlUuid>,
    /// Null: the server's log.
    pub tenant_id: Option<GqlUuid>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    /// `allowed`, `denied` or `failed`.
    pub outcome: String,
    /// The policies that decided it: the permits of an allowed change, the
    /// forbids of a denied one.
    pub determining_policies: Vec<String>,
    /// The request's non-secret arguments, as a JSON object.
    pub details: String,
    /// Why it was refused or failed.
    pub message: Option<String>,
}

impl From<&Stored> for AuditEventNode {
    fn from(s: &Stored) -> Self {
        let e = &s.event;
        Self {
            id: i32::try_from(s.id).unwrap_or(i32::MAX),
            at: Timestamp(e.at),
            request_id: e.request_id.clone(),
            actor_key_id: e.actor_key.map(id),
            actor_account_id: e.actor_account.map(id),
            tenant_id: e.tenant.map(id),
            action: e.action.clone(),
            resource_type: e.resource_type.clone(),
            resource_id: e.resource_id.clone(),
            outcome: e.outcome.as_str().to_owned(),
            determining_policies: e.policies.clone(),
            details: e.details.to_string(),
            message: e.message.clone(),
        }
    }
}

/// `audit_event`'s filter, parsed.
fn parse(f: Option<AuditFilter>, caller_tenant: TenantId) -> AppResult<(bool, Filter)> {
    let f = f.unwrap_or(AuditFilter {
        tenant_id: None,
        server: None,
        actor_key_id: None,
        resource_id: None,
        action: None,
        outcome: None,
        after: None,
        before: None,
        after_id: None,
    });
    let server = f.server.unwrap_or(false);
    let tenant = f
        .tenant_id
        .and_then(|t| t.eq)
        .map_or(caller_tenant, |t| TenantId::from(t.0));
    let outcome = f
        .outcome
        .and_then(|o| o.eq)
        .map(|o| {
            o.parse::<Outcome>().map_err(|_| {
                AppError::Invalid(format!(
                    "outcome must be allowed, denied or failed, not {o:?}"
                ))
            })
        })
        .transpose()?;
    let time = |t: Option<Timestamp>| -> Option<DateTime<Utc>> { t.map(|t| t.0) };
    Ok((
        server,
        Filter {
            tenant: (!server).then_some(tenant),
            actor_key: f.actor_key_id.and_then(|k| k.eq).map(|k| KeyId::from(k.0)),
            resource_id: f.resource_id.and_then(|r| r.eq),
            action: f.action.and_then(|a| a.eq),
            outcome,
            after: time(f.after),
            before: time(f.before),
            since_id: f.after_id.map(i64::from),
        },
    ))
}

pub fn list(
    ctx: &Context,
    filter: Option<AuditFilter>,
    limit: Option<i32>,
    offset: Option<i32>,
) -> AppResult<Vec<AuditEventNode>> {
    let p = ctx.caller()?;
    let window = Window::parse(limit, offset, MAX_LIST)?;
    let (server, filter) = parse(filter, p.tenant_id)?;
    let rows = ops::audit_events::list(&ctx.env, &ctx.caller, server, filter, window)?;
    Ok(rows.iter().map(AuditEventNode::from).collect())
}
