//! Every authorization decision: Cedar policies validated against the schema
//! at start-up, asked one question per action. Rust builds the request and
//! obeys the answer; it holds no role checks of its own.
pub mod action;
mod allowed;
pub mod cases;
pub mod condition;
mod context;
pub mod defaults;
pub mod entities;
pub mod forward;
pub mod list_filter;
mod load;
pub mod prover;
pub mod reload;
mod session;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use cedar_policy::{ActionConstraint, Context, Decision, EntityUid, PolicySet, Request, Schema};
use chrono::{DateTime, Utc};

pub use self::action::Action;
pub use self::allowed::{Allowed, OperatorAct, SystemTask};
use self::context::Caller;
pub use self::context::RequestContext;
pub use self::entities::EntitySet;
pub use self::load::{PolicyError, PolicyFiles};
pub use self::session::{Session, Verdict};
use lru::LruCache;

use crate::domain::ids::{AccountId, KeyId, TenantId};
use crate::domain::model::{AccountKind, Role};
use crate::domain::principal::Principal;
use crate::error::AppResult;
use crate::metrics::Metrics;

pub struct Authorizer {
    schema: Schema,
    /// Per action, the policies whose action scope can match it (by name or
    /// through an action group): Cedar evaluates every policy it is given,
    /// so each request gets only these. Decisions are the same.
    by_action: HashMap<EntityUid, PolicySet>,
    authorizer: cedar_policy::Authorizer,
    /// Where the policies came from ("embedded defaults" or a directory).
    pub source: String,
    /// blake3 of the files the set was compiled from (names and contents).
    pub hash: String,
    metrics: Metrics,
    /// Lists' filters, translated from the policies once per caller shape.
    list_filters: list_filter::ListFilters,
    /// The schema's actions that are in action groups, added to every
    /// request's entities (which release builds make without the schema).
    action_groups: Vec<cedar_policy::Entity>,
    /// Check the entities and contexts keyward builds against the schema
    /// (debug builds, so every test; see `checked_against`).
    check_built: bool,
    /// Callers' own entities, built (`caller_entities`).
    callers: Mutex<LruCache<CallerKey, Arc<cedar_policy::Entities>>>,
    /// The whole set, for proofs.
    policies: PolicySet,
    /// Proxied requests' decisions (`forward`).
    routes: forward::RouteCache,
    /// What was proven of this set (`vetted` sets it).
    pub proofs: Proofs,
}

/// What the proofs said of a set that went live.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Proofs {
    /// Every invariant holds, for every request the schema allows.
    Proven {
        solver: String,
        invariants: Vec<String>,
        took_ms: u128,
    },
    /// No proof was made (no solver); why.
    NotProven { reason: String },
}

/// Everything a caller's entities are made of.
#[derive(Clone, PartialEq, Eq, Hash)]
struct CallerKey {
    key: KeyId,
    account: AccountId,
    kind: AccountKind,
    server_admin: bool,
    tenant: TenantId,
    role: Role,
    member_of: Arc<[TenantId]>,
}

impl CallerKey {
    fn of(p: &Principal) -> Self {
        Self {
            key: p.key_id,
            account: p.account_id,
            kind: p.account_kind,
            server_admin: p.server_admin,
            tenant: p.tenant_id,
            role: p.role,
            member_of: p.member_of.clone(),
        }
    }
}

/// How many callers' entities are kept.
const CALLERS_KEPT: std::num::NonZeroUsize = std::num::NonZeroUsize::new(10_000).unwrap();

impl Authorizer {
    /// Compiles and validates (strict) a set of policy files.
    pub fn compile(files: &PolicyFiles) -> Result<Self, PolicyError> {
        let (schema, policies) = files.compile()?;
        let by_action = slice_by_action(&schema, &policies)?;
        let not_yet = Proofs::NotProven {
            reason: "not run".into(),
        };
        let action_groups = schema
            .action_entities()
            .map_err(|e| PolicyError::one(format!("schema actions: {e}")))?
            .into_iter()
            .filter(|a| {
                let (_, _, parents) = a.clone().into_inner();
                !parents.is_empty()
            })
            .collect();
        Ok(Self {
            action_groups,
            check_built: cfg!(debug_assertions),
            callers: Mutex::new(LruCache::new(CALLERS_KEPT)),
            policies,
            routes: Mutex::new(LruCache::new(forward::ROUTES_KEPT)),
            proofs: not_yet,
            schema,
            by_action,
            authorizer: cedar_policy::Authorizer::new(),
            source: files.source.clone(),
            hash: files.hash(),
            metrics: Metrics::default(),
            list_filters: list_filter::ListFilters::default(),
        })
    }

    /// Counts its decisions into `metrics` from now on.
    pub fn observed_by(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// The policies shipped in the binary.
    pub fn embedded() -> Result<Self, PolicyError> {
        Self::compile(&PolicyFiles::embedded())
    }

    /// The operator's directory: `schema.cedarschema` and every `*.cedar` file.
    pub fn from_dir(dir: &Path) -> Result<Self, PolicyError> {
        Self::compile(&PolicyFiles::read_dir(dir)?)
    }

    /// The set of `dir` (the embedded defaults without one), compiled and
    /// run against the test cases (`cases::Suite`): the only way a set goes
    /// live, at start and at every reload.
    pub fn vetted(dir: Option<&Path>) -> Result<(Self, cases::Report), PolicyError> {
        let files = match dir {
            Some(d) => PolicyFiles::read_dir(d)?,
            None => PolicyFiles::embedded(),
        };
        let mut authz = Self::compile(&files)?;
        let report = cases::Suite::for_dir(dir).gate(&authz)?;
        authz.proofs = match authz.prove(&files) {
            Ok(r) if r.holds() => Proofs::Proven {
                invariants: r.proven(),
                solver: r.solver,
                took_ms: r.took.as_millis(),
            },
            Ok(r) => return Err(PolicyError::proofs(r.failures())),
            Err(prover::ProofError::NoSolver(why)) => {
                tracing::warn!(reason = %why, "the policies were not proven against keyward's invariants: no SMT solver (install cvc5)");
                Proofs::NotProven { reason: why }
            }
            Err(e @ prover::ProofError::Failed(_)) => {
                return Err(PolicyError::proofs(vec![e.to_string()]));
            }
        };
        Ok((authz, report))
    }

    /// Proves this set against keyward's invariants and the operator's
    /// (`files.invariants`).
    pub fn prove(&self, files: &PolicyFiles) -> Result<prover::ProofReport, prover::ProofError> {
        let mut invariants =
            prover::Invariant::built_in().map_err(|e| prover::ProofError::Failed(e.to_string()))?;
        for (file, text) in &files.invariants {
            invariants.push(
                prover::Invariant::from_file(file, text)
                    .map_err(|e| prover::ProofError::Failed(e.to_string()))?,
            );
        }
        prover::prove(&self.schema, &self.policies, &invariants)
    }

    /// Fixes the entities and the time for one request whose principal is
    /// the calling key; ask it as many questions as needed.
    pub fn session(
        &self,
        principal: &Principal,
        entities: &EntitySet,
        now: DateTime<Utc>,
    ) -> AppResult<Session<'_>> {
        let caller = Caller {
            created_at: principal.key_created_at,
            expires_at: principal.key_expires_at,
            grace_until: principal.rotation.map(|r| r.grace_until),
        };
        Ok(Session {
            authz: self,
            principal: entities::key_uid(principal.key_id),
            caller: Some(caller),
            now,
            entities: self.entities_for(entities)?,
            actor: Some(principal.into()),
            request_id: None,
        })
    }

    /// `set` as Cedar entities: the caller's from the memo, the rest added.
    fn entities_for(&self, set: &EntitySet) -> AppResult<Arc<cedar_policy::Entities>> {
        let schema = self.checked_against();
        let Some(p) = set.caller() else {
            return Ok(Arc::new(set.build(&self.action_groups, schema)?));
        };
        let base = self.caller_entities(p)?;
        Ok(match set.added_to(&base, schema)? {
            Some(all) => Arc::new(all),
            None => base,
        })
    }

    /// The calling key's own entities, built once per caller: they are a
    /// function of the verified principal alone, which the verifier keeps
    /// fresh (a change to the key, its owner's role or tenants gives a new
    /// principal, so a new memo key).
    fn caller_entities(&self, p: &Principal) -> AppResult<Arc<cedar_policy::Entities>> {
        let key = CallerKey::of(p);
        let lock = || self.callers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = lock().get(&key) {
            return Ok(e.clone());
        }
        let set = EntitySet::caller_only(p)?;
        let built = Arc::new(set.build(&self.action_groups, self.checked_against())?);
        lock().put(key, built.clone());
        Ok(built)
    }

    /// A session whose principal is not a key (an invitation's holder).
    pub fn session_as(
        &self,
        principal: EntityUid,
        entities: &EntitySet,
        now: DateTime<Utc>,
    ) -> AppResult<Session<'_>> {
        Ok(Session {
            authz: self,
            principal,
            caller: None,
            now,
            entities: Arc::new(entities.build(&self.action_groups, self.checked_against())?),
            actor: None,
            request_id: None,
        })
    }

    /// One raw question, for policy test cases: everything given as Cedar
    /// JSON, checked against the schema.
    pub fn decide_json(
        &self,
        principal: EntityUid,
        action: &str,
        resource: EntityUid,
        context: serde_json::Value,
        entities: serde_json::Value,
    ) -> Result<Verdict, String> {
        let action = entities::action_uid(action);
        let entities = cedar_policy::Entities::from_json_value(entities, Some(&self.schema))
            .map_err(|e| format!("entities: {e}"))?;
        let context = Context::from_json_value(context, Some((&self.schema, &action)))
            .map_err(|e| format!("context: {e}"))?;
        let request = Request::new(principal, action, resource, context, Some(&self.schema))
            .map_err(|e| format!("request: {e}"))?;
        Ok(self.verdict(&request, &entities))
    }

    /// The schema to check what keyward builds against: in debug builds
    /// (every test) only. Entities and contexts are made from typed values,
    /// so the check can only fail on a keyward bug, which the tests catch;
    /// release builds skip its cost on every request.
    fn checked_against(&self) -> Option<&Schema> {
        self.check_built.then_some(&self.schema)
    }

    /// The policies that can apply to `action` (none for an unknown one).
    fn policies_for(&self, action: Action) -> &PolicySet {
        static NONE: std::sync::LazyLock<PolicySet> = std::sync::LazyLock::new(PolicySet::new);
        self.by_action
            .get(&entities::action_uid(action.name()))
            .unwrap_or(&NONE)
    }

    fn verdict(&self, request: &Request, entities: &cedar_policy::Entities) -> Verdict {
        static NONE: std::sync::LazyLock<PolicySet> = std::sync::LazyLock::new(PolicySet::new);
        let policies = request
            .action()
            .and_then(|a| self.by_action.get(a))
            .unwrap_or(&NONE);
        let started = std::time::Instant::now();
        let response = self.authorizer.is_authorized(request, policies, entities);
        self.metrics.decided(started.elapsed());
        for e in response.diagnostics().errors() {
            // A policy that errors is skipped by Cedar (so it cannot permit);
            // the operator should hear about it.
            tracing::warn!(error = %e, "a policy failed to evaluate");
        }
        let mut policies: Vec<String> = response
            .diagnostics()
            .reason()
            .map(|p| p.to_string())
            .collect();
        policies.sort();
        Verdict {
            allowed: response.decision() == Decision::Allow,
            policies,
        }
    }
}

/// For each action of the schema, the policies that can apply to it.
fn slice_by_action(
    schema: &Schema,
    policies: &PolicySet,
) -> Result<HashMap<EntityUid, PolicySet>, PolicyError> {
    let problem = PolicyError::one;
    let actions = schema
        .action_entities()
        .map_err(|e| problem(format!("schema actions: {e}")))?;
    let mut out = HashMap::new();
    for action in schema.actions() {
        let mut scope: Vec<&EntityUid> = actions
            .ancestors(action)
            .map(|a| a.collect())
            .unwrap_or_default();
        scope.push(action);
        let mut set = PolicySet::new();
        for p in policies.policies() {
            let applies = match p.action_constraint() {
                ActionConstraint::Any => true,
                ActionConstraint::Eq(a) => &a == action,
                ActionConstraint::In(list) => list.iter().any(|a| scope.contains(&a)),
            };
            if applies {
                set.add(p.clone()).map_err(|e| problem(e.to_string()))?;
            }
        }
        out.insert(action.clone(), set);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_policies_validate() {
        Authorizer::embedded().unwrap();
    }

    #[test]
    fn policies_scoped_to_an_action_group_still_apply() {
        let mut files = PolicyFiles::embedded();
        files.schema.1 = files.schema.1.replace(
            "action CreateApiKey appliesTo {",
            "action KeyActions;\n  action CreateApiKey in [KeyActions] appliesTo {",
        );
        let group_forbid = "@id(\"no-key-actions\")\nforbid (principal, action in Keyward::Action::\"KeyActions\", resource);";
        files
            .policies
            .push(("group.cedar".into(), group_forbid.into()));
        let authz = Authorizer::compile(&files).unwrap();
        let uid = |ty: &str, id: &str| serde_json::json!({ "type": ty, "id": id });
        let entities = serde_json::json!([
            { "uid": uid("Keyward::Tenant", "t"), "attrs": {}, "parents": [] },
            { "uid": uid("Keyward::Account", "a"), "attrs": { "kind": "USER", "server_admin": false }, "parents": [uid("Keyward::Tenant", "t")] },
            { "uid": uid("Keyward::ApiKey", "k"), "attrs": { "owner": uid("Keyward::Account", "a"), "tenant": uid("Keyward::Tenant", "t"), "role": "USER" }, "parents": [uid("Keyward::Tenant", "t")] },
        ]);
        let context = serde_json::json!({
            "caller": { "key_age_seconds": 0 },
            "tenant": uid("Keyward::Tenant", "t"),
            "owner_kind": "USER", "owner_is_caller": true, "owner_role": "USER", "key_role": "USER", "via": "api",
        });
        let key: EntityUid = r#"Keyward::ApiKey::"k""#.parse().unwrap();
        let account: EntityUid = r#"Keyward::Account::"a""#.parse().unwrap();
        let v = authz
            .decide_json(
                key.clone(),
                "CreateApiKey",
                account.clone(),
                context,
                entities.clone(),
            )
            .unwrap();
        assert!(!v.allowed);
        assert_eq!(v.policies, ["no-key-actions"]);
        // Actions outside the group are untouched.
        let v = authz
            .decide_json(
                key,
                "ReadAccount",
                account,
                serde_json::json!({ "caller": { "key_age_seconds": 0 } }),
                entities,
            )
            .unwrap();
        assert!(v.allowed, "{:?}", v.policies);
    }

    #[test]
    fn every_action_is_in_the_schema() {
        let a = Authorizer::embedded().unwrap();
        let known: Vec<String> = a
            .schema
            .actions()
            .map(|u| u.id().unescaped().to_owned())
            .collect();
        for action in Action::all() {
            assert!(
                known.contains(&action.name().to_owned()),
                "{action} missing from the schema"
            );
        }
        assert_eq!(
            known.len(),
            Action::all().count(),
            "the schema has actions the code never asks about"
        );
    }
}
