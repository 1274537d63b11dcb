use juniper::graphql_object;

use super::context::{Context, add_account, caller_entities};
use super::inputs::{
    AcceptInvitationInput, CreateApiKeyInput, CreateInvitationInput, CreateServiceAccountInput,
    CreateTenantInput, DeleteApiKeyInput, DeleteInvitationInput, DeleteMembershipInput,
    DeleteServiceAccountInput, SetMembershipRoleInput, UpdateServiceAccountInput,
};
use super::scalars::id;
use super::teams;
use super::types::{
    AcceptedInvitation, CreatedApiKey, CreatedInvitation, CreatedTenant, MembershipNode, Success,
    UserNode,
};
use crate::authz::entities::{account_uid, tenant_uid};
use crate::authz::{Action, RequestContext};
use crate::domain::ids::{AccountId, KeyId, TenantId};
use crate::domain::model::Role;
use crate::domain::names::DisplayName;
use crate::error::{AppError, AppResult};
use crate::store::api_keys::NewKey;
use crate::store::{accounts, api_keys, memberships, tenants};

pub struct Mutation;

/// Why a key that is not there cannot be revoked: `CONFLICT` "Already
/// revoked" to whoever could have seen it, `NOT_FOUND` to everyone else (and
/// for an id that never was a key).
fn already_revoked(
    ctx: &Context,
    conn: &rusqlite::Connection,
    p: &crate::domain::principal::Principal,
    key_id: KeyId,
) -> AppResult<AppError> {
    let gone = AppError::NotFound("api key");
    let Some(revoked) = api_keys::revoked(conn, key_id)? else {
        return Ok(gone);
    };
    let Some(owner) = accounts::get(conn, revoked.owner)? else {
        return Ok(gone);
    };
    let mut ents = caller_entities(conn, p)?;
    add_account(conn, &mut ents, &owner)?;
    let uid = ents.revoked_key(key_id, &owner, revoked.tenant)?;
    Ok(
        match ctx
            .session(&ents)?
            .check_visible(Action::ReadApiKey, &uid, "api key")
        {
            Ok(_) => AppError::Conflict(format!(
                "Already revoked: {}",
                revoked.reason.message(revoked.at)
            )),
            Err(_) => gone,
        },
    )
}

#[graphql_object(context = Context, rename_all = "none")]
impl Mutation {
    /// Creates a key for the caller itself or for a service account of the
    /// caller's tenant, bound to the caller's tenant, and returns its secret,
    /// this once, in both `token` and `key`.
    fn create_api_key(ctx: &Context, input: CreateApiKeyInput) -> AppResult<CreatedApiKey> {
        let p = ctx.caller()?;
        let name = DisplayName::parse("name", &input.name)?;
        let expires_at = input.expires_at.map(|t| t.0);
        if let Some(at) = expires_at
            && at <= ctx.now
        {
            return Err(AppError::Invalid(format!(
                "expires_at {} is in the past; give a future time or null for a key that never expires",
                at.to_rfc3339()
            )));
        }
        let owner_id = AccountId::from(input.user_id.0);
        let requested_tenant = input.default_tenant_id.map(|t| TenantId::from(t.0));

        let (key, token) = ctx.store.write(|w| {
            // The owner's visibility is settled before anything is said
            // about the tenant, so a hidden account and a missing one answer
            // alike whatever else the input holds.
            let owner = accounts::get(w, owner_id)?.ok_or(AppError::NotFound("account"))?;
            let mut ents = caller_entities(w, p)?;
            add_account(w, &mut ents, &owner)?;
            if let Some(t) = requested_tenant {
                ents.add_tenant(t);
            }
            let session = ctx.session(&ents)?;
            session.check_visible(Action::ReadAccount, &account_uid(owner.id), "account")?;
            let tenant = match requested_tenant {
                Some(t) => {
                    if tenants::get(w, t)?.is_none() {
                        return Err(AppError::NotFound("tenant"));
                    }
                    session.check_visible(Action::ReadTenant, &tenant_uid(t), "tenant")?;
                    t
                }
                // A service account's keys live in its own tenant; a user's
                // in the tenant of the key they call with.
                None => owner.tenant_id.unwrap_or(p.tenant_id),
            };
            let proof = session.check(
                Action::CreateApiKey,
                &account_uid(owner.id),
                RequestContext::CreateApiKey {
                    tenant,
                    owner_kind: owner.kind,
                    owner_is_caller: owner.id == p.account_id,
                    owner_role: memberships::role_of(w, owner.id, tenant)?,
                    expires_at,
                },
            )?;
            let new = NewKey {
                name: name.as_str(),
                owner: owner.id,
                owner_kind: owner.kind,
                tenant,
                created_by: Some(p.account_id),
                expires_at,
            };
            api_keys::mint(w, &proof, new, ctx.now)
        })?;
        tracing::info!(key_id = %key.id, owner = %key.account_id, tenant = %key.tenant_id, by = %p.account_id, "api key created");
        let secret = token.expose().to_owned();
        Ok(CreatedApiKey {
            id: id(key.id),
            token: secret.clone(),
            key: secret,
        })
    }

    /// Revokes a key: it fails from the very next request on.
    fn delete_api_key(ctx: &Context, input: DeleteApiKeyInput) -> AppResult<Success> {
        let p = ctx.caller()?;
        let key_id = KeyId::from(input.key_id.0);
        ctx.store.write(|w| {
            let Some(key) = api_keys::get(w, key_id)? else {
                return Err(already_revoked(ctx, w, p, key_id)?);
            };
            let owner =
                accounts::get(w, key.key.account_id)?.ok_or(AppError::NotFound("api key"))?;
            let mut ents = caller_entities(w, p)?;
            add_account(w, &mut ents, &owner)?;
            let uid = ents.api_key(&key)?;
            let proof = ctx.session(&ents)?.check_named(
                Action::ReadApiKey,
                "api key",
                Action::DeleteApiKey,
                &uid,
                RequestContext::Empty,
            )?;
            api_keys::revoke(w, &proof, key_id, ctx.now)
        })?;
        tracing::info!(key_id = %key_id, by = %p.account_id, "api key revoked");
        Ok(Success { success: true })
    }

    /// Creates a service account in the caller's tenant (tenant admins only).
    /// It is a TENANT_ADMIN there unless `role` says otherwise.
    fn create_service_account(
        ctx: &Context,
        input: CreateServiceAccountInput,
    ) -> AppResult<UserNode> {
        let p = ctx.caller()?;
        let name = DisplayName::parse("name", &input.name)?;
        let tenant = input.tenant_id.map_or(p.tenant_id, |t| TenantId::from(t.0));
        let role = input.role.map_or(Role::TenantAdmin, Role::from);
        let account = ctx.store.write(|w| {
            tenants::get(w, tenant)?.ok_or(AppError::NotFound("tenant"))?;
            let mut ents = caller_entities(w, p)?;
            let uid = ents.add_tenant(tenant);
            let proof = ctx.session(&ents)?.check_named(
                Action::ReadTenant,
                "tenant",
                Action::CreateServiceAccount,
                &uid,
                RequestContext::CreateServiceAccount { role },
            )?;
            let account = accounts::insert_service_account(w, &proof, tenant, &name, ctx.now)?;
            memberships::insert(w, &proof, tenant, account.id, role, ctx.now)?;
            Ok(account)
        })?;
        tracing::info!(account = %account.id, tenant = %tenant, by = %p.account_id, "service account created");
        Ok(UserNode::from(&account))
    }

    /// Deletes a service account and every key it holds: every client using
    /// one fails authentication on its next request.
    fn delete_service_account(
        ctx: &Context,
        input: DeleteServiceAccountInput,
    ) -> AppResult<Success> {
        let p = ctx.caller()?;
        let account_id = AccountId::from(input.user_id.0);
        let revoked = ctx.store.write(|w| {
            let (account, proof) =
                teams::service_account_for(ctx, w, p, account_id, Action::DeleteServiceAccount)?;
            let revoked = api_keys::revoke_all_of(w, &proof, account.id, ctx.now)?;
            accounts::delete(w, &proof, account.id)?;
            Ok(revoked)
        })?;
        tracing::info!(account = %account_id, keys_revoked = revoked, by = %p.account_id, "service account deleted");
        Ok(Success { success: true })
    }

    /// Creates a tenant (server admins); a person who creates one becomes
    /// its TENANT_ADMIN and gets a first key for it, once.
    fn create_tenant(ctx: &Context, input: CreateTenantInput) -> AppResult<CreatedTenant> {
        teams::create_tenant(ctx, input)
    }

    /// Renames a service account (tenant admins).
    fn update_service_account(
        ctx: &Context,
        input: UpdateServiceAccountInput,
    ) -> AppResult<UserNode> {
        teams::update_service_account(ctx, input)
    }

    /// Invites someone by e-mail (tenant admins). The token is shown once and
    /// works once, for 7 days.
    fn create_membership_invitation(
        ctx: &Context,
        input: CreateInvitationInput,
    ) -> AppResult<CreatedInvitation> {
        teams::create_invitation(ctx, input)
    }

    /// Joins a tenant with an invitation token and returns the member's
    /// first API key for it, once. Without a key it creates the account of
    /// the invitation's e-mail, which must not exist yet; an existing account
    /// accepts with one of its own keys.
    fn accept_membership_invitation(
        ctx: &Context,
        input: AcceptInvitationInput,
    ) -> AppResult<AcceptedInvitation> {
        teams::accept_invitation(ctx, input)
    }

    /// Revokes an unused invitation (tenant admins).
    fn delete_membership_invitation(
        ctx: &Context,
        input: DeleteInvitationInput,
    ) -> AppResult<Success> {
        teams::delete_invitation(ctx, input)
    }

    /// Changes a member's role (tenant admins). The last TENANT_ADMIN cannot
    /// be demoted.
    fn set_membership_role(
        ctx: &Context,
        input: SetMembershipRoleInput,
    ) -> AppResult<MembershipNode> {
        teams::set_membership_role(ctx, input)
    }

    /// Removes a member (tenant admins, or the member itself) and revokes its
    /// keys for the tenant. The last TENANT_ADMIN cannot be removed.
    fn delete_membership(ctx: &Context, input: DeleteMembershipInput) -> AppResult<Success> {
        teams::delete_membership(ctx, input)
    }
}
