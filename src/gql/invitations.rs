//! Invitations: `membership_invitation`, `create_membership_invitation`,
//! `delete_membership_invitation`, `accept_membership_invitation`, their
//! inputs and nodes.
use crate::store::Conn;
use chrono::{DateTime, Duration, Utc};
use juniper::{GraphQLInputObject, GraphQLObject};

use serde_json::json;

use super::api_keys::MintRequest;
use super::audit::{self, Change};
use super::context::{Context, caller_entities};
use super::inputs::TenantScope;
use super::listing::{self, MAX_LIST, Window};
use super::scalars::{GqlUuid, Timestamp, id};
use super::types::{GqlRole, Success, UserRef};
use crate::authz::{Action, EntitySet, RequestContext};
use crate::domain::api_key::{Token, TokenKind};
use crate::domain::ids::{InvitationId, TenantId};
use crate::domain::model::{AccountKind, Invitation, Role, Via};
use crate::domain::names::{DisplayName, Email};
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};
use crate::store::api_keys::NewKey;
use crate::store::listing::Resource;
use crate::store::{accounts, api_keys, invitations, memberships, tenants};

/// How long an invitation can be accepted.
pub const INVITATION_LIFETIME: Duration = Duration::days(7);

#[derive(GraphQLInputObject)]
#[graphql(name = "create_membership_invitation_input", rename_all = "none")]
pub struct CreateInvitationInput {
    /// Default: the calling key's tenant.
    pub tenant_id: Option<GqlUuid>,
    pub email: String,
    /// Default: USER.
    pub role: Option<GqlRole>,
}

#[derive(GraphQLInputObject)]
#[graphql(name = "accept_membership_invitation_input", rename_all = "none")]
pub struct AcceptInvitationInput {
    /// The invitation's secret (kwi_...).
    pub token: String,
    /// The name of the first API key. Default: "first key".
    pub key_name: Option<String>,
    /// When the first API key expires; absent: never (the policies on
    /// CreateApiKey decide whether that may be).
    pub key_expires_at: Option<Timestamp>,
}

#[derive(GraphQLInputObject)]
#[graphql(name = "delete_membership_invitation_input", rename_all = "none")]
pub struct DeleteInvitationInput {
    pub invitation_id: GqlUuid,
}

/// An invitation to join a tenant. Its token is never returned after creation.
#[derive(GraphQLObject)]
#[graphql(name = "membership_invitation", rename_all = "none")]
pub struct InvitationNode {
    pub id: GqlUuid,
    pub tenant_id: GqlUuid,
    pub email: String,
    pub role: GqlRole,
    pub created: Timestamp,
    pub created_by: Option<UserRef>,
    pub expires_at: Timestamp,
    /// Null until used; an invitation works once.
    pub accepted_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl From<&Invitation> for InvitationNode {
    fn from(i: &Invitation) -> Self {
        Self {
            id: id(i.id),
            tenant_id: id(i.tenant_id),
            email: i.email.to_string(),
            role: i.role.into(),
            created: Timestamp(i.created_at),
            created_by: i.created_by.map(|c| UserRef { id: id(c) }),
            expires_at: Timestamp(i.expires_at),
            accepted_at: i.accepted_at.map(Timestamp),
            revoked_at: i.revoked_at.map(Timestamp),
        }
    }
}

#[derive(GraphQLObject)]
#[graphql(name = "create_membership_invitation_payload", rename_all = "none")]
pub struct CreatedInvitation {
    pub id: GqlUuid,
    /// The invitation's secret, shown this once: give it to the invitee.
    pub token: String,
    pub expires_at: Timestamp,
}

#[derive(GraphQLObject)]
#[graphql(name = "accept_membership_invitation_payload", rename_all = "none")]
pub struct AcceptedInvitation {
    pub user_id: GqlUuid,
    pub tenant_id: GqlUuid,
    /// The new member's first API key, shown this once.
    pub key: String,
}

/// A tenant's invitations the caller may see, newest first.
pub fn list(
    ctx: &Context,
    scope: Option<TenantScope>,
    limit: Option<i32>,
    offset: Option<i32>,
) -> AppResult<Vec<InvitationNode>> {
    let p = ctx.caller()?;
    let window = Window::parse(limit, offset, MAX_LIST)?;
    let tenant = TenantScope::tenant(&scope).unwrap_or(p.tenant_id);
    let rows = ctx.store.read(|c| {
        listing::page(
            ctx,
            c,
            Action::ReadInvitation,
            Resource::Invitation,
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
                ctx.session(&ents)?.filter(Action::ReadInvitation, rows)
            },
        )
    })?;
    Ok(rows.iter().map(InvitationNode::from).collect())
}

/// `create_membership_invitation`'s input, parsed; the tenant defaults to
/// the caller's.
struct NewInvitation {
    email: Email,
    role: Role,
    tenant: Option<TenantId>,
}

impl TryFrom<CreateInvitationInput> for NewInvitation {
    type Error = AppError;
    fn try_from(input: CreateInvitationInput) -> AppResult<Self> {
        Ok(Self {
            email: Email::parse(&input.email)?,
            role: input.role.map_or(Role::User, Role::from),
            tenant: input.tenant_id.map(|t| TenantId::from(t.0)),
        })
    }
}

/// `accept_membership_invitation`'s input, parsed: an invitation token (a
/// string that is not one is refused as a wrong token) and the key's name.
struct Acceptance {
    token: Token,
    key_name: DisplayName,
    key_expires_at: Option<DateTime<Utc>>,
}

impl TryFrom<AcceptInvitationInput> for Acceptance {
    type Error = AppError;
    fn try_from(input: AcceptInvitationInput) -> AppResult<Self> {
        let token = Token::parse(input.token.trim())
            .ok()
            .filter(|t| t.kind() == TokenKind::Invitation)
            .ok_or_else(|| invitation_refused("Invalid invitation token.".into()))?;
        let key_name =
            DisplayName::parse("key_name", input.key_name.as_deref().unwrap_or("first key"))?;
        Ok(Self {
            token,
            key_name,
            key_expires_at: input.key_expires_at.map(|t| t.0),
        })
    }
}

pub fn create(ctx: &Context, input: CreateInvitationInput) -> AppResult<CreatedInvitation> {
    let p = ctx.caller()?;
    let NewInvitation {
        email,
        role,
        tenant,
    } = input.try_into()?;
    let tenant = tenant.unwrap_or(p.tenant_id);
    let token = Token::invitation();
    let inv = ctx.store.write(|w| {
        tenants::get(w, tenant)?.ok_or(AppError::NotFound("tenant"))?;
        let mut ents = caller_entities(p)?;
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
            email: email.clone(),
            role,
            created_by: Some(p.account_id),
            created_at: ctx.now,
            expires_at: ctx.now + INVITATION_LIFETIME,
            accepted_at: None,
            revoked_at: None,
        };
        invitations::insert(w, &proof, &inv, &token.hash())?;
        audit::allowed(w, ctx, &proof, invitation_change(&inv))?;
        Ok(inv)
    })?;
    tracing::info!(invitation = %inv.id, tenant = %tenant, by = %p.account_id, "invitation created");
    Ok(CreatedInvitation {
        id: id(inv.id),
        token: token.expose().to_owned(),
        expires_at: Timestamp(inv.expires_at),
    })
}

pub fn delete(ctx: &Context, input: DeleteInvitationInput) -> AppResult<Success> {
    let p = ctx.caller()?;
    let iid = InvitationId::from(input.invitation_id.0);
    ctx.store.write(|w| {
        let inv = invitations::get(w, iid)?.ok_or(AppError::NotFound("invitation"))?;
        let mut ents = caller_entities(p)?;
        let uid = ents.invitation(&inv)?;
        let proof = ctx.session(&ents)?.check_named(
            Action::ReadInvitation,
            "invitation",
            Action::DeleteInvitation,
            &uid,
            RequestContext::Empty,
        )?;
        invitations::revoke(w, &proof, iid, ctx.now)?;
        audit::allowed(w, ctx, &proof, invitation_change(&inv))
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
pub fn accept(ctx: &Context, input: AcceptInvitationInput) -> AppResult<AcceptedInvitation> {
    let acceptance: Acceptance = input.try_into()?;
    super::api_keys::not_in_the_past(acceptance.key_expires_at, ctx.now)?;
    let token = &acceptance.token;
    let accepted = accept_with(ctx, &acceptance);
    if accepted.is_ok() {
        return accepted;
    }
    // A misused token it knows goes into its tenant's log; one it does not
    // is only counted, as unknown keys are.
    let known = ctx
        .store
        .read(|c| invitations::find_by_hash(c, &token.hash()))
        .ok()
        .flatten();
    let Some(inv) = known else {
        ctx.verifier.unknown_credential(ctx.now);
        return accepted;
    };
    let details = json!({ "email": inv.email.as_str(), "role": inv.role.as_str() });
    audit::refusals_in(
        ctx,
        Some(inv.tenant_id),
        Action::AcceptInvitation,
        "invitation",
        Some(inv.id.to_string()),
        details,
        accepted,
    )
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

fn accept_with(ctx: &Context, a: &Acceptance) -> AppResult<AcceptedInvitation> {
    let caller = ctx.principal();
    let (user_id, tenant, key) = ctx.store.write(|w| {
        let inv = usable_invitation(w, &a.token, ctx.now)?;
        let existing = accounts::find_user_by_email(w, &inv.email)?;
        let mut ents = EntitySet::new();
        let principal = ents.invitation(&inv)?;
        let tenant_uid = ents.add_tenant(inv.tenant_id);
        let context = RequestContext::AcceptInvitation {
            invitee: existing.as_ref().map(|a| a.id),
            caller_account: caller.map(|p| p.account_id),
        };
        let proof = ctx
            .authz
            .session_as(principal.clone(), &ents, ctx.now)?
            .in_request(&ctx.request_id)
            .check(Action::AcceptInvitation, &tenant_uid, context)
            .map_err(|e| match e {
                AppError::Forbidden { .. } => refused_invitee(&inv, caller, existing.is_some()),
                e => e,
            })?;
        let user = match existing {
            Some(account) => account,
            None => accounts::insert_user(w, &proof, &inv.email, false, ctx.now)?,
        };
        memberships::insert(w, &proof, inv.tenant_id, user.id, inv.role, ctx.now)?;
        if !invitations::accept(w, &proof, inv.id, user.id, ctx.now)? {
            return Err(invitation_refused(
                "This invitation was already used.".into(),
            ));
        }
        audit::allowed(w, ctx, &proof, invitation_change(&inv))?;
        // The first key is decided as every key is: the invitation's holder
        // (the invitee) makes a key for itself, in the invitation's tenant.
        let member_of = memberships::tenants_of(w, user.id)?;
        ents.stored_account(&user, &member_of)?;
        let session = ctx
            .authz
            .session_as(principal, &ents, ctx.now)?
            .in_request(&ctx.request_id);
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
        let (_, key) = api_keys::mint(w, &minting, new, ctx.now)?;
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
