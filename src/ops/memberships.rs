//! Members and roles: a tenant's members, changing a role, removing a
//! member; and the last-admin rule, the one rule that is not a policy (a
//! policy decides about one membership and cannot count a tenant's admins).
use serde_json::json;

use super::changes::{self, Change};
use super::listing::{self, Window};
use super::{Caller, Env, add_account, caller_entities};
use crate::authz::entities::membership_uid;
use crate::authz::{Action, Allowed, EntitySet, RequestContext};
use crate::domain::ids::{MembershipId, TenantId};
use crate::domain::model::{AccountKind, Member, Role};
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};
use crate::store::paging::Resource;
use crate::store::{Conn, api_keys, memberships};

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
    env: &Env,
    tx: &Conn,
    p: &Principal,
    id: MembershipId,
    action: Action,
    context: RequestContext,
) -> AppResult<(Member, Allowed)> {
    let (member, ents) = load_member(tx, p, id)?;
    let proof = env.session(p, &ents)?.check_named(
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
    env: &Env,
    caller: &Caller,
    tenant: Option<TenantId>,
    window: Window,
) -> AppResult<Vec<Member>> {
    let p = caller.key()?;
    let tenant = tenant.unwrap_or(p.tenant_id);
    env.store.read(|c| {
        listing::page(
            env,
            p,
            c,
            (Action::ReadMembership, Resource::Membership),
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
                env.session(p, &ents)?.filter(Action::ReadMembership, rows)
            },
        )
    })
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

pub fn set_role(env: &Env, caller: &Caller, mid: MembershipId, role: Role) -> AppResult<Member> {
    let p = caller.key()?;
    let member = env.store.write(|w| {
        let (mut member, proof) = member_for(
            env,
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
        changes::allowed(w, env.now, &proof, member_change(&member, details))?;
        member.membership.role = role;
        Ok(member)
    })?;
    tracing::info!(membership = %mid, %role, by = %p.account_id, "membership role changed");
    Ok(member)
}

pub fn delete(env: &Env, caller: &Caller, mid: MembershipId) -> AppResult<()> {
    let p = caller.key()?;
    let revoked = env.store.write(|w| {
        let (member, proof) = member_for(
            env,
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
            env.now,
        )?;
        let details = json!({ "role": member.membership.role.as_str(), "keys_revoked": revoked });
        changes::allowed(w, env.now, &proof, member_change(&member, details))?;
        Ok(revoked)
    })?;
    tracing::info!(membership = %mid, keys_revoked = revoked, by = %p.account_id, "member removed");
    Ok(())
}
