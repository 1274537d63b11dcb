//! Every mutation, as the API reference: one line each, handing off to the
//! feature's file. The doc comments are the schema's descriptions.
use juniper::graphql_object;

use super::api_keys::{self, ApiKeyNode, CreateApiKeyInput, CreatedApiKey, DeleteApiKeyInput};
use super::audit;
use super::context::Context;
use super::invitations::{
    self, AcceptInvitationInput, AcceptedInvitation, CreateInvitationInput, CreatedInvitation,
    DeleteInvitationInput,
};
use super::key_lifecycle::{self, RotateApiKeyInput, RotatedApiKey, UpdateApiKeyInput};
use super::leaks::{self, ReportLeaksInput, ReportedLeaks};
use super::memberships::{self, DeleteMembershipInput, MembershipNode, SetMembershipRoleInput};
use super::service_accounts::{
    self, CreateServiceAccountInput, DeleteServiceAccountInput, UpdateServiceAccountInput,
};
use super::tenants::{self, CreateTenantInput, CreatedTenant};
use super::types::{Success, UserNode};
use super::webhooks::{
    self, CreateWebhookInput, CreatedWebhook, DeleteWebhookInput, DeliveryNode, RedeliverInput,
};
use crate::error::AppResult;

pub struct Mutation;

#[graphql_object(context = Context, rename_all = "none")]
impl Mutation {
    /// Creates a key for the caller itself or for a service account of the
    /// caller's tenant, bound to the caller's tenant, and returns its secret,
    /// this once, in both `token` and `key`.
    fn create_api_key(ctx: &Context, input: CreateApiKeyInput) -> AppResult<CreatedApiKey> {
        audit::run(ctx, input, api_keys::create)
    }

    /// Revokes a key: it fails from the very next request on.
    fn delete_api_key(ctx: &Context, input: DeleteApiKeyInput) -> AppResult<Success> {
        audit::run(ctx, input, api_keys::delete)
    }

    /// Replaces a key with a new one (same name, owner, tenant, role and
    /// expiry unless `expires_at` says otherwise), returned once. The old key
    /// keeps working for `grace_seconds`, then fails, naming its replacement.
    fn rotate_api_key(ctx: &Context, input: RotateApiKeyInput) -> AppResult<RotatedApiKey> {
        audit::run(ctx, input, key_lifecycle::rotate)
    }

    /// Renames a key, or disables it (it fails at once, until enabled
    /// again) or enables it.
    fn update_api_key(ctx: &Context, input: UpdateApiKeyInput) -> AppResult<ApiKeyNode> {
        audit::run(ctx, input, key_lifecycle::update)
    }

    /// Creates a service account in the caller's tenant (tenant admins only).
    /// It is a TENANT_ADMIN there unless `role` says otherwise.
    fn create_service_account(
        ctx: &Context,
        input: CreateServiceAccountInput,
    ) -> AppResult<UserNode> {
        audit::run(ctx, input, service_accounts::create)
    }

    /// Deletes a service account and every key it holds: every client using
    /// one fails authentication on its next request.
    fn delete_service_account(
        ctx: &Context,
        input: DeleteServiceAccountInput,
    ) -> AppResult<Success> {
        audit::run(ctx, input, service_accounts::delete)
    }

    /// Creates a tenant (server admins); a person who creates one becomes
    /// its TENANT_ADMIN and gets a first key for it, once.
    fn create_tenant(ctx: &Context, input: CreateTenantInput) -> AppResult<CreatedTenant> {
        audit::run(ctx, input, tenants::create)
    }

    /// Renames a service account (tenant admins).
    fn update_service_account(
        ctx: &Context,
        input: UpdateServiceAccountInput,
    ) -> AppResult<UserNode> {
        audit::run(ctx, input, service_accounts::update)
    }

    /// Invites someone by e-mail (tenant admins). The token is shown once and
    /// works once, for 7 days.
    fn create_membership_invitation(
        ctx: &Context,
        input: CreateInvitationInput,
    ) -> AppResult<CreatedInvitation> {
        audit::run(ctx, input, invitations::create)
    }

    /// Joins a tenant with an invitation token and returns the member's
    /// first API key for it, once. Without a key it creates the account of
    /// the invitation's e-mail, which must not exist yet; an existing account
    /// accepts with one of its own keys.
    fn accept_membership_invitation(
        ctx: &Context,
        input: AcceptInvitationInput,
    ) -> AppResult<AcceptedInvitation> {
        invitations::accept(ctx, input)
    }

    /// Revokes an unused invitation (tenant admins).
    fn delete_membership_invitation(
        ctx: &Context,
        input: DeleteInvitationInput,
    ) -> AppResult<Success> {
        audit::run(ctx, input, invitations::delete)
    }

    /// Changes a member's role (tenant admins). The last TENANT_ADMIN cannot
    /// be demoted.
    fn set_membership_role(
        ctx: &Context,
        input: SetMembershipRoleInput,
    ) -> AppResult<MembershipNode> {
        audit::run(ctx, input, memberships::set_role)
    }

    /// Removes a member (tenant admins, or the member itself) and revokes its
    /// keys for the tenant. The last TENANT_ADMIN cannot be removed.
    fn delete_membership(ctx: &Context, input: DeleteMembershipInput) -> AppResult<Success> {
        audit::run(ctx, input, memberships::delete)
    }

    /// Registers an endpoint for the tenant's events (tenant admins) and
    /// returns its signing secret, this once. Deliveries are JSON POSTs with
    /// `keyward-event`, `keyward-delivery` and `keyward-signature` headers.
    fn create_webhook(ctx: &Context, input: CreateWebhookInput) -> AppResult<CreatedWebhook> {
        audit::run(ctx, input, webhooks::create)
    }

    /// Deletes an endpoint and its deliveries (tenant admins).
    fn delete_webhook(ctx: &Context, input: DeleteWebhookInput) -> AppResult<Success> {
        audit::run(ctx, input, webhooks::delete)
    }

    /// Sends a delivery again from now on, with a fresh 24 hours of
    /// retries (tenant admins).
    fn redeliver_webhook_delivery(ctx: &Context, input: RedeliverInput) -> AppResult<DeliveryNode> {
        audit::run(ctx, input, webhooks::redeliver)
    }

    /// Reports secrets found somewhere they should not be: each live key
    /// the caller may revoke is revoked at once (`api_key.leaked` tells its
    /// tenant). Keys the caller may not see answer `false_positive`, as if
    /// they did not exist.
    fn report_leaked_api_keys(ctx: &Context, input: ReportLeaksInput) -> AppResult<ReportedLeaks> {
        audit::run(ctx, input, leaks::report)
    }
}
