//! One request's questions to Cedar: its principal, entities and time are
//! fixed; each answer is a proof (`Allowed`), a refusal, or a filter.
use cedar_policy::{EntityUid, Request};
use chrono::{DateTime, Utc};

use super::context::{Caller, RequestContext};
use super::{Action, Allowed, Authorizer, entities};
use crate::domain::principal::Actor;
use crate::error::{AppError, AppResult};

pub struct Session<'a> {
    pub(super) authz: &'a Authorizer,
    pub(super) principal: EntityUid,
    pub(super) caller: Option<Caller>,
    pub(super) now: DateTime<Utc>,
    pub(super) entities: std::sync::Arc<cedar_policy::Entities>,
    /// Who asks, named in every proof this session gives.
    pub(super) actor: Option<Actor>,
    pub(super) request_id: Option<std::sync::Arc<str>>,
}

/// The answer and the ids of the policies that decided it.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub allowed: bool,
    pub policies: Vec<String>,
}

impl Session<'_> {
    /// The same session, naming request `id` in its proofs.
    pub fn in_request(self, id: &str) -> Self {
        Self {
            request_id: Some(id.into()),
            ..self
        }
    }

    fn proof(&self, action: Action, policies: Vec<String>) -> Allowed {
        Allowed::by_policies(action, policies, self.actor, self.request_id.clone())
    }

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
            Ok(self.proof(action, v.policies))
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
            Ok(self.proof(action, v.policies))
        } else {
            Err(AppError::NotFound(what))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::DateTime;

    use super::*;
    use crate::authz::{EntitySet, PolicyFiles};
    use crate::domain::ids::{AccountId, KeyId, TenantId};
    use crate::domain::model::{AccountKind, Role};
    use crate::domain::principal::Principal;

    /// Callers of each kind and role, and everything they could act on.
    struct World {
        keys: Vec<Principal>,
        ents: EntitySet,
        resources: Vec<EntityUid>,
    }

    fn world() -> World {
        let (t1, t2) = (TenantId::random(), TenantId::random());
        let key = |account, kind, tenant, role, member_of: &[TenantId]| Principal {
            key_id: KeyId::random(),
            account_id: account,
            account_kind: kind,
            server_admin: false,
            tenant_id: tenant,
            role,
            key_created_at: DateTime::UNIX_EPOCH,
            key_expires_at: None,
            rotation: None,
            member_of: member_of.into(),
        };
        let (admin, user, robot) = (
            AccountId::random(),
            AccountId::random(),
            AccountId::random(),
        );
        let keys = vec![
            key(admin, AccountKind::User, t1, Role::TenantAdmin, &[t1]),
            key(user, AccountKind::User, t1, Role::User, &[t1, t2]),
            key(user, AccountKind::User, t2, Role::ReadOnlyUser, &[t1, t2]),
            key(robot, AccountKind::Service, t1, Role::User, &[t1]),
        ];
        let mut ents = EntitySet::new();
        let mut resources = vec![ents.add_server(), ents.add_tenant(t1), ents.add_tenant(t2)];
        for k in &keys {
            resources.push(ents.principal(k).unwrap());
            let a = ents.account(k.account_id, k.account_kind, false, &k.member_of);
            resources.push(a.unwrap());
        }
        World {
            keys,
            ents,
            resources,
        }
    }

    fn context(action: Action, k: &Principal) -> Option<RequestContext> {
        let role = Role::User;
        Some(match action {
            Action::AcceptInvitation => return None,
            Action::CreateServiceAccount => RequestContext::CreateServiceAccount { role },
            Action::UpdateMembership => RequestContext::UpdateMembership { role },
            Action::CreateInvitation => RequestContext::CreateInvitation {
                email: "a@b".into(),
                role,
            },
            Action::CreateApiKey => RequestContext::CreateApiKey {
                tenant: k.tenant_id,
                owner_kind: AccountKind::User,
                owner_is_caller: true,
                owner_role: Some(k.role),
                key_role: None,
                expires_at: None,
                via: crate::domain::model::Via::Api,
                replaces: None,
            },
            _ => RequestContext::Empty,
        })
    }

    /// Every action on every resource for every caller: the answer, or
    /// none where the request does not fit the schema.
    fn decisions(authz: &Authorizer, w: &World) -> BTreeMap<String, Option<(bool, Vec<String>)>> {
        let mut out = BTreeMap::new();
        for (i, k) in w.keys.iter().enumerate() {
            let session = authz.session(k, &w.ents, DateTime::UNIX_EPOCH).unwrap();
            for action in Action::all() {
                for r in &w.resources {
                    let Some(ctx) = context(action, k) else {
                        continue;
                    };
                    let v = session.decide(action, r, ctx).ok();
                    out.insert(
                        format!("{i} {action} {r}"),
                        v.map(|v| (v.allowed, v.policies)),
                    );
                }
            }
        }
        out
    }

    /// Release builds decide over entities and contexts not checked
    /// against the schema, adding the action groups themselves: wherever
    /// the checked request is valid, the answer is the same, with and
    /// without action groups in the schema.
    #[test]
    fn unchecked_decisions_are_the_checked_ones() {
        let mut grouped = PolicyFiles::embedded();
        grouped.schema.1 = grouped.schema.1.replace(
            "action CreateApiKey appliesTo {",
            "action KeyActions;\n  action CreateApiKey in [KeyActions] appliesTo {",
        );
        grouped.policies.push((
            "group.cedar".into(),
            "@id(\"no-key-actions\")\nforbid (principal, action in Keyward::Action::\"KeyActions\", resource) when { principal.role == \"USER\" };".into(),
        ));
        for files in [PolicyFiles::embedded(), grouped] {
            let w = world();
            let mut authz = Authorizer::compile(&files).unwrap();
            assert!(authz.check_built, "tests check what keyward builds");
            let checked = decisions(&authz, &w);
            authz.check_built = false;
            let unchecked = decisions(&authz, &w);
            let valid: Vec<_> = checked
                .iter()
                .filter_map(|(l, v)| Some((l, v.as_ref()?)))
                .collect();
            assert!(valid.len() > 50, "{} valid requests", valid.len());
            assert!(valid.iter().any(|(_, v)| v.0) && valid.iter().any(|(_, v)| !v.0));
            for (label, answer) in valid {
                assert_eq!(unchecked[label].as_ref(), Some(answer), "{label}");
            }
        }
    }
}
