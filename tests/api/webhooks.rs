//! Webhooks: every event delivered once, signed; retries with backoff on
//! the injected clock; nothing lost to kill -9; expiry notices once at each
//! lead time; the private-address guard; tenant isolation.
use chrono::Duration;
use keyward::domain::model::Role;
use keyward::webhooks::signature;
use serde_json::{Value, json};

use crate::helpers::{
    CREATE_KEY, CREATE_WEBHOOK, DELETE_KEY, DELETE_MEMBERSHIP, DELETE_SERVICE_ACCOUNT,
    DELETE_WEBHOOK, DELIVERIES, REDELIVER, ROTATE_KEY, Received, Receiver, TestApp, TestDatabase,
    UPDATE_KEY, WEBHOOKS, input, serve_binary_with, spawn_app, spawn_app_with,
};
use crate::snap;

const ALL_EVENTS: [&str; 9] = [
    "api_key.created",
    "api_key.expiring",
    "api_key.expired",
    "api_key.revoked",
    "api_key.rotated",
    "api_key.disabled",
    "api_key.leaked",
    "service_account.deleted",
    "membership.removed",
];

/// Registers `url` for `events` with the admin key; returns (id, secret).
pub fn register(a: &TestApp, url: &str, events: &[&str]) -> (String, String) {
    let d = a.ok(
        &a.admin_key,
        CREATE_WEBHOOK,
        input(json!({ "url": url, "events": events, "description": "test receiver" })),
    );
    let id = d["create_webhook"]["id"].as_str().unwrap().to_owned();
    a.label(&id, "webhook");
    (
        id,
        d["create_webhook"]["secret"].as_str().unwrap().to_owned(),
    )
}

/// One housekeeping run at the app's "now" (expiry notices among it).
pub fn housekeep(a: &TestApp) -> keyward::housekeeping::Tidied {
    keyward::housekeeping::run(&a.store, a.clock.now(), &Default::default()).unwrap()
}

/// Checks `r`'s signature under `secret`, as a receiver whose clock read
/// the app's "now" when it arrived (the test moves the clock on since).
fn assert_signed(r: &Received, secret: &str) {
    let header = r.header("keyward-signature");
    let t: i64 = header
        .strip_prefix("t=")
        .and_then(|h| h.split(',').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no t= in {header}"));
    signature::verify(secret, header, r.body.as_bytes(), t + 1)
        .unwrap_or_else(|e| panic!("{e}: {header}"));
    assert!(signature::verify("not the secret", header, r.body.as_bytes(), t).is_err());
    assert!(!r.header("keyward-delivery").is_empty());
    assert_eq!(
        r.header("keyward-event"),
        r.json()["type"].as_str().unwrap()
    );
    assert_eq!(r.header("content-type"), "application/json");
}

fn deliveries(a: &TestApp, filter: Value) -> Vec<Value> {
    let d = a.ok(&a.admin_key, DELIVERIES, json!({ "where": filter }));
    d["webhook_delivery"].as_array().unwrap().clone()
}

/// Waits until every delivery has left `pending`/`sending`.
fn settled(a: &TestApp) -> Vec<Value> {
    for _ in 0..1500 {
        let all = deliveries(a, json!({}));
        if all
            .iter()
            .all(|d| d["status"] == "delivered" || d["status"] == "failed")
            && all.iter().all(|d| d["status"] != "pending")
        {
            return all;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("deliveries did not settle: {:?}", deliveries(a, json!({})));
}

#[test]
fn every_event_is_delivered_once_and_signed() {
    let a = spawn_app_with(crate::leaks::accepting_reports);
    let rx = Receiver::start(&[]);
    let (_, secret) = register(&a, &rx.url, &ALL_EVENTS);
    let me = a.admin_id.clone();
    let k = |name: &str| a.create_key(&a.admin_key, &me, name);
    // created, disabled, rotated, then the replacement revoked.
    let (k1, _) = k("one");
    a.ok(
        &a.admin_key,
        UPDATE_KEY,
        input(json!({ "key_id": k1, "disabled": true })),
    );
    a.ok(
        &a.admin_key,
        UPDATE_KEY,
        input(json!({ "key_id": k1, "name": "renamed" })),
    );
    let r = a.ok(
        &a.admin_key,
        ROTATE_KEY,
        input(json!({ "key_id": k1, "grace_seconds": 0 })),
    );
    let replacement = r["rotate_api_key"]["id"].as_str().unwrap().to_owned();
    a.ok(
        &a.admin_key,
        DELETE_KEY,
        input(json!({ "key_id": replacement })),
    );
    // service_account.deleted and membership.removed.
    let sa = a.service_account(&a.admin_key, "robot");
    a.ok(
        &a.admin_key,
        DELETE_SERVICE_ACCOUNT,
        input(json!({ "user_id": sa })),
    );
    let (member, _) = a.member("m@example.com", Role::User);
    let mid = a.membership_of(&member);
    a.ok(
        &a.admin_key,
        DELETE_MEMBERSHIP,
        input(json!({ "membership_id": mid })),
    );
    // leaked: reported by a configured scanner (see leaks.rs for the rest).
    let (_, leaked) = k("leaked");
    crate::leaks::report_signed(&a, &leaked);
    // expiring twice (7 days, 1 day), then expired.
    let expires = a.clock.now() + Duration::days(3);
    a.ok(
        &a.admin_key,
        CREATE_KEY,
        input(json!({ "user_id": me, "name": "short", "expires_at": expires.to_rfc3339() })),
    );
    housekeep(&a);
    a.clock.advance(Duration::hours(2 * 24 + 12));
    housekeep(&a);
    a.clock.advance(Duration::days(1));
    housekeep(&a);
    housekeep(&a);

    let got = rx.wait_for(14);
    settled(&a);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let got_after = rx.got();
    assert_eq!(got.len(), got_after.len(), "more deliveries than events");
    let mut counts = std::collections::BTreeMap::new();
    for r in &got_after {
        assert_signed(r, &secret);
        *counts
            .entry(r.json()["type"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
        // Ids, names and times; never a secret.
        assert!(
            !r.body.contains("kwu_") && !r.body.contains("kws_"),
            "{}",
            r.body
        );
        assert!(!r.body.contains(&secret));
    }
    // Every minted key fires api_key.created: the three made by
    // create_api_key, the rotation's replacement, and the first key of the
    // member the operator added.
    let expected: std::collections::BTreeMap<String, i32> = [
        ("api_key.created", 5),
        ("api_key.disabled", 1),
        ("api_key.rotated", 1),
        ("api_key.revoked", 1),
        ("service_account.deleted", 1),
        ("membership.removed", 1),
        ("api_key.leaked", 1),
        ("api_key.expiring", 2),
        ("api_key.expired", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(counts, expected);
    // Each delivery has its own id; the bodies are what the snapshot shows.
    let ids: std::collections::HashSet<&str> = got_after
        .iter()
        .map(|r| r.header("keyward-delivery"))
        .collect();
    assert_eq!(ids.len(), got_after.len());
    // One worker sends in due order; events of the same instant in any.
    let mut bodies: Vec<Value> = got_after
        .iter()
        .map(|r| {
            let mut b = r.json();
            b["id"] = json!("[event id]");
            if let Some(by) = b["data"]["api_key"].get_mut("reporter") {
                assert_eq!(
                    *by,
                    json!(format!(
                        "scanner {}",
                        crate::leaks::SCANNER.key.key_identifier()
                    ))
                );
                *by = json!("[the test scanner's key id]");
            }
            a.redact(&b)
        })
        .collect();
    bodies.sort_by_key(|b| (b["occurred_at"].to_string(), b.to_string()));
    snap!("webhook_event_bodies", bodies);
}

#[test]
fn a_failing_receiver_is_retried_with_backoff_until_it_takes_one() {
    let a = spawn_app_with(|c| c.metrics_listen = Some("127.0.0.1:0".parse().unwrap()));
    let rx = Receiver::start(&[500, 503, 502]);
    let (hook, secret) = register(&a, &rx.url, &["api_key.created"]);
    let (key, _) = a.create_key(&a.admin_key, &a.admin_id, "ci");
    a.label(&hook, "webhook");
    for attempt in 1..=3 {
        rx.wait_for(attempt);
        // Not retried before its backoff is over.
        std::thread::sleep(std::time::Duration::from_millis(1200));
        assert_eq!(rx.got().len(), attempt, "retried before the backoff");
        let d = &deliveries(&a, json!({ "webhook_id": { "_eq": hook } }))[0];
        assert_eq!(d["status"], "pending", "{d}");
        assert_eq!(d["attempts"], attempt);
        assert!(d["last_status_code"].as_i64().unwrap() >= 500);
        a.clock.advance(Duration::hours(2));
    }
    let got = rx.wait_for(4);
    let d = &settled(&a)[0];
    let mut shown = d.clone();
    // The event's own id is random; the rest is fixed by the clock.
    shown["payload"] = json!(
        a.redact_ids(
            &shown["payload"]
                .as_str()
                .unwrap()
                .replace(got[0].json()["id"].as_str().unwrap(), "[event id]")
        )
    );
    a.label(d["id"].as_str().unwrap(), "delivery");
    snap!("webhook_delivery_after_retries", a.redact(&shown));
    assert_eq!(d["status"], "delivered");
    assert_eq!(d["attempts"], 4);
    assert_eq!(d["last_status_code"], 200);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    assert_eq!(rx.got().len(), 4, "delivered once, then never again");
    assert_eq!(got.iter().filter(|r| r.status == 200).count(), 1);
    // Every attempt carries the same delivery id and body, signed anew.
    assert!(got.iter().all(|r| r.body == got[0].body
        && r.header("keyward-delivery") == got[0].header("keyward-delivery")));
    assert_signed(&got[3], &secret);
    assert_eq!(got[3].json()["data"]["api_key"]["id"], json!(key));
    // Monitoring sees the attempts.
    let scrape = ureq::get(a.metrics_url.as_deref().unwrap())
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    for (outcome, n) in [("retrying", 3), ("delivered", 1)] {
        let line = format!("keyward_webhook_attempts_total{{outcome=\"{outcome}\"}} {n}");
        assert!(scrape.contains(&line), "{line} in\n{scrape}");
    }
}

#[test]
fn a_dead_receiver_fails_after_24_hours_and_can_be_redelivered() {
    let a = spawn_app();
    // Nothing listens on this port once the listener is gone.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hook", l.local_addr().unwrap())
    };
    let (hook, _) = register(&a, &dead, &["api_key.created"]);
    a.create_key(&a.admin_key, &a.admin_id, "ci");
    let mut last = Value::Null;
    for _ in 0..60 {
        std::thread::sleep(std::time::Duration::from_millis(150));
        last = deliveries(&a, json!({}))[0].clone();
        if last["status"] == "failed" {
            break;
        }
        if last["status"] == "pending" && last["attempts"].as_i64().unwrap() > 0 {
            a.clock.advance(Duration::hours(2));
        }
    }
    assert_eq!(last["status"], "failed", "{last}");
    assert!(last["last_error"].as_str().unwrap().len() > 3, "{last}");
    assert_eq!(last["last_status_code"], Value::Null);
    let failed = deliveries(&a, json!({ "status": { "_eq": "failed" } }));
    assert_eq!(failed.len(), 1);
    // The receiver comes back; the admin sends it again.
    let rx = Receiver::start(&[]);
    a.ok(
        &a.admin_key,
        DELETE_WEBHOOK,
        input(json!({ "webhook_id": hook })),
    );
    assert!(
        deliveries(&a, json!({})).is_empty(),
        "a webhook's deliveries go with it"
    );
    let (_, _) = register(&a, &rx.url, &["api_key.created"]);
    a.create_key(&a.admin_key, &a.admin_id, "again");
    let d = settled(&a);
    assert_eq!(d[0]["status"], "delivered");
    let id = d[0]["id"].as_str().unwrap().to_owned();
    let again = a.ok(&a.admin_key, REDELIVER, input(json!({ "delivery_id": id })));
    assert_eq!(again["redeliver_webhook_delivery"]["status"], "pending");
    assert_eq!(rx.wait_for(2).len(), 2);
    assert_eq!(rx.got()[0].body, rx.got()[1].body);
}

#[test]
fn private_targets_are_refused_without_the_flag() {
    let a = spawn_app_with(|c| c.webhook_allow_private = false);
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://0x7f.1/",
        "ftp://example.com/",
        "https://user:pass@example.com/",
    ] {
        let r = a.gql(
            &a.admin_key,
            CREATE_WEBHOOK,
            input(json!({ "url": url, "events": ["api_key.created"] })),
        );
        assert_eq!(
            r["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{url}: {r}"
        );
    }
    let r = a.gql(
        &a.admin_key,
        CREATE_WEBHOOK,
        input(json!({ "url": "http://127.0.0.1:9/hook", "events": ["api_key.created"] })),
    );
    snap!("webhook_private_target_refused", r);
    let none = a.ok(&a.admin_key, WEBHOOKS, json!({}));
    assert_eq!(none["webhook"], json!([]), "a refusal changes nothing");
    // Bad events are refused the same way.
    for events in [json!([]), json!(["api_key.exploded"])] {
        let r = a.gql(
            &a.admin_key,
            CREATE_WEBHOOK,
            input(json!({ "url": "https://hooks.example.com/", "events": events })),
        );
        assert_eq!(
            r["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{r}"
        );
    }
}

#[test]
fn webhooks_are_the_tenant_admins_and_stay_in_their_tenant() {
    let a = spawn_app();
    let rx = Receiver::start(&[]);
    let (hook, _) = register(&a, &rx.url, &["api_key.created", "api_key.revoked"]);
    let mut listed = a.ok(&a.admin_key, WEBHOOKS, json!({}));
    assert_eq!(listed["webhook"][0]["url"], json!(rx.url));
    listed["webhook"][0]["url"] = json!("[receiver]");
    snap!("webhook_list", a.redact(&listed));
    // A user of the tenant may neither see nor register one.
    let (_, user) = a.member("u@example.com", Role::User);
    assert_eq!(a.code(&user, WEBHOOKS, json!({})), "FORBIDDEN");
    assert_eq!(
        a.code(
            &user,
            CREATE_WEBHOOK,
            input(json!({ "url": rx.url, "events": ["api_key.created"] }))
        ),
        "FORBIDDEN"
    );
    // Another tenant's admin sees none of it, and its events go elsewhere.
    let (_, other_admin, other_key) = a.other_tenant("globex");
    assert_eq!(a.ok(&other_key, WEBHOOKS, json!({}))["webhook"], json!([]));
    assert_eq!(
        a.code(
            &other_key,
            DELETE_WEBHOOK,
            input(json!({ "webhook_id": hook }))
        ),
        "NOT_FOUND"
    );
    assert_eq!(
        a.code(
            &other_key,
            DELETE_WEBHOOK,
            input(json!({ "webhook_id": uuid::Uuid::new_v4() }))
        ),
        "NOT_FOUND"
    );
    a.create_key(&other_key, &other_admin, "theirs");
    a.create_key(&a.admin_key, &a.admin_id, "ours");
    std::thread::sleep(std::time::Duration::from_millis(500));
    // The user's first key (the operator's, for u@example.com) and "ours":
    // nothing of globex's.
    let got = rx.wait_for(2);
    assert_eq!(got.len(), 2);
    for r in &got {
        assert_eq!(r.json()["tenant_id"], json!(a.tenant_id));
    }
    let d = a.ok(&other_key, DELIVERIES, json!({}));
    assert_eq!(d["webhook_delivery"], json!([]));
    let id = deliveries(&a, json!({}))[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        a.code(&other_key, REDELIVER, input(json!({ "delivery_id": id }))),
        "NOT_FOUND"
    );
    // Webhook changes are in the audit log.
    let log = a.ok(
        &a.admin_key,
        crate::helpers::AUDIT,
        json!({ "where": { "action": { "_eq": "ManageWebhook" } } }),
    );
    // The admin's registration, and the user's refused attempt.
    let outcomes: Vec<&str> = log["audit_event"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["denied", "allowed"]);
    let secret_free = log.to_string();
    assert!(!secret_free.contains("whsec_"), "{secret_free}");
}

#[test]
fn expiry_notices_go_once_at_each_lead_time() {
    let a = spawn_app();
    let rx = Receiver::start(&[]);
    register(&a, &rx.url, &["api_key.expiring", "api_key.expired"]);
    let expires = a.clock.now() + Duration::days(10);
    let d = a.ok(
        &a.admin_key,
        CREATE_KEY,
        input(json!({ "user_id": a.admin_id, "name": "ten days", "expires_at": expires.to_rfc3339() })),
    );
    let key_id = d["create_api_key"]["id"].as_str().unwrap().to_owned();
    let mut sent = Vec::new();
    // (days on from creation, notices that run sends)
    for (day, expect) in [
        (0.0, 0),
        (2.0, 0),
        (3.5, 1), // 6.5 days left: the 7-day notice
        (3.6, 0),
        (8.9, 0),
        (9.5, 1), // half a day left: the 1-day notice
        (9.9, 0),
        (10.0, 1), // expired
        (11.0, 0),
        (30.0, 0),
    ] {
        let at = expires - Duration::days(10) + Duration::minutes((day * 24.0 * 60.0) as i64);
        let now = a.clock.now();
        if at > now {
            a.clock.advance(at - now);
        }
        let t = housekeep(&a);
        assert_eq!(t.notices_sent, expect, "day {day}");
        sent.push(t.notices_sent);
    }
    let got = rx.wait_for(3);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(rx.got().len(), 3);
    let bodies: Vec<Value> = got.iter().map(Received::json).collect();
    assert_eq!(
        bodies
            .iter()
            .map(|b| b["type"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["api_key.expiring", "api_key.expiring", "api_key.expired"]
    );
    assert_eq!(bodies[0]["data"]["api_key"]["lead_seconds"], 7 * 24 * 3600);
    assert_eq!(bodies[1]["data"]["api_key"]["lead_seconds"], 24 * 3600);
    assert!(
        bodies
            .iter()
            .all(|b| b["data"]["api_key"]["id"] == json!(key_id))
    );
    assert!(bodies.iter().all(|b| b["actor"].is_null()));
}

#[test]
fn a_delivery_survives_kill_9_between_the_change_and_its_send() {
    let dir = tempfile::tempdir().unwrap();
    let pg = TestDatabase::create();
    let file = dir.path().join("k.db");
    let db = pg
        .as_ref()
        .map_or_else(|| file.to_str().unwrap().to_owned(), |d| d.url.clone());
    let rx = Receiver::start(&[]);
    let args = |workers: &'static str| {
        vec![
            "serve".to_owned(),
            "--db".into(),
            db.clone(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--webhook-allow-private".into(),
            "--webhook-workers".into(),
            workers.into(),
        ]
    };
    // A server that sends nothing: the change commits, its delivery waits.
    let first_args = args("0");
    let first = serve_binary_with(&first_args.iter().map(String::as_str).collect::<Vec<_>>());
    let admin = first.bootstrap_key().unwrap();
    let gql = |url: &str, query: &str, vars: Value| -> Value {
        ureq::post(url)
            .header("authorization", format!("Bearer {admin}"))
            .send_json(json!({ "query": query, "variables": vars }))
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap()
    };
    gql(
        &first.url,
        CREATE_WEBHOOK,
        input(json!({ "url": rx.url, "events": ["api_key.created"] })),
    );
    let me = gql(&first.url, crate::helpers::AUTH_INFO, json!({}))["data"]["auth_info"]["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let made = gql(
        &first.url,
        CREATE_KEY,
        input(json!({ "user_id": me, "name": "ci" })),
    );
    let key_id = made["data"]["create_api_key"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let logs = first.stop(); // SIGKILL
    assert!(
        rx.got().is_empty(),
        "nothing was sent before the kill: {logs}"
    );
    // The next start sends it, once.
    let second_args = args("2");
    let second = serve_binary_with(&second_args.iter().map(String::as_str).collect::<Vec<_>>());
    let got = rx.wait_for(1);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let logs = second.stop();
    assert_eq!(rx.got().len(), 1, "{logs}");
    assert_eq!(got[0].json()["data"]["api_key"]["id"], json!(key_id));
    assert!(printed_ok(&logs));
}

/// The second server's logs say the delivery was made.
fn printed_ok(logs: &str) -> bool {
    logs.contains("webhook delivered")
}

#[test]
fn a_slow_receiver_does_not_slow_the_api() {
    // A receiver that accepts and never answers holds a worker for the
    // attempt's timeout; requests are served meanwhile.
    let a = spawn_app();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", silent.local_addr().unwrap());
    register(&a, &url, &["api_key.created"]);
    for i in 0..5 {
        a.create_key(&a.admin_key, &a.admin_id, &format!("k{i}"));
    }
    // Every request above answered; the deliveries are still in hand.
    let d = deliveries(&a, json!({}));
    assert_eq!(d.len(), 5);
    assert!(d.iter().all(|d| d["status"] != "delivered"));
    drop(silent);
}

#[test]
fn created_webhook_shows_its_secret_once() {
    let a = spawn_app();
    let rx = Receiver::start(&[]);
    let d = a.ok(
        &a.admin_key,
        CREATE_WEBHOOK,
        input(json!({ "url": rx.url, "events": ["api_key.revoked", "api_key.created", "api_key.revoked"], "description": "  pager  " })),
    );
    let secret = d["create_webhook"]["secret"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("whsec_") && secret.len() == 38,
        "{secret}"
    );
    let mut shown = d.clone();
    shown["create_webhook"]["secret"] = json!("[secret]");
    shown["create_webhook"]["url"] = json!("[receiver]");
    a.label(d["create_webhook"]["id"].as_str().unwrap(), "webhook");
    snap!("webhook_created", a.redact(&shown));
    let listed = a.ok(&a.admin_key, WEBHOOKS, json!({}));
    assert!(!listed.to_string().contains(&secret));
}
