//! The real Prefect 1.4.1 CLI against keyward, unchanged. `make test` builds
//! its virtualenv once under target/prefect-venv (`make prefect-venv`).
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::Duration;
use serde_json::json;

use crate::helpers::{AUTH_INFO, CREATE_KEY, TestApp, printed, spawn_app};

fn prefect_bin() -> PathBuf {
    let bin = std::env::var_os("KEYWARD_PREFECT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/prefect-venv/bin/prefect")
        });
    assert!(
        bin.exists(),
        "{} is missing: run `make prefect-venv` (make test does it for you)",
        bin.display()
    );
    bin
}

struct Cli<'a> {
    app: &'a TestApp,
    home: tempfile::TempDir,
    api: String,
}

impl<'a> Cli<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            home: tempfile::tempdir().unwrap(),
            api: format!("{}/graphql", app.url),
        }
    }

    /// Runs `prefect auth ARGS`; returns (success, stdout + stderr).
    fn auth(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new(prefect_bin())
            .arg("auth")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("PREFECT__BACKEND", "cloud")
            .env("PREFECT__CLOUD__API", &self.api)
            .env("LANG", "C.UTF-8")
            .output()
            .unwrap();
        let text = printed(&out);
        assert!(
            !text.contains("Traceback"),
            "prefect auth {args:?} crashed:\n{text}"
        );
        (out.status.success(), text)
    }

    fn ok(&self, args: &[&str]) -> String {
        let (ok, text) = self.auth(args);
        assert!(ok, "prefect auth {args:?} failed:\n{text}");
        text
    }

    fn unauthorized(&self, key: &str) {
        let fresh = Cli::new(self.app);
        let (ok, text) = fresh.auth(&["login", "--key", key]);
        assert!(!ok, "login with a bad key succeeded:\n{text}");
        assert!(
            text.contains("Unauthorized. Invalid Prefect Cloud API key."),
            "{text}"
        );
    }
}

fn key_from(text: &str) -> String {
    let at = text
        .find("Successfully created key: ")
        .expect("a created key")
        + "Successfully created key: ".len();
    text[at..].split_whitespace().next().unwrap().to_owned()
}

#[test]
fn the_prefect_1_cli_works_unchanged() {
    let app = spawn_app();
    let cli = Cli::new(&app);

    let out = cli.ok(&["login", "--key", &app.admin_key]);
    assert!(
        out.contains("Logged in to Prefect Cloud tenant 'Default' (default)"),
        "{out}"
    );
    let out = cli.ok(&["status"]);
    assert!(
        out.contains(&format!("You are logged in to tenant {}", app.tenant_id)),
        "{out}"
    );

    let ci = key_from(&cli.ok(&["create-key", "-n", "ci"]));
    assert!(ci.starts_with("kwu_"), "{ci}");
    app.ok(&ci, AUTH_INFO, json!({}));
    let out = cli.ok(&["create-key", "-n", "expiring", "-e", "2031-06-01"]);
    assert!(out.contains("that will expire"), "{out}");
    let expiring = key_from(&out);
    let me = app.ok(&expiring, AUTH_INFO, json!({}));
    assert!(
        me["auth_info"]["expires_at"]
            .as_str()
            .unwrap()
            .starts_with("2031-06-01T00:00:00"),
        "{me}"
    );

    let list = cli.ok(&["list-keys"]);
    for want in [
        "NAME",
        "EXPIRES AT",
        "bootstrap",
        "ci",
        "expiring",
        "NEVER",
        "2031-06-01",
    ] {
        assert!(list.contains(want), "list-keys lacks {want:?}:\n{list}");
    }
    let ci_id = list
        .lines()
        .find(|l| l.starts_with("ci "))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned();
    let out = cli.ok(&["revoke-key", "-i", &ci_id]);
    assert!(out.contains("Key successfully revoked!"), "{out}");
    let refused = app.gql(&ci, AUTH_INFO, json!({}));
    assert_eq!(
        refused["errors"][0]["extensions"]["code"],
        json!("UNAUTHENTICATED")
    );
    assert!(!cli.ok(&["list-keys"]).contains("ci "));

    let tenants = cli.ok(&["list-tenants"]);
    assert!(
        tenants.contains("default") && tenants.contains(&app.tenant_id),
        "{tenants}"
    );
    let out = cli.ok(&["switch-tenants", "--slug", "default"]);
    assert!(
        out.contains(&format!("Tenant switched to {}", app.tenant_id)),
        "{out}"
    );

    // Random, revoked and expired keys.
    let random =
        keyward::domain::api_key::Token::generate(keyward::domain::model::AccountKind::User);
    cli.unauthorized(random.expose());
    cli.unauthorized(&ci);
    let input = json!({ "input": { "user_id": app.admin_id, "name": "short", "expires_at": "2030-01-01T01:00:00+00:00" } });
    let short = app.ok(&app.admin_key, CREATE_KEY, input)["create_api_key"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    app.clock.advance(Duration::hours(2));
    cli.unauthorized(&short);
}

#[test]
fn the_prefect_cli_can_use_the_bare_host() {
    let app = spawn_app();
    let mut cli = Cli::new(&app);
    cli.api = app.url.clone();
    let out = cli.ok(&["login", "--key", &app.admin_key]);
    assert!(
        out.contains("Logged in to Prefect Cloud tenant 'Default'"),
        "{out}"
    );
}

#[test]
fn the_prefect_cli_lists_and_switches_tenants() {
    // A user of two tenants whose key is bound to the first.
    let app = spawn_app();
    let (other_tenant, _, _) = app.other_tenant("other");
    let (_, key) = app.member("both@default", keyward::domain::model::Role::User);
    app.join(
        "both@default",
        &other_tenant,
        keyward::domain::model::Role::User,
    );
    let cli = Cli::new(&app);
    cli.ok(&["login", "--key", &key]);

    let tenants = cli.ok(&["list-tenants"]);
    for want in ["default", "other", &app.tenant_id, &other_tenant] {
        assert!(
            tenants.contains(want),
            "list-tenants lacks {want}:\n{tenants}"
        );
    }
    let out = cli.ok(&["switch-tenants", "--slug", "default"]);
    assert!(
        out.contains(&format!("Tenant switched to {}", app.tenant_id)),
        "{out}"
    );
    let (ok, out) = cli.auth(&["switch-tenants", "--slug", "other"]);
    assert!(
        !ok,
        "switching to a tenant the key is not bound to succeeded:\n{out}"
    );
    assert!(
        out.contains("Unauthorized. Your API key is not valid for that tenant."),
        "{out}"
    );
    // And the key still works where it belongs.
    let out = cli.ok(&["status"]);
    assert!(
        out.contains(&format!("You are logged in to tenant {}", app.tenant_id)),
        "{out}"
    );
}
