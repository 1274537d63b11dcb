//! The events, and the JSON body every delivery of one carries.
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::authz::Action;
use crate::domain::ids::{AccountId, KeyId, TenantId};
use crate::domain::principal::Principal;
use crate::error::AppResult;
use crate::store::{Write, webhooks};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    ApiKeyCreated,
    ApiKeyExpiring,
    ApiKeyExpired,
    ApiKeyRevoked,
    ApiKeyRotated,
    ApiKeyDisabled,
    ApiKeyLeaked,
    ServiceAccountDeleted,
    MembershipRemoved,
}

crate::domain::model::text_enum!(EventType, "webhook event", {
    EventType::ApiKeyCreated => "api_key.created",
    EventType::ApiKeyExpiring => "api_key.expiring",
    EventType::ApiKeyExpired => "api_key.expired",
    EventType::ApiKeyRevoked => "api_key.revoked",
    EventType::ApiKeyRotated => "api_key.rotated",
    EventType::ApiKeyDisabled => "api_key.disabled",
    EventType::ApiKeyLeaked => "api_key.leaked",
    EventType::ServiceAccountDeleted => "service_account.deleted",
    EventType::MembershipRemoved => "membership.removed",
});

impl EventType {
    pub const ALL: [EventType; 9] = [
        EventType::ApiKeyCreated,
        EventType::ApiKeyExpiring,
        EventType::ApiKeyExpired,
        EventType::ApiKeyRevoked,
        EventType::ApiKeyRotated,
        EventType::ApiKeyDisabled,
        EventType::ApiKeyLeaked,
        EventType::ServiceAccountDeleted,
        EventType::MembershipRemoved,
    ];

    /// The event an allowed change fires, if any: every decided change
    /// passes through its audit record, so no change can forget its event.
    /// `details` are the audit record's (`disabled: true` for a disable).
    pub fn of_change(action: Action, details: &Value) -> Option<Self> {
        match action {
            Action::CreateApiKey => Some(Self::ApiKeyCreated),
            Action::DeleteApiKey => Some(Self::ApiKeyRevoked),
            Action::RotateApiKey => Some(Self::ApiKeyRotated),
            Action::UpdateApiKey if details["disabled"] == Value::Bool(true) => {
                Some(Self::ApiKeyDisabled)
            }
            Action::RevokeLeakedApiKey => Some(Self::ApiKeyLeaked),
            Action::DeleteServiceAccount => Some(Self::ServiceAccountDeleted),
            Action::DeleteMembership => Some(Self::MembershipRemoved),
            _ => None,
        }
    }

    /// What the body's `data` names its object: `api_key`, `service_account`…
    fn subject(self) -> &'static str {
        match self {
            Self::ServiceAccountDeleted => "service_account",
            Self::MembershipRemoved => "membership",
            _ => "api_key",
        }
    }
}

/// Who made the change (absent for what the server does by itself: expiry
/// notices, a scanner's leak report).
#[derive(Clone, Copy, Debug)]
pub struct Actor {
    pub key_id: KeyId,
    pub account_id: AccountId,
}

impl From<&Principal> for Actor {
    fn from(p: &Principal) -> Self {
        Self {
            key_id: p.key_id,
            account_id: p.account_id,
        }
    }
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
    let body = body(event, uuid::Uuid::new_v4(), at, tenant, actor, object);
    webhooks::emit(w, tenant, event, &body, at)?;
    Ok(())
}

/// The body of every delivery of one event: the same `id` reaches every
/// endpoint subscribed to it. `object` holds ids, names, the owner and
/// times, never a secret (it comes from the audit record, which holds none).
fn body(
    event: EventType,
    id: uuid::Uuid,
    at: DateTime<Utc>,
    tenant: TenantId,
    actor: Option<Actor>,
    object: Value,
) -> Value {
    json!({
        "id": id.to_string(),
        "type": event.as_str(),
        "occurred_at": crate::store::time_to_sql(&at),
        "tenant_id": tenant.to_string(),
        "actor": actor.map(|a| json!({
            "key_id": a.key_id.to_string(),
            "account_id": a.account_id.to_string(),
        })),
        "data": { event.subject(): object },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_name_parses_back() {
        for e in EventType::ALL {
            assert_eq!(e.as_str().parse::<EventType>().unwrap(), e);
        }
        assert!("api_key.created ".parse::<EventType>().is_err());
    }

    #[test]
    fn only_a_disable_fires_disabled() {
        let on = json!({ "disabled": true });
        let off = json!({ "disabled": false });
        let rename = json!({ "disabled": null, "renamed_to": "x" });
        assert_eq!(
            EventType::of_change(Action::UpdateApiKey, &on),
            Some(EventType::ApiKeyDisabled)
        );
        assert_eq!(EventType::of_change(Action::UpdateApiKey, &off), None);
        assert_eq!(EventType::of_change(Action::UpdateApiKey, &rename), None);
        assert_eq!(EventType::of_change(Action::ReadApiKey, &on), None);
    }
}
