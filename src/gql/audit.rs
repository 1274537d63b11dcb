//! What the audit log records of a refused GraphQL mutation: its action,
//! what it was about and its non-secret arguments (`ops::changes` writes
//! it; an allowed change's event is written by the operation itself).
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
use crate::authz::Action;
use crate::domain::model::Role;
use crate::error::AppResult;
use crate::ops::changes::{self, Attempt};

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
    let attempt = Attempt {
        action: I::ACTION,
        resource_type: I::RESOURCE,
        resource_id: input.resource_id(),
        details: input.details(),
    };
    let result = f(ctx, input);
    changes::refusals(&ctx.env, &ctx.caller, attempt, result)
}

fn role(r: Option<GqlRole>) -> Option<&'static str> {
    r.map(|r| Role::from(r).as_str())
}

fn time(t: &Option<Timestamp>) -> Option<String> {
    t.as_ref().map(|t| crate::domain::time::to_sql(&t.0))
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
