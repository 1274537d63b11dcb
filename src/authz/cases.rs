//! Policy test cases kept beside the policies (`DIR/tests/*.toml`), run by
//! `keyward policy test`. Entities and context are Cedar's own JSON format,
//! written as TOML, and parsed and checked against the schema by Cedar.
//!
//! ```toml
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
//! policies = ["self-create-key"]  # optional: the deciding policies, exactly
//! ```
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use cedar_policy::{EntityId, EntityTypeName, EntityUid};
use serde::Deserialize;
use serde_json::Value;

use super::Authorizer;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
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

/// Runs every case of `files` against `authz`.
pub fn run(authz: &Authorizer, files: &[PathBuf]) -> Report {
    let mut r = Report::default();
    for file in files {
        let _ = writeln!(r.text, "{}", file.display());
        let parsed = std::fs::read_to_string(file)
            .map_err(|e| e.to_string())
            .and_then(|t| toml::from_str::<CaseFile>(&t).map_err(|e| e.to_string()));
        let cf = match parsed {
            Ok(cf) => cf,
            Err(e) => {
                r.failed += 1;
                let _ = writeln!(r.text, "  FAIL cannot read the file: {e}");
                continue;
            }
        };
        for case in &cf.cases {
            match run_case(authz, &cf, case) {
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
    let _ = writeln!(r.text, "{} passed, {} failed", r.passed, r.failed);
    r
}

fn run_case(authz: &Authorizer, cf: &CaseFile, case: &Case) -> Result<(), String> {
    let mut context = cf.defaults.context.clone();
    context.extend(case.context.clone());
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
    if let Some(want) = &case.policies {
        let mut want = want.clone();
        want.sort();
        if want != v.policies {
            return Err(format!(
                "{got:?} as expected, but decided by [{decided}], not [{}]",
                want.join(", ")
            ));
        }
    }
    Ok(())
}
