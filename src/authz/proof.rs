//! The evidence that an action was allowed. Only a Cedar decision (in this
//! module's parent) or the operator's own local commands can make one, and
//! every store function that changes data demands one: a mutation that never
//! asked Cedar does not compile.
use super::Action;
use crate::error::{AppError, AppResult};

/// Who allowed it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Decider {
    /// The Cedar policies, for the calling key (or invitation); the ids are
    /// the policies that permitted it.
    Policies(Vec<String>),
    /// The operator acting on the local database (`keyward init`, `tenant
    /// create`, the bootstrap of an empty database, bench fixtures): no key,
    /// no policy, the power of whoever can open the file.
    Operator,
}

/// Proof that `action` was allowed. Not `Clone`: one decision, one use site.
#[derive(Debug)]
pub struct Allowed {
    action: Action,
    by: Decider,
}

impl Allowed {
    pub(super) fn by_policies(action: Action, policies: Vec<String>) -> Self {
        Self {
            action,
            by: Decider::Policies(policies),
        }
    }

    /// The operator's own commands on the local database. Caller:
    /// bootstrap.rs only (a unit test keeps it so).
    pub fn operator(action: Action) -> Self {
        Self {
            action,
            by: Decider::Operator,
        }
    }

    /// A proof for unit tests of the store and the cache.
    #[cfg(test)]
    pub fn for_tests(action: Action) -> Self {
        Self::by_policies(action, Vec::new())
    }

    pub fn action(&self) -> Action {
        self.action
    }

    /// The ids of the policies that permitted it (empty for the operator).
    pub fn policies(&self) -> &[String] {
        match &self.by {
            Decider::Policies(p) => p,
            Decider::Operator => &[],
        }
    }

    /// `Ok` when this proof is for one of `actions`: a store function states
    /// which decisions may lead to it, so a proof for reading cannot delete.
    pub fn covers(&self, actions: &[Action]) -> AppResult<()> {
        if self.by == Decider::Operator || actions.contains(&self.action) {
            Ok(())
        } else {
            Err(AppError::internal(format!(
                "a {} decision cannot authorise a change that needs one of {actions:?}",
                self.action
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_covers_only_its_own_action() {
        let p = Allowed::by_policies(Action::ReadApiKey, vec!["x".into()]);
        assert!(p.covers(&[Action::ReadApiKey]).is_ok());
        assert!(p.covers(&[Action::DeleteApiKey]).is_err());
        assert_eq!(p.policies(), ["x"]);
        assert!(
            Allowed::operator(Action::CreateTenant)
                .covers(&[Action::CreateApiKey])
                .is_ok()
        );
    }

    /// The operator's proof bypasses Cedar, so only the operator's own
    /// local commands may make one.
    #[test]
    fn only_local_operator_commands_make_operator_proofs() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut users = Vec::new();
        let mut stack = vec![src.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|x| x == "rs")
                    && std::fs::read_to_string(&path)
                        .unwrap()
                        .contains("Allowed::operator(")
                {
                    users.push(path.strip_prefix(&src).unwrap().display().to_string());
                }
            }
        }
        users.sort();
        assert_eq!(users, ["authz/proof.rs", "bootstrap.rs"]);
    }
}
