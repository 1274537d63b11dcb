//! Loading and validating policies, with every problem reported as
//! `file:line:col: message` followed by the offending line.
use std::fmt;
use std::path::Path;

use cedar_policy::{PolicyId, PolicySet, Schema, ValidationMode, Validator};
use miette::Diagnostic;

/// Why a policy set cannot be used. `problems` holds one entry per error.
#[derive(Debug)]
pub struct PolicyError {
    pub problems: Vec<String>,
    /// The set is valid but fails its test cases.
    pub failed_tests: bool,
    /// The set is valid and passes its cases, but breaks an invariant.
    pub failed_proofs: bool,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.failed_proofs {
            "the policies break keyward's invariants (see `keyward policy prove`)"
        } else if self.failed_tests {
            "the policies fail their test cases (if the change is intended, change the cases with it: see `keyward policy test`)"
        } else {
            "invalid policies"
        };
        write!(f, "{what}:\n{}", self.problems.join("\n"))
    }
}

impl std::error::Error for PolicyError {}

impl PolicyError {
    pub(super) fn one(problem: String) -> Self {
        Self::many(vec![problem])
    }

    pub(super) fn many(problems: Vec<String>) -> Self {
        Self {
            problems,
            failed_tests: false,
            failed_proofs: false,
        }
    }

    pub(super) fn tests(failures: Vec<String>) -> Self {
        Self {
            failed_tests: true,
            ..Self::many(failures)
        }
    }

    pub(super) fn proofs(failures: Vec<String>) -> Self {
        Self {
            failed_proofs: true,
            ..Self::many(failures)
        }
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

/// One diagnostic, placed at its first labelled span.
fn describe(file: &str, text: &str, diag: &dyn Diagnostic) -> String {
    let offset = diag
        .labels()
        .and_then(|mut l| l.next())
        .map_or(0, |l| l.offset());
    let (line, col) = line_col(text, offset);
    let mut out = format!("{file}:{line}:{col}: {diag}");
    if let Some(help) = diag.help() {
        out.push_str(&format!(" ({help})"));
    }
    if let Some(src) = text.lines().nth(line - 1) {
        out.push_str(&format!("\n    {}", src.trim_end()));
    }
    out
}

/// Parses, names and validates (strict mode) a schema and policy files given
/// as `(file name, text)`. A policy's id is its `@id("...")` annotation, or
/// `file#n` without one; ids must be unique across files.
pub fn compile(
    schema_file: &str,
    schema_text: &str,
    files: &[(String, String)],
) -> Result<(Schema, PolicySet), PolicyError> {
    let (schema, warnings) = Schema::from_cedarschema_str(schema_text)
        .map_err(|e| PolicyError::one(describe(schema_file, schema_text, &e)))?;
    for w in warnings {
        tracing::warn!("{}", describe(schema_file, schema_text, &w));
    }

    let mut problems = Vec::new();
    let mut all = PolicySet::new();
    // Which file (and its text) each policy id came from, to place validation errors.
    let mut origin: Vec<(PolicyId, usize)> = Vec::new();
    for (i, (file, text)) in files.iter().enumerate() {
        let set: PolicySet = match text.parse() {
            Ok(set) => set,
            Err(errs) => {
                let errs: cedar_policy::ParseErrors = errs;
                problems.extend(errs.iter().map(|e| describe(file, text, e)));
                continue;
            }
        };
        if set.templates().next().is_some() {
            problems.push(format!("{file}:1:1: policy templates are not supported"));
        }
        for (n, p) in set.policies().enumerate() {
            let id = PolicyId::new(
                p.annotation("id")
                    .map_or_else(|| format!("{file}#{n}"), str::to_owned),
            );
            if let Err(e) = all.add(p.new_id(id.clone())) {
                let offset = text.find(&format!("@id(\"{id}\")")).unwrap_or(0);
                let (line, col) = line_col(text, offset);
                problems.push(format!("{file}:{line}:{col}: {e} (is the @id used twice?)"));
                continue;
            }
            origin.push((id, i));
        }
    }
    if !problems.is_empty() {
        return Err(PolicyError::many(problems));
    }

    let result = Validator::new(schema.clone()).validate(&all, ValidationMode::Strict);
    let place = |id: &PolicyId| {
        origin
            .iter()
            .find(|(o, _)| o == id)
            .map(|(_, i)| (files[*i].0.as_str(), files[*i].1.as_str()))
            .unwrap_or(("?", ""))
    };
    for w in result.validation_warnings() {
        let (file, text) = place(w.policy_id());
        tracing::warn!("{}", describe(file, text, w));
    }
    for e in result.validation_errors() {
        let (file, text) = place(e.policy_id());
        problems.push(describe(file, text, e));
    }
    if problems.is_empty() {
        Ok((schema, all))
    } else {
        Err(PolicyError::many(problems))
    }
}

/// The text of a policy set: the schema and the policy files, by name.
#[derive(Clone, Debug)]
pub struct PolicyFiles {
    /// "embedded defaults" or the directory they were read from.
    pub source: String,
    pub schema: (String, String),
    pub policies: Vec<(String, String)>,
    /// The operator's invariants (`DIR/invariants/*.cedar`): reference sets
    /// the policies must imply.
    pub invariants: Vec<(String, String)>,
}

impl PolicyFiles {
    /// The defaults shipped in the binary.
    pub fn embedded() -> Self {
        Self {
            source: "embedded defaults".to_owned(),
            schema: (
                super::defaults::SCHEMA_FILE.to_owned(),
                super::defaults::SCHEMA.to_owned(),
            ),
            policies: super::defaults::POLICIES
                .iter()
                .map(|(n, t)| (n.to_string(), t.to_string()))
                .collect(),
            invariants: Vec::new(),
        }
    }

    /// `DIR/schema.cedarschema` and every `DIR/*.cedar`, in name order.
    pub fn read_dir(dir: &Path) -> Result<Self, PolicyError> {
        let read = |p: &Path| {
            std::fs::read_to_string(p)
                .map_err(|e| PolicyError::one(format!("{}: cannot read: {e}", p.display())))
        };
        let schema_path = dir.join(super::defaults::SCHEMA_FILE);
        let schema_text = read(&schema_path)?;
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| {
                PolicyError::one(format!("{}: cannot read directory: {e}", dir.display()))
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "cedar") && p.is_file())
            .collect();
        paths.sort();
        if paths.is_empty() {
            return Err(PolicyError::one(format!(
                "{}: no *.cedar policy files (with none, every request would be denied)",
                dir.display()
            )));
        }
        let policies = paths
            .iter()
            .map(|p| Ok((p.display().to_string(), read(p)?)))
            .collect::<Result<Vec<_>, PolicyError>>()?;
        let mut invariant_paths: Vec<_> = std::fs::read_dir(dir.join("invariants"))
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "cedar") && p.is_file())
                    .collect()
            })
            .unwrap_or_default();
        invariant_paths.sort();
        let invariants = invariant_paths
            .iter()
            .map(|p| Ok((p.display().to_string(), read(p)?)))
            .collect::<Result<Vec<_>, PolicyError>>()?;
        Ok(Self {
            source: dir.display().to_string(),
            schema: (schema_path.display().to_string(), schema_text),
            policies,
            invariants,
        })
    }

    /// blake3 of every file's base name and text, the schema first, then
    /// the policies by name: equal sets of files hash equal wherever they
    /// live and in whatever order they were read (the embedded defaults and
    /// a `policy init` directory hash alike).
    pub fn hash(&self) -> String {
        let base = |name: &str| -> String {
            Path::new(name)
                .file_name()
                .and_then(|b| b.to_str())
                .unwrap_or(name)
                .to_owned()
        };
        let mut policies: Vec<(String, &str)> = self
            .policies
            .iter()
            .map(|(n, t)| (base(n), t.as_str()))
            .collect();
        policies.sort();
        // An invariant is part of what was vetted: editing one reloads.
        policies.extend(
            self.invariants
                .iter()
                .map(|(n, t)| (format!("invariants/{}", base(n)), t.as_str())),
        );
        let mut h = blake3::Hasher::new();
        let schema = (base(&self.schema.0), self.schema.1.as_str());
        for (name, text) in std::iter::once(schema).chain(policies) {
            for part in [name.as_str(), text] {
                h.update(&(part.len() as u64).to_le_bytes());
                h.update(part.as_bytes());
            }
        }
        h.finalize().to_hex().to_string()
    }

    pub fn compile(&self) -> Result<(Schema, PolicySet), PolicyError> {
        compile(&self.schema.0, &self.schema.1, &self.policies)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::defaults;

    fn defaults_plus(name: &str, text: &str) -> Vec<(String, String)> {
        let mut files: Vec<(String, String)> = defaults::POLICIES
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        files.push((name.to_owned(), text.to_owned()));
        files
    }

    #[test]
    fn a_syntax_error_names_file_line_and_text() {
        let files = defaults_plus(
            "bad.cedar",
            "// ok\npermit (principal, action, resource)\nwhen { principal.role == };\n",
        );
        let err = compile("schema.cedarschema", defaults::SCHEMA, &files).unwrap_err();
        assert_eq!(err.problems.len(), 1, "{err}");
        assert!(err.problems[0].starts_with("bad.cedar:3:"), "{err}");
        assert!(
            err.problems[0].contains("when { principal.role == };"),
            "{err}"
        );
    }

    #[test]
    fn a_type_error_is_caught_in_strict_mode() {
        let files = defaults_plus(
            "typo.cedar",
            "\n@id(\"typo\")\npermit (principal, action == Keyward::Action::\"CreateApiKey\", resource)\nwhen { principal.rolle == \"TENANT_ADMIN\" };\n",
        );
        let err = compile("schema.cedarschema", defaults::SCHEMA, &files).unwrap_err();
        assert!(
            err.problems.iter().any(|p| p.starts_with("typo.cedar:4:")),
            "{err}"
        );
        assert!(err.to_string().contains("rolle"), "{err}");
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let files = defaults_plus(
            "dup.cedar",
            "@id(\"tenant-isolation\")\npermit (principal, action, resource);\n",
        );
        let err = compile("schema.cedarschema", defaults::SCHEMA, &files).unwrap_err();
        assert!(err.problems[0].starts_with("dup.cedar:1:"), "{err}");
    }

    #[test]
    fn a_broken_schema_is_reported_against_the_schema_file() {
        let err = compile(
            "schema.cedarschema",
            "namespace X { entity A = { a: };\n}",
            &[],
        )
        .unwrap_err();
        assert!(
            err.problems[0].starts_with("schema.cedarschema:1:"),
            "{err}"
        );
    }

    #[test]
    fn every_example_in_the_policy_readme_validates() {
        let readme = include_str!("../../policies/README.md");
        let examples: Vec<&str> = readme
            .split("```cedar\n")
            .skip(1)
            .filter_map(|b| b.split("```").next())
            .collect();
        assert!(examples.len() >= 3);
        for (i, ex) in examples.iter().enumerate() {
            if !ex.contains("@id") {
                continue; // a fragment, not a policy
            }
            let files = defaults_plus(&format!("example{i}.cedar"), ex);
            if let Err(e) = compile("schema.cedarschema", defaults::SCHEMA, &files) {
                panic!("policies/README.md example {i} does not validate: {e}\n{ex}");
            }
        }
    }

    #[test]
    fn the_hash_follows_the_content_not_the_place() {
        let a = PolicyFiles::embedded();
        let mut b = a.clone();
        b.source = "elsewhere".into();
        b.policies
            .iter_mut()
            .for_each(|(n, _)| *n = format!("/some/dir/{n}"));
        b.policies.reverse();
        assert_eq!(a.hash(), b.hash(), "place and order do not count");
        b.policies[0].1.push_str("\n// an edit\n");
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }
}
