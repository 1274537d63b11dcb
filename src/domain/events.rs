//! The webhook events, and the JSON body every delivery of one carries
//! (`store::webhooks::fire` puts it in the outbox).
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::ids::TenantId;
use super::principal::Actor;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::EnumIter)]
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
    /// Every event, in declaration order.
    pub fn all() -> impl Iterator<Item = EventType> {
        <EventType as strum::IntoEnumIterator>::iter()
    }

    /// The event an allowed change fires, if any: every decided change
    /// passes through its audit record, so no change can forget its event.
    /// `details` are the audit record's (`disabled: true` for a disable).
    /// A new key's `api_key.created` is fired by `store::api_keys::mint`
    /// itself, whatever the path that minted it.
    /// `action` is the Cedar action's name.
    pub fn of_change(action: &str, details: &Value) -> Option<Self> {
        match action {
            "DeleteApiKey" => Some(Self::ApiKeyRevoked),
            "RotateApiKey" => Some(Self::ApiKeyRotated),
            "UpdateApiKey" if details["disabled"] == Value::Bool(true) => {
                Some(Self::ApiKeyDisabled)
            }
            "RevokeLeakedApiKey" => Some(Self::ApiKeyLeaked),
            "DeleteServiceAccount" => Some(Self::ServiceAccountDeleted),
            "DeleteMembership" => Some(Self::MembershipRemoved),
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

/// The body of every delivery of one event: the same `id` reaches every
/// endpoint subscribed to it. `object` holds ids, names, the owner and
/// times, never a secret (it comes from the audit record, which holds none).
pub fn body(
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
        "occurred_at": super::time::to_sql(&at),
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
        for e in EventType::all() {
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
            EventType::of_change("UpdateApiKey", &on),
            Some(EventType::ApiKeyDisabled)
        );
        assert_eq!(EventType::of_change("UpdateApiKey", &off), None);
        assert_eq!(EventType::of_change("UpdateApiKey", &rename), None);
        assert_eq!(EventType::of_change("ReadApiKey", &on), None);
    }
}
