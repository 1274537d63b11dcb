//! Output types more than one feature returns, named as Prefect Cloud named
//! them. Each feature's own nodes live in its file.
use juniper::{GraphQLEnum, GraphQLObject};

use super::scalars::{GqlUuid, Timestamp, id};
use crate::domain::model::{Account, AccountKind, Role};

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

#[derive(GraphQLObject)]
#[graphql(name = "user_ref", rename_all = "none")]
pub struct UserRef {
    pub id: GqlUuid,
}

#[derive(GraphQLObject)]
#[graphql(name = "success_payload", rename_all = "none")]
pub struct Success {
    pub success: bool,
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
            name: a.name.to_string(),
            email: a.email.as_ref().map(ToString::to_string),
            tenant_id: a.tenant_id.map(id),
            created: Timestamp(a.created_at),
        }
    }
}
