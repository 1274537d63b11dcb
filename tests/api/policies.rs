//! Who may do what, as a table (tinytodo-style), and proof that the policy
//! files, not the Rust code, decide it.
use serde_json::{Value, json};

use crate::helpers::{
    CREATE_KEY, CREATE_SERVICE_ACCOUNT, CREATE_TENANT, DELETE_KEY, DELETE_MEMBERSHIP,
    DELETE_SERVICE_ACCOUNT, INVITE, SET_ROLE, spawn_app_with,
};
use crate::world::{World, world};

/// One row: caller, operation, target, and the expected answer ("ok" or an
/// `extensions.code`).
type Row = (&'static str, &'static str, &'static str, &'static str);

const TABLE: &[Row] = &[
    // create_service_account
    ("admin", "create_service_account", "own tenant", "ok"),
    ("service", "create_service_account", "own tenant", "ok"),
    ("user", "create_service_account", "own tenant", "FORBIDDEN"),
    (
        "readonly",
        "create_service_account",
        "own tenant",
        "FORBIDDEN",
    ),
    (
        "other_tenant",
        "create_service_account",
        "default tenant",
        "NOT_FOUND",
    ),
    // create_api_key
    ("admin", "create_api_key", "self", "ok"),
    ("user", "create_api_key", "self", "ok"),
    ("readonly", "create_api_key", "self", "ok"),
    ("admin", "create_api_key", "service account", "ok"),
    ("service", "create_api_key", "service account", "ok"),
    ("user", "create_api_key", "service account", "FORBIDDEN"),
    ("readonly", "create_api_key", "service account", "FORBIDDEN"),
    ("admin", "create_api_key", "user", "FORBIDDEN"),
    (
        "other_tenant",
        "create_api_key",
        "service account",
        "NOT_FOUND",
    ),
    // delete_api_key
    ("user", "delete_api_key", "service account key", "NOT_FOUND"),
    (
        "readonly",
        "delete_api_key",
        "service account key",
        "NOT_FOUND",
    ),
    (
        "other_tenant",
        "delete_api_key",
        "service account key",
        "NOT_FOUND",
    ),
    ("service", "delete_api_key", "service account key", "ok"),
    // delete_service_account
    (
        "user",
        "delete_service_account",
        "service account",
        "FORBIDDEN",
    ),
    (
        "readonly",
        "delete_service_account",
        "service account",
        "FORBIDDEN",
    ),
    (
        "other_tenant",
        "delete_service_account",
        "service account",
        "NOT_FOUND",
    ),
    ("admin", "delete_service_account", "service account", "ok"),
    // create_tenant: server admins only
    ("admin", "create_tenant", "server", "ok"),
    ("other_tenant", "create_tenant", "server", "FORBIDDEN"),
    ("service", "create_tenant", "server", "FORBIDDEN"),
    ("user", "create_tenant", "server", "FORBIDDEN"),
    // invitations: tenant admins
    ("admin", "create_membership_invitation", "own tenant", "ok"),
    (
        "service",
        "create_membership_invitation",
        "own tenant",
        "ok",
    ),
    (
        "user",
        "create_membership_invitation",
        "own tenant",
        "FORBIDDEN",
    ),
    (
        "readonly",
        "create_membership_invitation",
        "own tenant",
        "FORBIDDEN",
    ),
    (
        "other_tenant",
        "create_membership_invitation",
        "default tenant",
        "NOT_FOUND",
    ),
    // memberships: admins change roles and remove; members may leave
    ("admin", "set_membership_role", "user", "ok"),
    ("user", "set_membership_role", "user", "FORBIDDEN"),
    ("readonly", "set_membership_role", "user", "FORBIDDEN"),
    ("other_tenant", "set_membership_role", "user", "NOT_FOUND"),
    ("admin", "delete_membership", "user", "ok"),
    ("user", "delete_membership", "user", "ok"),
    ("readonly", "delete_membership", "user", "FORBIDDEN"),
    ("other_tenant", "delete_membership", "user", "NOT_FOUND"),
    // A person in two tenants, calling with the key of the one where they
    // are TENANT_ADMIN: that role acts there only. Their own keys elsewhere
    // may be revoked (not minted).
    (
        "two_tenants",
        "create_service_account",
        "default tenant",
        "FORBIDDEN",
    ),
    (
        "two_tenants",
        "create_membership_invitation",
        "default tenant",
        "FORBIDDEN",
    ),
    (
        "two_tenants",
        "create_api_key",
        "self in default tenant",
        "FORBIDDEN",
    ),
    ("two_tenants", "set_membership_role", "user", "NOT_FOUND"),
    ("two_tenants", "delete_api_key", "own default key", "ok"),
];

fn run(w: &World, caller: &str, op: &str, target: &str) -> Value {
    let key = match caller {
        // user@default (USER there) is also TENANT_ADMIN of the other tenant.
        "two_tenants" => w.app.join(
            "user@default",
            &w.other_tenant_id,
            keyward::domain::model::Role::TenantAdmin,
        ),
        _ => w
            .callers()
            .iter()
            .find(|(n, _)| *n == caller)
            .unwrap()
            .1
            .to_owned(),
    };
    let me = w.app.ok(&key, "{ auth_info { user_id } }", json!({}))["auth_info"]["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (query, input) = match (op, target) {
        ("create_service_account", "own tenant") => {
            (CREATE_SERVICE_ACCOUNT, json!({ "name": "t" }))
        }
        ("create_service_account", "default tenant") => (
            CREATE_SERVICE_ACCOUNT,
            json!({ "name": "t", "tenant_id": w.app.tenant_id }),
        ),
        ("create_api_key", "self") => (CREATE_KEY, json!({ "user_id": me, "name": "t" })),
        ("create_api_key", "service account") => {
            (CREATE_KEY, json!({ "user_id": w.sa_id, "name": "t" }))
        }
        ("create_api_key", "user") => (CREATE_KEY, json!({ "user_id": w.user_id, "name": "t" })),
        ("create_api_key", "self in default tenant") => (
            CREATE_KEY,
            json!({ "user_id": me, "name": "t", "default_tenant_id": w.app.tenant_id }),
        ),
        ("delete_api_key", "own default key") => {
            let id = w.app.ok(&w.user_key, "{ auth_info { api_key_id } }", json!({}))["auth_info"]
                ["api_key_id"]
                .clone();
            (DELETE_KEY, json!({ "key_id": id }))
        }
        ("delete_api_key", "service account key") => (DELETE_KEY, json!({ "key_id": w.sa_key_id })),
        ("delete_service_account", "service account") => {
            (DELETE_SERVICE_ACCOUNT, json!({ "user_id": w.sa_id }))
        }
        ("create_tenant", "server") => (CREATE_TENANT, json!({ "name": "T", "slug": "t" })),
        ("create_membership_invitation", "own tenant") => (INVITE, json!({ "email": "t@t" })),
        ("create_membership_invitation", "default tenant") => (
            INVITE,
            json!({ "email": "t@t", "tenant_id": w.app.tenant_id }),
        ),
        ("set_membership_role", "user") => (
            SET_ROLE,
            json!({ "membership_id": w.app.membership_of(&w.user_id), "role": "READ_ONLY_USER" }),
        ),
        ("delete_membership", "user") => (
            DELETE_MEMBERSHIP,
            json!({ "membership_id": w.app.membership_of(&w.user_id) }),
        ),
        other => panic!("no such row: {other:?}"),
    };
    w.app.gql(&key, query, json!({ "input": input }))
}

#[test]
fn default_policies_decision_table() {
    let mut failures = Vec::new();
    for (caller, op, target, expected) in TABLE {
        // A fresh world per row: an allowed row may delete what the next needs.
        let w = world();
        let body = run(&w, caller, op, target);
        let got = body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or("ok")
            .to_owned();
        if got != *expected {
            failures.push(format!(
                "{caller} {op} {target}: expected {expected}, got {got}: {body}"
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// The defaults written to a directory, with `extra` files added and `drop` removed.
/// The defaults with `extra` files added and `drop` removed. A deliberate
/// change needs its cases changed with it, or the server refuses the set:
/// the test cases the change breaks are retired (`tests/changed.toml`), as
/// an operator who means it would do.
fn policy_dir(extra: &[(&str, &str)], drop: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    keyward::authz::defaults::write_to(dir.path()).unwrap();
    for (name, text) in extra {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    for name in drop {
        std::fs::remove_file(dir.path().join(name)).unwrap();
    }
    let Ok(authz) = keyward::authz::Authorizer::from_dir(dir.path()) else {
        return dir; // an invalid set: nothing to run the cases against
    };
    let report = keyward::authz::cases::Suite::for_dir(Some(dir.path())).run(&authz);
    let broken: Vec<String> = report
        .text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("FAIL "))
        .map(|l| format!("{:?}", l.split(": ").next().unwrap()))
        .collect();
    std::fs::write(
        dir.path().join("tests/changed.toml"),
        format!("retires = [{}]\n", broken.join(", ")),
    )
    .unwrap();
    assert!(keyward::authz::Authorizer::vetted(Some(dir.path())).is_ok());
    dir
}

#[test]
fn an_operator_policy_changes_the_answer() {
    let forbid = r#"
@id("read-only-users-cannot-create-keys")
forbid (principal, action == Keyward::Action::"CreateApiKey", resource)
when { context.owner_role == "READ_ONLY_USER" };
"#;
    let dir = policy_dir(&[("read_only.cedar", forbid)], &[]);
    let path = dir.path().to_owned();
    let app = spawn_app_with(|c| c.policies = Some(path));
    let (ro_id, ro_key) = app.member("ro@default", keyward::domain::model::Role::ReadOnlyUser);
    let (user_id, user_key) = app.member("u@default", keyward::domain::model::Role::User);
    let denied = app.gql(
        &ro_key,
        CREATE_KEY,
        json!({ "input": { "user_id": ro_id, "name": "n" } }),
    );
    assert_eq!(
        denied["errors"][0]["extensions"]["code"],
        json!("FORBIDDEN"),
        "{denied}"
    );
    assert_eq!(
        denied["errors"][0]["extensions"]["policies"],
        json!(["read-only-users-cannot-create-keys"])
    );
    app.ok(
        &user_key,
        CREATE_KEY,
        json!({ "input": { "user_id": user_id, "name": "n" } }),
    );
}

#[test]
fn without_the_admin_policy_admins_are_ordinary_users() {
    // No role check lives in Rust: take the admin file away and admins lose
    // their powers.
    let dir = policy_dir(&[], &["tenant_admin.cedar"]);
    let path = dir.path().to_owned();
    let app = spawn_app_with(|c| c.policies = Some(path));
    assert_eq!(
        app.code(
            &app.admin_key,
            CREATE_SERVICE_ACCOUNT,
            json!({ "input": { "name": "n" } })
        ),
        "FORBIDDEN"
    );
    app.ok(
        &app.admin_key,
        CREATE_KEY,
        json!({ "input": { "user_id": app.admin_id, "name": "own" } }),
    );
}

#[test]
fn an_invalid_policy_stops_the_server_with_file_and_line() {
    let broken = "// a comment\n@id(\"broken\")\npermit (principal, action, resource)\nwhen { principal.rol == \"TENANT_ADMIN\" };\n";
    let dir = policy_dir(&[("broken.cedar", broken)], &[]);
    let config = keyward::config::Config {
        policies: Some(dir.path().to_owned()),
        ..keyward::config::Config::for_tests(dir.path().join("k.db"))
    };
    let err = match keyward::startup::Application::build(&config, keyward::clock::Clock::system()) {
        Ok(_) => panic!("an invalid policy must stop the server"),
        Err(e) => e.to_string(),
    };
    let file = dir.path().join("broken.cedar").display().to_string();
    assert!(err.contains(&format!("{file}:4:")), "{err}");
    assert!(err.contains("principal.rol"), "{err}");
}
