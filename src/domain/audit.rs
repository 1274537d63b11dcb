//! The audit log's records: one event per decided change, refusal or
//! failure. No event holds a secret, a token or a hash.
use chrono::{DateTime, Utc};

use super::ids::{AccountId, KeyId, TenantId};

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Allowed,
    /// Refused: by the policies, or for bad credentials.
    Denied,
    /// Allowed or not, it could not be done (bad input, a conflict, an id
    /// that is not there).
    Failed,
}

super::model::text_enum!(Outcome, "outcome", {
    Outcome::Allowed => "allowed",
    Outcome::Denied => "denied",
    Outcome::Failed => "failed",
});

/// One audit event.
#[derive(Clone, Debug)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub request_id: Option<String>,
    pub actor_key: Option<KeyId>,
    pub actor_account: Option<AccountId>,
    /// Whose log it is in; `None`: the server's.
    pub tenant: Option<TenantId>,
    /// A Cedar action's name, or `Authenticate`.
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub outcome: Outcome,
    /// The policies that decided it (permits for an allow, forbids for a
    /// deny).
    pub policies: Vec<String>,
    /// The request's non-secret arguments.
    pub details: serde_json::Value,
    /// Why it was refused or failed.
    pub message: Option<String>,
}

impl Event {
    /// An allowed change's event, before `record` fills in who, which
    /// request, which action and which policies from its proof.
    pub fn of(
        at: DateTime<Utc>,
        tenant: Option<TenantId>,
        resource_type: &str,
        resource_id: String,
        details: serde_json::Value,
    ) -> Self {
        Self {
            at,
            request_id: None,
            actor_key: None,
            actor_account: None,
            tenant,
            action: String::new(),
            resource_type: resource_type.to_owned(),
            resource_id: Some(resource_id),
            outcome: Outcome::Allowed,
            policies: vec![],
            details,
            message: None,
        }
    }
}

/// An event as stored, with its place in the log.
#[derive(Clone, Debug)]
pub struct Stored {
    pub id: i64,
    pub event: Event,
}

/// Which events a page is cut from: one tenant's (or the server's), and
/// those matching every given field.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub tenant: Option<TenantId>,
    pub actor_key: Option<KeyId>,
    pub resource_id: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<Outcome>,
    /// Only events at or after, and before, these times.
    pub after: Option<DateTime<Utc>>,
    pub before: Option<DateTime<Utc>>,
    /// Only events with a larger id (`keyward audit --follow`).
    pub since_id: Option<i64>,
}
