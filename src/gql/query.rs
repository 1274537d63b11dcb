//! Every query, as the API reference: one line each, handing off to the
//! feature's file. The doc comments are the schema's descriptions.
use juniper::{DefaultScalarValue, Executor, graphql_object};

use super::api_keys::{self, ApiKeyFilter, ApiKeyNode, ApiKeyOrder};
use super::audit_events::{self, AuditEventNode, AuditFilter};
use super::auth_info::{self, AuthInfo};
use super::context::Context;
use super::inputs::TenantScope;
use super::invitations::{self, InvitationNode};
use super::memberships::{self, MembershipNode};
use super::service_accounts::{self, ServiceAccountNode};
use super::tenants::{self, TenantFilter, TenantNode, TenantOrder};
use super::webhooks::{self, DeliveryNode, DeliveryWhere, WebhookNode};
use crate::error::AppResult;

pub struct Query;

#[graphql_object(context = Context, scalar = DefaultScalarValue, rename_all = "none")]
impl Query {
    /// Who the calling key stands for, and the tenant it works in.
    fn auth_info(ctx: &Context) -> AppResult<AuthInfo> {
        auth_info::get(ctx)
    }

    /// API key metadata, never a secret: the caller's own keys and, for
    /// tenant admins, every service-account key of the tenant, as the
    /// policies allow. Oldest first unless `order_by` says otherwise;
    /// `after` (a key's `cursor`) continues a walk in creation order.
    fn auth_api_key(
        ctx: &Context,
        #[graphql(name = "where")] filter: Option<ApiKeyFilter>,
        order_by: Option<Vec<ApiKeyOrder>>,
        limit: Option<i32>,
        offset: Option<i32>,
        after: Option<String>,
    ) -> AppResult<Vec<ApiKeyNode>> {
        api_keys::list(ctx, filter, order_by, limit, offset, after)
    }

    /// The tenants the caller may see: those its owner is a member of.
    fn tenant(
        ctx: &Context,
        #[graphql(name = "where")] filter: Option<TenantFilter>,
        order_by: Option<Vec<TenantOrder>>,
        limit: Option<i32>,
        offset: Option<i32>,
    ) -> AppResult<Vec<TenantNode>> {
        tenants::list(ctx, filter, order_by, limit, offset)
    }

    /// A tenant's members (default: the calling key's tenant), in the order
    /// they joined.
    fn membership(
        ctx: &Context,
        #[graphql(name = "where")] scope: Option<TenantScope>,
        limit: Option<i32>,
        offset: Option<i32>,
    ) -> AppResult<Vec<MembershipNode>> {
        memberships::list(ctx, scope, limit, offset)
    }

    /// A tenant's invitations, newest first (admins).
    fn membership_invitation(
        ctx: &Context,
        #[graphql(name = "where")] scope: Option<TenantScope>,
        limit: Option<i32>,
        offset: Option<i32>,
    ) -> AppResult<Vec<InvitationNode>> {
        invitations::list(ctx, scope, limit, offset)
    }

    /// A tenant's service accounts, oldest first (the first 100 unless
    /// `limit` says otherwise), each with the keys the caller may see
    /// (admins: all of them).
    fn service_account(
        ctx: &Context,
        executor: &Executor<'_, '_, Context>,
        #[graphql(name = "where")] scope: Option<TenantScope>,
        limit: Option<i32>,
        offset: Option<i32>,
    ) -> AppResult<Vec<ServiceAccountNode>> {
        let keys_each = service_accounts::keys_wanted(&executor.look_ahead())?;
        service_accounts::list(ctx, scope, limit, offset, keys_each)
    }

    /// The audit log, newest first: a tenant's (default: the calling key's;
    /// tenant admins) or, with `server: true`, the server's (server admins).
    /// Every mutation and every refused request is there, with the policies
    /// that decided it.
    fn audit_event(
        ctx: &Context,
        #[graphql(name = "where")] filter: Option<AuditFilter>,
        limit: Option<i32>,
        offset: Option<i32>,
    ) -> AppResult<Vec<AuditEventNode>> {
        audit_events::list(ctx, filter, limit, offset)
    }

    /// The calling key's tenant's webhooks, oldest first (tenant admins).
    fn webhook(
        ctx: &Context,
        limit: Option<i32>,
        offset: Option<i32>,
    ) -> AppResult<Vec<WebhookNode>> {
        webhooks::list(ctx, limit, offset)
    }

    /// Deliveries of the tenant's webhooks, newest first: pending, being
    /// sent, delivered, or failed after 24 hours of retries (tenant admins).
    fn webhook_delivery(
        ctx: &Context,
        #[graphql(name = "where")] filter: Option<DeliveryWhere>,
        limit: Option<i32>,
        offset: Option<i32>,
    ) -> AppResult<Vec<DeliveryNode>> {
        webhooks::deliveries(ctx, filter, limit, offset)
    }
}
