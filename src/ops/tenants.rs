//! Tenants: the ones a caller may see, and `create_tenant`.
use chrono::{DateTime, Utc};
use serde_json::json;

use super::api_keys::{MintRequest, not_in_the_past};
use super::changes::{self, Change};
use super::listing::{self, Window};
use super::{Caller, Env, caller_entities};
use crate::authz::{Action, RequestContext};
use crate::domain::api_key::Token;
use crate::domain::ids::TenantId;
use crate::domain::model::{AccountKind, Role, Tenant, Via};
use crate::domain::names::{DisplayName, Slug};
use crate::error::{AppError, AppResult};
use crate::store::api_keys::NewKey;
use crate::store::paging::Resource;
pub use crate::store::tenants::TenantOrder;
use crate::store::{accounts, api_keys, memberships, tenants};

/// Which tenants `tenant` lists, in which order.
pub struct TenantQuery {
    pub id: Option<TenantId>,
    pub slug: Option<String>,
    pub name: Option<String>,
    pub order: Vec<TenantOrder>,
    pub window: Window,
}

/// `create_tenant`'s command.
pub struct NewTenant {
    pub name: DisplayName,
    pub slug: Slug,
    pub key_expires_at: Option<DateTime<Utc>>,
}

/// The tenants the caller may see (those its owner is a member of).
pub fn list(env: &Env, caller: &Caller, q: TenantQuery) -> AppResult<Vec<Tenant>> {
    let p = caller.key()?;
    let scope = tenants::TenantScope {
        member: p.account_id,
        id: q.id,
        slug: q.slug.as_deref(),
        name: q.name.as_deref(),
    };
    env.store.read(|c| {
        listing::page(
            env,
            p,
            c,
            (Action::ReadTenant, Resource::Tenant),
            q.window,
            |conds, l, o| tenants::page_of(c, p, &scope, conds, &q.order, l, o),
            |_, rows| {
                let mut ents = caller_entities(p)?;
                let rows: Vec<(Tenant, _)> = rows
                    .into_iter()
                    .map(|t| {
                        let uid = ents.add_tenant(t.id);
                        (t, uid)
                    })
                    .collect();
                env.session(p, &ents)?.filter(Action::ReadTenant, rows)
            },
        )
    })
}

/// Makes a tenant, its creator (a person) its admin, and the creator's first
/// key there (decided as every key is); returns the key's secret, once.
pub fn create(env: &Env, caller: &Caller, t: NewTenant) -> AppResult<(Tenant, Option<Token>)> {
    let p = caller.key()?;
    let NewTenant {
        name,
        slug,
        key_expires_at,
    } = t;
    not_in_the_past(key_expires_at, env.now)?;
    let (tenant, key) = env.store.write(|w| {
        let mut ents = caller_entities(p)?;
        let server = ents.add_server();
        let proof =
            env.session(p, &ents)?
                .check(Action::CreateTenant, &server, RequestContext::Empty)?;
        let tenant = tenants::insert(w, &proof, &name, &slug, env.now)?;
        let change = Change {
            resource_type: "tenant",
            resource_id: tenant.id.to_string(),
            tenant: Some(tenant.id),
            details: json!({ "name": tenant.name.as_str(), "slug": tenant.slug.as_str() }),
        };
        changes::allowed(w, env.now, &proof, change)?;
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
            env.now,
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
        let session = env.session(&creator, &ents)?;
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
        let (_, key) = api_keys::mint(w, &minting, new, env.now)?;
        Ok((tenant, Some(key)))
    })?;
    tracing::info!(tenant = %tenant.id, slug = %tenant.slug, by = %p.account_id, "tenant created");
    Ok((tenant, key))
}
