//! Input types more than one feature takes, with the Hasura-style names the
//! Prefect client sends. Each feature's own inputs live in its file.
use juniper::{GraphQLEnum, GraphQLInputObject};

use super::scalars::GqlUuid;

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
