//! Invitations: a tenant's list, creating and revoking them, and accepting
//! one (its holder joins the tenant and gets a first key, decided as every
//! key is).
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::api_keys::{MintRequest, not_in_the_past};
use super::changes::{self, Attempt, Change};
use super::listing::{self, Window};
use super::{Caller, Env, caller_entities};
use crate::authz::{Action, EntitySet, RequestContext};
use crate::domain::api_key::Token;
use crate::domain::ids::{AccountId, InvitationId, TenantId};
use crate::domain::model::{AccountKind, Invitation, Role, Via};
use crate::domain::names::{DisplayName, Email};
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};
use crate::store::api_keys::NewKey;
use crate::store::paging::Resource;
use crate::store::{Conn, accounts, api_keys, invitations, memberships, tenants};

/// How long an invitation can be accepted.
pub const INVITATION_LIFETIME: Duration = Duration::days(7);

/// `create_membership_invitation`'s command; the tenant defaults to the
/// caller's.
pub struct NewInvitation {
    pub email: Email,
    pub role: Role,
    pub tenant: Option<TenantId>,
}

/// `accept_membership_invitation`'s command: an invitation token and the
/// first key's name and expiry.
pub struct Acceptance {
    pub token: Token,
    pub key_name: DisplayName,
    pub key_expires_at: Option<DateTime<Utc>>,
}

/// Who joined where, and the first key's secret (shown this once).
pub struct Accepted {
    pub user_id: AccountId,
    pub tenant_id: TenantId,
    pub key: Token,
}

/// A tenant's invitations the caller may see, newest first.
pub fn list(
    env: &Env,
    caller: &Caller,
    tenant: Option<TenantId>,
    window: Window,
) -> AppResult<Vec<Invitation>> {
    let p = caller.key()?;
    let tenant = tenant.unwrap_or(p.tenant_id);
    env.store.read(|c| {
        listing::page(
            env,
            p,
            c,
            (Action::ReadInvitation, Resource::Invitation),
            window,
            |conds, l, o| invitations::page_of(c, p, tenant, conds, l, o),
            |_, rows| {
                let mut ents = caller_entities(p)?;
                let rows = rows
                    .into_iter()
                    .map(|i| {
                        let uid = ents.invitation(&i)?;
                        Ok((i, uid))
                    })
                    .collect::<AppResult<Vec<_>>>()?;
                env.session(p, &ents)?.filter(Action::ReadInvitation, rows)
            },
        )
    })
}

/// Invites `email` into a tenant; returns the invitation and its token,
/// this once.
pub fn create(env: &Env, caller: &Caller, new: NewInvitation) -> AppResult<(Invitation, Token)> {
    let p = caller.key()?;
    let NewInvitation {
        email,
        role,
        tenant,
    } = new;
    let tenant = tenant.unwrap_or(p.tenant_id);
    let token = Token::invitation();
    let inv = env.store.write(|w| {
        tenants::get(w, tenant)?.ok_or(AppError::NotFound("tenant"))?;
        let mut ents = caller_entities(p)?;
        let uid = ents.add_tenant(tenant);
        let context = RequestContext::CreateInvitation {
            email: email.to_string(),
            role,
        };
        let proof = env.session(p, &ents)?.check_named(
            Action::ReadTenant,
            "tenant",
            Action::CreateInvitation,
            &uid,
            context,
        )?;
        if let Some(user) = accounts::find_user_by_email(w, &email)?
            && memberships::role_of(w, user.id, tenant)?.is_some()
        {
            return Err(AppError::Conflict(format!(
                "{email} is already a member of this tenant"
            )));
        }
        let inv = Invitation {
            id: InvitationId::random(),
            tenant_id: tenant,
            email: email.clone(),
            role,
            created_by: Some(p.account_id),
            created_at: env.now,
            expires_at: env.now + INVITATION_LIFETIME,
            accepted_at: None,
            revoked_at: None,
        };
        invitations::insert(w, &proof, &inv, &token.hash())?;
        changes::allowed(w, env.now, &proof, invitation_change(&inv))?;
        Ok(inv)
    })?;
    tracing::info!(invitation = %inv.id, tenant = %tenant, by = %p.account_id, "invitation created");
    Ok((inv, token))
}

pub fn delete(env: &Env, caller: &Caller, iid: InvitationId) -> AppResult<()> {
    let p = caller.key()?;
    env.store.write(|w| {
        let inv = invitations::get(w, iid)?.ok_or(AppError::NotFound("invitation"))?;
        let mut ents = caller_entities(p)?;
        let uid = ents.invitation(&inv)?;
        let proof = env.session(p, &ents)?.check_named(
            Action::ReadInvitation,
            "invitation",
            Action::DeleteInvitation,
            &uid,
            RequestContext::Empty,
        )?;
        invitations::revoke(w, &proof, iid, env.now)?;
        changes::allowed(w, env.now, &proof, invitation_change(&inv))
    })?;
    tracing::info!(invitation = %iid, by = %p.account_id, "invitation revoked");
    Ok(())
}

/// An invitation token that does not work (a credential refused).
pub fn invitation_refused(msg: String) -> AppError {
    AppError::Unauthenticated(msg)
}

/// The invitee's way in: the token says which tenant and role, and who is
/// invited. Without a key, it creates the invited e-mail's account, which
/// must not exist yet: an invitation never hands out an existing account.
/// With a key, the key must be one of the invited account's own; the member
/// then gets a first key for the new tenant (its other keys stay bound to
/// their own tenants).
pub fn accept(env: &Env, caller: &Caller, acceptance: Acceptance) -> AppResult<Accepted> {
    not_in_the_past(acceptance.key_expires_at, env.now)?;
    let token = &acceptance.token;
    let accepted = accept_with(env, caller, &acceptance);
    if accepted.is_ok() {
        return accepted;
    }
    // A misused token it knows goes into its tenant's log; one it does not
    // is only counted, as unknown keys are.
    let known = env
        .store
        .read(|c| invitations::find_by_hash(c, &token.hash()))
        .ok()
        .flatten();
    let Some(inv) = known else {
        env.verifier.unknown_credential(env.now);
        return accepted;
    };
    let attempt = Attempt {
        action: Action::AcceptInvitation,
        resource_type: "invitation",
        resource_id: Some(inv.id.to_string()),
        details: json!({ "email": inv.email.as_str(), "role": inv.role.as_str() }),
    };
    changes::refusals_in(env, caller, Some(inv.tenant_id), attempt, accepted)
}

/// What the audit log says of a change to the invitation `inv` (never its
/// token).
fn invitation_change(inv: &Invitation) -> Change {
    Change {
        resource_type: "invitation",
        resource_id: inv.id.to_string(),
        tenant: Some(inv.tenant_id),
        details: json!({ "email": inv.email.as_str(), "role": inv.role.as_str() }),
    }
}

fn accept_with(env: &Env, caller: &Caller, a: &Acceptance) -> AppResult<Accepted> {
    let caller = caller.principal();
    let (user_id, tenant, key) = env.store.write(|w| {
        let inv = usable_invitation(w, &a.token, env.now)?;
        let existing = accounts::find_user_by_email(w, &inv.email)?;
        let mut ents = EntitySet::new();
        let principal = ents.invitation(&inv)?;
        let tenant_uid = ents.add_tenant(inv.tenant_id);
        let context = RequestContext::AcceptInvitation {
            invitee: existing.as_ref().map(|a| a.id),
            caller_account: caller.map(|p| p.account_id),
        };
        let proof = env
            .authz
            .session_as(principal.clone(), &ents, env.now)?
            .in_request(&env.request_id)
            .check(Action::AcceptInvitation, &tenant_uid, context)
            .map_err(|e| match e {
                AppError::Forbidden { .. } => refused_invitee(&inv, caller, existing.is_some()),
                e => e,
            })?;
        let user = match existing {
            Some(account) => account,
            None => accounts::insert_user(w, &proof, &inv.email, false, env.now)?,
        };
        memberships::insert(w, &proof, inv.tenant_id, user.id, inv.role, env.now)?;
        if !invitations::accept(w, &proof, inv.id, user.id, env.now)? {
            return Err(invitation_refused(
                "This invitation was already used.".into(),
            ));
        }
        changes::allowed(w, env.now, &proof, invitation_change(&inv))?;
        // The first key is decided as every key is: the invitation's holder
        // (the invitee) makes a key for itself, in the invitation's tenant.
        let member_of = memberships::tenants_of(w, user.id)?;
        ents.stored_account(&user, &member_of)?;
        let session = env
            .authz
            .session_as(principal, &ents, env.now)?
            .in_request(&env.request_id);
        let ask = MintRequest {
            owner: &user,
            tenant: inv.tenant_id,
            owner_is_caller: true,
            key_role: None,
            expires_at: a.key_expires_at,
            via: Via::Invitation,
            replaces: None,
        };
        let minting = ask.decide(w, &session)?;
        let new = NewKey {
            name: &a.key_name,
            owner: user.id,
            owner_kind: AccountKind::User,
            tenant: inv.tenant_id,
            created_by: Some(user.id),
            expires_at: a.key_expires_at,
            role: None,
            rotated_from: None,
            via: Via::Invitation,
        };
        let (_, key) = api_keys::mint(w, &minting, new, env.now)?;
        Ok((user.id, inv.tenant_id, key))
    })?;
    tracing::info!(user = %user_id, tenant = %tenant, "invitation accepted");
    Ok(Accepted {
        user_id,
        tenant_id: tenant,
        key,
    })
}

/// The invitation of `token`, if it can still be accepted.
fn usable_invitation(conn: &Conn, token: &Token, now: DateTime<Utc>) -> AppResult<Invitation> {
    let at = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let inv = invitations::find_by_hash(conn, &token.hash())?
        .ok_or_else(|| invitation_refused("Invalid invitation token.".into()))?;
    if let Some(when) = inv.revoked_at {
        return Err(invitation_refused(format!(
            "This invitation was revoked at {}.",
            at(when)
        )));
    }
    if let Some(when) = inv.accepted_at {
        return Err(invitation_refused(format!(
            "This invitation was already accepted at {}.",
            at(when)
        )));
    }
    if inv.expires_at <= now {
        return Err(invitation_refused(format!(
            "This invitation expired at {}.",
            at(inv.expires_at)
        )));
    }
    Ok(inv)
}

/// Why the policies refused this holder of `inv`'s token (by default: an
/// invitation never hands out an existing account, and a key must be one
/// of the invited account's own), in words that say what to do instead.
/// One answer whether or not the e-mail has an account, once a key is sent.
fn refused_invitee(inv: &Invitation, caller: Option<&Principal>, has_account: bool) -> AppError {
    let email = &inv.email;
    invitation_refused(match (caller, has_account) {
        (None, true) => format!(
            "This invitation is for {email}, who already has an account: sign in as {email} to accept it (send one of that account's API keys as `Authorization: Bearer <key>`)."
        ),
        (Some(_), _) => format!(
            "This invitation is for {email}, and the API key you sent belongs to another account: accept it with a key of {email}'s account, or without a key if {email} has no account yet."
        ),
        (None, false) => {
            format!("The policies do not let this invitation for {email} be accepted.")
        }
    })
}
