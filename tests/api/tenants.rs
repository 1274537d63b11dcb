//! Tenants: the list as every caller sees it, the Prefect client's lookups,
//! and create_tenant.
use serde_json::json;

use crate::helpers::{AUTH_INFO, CREATE_TENANT, TENANTS, input};
use crate::snap;
use crate::world::world;

#[test]
fn tenant_by_caller() {
    let w = world();
    snap!("tenant_by_caller", w.by_caller(TENANTS));
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

#[test]
fn server_admins_create_tenants() {
    let w = world();
    let a = &w.app;
    let made = a.gql(
        &a.admin_key,
        "mutation($input: create_tenant_input!) { create_tenant(input: $input) { id name slug key } }",
        input(json!({ "name": "Research", "slug": "research" })),
    );
    let tenant_id = made["data"]["create_tenant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    a.label(&tenant_id, "tenant research");
    let out = json!({
        "server_admin": a.redact(&made),
        "duplicate_slug": a.redact(&a.gql(&a.admin_key, CREATE_TENANT, input(json!({ "name": "R", "slug": "research" })))),
        "bad_slug": a.redact(&a.gql(&a.admin_key, CREATE_TENANT, input(json!({ "name": "R", "slug": "Not A Slug" })))),
        "tenant_admin_not_server_admin": a.redact(&a.gql(&w.other_key, CREATE_TENANT, input(json!({ "name": "X", "slug": "x" })))),
        "service_account": a.redact(&a.gql(&w.sa_key, CREATE_TENANT, input(json!({ "name": "Y", "slug": "y" })))),
    });
    snap!("create_tenant", out);
    // The creator administers it, with the first key it got for it.
    let key = made["data"]["create_tenant"]["key"].as_str().unwrap();
    let me = a.ok(key, AUTH_INFO, json!({}));
    assert_eq!(
        (
            me["auth_info"]["tenant_id"].as_str(),
            me["auth_info"]["role"].as_str()
        ),
        (Some(tenant_id.as_str()), Some("TENANT_ADMIN"))
    );
}
