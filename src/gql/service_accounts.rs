//! Service accounts: `service_account`, `create_service_account`,
//! `update_service_account`, `delete_service_account`, their inputs and node.
use crate::store::Conn;
use juniper::{
    DefaultScalarValue, GraphQLInputObject, LookAheadSelection, LookAheadValue, ScalarValue,
    graphql_object,
};

use std::collections::HashMap;

use serde_json::json;

use super::api_keys::{self as keys, ApiKeyNode};
use super::audit::{self, Change};
use super::context::{Context, add_account, caller_entities};
use super::inputs::TenantScope;
use super::listing::{self, Window};
use super::scalars::{GqlUuid, Timestamp, id};
use super::types::{GqlRole, Success, UserNode};
use crate::authz::entities::account_uid;
use crate::authz::{Action, Allowed, RequestContext};
use crate::domain::ids::{AccountId, TenantId};
use crate::domain::model::{Account, AccountKind, Role};
use crate::domain::names::DisplayName;
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};
use crate::store::listing::Resource;
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

/// How many service accounts `service_account` returns by default: fewer
/// than other lists, as each carries its keys.
pub const SERVICE_ACCOUNTS: i32 = 100;

/// How many of a service account's keys `api_keys` returns by default,
/// and at most (the whole list: `auth_api_key(where: {user_id: ...})`).
pub const KEYS_PER_ACCOUNT: i32 = 10;
pub const MAX_KEYS_PER_ACCOUNT: i32 = 100;

/// A service account with the keys the caller may see.
pub struct ServiceAccountNode {
    account: Account,
    tenant: TenantId,
    role: Option<Role>,
    /// The first keys the caller may see, oldest first, as many as any
    /// `api_keys` selection asked for (read with the list, in one query).
    keys: Vec<ApiKeyNode>,
}

#[graphql_object(
    name = "service_account",
    description = "A service account with the keys the caller may see.",
    context = Context,
    rename_all = "none"
)]
impl ServiceAccountNode {
    fn id(&self) -> GqlUuid {
        id(self.account.id)
    }

    fn name(&self) -> &str {
        self.account.name.as_str()
    }

    fn tenant_id(&self) -> GqlUuid {
        id(self.tenant)
    }

    fn role(&self) -> Option<GqlRole> {
        self.role.map(Into::into)
    }

    fn created(&self) -> Timestamp {
        Timestamp(self.account.created_at)
    }

    /// The account's keys the caller may see, oldest first: the first
    /// `limit` (default 10, at most 100).
    fn api_keys(&self, limit: Option<i32>) -> AppResult<&[ApiKeyNode]> {
        let n = key_limit(limit)?;
        Ok(&self.keys[..n.min(self.keys.len())])
    }
}

/// An `api_keys` limit, checked.
fn key_limit(raw: Option<i32>) -> AppResult<usize> {
    match raw.unwrap_or(KEYS_PER_ACCOUNT) {
        n @ 0..=MAX_KEYS_PER_ACCOUNT => Ok(n as usize),
        n => Err(AppError::Invalid(format!(
            "api_keys limit must be between 0 and {MAX_KEYS_PER_ACCOUNT}, not {n}"
        ))),
    }
}

/// The most keys any `api_keys` selection under `selection` asks for;
/// `None` when none does.
pub fn keys_wanted(
    selection: &LookAheadSelection<'_, DefaultScalarValue>,
) -> AppResult<Option<usize>> {
    let mut most = None;
    for child in selection.children().iter() {
        if child.field_original_name() != "api_keys" {
            continue;
        }
        let raw = match child.argument("limit").map(|a| a.value()) {
            Some(LookAheadValue::Scalar(s)) => s.try_to_int(),
            _ => None,
        };
        let n = key_limit(raw)?;
        most = Some(most.map_or(n, |m: usize| m.max(n)));
    }
    Ok(most)
}

/// Loads the service account `id`, checks that the caller may see it, and
/// returns it with the proof that the caller may `action` it.
fn service_account_for(
    ctx: &Context,
    tx: &Conn,
    p: &Principal,
    id: AccountId,
    action: Action,
) -> AppResult<(Account, Allowed)> {
    let account = accounts::get(tx, id)?
        .filter(|a| a.kind == AccountKind::Service)
        .ok_or(AppError::NotFound("service account"))?;
    let mut ents = caller_entities(p)?;
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

/// A tenant's service accounts the caller may see, oldest first, each with
/// the first `keys_each` of the keys the caller may see (none: not asked
/// for).
pub fn list(
    ctx: &Context,
    scope: Option<TenantScope>,
    limit: Option<i32>,
    offset: Option<i32>,
    keys_each: Option<usize>,
) -> AppResult<Vec<ServiceAccountNode>> {
    let p = ctx.caller()?;
    let window = Window::parse(limit, offset, SERVICE_ACCOUNTS)?;
    let tenant = TenantScope::tenant(&scope).unwrap_or(p.tenant_id);
    ctx.store.read(|c| {
        let accounts = listing::page(
            ctx,
            c,
            Action::ReadAccount,
            Resource::Account,
            window,
            |conds, l, o| accounts::service_accounts_page(c, p, tenant, conds, l, o),
            |c, rows| {
                let mut ents = caller_entities(p)?;
                let rows = rows
                    .into_iter()
                    .map(|(a, role): (Account, Option<Role>)| {
                        add_account(c, &mut ents, &a)?;
                        let uid = account_uid(a.id);
                        Ok(((a, role), uid))
                    })
                    .collect::<AppResult<Vec<_>>>()?;
                ctx.session(&ents)?.filter(Action::ReadAccount, rows)
            },
        )?;
        let ids: Vec<AccountId> = accounts.iter().map(|(a, _)| a.id).collect();
        let mut keys: HashMap<AccountId, Vec<ApiKeyNode>> = HashMap::new();
        if let Some(n) = keys_each {
            for k in keys::first_of(ctx, c, &ids, n)? {
                keys.entry(k.0.key.account_id)
                    .or_default()
                    .push(ApiKeyNode::from(&k));
            }
        }
        Ok(accounts
            .into_iter()
            .map(|(account, role)| ServiceAccountNode {
                keys: keys.remove(&account.id).unwrap_or_default(),
                account,
                role,
                tenant,
            })
            .collect())
    })
}

/// What the audit log says of a change to the service account `a`.
fn account_change(a: &Account, details: serde_json::Value) -> Change {
    Change {
        resource_type: "service_account",
        resource_id: a.id.to_string(),
        tenant: a.tenant_id,
        details,
    }
}

pub fn create(ctx: &Context, input: CreateServiceAccountInput) -> AppResult<UserNode> {
    let p = ctx.caller()?;
    let new = NewServiceAccount::try_from(input)?;
    let tenant = new.tenant.unwrap_or(p.tenant_id);
    let account = ctx.store.write(|w| {
        tenants::get(w, tenant)?.ok_or(AppError::NotFound("tenant"))?;
        let mut ents = caller_entities(p)?;
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
        let details = json!({ "name": account.name.as_str(), "role": new.role.as_str() });
        audit::allowed(w, ctx, &proof, account_change(&account, details))?;
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
        let details = json!({ "from": account.name.as_str(), "name": name.as_str() });
        audit::allowed(w, ctx, &proof, account_change(&account, details))?;
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
        let details = json!({ "name": account.name.as_str(), "keys_revoked": revoked });
        audit::allowed(w, ctx, &proof, account_change(&account, details))?;
        Ok(revoked)
    })?;
    tracing::info!(account = %account_id, keys_revoked = revoked, by = %p.account_id, "service account deleted");
    Ok(Success { success: true })
}
