//! Every authorization decision: Cedar policies validated against the schema
//! at start-up, asked one question per action. Rust builds the request and
//! obeys the answer; it holds no role checks of its own.
pub mod action;
pub mod defaults;
pub mod entities;
mod load;

use std::path::Path;

use cedar_policy::{
    Context, Decision, EntityUid, PolicySet, Request, RestrictedExpression, Schema,
};
use chrono::{DateTime, Utc};

pub use self::action::Action;
pub use self::entities::EntitySet;
pub use self::load::PolicyError;
use crate::domain::ids::TenantId;
use crate::domain::model::{AccountKind, Role};
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};

pub struct Authorizer {
    schema: Schema,
    policies: PolicySet,
    authorizer: cedar_policy::Authorizer,
    /// Where the policies came from, for the start-up log.
    pub source: String,
}

/// What a policy may read besides principal and resource.
pub enum RequestContext {
    Empty,
    CreateServiceAccount {
        role: Role,
    },
    UpdateMembership {
        role: Role,
    },
    CreateInvitation {
        email: String,
        role: Role,
    },
    CreateApiKey {
        tenant: TenantId,
        owner_kind: AccountKind,
        owner_is_caller: bool,
        owner_role: Option<Role>,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    },
}

impl RequestContext {
    fn into_cedar(self) -> AppResult<Context> {
        let s = |v: &str| RestrictedExpression::new_string(v.to_owned());
        let pairs: Vec<(String, RestrictedExpression)> = match self {
            Self::Empty => vec![],
            Self::CreateServiceAccount { role } | Self::UpdateMembership { role } => {
                vec![("role".into(), s(role.as_str()))]
            }
            Self::CreateInvitation { email, role } => {
                vec![
                    ("email".into(), s(&email)),
                    ("role".into(), s(role.as_str())),
                ]
            }
            Self::CreateApiKey {
                tenant,
                owner_kind,
                owner_is_caller,
                owner_role,
                expires_at,
                now,
            } => {
                let mut v = vec![
                    (
                        "tenant".into(),
                        RestrictedExpression::new_entity_uid(entities::tenant_uid(tenant)),
                    ),
                    ("owner_kind".into(), s(owner_kind.as_str())),
                    (
                        "owner_is_caller".into(),
                        RestrictedExpression::new_bool(owner_is_caller),
                    ),
                    ("owner_role".into(), s(entities::role_name(owner_role))),
                ];
                if let Some(at) = expires_at {
                    v.push(("expires_at".into(), s(&crate::store::time_to_sql(&at))));
                    v.push((
                        "lifetime_seconds".into(),
                        RestrictedExpression::new_long((at - now).num_seconds()),
                    ));
                }
                v
            }
        };
        // `Request::new` checks the context against the schema.
        Context::from_pairs(pairs).map_err(|e| AppError::internal(format!("cedar context: {e}")))
    }
}

impl Authorizer {
    /// The policies shipped in the binary.
    pub fn embedded() -> Result<Self, PolicyError> {
        let files: Vec<(String, String)> = defaults::POLICIES
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        let (schema, policies) = load::compile(defaults::SCHEMA_FILE, defaults::SCHEMA, &files)?;
        Ok(Self::new(schema, policies, "embedded defaults".to_owned()))
    }

    /// The operator's directory: `schema.cedarschema` and every `*.cedar` file.
    pub fn from_dir(dir: &Path) -> Result<Self, PolicyError> {
        let (schema, policies) = load::from_dir(dir)?;
        Ok(Self::new(schema, policies, dir.display().to_string()))
    }

    fn new(schema: Schema, policies: PolicySet, source: String) -> Self {
        Self {
            schema,
            policies,
            authorizer: cedar_policy::Authorizer::new(),
            source,
        }
    }

    /// Fixes the entities for one request; ask it as many questions as needed.
    pub fn session(&self, principal: &Principal, entities: &EntitySet) -> AppResult<Session<'_>> {
        self.session_as(entities::key_uid(principal.key_id), entities)
    }

    /// A session whose principal is not a key (an invitation's holder).
    pub fn session_as(&self, principal: EntityUid, entities: &EntitySet) -> AppResult<Session<'_>> {
        Ok(Session {
            authz: self,
            principal,
            entities: entities.build(&self.schema)?,
        })
    }
}

pub struct Session<'a> {
    authz: &'a Authorizer,
    principal: EntityUid,
    entities: cedar_policy::Entities,
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
        let action_uid = entities::action_uid(action.name());
        let context = context.into_cedar()?;
        let request = Request::new(
            self.principal.clone(),
            action_uid,
            resource.clone(),
            context,
            Some(&a.schema),
        )
        .map_err(|e| AppError::internal(format!("cedar request: {e}")))?;
        let response = a
            .authorizer
            .is_authorized(&request, &a.policies, &self.entities);
        for e in response.diagnostics().errors() {
            // A policy that errors is skipped by Cedar (so it cannot permit);
            // the operator should hear about it.
            tracing::warn!(%action, error = %e, "a policy failed to evaluate");
        }
        let mut policies: Vec<String> = response
            .diagnostics()
            .reason()
            .map(|p| p.to_string())
            .collect();
        policies.sort();
        Ok(Verdict {
            allowed: response.decision() == Decision::Allow,
            policies,
        })
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

    /// `Ok` when allowed, `Forbidden` naming the deciding policies otherwise.
    pub fn check(
        &self,
        action: Action,
        resource: &EntityUid,
        context: RequestContext,
    ) -> AppResult<()> {
        let v = self.decide(action, resource, context)?;
        if v.allowed {
            Ok(())
        } else {
            Err(AppError::Forbidden {
                message: format!("You may not {}.", action.describe()),
                policies: v.policies,
            })
        }
    }

    /// For ids a caller names: an id it may not see answers exactly as an id
    /// that does not exist, so no one can probe other tenants.
    pub fn check_visible(
        &self,
        action: Action,
        resource: &EntityUid,
        what: &'static str,
    ) -> AppResult<()> {
        if self.allows(action, resource)? {
            Ok(())
        } else {
            Err(AppError::NotFound(what))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_policies_validate() {
        Authorizer::embedded().unwrap();
    }

    #[test]
    fn every_action_is_in_the_schema() {
        let a = Authorizer::embedded().unwrap();
        let known: Vec<String> = a
            .schema
            .actions()
            .map(|u| u.id().unescaped().to_owned())
            .collect();
        for action in Action::ALL {
            assert!(
                known.contains(&action.name().to_owned()),
                "{action} missing from the schema"
            );
        }
        assert_eq!(
            known.len(),
            Action::ALL.len(),
            "the schema has actions the code never asks about"
        );
    }
}
