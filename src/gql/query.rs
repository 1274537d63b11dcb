use juniper::graphql_object;

use super::context::{Context, SortKey, caller_entities, limit, sort};
use super::inputs::{ApiKeyOrder, TenantFilter, TenantOrder};
use super::types::{ApiKeyNode, AuthInfo, TenantNode};
use crate::authz::Action;
use crate::authz::entities::account_uid;
use crate::domain::ids::{AccountId, TenantId};
use crate::domain::model::{KeyWithOwner, Tenant};
use crate::error::AppResult;
use crate::store::{accounts, api_keys, tenants};

pub struct Query;

#[graphql_object(context = Context, rename_all = "none")]
impl Query {
    /// Who the calling key stands for, and the tenant it works in.
    fn auth_info(ctx: &Context) -> AppResult<AuthInfo> {
        let p = ctx.caller()?;
        ctx.store.read(|c| {
            let ents = caller_entities(c, p)?;
            ctx.authz.session(p, &ents)?.check_visible(
                Action::ReadAccount,
                &account_uid(p.account_id),
                "account",
            )?;
            Ok(AuthInfo::from(p))
        })
    }

    /// API key metadata, never a secret: the caller's own keys and, for
    /// tenant admins, every service-account key of the tenant (S7), as the
    /// policies allow.
    fn auth_api_key(
        ctx: &Context,
        order_by: Option<Vec<ApiKeyOrder>>,
        limit: Option<i32>,
    ) -> AppResult<Vec<ApiKeyNode>> {
        let p = ctx.caller()?;
        let max = self::limit(limit)?;
        let mut rows = ctx.store.read(|c| {
            let rows = api_keys::candidates_for(c, p.account_id, p.tenant_id, false)?;
            let mut ents = caller_entities(c, p)?;
            let mut owners: Vec<AccountId> = rows.iter().map(|r| r.key.account_id).collect();
            owners.sort();
            owners.dedup();
            for owner in owners {
                if let Some(a) = accounts::get(c, owner)? {
                    super::context::add_account(c, &mut ents, &a)?;
                }
            }
            let uids = rows
                .iter()
                .map(|r| ents.api_key(r))
                .collect::<AppResult<Vec<_>>>()?;
            let session = ctx.authz.session(p, &ents)?;
            let mut visible = Vec::new();
            for (row, uid) in rows.into_iter().zip(uids) {
                if session.allows(Action::ReadApiKey, &uid)? {
                    visible.push(row);
                }
            }
            Ok(visible)
        })?;
        let keys: Vec<SortKey<KeyWithOwner>> = order_by
            .unwrap_or_default()
            .iter()
            .flat_map(|o| {
                let mut k: Vec<SortKey<KeyWithOwner>> = Vec::new();
                if let Some(d) = o.created {
                    k.push((d, |a, b| a.key.created_at.cmp(&b.key.created_at)));
                }
                if let Some(d) = o.name {
                    k.push((d, |a, b| a.key.name.cmp(&b.key.name)));
                }
                if let Some(d) = o.expires_at {
                    k.push((d, |a, b| a.key.expires_at.cmp(&b.key.expires_at)));
                }
                k
            })
            .collect();
        sort(&mut rows, &keys);
        Ok(rows.iter().take(max).map(ApiKeyNode::from).collect())
    }

    /// The tenants the caller may see: those its owner is a member of.
    fn tenant(
        ctx: &Context,
        #[graphql(name = "where")] filter: Option<TenantFilter>,
        order_by: Option<Vec<TenantOrder>>,
        limit: Option<i32>,
    ) -> AppResult<Vec<TenantNode>> {
        let p = ctx.caller()?;
        let max = self::limit(limit)?;
        let id_eq: Option<TenantId> = filter
            .as_ref()
            .and_then(|f| f.id.as_ref()?.eq)
            .map(|u| u.0.into());
        let slug_eq = filter.as_ref().and_then(|f| f.slug.as_ref()?.eq.clone());
        let name_eq = filter.as_ref().and_then(|f| f.name.as_ref()?.eq.clone());
        let mut rows = ctx.store.read(|c| {
            let mut ents = caller_entities(c, p)?;
            let candidates: Vec<Tenant> = tenants::of_member(c, p.account_id)?
                .into_iter()
                .filter(|t| id_eq.is_none_or(|id| t.id == id))
                .filter(|t| slug_eq.as_ref().is_none_or(|s| &t.slug == s))
                .filter(|t| name_eq.as_ref().is_none_or(|n| &t.name == n))
                .collect();
            let uids: Vec<_> = candidates.iter().map(|t| ents.add_tenant(t.id)).collect();
            let session = ctx.authz.session(p, &ents)?;
            let mut visible = Vec::new();
            for (t, uid) in candidates.into_iter().zip(uids) {
                if session.allows(Action::ReadTenant, &uid)? {
                    visible.push(t);
                }
            }
            Ok(visible)
        })?;
        let keys: Vec<SortKey<Tenant>> = order_by
            .unwrap_or_default()
            .iter()
            .flat_map(|o| {
                let mut k: Vec<SortKey<Tenant>> = Vec::new();
                if let Some(d) = o.slug {
                    k.push((d, |a, b| a.slug.cmp(&b.slug)));
                }
                if let Some(d) = o.name {
                    k.push((d, |a, b| a.name.cmp(&b.name)));
                }
                k
            })
            .collect();
        sort(&mut rows, &keys);
        Ok(rows.iter().take(max).map(TenantNode::from).collect())
    }
}
