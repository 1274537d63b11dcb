//! Webhooks: `webhook` and `webhook_delivery` (what the tenant registered
//! and how each delivery went), `create_webhook` (its signing secret shown
//! once), `delete_webhook` and `redeliver_webhook_delivery`. Every one acts
//! on the caller's tenant, decided by Cedar (`ManageWebhook`, `ReadWebhook`);
//! an id of another tenant answers as one that does not exist.
use juniper::{GraphQLInputObject, GraphQLObject};
use serde_json::json;

use super::audit::{self, Audited, Change};
use super::context::{Context, caller_entities};
use super::inputs::{StringComparison, UuidComparison};
use super::listing::{MAX_LIST, Window};
use super::scalars::{GqlUuid, Timestamp, id};
use super::types::{Success, UserRef};
use crate::authz::entities::tenant_uid;
use crate::authz::{Action, Allowed, RequestContext};
use crate::domain::ids::{DeliveryId, TenantId, WebhookId};
use crate::error::{AppError, AppResult};
use crate::store::Write;
use crate::store::webhooks::{self, Delivery, DeliveryFilter, Status, Webhook};
use crate::webhooks::EventType;
use crate::webhooks::destination::Destination;

/// Endpoints one tenant may register: each change writes one delivery per
/// subscribed endpoint, and that must stay small.
pub const MAX_WEBHOOKS: usize = 20;
const MAX_DESCRIPTION: usize = 500;

#[derive(GraphQLInputObject)]
#[graphql(name = "create_webhook_input", rename_all = "none")]
pub struct CreateWebhookInput {
    /// An http(s) URL on a public address (unless the operator allows
    /// private ones), without credentials.
    pub url: String,
    /// The events to send: api_key.created, api_key.expiring,
    /// api_key.expired, api_key.revoked, api_key.rotated, api_key.disabled,
    /// api_key.leaked, service_account.deleted, membership.removed.
    pub events: Vec<String>,
    pub description: Option<String>,
}

#[derive(GraphQLInputObject)]
#[graphql(name = "delete_webhook_input", rename_all = "none")]
pub struct DeleteWebhookInput {
    pub webhook_id: GqlUuid,
}

#[derive(GraphQLInputObject)]
#[graphql(name = "redeliver_webhook_delivery_input", rename_all = "none")]
pub struct RedeliverInput {
    pub delivery_id: GqlUuid,
}

#[derive(GraphQLInputObject)]
#[graphql(name = "webhook_delivery_bool_exp", rename_all = "none")]
pub struct DeliveryWhere {
    pub webhook_id: Option<UuidComparison>,
    /// pending, sending, delivered or failed.
    pub status: Option<StringComparison>,
}

/// A registered endpoint. Its secret is shown once, by `create_webhook`.
#[derive(GraphQLObject)]
#[graphql(name = "webhook", rename_all = "none")]
pub struct WebhookNode {
    pub id: GqlUuid,
    pub tenant_id: GqlUuid,
    pub url: String,
    pub description: Option<String>,
    pub events: Vec<String>,
    pub created: Timestamp,
    pub created_by: Option<UserRef>,
}

impl From<&Webhook> for WebhookNode {
    fn from(w: &Webhook) -> Self {
        Self {
            id: id(w.id),
            tenant_id: id(w.tenant_id),
            url: w.url.clone(),
            description: w.description.clone(),
            events: w.events.iter().map(|e| e.as_str().to_owned()).collect(),
            created: Timestamp(w.created_at),
            created_by: w.created_by.map(|c| UserRef { id: id(c) }),
        }
    }
}

#[derive(GraphQLObject)]
#[graphql(name = "create_webhook_payload", rename_all = "none")]
pub struct CreatedWebhook {
    pub id: GqlUuid,
    /// The key deliveries are signed with (HMAC-SHA256, `keyward-signature`),
    /// shown this once.
    pub secret: String,
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    pub created: Timestamp,
}

/// One event's delivery to one endpoint.
#[derive(GraphQLObject)]
#[graphql(name = "webhook_delivery", rename_all = "none")]
pub struct DeliveryNode {
    /// Sent as the `keyward-delivery` header.
    pub id: GqlUuid,
    pub webhook_id: GqlUuid,
    pub event: String,
    /// pending, sending, delivered or failed (retried for 24 hours).
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<Timestamp>,
    pub last_attempt_at: Option<Timestamp>,
    /// The receiver's last HTTP status; null when it could not be reached.
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created: Timestamp,
    pub delivered_at: Option<Timestamp>,
    /// The JSON body sent (ids, names, owner and times; never a secret).
    pub payload: String,
}

impl From<&Delivery> for DeliveryNode {
    fn from(d: &Delivery) -> Self {
        Self {
            id: id(d.id),
            webhook_id: id(d.webhook_id),
            event: d.event.as_str().to_owned(),
            status: d.status.as_str().to_owned(),
            attempts: i32::try_from(d.attempts).unwrap_or(i32::MAX),
            next_attempt_at: d.next_attempt_at.map(Timestamp),
            last_attempt_at: d.last_attempt_at.map(Timestamp),
            last_status_code: d.last_status_code.and_then(|c| i32::try_from(c).ok()),
            last_error: d.last_error.clone(),
            created: Timestamp(d.created_at),
            delivered_at: d.delivered_at.map(Timestamp),
            payload: d.payload.clone(),
        }
    }
}

/// `create_webhook`'s input, parsed.
struct NewWebhook {
    url: Destination,
    events: Vec<EventType>,
    description: Option<String>,
}

impl NewWebhook {
    fn parse(input: CreateWebhookInput, allow_private: bool) -> AppResult<Self> {
        let url = Destination::parse(input.url.trim(), allow_private)?;
        let mut events = Vec::new();
        for name in &input.events {
            let e = name.parse::<EventType>().map_err(|_| {
                let known: Vec<&str> = EventType::ALL.iter().map(EventType::as_str).collect();
                AppError::Invalid(format!(
                    "events: unknown event {name:?}; known: {}",
                    known.join(", ")
                ))
            })?;
            if !events.contains(&e) {
                events.push(e);
            }
        }
        if events.is_empty() {
            return Err(AppError::Invalid(
                "events: name at least one event to send".into(),
            ));
        }
        let description = input
            .description
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty());
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION)
        {
            return Err(AppError::Invalid(format!(
                "description: at most {MAX_DESCRIPTION} characters"
            )));
        }
        Ok(Self {
            url,
            events,
            description,
        })
    }
}

/// The decision on `action` over the caller's tenant.
fn decide(ctx: &Context, action: Action, context: RequestContext) -> AppResult<Allowed> {
    let p = ctx.caller()?;
    let mut ents = caller_entities(p)?;
    ents.add_tenant(p.tenant_id);
    ctx.session(&ents)?
        .check(action, &tenant_uid(p.tenant_id), context)
}

fn change(
    tenant: TenantId,
    resource_type: &'static str,
    rid: String,
    details: serde_json::Value,
) -> Change {
    Change {
        resource_type,
        resource_id: rid,
        tenant: Some(tenant),
        details,
    }
}

pub fn create(ctx: &Context, input: CreateWebhookInput) -> AppResult<CreatedWebhook> {
    let p = ctx.caller()?;
    let new = NewWebhook::parse(input, ctx.webhooks_private)?;
    let proof = decide(
        ctx,
        Action::ManageWebhook,
        RequestContext::ManageWebhook {
            operation: "create",
            url: Some(new.url.as_str().to_owned()),
            host: Some(new.url.host()),
        },
    )?;
    let hook = Webhook {
        id: WebhookId::random(),
        tenant_id: p.tenant_id,
        url: new.url.as_str().to_owned(),
        description: new.description,
        events: new.events,
        created_by: Some(p.account_id),
        created_at: ctx.now,
    };
    let secret = format!("whsec_{}", crate::domain::api_key::random_base62(32));
    ctx.store.write(|w| {
        if webhooks::page_of(w, p.tenant_id, MAX_WEBHOOKS, 0)?.len() >= MAX_WEBHOOKS {
            return Err(AppError::Conflict(format!(
                "this tenant has {MAX_WEBHOOKS} webhooks, the most it may have: delete one first"
            )));
        }
        webhooks::create(w, &proof, &hook, &secret)?;
        let events: Vec<&str> = hook.events.iter().map(EventType::as_str).collect();
        let details = json!({ "url": hook.url, "events": events, "description": hook.description });
        audit::allowed(
            w,
            ctx,
            &proof,
            change(p.tenant_id, "webhook", hook.id.to_string(), details),
        )
    })?;
    tracing::info!(webhook = %hook.id, tenant = %hook.tenant_id, by = %p.account_id, "webhook created");
    let node = WebhookNode::from(&hook);
    Ok(CreatedWebhook {
        id: node.id,
        secret,
        url: node.url,
        events: node.events,
        description: node.description,
        created: node.created,
    })
}

/// `ManageWebhook` on the caller's tenant, in `w`, after checking that the
/// caller may see the tenant's webhooks at all (else: not found).
fn manage(ctx: &Context, operation: &'static str, what: &'static str) -> AppResult<Allowed> {
    decide(ctx, Action::ReadWebhook, RequestContext::Empty)
        .map_err(|_| AppError::NotFound(what))?;
    decide(
        ctx,
        Action::ManageWebhook,
        RequestContext::ManageWebhook {
            operation,
            url: None,
            host: None,
        },
    )
}

pub fn delete(ctx: &Context, input: DeleteWebhookInput) -> AppResult<Success> {
    let p = ctx.caller()?;
    let hook = WebhookId::from(input.webhook_id.0);
    let proof = manage(ctx, "delete", "webhook")?;
    ctx.store.write(|w: &Write| {
        let Some(found) = webhooks::get(w, p.tenant_id, hook)? else {
            return Err(AppError::NotFound("webhook"));
        };
        webhooks::delete(w, &proof, p.tenant_id, hook)?;
        let details = json!({ "url": found.url });
        audit::allowed(
            w,
            ctx,
            &proof,
            change(p.tenant_id, "webhook", hook.to_string(), details),
        )
    })?;
    tracing::info!(webhook = %hook, by = %p.account_id, "webhook deleted");
    Ok(Success { success: true })
}

pub fn redeliver(ctx: &Context, input: RedeliverInput) -> AppResult<DeliveryNode> {
    let p = ctx.caller()?;
    let did = DeliveryId::from(input.delivery_id.0);
    let proof = manage(ctx, "redeliver", "webhook delivery")?;
    let d = ctx.store.write(|w| {
        if !webhooks::redeliver(w, &proof, p.tenant_id, did, ctx.now)? {
            return Err(AppError::NotFound("webhook delivery"));
        }
        audit::allowed(
            w,
            ctx,
            &proof,
            change(p.tenant_id, "webhook_delivery", did.to_string(), json!({})),
        )?;
        webhooks::delivery(w, p.tenant_id, did)?.ok_or(AppError::NotFound("webhook delivery"))
    })?;
    tracing::info!(delivery = %did, by = %p.account_id, "webhook delivery queued again");
    Ok(DeliveryNode::from(&d))
}

pub fn list(ctx: &Context, limit: Option<i32>, offset: Option<i32>) -> AppResult<Vec<WebhookNode>> {
    let p = ctx.caller()?;
    let window = Window::parse(limit, offset, MAX_WEBHOOKS as i32)?;
    decide(ctx, Action::ReadWebhook, RequestContext::Empty)?;
    let rows = ctx
        .store
        .read(|c| webhooks::page_of(c, p.tenant_id, window.limit, window.offset))?;
    Ok(rows.iter().map(WebhookNode::from).collect())
}

pub fn deliveries(
    ctx: &Context,
    filter: Option<DeliveryWhere>,
    limit: Option<i32>,
    offset: Option<i32>,
) -> AppResult<Vec<DeliveryNode>> {
    let p = ctx.caller()?;
    let window = Window::parse(limit, offset, MAX_LIST)?;
    let status = filter
        .as_ref()
        .and_then(|f| f.status.as_ref()?.eq.as_deref())
        .map(|s| {
            s.parse::<Status>().map_err(|_| {
                AppError::Invalid(format!(
                    "status must be pending, sending, delivered or failed, not {s:?}"
                ))
            })
        })
        .transpose()?;
    let f = DeliveryFilter {
        tenant: p.tenant_id,
        webhook: filter
            .and_then(|f| f.webhook_id?.eq)
            .map(|u| WebhookId::from(u.0)),
        status,
    };
    decide(ctx, Action::ReadWebhook, RequestContext::Empty)?;
    let rows = ctx
        .store
        .read(|c| webhooks::deliveries(c, &f, window.limit, window.offset))?;
    Ok(rows.iter().map(DeliveryNode::from).collect())
}

impl Audited for CreateWebhookInput {
    const ACTION: Action = Action::ManageWebhook;
    const RESOURCE: &'static str = "webhook";
    fn details(&self) -> serde_json::Value {
        json!({ "url": self.url, "events": self.events, "description": self.description })
    }
}

impl Audited for DeleteWebhookInput {
    const ACTION: Action = Action::ManageWebhook;
    const RESOURCE: &'static str = "webhook";
    fn resource_id(&self) -> Option<String> {
        Some(self.webhook_id.0.to_string())
    }
}

impl Audited for RedeliverInput {
    const ACTION: Action = Action::ManageWebhook;
    const RESOURCE: &'static str = "webhook_delivery";
    fn resource_id(&self) -> Option<String> {
        Some(self.delivery_id.0.to_string())
    }
}
