//! Service accounts: `service_account`, `create_service_account`,
//! `update_service_account`, `delete_service_account`, their inputs and node.
use juniper::{GraphQLInputObject, GraphQLObject};
use rusqlite::Connection;

use super::api_keys::ApiKeyNode;
use super::context::{Context, add_account, caller_entities, limit};
use super::inputs::TenantScope;
use super::scalars::{GqlUuid, Timestamp, id};
use super::types::{GqlRole, Success, UserNode};
use crate::authz::entities::account_uid;
use crate::authz::{Action, Allowed, RequestContext};
use crate::domain::ids::{AccountId, TenantId};
use crate::domain::model::{Account, AccountKind, Role};
use crate::domain::names::DisplayName;
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};
use crate::store::{accounts, api_keys, memberships, tenants};

#[derive(GraphQLInputObject)]
#[graphql(name = "create_service_account_input", rename_all = "none")]
pub struct CreateServiceAccountInput {
    pub name: String,
    /// Default: the calling key's tenant (the only one it may name).
    pub tenant_id: Option<GqlUuid>,
    /// Default: TENANT_ADMIN, as in Prefect Cloud.
    pub role: Option<GqlRole>,
}

/// `create_service_account`'s input, parsed; the tenant defaults to the
/// caller's.
struct NewServiceAccount {
    name: DisplayName,
    tenant: Option<TenantId>,
    role: Role,
}

impl TryFrom<CreateServiceAccountInput> for NewServiceAccount {
    type Error = AppError;
    fn try_from(input: CreateServiceAccountInput) -> AppResult<Self> {
        Ok(Self {
            name: DisplayName::parse("name", &input.name)?,
            tenant: input.tenant_id.map(|t| TenantId::from(t.0)),
            role: input.role.map_or(Role::TenantAdmin, Role::from),
        })
    }
}

#[derive(GraphQLInputObject)]
#[graphql(name = "delete_service_account_input", rename_all = "none")]
pub struct DeleteServiceAccountInput {
    /// The service account's id (Prefect Cloud's name for it).
    pub user_id: GqlUuid,
}

#[derive(GraphQLInputObject)]
#[graphql(name = "update_service_account_input", rename_all = "none")]
pub struct UpdateServiceAccountInput {
    pub user_id: GqlUuid,
    pub name: String,
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

/// Loads the service account `id`, checks that the caller may see it, and
/// returns it with the proof that the caller may `action` it.
fn service_account_for(
    ctx: &Context,
    tx: &Connection,
    p: &Principal,
    id: AccountId,
    action: Action,
) -> AppResult<(Account, Allowed)> {
    let account = accounts::get(tx, id)?
        .filter(|a| a.kind == AccountKind::Service)
        .ok_or(AppError::NotFound("service account"))?;
    let mut ents = caller_entities(tx, p)?;
    add_account(tx, &mut ents, &account)?;
    let proof = ctx.session(&ents)?.check_named(
        Action::ReadAccount,
        "service account",
        action,
        &account_uid(account.id),
        RequestContext::Empty,
    )?;
    Ok((account, proof))
}

/// A tenant's service accounts the caller may see, each with the keys the
/// caller may see (admins: all of them).
pub fn list(
    ctx: &Context,
    scope: Option<TenantScope>,
    max: Option<i32>,
) -> AppResult<Vec<ServiceAccountNode>> {
    let p = ctx.caller()?;
    let max = limit(max)?;
    let tenant = TenantScope::tenant(&scope).unwrap_or(p.tenant_id);
    ctx.store.read(|c| {
        let mut ents = caller_entities(c, p)?;
        let sas = accounts::service_accounts_of(c, tenant)?;
        let mut keys = Vec::new();
        for sa in &sas {
            add_account(c, &mut ents, sa)?;
            for k in api_keys::of_account(c, sa.id)? {
                let uid = ents.api_key(&k)?;
                keys.push((k, uid));
            }
        }
        let session = ctx.session(&ents)?;
        let keys = session.filter(Action::ReadApiKey, keys)?;
        let rows = sas
            .into_iter()
            .map(|a| (a.clone(), account_uid(a.id)))
            .collect();
        let mut out = Vec::new();
        for sa in session
            .filter(Action::ReadAccount, rows)?
            .into_iter()
            .take(max)
        {
            out.push(ServiceAccountNode {
                id: id(sa.id),
                name: sa.name.to_string(),
                tenant_id: id(tenant),
                role: memberships::role_of(c, sa.id, tenant)?.map(Into::into),
                created: Timestamp(sa.created_at),
                api_keys: keys
                    .iter()
                    .filter(|k| k.key.account_id == sa.id)
                    .map(ApiKeyNode::from)
                    .collect(),
            });
        }
        Ok(out)
    })
}

pub fn create(ctx: &Context, input: CreateServiceAccountInput) -> AppResult<UserNode> {
    let p = ctx.caller()?;
    let new = NewServiceAccount::try_from(input)?;
    let tenant = new.tenant.unwrap_or(p.tenant_id);
    let account = ctx.store.write(|w| {
        tenants::get(w, tenant)?.ok_or(AppError::NotFound("tenant"))?;
        let mut ents = caller_entities(w, p)?;
        let uid = ents.add_tenant(tenant);
        let proof = ctx.session(&ents)?.check_named(
            Action::ReadTenant,
            "tenant",
            Action::CreateServiceAccount,
            &uid,
            RequestContext::CreateServiceAccount { role: new.role },
        )?;
        let account = accounts::insert_service_account(w, &proof, tenant, &new.name, ctx.now)?;
        memberships::insert(w, &proof, tenant, account.id, new.role, ctx.now)?;
        Ok(account)
    })?;
    tracing::info!(account = %account.id, tenant = %tenant, by = %p.account_id, "service account created");
    Ok(UserNode::from(&account))
}

/// `update_service_account`'s input, parsed.
struct Rename {
    account: AccountId,
    name: DisplayName,
}

impl TryFrom<UpdateServiceAccountInput> for Rename {
    type Error = AppError;
    fn try_from(input: UpdateServiceAccountInput) -> AppResult<Self> {
        Ok(Self {
            account: AccountId::from(input.user_id.0),
            name: DisplayName::parse("name", &input.name)?,
        })
    }
}

pub fn update(ctx: &Context, input: UpdateServiceAccountInput) -> AppResult<UserNode> {
    let p = ctx.caller()?;
    let Rename {
        account: account_id,
        name,
    } = input.try_into()?;
    ctx.store.write(|w| {
        let (mut account, proof) =
            service_account_for(ctx, w, p, account_id, Action::UpdateServiceAccount)?;
        accounts::rename(w, &proof, account.id, &name)?;
        account.name = name;
        Ok(UserNode::from(&account))
    })
}

pub fn delete(ctx: &Context, input: DeleteServiceAccountInput) -> AppResult<Success> {
    let p = ctx.caller()?;
    let account_id = AccountId::from(input.user_id.0);
    let revoked = ctx.store.write(|w| {
        let (account, proof) =
            service_account_for(ctx, w, p, account_id, Action::DeleteServiceAccount)?;
        let revoked = api_keys::revoke_all_of(w, &proof, account.id, ctx.now)?;
        accounts::delete(w, &proof, account.id)?;
        Ok(revoked)
    })?;
    tracing::info!(account = %account_id, keys_revoked = revoked, by = %p.account_id, "service account deleted");
    Ok(Success { success: true })
}
