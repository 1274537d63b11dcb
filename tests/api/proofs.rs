//! Proven policy edits: `keyward policy prove`, and the gate at start and
//! at reload, with cvc5 (installed by `make deps`).
use std::path::Path;
use std::process::Command;

use crate::helpers::{
    REPO_POLICIES, policy_dir_with, policy_dir_with_example, printed, serve_binary_env,
    spawn_app_with,
};

const BIN: &str = env!("CARGO_BIN_EXE_keyward");

fn prove(dir: &Path, env: &[(&str, &str)]) -> (i32, String) {
    let out = Command::new(BIN)
        .args(["policy", "prove", "--dir"])
        .arg(dir)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), printed(&out))
}

/// The default tenant_isolation.cedar with an exception that lets tenant
/// admins act on every tenant's service-account keys.
fn admins_everywhere() -> String {
    let shipped = keyward::authz::defaults::POLICIES
        .iter()
        .find(|(n, _)| n.contains("tenant_isolation"))
        .unwrap()
        .1;
    shipped.replace(
        "  resource in principal.tenant ||",
        "  resource in principal.tenant ||\n  (principal.role == \"TENANT_ADMIN\" && resource is Keyward::ApiKey && resource.owner.kind == \"SERVICE\") ||",
    )
}

#[test]
fn the_shipped_policies_and_every_example_pack_prove() {
    let (code, out) = prove(Path::new(REPO_POLICIES), &[]);
    assert_eq!(code, 0, "{out}");
    for inv in ["tenant-isolation", "role-ceiling", "never-errors"] {
        assert!(
            out.contains(&format!("holds  {inv}  ReadApiKey")),
            "{inv}: {out}"
        );
    }
    assert!(!out.contains("fails"), "{out}");
    // Every check is reported, and every one holds: 3 invariants × the 23
    // actions of the schema.
    let holds = out.lines().filter(|l| l.starts_with("  holds  ")).count();
    assert_eq!(holds, 69, "{out}");
    assert!(out.contains("69 checks, 0 failed"), "{out}");
    assert!(
        out.contains("holds  tenant-isolation  ManageWebhook"),
        "{out}"
    );
    assert!(
        out.contains("holds  role-ceiling  RevokeLeakedApiKey"),
        "{out}"
    );
    assert!(out.contains("holds  tenant-isolation  Forward"), "{out}");
    let examples = Path::new(REPO_POLICIES).join("examples");
    let mut packs = 0;
    for e in std::fs::read_dir(&examples).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        let dir = policy_dir_with_example(&name, &[]);
        let (code, out) = prove(dir.path(), &[]);
        assert_eq!(code, 0, "{name}: {out}");
        packs += 1;
    }
    assert!(packs >= 6, "{packs} packs");
}

#[test]
fn edits_that_break_isolation_fail_with_a_counterexample_naming_the_policy() {
    let everything = "@id(\"allow-everything\")\npermit (principal, action, resource);\n";
    let admins = admins_everywhere();
    for (what, files, blamed) in [
        (
            "emptied isolation",
            vec![("tenant_isolation.cedar", "// emptied\n")],
            "admin-manage-service-account-keys",
        ),
        (
            "admins act on every tenant's service-account keys",
            vec![("tenant_isolation.cedar", admins.as_str())],
            "admin-manage-service-account-keys",
        ),
        (
            "a permit of everything",
            vec![("everything.cedar", everything)],
            "allow-everything",
        ),
    ] {
        let dir = policy_dir_with(&files);
        let (code, out) = prove(dir.path(), &[]);
        assert_eq!(code, 1, "{what}: {out}");
        assert!(out.contains("fails  tenant-isolation"), "{what}: {out}");
        assert!(
            out.contains(&format!("policies: {blamed}")) || out.contains(&format!(", {blamed}")),
            "{what}: {out}"
        );
        assert!(
            out.contains("replayed: Allow by the policy set, Deny by the invariant"),
            "{what}: {out}"
        );
        assert!(
            out.contains("request:  request with principal Keyward::ApiKey"),
            "{what}: {out}"
        );
    }
}

#[test]
fn an_operator_invariant_the_set_breaks_fails() {
    let name = "read-only-keys-change-only-their-own-keys";
    let dir = policy_dir_with_example(name, &[]);
    // Without the example's policy (and its cases), the invariant fails:
    // read-only keys may leave a tenant.
    std::fs::remove_file(dir.path().join(format!("{name}.cedar"))).unwrap();
    std::fs::remove_file(dir.path().join("tests").join(format!("{name}.toml"))).unwrap();
    let (code, out) = prove(dir.path(), &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("fails  {name}  DeleteMembership")),
        "{out}"
    );
    assert!(out.contains("self-leave-tenant"), "{out}");
}

#[test]
fn no_solver_exits_2_and_the_server_starts_unproven_unless_proofs_are_required() {
    let nowhere = [("CVC5", "/nonexistent/cvc5")];
    let (code, out) = prove(Path::new(REPO_POLICIES), &nowhere);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("no SMT solver"), "{out}");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let db = db.to_str().unwrap();
    let server = serve_binary_env(&["serve", "--db", db, "--listen", "127.0.0.1:0"], &nowhere);
    let health: serde_json::Value = ureq::get(server.url.replace("/graphql", "/healthz"))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    assert_eq!(
        health["policies"]["proofs"]["state"], "not_proven",
        "{health}"
    );
    let logs = server.stop();
    assert!(logs.contains("were not proven"), "{logs}");
    let required = Command::new(BIN)
        .args([
            "serve",
            "--db",
            db,
            "--listen",
            "127.0.0.1:0",
            "--require-proofs",
        ])
        .envs(nowhere)
        .output()
        .unwrap();
    assert_eq!(required.status.code(), Some(1), "{}", printed(&required));
    assert!(
        printed(&required).contains("--require-proofs"),
        "{}",
        printed(&required)
    );
}

/// A policy no shipped test case covers that breaks isolation: every key
/// reads the server's audit log. The cases pass; the proof does not.
const SERVER_LOG_FOR_ALL: &str = "@id(\"everyone-reads-server-audit\")\npermit (principal, action == Keyward::Action::\"ReadAuditEvent\", resource is Keyward::Server);\n";

#[test]
fn the_gate_refuses_a_broken_set_at_start_and_at_reload() {
    // At start: exit 1 with the counterexample.
    let broken = policy_dir_with(&[("server_log.cedar", SERVER_LOG_FOR_ALL)]);
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("k.db");
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .arg("--policies")
        .arg(broken.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = printed(&out);
    assert!(text.contains("break keyward's invariants"), "{text}");
    assert!(
        text.contains("invariant tenant-isolation fails for ReadAuditEvent"),
        "{text}"
    );
    assert!(text.contains("everyone-reads-server-audit"), "{text}");
    // At reload: the running set stays, proven, and says so.
    let dir = policy_dir_with(&[]);
    let path = dir.path().to_owned();
    let a = spawn_app_with(move |c| c.policies = Some(path));
    let before = a.get("/healthz").json()["policies"].clone();
    assert_eq!(before["proofs"]["state"], "proven", "{before}");
    assert_eq!(
        before["proofs"]["invariants"],
        serde_json::json!(["tenant-isolation", "role-ceiling", "never-errors"])
    );
    assert!(
        before["proofs"]["solver"]
            .as_str()
            .unwrap()
            .contains("cvc5")
    );
    // An edit the cases miss and the proof catches.
    std::fs::write(dir.path().join("server_log.cedar"), SERVER_LOG_FOR_ALL).unwrap();
    let refused = a.policies.reload().unwrap_err();
    assert!(refused.failed_proofs, "{refused}");
    assert!(
        refused.to_string().contains("everyone-reads-server-audit"),
        "{refused}"
    );
    assert_eq!(a.get("/healthz").json()["policies"]["hash"], before["hash"]);
    // An edit the cases catch first is refused too; the set stays either way.
    std::fs::remove_file(dir.path().join("server_log.cedar")).unwrap();
    std::fs::write(
        dir.path().join("tenant_isolation.cedar"),
        admins_everywhere(),
    )
    .unwrap();
    assert!(a.policies.reload().is_err());
    assert_eq!(a.get("/healthz").json()["policies"]["hash"], before["hash"]);
    let user = a.member("u@default", keyward::domain::model::Role::User).1;
    let code = a.code(
        &user,
        "{ audit_event(where: {server: true}) { id } }",
        serde_json::json!({}),
    );
    assert_eq!(code, "FORBIDDEN", "the running set still decides");
}
