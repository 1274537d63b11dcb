use juniper::graphql_object;

use super::context::{Context, add_account, caller_entities, limit, sort};
use super::inputs::{ApiKeyOrder, TenantFilter, TenantOrder, TenantScope};
use super::teams;
use super::types::{
    ApiKeyNode, AuthInfo, InvitationNode, MembershipNode, ServiceAccountNode, TenantNode,
};
use crate::authz::Action;
use crate::authz::entities::account_uid;
use crate::domain::ids::{AccountId, TenantId};
use crate::domain::model::Tenant;
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
            ctx.authz.session(p, &ents, ctx.now)?.check_visible(
                Action::ReadAccount,
                &account_uid(p.account_id),
                "account",
            )?;
            Ok(AuthInfo::from(p))
        })
    }

    /// API key metadata, never a secret: the caller's own keys and, for
    /// tenant admins, every service-account key of the tenant, as the
    /// policies allow.
    fn auth_api_key(
        ctx: &Context,
        order_by: Option<Vec<ApiKeyOrder>>,
        limit: Option<i32>,
    ) -> AppResult<Vec<ApiKeyNode>> {
        let p = ctx.caller()?;
        let max = self::limit(limit)?;
        let mut rows = ctx.store.read(|c| {
            let rows = api_keys::candidates_for(c, p.account_id, p.tenant_id)?;
            let mut ents = caller_entities(c, p)?;
            let mut owners: Vec<AccountId> = rows.iter().map(|r| r.key.account_id).collect();
            owners.sort();
            owners.dedup();
            for owner in owners {
                if let Some(a) = accounts::get(c, owner)? {
                    add_account(c, &mut ents, &a)?;
                }
            }
            let rows = rows
                .into_iter()
                .map(|r| {
                    let uid = ents.api_key(&r)?;
                    Ok((r, uid))
                })
                .collect::<AppResult<Vec<_>>>()?;
            ctx.authz
                .session(p, &ents, ctx.now)?
                .filter(Action::ReadApiKey, rows)
        })?;
        sort(&mut rows, order_by);
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
            let rows: Vec<(Tenant, _)> = tenants::of_member(c, p.account_id)?
                .into_iter()
                .filter(|t| id_eq.is_none_or(|id| t.id == id))
                .filter(|t| slug_eq.as_ref().is_none_or(|s| &t.slug == s))
                .filter(|t| name_eq.as_ref().is_none_or(|n| &t.name == n))
                .map(|t| {
                    let uid = ents.add_tenant(t.id);
                    (t, uid)
                })
                .collect();
            ctx.authz
                .session(p, &ents, ctx.now)?
                .filter(Action::ReadTenant, rows)
        })?;
        sort(&mut rows, order_by);
        Ok(rows.iter().take(max).map(TenantNode::from).collect())
    }

    /// A tenant's members (default: the calling key's tenant).
    fn membership(
        ctx: &Context,
        #[graphql(name = "where")] scope: Option<TenantScope>,
        limit: Option<i32>,
    ) -> AppResult<Vec<MembershipNode>> {
        teams::memberships_of(ctx, scope, limit)
    }

    /// A tenant's invitations, newest first (admins).
    fn membership_invitation(
        ctx: &Context,
        #[graphql(name = "where")] scope: Option<TenantScope>,
        limit: Option<i32>,
    ) -> AppResult<Vec<InvitationNode>> {
        teams::invitations_of(ctx, scope, limit)
    }

    /// A tenant's service accounts, each with the keys the caller may see
    /// (admins: all of them).
    fn service_account(
        ctx: &Context,
        #[graphql(name = "where")] scope: Option<TenantScope>,
        limit: Option<i32>,
    ) -> AppResult<Vec<ServiceAccountNode>> {
        teams::service_accounts(ctx, scope, limit)
    }
}
