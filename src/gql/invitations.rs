//! Invitations: `membership_invitation`, `create_membership_invitation`,
//! `delete_membership_invitation`, `accept_membership_invitation`, their
//! inputs and nodes.
use juniper::{GraphQLInputObject, GraphQLObject};
use serde_json::{Value, json};

use super::audit::{self, Audited};
use super::context::Context;
use super::inputs::TenantScope;
use super::scalars::{GqlUuid, Timestamp, id};
use super::types::{GqlRole, Success, UserRef};
use crate::authz::Action;
use crate::domain::api_key::{Token, TokenKind};
use crate::domain::ids::{InvitationId, TenantId};
use crate::domain::model::{Invitation, Role};
use crate::domain::names::{DisplayName, Email};
use crate::error::{AppError, AppResult};
use crate::ops;
use crate::ops::invitations::{Acceptance, NewInvitation, invitation_refused};
use crate::ops::listing::{MAX_LIST, Window};

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
    let window = Window::parse(limit, offset, MAX_LIST)?;
    let rows = ops::invitations::list(&ctx.env, &ctx.caller, TenantScope::tenant(&scope), window)?;
    Ok(rows.iter().map(InvitationNode::from).collect())
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
    let (inv, token) = ops::invitations::create(&ctx.env, &ctx.caller, input.try_into()?)?;
    Ok(CreatedInvitation {
        id: id(inv.id),
        token: token.expose().to_owned(),
        expires_at: Timestamp(inv.expires_at),
    })
}

pub fn delete(ctx: &Context, input: DeleteInvitationInput) -> AppResult<Success> {
    let iid = InvitationId::from(input.invitation_id.0);
    ops::invitations::delete(&ctx.env, &ctx.caller, iid)?;
    Ok(Success { success: true })
}

/// The invitee's way in: the token says which tenant and role, and who is
/// invited. Without a key, it creates the invited e-mail's account, which
/// must not exist yet: an invitation never hands out an existing account.
/// With a key, the key must be one of the invited account's own; the member
/// then gets a first key for the new tenant (its other keys stay bound to
/// their own tenants).
pub fn accept(ctx: &Context, input: AcceptInvitationInput) -> AppResult<AcceptedInvitation> {
    let a = ops::invitations::accept(&ctx.env, &ctx.caller, input.try_into()?)?;
    Ok(AcceptedInvitation {
        user_id: id(a.user_id),
        tenant_id: id(a.tenant_id),
        key: a.key.expose().to_owned(),
    })
}

impl Audited for CreateInvitationInput {
    const ACTION: Action = Action::CreateInvitation;
    const RESOURCE: &'static str = "invitation";
    fn details(&self) -> Value {
        json!({ "email": self.email, "role": audit::role(self.role) })
    }
}

impl Audited for DeleteInvitationInput {
    const ACTION: Action = Action::DeleteInvitation;
    const RESOURCE: &'static str = "invitation";
    fn resource_id(&self) -> Option<String> {
        Some(self.invitation_id.0.to_string())
    }
}
