//! Policy test cases: the shipped ones (built into the binary) and the
//! operator's (`DIR/tests/*.toml`). A policy set must pass them all before it
//! is used: at start, at every reload, and in `keyward policy check` and
//! `policy test`. Entities and context are Cedar's own JSON format, written
//! as TOML, and parsed and checked against the schema by Cedar.
//!
//! Changing behaviour on purpose means changing its cases too, in one of two
//! ways: a case of yours with a shipped case's name runs in its place (so the
//! copies `keyward policy init` writes can be edited), and a file may list
//! cases it `retires` (the example packs use this for the defaults they change).
//!
//! ```toml
//! retires = ["some case name"]    # optional: cases of other files that no longer hold
//!
//! [defaults]                      # merged into every case's context
//! context = { caller = { key_age_seconds = 0 } }
//!
//! [[entities]]
//! uid = { type = "Keyward::Tenant", id = "acme" }
//! attrs = {}
//! parents = []
//!
//! [[case]]
//! name = "a user creates a key for itself"
//! principal = { type = "Keyward::ApiKey", id = "alice-key" }
//! action = "CreateApiKey"
//! resource = { type = "Keyward::Account", id = "alice" }
//! context = { tenant = { type = "Keyward::Tenant", id = "acme" }, owner_kind = "USER", owner_is_caller = true, owner_role = "USER" }
//! expect = "Allow"
//! policies = ["self-create-key"]  # optional: among the deciding policies; [] = none decided
//! ```
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use cedar_policy::{EntityId, EntityTypeName, EntityUid};
use serde::Deserialize;
use serde_json::Value;

use super::{Authorizer, PolicyError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    /// Names of cases elsewhere (shipped or not) that this file's policies
    /// are meant to change.
    #[serde(default)]
    retires: Vec<String>,
    #[serde(default)]
    defaults: Defaults,
    #[serde(default)]
    entities: Vec<Value>,
    #[serde(rename = "case", default)]
    cases: Vec<Case>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Defaults {
    #[serde(default)]
    context: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    principal: Uid,
    action: String,
    resource: Uid,
    #[serde(default)]
    context: serde_json::Map<String, Value>,
    expect: Expect,
    policies: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Uid {
    #[serde(rename = "type")]
    ty: String,
    id: String,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    Allow,
    Deny,
}

impl Uid {
    fn to_cedar(&self) -> Result<EntityUid, String> {
        let ty: EntityTypeName = self
            .ty
            .parse()
            .map_err(|e| format!("entity type {:?}: {e}", self.ty))?;
        Ok(EntityUid::from_type_name_and_id(
            ty,
            EntityId::new(&self.id),
        ))
    }
}

/// What running the cases found.
#[derive(Default)]
pub struct Report {
    pub passed: usize,
    pub failed: usize,
    /// One line per case and per problem, for the terminal.
    pub text: String,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.failed == 0
    }
}

/// The case files of `dir/tests`, in name order.
pub fn case_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("tests"))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

/// One file of cases, parsed, or why it could not be.
struct SuiteFile {
    label: String,
    parsed: Result<CaseFile, String>,
}

/// The cases a policy set must pass.
pub struct Suite {
    files: Vec<SuiteFile>,
    /// Shipped cases that yours replace or retire (reported, not run).
    set_aside: usize,
}

fn parse(text: &str) -> Result<CaseFile, String> {
    toml::from_str::<CaseFile>(text).map_err(|e| e.to_string())
}

impl Suite {
    /// The shipped cases and those of `dir/tests/*.toml` (none without a
    /// directory). A case of the directory named like a shipped one runs in
    /// its place; a case named in any file's `retires` does not run.
    pub fn for_dir(dir: Option<&Path>) -> Self {
        let own: Vec<SuiteFile> = dir
            .map(case_files)
            .unwrap_or_default()
            .into_iter()
            .map(|path| SuiteFile {
                label: path.display().to_string(),
                parsed: std::fs::read_to_string(&path)
                    .map_err(|e| e.to_string())
                    .and_then(|t| parse(&t)),
            })
            .collect();
        let own_names: HashSet<String> = own
            .iter()
            .filter_map(|f| f.parsed.as_ref().ok())
            .flat_map(|cf| cf.cases.iter().map(|c| c.name.clone()))
            .collect();
        let shipped = super::defaults::TESTS.iter().map(|(name, text)| SuiteFile {
            label: format!("{name} (shipped)"),
            parsed: parse(text),
        });
        let mut files: Vec<SuiteFile> = shipped.chain(own).collect();
        let retired: HashSet<String> = files
            .iter()
            .filter_map(|f| f.parsed.as_ref().ok())
            .flat_map(|cf| cf.retires.iter().cloned())
            .collect();
        let shipped_count = super::defaults::TESTS.len();
        let mut set_aside = 0;
        for (i, f) in files.iter_mut().enumerate() {
            let Ok(cf) = &mut f.parsed else { continue };
            let before = cf.cases.len();
            cf.cases.retain(|c| {
                !retired.contains(&c.name) && (i >= shipped_count || !own_names.contains(&c.name))
            });
            if i < shipped_count {
                set_aside += before - cf.cases.len();
            }
        }
        Self { files, set_aside }
    }

    /// Cases named more than once among the files that run: one name, one
    /// expectation.
    fn duplicates(&self) -> Vec<String> {
        let mut seen: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for f in &self.files {
            if let Ok(cf) = &f.parsed {
                for c in &cf.cases {
                    seen.entry(&c.name).or_default().push(&f.label);
                }
            }
        }
        seen.into_iter()
            .filter(|(_, where_)| where_.len() > 1)
            .map(|(name, where_)| format!("case {name:?} is defined in {}", where_.join(" and ")))
            .collect()
    }

    /// Runs every case against `authz`.
    pub fn run(&self, authz: &Authorizer) -> Report {
        let mut r = Report::default();
        for f in &self.files {
            let _ = writeln!(r.text, "{}", f.label);
            let cf = match &f.parsed {
                Ok(cf) => cf,
                Err(e) => {
                    r.failed += 1;
                    let _ = writeln!(r.text, "  FAIL cannot read the file: {e}");
                    continue;
                }
            };
            for case in &cf.cases {
                match run_case(authz, cf, case) {
                    Ok(()) => {
                        r.passed += 1;
                        let _ = writeln!(r.text, "  ok   {}", case.name);
                    }
                    Err(why) => {
                        r.failed += 1;
                        let _ = writeln!(r.text, "  FAIL {}: {why}", case.name);
                    }
                }
            }
        }
        for d in self.duplicates() {
            r.failed += 1;
            let _ = writeln!(r.text, "FAIL {d}");
        }
        if self.set_aside > 0 {
            let _ = writeln!(
                r.text,
                "({} shipped case(s) replaced or retired by yours)",
                self.set_aside
            );
        }
        let _ = writeln!(r.text, "{} passed, {} failed", r.passed, r.failed);
        r
    }

    /// `Ok` when `authz` passes every case; otherwise the failures, as the
    /// reason to refuse the set.
    pub fn gate(&self, authz: &Authorizer) -> Result<Report, PolicyError> {
        let report = self.run(authz);
        if report.ok() {
            return Ok(report);
        }
        let failures = report
            .text
            .lines()
            .filter(|l| l.trim_start().starts_with("FAIL"))
            .map(|l| format!("policy test {}", l.trim_start()))
            .collect();
        Err(PolicyError::tests(failures))
    }
}

fn run_case(authz: &Authorizer, cf: &CaseFile, case: &Case) -> Result<(), String> {
    let mut context = cf.defaults.context.clone();
    context.extend(case.context.clone());
    // Cases written before restricted keys: the new key has its owner's role.
    if case.action == "CreateApiKey"
        && !context.contains_key("key_role")
        && let Some(owner_role) = context.get("owner_role").cloned()
    {
        context.insert("key_role".into(), owner_role);
    }
    // Cases written before every path was decided as CreateApiKey: the key
    // comes from create_api_key.
    if case.action == "CreateApiKey" && !context.contains_key("via") {
        context.insert("via".into(), Value::String("api".into()));
    }
    let v = authz.decide_json(
        case.principal.to_cedar()?,
        &case.action,
        case.resource.to_cedar()?,
        Value::Object(context),
        Value::Array(cf.entities.clone()),
    )?;
    let got = if v.allowed {
        Expect::Allow
    } else {
        Expect::Deny
    };
    let decided = if v.policies.is_empty() {
        "no policy".to_owned()
    } else {
        v.policies.join(", ")
    };
    if got != case.expect {
        return Err(format!(
            "expected {:?}, got {got:?} (decided by: {decided})",
            case.expect
        ));
    }
    // Named policies must be among the deciders (another forbid agreeing
    // with a Deny does not break a case); `[]` means no policy decided it.
    let missing = match &case.policies {
        Some(want) if want.is_empty() && !v.policies.is_empty() => true,
        Some(want) => want.iter().any(|p| !v.policies.contains(p)),
        None => false,
    };
    if let (true, Some(want)) = (missing, &case.policies) {
        return Err(format!(
            "{got:?} as expected, but decided by [{decided}], which does not match [{}]",
            want.join(", ")
        ));
    }
    Ok(())
}
