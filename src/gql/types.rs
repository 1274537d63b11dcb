//! Output types, named as Prefect Cloud named them.
use juniper::{GraphQLEnum, GraphQLObject};

use super::scalars::{GqlUuid, Timestamp, id};
use crate::domain::model::{Account, AccountKind, Invitation, KeyWithOwner, Member, Role, Tenant};
use crate::domain::principal::Principal;

#[derive(Clone, Copy, Debug, PartialEq, Eq, GraphQLEnum)]
#[graphql(name = "membership_role")]
pub enum GqlRole {
    TenantAdmin,
    User,
    ReadOnlyUser,
}

impl From<Role> for GqlRole {
    fn from(r: Role) -> Self {
        match r {
            Role::TenantAdmin => Self::TenantAdmin,
            Role::User => Self::User,
            Role::ReadOnlyUser => Self::ReadOnlyUser,
        }
    }
}

impl From<GqlRole> for Role {
    fn from(r: GqlRole) -> Self {
        match r {
            GqlRole::TenantAdmin => Self::TenantAdmin,
            GqlRole::User => Self::User,
            GqlRole::ReadOnlyUser => Self::ReadOnlyUser,
        }
    }
}

/// `USER` for people, `SERVICE` for service accounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, GraphQLEnum)]
#[graphql(name = "account_type")]
pub enum AccountType {
    User,
    Service,
}

impl From<AccountKind> for AccountType {
    fn from(k: AccountKind) -> Self {
        match k {
            AccountKind::User => Self::User,
            AccountKind::Service => Self::Service,
        }
    }
}

/// Who is calling, and where.
#[derive(GraphQLObject)]
#[graphql(name = "auth_info", rename_all = "none")]
pub struct AuthInfo {
    /// The account the key stands for (a user or a service account).
    pub user_id: GqlUuid,
    /// The one tenant the key works in.
    pub tenant_id: GqlUuid,
    pub api_key_id: GqlUuid,
    /// The account's role in that tenant.
    pub role: GqlRole,
    pub account_type: AccountType,
    /// When the calling key stops working; null: never.
    pub expires_at: Option<Timestamp>,
}

impl From<&Principal> for AuthInfo {
    fn from(p: &Principal) -> Self {
        Self {
            user_id: id(p.account_id),
            tenant_id: id(p.tenant_id),
            api_key_id: id(p.key_id),
            role: p.role.into(),
            account_type: p.account_kind.into(),
            expires_at: p.key_expires_at.map(Timestamp),
        }
    }
}

#[derive(GraphQLObject)]
#[graphql(name = "user_ref", rename_all = "none")]
pub struct UserRef {
    pub id: GqlUuid,
}

/// An API key's metadata. Its secret is never returned after creation.
#[derive(GraphQLObject)]
#[graphql(name = "api_key", rename_all = "none")]
pub struct ApiKeyNode {
    pub id: GqlUuid,
    pub name: String,
    /// The owning account (a user or a service account).
    pub user_id: GqlUuid,
    /// The one tenant the key works in (Prefect Cloud's name for it).
    pub default_tenant_id: GqlUuid,
    pub created: Timestamp,
    pub created_by: Option<UserRef>,
    /// Null: never expires.
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

impl From<&KeyWithOwner> for ApiKeyNode {
    fn from(k: &KeyWithOwner) -> Self {
        let k = &k.key;
        Self {
            id: id(k.id),
            name: k.name.clone(),
            user_id: id(k.account_id),
            default_tenant_id: id(k.tenant_id),
            created: Timestamp(k.created_at),
            created_by: k.created_by.map(|c| UserRef { id: id(c) }),
            expires_at: k.expires_at.map(Timestamp),
            last_used_at: k.last_used_at.map(Timestamp),
        }
    }
}

#[derive(GraphQLObject)]
#[graphql(name = "create_api_key_payload", rename_all = "none")]
pub struct CreatedApiKey {
    pub id: GqlUuid,
    /// The secret, shown this once (the seed's name for it).
    pub token: String,
    /// The same secret (the name the Prefect 1.x CLI reads).
    pub key: String,
}

#[derive(GraphQLObject)]
#[graphql(name = "success_payload", rename_all = "none")]
pub struct Success {
    pub success: bool,
}

#[derive(GraphQLObject)]
#[graphql(name = "tenant", rename_all = "none")]
pub struct TenantNode {
    pub id: GqlUuid,
    pub name: String,
    pub slug: String,
    pub created: Timestamp,
}

impl From<&Tenant> for TenantNode {
    fn from(t: &Tenant) -> Self {
        Self {
            id: id(t.id),
            name: t.name.clone(),
            slug: t.slug.clone(),
            created: Timestamp(t.created_at),
        }
    }
}

/// A new tenant, and its creator's first key for it.
#[derive(GraphQLObject)]
#[graphql(name = "create_tenant_payload", rename_all = "none")]
pub struct CreatedTenant {
    pub id: GqlUuid,
    pub name: String,
    pub slug: String,
    pub created: Timestamp,
    /// The creator's first API key for the new tenant, shown this once (a
    /// key works in its own tenant only, so the calling key cannot act
    /// there). Null when the creator is not made a member (a service account).
    pub key: Option<String>,
}

/// A person or a service account.
#[derive(GraphQLObject)]
#[graphql(name = "user", rename_all = "none")]
pub struct UserNode {
    pub id: GqlUuid,
    pub account_type: AccountType,
    pub name: String,
    /// People only.
    pub email: Option<String>,
    /// Service accounts only: their one tenant.
    pub tenant_id: Option<GqlUuid>,
    pub created: Timestamp,
}

impl From<&Account> for UserNode {
    fn from(a: &Account) -> Self {
        Self {
            id: id(a.id),
            account_type: a.kind.into(),
            name: a.name.clone(),
            email: a.email.clone(),
            tenant_id: a.tenant_id.map(id),
            created: Timestamp(a.created_at),
        }
    }
}

/// An account's role in a tenant.
#[derive(GraphQLObject)]
#[graphql(name = "membership", rename_all = "none")]
pub struct MembershipNode {
    pub id: GqlUuid,
    pub tenant_id: GqlUuid,
    pub role: GqlRole,
    /// The member: a person or a service account (see `account_type`).
    pub user: UserNode,
}

impl From<&Member> for MembershipNode {
    fn from(m: &Member) -> Self {
        Self {
            id: id(m.membership.id),
            tenant_id: id(m.membership.tenant_id),
            role: m.membership.role.into(),
            user: UserNode::from(&m.account),
        }
    }
}

/// An invitation to join a tenant. Its token is never returned after creation.
#[derive(GraphQLObject)]
#[graphql(name = "membership_invitation", rename_all = "none")]
pub struct InvitationNode {
    pub id: GqlUuid,
    pub tenant_id: GqlUuid,
    pub email: String,
    pub role: GqlRole,
    pub created: Timestamp,
    pub created_by: Option<UserRef>,
    pub expires_at: Timestamp,
    /// Null until used; an invitation works once.
    pub accepted_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl From<&Invitation> for InvitationNode {
    fn from(i: &Invitation) -> Self {
        Self {
            id: id(i.id),
            tenant_id: id(i.tenant_id),
            email: i.email.clone(),
            role: i.role.into(),
            created: Timestamp(i.created_at),
            created_by: i.created_by.map(|c| UserRef { id: id(c) }),
            expires_at: Timestamp(i.expires_at),
            accepted_at: i.accepted_at.map(Timestamp),
            revoked_at: i.revoked_at.map(Timestamp),
        }
    }
}

#[derive(GraphQLObject)]
#[graphql(name = "create_membership_invitation_payload", rename_all = "none")]
pub struct CreatedInvitation {
    pub id: GqlUuid,
    /// The invitation's secret, shown this once: give it to the invitee.
    pub token: String,
    pub expires_at: Timestamp,
}

#[derive(GraphQLObject)]
#[graphql(name = "accept_membership_invitation_payload", rename_all = "none")]
pub struct AcceptedInvitation {
    pub user_id: GqlUuid,
    pub tenant_id: GqlUuid,
    /// The new member's first API key, shown this once.
    pub key: String,
}

/// A service account with the keys the caller may see.
#[derive(GraphQLObject)]
#[graphql(name = "service_account", rename_all = "none")]
pub struct ServiceAccountNode {
    pub id: GqlUuid,
    pub name: String,
    pub tenant_id: GqlUuid,
    pub role: Option<GqlRole>,
    pub created: Timestamp,
    pub api_keys: Vec<ApiKeyNode>,
}
