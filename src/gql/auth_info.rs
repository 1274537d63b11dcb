//! `auth_info`: who the calling key stands for, and where.
use juniper::GraphQLObject;

use super::context::Context;
use super::scalars::{GqlUuid, Timestamp, id};
use super::types::{AccountType, GqlRole};
use crate::domain::principal::Principal;
use crate::error::AppResult;
use crate::ops;

/// Who is calling, and where.
#[derive(GraphQLObject)]
#[graphql(name = "auth_info", rename_all = "none")]
pub struct AuthInfo {
    /// The account the key stands for (a user or a service account).
    pub user_id: GqlUuid,
    /// The one tenant the key works in.
    pub tenant_id: GqlUuid,
    pub api_key_id: GqlUuid,
    /// The account's role in that tenant.
    pub role: GqlRole,
    pub account_type: AccountType,
    /// When the calling key stops working; null: never.
    pub expires_at: Option<Timestamp>,
}

impl From<&Principal> for AuthInfo {
    fn from(p: &Principal) -> Self {
        Self {
            user_id: id(p.account_id),
            tenant_id: id(p.tenant_id),
            api_key_id: id(p.key_id),
            role: p.role.into(),
            account_type: p.account_kind.into(),
            expires_at: p.key_expires_at.map(Timestamp),
        }
    }
}

pub fn get(ctx: &Context) -> AppResult<AuthInfo> {
    Ok(AuthInfo::from(ops::auth_info::get(&ctx.env, &ctx.caller)?))
}
