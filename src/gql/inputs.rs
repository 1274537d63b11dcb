//! Input types, with the Hasura-style names the Prefect client sends.
use juniper::{GraphQLEnum, GraphQLInputObject};

use super::context::{SortKey, SortKeys};
use super::scalars::{GqlUuid, Timestamp};
use super::types::GqlRole;
use crate::domain::model::{KeyWithOwner, Tenant};

#[derive(GraphQLInputObject)]
#[graphql(name = "create_api_key_input", rename_all = "none")]
pub struct CreateApiKeyInput {
    /// A user or a service account.
    pub user_id: GqlUuid,
    pub name: String,
    /// Null or absent: the key never expires.
    pub expires_at: Option<Timestamp>,
    /// The tenant the key works in. Default: the calling key's tenant for a
    /// user, the service account's own tenant for a service account.
    pub default_tenant_id: Option<GqlUuid>,
}

#[derive(GraphQLInputObject)]
#[graphql(name = "delete_api_key_input", rename_all = "none")]
pub struct DeleteApiKeyInput {
    pub key_id: GqlUuid,
}

#[derive(GraphQLInputObject)]
#[graphql(name = "create_service_account_input", rename_all = "none")]
pub struct CreateServiceAccountInput {
    pub name: String,
    /// Default: the calling key's tenant.
    pub tenant_id: Option<GqlUuid>,
    /// Default: TENANT_ADMIN, as in Prefect Cloud.
    pub role: Option<GqlRole>,
}

#[derive(GraphQLInputObject)]
#[graphql(name = "delete_service_account_input", rename_all = "none")]
pub struct DeleteServiceAccountInput {
    /// The service account's id (Prefect Cloud's name for it).
    pub user_id: GqlUuid,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, GraphQLEnum)]
#[graphql(name = "order_by")]
pub enum OrderBy {
    #[graphql(name = "asc")]
    Asc,
    #[graphql(name = "desc")]
    Desc,
}

#[derive(GraphQLInputObject)]
#[graphql(name = "uuid_comparison_exp", rename_all = "none")]
pub struct UuidComparison {
    #[graphql(name = "_eq")]
    pub eq: Option<GqlUuid>,
}

#[derive(GraphQLInputObject)]
#[graphql(name = "String_comparison_exp", rename_all = "none")]
pub struct StringComparison {
    #[graphql(name = "_eq")]
    pub eq: Option<String>,
}

#[derive(GraphQLInputObject)]
#[graphql(name = "tenant_bool_exp", rename_all = "none")]
pub struct TenantFilter {
    pub id: Option<UuidComparison>,
    pub slug: Option<StringComparison>,
    pub name: Option<StringComparison>,
}

#[derive(GraphQLInputObject)]
#[graphql(name = "tenant_order_by", rename_all = "none")]
pub struct TenantOrder {
    pub slug: Option<OrderBy>,
    pub name: Option<OrderBy>,
}

#[derive(GraphQLInputObject)]
#[graphql(name = "api_key_order_by", rename_all = "none")]
pub struct ApiKeyOrder {
    pub created: Option<OrderBy>,
    pub name: Option<OrderBy>,
    pub expires_at: Option<OrderBy>,
}

impl SortKeys<Tenant> for TenantOrder {
    fn sort_keys(&self) -> Vec<SortKey<Tenant>> {
        let mut k: Vec<SortKey<Tenant>> = Vec::new();
        if let Some(d) = self.slug {
            k.push((d, |a, b| a.slug.cmp(&b.slug)));
        }
        if let Some(d) = self.name {
            k.push((d, |a, b| a.name.cmp(&b.name)));
        }
        k
    }
}

impl SortKeys<KeyWithOwner> for ApiKeyOrder {
    fn sort_keys(&self) -> Vec<SortKey<KeyWithOwner>> {
        let mut k: Vec<SortKey<KeyWithOwner>> = Vec::new();
        if let Some(d) = self.created {
            k.push((d, |a, b| a.key.created_at.cmp(&b.key.created_at)));
        }
        if let Some(d) = self.name {
            k.push((d, |a, b| a.key.name.cmp(&b.key.name)));
        }
        if let Some(d) = self.expires_at {
            k.push((d, |a, b| a.key.expires_at.cmp(&b.key.expires_at)));
        }
        k
    }
}

#[derive(GraphQLInputObject)]
#[graphql(name = "create_tenant_input", rename_all = "none")]
pub struct CreateTenantInput {
    pub name: String,
    /// Unique, lowercase, URL-safe.
    pub slug: String,
}

#[derive(GraphQLInputObject)]
#[graphql(name = "update_service_account_input", rename_all = "none")]
pub struct UpdateServiceAccountInput {
    pub user_id: GqlUuid,
    pub name: String,
}

#[derive(GraphQLInputObject)]
#[graphql(name = "create_membership_invitation_input", rename_all = "none")]
pub struct CreateInvitationInput {
    /// Default: the calling key's tenant.
    pub tenant_id: Option<GqlUuid>,
    pub email: String,
    /// Default: USER.
    pub role: Option<GqlRole>,
}

#[derive(GraphQLInputObject)]
#[graphql(name = "accept_membership_invitation_input", rename_all = "none")]
pub struct AcceptInvitationInput {
    /// The invitation's secret (kwi_...).
    pub token: String,
    /// The name of the first API key. Default: "first key".
    pub key_name: Option<String>,
}

#[derive(GraphQLInputObject)]
#[graphql(name = "delete_membership_invitation_input", rename_all = "none")]
pub struct DeleteInvitationInput {
    pub invitation_id: GqlUuid,
}

#[derive(GraphQLInputObject)]
#[graphql(name = "set_membership_role_input", rename_all = "none")]
pub struct SetMembershipRoleInput {
    pub membership_id: GqlUuid,
    pub role: GqlRole,
}

#[derive(GraphQLInputObject)]
#[graphql(name = "delete_membership_input", rename_all = "none")]
pub struct DeleteMembershipInput {
    pub membership_id: GqlUuid,
}

/// Filters by tenant; default: the calling key's tenant.
#[derive(GraphQLInputObject)]
#[graphql(name = "tenant_scoped_bool_exp", rename_all = "none")]
pub struct TenantScope {
    pub tenant_id: Option<UuidComparison>,
}

impl TenantScope {
    pub fn tenant(scope: &Option<Self>) -> Option<crate::domain::ids::TenantId> {
        scope.as_ref()?.tenant_id.as_ref()?.eq.map(|u| u.0.into())
    }
}
