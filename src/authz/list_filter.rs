//! What a list may show, derived from the policies themselves: Cedar's
//! type-aware partial evaluation (TPE) of the list's read action, with the
//! resource unknown, leaves residual conditions over the resource's
//! attributes; these become a `Condition` (in disjunctive normal form) that
//! the store turns into SQL. Whatever a residual holds that this cannot
//! express makes the filter inexact: the store then returns a superset, and
//! each row of it is decided by Cedar as before (slower, never wrong).
//!
//! The partial evaluation runs for a stand-in principal whose ids are
//! placeholders (`Param`), so one result serves every caller of the same
//! shape (role, kind, server admin) and is cached per policy set. The
//! context is left unknown: a policy that reads it is decided row by row.
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use cedar_policy::pst::{self, BinaryOp, Expr, Literal, UnaryOp, Var};
use cedar_policy::{
    Decision, EntityTypeName, EntityUid, PartialEntities, PartialEntity, PartialEntityUid,
    PartialRequest, RestrictedExpression,
};

use super::condition::{Atom, Condition, Param, Tree, Val, dnf};
use super::{Action, Authorizer, entities};
use crate::domain::model::{AccountKind, Role};
use crate::domain::principal::Principal;
use crate::error::{AppError, AppResult};

/// The SQL-ready part of a list's filter, and whether it is the whole of it.
#[derive(Clone, Debug)]
pub struct ListFilter {
    pub condition: Condition,
    /// False when some residual could not be expressed: the condition is a
    /// superset, and each row must also be decided by Cedar.
    pub exact: bool,
    /// The policies whose residuals could not be expressed (for messages).
    pub untranslated: Vec<String>,
}

/// The placeholders' ids in the stand-in principal's entities.
const KEY: &str = "keyward-placeholder-key";
const OWNER: &str = "keyward-placeholder-owner";
const TENANT: &str = "keyward-placeholder-tenant";

/// The resource type of a list's read action.
fn resource_type(action: Action) -> Option<&'static str> {
    Some(match action {
        Action::ReadApiKey => "ApiKey",
        Action::ReadMembership => "Membership",
        Action::ReadInvitation => "Invitation",
        Action::ReadAccount => "Account",
        Action::ReadTenant => "Tenant",
        // Not a list: a proxied request, whose filter says whether every
        // route is allowed to a caller of this shape (then no decision is
        // needed per request).
        Action::Forward => "Route",
        _ => return None,
    })
}

/// What distinguishes one caller's residuals from another's.
type Shape = (Action, Role, AccountKind, bool);

/// Translations already made for one policy set.
#[derive(Default)]
pub struct ListFilters {
    cache: Mutex<HashMap<Shape, Arc<ListFilter>>>,
}

impl Authorizer {
    /// The filter for listing `action`'s resources as `p`, from the cache
    /// or by partial evaluation.
    pub fn list_filter(&self, action: Action, p: &Principal) -> AppResult<Arc<ListFilter>> {
        let shape = (action, p.role, p.account_kind, p.server_admin);
        let cache = &self.list_filters.cache;
        if let Some(f) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&shape) {
            return Ok(f.clone());
        }
        let f = Arc::new(self.derive_filter(shape)?);
        cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(shape, f.clone());
        Ok(f)
    }

    fn derive_filter(&self, (action, role, kind, server_admin): Shape) -> AppResult<ListFilter> {
        let internal = |e: &dyn std::fmt::Display| AppError::internal(format!("list filter: {e}"));
        let ty = resource_type(action)
            .ok_or_else(|| internal(&format!("{action} is not a list action")))?;
        let schema = &self.schema;
        let uid = |t: &str, id: &str| -> AppResult<EntityUid> {
            format!(r#"Keyward::{t}::"{id}""#)
                .parse()
                .map_err(|e| internal(&e))
        };
        let (key, owner, tenant) = (
            uid("ApiKey", KEY)?,
            uid("Account", OWNER)?,
            uid("Tenant", TENANT)?,
        );
        let none = || Some(BTreeMap::new());
        let key_entity = PartialEntity::new(
            key.clone(),
            Some(BTreeMap::from([
                (
                    "owner".into(),
                    RestrictedExpression::new_entity_uid(owner.clone()),
                ),
                (
                    "tenant".into(),
                    RestrictedExpression::new_entity_uid(tenant.clone()),
                ),
                (
                    "role".into(),
                    RestrictedExpression::new_string(role.as_str().into()),
                ),
            ])),
            Some(HashSet::from([tenant.clone()])),
            none(),
            schema,
        )
        .map_err(|e| internal(&e))?;
        // The owner's tenants are left unknown: `principal.owner in resource`
        // stays a condition the store answers from the memberships.
        let owner_entity = PartialEntity::new(
            owner,
            Some(BTreeMap::from([
                (
                    "kind".into(),
                    RestrictedExpression::new_string(kind.as_str().into()),
                ),
                (
                    "server_admin".into(),
                    RestrictedExpression::new_bool(server_admin),
                ),
            ])),
            None,
            none(),
            schema,
        )
        .map_err(|e| internal(&e))?;
        let tenant_entity =
            PartialEntity::new(tenant, none(), Some(HashSet::new()), none(), schema)
                .map_err(|e| internal(&e))?;
        let ents = PartialEntities::from_partial_entities(
            [key_entity, owner_entity, tenant_entity],
            schema,
        )
        .map_err(|e| internal(&e))?;
        let resource_ty: EntityTypeName =
            format!("Keyward::{ty}").parse().map_err(|e| internal(&e))?;
        let request = PartialRequest::new(
            PartialEntityUid::from_concrete(key),
            entities::action_uid(action.name()),
            PartialEntityUid::new(resource_ty, None),
            None,
            schema,
        )
        .map_err(|e| internal(&e))?;
        let policies = self.policies_for(action);
        let response = policies
            .tpe(&request, &ents, schema)
            .map_err(|e| internal(&e))?;
        match response.decision() {
            Some(Decision::Allow) => {
                return Ok(ListFilter {
                    condition: Condition::everything(),
                    exact: true,
                    untranslated: vec![],
                });
            }
            Some(Decision::Deny) => {
                return Ok(ListFilter {
                    condition: Condition::nothing(),
                    exact: true,
                    untranslated: vec![],
                });
            }
            None => {}
        }
        let mut untranslated = Vec::new();
        let mut permits = Vec::new();
        let mut forbids = Vec::new();
        if response.true_permits().next().is_some() {
            permits.push(Tree::Const(true));
        }
        for policy in response.residual_policies() {
            let translated = policy
                .to_pst()
                .ok()
                .and_then(|p| residual(&p))
                .and_then(|e| tree(&e, ty));
            match (policy.effect(), translated) {
                (cedar_policy::Effect::Permit, Some(t)) => permits.push(t),
                (cedar_policy::Effect::Forbid, Some(t)) => forbids.push(Tree::Not(Box::new(t))),
                // Untranslatable: a permit widens to everything, a forbid is
                // left to the per-row decision.
                (cedar_policy::Effect::Permit, None) => {
                    untranslated.push(policy.id().to_string());
                    permits.push(Tree::Const(true));
                }
                (cedar_policy::Effect::Forbid, None) => untranslated.push(policy.id().to_string()),
            }
        }
        let mut all = vec![Tree::Or(permits)];
        all.extend(forbids);
        match dnf(&Tree::And(all)) {
            Some(condition) => Ok(ListFilter {
                condition,
                exact: untranslated.is_empty(),
                untranslated,
            }),
            None => Ok(ListFilter {
                condition: Condition::everything(),
                exact: false,
                untranslated: vec!["(too many alternatives to translate)".into()],
            }),
        }
    }
}

/// A residual policy's expression (a single `when` clause).
fn residual(p: &pst::Policy) -> Option<Expr> {
    match p.body().clauses().as_slice() {
        [pst::Clause::When(e)] => Some((**e).clone()),
        [] => Some(Expr::Literal(Literal::Bool(true))),
        _ => None,
    }
}

/// `resource.a.b` as its path, if `e` is one.
fn resource_path(e: &Expr) -> Option<Vec<String>> {
    match e {
        Expr::Var(Var::Resource) => Some(vec![]),
        Expr::GetAttr { expr, attr } => {
            let mut p = resource_path(expr)?;
            p.push(attr.to_string());
            Some(p)
        }
        _ => None,
    }
}

/// A literal or a placeholder, if `e` is one.
fn value(e: &Expr) -> Option<Val> {
    match e {
        Expr::Literal(Literal::Bool(b)) => Some(Val::Bool(*b)),
        Expr::Literal(Literal::Long(n)) => Some(Val::Long(*n)),
        Expr::Literal(Literal::String(s)) => Some(Val::Str(s.to_string())),
        Expr::Literal(Literal::EntityUID(u)) => {
            let ty = u.ty.0.id.to_string();
            Some(match (ty.as_str(), u.eid.as_str()) {
                ("ApiKey", KEY) => Val::Param(Param::Key),
                ("Account", OWNER) => Val::Param(Param::Owner),
                ("Tenant", TENANT) => Val::Param(Param::Tenant),
                (t, id) => Val::Entity(type_name(t)?, id.to_owned()),
            })
        }
        _ => None,
    }
}

fn type_name(t: &str) -> Option<&'static str> {
    [
        "Server",
        "Tenant",
        "Account",
        "Membership",
        "Invitation",
        "ApiKey",
    ]
    .into_iter()
    .find(|n| *n == t)
}

/// A residual expression as a tree of atoms, or `None` where it holds
/// anything else.
fn tree(e: &Expr, resource_ty: &str) -> Option<Tree> {
    Some(match e {
        Expr::Literal(Literal::Bool(b)) => Tree::Const(*b),
        Expr::UnaryOp {
            op: UnaryOp::Not,
            expr,
        } => Tree::Not(Box::new(tree(expr, resource_ty)?)),
        Expr::BinaryOp { op, left, right } => match op {
            BinaryOp::And => Tree::And(vec![tree(left, resource_ty)?, tree(right, resource_ty)?]),
            BinaryOp::Or => Tree::Or(vec![tree(left, resource_ty)?, tree(right, resource_ty)?]),
            BinaryOp::Eq | BinaryOp::NotEq => {
                let atom = match (resource_path(left), resource_path(right)) {
                    (Some(p), None) => Atom::Eq(p, value(right)?),
                    (None, Some(p)) => Atom::Eq(p, value(left)?),
                    _ => return None,
                };
                if *op == BinaryOp::Eq {
                    Tree::Atom(atom)
                } else {
                    Tree::Not(Box::new(Tree::Atom(atom)))
                }
            }
            BinaryOp::In => match (resource_path(left), resource_path(right)) {
                (Some(p), None) => Tree::Atom(Atom::In(p, value(right)?)),
                (None, Some(p)) => Tree::Atom(Atom::Holds(value(left)?, p)),
                (None, None) => Tree::Atom(Atom::Member(value(left)?, value(right)?)),
                _ => return None,
            },
            // `[a, b].contains(resource.x)`: resource.x is one of them.
            BinaryOp::Contains => {
                let Expr::Set(items) = &**left else {
                    return None;
                };
                let p = resource_path(right)?;
                Tree::Or(
                    items
                        .iter()
                        .map(|i| Some(Tree::Atom(Atom::Eq(p.clone(), value(i)?))))
                        .collect::<Option<Vec<_>>>()?,
                )
            }
            _ => return None,
        },
        Expr::Is {
            expr,
            entity_type,
            in_expr: None,
        } if resource_path(expr) == Some(vec![]) => {
            Tree::Const(entity_type.0.id.to_string() == resource_ty)
        }
        _ => return None,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::authz::condition::Lit;
    use crate::domain::ids::{AccountId, KeyId, TenantId};

    /// A caller of this role and kind, with fresh ids and no tenants.
    pub(crate) fn principal(role: Role, kind: AccountKind) -> Principal {
        Principal {
            key_id: KeyId::random(),
            account_id: AccountId::random(),
            account_kind: kind,
            server_admin: false,
            tenant_id: TenantId::random(),
            role,
            key_created_at: chrono::DateTime::UNIX_EPOCH,
            key_expires_at: None,
            rotation: None,
            member_of: Vec::new().into(),
        }
    }

    fn eq(path: &[&str], v: Val) -> Lit {
        Lit {
            atom: Atom::Eq(path.iter().map(|s| s.to_string()).collect(), v),
            negated: false,
        }
    }

    fn within(path: &[&str], v: Val) -> Lit {
        Lit {
            atom: Atom::In(path.iter().map(|s| s.to_string()).collect(), v),
            negated: false,
        }
    }

    /// The shipped policies translate exactly, into what one would write.
    #[test]
    fn the_defaults_become_plain_conditions() {
        let a = Authorizer::embedded().unwrap();
        let admin = principal(Role::TenantAdmin, AccountKind::User);
        let f = a.list_filter(Action::ReadApiKey, &admin).unwrap();
        assert!(f.exact);
        let owner = || Val::Param(Param::Owner);
        let service = || Val::Str("SERVICE".into());
        assert_eq!(
            f.condition.any_of,
            vec![
                vec![eq(&["owner"], owner())],
                vec![
                    eq(&["owner", "kind"], service()),
                    within(&[], Val::Param(Param::Tenant))
                ],
            ]
        );
        let user = principal(Role::User, AccountKind::User);
        assert_eq!(
            a.list_filter(Action::ReadApiKey, &user)
                .unwrap()
                .condition
                .any_of,
            vec![vec![eq(&["owner"], owner())]]
        );
        assert_eq!(
            a.list_filter(Action::ReadInvitation, &user)
                .unwrap()
                .condition,
            Condition::nothing()
        );
        let f = a.list_filter(Action::ReadTenant, &user).unwrap();
        assert!(f.exact);
        assert_eq!(
            f.condition.any_of,
            vec![vec![Lit {
                atom: Atom::Holds(Val::Param(Param::Owner), vec![]),
                negated: false
            }]]
        );
    }

    #[test]
    fn a_policy_on_the_context_is_left_to_each_row() {
        let mut files = crate::authz::PolicyFiles::embedded();
        files.policies.push((
            "stale.cedar".into(),
            "@id(\"stale\")\nforbid (principal, action == Keyward::Action::\"ReadApiKey\", resource)\nwhen { context.caller.key_age_seconds > 86400 };".into(),
        ));
        let a = Authorizer::compile(&files).unwrap();
        let f = a
            .list_filter(
                Action::ReadApiKey,
                &principal(Role::User, AccountKind::User),
            )
            .unwrap();
        assert!(!f.exact);
        // The rest still narrows the rows.
        assert_eq!(f.condition.any_of.len(), 1);
    }

    #[test]
    fn normal_forms_absorb_and_drop_contradictions() {
        let a = Tree::Atom(Atom::Eq(vec!["x".into()], Val::Long(1)));
        let b = Tree::Atom(Atom::Eq(vec!["x".into()], Val::Long(2)));
        // (a ∨ b) ∧ a = a
        let t = Tree::And(vec![Tree::Or(vec![a.clone(), b.clone()]), a.clone()]);
        assert_eq!(dnf(&t).unwrap().any_of.len(), 1);
        // a ∧ ¬a = nothing
        let t = Tree::And(vec![a.clone(), Tree::Not(Box::new(a.clone()))]);
        assert_eq!(dnf(&t).unwrap(), Condition::nothing());
        // ¬(a ∨ b) = ¬a ∧ ¬b
        let t = Tree::Not(Box::new(Tree::Or(vec![a, b])));
        let c = dnf(&t).unwrap();
        assert_eq!(c.any_of.len(), 1);
        assert!(c.any_of[0].iter().all(|l| l.negated));
    }
}
