//! Tenants: `tenant` (Prefect's list-tenants and lookups), `create_tenant`,
//! their inputs and nodes.
use chrono::{DateTime, Utc};
use juniper::{GraphQLInputObject, GraphQLObject};

use serde_json::json;

use super::api_keys::MintRequest;
use super::audit::{self, Change};
use super::context::{Context, caller_entities};
use super::inputs::{OrderBy, StringComparison, UuidComparison};
use super::listing::{self, MAX_LIST, Window};
use super::scalars::{GqlUuid, Timestamp, id};
use crate::authz::{Action, RequestContext};
use crate::domain::model::{AccountKind, Role, Tenant, Via};
use crate::domain::names::{DisplayName, Slug};
use crate::error::{AppError, AppResult};
use crate::store::api_keys::NewKey;
use crate::store::listing::Resource;
use crate::store::{accounts, api_keys, memberships, tenants};

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
    let p = ctx.caller()?;
    let window = Window::parse(limit, offset, MAX_LIST)?;
    let filter = filter.as_ref();
    let scope = tenants::TenantScope {
        member: p.account_id,
        id: filter.and_then(|f| f.id.as_ref()?.eq).map(|u| u.0.into()),
        slug: filter.and_then(|f| f.slug.as_ref()?.eq.as_deref()),
        name: filter.and_then(|f| f.name.as_ref()?.eq.as_deref()),
    };
    let order: Vec<tenants::TenantOrder> = order_by
        .unwrap_or_default()
        .iter()
        .flat_map(TenantOrder::keys)
        .collect();
    let rows = ctx.store.read(|c| {
        listing::page(
            ctx,
            c,
            Action::ReadTenant,
            Resource::Tenant,
            window,
            |conds, l, o| tenants::page_of(c, p, &scope, conds, &order, l, o),
            |_, rows| {
                let mut ents = caller_entities(p)?;
                let rows: Vec<(Tenant, _)> = rows
                    .into_iter()
                    .map(|t| {
                        let uid = ents.add_tenant(t.id);
                        (t, uid)
                    })
                    .collect();
                ctx.session(&ents)?.filter(Action::ReadTenant, rows)
            },
        )
    })?;
    Ok(rows.iter().map(TenantNode::from).collect())
}

/// `create_tenant`'s input, parsed.
struct NewTenant {
    name: DisplayName,
    slug: Slug,
    key_expires_at: Option<DateTime<Utc>>,
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
    let p = ctx.caller()?;
    let NewTenant {
        name,
        slug,
        key_expires_at,
    } = input.try_into()?;
    super::api_keys::not_in_the_past(key_expires_at, ctx.now)?;
    let (tenant, key) = ctx.store.write(|w| {
        let mut ents = caller_entities(p)?;
        let server = ents.add_server();
        let proof =
            ctx.session(&ents)?
                .check(Action::CreateTenant, &server, RequestContext::Empty)?;
        let tenant = tenants::insert(w, &proof, &name, &slug, ctx.now)?;
        let change = Change {
            resource_type: "tenant",
            resource_id: tenant.id.to_string(),
            tenant: Some(tenant.id),
            details: json!({ "name": tenant.name.as_str(), "slug": tenant.slug.as_str() }),
        };
        audit::allowed(w, ctx, &proof, change)?;
        // A person who creates a tenant runs it, and gets the one key that
        // lets it act there (the calling key stays bound to its own tenant).
        // A service account belongs to its own tenant only, so it stays out.
        if p.account_kind != AccountKind::User {
            return Ok((tenant, None));
        }
        memberships::insert(
            w,
            &proof,
            tenant.id,
            p.account_id,
            Role::TenantAdmin,
            ctx.now,
        )?;
        // The first key is decided as every key is, with the creator as a
        // member of the new tenant (which it now is, in this transaction).
        let mut creator = p.clone();
        creator.member_of = creator
            .member_of
            .iter()
            .copied()
            .chain([tenant.id])
            .collect();
        let owner = accounts::get(w, p.account_id)?.ok_or(AppError::NotFound("account"))?;
        let ents = caller_entities(&creator)?;
        let session = ctx
            .authz
            .session(&creator, &ents, ctx.now)?
            .in_request(&ctx.request_id);
        let ask = MintRequest {
            owner: &owner,
            tenant: tenant.id,
            owner_is_caller: true,
            key_role: None,
            expires_at: key_expires_at,
            via: Via::CreateTenant,
            replaces: None,
        };
        let minting = ask.decide(w, &session)?;
        let first = DisplayName::parse("key name", "first key")?;
        let new = NewKey {
            name: &first,
            owner: p.account_id,
            owner_kind: AccountKind::User,
            tenant: tenant.id,
            created_by: Some(p.account_id),
            expires_at: key_expires_at,
            role: None,
            rotated_from: None,
            via: Via::CreateTenant,
        };
        let (_, key) = api_keys::mint(w, &minting, new, ctx.now)?;
        Ok((tenant, Some(key)))
    })?;
    tracing::info!(tenant = %tenant.id, slug = %tenant.slug, by = %p.account_id, "tenant created");
    Ok(CreatedTenant {
        id: id(tenant.id),
        name: tenant.name.to_string(),
        slug: tenant.slug.to_string(),
        created: Timestamp(tenant.created_at),
        key: key.map(|k| k.expose().to_owned()),
    })
}
