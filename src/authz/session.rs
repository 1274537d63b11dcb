//! One request's questions to Cedar: its principal, entities and time are
//! fixed; each answer is a proof (`Allowed`), a refusal, or a filter.
use cedar_policy::{EntityUid, Request};
use chrono::{DateTime, Utc};

use super::context::{Caller, RequestContext};
use super::{Action, Allowed, Authorizer, entities};
use crate::error::{AppError, AppResult};

pub struct Session<'a> {
    pub(super) authz: &'a Authorizer,
    pub(super) principal: EntityUid,
    pub(super) caller: Option<Caller>,
    pub(super) now: DateTime<Utc>,
    pub(super) entities: cedar_policy::Entities,
}

/// The answer and the ids of the policies that decided it.
pub struct Verdict {
    pub allowed: bool,
    pub policies: Vec<String>,
}

impl Session<'_> {
    pub fn decide(
        &self,
        action: Action,
        resource: &EntityUid,
        context: RequestContext,
    ) -> AppResult<Verdict> {
        let a = &self.authz;
        let context = context.into_cedar(self.caller, self.now)?;
        let request = Request::new(
            self.principal.clone(),
            entities::action_uid(action.name()),
            resource.clone(),
            context,
            a.checked_against(),
        )
        .map_err(|e| AppError::internal(format!("cedar request: {e}")))?;
        Ok(a.verdict(&request, &self.entities))
    }

    pub fn allows(&self, action: Action, resource: &EntityUid) -> AppResult<bool> {
        Ok(self
            .decide(action, resource, RequestContext::Empty)?
            .allowed)
    }

    /// The rows whose resource (`uid` of each) the principal may `action`:
    /// one decision per row, over entities built once.
    pub fn filter<T>(&self, action: Action, rows: Vec<(T, EntityUid)>) -> AppResult<Vec<T>> {
        let mut kept = Vec::with_capacity(rows.len());
        for (row, uid) in rows {
            if self.allows(action, &uid)? {
                kept.push(row);
            }
        }
        Ok(kept)
    }

    /// The proof that `action` is allowed, or `Forbidden` naming the
    /// deciding policies.
    #[must_use = "the proof is what the store asks for; an unused check protects nothing"]
    pub fn check(
        &self,
        action: Action,
        resource: &EntityUid,
        context: RequestContext,
    ) -> AppResult<Allowed> {
        let v = self.decide(action, resource, context)?;
        if v.allowed {
            Ok(Allowed::by_policies(action, v.policies))
        } else {
            self.authz.metrics.denied(&v.policies);
            Err(AppError::Forbidden {
                message: format!("You may not {}.", action.describe()),
                policies: v.policies,
            })
        }
    }

    /// For an id the caller names: `NotFound(what)` unless it may `see` it,
    /// then the decision on `action`. See `check_visible`.
    pub fn check_named(
        &self,
        see: Action,
        what: &'static str,
        action: Action,
        resource: &EntityUid,
        context: RequestContext,
    ) -> AppResult<Allowed> {
        self.check_visible(see, resource, what)?;
        self.check(action, resource, context)
    }

    /// For ids a caller names: an id it may not see answers exactly as an id
    /// that does not exist, so no one can probe other tenants.
    pub fn check_visible(
        &self,
        action: Action,
        resource: &EntityUid,
        what: &'static str,
    ) -> AppResult<Allowed> {
        let v = self.decide(action, resource, RequestContext::Empty)?;
        if v.allowed {
            Ok(Allowed::by_policies(action, v.policies))
        } else {
            Err(AppError::NotFound(what))
        }
    }
}
