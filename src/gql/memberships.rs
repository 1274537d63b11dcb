//! Members and roles: `membership`, `set_membership_role`,
//! `delete_membership`, their inputs and node, and the last-admin rule.
use crate::store::Conn;
use juniper::{GraphQLInputObject, GraphQLObject};

use serde_json::json;

use super::audit::{self, Change};
use super::context::{Context, add_account, caller_entities};
use super::inputs::TenantScope;
use super::listing::{self, MAX_LIST, Window};
use super::scalars::{GqlUuid, id};
use super::types::{GqlRole, Success, UserNode};
use crate::authz::entities::membership_uid;
use crate::authz::{Action, Allowed, EntitySet, RequestContext};
use crate::domain::ids::MembershipId;
use crate::domain::model::{AccountKind, Member, Role};
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};
use crate::store::listing::Resource;
use crate::store::{api_keys, memberships};

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

/// A membership and its account, as entities, after checking the caller may
/// see it.
fn load_member(tx: &Conn, p: &Principal, id: MembershipId) -> AppResult<(Member, EntitySet)> {
    let member = memberships::get(tx, id)?.ok_or(AppError::NotFound("membership"))?;
    let mut ents = caller_entities(p)?;
    add_account(tx, &mut ents, &member.account)?;
    ents.membership(&member)?;
    Ok((member, ents))
}

/// Loads the membership `id`, checks that the caller may see it, and
/// returns it with the proof that the caller may `action` it.
fn member_for(
    ctx: &Context,
    tx: &Conn,
    p: &Principal,
    id: MembershipId,
    action: Action,
    context: RequestContext,
) -> AppResult<(Member, Allowed)> {
    let (member, ents) = load_member(tx, p, id)?;
    let proof = ctx.session(&ents)?.check_named(
        Action::ReadMembership,
        "membership",
        action,
        &membership_uid(id),
        context,
    )?;
    Ok((member, proof))
}

/// Keyward refuses to leave a tenant without a person who administers it,
/// whatever the policies say: an operator's edit must not orphan a tenant.
fn keep_an_admin(tx: &Conn, member: &Member) -> AppResult<()> {
    let was_human_admin =
        member.membership.role == Role::TenantAdmin && member.account.kind == AccountKind::User;
    if was_human_admin && memberships::count_human_admins(tx, member.membership.tenant_id)? == 0 {
        return Err(AppError::Conflict(
            "the last TENANT_ADMIN of a tenant cannot be demoted or removed; make another member an admin first".into(),
        ));
    }
    Ok(())
}

/// A tenant's members the caller may see, people first.
pub fn list(
    ctx: &Context,
    scope: Option<TenantScope>,
    limit: Option<i32>,
    offset: Option<i32>,
) -> AppResult<Vec<MembershipNode>> {
    let p = ctx.caller()?;
    let window = Window::parse(limit, offset, MAX_LIST)?;
    let tenant = TenantScope::tenant(&scope).unwrap_or(p.tenant_id);
    let rows = ctx.store.read(|c| {
        listing::page(
            ctx,
            c,
            Action::ReadMembership,
            Resource::Membership,
            window,
            |conds, l, o| memberships::page_of(c, p, tenant, conds, l, o),
            |c, rows| {
                let mut ents = caller_entities(p)?;
                let rows = rows
                    .into_iter()
                    .map(|m| {
                        add_account(c, &mut ents, &m.account)?;
                        let uid = ents.membership(&m)?;
                        Ok((m, uid))
                    })
                    .collect::<AppResult<Vec<_>>>()?;
                ctx.session(&ents)?.filter(Action::ReadMembership, rows)
            },
        )
    })?;
    Ok(rows.iter().map(MembershipNode::from).collect())
}

/// What the audit log says of a change to the membership `m`.
fn member_change(m: &Member, mut details: serde_json::Value) -> Change {
    details["account"] = json!(m.account.id.to_string());
    Change {
        resource_type: "membership",
        resource_id: m.membership.id.to_string(),
        tenant: Some(m.membership.tenant_id),
        details,
    }
}

pub fn set_role(ctx: &Context, input: SetMembershipRoleInput) -> AppResult<MembershipNode> {
    let p = ctx.caller()?;
    let role = Role::from(input.role);
    let mid = MembershipId::from(input.membership_id.0);
    let member = ctx.store.write(|w| {
        let (mut member, proof) = member_for(
            ctx,
            w,
            p,
            mid,
            Action::UpdateMembership,
            RequestContext::UpdateMembership { role },
        )?;
        memberships::set_role(w, &proof, mid, role)?;
        if role != Role::TenantAdmin {
            keep_an_admin(w, &member)?;
        }
        let details = json!({ "from": member.membership.role.as_str(), "role": role.as_str() });
        audit::allowed(w, ctx, &proof, member_change(&member, details))?;
        member.membership.role = role;
        Ok(member)
    })?;
    tracing::info!(membership = %mid, %role, by = %p.account_id, "membership role changed");
    Ok(MembershipNode::from(&member))
}

pub fn delete(ctx: &Context, input: DeleteMembershipInput) -> AppResult<Success> {
    let p = ctx.caller()?;
    let mid = MembershipId::from(input.membership_id.0);
    let revoked = ctx.store.write(|w| {
        let (member, proof) = member_for(
            ctx,
            w,
            p,
            mid,
            Action::DeleteMembership,
            RequestContext::Empty,
        )?;
        if member.account.kind == AccountKind::Service {
            return Err(AppError::Invalid(
                "a service account belongs to its tenant: delete the service account instead"
                    .into(),
            ));
        }
        memberships::delete(w, &proof, mid)?;
        keep_an_admin(w, &member)?;
        let revoked = api_keys::revoke_all_of_in(
            w,
            &proof,
            member.account.id,
            member.membership.tenant_id,
            ctx.now,
        )?;
        let details = json!({ "role": member.membership.role.as_str(), "keys_revoked": revoked });
        audit::allowed(w, ctx, &proof, member_change(&member, details))?;
        Ok(revoked)
    })?;
    tracing::info!(membership = %mid, keys_revoked = revoked, by = %p.account_id, "member removed");
    Ok(Success { success: true })
}
