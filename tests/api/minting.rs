//! Every way a key comes into existence is decided as `CreateApiKey`:
//! `create_api_key`, a rotation's replacement, an accepted invitation's
//! first key, `create_tenant`'s first key. An operator's forbid on
//! `CreateApiKey` holds on all of them, every minted key fires
//! `api_key.created`, and a rotation hands out nothing the caller could not
//! mint.
use chrono::Duration;
use keyward::domain::model::Role;
use serde_json::{Value, json};

use crate::helpers::{
    ACCEPT, AUTH_INFO, CREATE_KEY, CREATE_WEBHOOK, DELETE_MEMBERSHIP, DELIVERIES, INVITE,
    ROTATE_KEY, TENANTS, TestApp, UPDATE_KEY, input, policy_dir_with, policy_dir_with_example,
    spawn_app, spawn_app_with,
};

const CREATE_TENANT: &str =
    "mutation($input: create_tenant_input!) { create_tenant(input: $input) { id slug key } }";

/// Every key must expire, by any path.
const MUST_EXPIRE: &str = r#"@id("keys-must-expire")
forbid (principal, action == Keyward::Action::"CreateApiKey", resource)
unless { context has expires_at };
"#;

/// The shipped cases that make keys without an expiry, which the policy
/// above changes on purpose.
const MUST_EXPIRE_CASES: &str = r#"retires = [
    "a user creates a key for itself",
    "a read-only user creates a key for itself",
    "an admin may not make keys for another person",
    "an admin makes a key for a service account",
    "a key mints keys for its owner in its own tenant",
]
"#;

fn serve_with(dir: &tempfile::TempDir) -> TestApp {
    let path = dir.path().to_owned();
    spawn_app_with(move |c| c.policies = Some(path))
}

fn code(v: &Value) -> &str {
    v["errors"][0]["extensions"]["code"].as_str().unwrap_or("")
}

fn denied_by(v: &Value) -> Value {
    assert_eq!(code(v), "FORBIDDEN", "{v}");
    v["errors"][0]["extensions"]["policies"].clone()
}

/// An invitation to the admin's tenant for `email`; returns its token.
/// The id of `key` (from `auth_info`).
fn key_id_of(a: &TestApp, key: &str) -> Value {
    a.ok(key, AUTH_INFO, json!({}))["auth_info"]["api_key_id"].clone()
}

fn invite(a: &TestApp, email: &str) -> String {
    let v = a.ok(&a.admin_key, INVITE, input(json!({ "email": email })));
    v["create_membership_invitation"]["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn a_forbid_on_create_api_key_holds_on_every_path_that_mints() {
    let dir = policy_dir_with(&[
        ("keys-must-expire.cedar", MUST_EXPIRE),
        ("tests/keys-must-expire.toml", MUST_EXPIRE_CASES),
    ]);
    let a = serve_with(&dir);
    let soon = "2030-02-01T00:00:00Z";
    // create_api_key.
    let v = a.gql(
        &a.admin_key,
        CREATE_KEY,
        input(json!({ "user_id": a.admin_id, "name": "forever" })),
    );
    assert_eq!(denied_by(&v), json!(["keys-must-expire"]));
    // An invitation's first key: refused without an expiry, and nothing of
    // the acceptance stays (the invitation can still be used).
    let token = invite(&a, "new@default");
    let v = a.anonymous(ACCEPT, input(json!({ "token": token })));
    assert_eq!(denied_by(&v), json!(["keys-must-expire"]));
    let v = a.anonymous(
        ACCEPT,
        input(json!({ "token": token, "key_expires_at": soon })),
    );
    assert!(v.get("errors").is_none(), "{v}");
    let key = v["data"]["accept_membership_invitation"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let info = a.ok(&key, AUTH_INFO, json!({}));
    assert_eq!(
        info["auth_info"]["expires_at"],
        "2030-02-01T00:00:00.000000Z"
    );
    // create_tenant's first key.
    let v = a.gql(
        &a.admin_key,
        CREATE_TENANT,
        input(json!({ "name": "Ops", "slug": "ops" })),
    );
    assert_eq!(denied_by(&v), json!(["keys-must-expire"]));
    let slugs = a.ok(&a.admin_key, TENANTS, json!({}));
    assert_eq!(
        slugs["tenant"].as_array().unwrap().len(),
        1,
        "no tenant was made: {slugs}"
    );
    let v = a.ok(
        &a.admin_key,
        CREATE_TENANT,
        input(json!({ "name": "Ops", "slug": "ops", "key_expires_at": soon })),
    );
    let ops_key = v["create_tenant"]["key"].as_str().unwrap();
    let info = a.ok(ops_key, AUTH_INFO, json!({}));
    assert_eq!(
        info["auth_info"]["expires_at"],
        "2030-02-01T00:00:00.000000Z"
    );
    assert_eq!(info["auth_info"]["tenant_id"], v["create_tenant"]["id"]);
    // A rotation's replacement: without an expiry it would inherit none
    // from this key (the admin's bootstrap key never expires).
    let v = a.gql(
        &a.admin_key,
        ROTATE_KEY,
        input(json!({ "key_id": key_id_of(&a, &a.admin_key), "grace_seconds": 0 })),
    );
    assert_eq!(denied_by(&v), json!(["keys-must-expire"]));
}

#[test]
fn a_rotation_never_outlives_what_create_api_key_allows() {
    let dir = policy_dir_with_example("keys-expire-within-90-days", &[]);
    let a = serve_with(&dir);
    // The clock stands at 2030-01-01: a key for 30 days is allowed.
    let made = a.ok(
        &a.admin_key,
        CREATE_KEY,
        input(json!({ "user_id": a.admin_id, "name": "ci", "expires_at": "2030-01-31T00:00:00Z" })),
    );
    let id = made["create_api_key"]["id"].as_str().unwrap().to_owned();
    // Its replacement until 2099 is not.
    let v = a.gql(
        &a.admin_key,
        ROTATE_KEY,
        input(json!({ "key_id": id, "grace_seconds": 0, "expires_at": "2099-01-01T00:00:00Z" })),
    );
    assert_eq!(denied_by(&v), json!(["keys-expire-within-90-days"]));
    // Nor once the key has expired (the clock moves past 2030-01-31).
    a.clock.advance(Duration::days(40));
    let v = a.gql(
        &a.admin_key,
        ROTATE_KEY,
        input(json!({ "key_id": id, "grace_seconds": 0, "expires_at": "2099-01-01T00:00:00Z" })),
    );
    assert_eq!(denied_by(&v), json!(["keys-expire-within-90-days"]));
    let v = a.gql(
        &a.admin_key,
        ROTATE_KEY,
        input(json!({ "key_id": id, "grace_seconds": 0, "expires_at": "2030-03-01T00:00:00Z" })),
    );
    assert!(v.get("errors").is_none(), "{v}");
}

#[test]
fn a_restricted_key_cannot_rotate_its_way_to_its_owners_role() {
    let a = spawn_app();
    // The admin's read-only dashboard key sees the admin's own keys...
    let made = a.ok(
        &a.admin_key,
        CREATE_KEY,
        input(json!({ "user_id": a.admin_id, "name": "dashboard", "role": "READ_ONLY_USER" })),
    );
    let dashboard = made["create_api_key"]["key"].as_str().unwrap().to_owned();
    // ...but rotating the unrestricted one would mint a TENANT_ADMIN key.
    let v = a.gql(
        &dashboard,
        ROTATE_KEY,
        input(json!({ "key_id": key_id_of(&a, &a.admin_key), "grace_seconds": 31536000 })),
    );
    assert_eq!(denied_by(&v), json!(["role-ceiling-keys"]));
    // The admin key is untouched: still a TENANT_ADMIN key, not rotated.
    let info = a.ok(&a.admin_key, AUTH_INFO, json!({}));
    assert_eq!(info["auth_info"]["role"], "TENANT_ADMIN");
    let v = a.gql(
        &a.admin_key,
        ROTATE_KEY,
        input(json!({ "key_id": key_id_of(&a, &a.admin_key), "grace_seconds": 60 })),
    );
    assert!(v.get("errors").is_none(), "{v}");
}

#[test]
fn a_read_only_user_gets_no_keys_by_rotation_under_the_read_only_pack() {
    let dir = policy_dir_with_example("read-only-users-cannot-create-keys", &[]);
    let a = serve_with(&dir);
    let (_, reader_key) = a.member("reader@default", Role::ReadOnlyUser);
    let info = a.ok(&reader_key, AUTH_INFO, json!({}));
    let key_id = info["auth_info"]["api_key_id"].clone();
    let v = a.gql(
        &reader_key,
        ROTATE_KEY,
        input(json!({ "key_id": key_id, "grace_seconds": 31536000 })),
    );
    assert_eq!(denied_by(&v), json!(["read-only-users-cannot-create-keys"]));
}

#[test]
fn a_key_in_its_grace_mints_nothing_and_past_it_changes_nothing() {
    let a = spawn_app();
    let (old_id, old) = a.create_key(&a.admin_key, &a.admin_id, "laptop");
    let r = a.ok(
        &a.admin_key,
        ROTATE_KEY,
        input(json!({ "key_id": old_id, "grace_seconds": 3600 })),
    );
    let new_id = r["rotate_api_key"]["id"].as_str().unwrap().to_owned();
    // The old secret still authenticates during its grace...
    assert!(a.gql(&old, AUTH_INFO, json!({})).get("errors").is_none());
    // ...but mints no key: not a new one, not by rotating its replacement
    // away.
    let v = a.gql(
        &old,
        CREATE_KEY,
        input(json!({ "user_id": a.admin_id, "name": "forever" })),
    );
    assert_eq!(denied_by(&v), json!(["rotated-keys-mint-nothing"]));
    let v = a.gql(
        &old,
        ROTATE_KEY,
        input(json!({ "key_id": new_id, "grace_seconds": 0 })),
    );
    assert_eq!(denied_by(&v), json!(["rotated-keys-mint-nothing"]));
    // Past its grace (housekeeping has not run yet), the rotated key is an
    // id that is not there.
    a.clock.advance(Duration::seconds(3600));
    let v = a.gql(
        &a.admin_key,
        UPDATE_KEY,
        input(json!({ "key_id": old_id, "disabled": true })),
    );
    assert_eq!(code(&v), "NOT_FOUND", "{v}");
}

#[test]
fn every_minted_key_fires_api_key_created() {
    let a = spawn_app();
    let hook = a.ok(
        &a.admin_key,
        CREATE_WEBHOOK,
        input(json!({ "url": "http://127.0.0.1:9/hook", "events": ["api_key.created"] })),
    );
    let hook_id = hook["create_webhook"]["id"].clone();
    let (key_id, _) = a.create_key(&a.admin_key, &a.admin_id, "made");
    let rotated = a.ok(
        &a.admin_key,
        ROTATE_KEY,
        input(json!({ "key_id": key_id, "grace_seconds": 0 })),
    );
    let token = invite(&a, "joiner@default");
    let joined = a.anonymous(ACCEPT, input(json!({ "token": token })));
    assert!(joined.get("errors").is_none(), "{joined}");
    let deliveries = a.ok(
        &a.admin_key,
        DELIVERIES,
        json!({ "where": { "webhook_id": { "_eq": hook_id } } }),
    );
    let mut seen: Vec<(String, String)> = deliveries["webhook_delivery"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let body: Value = serde_json::from_str(d["payload"].as_str().unwrap()).unwrap();
            assert_eq!(body["type"], "api_key.created");
            let key = &body["data"]["api_key"];
            (
                key["via"].as_str().unwrap().to_owned(),
                key["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    seen.sort();
    let vias: Vec<&str> = seen.iter().map(|(v, _)| v.as_str()).collect();
    assert_eq!(vias, ["api", "invitation", "rotation"]);
    let rotated_id = rotated["rotate_api_key"]["id"].as_str().unwrap();
    assert!(
        seen.iter()
            .any(|(v, id)| v == "rotation" && id == rotated_id)
    );
    assert!(seen.iter().any(|(v, id)| v == "api" && id == &key_id));
    // The audit log has the created key from each path, one event each.
    let audit = a.ok(
        &a.admin_key,
        crate::helpers::AUDIT,
        json!({ "where": { "action": { "_eq": "CreateApiKey" } }, "limit": 50 }),
    );
    let mut vias: Vec<String> = audit["audit_event"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "allowed")
        .map(|e| {
            let details: Value = serde_json::from_str(e["details"].as_str().unwrap()).unwrap();
            details["via"].as_str().unwrap().to_owned()
        })
        .collect();
    vias.sort();
    // The bootstrap key is the operator's.
    assert_eq!(
        vias,
        ["api", "invitation", "operator", "rotation"],
        "{audit}"
    );
}

#[test]
fn leaving_a_tenant_is_seen_at_once_by_the_keys_of_the_others() {
    let a = spawn_app();
    let (ops_id, _, ops_key) = a.other_tenant("ops");
    // A person in both tenants, with a key in each.
    let (user_id, _) = a.member("both@default", Role::User);
    let ops_user_key = a.join("both@default", &ops_id, Role::User);
    let tenants = |key: &str| {
        a.ok(key, TENANTS, json!({}))["tenant"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(tenants(&ops_user_key), 2, "the ops key lists both tenants");
    // Removed from the default tenant by its admin: the ops key, cached
    // with both, lists one at once (no waiting for the cache's TTL).
    let membership = a.membership_of(&user_id);
    a.ok(
        &a.admin_key,
        DELETE_MEMBERSHIP,
        input(json!({ "membership_id": membership })),
    );
    assert_eq!(tenants(&ops_user_key), 1);
    let _ = ops_key;
}
