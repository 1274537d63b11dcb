//! Webhooks: what a tenant registered and how each delivery went,
//! registering one (its signing secret shown once), deleting one, sending a
//! delivery again. Every one acts on the caller's tenant, decided by Cedar
//! (`ManageWebhook`, `ReadWebhook`); an id of another tenant answers as one
//! that does not exist.
use serde_json::json;

use super::changes::{self, Change};
use super::listing::Window;
use super::{Caller, Env, caller_entities};
use crate::authz::entities::tenant_uid;
use crate::authz::{Action, Allowed, RequestContext};
use crate::domain::events::EventType;
use crate::domain::ids::{DeliveryId, TenantId, WebhookId};
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};
use crate::store::Write;
use crate::store::webhooks::{self, Delivery, DeliveryFilter, Status, Webhook};
use crate::webhooks::destination::Destination;

/// Endpoints one tenant may register: each change writes one delivery per
/// subscribed endpoint, and that must stay small.
pub const MAX_WEBHOOKS: usize = 20;
const MAX_DESCRIPTION: usize = 500;

/// `create_webhook`'s command.
pub struct NewWebhook {
    pub url: Destination,
    pub events: Vec<EventType>,
    pub description: Option<String>,
}

impl NewWebhook {
    /// `url`, `events` and `description` as a client sent them, checked
    /// (`allow_private`: the operator lets webhooks reach private addresses).
    pub fn parse(
        url: &str,
        names: &[String],
        description: Option<String>,
        allow_private: bool,
    ) -> AppResult<Self> {
        let url = Destination::parse(url.trim(), allow_private)?;
        let mut events = Vec::new();
        for name in names {
            let e = name.parse::<EventType>().map_err(|_| {
                let known: Vec<&str> = EventType::all().map(|e| e.as_str()).collect();
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
        let description = description
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
fn decide(env: &Env, p: &Principal, action: Action, context: RequestContext) -> AppResult<Allowed> {
    let mut ents = caller_entities(p)?;
    ents.add_tenant(p.tenant_id);
    env.session(p, &ents)?
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

/// Registers a webhook of the caller's tenant; returns it with its signing
/// secret, this once.
pub fn create(env: &Env, caller: &Caller, new: NewWebhook) -> AppResult<(Webhook, String)> {
    let p = caller.key()?;
    let proof = decide(
        env,
        p,
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
        created_at: env.now,
    };
    let secret = format!("whsec_{}", crate::domain::api_key::random_base62(32));
    env.store.write(|w| {
        if webhooks::page_of(w, p.tenant_id, MAX_WEBHOOKS, 0)?.len() >= MAX_WEBHOOKS {
            return Err(AppError::Conflict(format!(
                "this tenant has {MAX_WEBHOOKS} webhooks, the most it may have: delete one first"
            )));
        }
        webhooks::create(w, &proof, &hook, &secret)?;
        let events: Vec<&str> = hook.events.iter().map(EventType::as_str).collect();
        let details = json!({ "url": hook.url, "events": events, "description": hook.description });
        changes::allowed(
            w,
            env.now,
            &proof,
            change(p.tenant_id, "webhook", hook.id.to_string(), details),
        )
    })?;
    tracing::info!(webhook = %hook.id, tenant = %hook.tenant_id, by = %p.account_id, "webhook created");
    Ok((hook, secret))
}

/// `ManageWebhook` on the caller's tenant, in `w`, after checking that the
/// caller may see the tenant's webhooks at all (else: not found).
fn manage(
    env: &Env,
    p: &Principal,
    operation: &'static str,
    what: &'static str,
) -> AppResult<Allowed> {
    decide(env, p, Action::ReadWebhook, RequestContext::Empty)
        .map_err(|_| AppError::NotFound(what))?;
    decide(
        env,
        p,
        Action::ManageWebhook,
        RequestContext::ManageWebhook {
            operation,
            url: None,
            host: None,
        },
    )
}

pub fn delete(env: &Env, caller: &Caller, hook: WebhookId) -> AppResult<()> {
    let p = caller.key()?;
    let proof = manage(env, p, "delete", "webhook")?;
    env.store.write(|w: &Write| {
        let Some(found) = webhooks::get(w, p.tenant_id, hook)? else {
            return Err(AppError::NotFound("webhook"));
        };
        webhooks::delete(w, &proof, p.tenant_id, hook)?;
        let details = json!({ "url": found.url });
        changes::allowed(
            w,
            env.now,
            &proof,
            change(p.tenant_id, "webhook", hook.to_string(), details),
        )
    })?;
    tracing::info!(webhook = %hook, by = %p.account_id, "webhook deleted");
    Ok(())
}

pub fn redeliver(env: &Env, caller: &Caller, did: DeliveryId) -> AppResult<Delivery> {
    let p = caller.key()?;
    let proof = manage(env, p, "redeliver", "webhook delivery")?;
    let d = env.store.write(|w| {
        if !webhooks::redeliver(w, &proof, p.tenant_id, did, env.now)? {
            return Err(AppError::NotFound("webhook delivery"));
        }
        changes::allowed(
            w,
            env.now,
            &proof,
            change(p.tenant_id, "webhook_delivery", did.to_string(), json!({})),
        )?;
        webhooks::delivery(w, p.tenant_id, did)?.ok_or(AppError::NotFound("webhook delivery"))
    })?;
    tracing::info!(delivery = %did, by = %p.account_id, "webhook delivery queued again");
    Ok(d)
}

/// The caller's tenant's webhooks, oldest first.
pub fn list(env: &Env, caller: &Caller, window: Window) -> AppResult<Vec<Webhook>> {
    let p = caller.key()?;
    decide(env, p, Action::ReadWebhook, RequestContext::Empty)?;
    env.store
        .read(|c| webhooks::page_of(c, p.tenant_id, window.limit, window.offset))
}

/// A page of the deliveries of the caller's tenant's webhooks, newest
/// first (`webhook` and `status` narrow it).
pub fn deliveries(
    env: &Env,
    caller: &Caller,
    webhook: Option<WebhookId>,
    status: Option<Status>,
    window: Window,
) -> AppResult<Vec<Delivery>> {
    let p = caller.key()?;
    let f = DeliveryFilter {
        tenant: p.tenant_id,
        webhook,
        status,
    };
    decide(env, p, Action::ReadWebhook, RequestContext::Empty)?;
    env.store
        .read(|c| webhooks::deliveries(c, &f, window.limit, window.offset))
}
