//! The read side, as every kind of caller sees it.
use serde_json::{Map, Value, json};

use crate::helpers::{AUTH_INFO, LIST_KEYS, TENANTS};
use crate::snap;
use crate::world::{World, world};

/// One query asked by every caller, redacted, in one snapshot.
fn by_caller(w: &World, query: &str) -> Value {
    let mut out = Map::new();
    for (name, key) in w.callers() {
        out.insert(
            name.to_owned(),
            w.app.redact(&w.app.gql(key, query, json!({}))),
        );
    }
    Value::Object(out)
}

#[test]
fn auth_info_by_caller() {
    let w = world();
    snap!("auth_info_by_caller", by_caller(&w, AUTH_INFO));
}

#[test]
fn auth_api_key_by_caller() {
    // own keys; admins (service accounts included) also every
    // service-account key of their tenant; nothing from another tenant.
    let w = world();
    let all = by_caller(&w, LIST_KEYS);
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

#[test]
fn tenant_by_caller() {
    let w = world();
    snap!("tenant_by_caller", by_caller(&w, TENANTS));
}

#[test]
fn tenant_filters_as_the_prefect_client_sends_them() {
    let w = world();
    let by_slug = "query($slug: String) { tenant(where: {slug: {_eq: $slug}}) { id } }";
    let d = w
        .app
        .ok(&w.app.admin_key, by_slug, json!({ "slug": "default" }));
    assert_eq!(d["tenant"][0]["id"], json!(w.app.tenant_id));
    // Another tenant's slug or id finds nothing, as if it did not exist.
    let d = w
        .app
        .ok(&w.app.admin_key, by_slug, json!({ "slug": "other" }));
    assert_eq!(d["tenant"], json!([]));
    let by_id = format!(
        "{{ tenant(where: {{id: {{_eq: \"{}\"}}}}) {{ id slug name }} }}",
        w.other_tenant_id
    );
    assert_eq!(
        w.app.ok(&w.app.admin_key, &by_id, json!({}))["tenant"],
        json!([])
    );
    let by_own_id = format!(
        "{{ tenant(where: {{id: {{_eq: \"{}\"}}}}) {{ id slug name }} }}",
        w.app.tenant_id
    );
    snap!(
        "tenant_by_own_id",
        w.app
            .redact(&w.app.gql(&w.app.admin_key, &by_own_id, json!({})))
    );
}
