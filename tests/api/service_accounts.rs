//! Service accounts: create, list, rename, delete.
use serde_json::{Value, json};

use crate::helpers::{
    AUTH_INFO, CREATE_SERVICE_ACCOUNT, DELETE_SERVICE_ACCOUNT, RENAME_SERVICE_ACCOUNT,
    SERVICE_ACCOUNTS, input,
};
use crate::snap;
use crate::world::world;

#[test]
fn create_service_account_by_caller() {
    // only tenant admins; service accounts are admins by default.
    let w = world();
    let a = &w.app;
    let mut out = serde_json::Map::new();
    for (caller, key) in w.callers() {
        let body = a.gql(
            key,
            CREATE_SERVICE_ACCOUNT,
            json!({ "input": { "name": format!("made by {caller}") } }),
        );
        out.insert(caller.to_owned(), a.redact(&body));
    }
    let cross = json!({ "input": { "name": "intruder", "tenant_id": a.tenant_id } });
    out.insert(
        "other_tenant_into_default".into(),
        a.redact(&a.gql(&w.other_key, CREATE_SERVICE_ACCOUNT, cross)),
    );
    let bad_name = json!({ "input": { "name": "" } });
    out.insert(
        "empty_name".into(),
        a.redact(&a.gql(&a.admin_key, CREATE_SERVICE_ACCOUNT, bad_name)),
    );
    let read_only_robot = json!({ "input": { "name": "reader", "role": "READ_ONLY_USER" } });
    out.insert(
        "with_a_role".into(),
        a.redact(&a.gql(&a.admin_key, CREATE_SERVICE_ACCOUNT, read_only_robot)),
    );
    snap!("create_service_account_by_caller", Value::Object(out));
}

#[test]
fn a_service_account_key_carries_the_service_accounts_role() {
    let w = world();
    let a = &w.app;
    let d = a.ok(
        &a.admin_key,
        CREATE_SERVICE_ACCOUNT,
        json!({ "input": { "name": "reader", "role": "READ_ONLY_USER" } }),
    );
    let id = d["create_service_account"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, key) = a.create_key(&a.admin_key, &id, "reader key");
    assert!(key.starts_with("kws_"));
    let me = a.ok(&key, AUTH_INFO, json!({}));
    assert_eq!(me["auth_info"]["role"], json!("READ_ONLY_USER"));
    assert_eq!(me["auth_info"]["account_type"], json!("SERVICE"));
    // A read-only service account is no admin: it may not make service accounts.
    assert_eq!(
        a.code(
            &key,
            CREATE_SERVICE_ACCOUNT,
            json!({ "input": { "name": "n" } })
        ),
        "FORBIDDEN"
    );
}

#[test]
fn delete_service_account_denied_changes_nothing() {
    let w = world();
    let a = &w.app;
    let del = |key: &str, id: &str| {
        a.redact(&a.gql(
            key,
            DELETE_SERVICE_ACCOUNT,
            json!({ "input": { "user_id": id } }),
        ))
    };
    let out = json!({
        "user": del(&w.user_key, &w.sa_id),
        "readonly": del(&w.readonly_key, &w.sa_id),
        "other_tenant": del(&w.other_key, &w.sa_id),
        "a_user_is_not_a_service_account": del(&a.admin_key, &w.user_id),
        "unknown": del(&a.admin_key, "00000000-0000-4000-8000-000000000000"),
    });
    snap!("delete_service_account_denied", out);
    assert_eq!(out["other_tenant"], out["unknown"]);
    a.ok(&w.sa_key, AUTH_INFO, json!({}));
}

#[test]
fn deleting_a_service_account_revokes_every_key_at_once() {
    let w = world();
    let a = &w.app;
    let (_, second) = a.create_key(&a.admin_key, &w.sa_id, "second robot key");
    let out = json!({
        "delete": a.redact(&a.gql(&a.admin_key, DELETE_SERVICE_ACCOUNT, json!({ "input": { "user_id": w.sa_id } }))),
        "first_key_next_request": a.redact(&a.gql(&w.sa_key, AUTH_INFO, json!({}))),
        "second_key_next_request": a.redact(&a.gql(&second, AUTH_INFO, json!({}))),
    });
    snap!("delete_service_account_allowed", out);
    let listed = a.ok(&a.admin_key, "{ auth_api_key { name } }", json!({}));
    assert_eq!(listed["auth_api_key"], json!([{ "name": "bootstrap" }]));
}

#[test]
fn service_accounts_listed_renamed_and_deleted() {
    let w = world();
    let a = &w.app;
    let out = json!({
        "admin_sees_keys": a.redact(&a.gql(&a.admin_key, SERVICE_ACCOUNTS, json!({}))),
        "user_sees_no_keys": a.redact(&a.gql(&w.user_key, SERVICE_ACCOUNTS, json!({}))),
        "rename": a.redact(&a.gql(&a.admin_key, RENAME_SERVICE_ACCOUNT, input(json!({ "user_id": w.sa_id, "name": "deploy bot" })))),
        "rename_empty": a.redact(&a.gql(&a.admin_key, RENAME_SERVICE_ACCOUNT, input(json!({ "user_id": w.sa_id, "name": "" })))),
    });
    snap!("service_account_management", out);
    a.ok(
        &a.admin_key,
        DELETE_SERVICE_ACCOUNT,
        input(json!({ "user_id": w.sa_id })),
    );
    assert_eq!(
        a.ok(&a.admin_key, SERVICE_ACCOUNTS, json!({}))["service_account"],
        json!([])
    );
    assert_eq!(a.code(&w.sa_key, AUTH_INFO, json!({})), "UNAUTHENTICATED");
}
