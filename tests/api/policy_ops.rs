//! Policies as the operator's lever: check, test, examples, live reload.
use std::path::Path;
use std::process::Command;

use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::{
    CREATE_KEY, TestApp, policy_dir_with, policy_dir_with_example, printed, spawn_app_with,
};

const BIN: &str = env!("CARGO_BIN_EXE_keyward");
use crate::helpers::REPO_POLICIES;

fn keyward(args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("KEYWARD_POLICIES")
        .output()
        .unwrap();
    let text = printed(&out);
    (out.status.success(), text)
}

#[test]
fn the_shipped_policies_check_and_pass_their_tests() {
    let (ok, out) = keyward(&["policy", "check", "--dir", REPO_POLICIES]);
    assert!(ok, "{out}");
    let (ok, out) = keyward(&["policy", "test", "--dir", REPO_POLICIES]);
    assert!(
        ok && out.contains(" 0 failed") && !out.contains("FAIL"),
        "{out}"
    );
}

#[test]
fn policy_init_writes_a_directory_that_checks_and_tests() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("p");
    let d = d.to_str().unwrap();
    assert!(keyward(&["policy", "init", d]).0);
    assert!(keyward(&["policy", "check", "--dir", d]).0);
    let (ok, out) = keyward(&["policy", "test", "--dir", d]);
    assert!(ok, "{out}");
    // It refuses to overwrite.
    let (ok, out) = keyward(&["policy", "init", d]);
    assert!(!ok, "{out}");
    // The same policies hash the same, written out or built in.
    let (_, checked) = keyward(&["policy", "check", "--dir", d]);
    let built_in = crate::helpers::spawn_app();
    let hash = healthz_hash(&built_in);
    assert!(
        checked.contains(&format!("(hash {hash})")),
        "{checked} vs {hash}"
    );
    let served = serve_with_path(&dir.path().join("p"));
    assert_eq!(healthz_hash(&served), hash);
}

fn serve_with(dir: &tempfile::TempDir) -> TestApp {
    serve_with_path(dir.path())
}

fn serve_with_path(dir: &Path) -> TestApp {
    let path = dir.to_owned();
    spawn_app_with(|c| c.policies = Some(path))
}

fn create_key(a: &TestApp, key: &str, user_id: &str, expires_at: Option<&str>) -> Value {
    a.gql(
        key,
        CREATE_KEY,
        json!({ "input": { "user_id": user_id, "name": "k", "expires_at": expires_at } }),
    )
}

fn denied_by(body: &Value) -> Value {
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        json!("FORBIDDEN"),
        "{body}"
    );
    body["errors"][0]["extensions"]["policies"].clone()
}

fn allowed(body: &Value) {
    assert!(body.get("errors").is_none(), "{body}");
}

#[test]
fn example_keys_expire_within_90_days() {
    let dir = policy_dir_with_example("keys-expire-within-90-days", &[]);
    let (ok, out) = keyward(&["policy", "test", "--dir", dir.path().to_str().unwrap()]);
    assert!(ok, "{out}");
    let a = serve_with(&dir);
    // The clock stands at 2030-01-01.
    assert_eq!(
        denied_by(&create_key(&a, &a.admin_key, &a.admin_id, None)),
        json!(["keys-expire-within-90-days"])
    );
    assert_eq!(
        denied_by(&create_key(
            &a,
            &a.admin_key,
            &a.admin_id,
            Some("2030-06-01T00:00:00+00:00")
        )),
        json!(["keys-expire-within-90-days"])
    );
    allowed(&create_key(
        &a,
        &a.admin_key,
        &a.admin_id,
        Some("2030-03-01T00:00:00+00:00"),
    ));
}

#[test]
fn example_service_keys_from_admins_user_keys_for_oneself() {
    // A permissive extra policy lets admins make keys for anyone; the example
    // overrides it.
    let lax = r#"@id("admins-make-any-key")
permit (principal, action == Keyward::Action::"CreateApiKey", resource)
when { principal.role == "TENANT_ADMIN" };
"#;
    // Changing behaviour on purpose means changing the cases with it.
    let lax_cases = "retires = [\"an admin may not make keys for another person\"]\n";
    let without = policy_dir_with(&[("lax.cedar", lax), ("tests/lax.toml", lax_cases)]);
    let a = serve_with(&without);
    let (user_id, _) = a.member("u@default", keyward::domain::model::Role::User);
    allowed(&create_key(&a, &a.admin_key, &user_id, None));

    let alone = policy_dir_with_example("admin-service-keys-own-user-keys", &[]);
    let (ok, out) = keyward(&["policy", "test", "--dir", alone.path().to_str().unwrap()]);
    assert!(ok, "{out}");
    let with = policy_dir_with_example(
        "admin-service-keys-own-user-keys",
        &[("lax.cedar", lax), ("tests/lax.toml", lax_cases)],
    );
    let a = serve_with(&with);
    let (user_id, _) = a.member("u@default", keyward::domain::model::Role::User);
    assert_eq!(
        denied_by(&create_key(&a, &a.admin_key, &user_id, None)),
        json!(["user-keys-only-for-oneself"])
    );
    allowed(&create_key(&a, &a.admin_key, &a.admin_id, None));
}

#[test]
fn example_read_only_users_cannot_create_keys() {
    let dir = policy_dir_with_example("read-only-users-cannot-create-keys", &[]);
    assert!(keyward(&["policy", "test", "--dir", dir.path().to_str().unwrap()]).0);
    let a = serve_with(&dir);
    let (ro, ro_key) = a.member("ro@default", keyward::domain::model::Role::ReadOnlyUser);
    assert_eq!(
        denied_by(&create_key(&a, &ro_key, &ro, None)),
        json!(["read-only-users-cannot-create-keys"])
    );
    let (u, u_key) = a.member("u@default", keyward::domain::model::Role::User);
    allowed(&create_key(&a, &u_key, &u, None));
}

#[test]
fn example_no_keys_without_expiry_in_one_tenant() {
    // The tenant id is only known once the server has bootstrapped, so the
    // policy is written after start and picked up by a reload.
    let dir = policy_dir_with_example("no-keys-without-expiry-in-tenant", &[]);
    assert!(keyward(&["policy", "test", "--dir", dir.path().to_str().unwrap()]).0);
    let a = serve_with(&dir);
    // The policy and its cases name the tenant; both are edited.
    for file in [
        "tests/no-keys-without-expiry-in-tenant.toml",
        "no-keys-without-expiry-in-tenant.cedar",
    ] {
        let file = dir.path().join(file);
        let text = std::fs::read_to_string(&file)
            .unwrap()
            .replace("\"acme\"", &format!("\"{}\"", a.tenant_id));
        std::fs::write(&file, text).unwrap();
    }
    a.policies.reload().unwrap();
    assert_eq!(
        denied_by(&create_key(&a, &a.admin_key, &a.admin_id, None)),
        json!(["no-keys-without-expiry-in-tenant"])
    );
    allowed(&create_key(
        &a,
        &a.admin_key,
        &a.admin_id,
        Some("2031-01-01T00:00:00+00:00"),
    ));
    let (_, other_admin, other_key) = a.other_tenant("other");
    allowed(&create_key(&a, &other_key, &other_admin, None));
}

#[test]
fn the_context_carries_the_calling_keys_age() {
    let stale = r#"@id("stale-keys-make-no-keys")
forbid (principal, action == Keyward::Action::"CreateApiKey", resource)
when { context has caller && context.caller.key_age_seconds > 86400 };
"#;
    let dir = policy_dir_with(&[("stale.cedar", stale)]);
    let a = serve_with(&dir);
    allowed(&create_key(&a, &a.admin_key, &a.admin_id, None));
    a.clock.advance(Duration::days(2));
    assert_eq!(
        denied_by(&create_key(&a, &a.admin_key, &a.admin_id, None)),
        json!(["stale-keys-make-no-keys"])
    );
}

/// `keyward serve --policies DIR` as a process (default log level, no
/// colour), and its log lines as they come.
fn serve_logging(
    dir: &tempfile::TempDir,
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader};
    let db = dir.path().join("k.db");
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--db",
            db.to_str().unwrap(),
            "--policies",
            dir.path().to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, rx)
}

fn healthz_hash(a: &TestApp) -> String {
    a.get("/healthz").json()["policies"]["hash"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn editing_the_policy_directory_reloads_the_running_server() {
    let dir = policy_dir_with(&[]);
    let a = serve_with(&dir);
    let before = a.get("/healthz").json();
    assert_eq!(
        before["policies"]["source"],
        json!(dir.path().display().to_string())
    );
    let (ro, ro_key) = a.member("ro@default", keyward::domain::model::Role::ReadOnlyUser);
    allowed(&create_key(&a, &ro_key, &ro, None));

    // As the README says: the example's policy and its cases. The cases go
    // first: the policy file is what the watcher reloads on.
    let example = Path::new(REPO_POLICIES).join("examples/read-only-users-cannot-create-keys");
    std::fs::copy(
        example.join("tests/read-only-users-cannot-create-keys.toml"),
        dir.path().join("tests/read-only.toml"),
    )
    .unwrap();
    std::fs::copy(
        example.join("read-only-users-cannot-create-keys.cedar"),
        dir.path().join("read-only.cedar"),
    )
    .unwrap();
    // The watcher debounces for a quarter second; wait (bounded) for the swap.
    let old = before["policies"]["hash"].as_str().unwrap().to_owned();
    let swapped = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        healthz_hash(&a) != old
    });
    assert!(swapped, "the edit was not picked up within 10 s");
    assert_eq!(
        denied_by(&create_key(&a, &ro_key, &ro, None)),
        json!(["read-only-users-cannot-create-keys"])
    );
    assert_eq!(a.policies.status().hash, healthz_hash(&a));
}

#[test]
fn an_invalid_edit_keeps_the_running_set() {
    let dir = policy_dir_with(&[]);
    let a = serve_with(&dir);
    let before = a.policies.status();
    std::fs::write(
        dir.path().join("broken.cedar"),
        "permit (principal, action, resource)\nwhen { principal.nope };\n",
    )
    .unwrap();
    let err = a.policies.reload().unwrap_err().to_string();
    let file = dir.path().join("broken.cedar").display().to_string();
    assert!(err.contains(&format!("{file}:2:")), "{err}");
    let after = a.policies.status();
    assert_eq!(
        (before.hash, before.loaded_at),
        (after.hash, after.loaded_at)
    );
    allowed(&create_key(&a, &a.admin_key, &a.admin_id, None));
}

#[test]
fn sighup_reloads_and_the_server_lives_on() {
    let dir = policy_dir_with(&[]);
    let (mut child, rx) = serve_logging(&dir);
    let hup = |pid: u32| {
        assert!(
            Command::new("kill")
                .args(["-HUP", &pid.to_string()])
                .status()
                .unwrap()
                .success()
        )
    };
    let wait_for = |needle: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => continue,
                Err(_) => break,
            }
        }
        panic!("no log line with {needle:?} after SIGHUP");
    };
    wait_for("keyward listening");
    hup(child.id());
    wait_for("policies unchanged");
    // An invalid file: the reload is refused with file and line, and the
    // server keeps serving.
    std::fs::write(
        dir.path().join("zz-broken.cedar"),
        "permit (principal, action, resource)\nwhen { principal.nope };\n",
    )
    .unwrap();
    hup(child.id());
    let refused = wait_for("refused");
    assert!(
        child.try_wait().unwrap().is_none(),
        "SIGHUP must not stop the server: {refused}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

/// The gate: a set that fails its test cases never goes live, at reload or
/// at start; the same set with its cases changed on purpose does.
#[test]
fn a_policy_edit_that_fails_the_cases_is_refused() {
    let dir = policy_dir_with(&[]);
    let a = serve_with(&dir);
    let running = a.policies.status();
    let (_, _, other_key) = a.other_tenant("other");
    let other_sa = a.service_account(&other_key, "other robot");
    let isolation = dir.path().join("tenant_isolation.cedar");
    let shipped = std::fs::read_to_string(&isolation).unwrap();
    let refused = |why: &str| {
        let err = a.policies.reload().unwrap_err();
        assert!(err.failed_tests, "{why}: {err}");
        assert_eq!(a.policies.status().hash, running.hash, "{why}");
        err.to_string()
    };

    // An editor's truncate-then-write save leaves the isolation file empty.
    std::fs::write(&isolation, "").unwrap();
    let err = refused("emptied tenant_isolation.cedar");
    assert!(
        err.contains("FAIL another tenant's admin role creates no service account here"),
        "{err}"
    );
    // The running set still keeps the tenants apart.
    let cross = a.gql(
        &a.admin_key,
        "mutation($i: update_service_account_input!) { update_service_account(input: $i) { id } }",
        json!({ "i": { "user_id": other_sa, "name": "x" } }),
    );
    assert_eq!(cross["errors"][0]["extensions"]["code"], json!("NOT_FOUND"));
    // The same set is refused at start, and by `policy check`.
    let d = dir.path().to_str().unwrap();
    let (ok, out) = keyward(&["policy", "check", "--dir", d]);
    assert!(!ok && out.contains("policy test FAIL"), "{out}");
    let (ok, out) = keyward(&[
        "serve",
        "--db",
        dir.path().join("k.db").to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--policies",
        d,
    ]);
    assert!(!ok && out.contains("fail their test cases"), "{out}");
    std::fs::write(&isolation, &shipped).unwrap();

    // A permit-all added beside the defaults.
    let permit_all = dir.path().join("zz-open.cedar");
    std::fs::write(
        &permit_all,
        "@id(\"open\")\npermit (principal, action, resource);\n",
    )
    .unwrap();
    refused("a permit-all added");
    std::fs::remove_file(&permit_all).unwrap();

    // A deliberate change: refused without its cases, accepted with them.
    let example = Path::new(REPO_POLICIES).join("examples/read-only-users-cannot-create-keys");
    std::fs::copy(
        example.join("read-only-users-cannot-create-keys.cedar"),
        dir.path().join("read-only.cedar"),
    )
    .unwrap();
    let err = refused("an example without its cases");
    assert!(
        err.contains("a read-only user creates a key for itself"),
        "{err}"
    );
    std::fs::copy(
        example.join("tests/read-only-users-cannot-create-keys.toml"),
        dir.path().join("tests/read-only.toml"),
    )
    .unwrap();
    // (The watcher may have swapped it in already; either way it is live.)
    a.policies.reload().unwrap();
    assert_ne!(a.policies.status().hash, running.hash);
}

/// One edit, one reload: keyward's own reads of the files must not look
/// like edits (they used to, and the log grew by four lines a second).
#[test]
fn an_edit_reloads_once_and_the_log_stays_quiet() {
    let dir = policy_dir_with(&[]);
    let (mut child, rx) = serve_logging(&dir);
    assert!(rx.iter().any(|l| l.contains("keyward listening")));
    // The start-up lines that follow (actix's workers) end before the edit.
    while rx
        .recv_timeout(std::time::Duration::from_millis(500))
        .is_ok()
    {}
    let extra = "@id(\"extra\")\nforbid (principal, action == Keyward::Action::\"CreateTenant\", resource)\nwhen { principal.owner.kind == \"SERVICE\" };\n";
    std::fs::write(dir.path().join("extra.cedar"), extra).unwrap();
    // Three seconds after the edit: the reload, and nothing else.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    let mut after = Vec::new();
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        if let Ok(line) = rx.recv_timeout(left) {
            after.push(line);
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        after
            .iter()
            .filter(|l| l.contains("policies reloaded"))
            .count(),
        1,
        "{after:#?}"
    );
    assert!(after.len() <= 3, "the log keeps growing: {after:#?}");
}
