//! Plain data as the store returns it.

use chrono::{DateTime, Utc};

use super::ids::{AccountId, InvitationId, KeyId, MembershipId, TenantId};
use super::names::{DisplayName, Email, Slug};

/// A person or a robot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccountKind {
    User,
    Service,
}

/// A role in a tenant, with Prefect Cloud's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    TenantAdmin,
    User,
    ReadOnlyUser,
}

macro_rules! text_enum {
    ($ty:ty, $what:literal, { $($variant:path => $text:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(&self) -> &'static str {
                match self { $($variant => $text),+ }
            }
        }
        impl std::str::FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($variant),)+
                    other => Err(format!(concat!("unknown ", $what, " {:?}"), other)),
                }
            }
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;

/// Why a key that no longer exists stopped working (kept with its hash so a
/// client using it is told why).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revocation {
    Revoked,
    ServiceAccountDeleted,
    MembershipRemoved,
    /// Replaced by a rotation; its grace is over.
    Rotated,
    /// Reported leaked (a secret-scanning report) and revoked at once.
    Leaked,
}

impl Revocation {
    /// What a client using a key revoked at `at` is told (`replaced_by`: the
    /// key a rotation put in its place).
    pub fn message(self, at: DateTime<Utc>, replaced_by: Option<KeyId>) -> String {
        let at = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        match self {
            Revocation::Revoked => format!("This API key was revoked at {at}."),
            Revocation::ServiceAccountDeleted => {
                format!("This API key stopped working at {at}: its service account was deleted.")
            }
            Revocation::MembershipRemoved => format!(
                "This API key stopped working at {at}: its owner was removed from its tenant."
            ),
            Revocation::Rotated => rotated_message(at, replaced_by),
            Revocation::Leaked => format!(
                "This API key was revoked at {at}: it was reported leaked (found in public). Create a new key."
            ),
        }
    }
}

/// What a client using a rotated key is told once its grace is over.
pub fn rotated_message(at: impl std::fmt::Display, replaced_by: Option<KeyId>) -> String {
    match replaced_by {
        Some(id) => format!("This API key was rotated at {at}; use its replacement (key {id})."),
        None => format!("This API key was rotated at {at}; use its replacement."),
    }
}

impl Role {
    /// TENANT_ADMIN > USER > READ_ONLY_USER.
    fn rank(self) -> u8 {
        match self {
            Role::TenantAdmin => 3,
            Role::User => 2,
            Role::ReadOnlyUser => 1,
        }
    }

    /// The lower of two roles: what a restricted key may do, capped by its
    /// owner's role.
    pub fn at_most(self, cap: Role) -> Role {
        if self.rank() <= cap.rank() { self } else { cap }
    }
}

text_enum!(Revocation, "revocation", {
    Revocation::Revoked => "revoked",
    Revocation::ServiceAccountDeleted => "service_account_deleted",
    Revocation::MembershipRemoved => "membership_removed",
    Revocation::Rotated => "rotated",
    Revocation::Leaked => "leaked",
});
/// How a key came into existence: every path decides `CreateApiKey`, and
/// policies read this as `context.via`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Via {
    /// `create_api_key` (GraphQL, the CLI, the console).
    Api,
    /// The replacement `rotate_api_key` makes.
    Rotation,
    /// The first key of an accepted invitation.
    Invitation,
    /// The first key of a tenant's creator, in the tenant just created.
    CreateTenant,
    /// The operator's own keys, on the local database (`keyward init`,
    /// `tenant create`): no policy is asked.
    Operator,
}

text_enum!(Via, "key origin", {
    Via::Api => "api",
    Via::Rotation => "rotation",
    Via::Invitation => "invitation",
    Via::CreateTenant => "create_tenant",
    Via::Operator => "operator",
});

text_enum!(AccountKind, "account kind", { AccountKind::User => "USER", AccountKind::Service => "SERVICE" });
text_enum!(Role, "role", {
    Role::TenantAdmin => "TENANT_ADMIN",
    Role::User => "USER",
    Role::ReadOnlyUser => "READ_ONLY_USER",
});

#[derive(Clone, Debug)]
pub struct Tenant {
    pub id: TenantId,
    pub name: DisplayName,
    pub slug: Slug,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct Account {
    pub id: AccountId,
    pub kind: AccountKind,
    /// A person's e-mail address, a service account's chosen name.
    pub name: DisplayName,
    pub email: Option<Email>,
    /// A service account's one tenant; `None` for users.
    pub tenant_id: Option<TenantId>,
    /// May act on the whole server (create tenants).
    pub server_admin: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct Membership {
    pub id: MembershipId,
    pub tenant_id: TenantId,
    pub account_id: AccountId,
    pub role: Role,
}

/// A membership with the account it is for.
#[derive(Clone, Debug)]
pub struct Member {
    pub membership: Membership,
    pub account: Account,
}

/// An invitation to join a tenant; its token is never part of it.
#[derive(Clone, Debug)]
pub struct Invitation {
    pub id: InvitationId,
    pub tenant_id: TenantId,
    pub email: Email,
    pub role: Role,
    pub created_by: Option<AccountId>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// An API key's metadata; the secret is never part of it.
#[derive(Clone, Debug)]
pub struct ApiKey {
    pub id: KeyId,
    pub name: DisplayName,
    pub account_id: AccountId,
    pub tenant_id: TenantId,
    pub created_by: Option<AccountId>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// A restricted key's own role (`None`: its owner's); the owner's role
    /// in the tenant caps it at every request.
    pub role: Option<Role>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// The key this one replaced, and, once rotated itself, when, by which
    /// key, and until when it still works.
    pub rotated_from: Option<KeyId>,
    pub rotation: Option<Rotation>,
}

/// A key's rotation: it was replaced at `at` by `replaced_by` and works
/// until `grace_until`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rotation {
    pub at: DateTime<Utc>,
    pub replaced_by: KeyId,
    pub grace_until: DateTime<Utc>,
}

/// A key row together with what authorising it needs: its owner's kind and
/// the owner's role in the key's tenant (`None` once the membership is gone).
#[derive(Clone, Debug)]
pub struct KeyWithOwner {
    pub key: ApiKey,
    pub owner_kind: AccountKind,
    pub owner_server_admin: bool,
    pub owner_role: Option<Role>,
}

impl KeyWithOwner {
    /// What the key may do: its own role capped by its owner's (`None` once
    /// the owner is no longer a member).
    pub fn effective_role(&self) -> Option<Role> {
        let owner = self.owner_role?;
        Some(self.key.role.map_or(owner, |r| r.at_most(owner)))
    }
}
