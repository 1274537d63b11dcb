//! Tenants, members, invitations and service-account management: the use
//! cases behind the team fields of `Query` and `Mutation`.
use chrono::Duration;
use rusqlite::Connection;

use super::context::{Context, add_account, caller_entities, limit};
use super::inputs::{
    AcceptInvitationInput, CreateInvitationInput, CreateTenantInput, DeleteInvitationInput,
    DeleteMembershipInput, SetMembershipRoleInput, TenantScope, UpdateServiceAccountInput,
};
use super::scalars::{Timestamp, id};
use super::types::{
    AcceptedInvitation, ApiKeyNode, CreatedInvitation, CreatedTenant, InvitationNode,
    MembershipNode, ServiceAccountNode, Success, UserNode,
};
use crate::authz::entities::{account_uid, membership_uid};
use crate::authz::{Action, Allowed, EntitySet, RequestContext};
use crate::domain::api_key::{Token, TokenKind};
use crate::domain::ids::{AccountId, InvitationId, MembershipId, TenantId};
use crate::domain::model::{Account, AccountKind, Invitation, Member, Role};
use crate::domain::names::{DisplayName, Email, Slug};
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};
use crate::store::api_keys::NewKey;
use crate::store::{Write, accounts, api_keys, invitations, memberships, tenants};

/// How long an invitation can be accepted.
pub const INVITATION_LIFETIME: Duration = Duration::days(7);

/// A membership and its account, as entities, after checking the caller may
/// see it.
fn load_member(tx: &Connection, p: &Principal, id: MembershipId) -> AppResult<(Member, EntitySet)> {
    let member = memberships::get(tx, id)?.ok_or(AppError::NotFound("membership"))?;
    let mut ents = caller_entities(tx, p)?;
    add_account(tx, &mut ents, &member.account)?;
    ents.membership(&member)?;
    Ok((member, ents))
}

/// Loads the service account `id`, checks that the caller may see it, and
/// returns it with the proof that the caller may `action` it.
pub(super) fn service_account_for(
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

/// Loads the membership `id`, checks that the caller may see it, and
/// returns it with the proof that the caller may `action` it.
fn member_for(
    ctx: &Context,
    tx: &Connection,
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
fn keep_an_admin(tx: &Connection, member: &Member) -> AppResult<()> {
    let was_human_admin =
        member.membership.role == Role::TenantAdmin && member.account.kind == AccountKind::User;
    if was_human_admin && memberships::count_human_admins(tx, member.membership.tenant_id)? == 0 {
        return Err(AppError::Conflict(
            "the last TENANT_ADMIN of a tenant cannot be demoted or removed; make another member an admin first".into(),
        ));
    }
    Ok(())
}

pub fn create_tenant(ctx: &Context, input: CreateTenantInput) -> AppResult<CreatedTenant> {
    let p = ctx.caller()?;
    let name = DisplayName::parse("name", &input.name)?;
    let slug = Slug::parse(&input.slug)?;
    let (tenant, key) = ctx.store.write(|w| {
        let mut ents = caller_entities(w, p)?;
        let server = ents.add_server();
        let proof =
            ctx.session(&ents)?
                .check(Action::CreateTenant, &server, RequestContext::Empty)?;
        let tenant = tenants::insert(w, &proof, &name, &slug, ctx.now)?;
        // A person who creates a tenant runs it, and gets the one key that
        // lets it act there (the calling key stays bound to its own tenant).
        // A service account belongs to its own tenant only, so it stays out.
        if p.account_kind != AccountKind::User {
            return Ok((tenant, None));
        }
        memberships::insert(
            w,
            &proof,
            tenant.id,
            p.account_id,
            Role::TenantAdmin,
            ctx.now,
        )?;
        let new = NewKey {
            name: "first key",
            owner: p.account_id,
            owner_kind: AccountKind::User,
            tenant: tenant.id,
            created_by: Some(p.account_id),
            expires_at: None,
        };
        let (_, key) = api_keys::mint(w, &proof, new, ctx.now)?;
        Ok((tenant, Some(key)))
    })?;
    tracing::info!(tenant = %tenant.id, slug = %tenant.slug, by = %p.account_id, "tenant created");
    Ok(CreatedTenant {
        id: id(tenant.id),
        name: tenant.name,
        slug: tenant.slug,
        created: Timestamp(tenant.created_at),
        key: key.map(|k| k.expose().to_owned()),
    })
}

pub fn update_service_account(
    ctx: &Context,
    input: UpdateServiceAccountInput,
) -> AppResult<UserNode> {
    let p = ctx.caller()?;
    let name = DisplayName::parse("name", &input.name)?;
    let account_id = AccountId::from(input.user_id.0);
    ctx.store.write(|w| {
        let (mut account, proof) =
            service_account_for(ctx, w, p, account_id, Action::UpdateServiceAccount)?;
        accounts::rename(w, &proof, account.id, &name)?;
        account.name = name.to_string();
        Ok(UserNode::from(&account))
    })
}

/// A tenant's service accounts the caller may see, each with the keys the
/// caller may see (admins: all of them).
pub fn service_accounts(
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
                name: sa.name.clone(),
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

pub fn memberships_of(
    ctx: &Context,
    scope: Option<TenantScope>,
    max: Option<i32>,
) -> AppResult<Vec<MembershipNode>> {
    let p = ctx.caller()?;
    let max = limit(max)?;
    let tenant = TenantScope::tenant(&scope).unwrap_or(p.tenant_id);
    ctx.store.read(|c| {
        let mut ents = caller_entities(c, p)?;
        let mut rows = Vec::new();
        for m in memberships::of_tenant(c, tenant)? {
            add_account(c, &mut ents, &m.account)?;
            let uid = ents.membership(&m)?;
            rows.push((m, uid));
        }
        let visible = ctx.session(&ents)?.filter(Action::ReadMembership, rows)?;
        Ok(visible.iter().take(max).map(MembershipNode::from).collect())
    })
}

pub fn set_membership_role(
    ctx: &Context,
    input: SetMembershipRoleInput,
) -> AppResult<MembershipNode> {
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
        member.membership.role = role;
        Ok(member)
    })?;
    tracing::info!(membership = %mid, %role, by = %p.account_id, "membership role changed");
    Ok(MembershipNode::from(&member))
}

pub fn delete_membership(ctx: &Context, input: DeleteMembershipInput) -> AppResult<Success> {
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
        api_keys::revoke_all_of_in(
            w,
            &proof,
            member.account.id,
            member.membership.tenant_id,
            ctx.now,
        )
    })?;
    tracing::info!(membership = %mid, keys_revoked = revoked, by = %p.account_id, "member removed");
    Ok(Success { success: true })
}

pub fn create_invitation(
    ctx: &Context,
    input: CreateInvitationInput,
) -> AppResult<CreatedInvitation> {
    let p = ctx.caller()?;
    let email = Email::parse(&input.email)?;
    let role = input.role.map_or(Role::User, Role::from);
    let tenant = input.tenant_id.map_or(p.tenant_id, |t| TenantId::from(t.0));
    let token = Token::invitation();
    let inv = ctx.store.write(|w| {
        tenants::get(w, tenant)?.ok_or(AppError::NotFound("tenant"))?;
        let mut ents = caller_entities(w, p)?;
        let uid = ents.add_tenant(tenant);
        let context = RequestContext::CreateInvitation {
            email: email.to_string(),
            role,
        };
        let proof = ctx.session(&ents)?.check_named(
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
            email: email.to_string(),
            role,
            created_by: Some(p.account_id),
            created_at: ctx.now,
            expires_at: ctx.now + INVITATION_LIFETIME,
            accepted_at: None,
            revoked_at: None,
        };
        invitations::insert(w, &proof, &inv, &token.hash())?;
        Ok(inv)
    })?;
    tracing::info!(invitation = %inv.id, tenant = %tenant, by = %p.account_id, "invitation created");
    Ok(CreatedInvitation {
        id: id(inv.id),
        token: token.expose().to_owned(),
        expires_at: Timestamp(inv.expires_at),
    })
}

pub fn invitations_of(
    ctx: &Context,
    scope: Option<TenantScope>,
    max: Option<i32>,
) -> AppResult<Vec<InvitationNode>> {
    let p = ctx.caller()?;
    let max = limit(max)?;
    let tenant = TenantScope::tenant(&scope).unwrap_or(p.tenant_id);
    ctx.store.read(|c| {
        let mut ents = caller_entities(c, p)?;
        let rows = invitations::of_tenant(c, tenant)?
            .into_iter()
            .map(|i| {
                let uid = ents.invitation(&i)?;
                Ok((i, uid))
            })
            .collect::<AppResult<Vec<_>>>()?;
        let visible = ctx.session(&ents)?.filter(Action::ReadInvitation, rows)?;
        Ok(visible.iter().take(max).map(InvitationNode::from).collect())
    })
}

pub fn delete_invitation(ctx: &Context, input: DeleteInvitationInput) -> AppResult<Success> {
    let p = ctx.caller()?;
    let iid = InvitationId::from(input.invitation_id.0);
    ctx.store.write(|w| {
        let inv = invitations::get(w, iid)?.ok_or(AppError::NotFound("invitation"))?;
        let mut ents = caller_entities(w, p)?;
        let uid = ents.invitation(&inv)?;
        let proof = ctx.session(&ents)?.check_named(
            Action::ReadInvitation,
            "invitation",
            Action::DeleteInvitation,
            &uid,
            RequestContext::Empty,
        )?;
        invitations::revoke(w, &proof, iid, ctx.now)
    })?;
    tracing::info!(invitation = %iid, by = %p.account_id, "invitation revoked");
    Ok(Success { success: true })
}

fn invitation_refused(msg: String) -> AppError {
    AppError::Unauthenticated(msg)
}

/// The invitee's way in: the token says which tenant and role, and who is
/// invited. Without a key, it creates the invited e-mail's account, which
/// must not exist yet: an invitation never hands out an existing account.
/// With a key, the key must be one of the invited account's own; the member
/// then gets a first key for the new tenant (its other keys stay bound to
/// their own tenants).
pub fn accept_invitation(
    ctx: &Context,
    input: AcceptInvitationInput,
) -> AppResult<AcceptedInvitation> {
    let token = Token::parse(input.token.trim())
        .ok()
        .filter(|t| t.kind() == TokenKind::Invitation)
        .ok_or_else(|| invitation_refused("Invalid invitation token.".into()))?;
    let key_name =
        DisplayName::parse("key_name", input.key_name.as_deref().unwrap_or("first key"))?;
    let caller = ctx.principal();
    let (user_id, tenant, key) = ctx.store.write(|w| {
        let inv = usable_invitation(w, &token, ctx.now)?;
        let mut ents = EntitySet::new();
        let principal = ents.invitation(&inv)?;
        let tenant_uid = ents.add_tenant(inv.tenant_id);
        let proof = ctx.authz.session_as(principal, &ents, ctx.now)?.check(
            Action::AcceptInvitation,
            &tenant_uid,
            RequestContext::Empty,
        )?;
        let user = invitee(w, &proof, &inv, caller, ctx.now)?;
        memberships::insert(w, &proof, inv.tenant_id, user.id, inv.role, ctx.now)?;
        if !invitations::accept(w, &proof, inv.id, user.id, ctx.now)? {
            return Err(invitation_refused(
                "This invitation was already used.".into(),
            ));
        }
        let new = NewKey {
            name: key_name.as_str(),
            owner: user.id,
            owner_kind: AccountKind::User,
            tenant: inv.tenant_id,
            created_by: Some(user.id),
            expires_at: None,
        };
        let (_, key) = api_keys::mint(w, &proof, new, ctx.now)?;
        Ok((user.id, inv.tenant_id, key))
    })?;
    tracing::info!(user = %user_id, tenant = %tenant, "invitation accepted");
    Ok(AcceptedInvitation {
        user_id: id(user_id),
        tenant_id: id(tenant),
        key: key.expose().to_owned(),
    })
}

/// The invitation of `token`, if it can still be accepted.
fn usable_invitation(
    conn: &Connection,
    token: &Token,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<Invitation> {
    let at =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
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

/// Who joins: a new account for the invited e-mail when the request has no
/// key and the e-mail has no account; the key's own account when it is the
/// invited one. Anything else is refused, before the token is used.
fn invitee(
    w: &Write,
    proof: &Allowed,
    inv: &Invitation,
    caller: Option<&Principal>,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<Account> {
    let email = Email::parse(&inv.email)?;
    let existing = accounts::find_user_by_email(w, &email)?;
    match (caller, existing) {
        (None, None) => accounts::insert_user(w, proof, &email, false, now),
        (None, Some(_)) => Err(invitation_refused(format!(
            "This invitation is for {email}, who already has an account: sign in as {email} to accept it (send one of that account's API keys as `Authorization: Bearer <key>`)."
        ))),
        (Some(p), Some(account)) if account.id == p.account_id => Ok(account),
        // One answer whether or not the e-mail has an account.
        (Some(_), _) => Err(invitation_refused(format!(
            "This invitation is for {email}, and the API key you sent belongs to another account: accept it with a key of {email}'s account, or without a key if {email} has no account yet."
        ))),
    }
}
