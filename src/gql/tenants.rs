//! Tenants: `tenant` (Prefect's list-tenants and lookups), `create_tenant`,
//! their inputs and nodes.
use juniper::{GraphQLInputObject, GraphQLObject};
use serde_json::{Value, json};

use super::audit::Audited;
use super::context::Context;
use super::inputs::{OrderBy, StringComparison, UuidComparison};
use super::scalars::{GqlUuid, Timestamp, id};
use crate::authz::Action;
use crate::domain::model::Tenant;
use crate::domain::names::{DisplayName, Slug};
use crate::error::{AppError, AppResult};
use crate::ops;
use crate::ops::listing::{MAX_LIST, Window};
use crate::ops::tenants::{self as tenants, NewTenant, TenantQuery};

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
#[graphql(name = "create_tenant_input", rename_all = "none")]
pub struct CreateTenantInput {
    pub name: String,
    /// Unique, lowercase, URL-safe.
    pub slug: String,
    /// When the creator's first key for the new tenant expires; absent:
    /// never (the policies on CreateApiKey decide whether that may be).
    pub key_expires_at: Option<Timestamp>,
}

impl TenantOrder {
    /// Its sort keys, in the order they apply.
    fn keys(&self) -> Vec<tenants::TenantOrder> {
        let desc = |d: OrderBy| d == OrderBy::Desc;
        let mut k = Vec::new();
        if let Some(d) = self.slug {
            k.push(tenants::TenantOrder::Slug { desc: desc(d) });
        }
        if let Some(d) = self.name {
            k.push(tenants::TenantOrder::Name { desc: desc(d) });
        }
        k
    }
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
            name: t.name.to_string(),
            slug: t.slug.to_string(),
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

/// The tenants the caller may see: those its owner is a member of.
pub fn list(
    ctx: &Context,
    filter: Option<TenantFilter>,
    order_by: Option<Vec<TenantOrder>>,
    limit: Option<i32>,
    offset: Option<i32>,
) -> AppResult<Vec<TenantNode>> {
    let filter = filter.as_ref();
    let q = TenantQuery {
        id: filter.and_then(|f| f.id.as_ref()?.eq).map(|u| u.0.into()),
        slug: filter.and_then(|f| f.slug.as_ref()?.eq.clone()),
        name: filter.and_then(|f| f.name.as_ref()?.eq.clone()),
        order: order_by
            .unwrap_or_default()
            .iter()
            .flat_map(TenantOrder::keys)
            .collect(),
        window: Window::parse(limit, offset, MAX_LIST)?,
    };
    let rows = ops::tenants::list(&ctx.env, &ctx.caller, q)?;
    Ok(rows.iter().map(TenantNode::from).collect())
}

impl TryFrom<CreateTenantInput> for NewTenant {
    type Error = AppError;
    fn try_from(input: CreateTenantInput) -> AppResult<Self> {
        Ok(Self {
            name: DisplayName::parse("name", &input.name)?,
            slug: Slug::parse(&input.slug)?,
            key_expires_at: input.key_expires_at.map(|t| t.0),
        })
    }
}

pub fn create(ctx: &Context, input: CreateTenantInput) -> AppResult<CreatedTenant> {
    let (tenant, key) = ops::tenants::create(&ctx.env, &ctx.caller, input.try_into()?)?;
    Ok(CreatedTenant {
        id: id(tenant.id),
        name: tenant.name.to_string(),
        slug: tenant.slug.to_string(),
        created: Timestamp(tenant.created_at),
        key: key.map(|k| k.expose().to_owned()),
    })
}

impl Audited for CreateTenantInput {
    const ACTION: Action = Action::CreateTenant;
    const RESOURCE: &'static str = "tenant";
    fn details(&self) -> Value {
        json!({ "name": self.name, "slug": self.slug })
    }
}
