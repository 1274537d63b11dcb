//! The audit log: a scripted session's trail, who may read it, that no
//! secret reaches it, refused-credential floods counted, retention and
//! append-only.
use chrono::Duration;
use keyward::domain::api_key::Token;
use serde_json::{Value, json};

use crate::helpers::{AUTH_INFO, CREATE_SERVICE_ACCOUNT, DELETE_KEY, INVITE, TestApp, input};
use crate::snap;
use crate::world::world;

const AUDIT: &str = "query($where: audit_event_bool_exp) { audit_event(where: $where) { id at request_id actor_key_id actor_account_id tenant_id action resource_type resource_id outcome determining_policies details message } }";
const ROTATE: &str =
    "mutation($input: rotate_api_key_input!) { rotate_api_key(input: $input) { id key } }";
const UPDATE: &str =
    "mutation($input: update_api_key_input!) { update_api_key(input: $input) { id } }";

fn events(a: &TestApp, key: &str, filter: Value) -> Vec<Value> {
    a.ok(key, AUDIT, json!({ "where": filter }))["audit_event"]
        .as_array()
        .unwrap()
        .clone()
}

/// An event without what changes from run to run.
fn stable(a: &TestApp, e: &Value) -> Value {
    let mut e = a.redact(e);
    if !e["request_id"].is_null() {
        e["request_id"] = json!("[request]");
    }
    e["details"] =
        a.redact(&serde_json::from_str::<Value>(e["details"].as_str().unwrap()).unwrap());
    e
}

#[test]
fn a_sessions_trail_names_every_change_refusal_and_deciding_policy() {
    let w = world();
    let a = &w.app;
    let before = events(a, &a.admin_key, json!({})).len();
    let robot = a.service_account(&a.admin_key, "ci");
    let (key_id, _) = a.create_key(&a.admin_key, &robot, "deploy");
    let rotated = a.ok(
        &a.admin_key,
        ROTATE,
        json!({ "input": { "key_id": key_id, "grace_seconds": 60 } }),
    );
    let new_id = rotated["rotate_api_key"]["id"].as_str().unwrap().to_owned();
    a.label(&new_id, "key deploy rotated");
    a.tick();
    a.ok(
        &a.admin_key,
        UPDATE,
        json!({ "input": { "key_id": new_id, "disabled": true } }),
    );
    a.tick();
    a.ok(
        &a.admin_key,
        UPDATE,
        json!({ "input": { "key_id": new_id, "disabled": false } }),
    );
    a.tick();
    // Refused: by the policies, for a hidden id, and bad credentials.
    a.gql(
        &w.user_key,
        CREATE_SERVICE_ACCOUNT,
        input(json!({ "name": "nope" })),
    );
    a.gql(&w.other_key, DELETE_KEY, input(json!({ "key_id": new_id })));
    a.ok(&a.admin_key, DELETE_KEY, input(json!({ "key_id": new_id })));
    a.tick();
    let rotated_secret = rotated["rotate_api_key"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    a.gql(&rotated_secret, AUTH_INFO, json!({}));
    a.verifier.flush_refusals().unwrap();
    let all = events(a, &a.admin_key, json!({}));
    let trail: Vec<Value> = all[..all.len() - before]
        .iter()
        .map(|e| stable(a, e))
        .collect();
    snap!("audit_trail", trail);
    // The other tenant's refused attempt is in its own log, not here.
    let theirs = events(a, &w.other_key, json!({ "outcome": { "_eq": "failed" } }));
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    assert_eq!(theirs[0]["action"], "DeleteApiKey");
    assert_eq!(theirs[0]["message"], "api key not found");
    // Filters read through their own index.
    let mine = events(a, &a.admin_key, json!({ "resource_id": { "_eq": key_id } }));
    assert!(mine.iter().all(|e| e["resource_id"] == key_id) && mine.len() >= 2);
    let denied = events(a, &a.admin_key, json!({ "outcome": { "_eq": "denied" } }));
    assert!(denied.iter().all(|e| e["outcome"] == "denied") && !denied.is_empty());
}

#[test]
fn only_admins_read_their_own_tenants_log() {
    let w = world();
    let a = &w.app;
    let code = |k: &str, f: Value| a.code(k, AUDIT, json!({ "where": f }));
    assert_eq!(code(&w.user_key, json!({})), "FORBIDDEN");
    assert_eq!(code(&w.readonly_key, json!({})), "FORBIDDEN");
    assert_eq!(
        code(&w.other_key, json!({ "tenant_id": { "_eq": a.tenant_id } })),
        "NOT_FOUND"
    );
    assert_eq!(code(&w.other_key, json!({ "server": true })), "FORBIDDEN");
    // The bootstrap admin is a server admin: the server's log is open to it.
    assert!(
        a.gql(&a.admin_key, AUDIT, json!({ "where": { "server": true } }))
            .get("errors")
            .is_none()
    );
}

#[test]
fn no_secret_token_or_hash_reaches_the_audit_table() {
    let w = world();
    let a = &w.app;
    let mut secrets = vec![
        a.admin_key.clone(),
        w.user_key.clone(),
        w.sa_key.clone(),
        w.other_key.clone(),
    ];
    let (id, k) = a.create_key(&w.user_key, &w.user_id, "s1");
    secrets.push(k);
    let r = a.ok(
        &w.user_key,
        ROTATE,
        json!({ "input": { "key_id": id, "grace_seconds": 0 } }),
    );
    secrets.push(r["rotate_api_key"]["key"].as_str().unwrap().to_owned());
    let inv = a.ok(&a.admin_key, INVITE, input(json!({ "email": "new@x" })));
    let token = inv["create_membership_invitation"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Misused tokens and keys land in the log too (by id, never by value).
    for bad in [&secrets[4], &token] {
        a.gql(bad, AUTH_INFO, json!({}));
    }
    a.anonymous(
        "mutation($input: accept_membership_invitation_input!) { accept_membership_invitation(input: $input) { key } }",
        input(json!({ "token": token })),
    );
    a.anonymous(
        "mutation($input: accept_membership_invitation_input!) { accept_membership_invitation(input: $input) { key } }",
        input(json!({ "token": token })),
    );
    secrets.push(token);
    a.verifier.flush_refusals().unwrap();
    let dump: Vec<String> = a
        .store
        .read(|c| {
            let rows = c.query("SELECT * FROM audit_events", &[], |r| {
                (0..r.len())
                    .map(|i| Ok(format!("{:?}", r.get::<keyward::store::Value<'static>>(i)?)))
                    .collect::<keyward::error::AppResult<Vec<_>>>()
            })?;
            Ok(rows.concat())
        })
        .unwrap();
    let text = dump.join("\n");
    assert!(dump.len() > 50, "{} cells", dump.len());
    for s in &secrets {
        let hash = Token::parse(s).unwrap().hash();
        let hex: String = hash.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert!(!text.contains(s.as_str()), "a secret in the audit log");
        assert!(!text.contains(&hex), "a key hash in the audit log");
        assert!(
            !text.contains(&s[4..20]),
            "part of a secret in the audit log"
        );
    }
    for prefix in ["kwu_", "kws_", "kwi_"] {
        assert!(!text.contains(prefix), "{prefix} in the audit log");
    }
    assert!(
        text.contains("AcceptInvitation"),
        "the misused invitation is recorded"
    );
}

#[test]
fn a_flood_of_bad_credentials_is_counted_not_stored_one_by_one() {
    let w = world();
    let a = &w.app;
    for i in 0..400 {
        let fake = Token::generate(keyward::domain::model::AccountKind::User);
        let r = a.get_with(
            "/auth/verify",
            &[("authorization", &format!("Bearer {}", fake.expose()))],
        );
        assert_eq!(r.status, 401);
        if i % 100 == 0 {
            a.get_with("/auth/verify", &[("authorization", "Bearer kwu_garbage")]);
        }
    }
    let written = a.verifier.flush_refusals().unwrap();
    assert!(written <= 2, "{written} events for a flood");
    let server = events(
        a,
        &a.admin_key,
        json!({ "server": true, "action": { "_eq": "Authenticate" } }),
    );
    let attempts: u64 = server
        .iter()
        .map(|e| {
            serde_json::from_str::<Value>(e["details"].as_str().unwrap()).unwrap()["attempts"]
                .as_u64()
                .unwrap()
        })
        .sum();
    assert_eq!(attempts, 404);
}

#[test]
fn old_events_are_pruned_and_none_is_ever_edited() {
    let w = world();
    let a = &w.app;
    let count = || -> i64 {
        a.store
            .read(|c| c.query_one("SELECT count(*) FROM audit_events", &[], |r| r.get(0)))
            .unwrap()
    };
    let start = count();
    assert!(start > 0);
    a.clock.advance(Duration::days(100));
    a.service_account(&a.admin_key, "recent");
    let done = keyward::housekeeping::run(
        &a.store,
        a.clock.now(),
        &keyward::housekeeping::Plan {
            retention: Duration::days(90),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        done.events_pruned as i64, start,
        "the world's setup is older than 90 days"
    );
    assert_eq!(count(), 1);
    let edit = a
        .store
        .write(|w| w.execute("UPDATE audit_events SET outcome = 'denied'", &[]));
    assert!(edit.is_err(), "an audit event was edited");
}

#[test]
fn an_events_request_id_is_the_responses_x_request_id() {
    let w = world();
    let a = &w.app;
    let r = a.gql_with(
        Some(&a.admin_key),
        &[],
        CREATE_SERVICE_ACCOUNT,
        input(json!({ "name": "traced" })),
    );
    let id = r.headers["x-request-id"].clone();
    assert_eq!(id.len(), 32, "{id}");
    let e = &events(
        a,
        &a.admin_key,
        json!({ "action": { "_eq": "CreateServiceAccount" } }),
    )[0];
    assert_eq!(e["request_id"], id);
}

/// A refused request's input is recorded, not stored whole: each text is
/// cut to 256 bytes, saying how long it was.
#[test]
fn a_refusals_record_keeps_a_bounded_part_of_its_input() {
    let w = world();
    let a = &w.app;
    let name = "n".repeat(60_000);
    let r = a.gql(
        &w.readonly_key,
        CREATE_SERVICE_ACCOUNT,
        input(json!({ "name": name })),
    );
    assert!(r.get("errors").is_some(), "{r}");
    let found = events(
        a,
        &a.admin_key,
        json!({ "action": { "_eq": "CreateServiceAccount" } }),
    );
    let refused: Vec<&Value> = found.iter().filter(|e| e["outcome"] != "allowed").collect();
    assert_eq!(refused.len(), 1, "{found:?}");
    let details = refused[0]["details"].as_str().unwrap();
    assert!(details.len() < 600, "{} bytes kept", details.len());
    assert!(details.contains("… (60000 bytes)"), "{details}");
    let message = refused[0]["message"].as_str().unwrap_or_default();
    assert!(message.len() <= 1100, "{} bytes of message", message.len());
}

/// How many requests `rows` stand for: an aggregated row says how many
/// repeats it counts, any other is one.
fn attempts(rows: &[Value]) -> u64 {
    rows.iter()
        .map(|e| {
            serde_json::from_str::<Value>(e["details"].as_str().unwrap()).unwrap()["attempts"]
                .as_u64()
                .unwrap_or(1)
        })
        .sum()
}

/// A key retrying what it may not do, and a stranger replaying a spent
/// invitation, leave one row a minute and a count, not a row a request;
/// nothing of them is lost.
#[test]
fn repeated_refusals_are_counted_not_stored_one_by_one() {
    let w = world();
    let a = &w.app;
    for i in 0..100 {
        let r = a.gql(
            &w.readonly_key,
            CREATE_SERVICE_ACCOUNT,
            input(json!({ "name": format!("robot-{i}") })),
        );
        assert!(r.get("errors").is_some(), "{r}");
    }
    let d = a.ok(
        &a.admin_key,
        INVITE,
        input(json!({ "email": "once@default", "role": "USER" })),
    );
    let invitation = d["create_membership_invitation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = d["create_membership_invitation"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let accept = "mutation($input: accept_membership_invitation_input!) { accept_membership_invitation(input: $input) { key } }";
    let first = a.anonymous(accept, input(json!({ "token": token })));
    assert!(first.get("errors").is_none(), "{first}");
    for _ in 0..100 {
        let again = a.anonymous(accept, input(json!({ "token": token })));
        assert!(again.get("errors").is_some(), "{again}");
    }
    let before_flush = events(
        a,
        &a.admin_key,
        json!({ "action": { "_eq": "AcceptInvitation" }, "outcome": { "_eq": "denied" } }),
    );
    assert_eq!(before_flush.len(), 1, "the first is written at once");
    a.verifier.flush_refusals().unwrap();
    for (what, filter) in [
        (
            "refused service accounts",
            json!({ "action": { "_eq": "CreateServiceAccount" }, "outcome": { "_eq": "denied" } }),
        ),
        (
            "replays of a spent invitation",
            json!({ "action": { "_eq": "AcceptInvitation" }, "resource_id": { "_eq": invitation }, "outcome": { "_eq": "denied" } }),
        ),
    ] {
        let rows = events(a, &a.admin_key, filter);
        assert!(
            (1..=2).contains(&rows.len()),
            "{what}: {} rows for 100 requests",
            rows.len()
        );
        assert_eq!(attempts(&rows), 100, "{what}: {rows:?}");
    }
}
