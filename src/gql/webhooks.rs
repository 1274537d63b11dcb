//! Webhooks: `webhook` and `webhook_delivery` (what the tenant registered
//! and how each delivery went), `create_webhook` (its signing secret shown
//! once), `delete_webhook` and `redeliver_webhook_delivery`. Every one acts
//! on the caller's tenant, decided by Cedar (`ManageWebhook`, `ReadWebhook`);
//! an id of another tenant answers as one that does not exist.
use juniper::{GraphQLInputObject, GraphQLObject};
use serde_json::json;

use super::audit::Audited;
use super::context::Context;
use super::inputs::{StringComparison, UuidComparison};
use super::scalars::{GqlUuid, Timestamp, id};
use super::types::{Success, UserRef};
use crate::authz::Action;
use crate::domain::ids::{DeliveryId, WebhookId};
use crate::domain::webhooks::{Delivery, Status, Webhook};
use crate::error::{AppError, AppResult};
use crate::ops;
use crate::ops::listing::{MAX_LIST, Window};
use crate::ops::webhooks::{MAX_WEBHOOKS, NewWebhook};

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

pub fn create(ctx: &Context, input: CreateWebhookInput) -> AppResult<CreatedWebhook> {
    let private = ctx.env.webhooks_private;
    let new = NewWebhook::parse(&input.url, &input.events, input.description, private)?;
    let (hook, secret) = ops::webhooks::create(&ctx.env, &ctx.caller, new)?;
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

pub fn delete(ctx: &Context, input: DeleteWebhookInput) -> AppResult<Success> {
    let hook = WebhookId::from(input.webhook_id.0);
    ops::webhooks::delete(&ctx.env, &ctx.caller, hook)?;
    Ok(Success { success: true })
}

pub fn redeliver(ctx: &Context, input: RedeliverInput) -> AppResult<DeliveryNode> {
    let did = DeliveryId::from(input.delivery_id.0);
    let d = ops::webhooks::redeliver(&ctx.env, &ctx.caller, did)?;
    Ok(DeliveryNode::from(&d))
}

pub fn list(ctx: &Context, limit: Option<i32>, offset: Option<i32>) -> AppResult<Vec<WebhookNode>> {
    let window = Window::parse(limit, offset, MAX_WEBHOOKS as i32)?;
    let rows = ops::webhooks::list(&ctx.env, &ctx.caller, window)?;
    Ok(rows.iter().map(WebhookNode::from).collect())
}

pub fn deliveries(
    ctx: &Context,
    filter: Option<DeliveryWhere>,
    limit: Option<i32>,
    offset: Option<i32>,
) -> AppResult<Vec<DeliveryNode>> {
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
    let webhook = filter
        .and_then(|f| f.webhook_id?.eq)
        .map(|u| WebhookId::from(u.0));
    let rows = ops::webhooks::deliveries(&ctx.env, &ctx.caller, webhook, status, window)?;
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
