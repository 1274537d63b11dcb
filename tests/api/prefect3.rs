//! A real self-hosted Prefect 3 server (SQLite, analytics off, loopback)
//! behind nginx with examples/prefect3/nginx.conf, every request checked and
//! decided by keyward: the Prefect 3.9.1 CLI, a flow with a task run, a
//! process worker on its websocket channel, revocation, the read-only
//! example, and the UI's Basic login. `make prefect3-venv` builds the venv.
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use keyward::clock::Clock;
use serde_json::{Value, json};

use crate::helpers::{DELETE_KEY, TestApp, policy_dir_with_example, printed, spawn_app_on};
use crate::nginx::{free_port, run_nginx};

const VENV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/target/prefect3-venv");

struct PrefectServer(Child);

impl Drop for PrefectServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_prefect(home: &Path, port: u16) -> PrefectServer {
    let child = Command::new(format!("{VENV}/bin/prefect"))
        .args([
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .env("PREFECT_HOME", home)
        .env("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        .env(
            "PREFECT_API_DATABASE_CONNECTION_URL",
            format!("sqlite+aiosqlite:///{}/prefect.db", home.display()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the Prefect 3 venv: make prefect3-venv");
    let server = PrefectServer(child);
    let deadline = Instant::now() + Duration::from_secs(90);
    while ureq::get(format!("http://127.0.0.1:{port}/api/health"))
        .call()
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "the Prefect server did not start"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    server
}

/// The Prefect client's environment for `key` through nginx: `PREFECT_API_KEY`
/// (HTTP calls), and with `sockets` also the custom Authorization header
/// that its websockets need.
fn client_env(home: &Path, api: &str, key: Option<&str>, sockets: bool) -> Vec<(String, String)> {
    let mut env = vec![
        ("PREFECT_HOME".to_owned(), home.display().to_string()),
        ("PREFECT_API_URL".to_owned(), api.to_owned()),
        (
            "PREFECT_SERVER_ANALYTICS_ENABLED".to_owned(),
            "false".to_owned(),
        ),
    ];
    if let Some(k) = key {
        env.push(("PREFECT_API_KEY".into(), k.into()));
        if sockets {
            let headers = json!({ "Authorization": format!("Bearer {k}") });
            env.push(("PREFECT_CLIENT_CUSTOM_HEADERS".into(), headers.to_string()));
        }
    }
    env
}

fn run(program: &str, args: &[&str], env: &[(String, String)], dir: &Path) -> Output {
    Command::new(format!("{VENV}/bin/{program}"))
        .args(args)
        .current_dir(dir)
        .env_remove("PREFECT_API_KEY")
        .env_remove("PREFECT_CLIENT_CUSTOM_HEADERS")
        // Rich tables cut names short on a narrow terminal.
        .env("COLUMNS", "200")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// POSTs `body` to the Prefect server itself (not through nginx).
fn prefect_api(port: u16, path: &str, body: Value) -> Value {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent
        .post(format!("http://127.0.0.1:{port}/api{path}"))
        .send_json(&body)
        .unwrap();
    let text = r.body_mut().read_to_string().unwrap();
    assert_eq!(r.status(), 200, "{path} {body}: {text}");
    serde_json::from_str(&text).unwrap()
}

fn key_for(app: &TestApp, name: &str, role: &str) -> (String, String) {
    let sa = app.ok(
        &app.admin_key,
        "mutation($i: create_service_account_input!) { create_service_account(input: $i) { id } }",
        json!({ "i": { "name": name, "role": role } }),
    )["create_service_account"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.create_key(&app.admin_key, &sa, name)
}

const FLOW: &str = r#"
from prefect import flow, task

@task
def add(a, b):
    return a + b

@flow(name="keyward-check")
def check():
    return add(1, 2)

if __name__ == "__main__":
    print("result", check())
"#;

#[test]
fn prefect_3_behind_nginx_and_keyward() {
    let policies = policy_dir_with_example("prefect-read-only", &[]);
    let path = policies.path().to_owned();
    let app = spawn_app_on(move |c| c.policies = Some(path), Clock::system());
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("server");
    std::fs::create_dir_all(&home).unwrap();
    let (prefect_port, listen) = (free_port(), free_port());
    let _server = start_prefect(&home, prefect_port);
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/prefect3/nginx.conf"
    ))
    .unwrap();
    let site = example
        .replace("127.0.0.1:8081", &format!("127.0.0.1:{listen}"))
        .replace("127.0.0.1:4200", app.url.trim_start_matches("http://"))
        .replace("127.0.0.1:4201", &format!("127.0.0.1:{prefect_port}"));
    let ngx: PathBuf = tmp.path().join("nginx");
    std::fs::create_dir_all(&ngx).unwrap();
    let _nginx = run_nginx(&ngx, listen, &site);
    let api = format!("http://127.0.0.1:{listen}/api");
    let client = tmp.path().join("client");
    std::fs::create_dir_all(&client).unwrap();
    std::fs::write(client.join("flow.py"), FLOW).unwrap();

    // No key: the CLI fails, and says keyward's reason.
    let out = run(
        "prefect",
        &["work-pool", "ls"],
        &client_env(&client, &api, None, false),
        &client,
    );
    assert!(!out.status.success());
    assert!(
        printed(&out).contains("keyward: no API key"),
        "{}",
        printed(&out)
    );

    // A service account's key, both settings: a work pool, a flow with a
    // task run, its events.
    let (robot_id, robot) = key_for(&app, "prefect-worker", "USER");
    let env = client_env(&client, &api, Some(&robot), true);
    let out = run(
        "prefect",
        &["work-pool", "create", "--type", "process", "pool1"],
        &env,
        &client,
    );
    assert!(out.status.success(), "{}", printed(&out));
    let out = run("python", &["flow.py"], &env, &client);
    assert!(printed(&out).contains("result 3"), "{}", printed(&out));
    let count = |what: &str| prefect_api(prefect_port, &format!("/{what}/count"), json!({}));
    assert_eq!(count("task_runs"), 1, "the task run reached the server");
    let deadline = Instant::now() + Duration::from_secs(20);
    let events = loop {
        let names: Vec<String> =
            prefect_api(prefect_port, "/events/filter", json!({ "limit": 50 }))["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["event"].as_str().unwrap().to_owned())
                .collect();
        if names.iter().any(|n| n == "prefect.task-run.Completed") || Instant::now() > deadline {
            break names;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(
        events.iter().any(|e| e == "prefect.task-run.Completed"),
        "{events:?}"
    );

    // PREFECT_API_KEY alone: HTTP works, the websockets do not, and the
    // task run never reaches the server. The proof the socket paths are
    // guarded, and why the README asks for both settings.
    let http_only = client_env(&client, &api, Some(&robot), false);
    let out = run("python", &["flow.py"], &http_only, &client);
    assert!(printed(&out).contains("result 3"), "{}", printed(&out));
    assert_eq!(count("flow_runs"), 2);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        count("task_runs"),
        1,
        "without the custom header the task run is lost"
    );

    // A process worker connects over its websocket channel.
    let mut worker = Command::new(format!("{VENV}/bin/prefect"))
        .args(["worker", "start", "--pool", "pool1", "--type", "process"])
        .current_dir(&client)
        .env_remove("PREFECT_API_KEY")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // nginx logs a websocket when it closes: wait until the worker polls,
    // give the channel time to open, stop the worker, then read the log.
    let access = ngx.join("access.log");
    let log_has = |needle: &str, secs: u64| {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let log = std::fs::read_to_string(&access).unwrap_or_default();
            let hit = log.lines().any(|l| l.contains(needle));
            if hit || Instant::now() > deadline {
                return hit;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    };
    assert!(log_has("/api/work_pools/pool1/get_scheduled_flow_runs", 30));
    std::thread::sleep(Duration::from_secs(3));
    let _ = worker.kill();
    let _ = worker.wait();
    let connected = log_has("/api/work_pools/pool1/workers/connect HTTP/1.1\" 101 ", 10);
    assert!(
        connected,
        "the worker channel socket upgraded through nginx: {}",
        std::fs::read_to_string(&access).unwrap_or_default()
    );

    // Revoked: the next CLI call fails, saying so.
    app.ok(
        &app.admin_key,
        DELETE_KEY,
        json!({ "input": { "key_id": robot_id } }),
    );
    let out = run("prefect", &["work-pool", "ls"], &env, &client);
    assert!(!out.status.success());
    assert!(printed(&out).contains("revoked at"), "{}", printed(&out));

    // A read-only key under the prefect-read-only example: it reads, it
    // cannot create, and the refusal names the policy.
    let (_, reader) = key_for(&app, "dashboard", "READ_ONLY_USER");
    let ro = client_env(&client, &api, Some(&reader), true);
    let out = run("prefect", &["flow", "ls"], &ro, &client);
    assert!(out.status.success(), "{}", printed(&out));
    assert!(printed(&out).contains("keyward-check"), "{}", printed(&out));
    let out = run(
        "prefect",
        &["work-pool", "create", "--type", "process", "pool2"],
        &ro,
        &client,
    );
    assert!(!out.status.success());
    assert!(
        printed(&out).contains("keyward: denied by prefect-read-only"),
        "{}",
        printed(&out)
    );

    // The UI's login: its version call with Basic credentials.
    let basic = |secret: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(secret)
        )
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let version = |auth: &str| {
        agent
            .get(format!("{api}/admin/version"))
            .header("Authorization", auth)
            .call()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(version(&basic(&reader)), 200);
    assert_eq!(version(&basic(&format!("user:{reader}"))), 200);
    assert_eq!(version(&basic("kwu_not_a_key")), 401);
    let settings: Value = agent
        .get(format!("http://127.0.0.1:{listen}/ui-settings"))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    assert_eq!(settings["auth"], "BASIC");
}
