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
    AcceptedInvitation, CreatedApiKey, CreatedInvitation, MembershipNode, Success, TenantNode,
    UserNode,
};
use crate::authz::entities::{account_uid, tenant_uid};
use crate::authz::{Action, RequestContext};
use crate::domain::api_key::Token;
use crate::domain::ids::{AccountId, KeyId, TenantId};
use crate::domain::model::{ApiKey, Revocation, Role};
use crate::domain::names::DisplayName;
use crate::error::{AppError, AppResult};
use crate::store::{accounts, api_keys, memberships, tenants};
use crate::verify::Invalidation;

pub struct Mutation;

#[graphql_object(context = Context, rename_all = "none")]
impl Mutation {
    /// Creates a key for a user (themself) or a service account and returns
    /// its secret, this once, in both `token` and `key` (S2, S3, S5).
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

        let (key, token) = ctx.store.write(|tx| {
            let owner = accounts::get(tx, owner_id)?.ok_or(AppError::NotFound("account"))?;
            let mut ents = caller_entities(tx, p)?;
            add_account(tx, &mut ents, &owner)?;
            let owner_uid = account_uid(owner.id);
            let tenant = match requested_tenant {
                Some(t) => {
                    tenants::get(tx, t)?.ok_or(AppError::NotFound("tenant"))?;
                    ents.add_tenant(t);
                    t
                }
                // A service account's keys live in its own tenant; a user's
                // default to the tenant of the key they call with.
                None => owner.tenant_id.unwrap_or(p.tenant_id),
            };
            let session = ctx.authz.session(p, &ents, ctx.now)?;
            session.check_visible(Action::ReadAccount, &owner_uid, "account")?;
            if requested_tenant.is_some() {
                session.check_visible(Action::ReadTenant, &tenant_uid(tenant), "tenant")?;
            }
            session.check(
                Action::CreateApiKey,
                &owner_uid,
                RequestContext::CreateApiKey {
                    tenant,
                    owner_kind: owner.kind,
                    owner_is_caller: owner.id == p.account_id,
                    owner_role: memberships::role_of(tx, owner.id, tenant)?,
                    expires_at,
                },
            )?;
            let token = Token::generate(owner.kind);
            let key = ApiKey {
                id: KeyId::random(),
                name: name.to_string(),
                account_id: owner.id,
                tenant_id: tenant,
                created_by: Some(p.account_id),
                created_at: ctx.now,
                expires_at,
                last_used_at: None,
            };
            api_keys::insert(tx, &key, &token.hash())?;
            Ok((key, token))
        })?;
        tracing::info!(key_id = %key.id, owner = %key.account_id, tenant = %key.tenant_id, by = %p.account_id, "api key created");
        let secret = token.expose().to_owned();
        Ok(CreatedApiKey {
            id: id(key.id),
            token: secret.clone(),
            key: secret,
        })
    }

    /// Revokes a key: it fails from the very next request on (S6).
    fn delete_api_key(ctx: &Context, input: DeleteApiKeyInput) -> AppResult<Success> {
        let p = ctx.caller()?;
        let key_id = KeyId::from(input.key_id.0);
        ctx.store.write(|tx| {
            let key = api_keys::get(tx, key_id)?.ok_or(AppError::NotFound("api key"))?;
            let owner =
                accounts::get(tx, key.key.account_id)?.ok_or(AppError::NotFound("api key"))?;
            let mut ents = caller_entities(tx, p)?;
            add_account(tx, &mut ents, &owner)?;
            let uid = ents.api_key(&key)?;
            let session = ctx.authz.session(p, &ents, ctx.now)?;
            session.check_visible(Action::ReadApiKey, &uid, "api key")?;
            session.check(Action::DeleteApiKey, &uid, RequestContext::Empty)?;
            api_keys::revoke(tx, key_id, Revocation::Revoked, ctx.now)
        })?;
        ctx.verifier.invalidate(Invalidation::Key(key_id));
        tracing::info!(key_id = %key_id, by = %p.account_id, "api key revoked");
        Ok(Success { success: true })
    }

    /// Creates a service account in a tenant (tenant admins only, S4). It is
    /// a TENANT_ADMIN there unless `role` says otherwise.
    fn create_service_account(
        ctx: &Context,
        input: CreateServiceAccountInput,
    ) -> AppResult<UserNode> {
        let p = ctx.caller()?;
        let name = DisplayName::parse("name", &input.name)?;
        let tenant = input.tenant_id.map_or(p.tenant_id, |t| TenantId::from(t.0));
        let role = input.role.map_or(Role::TenantAdmin, Role::from);
        let account = ctx.store.write(|tx| {
            tenants::get(tx, tenant)?.ok_or(AppError::NotFound("tenant"))?;
            let mut ents = caller_entities(tx, p)?;
            let uid = ents.add_tenant(tenant);
            let session = ctx.authz.session(p, &ents, ctx.now)?;
            session.check_visible(Action::ReadTenant, &uid, "tenant")?;
            session.check(
                Action::CreateServiceAccount,
                &uid,
                RequestContext::CreateServiceAccount { role },
            )?;
            let account = accounts::insert_service_account(tx, tenant, &name, ctx.now)?;
            memberships::insert(tx, tenant, account.id, role, ctx.now)?;
            Ok(account)
        })?;
        tracing::info!(account = %account.id, tenant = %tenant, by = %p.account_id, "service account created");
        Ok(UserNode::from(&account))
    }

    /// Deletes a service account and every key it holds: every client using
    /// one fails authentication on its next request (S8).
    fn delete_service_account(
        ctx: &Context,
        input: DeleteServiceAccountInput,
    ) -> AppResult<Success> {
        let p = ctx.caller()?;
        let account_id = AccountId::from(input.user_id.0);
        let revoked = ctx.store.write(|tx| {
            let account =
                teams::service_account_for(ctx, tx, p, account_id, Action::DeleteServiceAccount)?;
            let revoked = api_keys::revoke_all_of(
                tx,
                account.id,
                Revocation::ServiceAccountDeleted,
                ctx.now,
            )?;
            accounts::delete(tx, account.id)?;
            Ok(revoked)
        })?;
        ctx.verifier.invalidate(Invalidation::Account(account_id));
        tracing::info!(account = %account_id, keys_revoked = revoked, by = %p.account_id, "service account deleted");
        Ok(Success { success: true })
    }

    /// Creates a tenant (server admins); a person who creates one becomes
    /// its TENANT_ADMIN.
    fn create_tenant(ctx: &Context, input: CreateTenantInput) -> AppResult<TenantNode> {
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

    /// Joins a tenant with an invitation token; needs no other credential.
    /// Returns the new member's first API key, once.
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
