//! What the audit log records of a refused GraphQL mutation: its action,
//! what it was about and its non-secret arguments (`ops::changes` writes
//! it; an allowed change's event is written by the operation itself).
use serde_json::Value;

use super::context::Context;
use super::scalars::Timestamp;
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

/// A role argument, as the audit log writes it.
pub fn role(r: Option<GqlRole>) -> Option<&'static str> {
    r.map(|r| Role::from(r).as_str())
}

/// A time argument, as the audit log writes it.
pub fn time(t: &Option<Timestamp>) -> Option<String> {
    t.as_ref().map(|t| crate::domain::time::to_sql(&t.0))
}
