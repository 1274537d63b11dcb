//! Several keyward processes on one PostgreSQL database (the suite's
//! PostgreSQL pass, `make test-pg`; the SQLite pass skips these): a
//! revocation through one replica reaches the others, a replica whose
//! listening connection is killed serves no revoked key, and a replica
//! killed with SIGKILL under load loses no acknowledged write.
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use keyward::domain::model::Role;

use crate::helpers::{ACCEPT, AUTH_INFO, CREATE_KEY, DELETE_KEY, INVITE, SET_ROLE, TestDatabase};
use crate::nginx::{echo_upstream, free_port, run_nginx};

/// `keyward serve` on `db`, its logs in `log`.
struct Replica {
    child: Child,
    base: String,
    bootstrap_key: Option<String>,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn replica(db: &str, log: &std::path::Path) -> Replica {
    let mut child = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["serve", "--db", db, "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .env_remove("KEYWARD_DB")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut bootstrap_key = None;
    let base = loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("{}", std::fs::read_to_string(log).unwrap()))
            .unwrap();
        if let Some(k) = line.strip_prefix("Bootstrap API key: ") {
            bootstrap_key = Some(k.to_owned());
        }
        if let Some(url) = line.strip_prefix("keyward is serving ") {
            break url.trim_end_matches("/graphql").to_owned();
        }
    };
    // The rest of stdout is not read again: let it drain.
    std::thread::spawn(move || lines.for_each(drop));
    Replica {
        child,
        base,
        bootstrap_key,
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

fn gql(base: &str, key: &str, query: &str, variables: Value) -> Value {
    let mut r = agent()
        .post(format!("{base}/graphql"))
        .header("Authorization", &format!("Bearer {key}"))
        .send_json(json!({ "query": query, "variables": variables }))
        .unwrap();
    let v: Value = r.body_mut().read_json().unwrap();
    assert!(v["errors"].is_null(), "{v}");
    v["data"].clone()
}

/// The id of the account whose key `key` is.
fn user_id(base: &str, key: &str) -> String {
    gql(base, key, "{ auth_info { user_id } }", json!({}))["auth_info"]["user_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn verify_status(agent: &ureq::Agent, url: &str, key: &str) -> u16 {
    agent
        .get(url)
        .header("Authorization", &format!("Bearer {key}"))
        .call()
        .map_or(0, |r| r.status().as_u16())
}

/// The replica tests run one at a time: each holds three pools and
/// listeners of PostgreSQL connections, and together they would exhaust
/// the server's connection slots.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

/// Three replicas on a fresh database; the first bootstraps it.
fn three(dir: &std::path::Path) -> Option<(TestDatabase, Vec<Replica>, String)> {
    let Some(db) = TestDatabase::create() else {
        eprintln!("skipped: replicas run on PostgreSQL (make test-pg)");
        return None;
    };
    let first = replica(&db.url, &dir.join("r0.log"));
    let admin = first
        .bootstrap_key
        .clone()
        .expect("the first replica bootstraps");
    let mut all = vec![first];
    for i in 1..3 {
        let r = replica(&db.url, &dir.join(format!("r{i}.log")));
        assert!(r.bootstrap_key.is_none(), "only one replica bootstraps");
        all.push(r);
    }
    Some((db, all, admin))
}

#[test]
fn a_revocation_through_one_replica_reaches_every_replica() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let Some((_db, replicas, admin)) = three(dir.path()) else {
        return;
    };
    // nginx from the forward-auth example, keyward being the three replicas.
    let listen = free_port();
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/nginx/keyward.conf"
    ))
    .unwrap();
    let servers: String = replicas
        .iter()
        .map(|r| format!("    server {};\n", r.base.trim_start_matches("http://")))
        .collect();
    let site = format!(
        "upstream keyward_replicas {{\n{servers}}}\n{}",
        example
            .replace("127.0.0.1:8080", &format!("127.0.0.1:{listen}"))
            .replace("127.0.0.1:4200", "keyward_replicas")
            .replace("127.0.0.1:9000", &format!("127.0.0.1:{}", echo_upstream()))
    );
    let ngx = dir.path().join("nginx");
    std::fs::create_dir_all(&ngx).unwrap();
    let _nginx = run_nginx(&ngx, listen, &site);

    let me = user_id(&replicas[0].base, &admin);
    let mut gaps = Vec::new();
    for round in 0..5 {
        let made = gql(
            &replicas[round % 3].base,
            &admin,
            CREATE_KEY,
            json!({ "input": { "user_id": me, "name": format!("hammered {round}") } }),
        )["create_api_key"]
            .clone();
        let (id, key) = (
            made["id"].as_str().unwrap().to_owned(),
            made["key"].as_str().unwrap().to_owned(),
        );
        let mut targets: Vec<String> = replicas
            .iter()
            .map(|r| format!("{}/auth/verify", r.base))
            .collect();
        targets.push(format!("http://127.0.0.1:{listen}/through-nginx"));
        // Every target answers the key (and caches it) before the revoke.
        for t in &targets {
            assert_eq!(verify_status(&agent(), t, &key), 200, "{t}");
        }
        let stop = Arc::new(AtomicBool::new(false));
        // (target, when the request started, status)
        let seen = Arc::new(Mutex::new(Vec::<(usize, Instant, u16)>::new()));
        let threads: Vec<_> = targets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let (t, key, stop, seen) = (t.clone(), key.clone(), stop.clone(), seen.clone());
                std::thread::spawn(move || {
                    let a = agent();
                    while !stop.load(Ordering::Relaxed) {
                        let started = Instant::now();
                        let status = verify_status(&a, &t, &key);
                        seen.lock().unwrap().push((i, started, status));
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        gql(
            &replicas[(round + 1) % 3].base,
            &admin,
            DELETE_KEY,
            json!({ "input": { "key_id": id } }),
        );
        let answered = Instant::now();
        std::thread::sleep(Duration::from_millis(700));
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().unwrap();
        }
        let seen = seen.lock().unwrap();
        for (i, target) in targets.iter().enumerate() {
            let after: Vec<_> = seen
                .iter()
                .filter(|(t, at, _)| *t == i && *at > answered)
                .collect();
            assert!(!after.is_empty(), "{target} was not asked after the revoke");
            assert!(
                after.iter().all(|(_, _, s)| *s == 401 || *s == 200),
                "{target}: {:?}",
                after.iter().map(|x| x.2).collect::<Vec<_>>()
            );
        }
        let late = seen
            .iter()
            .filter(|(_, at, s)| *s == 200 && *at > answered)
            .map(|(t, at, _)| (*t, at.duration_since(answered)))
            .max_by_key(|x| x.1);
        gaps.push(late.map_or(Duration::ZERO, |x| x.1));
        // The bound: nothing succeeds 100 ms after the revoke answered.
        assert!(
            late.is_none_or(|(_, gap)| gap < Duration::from_millis(100)),
            "{} still said yes {:?} after the revoke answered",
            targets[late.unwrap().0],
            late.unwrap().1
        );
    }
    eprintln!("largest gap between a revoke's answer and a success on any replica: {gaps:?}");
}

/// How long after a revoke's answer another replica may still honour the
/// key when its listener is lost (`store::notify::HEARD_WITHIN`).
const LISTENER_BOUND: Duration = keyward::store::notify::HEARD_WITHIN;

/// Waits until replica `pid`'s listener is connected again.
fn listener_back(admin_db: &mut postgres::Client, pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let n: i64 = admin_db
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                &[&format!("keyward-listener-{pid}")],
            )
            .unwrap()
            .get(0);
        if n == 1 {
            return;
        }
        assert!(Instant::now() < deadline, "the listener did not come back");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Round after round, replica B's listening connection is killed at a
/// random moment around a revoke on replica A (before it, while it runs,
/// or after it answered); B is asked about the key all along. No answer of
/// B says yes once `LISTENER_BOUND` has passed since the revoke answered.
#[test]
fn a_replica_that_lost_its_listener_serves_no_revoked_key() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let Some((db, replicas, admin)) = three(dir.path()) else {
        return;
    };
    let me = user_id(&replicas[0].base, &admin);
    let on_b = format!("{}/auth/verify", replicas[1].base);
    let pid = replicas[1].child.id();
    let mut admin_db = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    let rounds: u64 = std::env::var("KEYWARD_LISTENER_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(50);
    let mut seed = 0x5eed_u64 ^ u64::from(pid);
    let mut random = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let (mut late, mut within) = (0, 0);
    // One connection kills, from its own thread, at the chosen moment.
    let killer_db = Arc::new(Mutex::new(
        postgres::Client::connect(&db.url, postgres::NoTls).unwrap(),
    ));
    for round in 0..rounds {
        listener_back(&mut admin_db, pid);
        // B proves it hears again before the round starts.
        std::thread::sleep(keyward::store::notify::PING_EVERY * 2);
        let made = gql(
            &replicas[0].base,
            &admin,
            CREATE_KEY,
            json!({ "input": { "user_id": me, "name": format!("round {round}") } }),
        )["create_api_key"]
            .clone();
        let (id, key) = (
            made["id"].as_str().unwrap().to_owned(),
            made["key"].as_str().unwrap().to_owned(),
        );
        assert_eq!(verify_status(&agent(), &on_b, &key), 200, "cached on B");
        // Kill B's listener up to 40 ms before or after the revoke is sent.
        let offset = Duration::from_millis(random(40));
        let kill_first = random(2) == 0;
        let killer_db = killer_db.clone();
        let killer = std::thread::spawn(move || {
            if !kill_first {
                std::thread::sleep(offset);
            }
            let mut c = killer_db.lock().unwrap();
            c.query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                &[&format!("keyward-listener-{pid}")],
            )
            .unwrap()
            .len()
        });
        if kill_first {
            std::thread::sleep(offset);
        }
        gql(
            &replicas[0].base,
            &admin,
            DELETE_KEY,
            json!({ "input": { "key_id": id } }),
        );
        let answered = Instant::now();
        // Ask B until well past the bound.
        let agent = agent();
        while answered.elapsed() < LISTENER_BOUND + Duration::from_millis(300) {
            let yes = verify_status(&agent, &on_b, &key) == 200;
            let after = answered.elapsed();
            if yes && after >= LISTENER_BOUND {
                late += 1;
            } else if yes {
                within += 1;
            }
        }
        assert_eq!(
            killer.join().unwrap(),
            1,
            "replica B listens on one connection"
        );
    }
    eprintln!(
        "{rounds} rounds: {within} answers said yes within {LISTENER_BOUND:?} of a revoke, {late} after it"
    );
    assert_eq!(late, 0, "a revoked key was honoured past the bound");
    let logs = std::fs::read_to_string(dir.path().join("r1.log")).unwrap();
    assert!(
        logs.contains("invalidation listener lost its connection"),
        "{logs}"
    );
}

#[test]
fn a_replica_killed_under_load_loses_no_acknowledged_write() {
    let _turn = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let Some((_db, mut replicas, admin)) = three(dir.path()) else {
        return;
    };
    let me = user_id(&replicas[0].base, &admin);
    // (id, None: kept; Some(true): revoke acknowledged; Some(false): revoke
    // sent, its answer lost with the replica)
    let acknowledged = Arc::new(Mutex::new(Vec::<(String, Option<bool>)>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = replicas
        .iter()
        .map(|r| {
            let (base, admin, me) = (r.base.clone(), admin.clone(), me.clone());
            let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
            std::thread::spawn(move || {
                let a = agent();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let create = json!({ "query": CREATE_KEY, "variables": { "input": { "user_id": me, "name": format!("load {n}") } } });
                    let Ok(mut r) = a
                        .post(format!("{base}/graphql"))
                        .header("Authorization", &format!("Bearer {admin}"))
                        .send_json(create)
                    else {
                        continue;
                    };
                    let Ok(v) = r.body_mut().read_json::<Value>() else {
                        continue;
                    };
                    let Some(id) = v["data"]["create_api_key"]["id"].as_str() else {
                        continue;
                    };
                    let id = id.to_owned();
                    let revoke = n % 2 == 0;
                    if revoke {
                        let gone = a
                            .post(format!("{base}/graphql"))
                            .header("Authorization", &format!("Bearer {admin}"))
                            .send_json(json!({ "query": DELETE_KEY, "variables": { "input": { "key_id": id } } }))
                            .ok()
                            .and_then(|mut r| r.body_mut().read_json::<Value>().ok())
                            .is_some_and(|v| v["errors"].is_null());
                        acknowledged.lock().unwrap().push((id, Some(gone)));
                    } else {
                        acknowledged.lock().unwrap().push((id, None));
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    // SIGKILL: no graceful anything.
    replicas[2].child.kill().unwrap();
    replicas[2].child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap();
    assert!(acknowledged.len() > 20, "{} writes", acknowledged.len());
    // What the survivors list is exactly what was acknowledged.
    let listed: std::collections::HashSet<String> = {
        let mut ids = std::collections::HashSet::new();
        let mut after: Option<String> = None;
        loop {
            let page = gql(
                &replicas[0].base,
                &admin,
                "query($after: String) { auth_api_key(limit: 1000, after: $after) { id cursor } }",
                json!({ "after": after }),
            )["auth_api_key"]
                .as_array()
                .unwrap()
                .clone();
            if page.is_empty() {
                break ids;
            }
            after = page.last().unwrap()["cursor"].as_str().map(str::to_owned);
            ids.extend(page.iter().map(|k| k["id"].as_str().unwrap().to_owned()));
        }
    };
    for (id, revoked) in acknowledged.iter() {
        match revoked {
            Some(true) => assert!(!listed.contains(id), "{id} was revoked, and is listed"),
            None => assert!(listed.contains(id), "{id} was created, and is lost"),
            Some(false) => {}
        }
    }
    // The others keep serving.
    for r in &replicas[..2] {
        assert_eq!(
            verify_status(&agent(), &format!("{}/auth/verify", r.base), &admin),
            200
        );
    }
}

/// A GraphQL answer, errors included.
fn gql_any(base: &str, key: Option<&str>, query: &str, variables: Value) -> Value {
    let mut req = agent().post(format!("{base}/graphql"));
    if let Some(k) = key {
        req = req.header("Authorization", &format!("Bearer {k}"));
    }
    req.send_json(json!({ "query": query, "variables": variables }))
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap()
}

/// Runs `a` and `b` at the same moment; their answers.
fn together(a: impl FnOnce() -> Value + Send, b: impl FnOnce() -> Value + Send) -> [Value; 2] {
    let start = std::sync::Barrier::new(2);
    std::thread::scope(|s| {
        let ta = s.spawn(|| {
            start.wait();
            a()
        });
        let tb = s.spawn(|| {
            start.wait();
            b()
        });
        [ta.join().unwrap(), tb.join().unwrap()]
    })
}

#[test]
fn the_last_admin_and_single_use_invitations_hold_across_replicas() {
    let _turn = one_at_a_time();
    let a = crate::helpers::spawn_app_on(|_| {}, keyward::clock::Clock::system());
    if !a.on_postgres() {
        eprintln!("skipped: replicas run on PostgreSQL (make test-pg)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let b = replica(a.db.to_str().unwrap(), &dir.path().join("b.log"));
    let (second_id, second_key) = a.member("second@default", Role::TenantAdmin);
    let first_m = a.membership_of(&a.admin_id);
    let second_m = a.membership_of(&second_id);
    let set = |base: &str, key: &str, m: &str, role: &str| {
        gql_any(
            base,
            Some(key),
            SET_ROLE,
            json!({ "input": { "membership_id": m, "role": role } }),
        )
    };
    for round in 0..6 {
        // Each admin demotes the other, on different replicas, at once.
        let answers = together(
            || set(&a.url, &a.admin_key, &second_m, "USER"),
            || set(&b.base, &second_key, &first_m, "USER"),
        );
        let ok: Vec<bool> = answers.iter().map(|v| v["errors"].is_null()).collect();
        assert_eq!(
            ok.iter().filter(|x| **x).count(),
            1,
            "round {round}: {answers:?}"
        );
        // The one still admin restores the other, through the other replica:
        // the demoted key's new role must be known there too.
        let back = if ok[0] {
            set(&b.base, &a.admin_key, &second_m, "TENANT_ADMIN")
        } else {
            set(&a.url, &second_key, &first_m, "TENANT_ADMIN")
        };
        assert!(back["errors"].is_null(), "round {round}: {back}");
    }
    for round in 0..6 {
        let token = a.ok(
            &a.admin_key,
            INVITE,
            json!({ "input": { "email": format!("new{round}@example.com"), "role": "USER" } }),
        )["create_membership_invitation"]["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let accept =
            |base: &str| gql_any(base, None, ACCEPT, json!({ "input": { "token": token } }));
        let answers = together(|| accept(&a.url), || accept(&b.base));
        let ok = answers.iter().filter(|v| v["errors"].is_null()).count();
        assert_eq!(ok, 1, "round {round}: {answers:?}");
    }
}

#[test]
fn a_dropped_database_connection_is_an_internal_error_then_heals() {
    let _turn = one_at_a_time();
    let a = crate::helpers::spawn_app();
    if !a.on_postgres() {
        eprintln!("skipped: replicas run on PostgreSQL (make test-pg)");
        return;
    }
    let mut admin_db = postgres::Client::connect(a.db.to_str().unwrap(), postgres::NoTls).unwrap();
    for _ in 0..3 {
        // Every connection of the server, the pool's and the listener's,
        // dies as in a database restart.
        admin_db
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .unwrap();
        let mut answered = false;
        for _ in 0..20 {
            let r = a.gql_with(Some(&a.admin_key), &[], AUTH_INFO, json!({}));
            let v = r.json();
            if v["errors"].is_null() {
                answered = true;
                break;
            }
            // Meanwhile: an internal error with an id, nothing more.
            assert_eq!(
                v["errors"][0]["extensions"]["code"], "INTERNAL_SERVER_ERROR",
                "{v}"
            );
            assert!(!r.text.contains("postgres"), "{}", r.text);
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(answered, "the server did not reconnect");
    }
}
