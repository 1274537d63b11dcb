//! API keys: auth_api_key as every caller sees it, create_api_key and
//! delete_api_key on the allowed and the denied paths.
use serde_json::{Value, json};

use crate::helpers::{AUTH_INFO, CREATE_KEY, DELETE_KEY, LIST_KEYS};
use crate::snap;
use crate::world::world;

fn create(user_id: &str, name: &str) -> Value {
    json!({ "input": { "user_id": user_id, "name": name } })
}

#[test]
fn create_api_key_for_oneself_and_for_a_service_account() {
    let w = world();
    let a = &w.app;
    let mut out = serde_json::Map::new();
    for (caller, key, owner) in [
        ("user_for_self", &w.user_key, &w.user_id),
        ("readonly_for_self", &w.readonly_key, &w.readonly_id),
        ("admin_for_service_account", &a.admin_key, &w.sa_id),
        ("service_account_for_itself", &w.sa_key, &w.sa_id),
    ] {
        let body = a.gql(key, CREATE_KEY, create(owner, caller));
        let secret = body["data"]["create_api_key"]["key"]
            .as_str()
            .unwrap_or_else(|| panic!("{caller}: {body}"));
        assert_eq!(
            body["data"]["create_api_key"]["token"].as_str(),
            Some(secret),
            "token and key are the same secret"
        );
        // The new key works, and stands for its owner, not its creator.
        let me = a.ok(secret, AUTH_INFO, json!({}));
        assert_eq!(
            me["auth_info"]["user_id"].as_str(),
            Some(owner.as_str()),
            "{caller}"
        );
        out.insert(
            caller.to_owned(),
            json!({ "created": a.redact(&body), "auth_info": a.redact(&me) }),
        );
    }
    snap!("create_api_key_allowed", Value::Object(out));
}

#[test]
fn create_api_key_denied() {
    let w = world();
    let a = &w.app;
    let mut out = serde_json::Map::new();
    for (case, key, input) in [
        (
            "user_for_service_account",
            &w.user_key,
            create(&w.sa_id, "x"),
        ),
        (
            "readonly_for_service_account",
            &w.readonly_key,
            create(&w.sa_id, "x"),
        ),
        (
            "admin_for_another_user",
            &a.admin_key,
            create(&w.user_id, "x"),
        ),
        (
            "other_tenant_for_service_account",
            &w.other_key,
            create(&w.sa_id, "x"),
        ),
        (
            "other_tenant_for_user",
            &w.other_key,
            create(&w.user_id, "x"),
        ),
        (
            "unknown_account",
            &a.admin_key,
            create("00000000-0000-4000-8000-000000000000", "x"),
        ),
        ("empty_name", &a.admin_key, create(&a.admin_id, "   ")),
        (
            "expiry_in_the_past",
            &a.admin_key,
            json!({ "input": { "user_id": a.admin_id, "name": "x", "expires_at": "2029-12-31T00:00:00+00:00" } }),
        ),
        (
            "expiry_not_a_time",
            &a.admin_key,
            json!({ "input": { "user_id": a.admin_id, "name": "x", "expires_at": "tomorrow" } }),
        ),
        (
            "service_account_key_in_another_tenant",
            &a.admin_key,
            json!({ "input": { "user_id": w.sa_id, "name": "x", "default_tenant_id": w.other_tenant_id } }),
        ),
        (
            "own_key_in_a_tenant_not_a_member_of",
            &w.user_key,
            json!({ "input": { "user_id": w.user_id, "name": "x", "default_tenant_id": w.other_tenant_id } }),
        ),
    ] {
        out.insert(case.to_owned(), a.redact(&a.gql(key, CREATE_KEY, input)));
    }
    let out = Value::Object(out);
    snap!("create_api_key_denied", out);
    // No existence oracle: an id in another tenant answers as one that does not exist.
    assert_eq!(
        out["other_tenant_for_service_account"],
        out["unknown_account"]
    );
    // Nothing was created.
    let keys = a.ok(&a.admin_key, "{ auth_api_key { name } }", json!({}));
    assert!(!keys.to_string().contains("\"x\""), "{keys}");
}

#[test]
fn a_user_with_two_tenants_binds_each_key_to_one() {
    let w = world();
    let a = &w.app;
    // user@default joins the other tenant too, with a first key there.
    let first = a.join(
        "user@default",
        &w.other_tenant_id,
        keyward::domain::model::Role::User,
    );
    // A key mints in its own tenant only: the default-tenant key cannot
    // make one for the other tenant, even for its own owner...
    let input = json!({ "input": { "user_id": w.user_id, "name": "for other", "default_tenant_id": w.other_tenant_id } });
    let refused = a.gql(&w.user_key, CREATE_KEY, input.clone());
    assert_eq!(
        refused["errors"][0]["extensions"]["policies"],
        json!(["keys-in-own-tenant"]),
        "{refused}"
    );
    // ...and a key of the other tenant can.
    let body = a.ok(&first, CREATE_KEY, input);
    let key = body["create_api_key"]["key"].as_str().unwrap();
    let me = a.ok(key, AUTH_INFO, json!({}));
    assert_eq!(me["auth_info"]["tenant_id"], json!(w.other_tenant_id));
    assert_eq!(me["auth_info"]["role"], json!("USER"));
    // The tenant header may name the key's own tenant, and no other.
    let ok = a.gql_with(
        Some(key),
        &[("X-PREFECT-TENANT-ID", &w.other_tenant_id)],
        AUTH_INFO,
        json!({}),
    );
    assert!(ok.json().get("errors").is_none(), "{}", ok.text);
    let bad = a.gql_with(
        Some(key),
        &[("X-PREFECT-TENANT-ID", &a.tenant_id)],
        AUTH_INFO,
        json!({}),
    );
    assert_eq!(
        bad.json()["errors"][0]["extensions"]["code"],
        json!("UNAUTHENTICATED")
    );
    // Both tenants are listed, whatever the header says.
    let tenants = a.ok(
        &w.user_key,
        "{ tenant(order_by: {slug: asc}) { slug } }",
        json!({}),
    );
    assert_eq!(
        tenants["tenant"],
        json!([{ "slug": "default" }, { "slug": "other" }])
    );
}

#[test]
fn delete_api_key_allowed_and_the_key_stops_at_once() {
    let w = world();
    let a = &w.app;
    let (own_id, own_key) = a.create_key(&w.user_key, &w.user_id, "mine");
    let revoke = |key: &str, id: &str| a.gql(key, DELETE_KEY, json!({ "input": { "key_id": id } }));
    let mut out = serde_json::Map::new();
    out.insert(
        "user_revokes_own_key".into(),
        a.redact(&revoke(&w.user_key, &own_id)),
    );
    out.insert(
        "next_request_with_it".into(),
        a.redact(&a.gql(&own_key, AUTH_INFO, json!({}))),
    );
    out.insert(
        "admin_revokes_service_account_key".into(),
        a.redact(&revoke(&a.admin_key, &w.sa_key_id)),
    );
    out.insert(
        "next_request_with_the_service_account_key".into(),
        a.redact(&a.gql(&w.sa_key, AUTH_INFO, json!({}))),
    );
    snap!("delete_api_key_allowed", Value::Object(out));
}

#[test]
fn delete_api_key_denied_changes_nothing() {
    let w = world();
    let a = &w.app;
    let (admin_own_id, _) = a.create_key(&a.admin_key, &a.admin_id, "admin second");
    let revoke = |key: &str, id: &str| {
        a.redact(&a.gql(key, DELETE_KEY, json!({ "input": { "key_id": id } })))
    };
    let out = json!({
        "user_revokes_service_account_key": revoke(&w.user_key, &w.sa_key_id),
        "readonly_revokes_service_account_key": revoke(&w.readonly_key, &w.sa_key_id),
        "user_revokes_admins_key": revoke(&w.user_key, &admin_own_id),
        "other_tenant_revokes_service_account_key": revoke(&w.other_key, &w.sa_key_id),
        "admin_revokes_other_tenants_key": revoke(&a.admin_key, &w.other_sa_key_id),
        "unknown_key": revoke(&a.admin_key, "00000000-0000-4000-8000-000000000000"),
    });
    snap!("delete_api_key_denied", out);
    assert_eq!(
        out["other_tenant_revokes_service_account_key"],
        out["unknown_key"]
    );
    // Every key still works.
    for key in [&w.sa_key, &w.user_key] {
        a.ok(key, AUTH_INFO, json!({}));
    }
    let d = a.ok(&w.other_key, "{ auth_api_key { id } }", json!({}));
    assert!(d.to_string().contains(&w.other_sa_key_id));
}

#[test]
fn auth_api_key_by_caller() {
    // own keys; admins (service accounts included) also every
    // service-account key of their tenant; nothing from another tenant.
    let w = world();
    let all = w.by_caller(LIST_KEYS);
    snap!("auth_api_key_by_caller", all);
    let names = |caller: &str| -> Vec<String> {
        all[caller]["data"]["auth_api_key"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names("admin"), ["robot key", "bootstrap"]);
    assert_eq!(names("user"), ["first key"]);
    assert_eq!(names("service"), ["robot key"]);
    assert_eq!(names("other_tenant"), ["other robot key", "first key"]);
}

#[test]
fn auth_api_key_never_returns_a_secret() {
    let w = world();
    let body = w
        .app
        .gql(&w.app.admin_key, LIST_KEYS, json!({}))
        .to_string();
    assert!(!body.contains("kwu_") && !body.contains("kws_"), "{body}");
    let fields = w
        .app
        .gql(&w.app.admin_key, "{ auth_api_key { key } }", json!({}));
    assert!(
        fields["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("key"),
        "{fields}"
    );
}

#[test]
fn auth_api_key_orders_and_limits() {
    let w = world();
    let q = "query($n: Int) { auth_api_key(order_by: [{name: asc}], limit: $n) { name } }";
    let d = w.app.ok(&w.app.admin_key, q, json!({ "n": 1 }));
    assert_eq!(d["auth_api_key"], json!([{ "name": "bootstrap" }]));
    let too_many = w.app.gql(&w.app.admin_key, q, json!({ "n": 100_000 }));
    snap!("auth_api_key_limit_too_large", w.app.redact(&too_many));
}
