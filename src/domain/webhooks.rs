//! Webhook endpoints and their deliveries, as the store holds them.
use chrono::{DateTime, Utc};

use super::events::EventType;
use super::ids::{AccountId, DeliveryId, TenantId, WebhookId};

/// A registered endpoint (its secret is never read back out of the store,
/// except by the worker that signs with it).
#[derive(Clone, Debug)]
pub struct Webhook {
    pub id: WebhookId,
    pub tenant_id: TenantId,
    pub url: String,
    pub description: Option<String>,
    pub events: Vec<EventType>,
    pub created_by: Option<AccountId>,
    pub created_at: DateTime<Utc>,
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pending,
    /// A worker holds it (until `next_attempt_at`, when the claim lapses).
    Sending,
    Delivered,
    /// Retried for 24 hours without success; `redeliver` starts over.
    Failed,
}

super::model::text_enum!(Status, "delivery status", {
    Status::Pending => "pending",
    Status::Sending => "sending",
    Status::Delivered => "delivered",
    Status::Failed => "failed",
});

/// A delivery as listed (its body included: it holds no secret).
#[derive(Clone, Debug)]
pub struct Delivery {
    pub id: DeliveryId,
    pub webhook_id: WebhookId,
    pub event: EventType,
    pub payload: String,
    pub status: Status,
    pub attempts: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// Which deliveries a page is cut from: one tenant's, optionally one
/// webhook's and one status.
pub struct DeliveryFilter {
    pub tenant: TenantId,
    pub webhook: Option<WebhookId>,
    pub status: Option<Status>,
}
