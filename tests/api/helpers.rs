//! `spawn_app`: the real application on a free loopback port with its own
//! temporary database and a fixed clock, and an HTTP client for it.
use std::cell::RefCell;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use keyward::bootstrap::{self, InitSpec};
use keyward::clock::Clock;
use keyward::config::Config;
use keyward::domain::model::Role;
use keyward::domain::names::{DisplayName, Email, Slug};
use keyward::startup::Application;
use keyward::store::Store;
use serde_json::{Value, json};

pub const START: &str = "2030-01-01T00:00:00Z";

pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(START)
        .unwrap()
        .with_timezone(&Utc)
}

pub struct Response {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub text: String,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

pub struct TestApp {
    pub url: String,
    pub clock: Clock,
    pub store: Store,
    pub policies: std::sync::Arc<keyward::authz::reload::Policies>,
    pub verifier: std::sync::Arc<keyward::verify::Verifier>,
    /// The bootstrap admin's key, user id and tenant id.
    pub admin_key: String,
    pub admin_id: String,
    pub tenant_id: String,
    /// The database file.
    pub db: std::path::PathBuf,
    /// `http://addr/metrics` when the config asked for a metrics listener.
    pub metrics_url: Option<String>,
    agent: ureq::Agent,
    labels: RefCell<Vec<(String, String)>>,
    /// The server's handle and thread, to stop it when the test is done.
    server: Option<(actix_web::dev::ServerHandle, std::thread::JoinHandle<()>)>,
    _dir: tempfile::TempDir,
}

/// A test's server stops with the test: its port, pool, cache and policy
/// watcher are released instead of living until the test binary exits.
impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some((handle, thread)) = self.server.take() {
            actix_web::rt::System::new().block_on(handle.stop(false));
            let _ = thread.join();
        }
    }
}

pub fn spawn_app() -> TestApp {
    spawn_app_with(|_| {})
}

/// Like `spawn_app`, after `adjust` has had its say on the config.
pub fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_on(adjust, Clock::fixed(start_time()))
}

/// Like `spawn_app_with`, on `clock` (the system clock, for tests whose
/// client computes times from its own clock).
pub fn spawn_app_on(adjust: impl FnOnce(&mut Config), clock: Clock) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keyward.db");
    let mut config = Config::for_tests(db.clone());
    adjust(&mut config);
    let app = Application::build(&config, clock.clone()).expect("the app builds");
    let boot = app
        .bootstrapped
        .clone()
        .expect("an empty database is bootstrapped");
    let addr = app.local_addr();
    let metrics_url = app.metrics_addr().map(|a| format!("http://{a}/metrics"));
    let store = app.store();
    let policies = app.policies();
    let verifier = app.verifier();
    let (started, handle) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let serving = app.run_with(move |h| {
            let _ = started.send(h);
        });
        let _ = actix_web::rt::System::new().block_on(serving);
    });
    let handle = handle.recv().expect("the server starts");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let t = TestApp {
        url: format!("http://{addr}"),
        clock,
        store,
        policies,
        verifier,
        admin_key: boot.api_key.expose().to_owned(),
        admin_id: boot.user_id.to_string(),
        tenant_id: boot.tenant_id.to_string(),
        db,
        metrics_url,
        agent,
        labels: RefCell::new(Vec::new()),
        server: Some((handle, thread)),
        _dir: dir,
    };
    t.label(&t.admin_id, "admin");
    t.label(&t.tenant_id, "tenant default");
    t
}

impl TestApp {
    /// Names an id for snapshots: it shows as `[name]` instead of `[uuid]`.
    pub fn label(&self, id: &str, name: &str) {
        self.labels
            .borrow_mut()
            .push((id.to_owned(), format!("[{name}]")));
    }

    /// POSTs `body` to `path` with the given headers.
    pub fn post(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        content_type: &str,
        body: &str,
    ) -> Response {
        let mut req = self
            .agent
            .post(format!("{}{path}", self.url))
            .header("content-type", content_type);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        to_response(req.send(body))
    }

    pub fn get(&self, path: &str) -> Response {
        self.get_with(path, &[])
    }

    /// GETs `path` with the given headers.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        let mut req = self.agent.get(format!("{}{path}", self.url));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        to_response(req.call())
    }

    /// A GraphQL request the way most clients send it: `variables` as an object.
    pub fn gql_with(
        &self,
        key: Option<&str>,
        headers: &[(&str, &str)],
        query: &str,
        variables: Value,
    ) -> Response {
        let auth = key.map(|k| format!("Bearer {k}"));
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if let Some(a) = &auth {
            all.push(("authorization", a));
        }
        let body = json!({ "query": query, "variables": variables }).to_string();
        self.post("/graphql", &all, "application/json", &body)
    }

    /// The body of a GraphQL answer, after checking it is HTTP 200.
    pub fn gql(&self, key: &str, query: &str, variables: Value) -> Value {
        let r = self.gql_with(Some(key), &[], query, variables);
        assert_eq!(r.status, 200, "{}", r.text);
        r.json()
    }

    /// `data`, after checking there is no `errors` key at all.
    pub fn ok(&self, key: &str, query: &str, variables: Value) -> Value {
        let body = self.gql(key, query, variables);
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// The `extensions.code` of the first error.
    pub fn code(&self, key: &str, query: &str, variables: Value) -> String {
        let body = self.gql(key, query, variables);
        body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error: {body}"))
            .to_owned()
    }

    /// Makes a member of the default tenant with `role`; returns (user id, key).
    pub fn member(&self, email: &str, role: Role) -> (String, String) {
        let (id, key) = bootstrap::add_member(
            &self.store,
            self.tenant_id.parse().unwrap(),
            &Email::parse(email).unwrap(),
            role,
            self.clock.now(),
        )
        .unwrap();
        self.label(&id.to_string(), email);
        self.tick();
        (id.to_string(), key.expose().to_owned())
    }

    /// A second tenant with its own admin; returns (tenant id, admin id, admin key).
    pub fn other_tenant(&self, slug: &str) -> (String, String, String) {
        let spec = InitSpec {
            tenant_slug: Slug::parse(slug).unwrap(),
            tenant_name: DisplayName::parse("name", &format!("Tenant {slug}")).unwrap(),
            admin_email: Email::parse(&format!("admin@{slug}")).unwrap(),
        };
        let b = bootstrap::add_tenant(&self.store, &spec, self.clock.now()).unwrap();
        self.label(&b.tenant_id.to_string(), &format!("tenant {slug}"));
        self.label(&b.user_id.to_string(), &format!("admin@{slug}"));
        (
            b.tenant_id.to_string(),
            b.user_id.to_string(),
            b.api_key.expose().to_owned(),
        )
    }

    /// Creates a service account with `key` and returns its id.
    pub fn service_account(&self, key: &str, name: &str) -> String {
        let d = self.ok(
            key,
            CREATE_SERVICE_ACCOUNT,
            json!({ "input": { "name": name } }),
        );
        let id = d["create_service_account"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        self.label(&id, &format!("sa {name}"));
        self.tick();
        id
    }

    /// Creates a key for `user_id` with `key`; returns (key id, secret).
    pub fn create_key(&self, key: &str, user_id: &str, name: &str) -> (String, String) {
        let d = self.ok(
            key,
            CREATE_KEY,
            json!({ "input": { "user_id": user_id, "name": name } }),
        );
        let id = d["create_api_key"]["id"].as_str().unwrap().to_owned();
        self.label(&id, &format!("key {name}"));
        self.tick();
        (id, d["create_api_key"]["key"].as_str().unwrap().to_owned())
    }

    /// Moves the clock a second on, so rows made one after the other sort
    /// the same way every run.
    pub fn tick(&self) {
        self.clock.advance(chrono::Duration::seconds(1));
    }

    /// Replaces what changes from run to run: labelled ids by their names,
    /// other UUIDs by `[uuid]`, key secrets by `[kwu secret]`/`[kws secret]`.
    /// Times stay: the injected clock makes them the same every run.
    pub fn redact(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => {
                if keyward::domain::api_key::Token::parse(s).is_ok() {
                    return json!(format!("[{} secret]", &s[..3]));
                }
                Value::String(self.redact_ids(s))
            }
            Value::Array(a) => Value::Array(a.iter().map(|x| self.redact(x)).collect()),
            Value::Object(o) => {
                Value::Object(o.iter().map(|(k, x)| (k.clone(), self.redact(x))).collect())
            }
            other => other.clone(),
        }
    }

    /// Every UUID inside `s`, by its label or as `[uuid]`.
    fn redact_ids(&self, s: &str) -> String {
        const LEN: usize = 36;
        let mut out = String::new();
        let mut i = 0;
        while i < s.len() {
            let candidate = s
                .get(i..i + LEN)
                .filter(|c| uuid::Uuid::try_parse(c).is_ok() && c.as_bytes()[8] == b'-');
            match candidate {
                Some(id) => {
                    let labels = self.labels.borrow();
                    out.push_str(
                        labels
                            .iter()
                            .find(|(l, _)| l == id)
                            .map_or("[uuid]", |(_, name)| name.as_str()),
                    );
                    i += LEN;
                }
                None => {
                    let c = s[i..].chars().next().unwrap();
                    out.push(c);
                    i += c.len_utf8();
                }
            }
        }
        out
    }
}

fn to_response(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Response {
    let mut r = r.expect("the server answers");
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().unwrap_or_default();
    Response {
        status,
        headers,
        text,
    }
}

/// Snapshots go to tests/snapshots/, named after the test.
#[macro_export]
macro_rules! snap {
    ($name:expr, $value:expr) => {
        insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_json_snapshot!($name, $value);
        })
    };
}

/// `{"input": v}`: the variables of every mutation here.
pub fn input(v: Value) -> Value {
    json!({ "input": v })
}

pub use keyward::cli::documents::*;

impl TestApp {
    /// The membership id of `user_id` in the default tenant.
    pub fn membership_of(&self, user_id: &str) -> String {
        let d = self.ok(&self.admin_key, MEMBERS, json!({}));
        let m = d["membership"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["user"]["id"] == json!(user_id))
            .expect("a member");
        let id = m["id"].as_str().unwrap().to_owned();
        let who = self.redact_ids(user_id);
        self.label(
            &id,
            &format!("membership of {}", who.trim_matches(['[', ']'])),
        );
        id
    }

    /// Adds the user with `email` to `tenant_id` with `role`; returns the new
    /// member's key for that tenant.
    pub fn join(&self, email: &str, tenant_id: &str, role: Role) -> String {
        let email = Email::parse(email).unwrap();
        let (_, key) = bootstrap::add_member(
            &self.store,
            tenant_id.parse().unwrap(),
            &email,
            role,
            self.clock.now(),
        )
        .unwrap();
        key.expose().to_owned()
    }

    /// A request without a key (for accepting invitations).
    pub fn anonymous(&self, query: &str, variables: Value) -> Value {
        let r = self.gql_with(None, &[], query, variables);
        assert_eq!(r.status, 200, "{}", r.text);
        r.json()
    }
}

/// The `keyward serve` binary as a child process.
/// What a finished command printed: its stdout, then its stderr.
pub fn printed(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub struct ServerProcess {
    child: std::process::Child,
    /// What it printed before "keyward is serving".
    pub stdout_head: Vec<String>,
    /// Its GraphQL URL.
    pub url: String,
}

/// Starts `keyward serve` (debug logs) and reads its stdout up to the
/// "serving" line.
pub fn serve_binary(db: &str) -> ServerProcess {
    serve_binary_with(&["serve", "--db", db, "--listen", "127.0.0.1:0"])
}

/// Starts `keyward` with `args` (a `serve`; debug logs) and reads its stdout
/// up to the "serving" line.
pub fn serve_binary_with(args: &[&str]) -> ServerProcess {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(args)
        .env("RUST_LOG", "debug")
        .env_remove("NO_COLOR")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stdout_head = Vec::new();
    let url = loop {
        let line = lines.next().expect("serve prints its address").unwrap();
        if let Some(rest) = line.strip_prefix("keyward is serving ") {
            break rest.to_owned();
        }
        stdout_head.push(line);
    };
    ServerProcess {
        child,
        stdout_head,
        url,
    }
}

impl ServerProcess {
    /// The key printed on its `Bootstrap API key: ` line, if any.
    pub fn bootstrap_key(&self) -> Option<String> {
        self.stdout_head
            .iter()
            .find_map(|l| l.strip_prefix("Bootstrap API key: "))
            .map(str::to_owned)
    }

    /// Kills it; returns its logs.
    pub fn stop(mut self) -> String {
        self.child.kill().unwrap();
        self.finish().1
    }

    /// Asks it to stop gracefully (SIGTERM); returns how it exited and its logs.
    pub fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        assert!(
            std::process::Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        self.finish()
    }

    fn finish(&mut self) -> (std::process::ExitStatus, String) {
        use std::io::Read;
        let mut logs = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut logs)
            .unwrap();
        (self.child.wait().unwrap(), logs)
    }
}
