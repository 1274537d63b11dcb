//! API keys: `auth_api_key`, `create_api_key`, `delete_api_key`, their
//! inputs and nodes.
use juniper::{GraphQLInputObject, GraphQLObject};
use serde_json::{Value, json};

use super::audit::{self, Audited};
use super::context::Context;
use super::inputs::{OrderBy, UuidComparison};
use super::scalars::{GqlUuid, Timestamp, id};
use super::types::{GqlRole, Success, UserRef};
use crate::authz::Action;
use crate::domain::ids::{AccountId, KeyId, TenantId};
use crate::domain::model::Role;
use crate::domain::names::DisplayName;
use crate::error::{AppError, AppResult};
use crate::ops;
use crate::ops::api_keys::{Cursor, KeyOrder, KeyQuery, Listed, NewKeyRequest};
use crate::ops::listing::{MAX_LIST, Window};

#[derive(GraphQLInputObject)]
#[graphql(name = "create_api_key_input", rename_all = "none")]
pub struct CreateApiKeyInput {
    /// A user or a service account.
    pub user_id: GqlUuid,
    pub name: String,
    /// Null or absent: the key never expires.
    pub expires_at: Option<Timestamp>,
    /// Accepted for Prefect compatibility; it must name the calling key's
    /// tenant, where every new key is bound.
    pub default_tenant_id: Option<GqlUuid>,
    /// A restricted key: this role, no higher than the owner's in the key's
    /// tenant (which caps it at every request). Default: the owner's role.
    pub role: Option<GqlRole>,
}

impl TryFrom<CreateApiKeyInput> for NewKeyRequest {
    type Error = AppError;
    fn try_from(input: CreateApiKeyInput) -> AppResult<Self> {
        Ok(Self {
            owner: AccountId::from(input.user_id.0),
            name: DisplayName::parse("name", &input.name)?,
            expires_at: input.expires_at.map(|t| t.0),
            tenant: input.default_tenant_id.map(|t| TenantId::from(t.0)),
            role: input.role.map(Role::from),
        })
    }
}

#[derive(GraphQLInputObject)]
#[graphql(name = "delete_api_key_input", rename_all = "none")]
pub struct DeleteApiKeyInput {
    pub key_id: GqlUuid,
}

#[derive(GraphQLInputObject)]
#[graphql(name = "api_key_order_by", rename_all = "none")]
pub struct ApiKeyOrder {
    pub created: Option<OrderBy>,
    pub name: Option<OrderBy>,
    pub expires_at: Option<OrderBy>,
}

impl ApiKeyOrder {
    /// Its sort keys, in the order they apply.
    fn keys(&self) -> Vec<KeyOrder> {
        let desc = |d: OrderBy| d == OrderBy::Desc;
        let mut k = Vec::new();
        if let Some(d) = self.created {
            k.push(KeyOrder::Created { desc: desc(d) });
        }
        if let Some(d) = self.name {
            k.push(KeyOrder::Name { desc: desc(d) });
        }
        if let Some(d) = self.expires_at {
            k.push(KeyOrder::ExpiresAt { desc: desc(d) });
        }
        k
    }
}

/// Filters `auth_api_key` takes.
#[derive(GraphQLInputObject)]
#[graphql(name = "api_key_bool_exp", rename_all = "none")]
pub struct ApiKeyFilter {
    /// Only this account's keys.
    pub user_id: Option<UuidComparison>,
}

/// An API key's metadata. Its secret is never returned after creation.
#[derive(GraphQLObject)]
#[graphql(name = "api_key", rename_all = "none")]
pub struct ApiKeyNode {
    pub id: GqlUuid,
    pub name: String,
    /// The owning account (a user or a service account).
    pub user_id: GqlUuid,
    /// The one tenant the key works in (Prefect Cloud's name for it).
    pub default_tenant_id: GqlUuid,
    pub created: Timestamp,
    pub created_by: Option<UserRef>,
    /// Null: never expires.
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    /// A restricted key's own role; null: its owner's role.
    pub role: Option<GqlRole>,
    /// Null: enabled.
    pub disabled_at: Option<Timestamp>,
    /// The key this one replaced (by `rotate_api_key`).
    pub rotated_from: Option<GqlUuid>,
    /// Set once this key was rotated: when, by which key, and until when it
    /// still works.
    pub rotated_at: Option<Timestamp>,
    pub replaced_by: Option<GqlUuid>,
    pub grace_until: Option<Timestamp>,
    /// Where this key stands in its list: pass it as `after` to continue.
    pub cursor: String,
}

impl From<&Listed> for ApiKeyNode {
    fn from((k, cursor): &Listed) -> Self {
        let k = &k.key;
        Self {
            cursor: cursor.encode(),
            id: id(k.id),
            name: k.name.to_string(),
            user_id: id(k.account_id),
            default_tenant_id: id(k.tenant_id),
            created: Timestamp(k.created_at),
            created_by: k.created_by.map(|c| UserRef { id: id(c) }),
            expires_at: k.expires_at.map(Timestamp),
            last_used_at: k.last_used_at.map(Timestamp),
            role: k.role.map(Into::into),
            disabled_at: k.disabled_at.map(Timestamp),
            rotated_from: k.rotated_from.map(id),
            rotated_at: k.rotation.map(|r| Timestamp(r.at)),
            replaced_by: k.rotation.map(|r| id(r.replaced_by)),
            grace_until: k.rotation.map(|r| Timestamp(r.grace_until)),
        }
    }
}

#[derive(GraphQLObject)]
#[graphql(name = "create_api_key_payload", rename_all = "none")]
pub struct CreatedApiKey {
    pub id: GqlUuid,
    /// The secret, shown this once (the seed's name for it).
    pub token: String,
    /// The same secret (the name the Prefect 1.x CLI reads).
    pub key: String,
}

pub fn list(
    ctx: &Context,
    filter: Option<ApiKeyFilter>,
    order_by: Option<Vec<ApiKeyOrder>>,
    limit: Option<i32>,
    offset: Option<i32>,
    after: Option<String>,
) -> AppResult<Vec<ApiKeyNode>> {
    let q = KeyQuery {
        owner: filter
            .and_then(|f| f.user_id?.eq)
            .map(|u| AccountId::from(u.0)),
        order: order_by
            .unwrap_or_default()
            .iter()
            .flat_map(ApiKeyOrder::keys)
            .collect(),
        after: after.as_deref().map(Cursor::decode).transpose()?,
        window: Window::parse(limit, offset, MAX_LIST)?,
    };
    let rows = ops::api_keys::list(&ctx.env, &ctx.caller, q)?;
    Ok(rows.iter().map(ApiKeyNode::from).collect())
}

pub fn create(ctx: &Context, input: CreateApiKeyInput) -> AppResult<CreatedApiKey> {
    let req = NewKeyRequest::try_from(input)?;
    let (key, token) = ops::api_keys::create(&ctx.env, &ctx.caller, req)?;
    let secret = token.expose().to_owned();
    Ok(CreatedApiKey {
        id: id(key.id),
        token: secret.clone(),
        key: secret,
    })
}

pub fn delete(ctx: &Context, input: DeleteApiKeyInput) -> AppResult<Success> {
    ops::api_keys::delete(&ctx.env, &ctx.caller, KeyId::from(input.key_id.0))?;
    Ok(Success { success: true })
}

impl Audited for CreateApiKeyInput {
    const ACTION: Action = Action::CreateApiKey;
    const RESOURCE: &'static str = "api_key";
    fn details(&self) -> Value {
        json!({ "name": self.name, "owner": self.user_id.0.to_string(),
                "role": audit::role(self.role), "expires_at": audit::time(&self.expires_at) })
    }
}

impl Audited for DeleteApiKeyInput {
    const ACTION: Action = Action::DeleteApiKey;
    const RESOURCE: &'static str = "api_key";
    fn resource_id(&self) -> Option<String> {
        Some(self.key_id.0.to_string())
    }
}
