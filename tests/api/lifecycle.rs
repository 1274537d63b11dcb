//! A key's life after creation: rotation with a grace period, disable and
//! enable, restricted keys; allowed, denied and across tenants.
use chrono::Duration;
use keyward::domain::model::Role;
use serde_json::{Value, json};

use crate::helpers::{AUTH_INFO, SET_ROLE, TestApp, spawn_app_with};
use crate::snap;
use crate::world::world;

const ROTATE: &str = "mutation($input: rotate_api_key_input!) { rotate_api_key(input: $input) { id key token old_key_works_until } }";
const UPDATE: &str = "mutation($input: update_api_key_input!) { update_api_key(input: $input) { id name disabled_at } }";
const KEYS: &str =
    "{ auth_api_key { id name rotated_from rotated_at replaced_by grace_until disabled_at role } }";
const CREATE: &str =
    "mutation($input: create_api_key_input!) { create_api_key(input: $input) { id key } }";

fn verify(a: &TestApp, key: &str) -> (u16, String) {
    let r = a.get_with(
        "/auth/verify",
        &[("authorization", &format!("Bearer {key}"))],
    );
    let why = r
        .headers
        .get("www-authenticate")
        .cloned()
        .unwrap_or_default();
    (r.status, why)
}

fn error(v: &Value) -> (String, String) {
    (
        v["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned(),
        v["errors"][0]["message"].as_str().unwrap_or("").to_owned(),
    )
}

fn key_row(a: &TestApp, caller: &str, id: &str) -> Option<Value> {
    a.ok(caller, KEYS, json!({}))["auth_api_key"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id)
        .cloned()
}

#[test]
fn a_rotated_key_works_until_its_grace_ends_then_names_its_replacement() {
    let w = world();
    let a = &w.app;
    let (old_id, old) = a.create_key(&w.user_key, &w.user_id, "laptop");
    let r = a.ok(
        &w.user_key,
        ROTATE,
        json!({ "input": { "key_id": old_id, "grace_seconds": 3600 } }),
    )["rotate_api_key"]
        .clone();
    let (new_id, new) = (
        r["id"].as_str().unwrap().to_owned(),
        r["key"].as_str().unwrap().to_owned(),
    );
    assert_eq!(r["key"], r["token"]);
    a.label(&old_id, "old key");
    a.label(&new_id, "new key");
    // Both listed while the grace runs, linked both ways, same name.
    let listed = json!({
        "old": key_row(a, &w.user_key, &old_id),
        "new": key_row(a, &w.user_key, &new_id),
        "answer": r,
    });
    snap!("rotation_listed", a.redact(&listed));
    // The grace boundary, on GraphQL and on /auth/verify.
    a.clock.advance(Duration::seconds(3599));
    assert_eq!(verify(a, &old).0, 200, "at grace - 1 s the old key works");
    assert!(a.gql(&old, AUTH_INFO, json!({})).get("errors").is_none());
    a.tick();
    let refused = a.gql(&old, AUTH_INFO, json!({}));
    let (code, message) = error(&refused);
    assert_eq!(code, "UNAUTHENTICATED");
    assert_eq!(
        message,
        format!(
            "This API key was rotated at 2030-01-01T00:00:07Z; use its replacement (key {new_id})."
        )
    );
    let (status, why) = verify(a, &old);
    assert_eq!(status, 401);
    assert!(
        why.contains(&format!("use its replacement (key {new_id})")),
        "{why}"
    );
    assert_eq!(verify(a, &new).0, 200);
    // No longer listed; once tidied, a tombstone says the same.
    assert!(key_row(a, &w.user_key, &old_id).is_none());
    let tidied = keyward::housekeeping::run(
        &a.store,
        a.clock.now(),
        &keyward::housekeeping::Plan {
            retention: Duration::days(365),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(tidied.keys_retired, 1);
    a.verifier.flush_refusals().unwrap();
    let (_, message) = error(&a.gql(&old, AUTH_INFO, json!({})));
    assert!(
        message.contains(&format!("use its replacement (key {new_id})")),
        "{message}"
    );
    // A rotated key cannot be rotated again; its replacement can.
    let again = a.gql(
        &w.user_key,
        ROTATE,
        json!({ "input": { "key_id": old_id, "grace_seconds": 0 } }),
    );
    assert_eq!(error(&again).0, "CONFLICT", "{again}");
}

#[test]
fn grace_zero_stops_the_old_key_at_once_and_grace_never_outlives_the_key() {
    let w = world();
    let a = &w.app;
    let (id, old) = a.create_key(&a.admin_key, &w.sa_id, "robot");
    a.ok(
        &a.admin_key,
        ROTATE,
        json!({ "input": { "key_id": id, "grace_seconds": 0 } }),
    );
    let (status, why) = verify(a, &old);
    assert_eq!(status, 401);
    assert!(why.contains("was rotated at"), "{why}");
    // A key that expires in an hour keeps at most that hour of grace.
    let soon = a.ok(
        &w.user_key,
        CREATE,
        json!({ "input": { "user_id": w.user_id, "name": "short", "expires_at": "2030-01-01T01:00:00Z" } }),
    )["create_api_key"]["id"]
        .clone();
    let r = a.ok(
        &w.user_key,
        ROTATE,
        json!({ "input": { "key_id": soon, "grace_seconds": 86400 } }),
    );
    assert_eq!(
        r["rotate_api_key"]["old_key_works_until"],
        "2030-01-01T01:00:00.000000Z"
    );
    let bad = a.gql(
        &w.user_key,
        ROTATE,
        json!({ "input": { "key_id": soon, "grace_seconds": -1 } }),
    );
    assert_eq!(error(&bad).0, "BAD_USER_INPUT");
}

#[test]
fn disable_stops_a_key_at_once_under_load_and_enable_brings_it_back() {
    let w = world();
    let a = &w.app;
    let (id, key) = a.create_key(&w.user_key, &w.user_id, "hammered");
    let (before, after) = a.hammer(&key, || {
        a.ok(
            &w.user_key,
            UPDATE,
            json!({ "input": { "key_id": id, "disabled": true } }),
        );
    });
    assert!(before >= 200);
    assert_eq!(
        after, 0,
        "a disabled key was served after update_api_key returned"
    );
    let (code, message) = error(&a.gql(&key, AUTH_INFO, json!({})));
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("UNAUTHENTICATED", "This API key is disabled.")
    );
    assert!(!key_row(a, &w.user_key, &id).unwrap()["disabled_at"].is_null());
    let d = a.ok(
        &w.user_key,
        UPDATE,
        json!({ "input": { "key_id": id, "disabled": false, "name": "back" } }),
    );
    assert_eq!(d["update_api_key"]["name"], "back");
    assert!(d["update_api_key"]["disabled_at"].is_null());
    assert_eq!(verify(a, &key).0, 200, "enabled again");
}

#[test]
fn lifecycle_mutations_are_decided_and_never_cross_tenants() {
    let w = world();
    let a = &w.app;
    let (mine, _) = a.create_key(&w.user_key, &w.user_id, "mine");
    let (robot_key, _) = a.create_key(&a.admin_key, &w.sa_id, "robot");
    let (other_robot, _) = a.create_key(&w.other_key, &w.other_sa_id, "theirs");
    let mut out = serde_json::Map::new();
    let cases = [
        ("user_rotates_robot_key", &w.user_key, &robot_key),
        ("readonly_disables_user_key", &w.readonly_key, &mine),
        ("admin_disables_user_key", &a.admin_key, &mine),
        ("other_tenant_rotates_robot_key", &w.other_key, &robot_key),
        (
            "admin_rotates_other_tenants_key",
            &a.admin_key,
            &other_robot,
        ),
    ];
    for (name, caller, key) in cases {
        let r = a.gql(
            caller,
            ROTATE,
            json!({ "input": { "key_id": key, "grace_seconds": 0 } }),
        );
        let u = a.gql(
            caller,
            UPDATE,
            json!({ "input": { "key_id": key, "disabled": true } }),
        );
        out.insert(
            name.to_owned(),
            json!({ "rotate": error(&r), "update": error(&u) }),
        );
    }
    snap!("lifecycle_denied", Value::Object(out));
    // Nothing changed: every key still works and is neither rotated nor disabled.
    for (caller, key) in [
        (&w.user_key, &mine),
        (&a.admin_key, &robot_key),
        (&w.other_key, &other_robot),
    ] {
        let row = key_row(a, caller, key).unwrap();
        assert!(
            row["replaced_by"].is_null() && row["disabled_at"].is_null(),
            "{row}"
        );
    }
}

#[test]
fn a_restricted_key_acts_with_its_own_role_capped_by_its_owners() {
    let w = world();
    let a = &w.app;
    // An admin's read-only key for a dashboard.
    let ro = a.ok(
        &a.admin_key,
        CREATE,
        json!({ "input": { "user_id": a.admin_id, "name": "dashboard", "role": "READ_ONLY_USER" } }),
    )["create_api_key"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        a.ok(&ro, AUTH_INFO, json!({}))["auth_info"]["role"],
        "READ_ONLY_USER"
    );
    // Its every admin mutation is refused, per its role.
    let mut refused = serde_json::Map::new();
    let own = a.membership_of(&a.admin_id);
    for (name, doc, vars) in crate::isolation::admin_mutations(&w) {
        let vars: Value = serde_json::from_str(&vars.to_string().replace("SELF", &own)).unwrap();
        refused.insert(name.to_owned(), json!(error(&a.gql(&ro, doc, vars)).0));
    }
    snap!("restricted_key_refusals", Value::Object(refused));
    // It reads what a read-only user reads.
    assert!(
        a.gql(&ro, "{ membership { id } }", json!({}))
            .get("errors")
            .is_none()
    );
    // A user cannot make itself an admin key.
    let up = a.gql(
        &w.user_key,
        CREATE,
        json!({ "input": { "user_id": w.user_id, "name": "up", "role": "TENANT_ADMIN" } }),
    );
    assert_eq!(error(&up).0, "FORBIDDEN");
    assert_eq!(
        up["errors"][0]["extensions"]["policies"],
        json!(["key-role-within-owner", "role-ceiling-keys"])
    );
    // Demoting the owner caps the key on its next request.
    let (_, second_admin) = a.member("boss@default", Role::TenantAdmin);
    let boss_id = a.ok(&second_admin, AUTH_INFO, json!({}))["auth_info"]["user_id"].clone();
    let restricted = a.ok(
        &second_admin,
        CREATE,
        json!({ "input": { "user_id": boss_id, "name": "user-level", "role": "USER" } }),
    )["create_api_key"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        a.ok(&restricted, AUTH_INFO, json!({}))["auth_info"]["role"],
        "USER"
    );
    let membership = a.membership_of(boss_id.as_str().unwrap());
    a.ok(
        &a.admin_key,
        SET_ROLE,
        json!({ "input": { "membership_id": membership, "role": "READ_ONLY_USER" } }),
    );
    assert_eq!(
        a.ok(&restricted, AUTH_INFO, json!({}))["auth_info"]["role"],
        "READ_ONLY_USER",
        "the owner's demotion caps the key at once"
    );
}

#[test]
fn the_rotation_grace_example_bounds_the_grace() {
    let dir = crate::helpers::policy_dir_with_example("rotation-grace-at-most-24h", &[]);
    let path = dir.path().to_owned();
    let a = spawn_app_with(move |c| c.policies = Some(path));
    let (id, _) = a.create_key(&a.admin_key, &a.admin_id, "rolled");
    let long = a.gql(
        &a.admin_key,
        ROTATE,
        json!({ "input": { "key_id": id, "grace_seconds": 172800 } }),
    );
    assert_eq!(error(&long).0, "FORBIDDEN");
    assert_eq!(
        long["errors"][0]["extensions"]["policies"],
        json!(["rotation-grace-at-most-24h"])
    );
    let day = a.gql(
        &a.admin_key,
        ROTATE,
        json!({ "input": { "key_id": id, "grace_seconds": 86400 } }),
    );
    assert!(day.get("errors").is_none(), "{day}");
}
