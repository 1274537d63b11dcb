//! `spawn_app`: the real application on a free loopback port with its own
//! temporary database and a fixed clock, and an HTTP client for it; what the
//! tests make with it (fixtures), how they talk to it (http), how they pin
//! its answers (redact, `snap!`), and the binary as a process (process).
mod fixtures;
mod http;
mod process;
mod receiver;
mod redact;

use std::cell::RefCell;

use chrono::{DateTime, Utc};
use keyward::clock::Clock;
use keyward::config::Config;
use keyward::startup::Application;
use keyward::store::Store;
use serde_json::{Value, json};

pub use self::fixtures::{REPO_POLICIES, policy_dir_with, policy_dir_with_example};
pub use self::http::{Response, raw_exchange};
pub use self::process::{
    ServerProcess, printed, serve_binary, serve_binary_env, serve_binary_with, serve_fresh,
};
pub use self::receiver::{Received, Receiver};
pub use keyward::cli::documents::*;

pub const START: &str = "2030-01-01T00:00:00Z";

pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(START)
        .unwrap()
        .with_timezone(&Utc)
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
    /// The database: a file, or a PostgreSQL URL (`make test-pg`).
    pub db: std::path::PathBuf,
    /// `http://addr/metrics` when the config asked for a metrics listener.
    pub metrics_url: Option<String>,
    agent: ureq::Agent,
    labels: RefCell<Vec<(String, String)>>,
    /// The server's handle and thread, to stop it when the test is done.
    server: Option<(actix_web::dev::ServerHandle, std::thread::JoinHandle<()>)>,
    _dir: tempfile::TempDir,
    /// The test's own PostgreSQL database, dropped after the server stops.
    _pg: Option<TestDatabase>,
}

/// Where `make test-pg` says the suite runs: a PostgreSQL URL whose user
/// may create databases (its own database name is replaced per test).
pub const POSTGRES_ENV: &str = "KEYWARD_TEST_POSTGRES";

/// A database of its own for one test on PostgreSQL, dropped with it.
pub struct TestDatabase {
    admin: String,
    name: String,
    pub url: String,
}

impl TestDatabase {
    /// A fresh database on the server `KEYWARD_TEST_POSTGRES` names, if it
    /// names one.
    pub fn create() -> Option<Self> {
        let admin = std::env::var(POSTGRES_ENV).ok()?;
        let name = format!("kw_{}", uuid::Uuid::new_v4().simple());
        let mut c = postgres::Client::connect(&admin, postgres::NoTls)
            .unwrap_or_else(|e| panic!("{POSTGRES_ENV}={admin}: {e}"));
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let (base, _) = admin.rsplit_once('/').expect("a URL with a database name");
        Some(Self {
            url: format!("{base}/{name}"),
            admin,
            name,
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
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
    let pg = TestDatabase::create();
    let db = pg.as_ref().map_or_else(
        || dir.path().join("keyward.db"),
        |d| std::path::PathBuf::from(&d.url),
    );
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
        _pg: pg,
    };
    t.label(&t.admin_id, "admin");
    t.label(&t.tenant_id, "tenant default");
    t
}

impl TestApp {
    /// Whether this test runs on PostgreSQL (`make test-pg`).
    pub fn on_postgres(&self) -> bool {
        self._pg.is_some()
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

/// The web console's GraphQL documents (src/console/api.js), by name, with
/// `${KEY_FIELDS}` filled in.
pub fn console_documents() -> Vec<(String, String)> {
    let api = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/console/api.js"))
        .unwrap();
    let key_fields = api
        .split("const KEY_FIELDS = '")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .unwrap();
    let q = api.split("export const Q = {").nth(1).unwrap();
    let q = &q[..q.find("\n};").unwrap()];
    // `name: `document`,` entries: the text between backticks alternates
    // with the names before them.
    let parts: Vec<&str> = q.split('`').collect();
    parts
        .chunks(2)
        .filter_map(|pair| {
            let name = pair[0].trim().trim_start_matches(',').trim();
            let doc = pair.get(1)?;
            Some((
                name.trim_end_matches(':').to_owned(),
                doc.replace("${KEY_FIELDS}", key_fields),
            ))
        })
        .collect()
}
