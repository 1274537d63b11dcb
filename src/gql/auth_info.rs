//! `auth_info`: who the calling key stands for, and where.
use juniper::GraphQLObject;

use super::context::{Context, caller_entities};
use super::scalars::{GqlUuid, Timestamp, id};
use super::types::{AccountType, GqlRole};
use crate::authz::Action;
use crate::authz::entities::account_uid;
use crate::domain::principal::Principal;
use crate::error::AppResult;

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

/// Needs no database: the verified key carries what Cedar is asked about.
pub fn get(ctx: &Context) -> AppResult<AuthInfo> {
    let p = ctx.caller()?;
    let ents = caller_entities(p)?;
    ctx.session(&ents)?.check_visible(
        Action::ReadAccount,
        &account_uid(p.account_id),
        "account",
    )?;
    Ok(AuthInfo::from(p))
}
