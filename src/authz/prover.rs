//! Proofs that a policy set keeps keyward's invariants, for every request
//! the schema allows: Cedar's symbolic compiler (cedar-policy-symcc) turns
//! "every request this set allows, the reference allows too" into an SMT
//! query, and cvc5 answers it. A set that fails one is refused before it
//! serves, with a counterexample replayed through the normal authorizer.
//!
//! Built in (not read from the operator's directory, so no edit weakens
//! them): tenant isolation, the role ceiling, and "no policy ever errors".
//! Operators add their own as reference sets in `DIR/invariants/*.cedar`.
use std::time::{Duration, Instant};

use cedar_policy::{Decision, Entities, PolicyId, PolicySet, Request, RequestEnv, Schema};
use cedar_policy_symcc::solver::LocalSolver;
use cedar_policy_symcc::{CedarSymCompiler, CompiledPolicy, CompiledPolicySet, Env};

use super::PolicyError;

/// A property a policy set must have.
pub struct Invariant {
    pub name: String,
    /// The property, in one line of words.
    pub statement: String,
    /// What the set must imply; `None`: no policy ever errors.
    reference: Option<PolicySet>,
}

/// The invariants built into keyward: (name, reference set or none).
const BUILT_IN: &[(&str, Option<&str>)] = &[
    (
        "tenant-isolation",
        Some(include_str!("invariants/tenant_isolation.cedar")),
    ),
    (
        "role-ceiling",
        Some(include_str!("invariants/role_ceiling.cedar")),
    ),
    ("never-errors", None),
];

/// The words of a reference file: its leading comment, joined.
fn statement(text: &str) -> String {
    text.lines()
        .map_while(|l| l.trim().strip_prefix("//"))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

impl Invariant {
    fn reference(name: &str, text: &str) -> Result<Self, PolicyError> {
        let reference = text
            .parse::<PolicySet>()
            .map_err(|e| PolicyError::one(format!("invariant {name}: {e}")))?;
        Ok(Self {
            name: name.to_owned(),
            statement: statement(text),
            reference: Some(reference),
        })
    }

    /// keyward's own invariants.
    pub fn built_in() -> Result<Vec<Self>, PolicyError> {
        BUILT_IN
            .iter()
            .map(|(name, text)| match text {
                Some(t) => Self::reference(name, t),
                None => Ok(Self {
                    name: (*name).to_owned(),
                    statement: "No policy ever errors, for any request the schema allows (an erroring policy is skipped: a forbid that errors protects nothing).".into(),
                    reference: None,
                }),
            })
            .collect()
    }

    /// An operator's invariant: a reference set in `file` (its base name
    /// names it).
    pub fn from_file(file: &str, text: &str) -> Result<Self, PolicyError> {
        let name = std::path::Path::new(file)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or(file);
        Self::reference(name, text)
    }
}

/// A request the set allows and the invariant forbids (or on which a
/// policy errors), as the solver built it.
#[derive(Clone, Debug)]
pub struct Counterexample {
    pub request: String,
    pub entities: Vec<String>,
    /// The policies that allowed it, replaying it through the normal
    /// authorizer (or, for never-errors, the one that errored).
    pub policies: Vec<String>,
    /// The replay's decisions: the live set's, and the reference's.
    pub live: Decision,
    pub reference: Option<Decision>,
}

impl std::fmt::Display for Counterexample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "    request:  {}", self.request)?;
        for e in &self.entities {
            writeln!(f, "    entity:   {e}")?;
        }
        let decided = match self.reference {
            Some(r) => format!("{:?} by the policy set, {r:?} by the invariant", self.live),
            None => format!("{:?}", self.live),
        };
        writeln!(f, "    replayed: {decided}")?;
        write!(f, "    policies: {}", self.policies.join(", "))
    }
}

/// One invariant for one action.
#[derive(Clone, Debug)]
pub struct Check {
    pub invariant: String,
    pub action: String,
    /// `None`: it holds.
    pub counterexample: Option<Counterexample>,
}

/// What a proof run found.
#[derive(Clone, Debug)]
pub struct ProofReport {
    pub solver: String,
    pub checks: Vec<Check>,
    pub took: Duration,
}

impl ProofReport {
    pub fn holds(&self) -> bool {
        self.checks.iter().all(|c| c.counterexample.is_none())
    }

    /// The invariants that hold for every action.
    pub fn proven(&self) -> Vec<String> {
        let mut names: Vec<String> = self.checks.iter().map(|c| c.invariant.clone()).collect();
        names.dedup();
        names
            .into_iter()
            .filter(|n| {
                self.checks
                    .iter()
                    .filter(|c| &c.invariant == n)
                    .all(|c| c.counterexample.is_none())
            })
            .collect()
    }

    /// `holds`/`fails` per invariant and action, with the counterexamples.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            let verdict = if c.counterexample.is_some() {
                "fails"
            } else {
                "holds"
            };
            out.push_str(&format!("  {verdict}  {}  {}\n", c.invariant, c.action));
            if let Some(x) = &c.counterexample {
                out.push_str(&format!("{x}\n"));
            }
        }
        out
    }

    /// The failures, one line each with the policies that broke it.
    pub fn failures(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter_map(|c| {
                let x = c.counterexample.as_ref()?;
                Some(format!(
                    "invariant {} fails for {}: {} (policies: {})",
                    c.invariant,
                    c.action,
                    x.request,
                    x.policies.join(", ")
                ))
            })
            .collect()
    }
}

/// Why no proof was made.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    /// There is no cvc5 to ask.
    #[error("no SMT solver: {0} (install cvc5, or set CVC5 to its path)")]
    NoSolver(String),
    /// The invariants or the set could not be compiled or solved.
    #[error("{0}")]
    Failed(String),
}

/// The solver to ask, as it names itself: `CVC5` names it, else `cvc5` on
/// the PATH.
fn solver_name() -> Result<String, ProofError> {
    let path = std::env::var("CVC5").unwrap_or_else(|_| "cvc5".into());
    let version = std::process::Command::new(&path)
        .arg("--version")
        .output()
        .map_err(|e| ProofError::NoSolver(format!("{path}: {e}")))?;
    let first = String::from_utf8_lossy(&version.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    Ok(format!("{path} ({first})"))
}

/// A solver process for one run (cvc5's `--tlimit` would end a long-lived
/// one; the limit is per query instead). Inside the proof's runtime: it
/// talks to the process through tokio.
fn solver() -> Result<LocalSolver, ProofError> {
    LocalSolver::cvc5_with_args(["--tlimit-per=20000"])
        .map_err(|e| ProofError::NoSolver(e.to_string()))
}

/// Proves `policies` against `invariants` over `schema`, for every request
/// environment (principal type, action, resource type) the schema allows.
pub fn prove(
    schema: &Schema,
    policies: &PolicySet,
    invariants: &[Invariant],
) -> Result<ProofReport, ProofError> {
    let started = Instant::now();
    let name = solver_name()?;
    // symcc is async (it talks to the solver process); it gets its own
    // runtime on its own thread, whatever thread asks.
    let checks = std::thread::scope(|s| {
        s.spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| ProofError::Failed(format!("proof runtime: {e}")))?;
            rt.block_on(async { run(solver()?, schema, policies, invariants).await })
        })
        .join()
        .unwrap_or_else(|_| Err(ProofError::Failed("the proof thread panicked".into())))
    })?;
    Ok(ProofReport {
        solver: name,
        checks,
        took: started.elapsed(),
    })
}

fn failed(e: impl std::fmt::Display) -> ProofError {
    ProofError::Failed(e.to_string())
}

async fn run(
    solver: LocalSolver,
    schema: &Schema,
    policies: &PolicySet,
    invariants: &[Invariant],
) -> Result<Vec<Check>, ProofError> {
    let mut symcc = CedarSymCompiler::new(solver).map_err(failed)?;
    // By action, so that a report reads the same every run.
    let mut envs: Vec<RequestEnv> = schema.request_envs().collect();
    envs.sort_by_cached_key(action_name);
    let mut checks: Vec<Check> = Vec::new();
    for inv in invariants {
        for env in &envs {
            let action = action_name(env);
            let found = match &inv.reference {
                Some(reference) => {
                    let live = CompiledPolicySet::compile(policies, env, schema).map_err(failed)?;
                    let r = CompiledPolicySet::compile(reference, env, schema)
                        .map_err(|e| failed(format!("invariant {}: {e}", inv.name)))?;
                    symcc
                        .check_implies_with_counterexample_opt(&live, &r)
                        .await
                        .map_err(failed)?
                        .map(|x| replay(&x, policies, Some(reference)))
                }
                None => never_errors(&mut symcc, env, schema, policies).await?,
            };
            // One check per invariant and action: an action with several
            // principal or resource types fails if any of them does.
            match checks
                .iter_mut()
                .find(|c| c.invariant == inv.name && c.action == action)
            {
                Some(c) => {
                    if c.counterexample.is_none() {
                        c.counterexample = found;
                    }
                }
                None => checks.push(Check {
                    invariant: inv.name.clone(),
                    action,
                    counterexample: found,
                }),
            }
        }
    }
    Ok(checks)
}

/// A counterexample of the first policy that can error for `env`.
async fn never_errors(
    symcc: &mut CedarSymCompiler<LocalSolver>,
    env: &RequestEnv,
    schema: &Schema,
    policies: &PolicySet,
) -> Result<Option<Counterexample>, ProofError> {
    for policy in policies.policies() {
        let compiled = CompiledPolicy::compile(policy, env, schema).map_err(failed)?;
        if let Some(x) = symcc
            .check_never_errors_with_counterexample_opt(&compiled)
            .await
            .map_err(failed)?
        {
            let mut found = replay(&x, policies, None);
            found.policies = vec![policy.id().to_string()];
            return Ok(Some(found));
        }
    }
    Ok(None)
}

fn action_name(env: &RequestEnv) -> String {
    env.action().id().escaped().to_string()
}

/// The counterexample as the normal authorizer sees it.
fn replay(x: &Env, live: &PolicySet, reference: Option<&PolicySet>) -> Counterexample {
    let authz = cedar_policy::Authorizer::new();
    let decide = |set: &PolicySet| authz.is_authorized(&x.request, set, &x.entities);
    let answer = decide(live);
    let mut policies: Vec<String> = answer
        .diagnostics()
        .reason()
        .map(PolicyId::to_string)
        .collect();
    policies.sort();
    Counterexample {
        request: describe(&x.request),
        entities: entities(&x.entities),
        policies,
        live: answer.decision(),
        reference: reference.map(|r| decide(r).decision()),
    }
}

fn describe(r: &Request) -> String {
    r.to_string()
}

/// Each entity the request needs (actions left out), as
/// `Type::"id" {attributes} in [parents]`.
fn entities(es: &Entities) -> Vec<String> {
    let uid = |v: &serde_json::Value| format!("{}::{}", v["type"].as_str().unwrap_or("?"), v["id"]);
    let mut out: Vec<String> = es
        .iter()
        .filter(|e| e.uid().type_name().basename() != "Action")
        .filter_map(|e| e.to_json_value().ok())
        .map(|j| {
            let parents: Vec<String> = j["parents"]
                .as_array()
                .into_iter()
                .flatten()
                .map(uid)
                .collect();
            let attrs: Vec<String> = j["attrs"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| match v.get("__entity") {
                    Some(e) => format!("{k}: {}", uid(e)),
                    None => format!("{k}: {v}"),
                })
                .collect();
            format!(
                "{} {{{}}} in [{}]",
                uid(&j["uid"]),
                attrs.join(", "),
                parents.join(", ")
            )
        })
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::PolicyFiles;

    fn prove_files(files: &PolicyFiles) -> ProofReport {
        let (schema, policies) = files.compile().unwrap();
        prove(&schema, &policies, &Invariant::built_in().unwrap()).unwrap()
    }

    #[test]
    fn the_shipped_policies_keep_every_invariant() {
        let report = prove_files(&PolicyFiles::embedded());
        assert!(report.holds(), "{}", report.text());
        assert_eq!(
            report.proven(),
            ["tenant-isolation", "role-ceiling", "never-errors"]
        );
        assert!(
            report.checks.len() >= 3 * 19,
            "{} checks",
            report.checks.len()
        );
    }

    #[test]
    fn without_tenant_isolation_a_counterexample_names_the_policy() {
        let mut files = PolicyFiles::embedded();
        for (name, text) in &mut files.policies {
            if name.contains("tenant_isolation") {
                *text = "// emptied\n".into();
            }
        }
        let report = prove_files(&files);
        assert!(!report.holds());
        let failures = report.failures().join("\n");
        assert!(
            failures.contains("invariant tenant-isolation fails"),
            "{failures}"
        );
        assert!(
            failures.contains("admin-manage-service-account-keys"),
            "{failures}"
        );
        // The replay agrees with the solver: allowed by the set, denied by
        // the invariant.
        for c in report
            .checks
            .iter()
            .filter_map(|c| c.counterexample.as_ref())
        {
            assert_eq!(c.live, Decision::Allow, "{c}");
            assert_eq!(c.reference, Some(Decision::Deny), "{c}");
            assert!(!c.policies.is_empty());
        }
    }
}
