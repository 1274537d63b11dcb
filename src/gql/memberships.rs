//! Members and roles: `membership`, `set_membership_role`,
//! `delete_membership`, their inputs and node.
use juniper::{GraphQLInputObject, GraphQLObject};
use serde_json::{Value, json};

use super::audit::{self, Audited};
use super::context::Context;
use super::inputs::TenantScope;
use super::scalars::{GqlUuid, id};
use super::types::{GqlRole, Success, UserNode};
use crate::authz::Action;
use crate::domain::ids::MembershipId;
use crate::domain::model::{Member, Role};
use crate::error::AppResult;
use crate::ops;
use crate::ops::listing::{MAX_LIST, Window};

#[derive(GraphQLInputObject)]
#[graphql(name = "set_membership_role_input", rename_all = "none")]
pub struct SetMembershipRoleInput {
    pub membership_id: GqlUuid,
    pub role: GqlRole,
}

#[derive(GraphQLInputObject)]
#[graphql(name = "delete_membership_input", rename_all = "none")]
pub struct DeleteMembershipInput {
    pub membership_id: GqlUuid,
}

/// An account's role in a tenant.
#[derive(GraphQLObject)]
#[graphql(name = "membership", rename_all = "none")]
pub struct MembershipNode {
    pub id: GqlUuid,
    pub tenant_id: GqlUuid,
    pub role: GqlRole,
    /// The member: a person or a service account (see `account_type`).
    pub user: UserNode,
}

impl From<&Member> for MembershipNode {
    fn from(m: &Member) -> Self {
        Self {
            id: id(m.membership.id),
            tenant_id: id(m.membership.tenant_id),
            role: m.membership.role.into(),
            user: UserNode::from(&m.account),
        }
    }
}

/// A tenant's members the caller may see, people first.
pub fn list(
    ctx: &Context,
    scope: Option<TenantScope>,
    limit: Option<i32>,
    offset: Option<i32>,
) -> AppResult<Vec<MembershipNode>> {
    let window = Window::parse(limit, offset, MAX_LIST)?;
    let rows = ops::memberships::list(&ctx.env, &ctx.caller, TenantScope::tenant(&scope), window)?;
    Ok(rows.iter().map(MembershipNode::from).collect())
}

pub fn set_role(ctx: &Context, input: SetMembershipRoleInput) -> AppResult<MembershipNode> {
    let mid = MembershipId::from(input.membership_id.0);
    let member = ops::memberships::set_role(&ctx.env, &ctx.caller, mid, Role::from(input.role))?;
    Ok(MembershipNode::from(&member))
}

pub fn delete(ctx: &Context, input: DeleteMembershipInput) -> AppResult<Success> {
    let mid = MembershipId::from(input.membership_id.0);
    ops::memberships::delete(&ctx.env, &ctx.caller, mid)?;
    Ok(Success { success: true })
}

impl Audited for SetMembershipRoleInput {
    const ACTION: Action = Action::UpdateMembership;
    const RESOURCE: &'static str = "membership";
    fn resource_id(&self) -> Option<String> {
        Some(self.membership_id.0.to_string())
    }
    fn details(&self) -> Value {
        json!({ "role": audit::role(Some(self.role)) })
    }
}

impl Audited for DeleteMembershipInput {
    const ACTION: Action = Action::DeleteMembership;
    const RESOURCE: &'static str = "membership";
    fn resource_id(&self) -> Option<String> {
        Some(self.membership_id.0.to_string())
    }
}
