//! The `keyward` binary as a client of a real server (issue: CLI client).
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::{AUTH_INFO, TestApp, spawn_app};

const BIN: &str = env!("CARGO_BIN_EXE_keyward");

struct Cli<'a> {
    app: &'a TestApp,
    home: tempfile::TempDir,
}

struct Out {
    ok: bool,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Out {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

impl<'a> Cli<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn config(&self) -> std::path::PathBuf {
        self.home.path().join("config.toml")
    }

    /// Runs `keyward ARGS` with only the given environment (plus HOME,
    /// KEYWARD_HOME and PATH) and no terminal.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Out {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("KEYWARD_HOME", self.home.path())
            .stdin(std::process::Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let o = cmd.output().unwrap();
        Out {
            ok: o.status.success(),
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Like `run`, talking to the test server, and expecting success.
    fn ok(&self, args: &[&str], env: &[(&str, &str)]) -> Out {
        let api = format!("{}/graphql", self.app.url);
        let mut all = env.to_vec();
        if !env.iter().any(|(k, _)| *k == "KEYWARD_API") {
            all.push(("KEYWARD_API", &api));
        }
        let o = self.run(args, &all);
        assert!(o.ok, "keyward {args:?} failed: {}{}", o.stdout, o.stderr);
        o
    }

    fn status(&self, args: &[&str], env: &[(&str, &str)]) -> Value {
        let mut a = vec!["auth", "status", "--json"];
        a.extend_from_slice(args);
        self.ok(&a, env).json()
    }
}

#[test]
fn flag_beats_env_beats_file() {
    let app = spawn_app();
    let cli = Cli::new(&app);
    let sa = app.service_account(&app.admin_key, "robot");
    let (_, robot) = app.create_key(&app.admin_key, &sa, "robot key");
    let (user_id, user_key) = app.member("u@default", keyward::domain::model::Role::User);

    let login = cli.ok(&["auth", "login", "--key", &user_key], &[]).stdout;
    assert!(login.contains(" as u@default (USER, "), "{login}");
    let s = cli.status(&[], &[]);
    assert_eq!(s["user_id"], json!(user_id));
    assert_eq!(
        s["key"]["source"],
        json!(format!("{} ([cloud] api_key)", cli.config().display()))
    );

    // Env beats file, for each variable.
    for var in [
        "KEYWARD_API_KEY",
        "PREFECT__CLOUD__AGENT__AUTH_TOKEN",
        "PREFECT__CLOUD__API_KEY",
    ] {
        let s = cli.status(&[], &[(var, &robot)]);
        assert_eq!(
            (&s["user_id"], &s["key"]["source"]),
            (&json!(sa), &json!(format!("${var}"))),
            "{var}"
        );
    }
    // Flag beats env, under both spellings.
    for flag in ["--key", "-k", "--token", "-t"] {
        let s = cli.status(&[flag, &app.admin_key], &[("KEYWARD_API_KEY", &robot)]);
        assert_eq!(
            (&s["user_id"], &s["key"]["source"]),
            (&json!(app.admin_id), &json!("the --key flag")),
            "{flag}"
        );
    }
    // The seed's agent setting in the file works too.
    std::fs::write(
        cli.config(),
        format!("[cloud.agent]\nauth_token = \"{robot}\"\n"),
    )
    .unwrap();
    std::fs::set_permissions(cli.config(), std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(cli.status(&[], &[])["user_id"], json!(sa));
}

#[test]
fn the_server_url_resolves_the_same_way() {
    let app = spawn_app();
    let cli = Cli::new(&app);
    let good = format!("{}/graphql", app.url);
    let dead = "http://127.0.0.1:9/graphql";
    std::fs::write(
        cli.config(),
        format!(
            "[cloud]\napi = \"{dead}\"\napi_key = \"{}\"\n",
            app.admin_key
        ),
    )
    .unwrap();
    std::fs::set_permissions(cli.config(), std::fs::Permissions::from_mode(0o600)).unwrap();
    let from_file = cli.run(&["auth", "status"], &[]);
    assert!(
        !from_file.ok
            && from_file
                .stderr
                .contains("cannot reach http://127.0.0.1:9/graphql"),
        "{}",
        from_file.stderr
    );
    let s = cli.status(&[], &[("KEYWARD_API", &good)]);
    assert_eq!(s["api"]["source"], json!("$KEYWARD_API"));
    let s = cli.status(&["--api", &good], &[("KEYWARD_API", dead)]);
    assert_eq!(s["api"]["source"], json!("the --api flag"));
}

#[test]
fn login_writes_a_private_file_and_warns_when_it_is_not() {
    let app = spawn_app();
    let cli = Cli::new(&app);
    cli.ok(&["auth", "login", "--key", &app.admin_key], &[]);
    let mode = std::fs::metadata(cli.config())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(cli.config()).unwrap();
    assert!(text.contains(&app.admin_key));
    let quiet = cli.ok(&["auth", "status"], &[]);
    assert!(!quiet.stderr.contains("warning"), "{}", quiet.stderr);
    std::fs::set_permissions(cli.config(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let warned = cli.ok(&["auth", "status"], &[]);
    assert!(
        warned.stderr.contains("is readable by others (mode 644)"),
        "{}",
        warned.stderr
    );
    // A bad key is checked before anything is stored.
    let bad = cli.run(
        &["auth", "login", "--key", "kwu_nope"],
        &[("KEYWARD_API", &format!("{}/graphql", app.url))],
    );
    assert_eq!(bad.code, Some(1));
    assert_eq!(std::fs::read_to_string(cli.config()).unwrap(), text);
    cli.ok(&["auth", "logout"], &[]);
    assert!(
        !std::fs::read_to_string(cli.config())
            .unwrap()
            .contains("kwu_")
    );
}

#[test]
fn status_on_a_revoked_key_says_so_and_exits_1() {
    let app = spawn_app();
    let cli = Cli::new(&app);
    let (id, key) = app.create_key(&app.admin_key, &app.admin_id, "doomed");
    let api = format!("{}/graphql", app.url);
    let env = [
        ("KEYWARD_API", api.as_str()),
        ("KEYWARD_API_KEY", key.as_str()),
    ];
    assert!(cli.run(&["auth", "status"], &env).ok);
    cli.ok(
        &["keys", "revoke", &id, "--yes", "--key", &app.admin_key],
        &[],
    );
    let out = cli.run(&["auth", "status"], &env);
    assert_eq!(out.code, Some(1));
    assert!(out.stdout.is_empty());
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(
        lines[0].starts_with("keyward: This API key was revoked at"),
        "{}",
        out.stderr
    );
    // Expired keys say so too.
    let d = app.ok(
        &app.admin_key,
        crate::helpers::CREATE_KEY,
        json!({ "input": { "user_id": app.admin_id, "name": "short", "expires_at": "2030-01-01T01:00:00+00:00" } }),
    );
    let short = d["create_api_key"]["key"].as_str().unwrap().to_owned();
    app.clock.advance(chrono::Duration::hours(2));
    let out = cli.run(
        &["auth", "status"],
        &[
            ("KEYWARD_API", api.as_str()),
            ("KEYWARD_API_KEY", short.as_str()),
        ],
    );
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("This API key expired at"),
        "{}",
        out.stderr
    );
}

#[test]
fn keys_create_quiet_prints_a_usable_key_and_json_parses() {
    // `--expires-in` counts from the client's clock: the server must share it.
    let app = crate::helpers::spawn_app_on(|_| {}, keyward::clock::Clock::system());
    let cli = Cli::new(&app);
    let k = ["--key", app.admin_key.as_str()];
    let quiet = cli.ok(&["keys", "create", "-n", "ci", "--quiet", k[0], k[1]], &[]);
    let secret = quiet.stdout.trim();
    assert_eq!(quiet.stdout.lines().count(), 1);
    assert_eq!(
        app.ok(secret, AUTH_INFO, json!({}))["auth_info"]["user_id"],
        json!(app.admin_id)
    );

    let made = cli
        .ok(
            &[
                "keys",
                "create",
                "-n",
                "month",
                "--expires-in",
                "30d",
                "--json",
                k[0],
                k[1],
            ],
            &[],
        )
        .json();
    assert!(made["key"].as_str().unwrap().starts_with("kwu_"));
    assert!(
        made["expires_at"].as_str().unwrap().starts_with("20"),
        "{made}"
    );
    let dated = cli
        .ok(
            &[
                "keys",
                "create",
                "-n",
                "dated",
                "--expires-at",
                "2099-02-03",
                "--json",
                k[0],
                k[1],
            ],
            &[],
        )
        .json();
    assert_eq!(dated["expires_at"], json!("2099-02-03T00:00:00Z"));

    let listed = cli.ok(&["keys", "list", "--json", k[0], k[1]], &[]).json();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 4, "{listed}");
    for n in ["ci", "month", "dated", "bootstrap"] {
        assert!(names.contains(&n), "{names:?}");
    }
    assert!(
        !listed.to_string().contains(secret),
        "a list never shows a secret"
    );
    let table = cli.ok(&["keys", "list", k[0], k[1]], &[]).stdout;
    assert!(
        table.starts_with("NAME") && table.contains("EXPIRES AT") && table.contains("LAST USED"),
        "{table}"
    );
    assert!(table.contains("2099-02-03 00:00 UTC"), "{table}");
}

#[test]
fn revoke_asks_and_without_a_terminal_needs_yes() {
    let app = spawn_app();
    let cli = Cli::new(&app);
    let (id, key) = app.create_key(&app.admin_key, &app.admin_id, "kept");
    let out = cli.run(
        &["keys", "revoke", &id, "--key", &app.admin_key],
        &[("KEYWARD_API", &format!("{}/graphql", app.url))],
    );
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("pass --yes"), "{}", out.stderr);
    app.ok(&key, AUTH_INFO, json!({}));
}

#[test]
fn service_accounts_and_members() {
    let app = spawn_app();
    let cli = Cli::new(&app);
    let k = ["--key", app.admin_key.as_str()];
    let sa = cli
        .ok(
            &[
                "service-accounts",
                "create",
                "deploy-bot",
                "--json",
                k[0],
                k[1],
            ],
            &[],
        )
        .json();
    let sa_id = sa["id"].as_str().unwrap().to_owned();
    let robot = cli
        .ok(
            &[
                "keys", "create", "-n", "bot", "--for", &sa_id, "--quiet", k[0], k[1],
            ],
            &[],
        )
        .stdout;
    let robot = robot.trim().to_owned();
    assert!(robot.starts_with("kws_"));
    let listed = cli
        .ok(&["service-accounts", "list", "--json", k[0], k[1]], &[])
        .json();
    assert_eq!(listed[0]["name"], json!("deploy-bot"));
    assert_eq!(listed[0]["api_keys"].as_array().unwrap().len(), 1);
    let invite = cli
        .ok(
            &[
                "members",
                "invite",
                "ana@example.com",
                "--role",
                "READ_ONLY_USER",
                "--json",
                k[0],
                k[1],
            ],
            &[],
        )
        .json();
    assert!(invite["token"].as_str().unwrap().starts_with("kwi_"));
    let members = cli
        .ok(&["members", "list", "--json", k[0], k[1]], &[])
        .json();
    assert_eq!(members.as_array().unwrap().len(), 2, "{members}");
    let table = cli.ok(&["members", "list", k[0], k[1]], &[]).stdout;
    assert!(
        table.contains("admin@localhost") && table.contains("deploy-bot"),
        "{table}"
    );
    cli.ok(
        &["service-accounts", "delete", &sa_id, "--yes", k[0], k[1]],
        &[],
    );
    assert_eq!(app.code(&robot, AUTH_INFO, json!({})), "UNAUTHENTICATED");
    // A user is refused, on stderr with a non-zero exit.
    let (_, user) = app.member("u@default", keyward::domain::model::Role::User);
    let out = cli.run(
        &["service-accounts", "create", "x", "--key", &user],
        &[("KEYWARD_API", &format!("{}/graphql", app.url))],
    );
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("You may not create service accounts"),
        "{}",
        out.stderr
    );
}

#[test]
fn every_command_has_help_with_an_example() {
    let app = spawn_app();
    let cli = Cli::new(&app);
    for cmd in [
        &["auth", "login"][..],
        &["auth", "logout"],
        &["auth", "status"],
        &["keys", "create"],
        &["keys", "list"],
        &["keys", "revoke"],
        &["service-accounts", "create"],
        &["service-accounts", "list"],
        &["service-accounts", "delete"],
        &["members", "list"],
        &["members", "invite"],
        &["members", "accept"],
        &["keys", "report-leak"],
        &["webhooks", "create"],
    ] {
        let mut args = cmd.to_vec();
        args.push("--help");
        let out = cli.run(&args, &[]);
        assert!(
            out.ok && out.stdout.contains("Example"),
            "{cmd:?}: {}",
            out.stdout
        );
    }
}

#[test]
fn members_accept_makes_a_new_account_or_joins_with_your_own_key() {
    let app = spawn_app();
    let cli = Cli::new(&app);
    let env = [("KEYWARD_API", format!("{}/graphql", app.url))];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let invite = |email: &str, key: &str| {
        cli.ok(&["members", "invite", email, "--json", "--key", key], &env)
            .json()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // A new person: no key at all.
    let token = invite("new@example.com", &app.admin_key);
    let joined = cli
        .ok(
            &[
                "members",
                "accept",
                &token,
                "--key-name",
                "laptop",
                "--json",
            ],
            &env,
        )
        .json();
    let key = joined["key"].as_str().unwrap();
    assert_eq!(
        app.ok(key, AUTH_INFO, json!({}))["auth_info"]["tenant_id"],
        json!(app.tenant_id)
    );
    // Someone who has an account elsewhere joins with their own key.
    let (other, _, other_key) = app.other_tenant("other");
    let token = invite("new@example.com", &other_key);
    let out = cli.run(&["members", "accept", &token, "--without-key"], &env);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("sign in as new@example.com"),
        "{}",
        out.stderr
    );
    // Another account's key: the error names the flag that sends none.
    let out = cli.run(
        &["members", "accept", &token, "--key", &app.admin_key],
        &env,
    );
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("--without-key"), "{}", out.stderr);
    let text = cli
        .ok(&["members", "accept", &token, "--key", key], &env)
        .stdout;
    assert!(text.contains(&format!("Joined tenant {other}")), "{text}");
    assert!(text.contains("kwu_"), "{text}");
}

/// What an operator reads, pinned: names instead of ids, the deciding
/// policy in a refusal, a second revoke told apart from a typo.
#[test]
fn cli_output_names_accounts_and_explains_refusals() {
    let app = spawn_app();
    let cli = Cli::new(&app);
    let api = format!("{}/graphql", app.url);
    let admin = [
        ("KEYWARD_API", api.as_str()),
        ("KEYWARD_API_KEY", app.admin_key.as_str()),
    ];
    cli.ok(&["service-accounts", "create", "deploy-bot"], &admin);
    // --for takes a service account's name.
    let robot = cli
        .ok(
            &[
                "keys",
                "create",
                "-n",
                "ci",
                "--for",
                "deploy-bot",
                "--json",
            ],
            &admin,
        )
        .json();
    let robot_key_id = robot["id"].as_str().unwrap().to_owned();
    app.label(&robot_key_id, "key ci");
    let bad_for = cli.run(&["keys", "create", "-n", "x", "--for", "nobody"], &admin);
    let listed = cli.ok(&["keys", "list"], &admin).stdout;
    let status = cli.ok(&["auth", "status"], &admin).stdout;
    cli.ok(&["keys", "revoke", &robot_key_id, "--yes"], &admin);
    let again = cli.run(&["keys", "revoke", &robot_key_id, "--yes"], &admin);
    let again_json = cli.run(
        &["keys", "revoke", &robot_key_id, "--yes", "--json"],
        &admin,
    );
    let never = cli.run(
        &[
            "keys",
            "revoke",
            "00000000-0000-4000-8000-000000000000",
            "--yes",
        ],
        &admin,
    );
    let (_, ro) = app.member("ro@default", keyward::domain::model::Role::ReadOnlyUser);
    let ro = [
        ("KEYWARD_API", api.as_str()),
        ("KEYWARD_API_KEY", ro.as_str()),
    ];
    let denied = cli.run(&["service-accounts", "create", "x"], &ro);
    let denied_json = cli.run(&["service-accounts", "create", "x", "--json"], &ro);
    // Times and ids that change from run to run are replaced.
    let masked = |key: &str| format!("{}…{}", &key[..4], &key[key.len() - 4..]);
    let clean = |s: &str| {
        let s = s
            .replace(&app.url, "[server]")
            .replace(&masked(&app.admin_key), "[masked key]");
        app.redact(&json!(s)).as_str().unwrap().to_owned()
    };
    let out = json!({
        "create_for_unknown_name": clean(&bad_for.stderr),
        "keys_list": clean(&listed),
        "auth_status": clean(&status),
        "revoke_again": clean(&again.stderr),
        "revoke_again_json": clean(&again_json.stderr),
        "revoke_unknown": clean(&never.stderr),
        "read_only_creates_a_service_account": clean(&denied.stderr),
        "read_only_creates_a_service_account_json": clean(&denied_json.stderr),
    });
    crate::snap!("cli_output", out);
    assert!(
        listed.contains("deploy-bot") && listed.contains("admin@localhost"),
        "{listed}"
    );
    assert!(status.contains("admin@localhost"), "{status}");
    assert!(
        again
            .stderr
            .starts_with("keyward: Already revoked: This API key was revoked at"),
        "{}",
        again.stderr
    );
    assert!(
        denied.stderr.contains("(policy: role-ceiling-grants)"),
        "{}",
        denied.stderr
    );
    let e: Value = serde_json::from_str(denied_json.stderr.trim()).unwrap();
    assert_eq!(e["error"]["policies"], json!(["role-ceiling-grants"]));
    assert_eq!(e["error"]["code"], json!("FORBIDDEN"));
}

#[test]
fn keys_rotate_disable_enable_restrict_and_the_audit_log() {
    let app = spawn_app();
    let cli = Cli::new(&app);
    let k = ["--key", app.admin_key.as_str()];
    let (id, old) = app.create_key(&app.admin_key, &app.admin_id, "rolled");
    // Rotate with an hour of grace: the new secret alone with --quiet.
    let new = cli.ok(
        &[
            "keys", "rotate", &id, "--grace", "1h", "--quiet", k[0], k[1],
        ],
        &[],
    );
    let new = new.stdout.trim();
    assert!(new.starts_with("kwu_") && new != old);
    assert!(
        app.gql(&old, AUTH_INFO, json!({})).get("errors").is_none(),
        "the old key works in its grace"
    );
    assert!(app.gql(new, AUTH_INFO, json!({})).get("errors").is_none());
    let listed = cli.ok(&["keys", "list", k[0], k[1]], &[]).stdout;
    assert!(listed.contains("rotated, works until"), "{listed}");
    // Disable, then enable, the new key.
    let new_id = app.ok(new, AUTH_INFO, json!({}))["auth_info"]["api_key_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let off = cli.ok(&["keys", "disable", &new_id, k[0], k[1]], &[]);
    assert_eq!(off.stdout, format!("Disabled key {new_id}\n"));
    let refused = app.gql(new, AUTH_INFO, json!({}));
    assert_eq!(refused["errors"][0]["message"], "This API key is disabled.");
    assert!(
        cli.ok(&["keys", "list", k[0], k[1]], &[])
            .stdout
            .contains("disabled")
    );
    cli.ok(&["keys", "enable", &new_id, k[0], k[1]], &[]);
    assert!(app.gql(new, AUTH_INFO, json!({})).get("errors").is_none());
    // A restricted key.
    let ro = cli.ok(
        &[
            "keys",
            "create",
            "-n",
            "dash",
            "--role",
            "read_only_user",
            "--quiet",
            k[0],
            k[1],
        ],
        &[],
    );
    let role = app.ok(ro.stdout.trim(), AUTH_INFO, json!({}))["auth_info"]["role"].clone();
    assert_eq!(role, "READ_ONLY_USER");
    // The audit log, as JSON and as a table, with the deciding policies.
    let events = cli.ok(&["audit", "--json", k[0], k[1]], &[]).json();
    let actions: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in ["CreateApiKey", "RotateApiKey", "UpdateApiKey"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    let table = cli
        .ok(&["audit", "--action", "RotateApiKey", k[0], k[1]], &[])
        .stdout;
    assert!(table.starts_with("AT "), "{table}");
    assert!(
        table.contains("RotateApiKey") && table.contains("self-manage-keys"),
        "{table}"
    );
    assert!(
        !table.contains("UpdateApiKey"),
        "the filter applies: {table}"
    );
}

#[test]
fn keys_list_warns_of_keys_about_to_expire() {
    // The CLI counts days from its own clock: the server runs on it too.
    let app = crate::helpers::spawn_app_on(|_| {}, keyward::clock::Clock::system());
    let cli = Cli::new(&app);
    let k = ["--key", app.admin_key.as_str()];
    cli.ok(
        &[
            "keys",
            "create",
            "-n",
            "soon",
            "--expires-in",
            "70h",
            k[0],
            k[1],
        ],
        &[],
    );
    cli.ok(
        &[
            "keys",
            "create",
            "-n",
            "later",
            "--expires-in",
            "30d",
            k[0],
            k[1],
        ],
        &[],
    );
    let listed = cli.ok(&["keys", "list", k[0], k[1]], &[]).stdout;
    let soon = listed.lines().find(|l| l.starts_with("soon ")).unwrap();
    assert!(soon.contains("expires in 3 days"), "{listed}");
    let later = listed.lines().find(|l| l.starts_with("later ")).unwrap();
    assert!(!later.contains("expires in"), "{listed}");
    assert!(
        listed.contains("Warning: 1 key(s) expire within 7 days"),
        "{listed}"
    );
}

#[test]
fn webhooks_from_the_command_line() {
    let app = spawn_app();
    let cli = Cli::new(&app);
    let k = ["--key", app.admin_key.as_str()];
    let rx = crate::helpers::Receiver::start(&[]);
    let made = cli.ok(
        &[
            "webhooks",
            "create",
            "--url",
            &rx.url,
            "--events",
            "api_key.created,api_key.revoked",
            "-d",
            "pager",
            k[0],
            k[1],
        ],
        &[],
    );
    assert!(made.stdout.contains("shown this once"), "{}", made.stdout);
    let secret = made
        .stdout
        .lines()
        .find(|l| l.starts_with("whsec_"))
        .unwrap()
        .to_owned();
    let listed = cli.ok(&["webhooks", "list", k[0], k[1]], &[]).stdout;
    assert!(listed.starts_with("ID "), "{listed}");
    assert!(
        listed.contains("api_key.created,api_key.revoked"),
        "{listed}"
    );
    assert!(!listed.contains(&secret), "the secret is shown once");
    app.create_key(&app.admin_key, &app.admin_id, "news");
    rx.wait_for(1);
    let mut deliveries = Value::Null;
    for _ in 0..200 {
        deliveries = cli
            .ok(&["webhooks", "deliveries", "--json", k[0], k[1]], &[])
            .json();
        if deliveries[0]["status"] == "delivered" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(deliveries[0]["status"], "delivered", "{deliveries}");
    assert_eq!(deliveries[0]["event"], "api_key.created");
    let table = cli.ok(&["webhooks", "deliveries", k[0], k[1]], &[]).stdout;
    assert!(table.contains("HTTP 200"), "{table}");
    let id = deliveries[0]["id"].as_str().unwrap();
    cli.ok(&["webhooks", "redeliver", id, k[0], k[1]], &[]);
    assert_eq!(rx.wait_for(2).len(), 2);
    let hook = cli
        .ok(&["webhooks", "list", "--json", k[0], k[1]], &[])
        .json()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let gone = cli.ok(&["webhooks", "delete", &hook, k[0], k[1]], &[]);
    assert_eq!(gone.stdout, format!("Deleted webhook {hook}\n"));
    // A bad event name is a clear error.
    let api = format!("{}/graphql", app.url);
    let bad = cli.run(
        &[
            "webhooks",
            "create",
            "--url",
            &rx.url,
            "--events",
            "api_key.exploded",
            k[0],
            k[1],
        ],
        &[("KEYWARD_API", &api)],
    );
    assert!(!bad.ok);
    assert!(
        bad.stderr.contains("unknown event \"api_key.exploded\""),
        "{}",
        bad.stderr
    );
}
