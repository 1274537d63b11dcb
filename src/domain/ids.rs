//! Typed UUIDs: a `TenantId` can never be passed where an `AccountId` is due.
use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            pub fn random() -> Self {
                Self(Uuid::new_v4())
            }
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

uuid_id!(
    /// A tenant (a team).
    TenantId
);
uuid_id!(
    /// A user or a service account: both share one id space.
    AccountId
);
uuid_id!(
    /// An API key's public id (never its secret).
    KeyId
);
uuid_id!(
    /// A membership row: an account's role in a tenant.
    MembershipId
);
uuid_id!(
    /// A membership invitation.
    InvitationId
);
uuid_id!(
    /// A webhook endpoint a tenant registered.
    WebhookId
);
uuid_id!(
    /// One event's delivery to one webhook (its `keyward-delivery` header).
    DeliveryId
);
