//! Service accounts: `service_account`, `create_service_account`,
//! `update_service_account`, `delete_service_account`, their inputs and node.
use juniper::{
    DefaultScalarValue, GraphQLInputObject, LookAheadSelection, LookAheadValue, ScalarValue,
    graphql_object,
};
use serde_json::{Value, json};

use super::api_keys::ApiKeyNode;
use super::audit::{self, Audited};
use super::context::Context;
use super::inputs::TenantScope;
use super::scalars::{GqlUuid, Timestamp, id};
use super::types::{GqlRole, Success, UserNode};
use crate::authz::Action;
use crate::domain::ids::{AccountId, TenantId};
use crate::domain::model::{Account, Role};
use crate::domain::names::DisplayName;
use crate::error::{AppError, AppResult};
use crate::ops;
use crate::ops::listing::Window;
use crate::ops::service_accounts::{NewServiceAccount, Rename};

#[derive(GraphQLInputObject)]
#[graphql(name = "create_service_account_input", rename_all = "none")]
pub struct CreateServiceAccountInput {
    pub name: String,
    /// Default: the calling key's tenant (the only one it may name).
    pub tenant_id: Option<GqlUuid>,
    /// Default: TENANT_ADMIN, as in Prefect Cloud.
    pub role: Option<GqlRole>,
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
    let window = Window::parse(limit, offset, SERVICE_ACCOUNTS)?;
    let tenant = TenantScope::tenant(&scope);
    let (tenant, rows) =
        ops::service_accounts::list(&ctx.env, &ctx.caller, tenant, window, keys_each)?;
    Ok(rows
        .into_iter()
        .map(|sa| ServiceAccountNode {
            keys: sa.keys.iter().map(ApiKeyNode::from).collect(),
            account: sa.account,
            role: sa.role,
            tenant,
        })
        .collect())
}

pub fn create(ctx: &Context, input: CreateServiceAccountInput) -> AppResult<UserNode> {
    let account = ops::service_accounts::create(&ctx.env, &ctx.caller, input.try_into()?)?;
    Ok(UserNode::from(&account))
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
    let account = ops::service_accounts::update(&ctx.env, &ctx.caller, input.try_into()?)?;
    Ok(UserNode::from(&account))
}

pub fn delete(ctx: &Context, input: DeleteServiceAccountInput) -> AppResult<Success> {
    let account = AccountId::from(input.user_id.0);
    ops::service_accounts::delete(&ctx.env, &ctx.caller, account)?;
    Ok(Success { success: true })
}

impl Audited for CreateServiceAccountInput {
    const ACTION: Action = Action::CreateServiceAccount;
    const RESOURCE: &'static str = "service_account";
    fn details(&self) -> Value {
        json!({ "name": self.name, "role": audit::role(self.role) })
    }
}

impl Audited for DeleteServiceAccountInput {
    const ACTION: Action = Action::DeleteServiceAccount;
    const RESOURCE: &'static str = "service_account";
    fn resource_id(&self) -> Option<String> {
        Some(self.user_id.0.to_string())
    }
}

impl Audited for UpdateServiceAccountInput {
    const ACTION: Action = Action::UpdateServiceAccount;
    const RESOURCE: &'static str = "service_account";
    fn resource_id(&self) -> Option<String> {
        Some(self.user_id.0.to_string())
    }
    fn details(&self) -> Value {
        json!({ "name": self.name })
    }
}
