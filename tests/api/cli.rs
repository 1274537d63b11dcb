//! The `keyward` binary: init, serve's bootstrap, and what reaches its output.
use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::serve_binary;

const BIN: &str = env!("CARGO_BIN_EXE_keyward");

fn keyward(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env_remove("KEYWARD_DB")
        .output()
        .unwrap()
}

#[test]
fn init_prints_json_once_and_refuses_an_initialised_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let db = db.to_str().unwrap();
    let args = [
        "init",
        "--db",
        db,
        "--tenant-slug",
        "acme",
        "--tenant-name",
        "Acme",
        "--admin-email",
        "ops@acme.test",
        "--json",
    ];
    let out = keyward(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let key = v["api_key"].as_str().unwrap();
    assert!(keyward::domain::api_key::Token::parse(key).is_ok(), "{v}");
    for field in ["tenant_id", "user_id"] {
        assert!(
            uuid::Uuid::parse_str(v[field].as_str().unwrap()).is_ok(),
            "{v}"
        );
    }
    let again = keyward(&args);
    assert_eq!(again.status.code(), Some(1));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("already initialised"), "{err}");
    assert!(again.stdout.is_empty());
    let bad = keyward(&["init", "--db", db, "--tenant-slug", "Not A Slug"]);
    assert_eq!(bad.status.code(), Some(1));
}

fn post(url: &str, key: &str, query: &str, variables: Value) -> Value {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent
        .post(url)
        .header("authorization", &format!("Bearer {key}"))
        .send_json(json!({ "query": query, "variables": variables }))
        .unwrap();
    r.body_mut().read_json().unwrap()
}

#[test]
fn serve_bootstraps_once_and_never_logs_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let db = db.to_str().unwrap();

    let first = serve_binary(db);
    let key_lines: Vec<&String> = first
        .stdout_head
        .iter()
        .filter(|l| l.starts_with("Bootstrap API key: "))
        .collect();
    assert_eq!(key_lines.len(), 1, "{:?}", first.stdout_head);
    let console = first.url.trim_end_matches("graphql");
    assert_eq!(
        first.stdout_head.last(),
        Some(&format!("Web console: {console}")),
        "the console's address comes just before the serving line"
    );
    let key = key_lines[0]
        .trim_start_matches("Bootstrap API key: ")
        .to_owned();
    // Use it: make a key, list, revoke, fail with a revoked one.
    let me = post(&first.url, &key, "{ auth_info { user_id } }", json!({}));
    let uid = me["data"]["auth_info"]["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let made = post(
        &first.url,
        &key,
        "mutation($i: create_api_key_input!) { create_api_key(input: $i) { id key } }",
        json!({ "i": { "user_id": uid, "name": "second" } }),
    );
    let second = made["data"]["create_api_key"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let second_id = made["data"]["create_api_key"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    post(&first.url, &key, "{ auth_api_key { id } }", json!({}));
    post(
        &first.url,
        &key,
        "mutation($i: delete_api_key_input!) { delete_api_key(input: $i) { success } }",
        json!({ "i": { "key_id": second_id } }),
    );
    let refused = post(&first.url, &second, "{ auth_info { user_id } }", json!({}));
    assert_eq!(
        refused["errors"][0]["extensions"]["code"],
        json!("UNAUTHENTICATED")
    );
    let logs = first.stop();
    assert!(
        logs.contains("api key created"),
        "debug logs were captured: {logs}"
    );
    for secret in [&key, &second] {
        assert!(!logs.contains(&secret[4..]), "a secret reached the log");
        let hash = blake3::hash(secret.as_bytes());
        assert!(
            !logs.contains(&hash.to_hex().to_string()),
            "a key hash reached the log"
        );
    }

    // A restart on the same database prints no key.
    let again = serve_binary(db);
    assert!(
        again.stdout_head.iter().all(|l| !l.contains("kwu_")),
        "{:?}",
        again.stdout_head
    );
    again.stop();

    // Nor does the database hold a secret.
    let raw = std::fs::read(dir.path().join("k.db")).unwrap();
    let wal = std::fs::read(dir.path().join("k.db-wal")).unwrap_or_default();
    for secret in [&key, &second] {
        let needle = secret.as_bytes();
        assert!(
            !raw.windows(needle.len()).any(|w| w == needle)
                && !wal.windows(needle.len()).any(|w| w == needle)
        );
    }
}

#[test]
fn schema_command_prints_the_served_sdl() {
    let out = keyward(&["schema"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), keyward::gql::sdl());
}

#[test]
fn tenant_create_adds_a_tenant_with_its_first_admin() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let db = db.to_str().unwrap();
    let init = keyward(&["init", "--db", db, "--json"]);
    let init: Value = serde_json::from_slice(&init.stdout).unwrap();
    let create = |slug: &str, email: &str| {
        keyward(&[
            "tenant",
            "create",
            "--db",
            db,
            "--slug",
            slug,
            "--name",
            "Ops",
            "--admin-email",
            email,
            "--json",
        ])
    };
    let out = create("ops", "lead@ops.test");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(made["api_key"].as_str().unwrap().starts_with("kwu_"));
    assert_ne!(made["tenant_id"], init["tenant_id"]);
    // An existing user becomes the admin of another tenant: the same account.
    let out = create("ops2", "admin@localhost");
    let made: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(made["user_id"], init["user_id"]);
    // A slug that is taken is refused, with a reason and exit code 1.
    let dup = create("ops", "x@ops.test");
    assert_eq!(dup.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));
}

/// A taken port stops `serve` before it writes anything: no bootstrap key is
/// made that would never be printed.
#[test]
fn a_taken_port_stops_serve_before_the_database_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = keyward(&["serve", "--db", db.to_str().unwrap(), "--listen", &addr]);
    let printed = crate::helpers::printed(&out);
    assert!(!out.status.success(), "{printed}");
    assert!(printed.contains("cannot listen on"), "{printed}");
    assert!(!printed.contains("kwu_"), "{printed}");
    assert!(!db.exists(), "the database was created before the bind");
}

/// Logs written to a file or a pipe carry no colour codes; `--log-format
/// json` writes one JSON object a line.
#[test]
fn logs_are_plain_off_a_terminal_and_json_on_request() {
    let logs = |extra: &[&str]| {
        let dir = tempfile::tempdir().unwrap();
        let server = crate::helpers::serve_fresh(dir.path(), extra, "debug");
        // An answer means it got past start-up and logged it.
        let livez = server.url.replace("/graphql", "/livez");
        assert_eq!(ureq::get(&livez).call().unwrap().status(), 200);
        server.stop()
    };
    let text = logs(&[]);
    assert!(text.contains("keyward listening"), "{text}");
    assert!(!text.contains('\u{1b}'), "colour codes in a pipe: {text:?}");
    let json = logs(&["--log-format", "json"]);
    let lines: Vec<&str> = json.lines().filter(|l| !l.is_empty()).collect();
    assert!(lines.len() >= 2, "{json}");
    for line in lines {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
    }
    assert!(json.contains("\"message\":\"keyward listening\""), "{json}");
}

/// The operator's own keys are the one kind no policy decides; the
/// operator gives them an expiry with `--key-expires-in`.
#[test]
fn operator_keys_expire_when_the_operator_says() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let db = db.to_str().unwrap();
    let out = keyward(&["init", "--db", db, "--key-expires-in", "90d", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made = keyward(&[
        "tenant",
        "create",
        "--db",
        db,
        "--slug",
        "ops",
        "--name",
        "Ops",
        "--admin-email",
        "lead@ops.test",
        "--key-expires-in",
        "12h",
    ]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let store = keyward::store::Store::open(std::path::Path::new(db)).unwrap();
    let lifetimes: Vec<i64> = store
        .read(|c| {
            c.query(
                "SELECT expires_at, created_at FROM api_keys ORDER BY expires_at DESC",
                &[],
                |r| {
                    let at = |s: String| chrono::DateTime::parse_from_rfc3339(&s).unwrap();
                    Ok((at(r.get(0)?) - at(r.get(1)?)).num_seconds())
                },
            )
        })
        .unwrap();
    assert_eq!(lifetimes, [90 * 86_400, 12 * 3_600]);
    for bad in ["0s", "soon"] {
        let refused = keyward(&[
            "tenant",
            "create",
            "--db",
            db,
            "--slug",
            "ops2",
            "--name",
            "Ops",
            "--admin-email",
            "lead@ops.test",
            "--key-expires-in",
            bad,
        ]);
        assert_eq!(refused.status.code().map(|c| c != 0), Some(true), "{bad}");
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("key-expires-in"),
            "{}",
            String::from_utf8_lossy(&refused.stderr)
        );
    }
}
