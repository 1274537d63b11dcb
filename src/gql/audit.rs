//! Audit events of GraphQL requests: an allowed change's event goes into
//! the change's own transaction (the store refuses to commit a decided
//! change without one); a refusal's is written on its own.
use serde_json::{Value, json};

use super::api_keys::{CreateApiKeyInput, DeleteApiKeyInput};
use super::context::Context;
use super::invitations::{CreateInvitationInput, DeleteInvitationInput};
use super::key_lifecycle::{RotateApiKeyInput, UpdateApiKeyInput};
use super::memberships::{DeleteMembershipInput, SetMembershipRoleInput};
use super::scalars::Timestamp;
use super::service_accounts::{
    CreateServiceAccountInput, DeleteServiceAccountInput, UpdateServiceAccountInput,
};
use super::tenants::CreateTenantInput;
use super::types::GqlRole;
use crate::authz::{Action, Allowed};
use crate::domain::events::EventType;
use crate::domain::ids::TenantId;
use crate::domain::model::Role;
use crate::error::{AppError, AppResult};
use crate::store::audit::{self, Event, Outcome};
use crate::store::{Write, webhooks};

/// What a change was made to, and its non-secret arguments.
pub struct Change {
    pub resource_type: &'static str,
    pub resource_id: String,
    /// Whose log it goes in (the resource's tenant).
    pub tenant: Option<TenantId>,
    pub details: Value,
}

/// Records, in `w`'s transaction, the change `proof` allowed (its actor,
/// request and policies are the proof's), and puts the webhook event it
/// fires (if any) in the outbox in the same transaction.
pub fn allowed(w: &Write, ctx: &Context, proof: &Allowed, change: Change) -> AppResult<()> {
    if let (Some(event), Some(tenant)) = (
        EventType::of_change(proof.action().name(), &change.details),
        change.tenant,
    ) {
        let mut object = change.details.clone();
        object["id"] = json!(change.resource_id);
        webhooks::fire(w, event, ctx.now, tenant, proof.actor(), object)?;
    }
    let event = Event::of(
        ctx.now,
        change.tenant,
        change.resource_type,
        change.resource_id,
        change.details,
    );
    audit::record(w, proof, event)
}

/// `result`, after recording it if it is a refusal or a failure, in the
/// caller's tenant's log. A hidden id and a missing one are both "failed,
/// not found": the log must not tell them apart either.
pub fn refusals<T>(
    ctx: &Context,
    action: Action,
    resource_type: &'static str,
    resource_id: Option<String>,
    details: Value,
    result: AppResult<T>,
) -> AppResult<T> {
    let tenant = ctx.principal().map(|p| p.tenant_id);
    refusals_in(
        ctx,
        tenant,
        action,
        resource_type,
        resource_id,
        details,
        result,
    )
}

/// `refusals`, into `tenant`'s log (`None`: the server's).
pub fn refusals_in<T>(
    ctx: &Context,
    tenant: Option<TenantId>,
    action: Action,
    resource_type: &'static str,
    resource_id: Option<String>,
    details: Value,
    result: AppResult<T>,
) -> AppResult<T> {
    let Err(e) = &result else {
        return result;
    };
    let (outcome, policies) = match e {
        AppError::Forbidden { policies, .. } => (Outcome::Denied, policies.clone()),
        AppError::Unauthenticated(_) => (Outcome::Denied, vec![]),
        _ => (Outcome::Failed, vec![]),
    };
    let p = ctx.principal();
    let event = Event {
        at: ctx.now,
        request_id: Some(ctx.request_id.clone()),
        actor_key: p.map(|p| p.key_id),
        actor_account: p.map(|p| p.account_id),
        tenant,
        action: action.name().to_owned(),
        resource_type: resource_type.to_owned(),
        resource_id,
        outcome,
        policies,
        details,
        message: Some(e.public_message()),
    };
    // The refusal stands whether or not its record could be written.
    if let Err(write) = ctx.store.write(|w| audit::refusal(w, &event)) {
        tracing::error!(error = %write.public_message(), "could not record a refusal in the audit log");
    }
    result
}

/// A mutation's input, as its refusal is recorded: its action, what it is
/// about, and its non-secret arguments.
pub trait Audited {
    const ACTION: Action;
    const RESOURCE: &'static str;
    fn resource_id(&self) -> Option<String> {
        None
    }
    fn details(&self) -> Value {
        Value::Object(Default::default())
    }
}

/// Runs mutation `f` on `input`, recording its refusal if it is refused.
pub fn run<I: Audited, T>(
    ctx: &Context,
    input: I,
    f: impl FnOnce(&Context, I) -> AppResult<T>,
) -> AppResult<T> {
    let (id, details) = (input.resource_id(), input.details());
    refusals(ctx, I::ACTION, I::RESOURCE, id, details, f(ctx, input))
}

fn role(r: Option<GqlRole>) -> Option<&'static str> {
    r.map(|r| Role::from(r).as_str())
}

fn time(t: &Option<Timestamp>) -> Option<String> {
    t.as_ref().map(|t| crate::store::time_to_sql(&t.0))
}

impl Audited for CreateApiKeyInput {
    const ACTION: Action = Action::CreateApiKey;
    const RESOURCE: &'static str = "api_key";
    fn details(&self) -> Value {
        json!({ "name": self.name, "owner": self.user_id.0.to_string(),
                "role": role(self.role), "expires_at": time(&self.expires_at) })
    }
}

impl Audited for DeleteApiKeyInput {
    const ACTION: Action = Action::DeleteApiKey;
    const RESOURCE: &'static str = "api_key";
    fn resource_id(&self) -> Option<String> {
        Some(self.key_id.0.to_string())
    }
}

impl Audited for RotateApiKeyInput {
    const ACTION: Action = Action::RotateApiKey;
    const RESOURCE: &'static str = "api_key";
    fn resource_id(&self) -> Option<String> {
        Some(self.key_id.0.to_string())
    }
    fn details(&self) -> Value {
        json!({ "grace_seconds": self.grace_seconds, "expires_at": time(&self.expires_at) })
    }
}

impl Audited for UpdateApiKeyInput {
    const ACTION: Action = Action::UpdateApiKey;
    const RESOURCE: &'static str = "api_key";
    fn resource_id(&self) -> Option<String> {
        Some(self.key_id.0.to_string())
    }
    fn details(&self) -> Value {
        json!({ "renamed_to": self.name, "disabled": self.disabled })
    }
}

impl Audited for CreateServiceAccountInput {
    const ACTION: Action = Action::CreateServiceAccount;
    const RESOURCE: &'static str = "service_account";
    fn details(&self) -> Value {
        json!({ "name": self.name, "role": role(self.role) })
    }
}

impl Audited for DeleteServiceAccountInput {
    const ACTION: Action = Action::DeleteServiceAccount;
    const RESOURCE: &'static str = "service_account";
    fn resource_id(&self) -> Option<String> {
        Some(self.user_id.0.to_string())
    }
}

impl Audited for UpdateServiceAccountInput {
    const ACTION: Action = Action::UpdateServiceAccount;
    const RESOURCE: &'static str = "service_account";
    fn resource_id(&self) -> Option<String> {
        Some(self.user_id.0.to_string())
    }
    fn details(&self) -> Value {
        json!({ "name": self.name })
    }
}

impl Audited for CreateTenantInput {
    const ACTION: Action = Action::CreateTenant;
    const RESOURCE: &'static str = "tenant";
    fn details(&self) -> Value {
        json!({ "name": self.name, "slug": self.slug })
    }
}

impl Audited for CreateInvitationInput {
    const ACTION: Action = Action::CreateInvitation;
    const RESOURCE: &'static str = "invitation";
    fn details(&self) -> Value {
        json!({ "email": self.email, "role": role(self.role) })
    }
}

impl Audited for DeleteInvitationInput {
    const ACTION: Action = Action::DeleteInvitation;
    const RESOURCE: &'static str = "invitation";
    fn resource_id(&self) -> Option<String> {
        Some(self.invitation_id.0.to_string())
    }
}

impl Audited for SetMembershipRoleInput {
    const ACTION: Action = Action::UpdateMembership;
    const RESOURCE: &'static str = "membership";
    fn resource_id(&self) -> Option<String> {
        Some(self.membership_id.0.to_string())
    }
    fn details(&self) -> Value {
        json!({ "role": role(Some(self.role)) })
    }
}

impl Audited for DeleteMembershipInput {
    const ACTION: Action = Action::DeleteMembership;
    const RESOURCE: &'static str = "membership";
    fn resource_id(&self) -> Option<String> {
        Some(self.membership_id.0.to_string())
    }
}
