//! The evidence that an action was allowed. A Cedar decision
//! (`Session::check`, in this module's parent) makes one; the operator's own
//! local commands make one only with an `OperatorAct`, which only
//! `bootstrap.rs` can make. Every store function that changes data demands
//! a proof, so a change that never asked does not compile; and the write
//! transaction commits only when every proof it used has its audit event
//! (`store::Write`), so a decision cannot go unrecorded.
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::Action;
use crate::domain::principal::Actor;
use crate::error::{AppError, AppResult};

/// Who allowed it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Decider {
    /// The Cedar policies, for the calling key (or invitation, or scanner);
    /// the ids are the policies that permitted it.
    Policies(Vec<String>),
    /// The operator acting on the local database (`keyward init`, `tenant
    /// create`, the bootstrap of an empty database, bench fixtures): no key,
    /// no policy, the power of whoever can open the file.
    Operator,
}

/// The operator's warrant for one local command. Its field is private to
/// the bootstrap module's constructor: nothing else can make one, so no
/// adapter can mint an operator proof.
pub struct OperatorAct(());

impl OperatorAct {
    /// For `bootstrap.rs` (the operator's local commands) only: a unit test
    /// keeps every other file from calling it.
    pub(crate) fn on_the_local_database() -> Self {
        Self(())
    }
}

/// The warrant of the server's own background work (housekeeping, the
/// webhook workers, the verifier's bookkeeping of last use): changes that
/// no caller asked for, so no policy decides them, and none can give a
/// caller more. The store's functions for that work demand one; only those
/// entry points make one (a unit test keeps it so).
pub struct SystemTask {
    /// What the server is doing, for logs.
    pub what: &'static str,
}

impl SystemTask {
    pub(crate) fn named(what: &'static str) -> Self {
        Self { what }
    }
}

/// Proof that `action` was allowed, naming who asked. Not `Clone`: one
/// decision, one proof; its serial ties it to its audit event.
#[derive(Debug)]
pub struct Allowed {
    action: Action,
    by: Decider,
    serial: u64,
    actor: Option<Actor>,
    request_id: Option<Arc<str>>,
}

/// Tells proofs apart within a process (a write checks that each one it
/// used was audited).
static SERIAL: AtomicU64 = AtomicU64::new(1);

fn next_serial() -> u64 {
    SERIAL.fetch_add(1, Ordering::Relaxed)
}

impl Allowed {
    pub(super) fn by_policies(
        action: Action,
        policies: Vec<String>,
        actor: Option<Actor>,
        request_id: Option<Arc<str>>,
    ) -> Self {
        Self {
            action,
            by: Decider::Policies(policies),
            serial: next_serial(),
            actor,
            request_id,
        }
    }

    /// The operator's own commands on the local database.
    pub fn operator(_warrant: &OperatorAct, action: Action) -> Self {
        Self {
            action,
            by: Decider::Operator,
            serial: next_serial(),
            actor: None,
            request_id: None,
        }
    }

    /// A proof for unit tests of the store and the cache.
    #[cfg(test)]
    pub fn for_tests(action: Action) -> Self {
        Self::by_policies(action, Vec::new(), None, None)
    }

    pub fn action(&self) -> Action {
        self.action
    }

    /// Which decision this is, among this process's.
    pub fn serial(&self) -> u64 {
        self.serial
    }

    /// The key that asked (and its owner); `None` for the operator, an
    /// invitation's holder or a scanner.
    pub fn actor(&self) -> Option<Actor> {
        self.actor
    }

    /// The request it was decided in.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// Whether the operator allowed it (no policy was asked).
    pub fn by_operator(&self) -> bool {
        self.by == Decider::Operator
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
    /// The operator's cover whatever its local command does.
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
        let p = Allowed::by_policies(Action::ReadApiKey, vec!["x".into()], None, None);
        assert!(p.covers(&[Action::ReadApiKey]).is_ok());
        assert!(p.covers(&[Action::DeleteApiKey]).is_err());
        assert_eq!(p.policies(), ["x"]);
        let warrant = OperatorAct::on_the_local_database();
        assert!(
            Allowed::operator(&warrant, Action::CreateTenant)
                .covers(&[Action::CreateApiKey])
                .is_ok()
        );
        assert_ne!(Allowed::for_tests(Action::ReadApiKey).serial(), p.serial());
    }

    /// The files of `src/` that contain `needle`.
    fn files_containing(needle: &str) -> Vec<String> {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut users = Vec::new();
        let mut stack = vec![src.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|x| x == "rs")
                    && std::fs::read_to_string(&path).unwrap().contains(needle)
                {
                    users.push(path.strip_prefix(&src).unwrap().display().to_string());
                }
            }
        }
        users
    }

    /// The operator's proof bypasses Cedar, so only the operator's own
    /// local commands may make the warrant it needs; likewise the server's
    /// background work.
    #[test]
    fn only_local_operator_commands_make_operator_warrants() {
        let mut users = files_containing("on_the_local_database()");
        users.sort();
        assert_eq!(users, ["authz/allowed.rs", "bootstrap.rs"]);
        let mut system = files_containing("SystemTask::named(");
        system.sort();
        assert_eq!(
            system,
            [
                "authz/allowed.rs",
                "housekeeping.rs",
                "verify/mod.rs",
                "webhooks/worker.rs"
            ]
        );
    }
}
