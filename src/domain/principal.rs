//! Who is calling: the key the request authenticated with.
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::ids::{AccountId, KeyId, TenantId};
use super::model::{AccountKind, Role, Rotation};

/// An authenticated caller. A key stands for its owner and acts in the key's
/// tenant only, with the owner's role there.
#[derive(Clone, Debug)]
pub struct Principal {
    pub key_id: KeyId,
    pub account_id: AccountId,
    pub account_kind: AccountKind,
    /// The owner may act on the whole server.
    pub server_admin: bool,
    pub tenant_id: TenantId,
    /// What the key may do: its own role (a restricted key's) capped by its
    /// owner's role in the tenant.
    pub role: Role,
    pub key_created_at: DateTime<Utc>,
    pub key_expires_at: Option<DateTime<Utc>>,
    /// Set once the key was rotated: it works until the grace ends.
    pub rotation: Option<Rotation>,
    /// Every tenant the owner is a member of (what its Cedar entity is
    /// `in`), read and cached with the key: a change to them evicts it.
    pub member_of: Arc<[TenantId]>,
}

/// Who made a change: the calling key and its owner (absent for what the
/// operator or the server does by itself, an invitation's holder, or a
/// scanner's leak report).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
