//! Every way a credential can fail, and what the client is told.
use chrono::Duration;
use serde_json::json;

use crate::helpers::{AUTH_INFO, CREATE_KEY, DELETE_KEY, spawn_app};
use crate::snap;

#[test]
fn every_failure_is_a_200_unauthenticated_that_says_why() {
    let a = spawn_app();
    let valid = a.admin_key.clone();
    let (revoked_id, revoked) = a.create_key(&a.admin_key, &a.admin_id, "to revoke");
    a.ok(
        &a.admin_key,
        DELETE_KEY,
        json!({ "input": { "key_id": revoked_id } }),
    );
    let last = if valid.ends_with('A') { "B" } else { "A" };
    let typo = format!("{}{last}", &valid[..39]);
    let unknown =
        keyward::domain::api_key::Token::generate(keyward::domain::model::AccountKind::User);
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("no_key", vec![]),
        (
            "not_bearer",
            vec![("authorization", format!("Basic {valid}"))],
        ),
        (
            "bearer_without_key",
            vec![("authorization", "Bearer".into())],
        ),
        (
            "wrong_prefix",
            vec![("authorization", format!("Bearer pnu_{}", &valid[4..]))],
        ),
        (
            "truncated",
            vec![("authorization", format!("Bearer {}", &valid[..30]))],
        ),
        (
            "mistyped",
            vec![("authorization", format!("Bearer {typo}"))],
        ),
        (
            "unknown",
            vec![("authorization", format!("Bearer {}", unknown.expose()))],
        ),
        (
            "revoked",
            vec![("authorization", format!("Bearer {revoked}"))],
        ),
        (
            "old_api_token",
            vec![(
                "authorization",
                "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNpZw".into(),
            )],
        ),
        (
            "tenant_header_of_another_tenant",
            vec![
                ("authorization", format!("Bearer {valid}")),
                (
                    "x-prefect-tenant-id",
                    "7b0a9c5e-0000-4000-8000-000000000001".into(),
                ),
            ],
        ),
        (
            "tenant_header_not_a_uuid",
            vec![
                ("authorization", format!("Bearer {valid}")),
                ("x-prefect-tenant-id", "default".into()),
            ],
        ),
    ];
    let mut out = serde_json::Map::new();
    for (case, headers) in cases {
        let hs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = a.gql_with(None, &hs, AUTH_INFO, json!({}));
        assert_eq!(
            r.status, 200,
            "{case}: auth failures stay 200 for the Prefect client"
        );
        assert_eq!(
            r.headers.get("www-authenticate").map(String::as_str),
            Some("Bearer"),
            "{case}"
        );
        let body = r.json();
        assert_eq!(
            body["errors"][0]["extensions"]["code"],
            json!("UNAUTHENTICATED"),
            "{case}: {body}"
        );
        // The answer never echoes a secret.
        assert!(
            !r.text.contains(&valid[4..]) && !r.text.contains(&revoked[4..]),
            "{case}: {}",
            r.text
        );
        assert!(!r.text.contains("API_ERROR"), "{case}");
        out.insert(case.to_owned(), a.redact(&body));
    }
    snap!("authentication_failures", serde_json::Value::Object(out));
}

#[test]
fn the_tenant_header_may_name_the_keys_own_tenant() {
    let a = spawn_app();
    let r = a.gql_with(
        Some(&a.admin_key),
        &[("X-PREFECT-TENANT-ID", &a.tenant_id)],
        AUTH_INFO,
        json!({}),
    );
    let body = r.json();
    assert!(body.get("errors").is_none(), "{body}");
    assert!(!r.headers.contains_key("www-authenticate"));
}

#[test]
fn a_key_that_expires_between_two_requests_fails_the_second() {
    let a = spawn_app();
    let input = json!({ "input": { "user_id": a.admin_id, "name": "hour", "expires_at": "2030-01-01T01:00:00+00:00" } });
    let d = a.ok(&a.admin_key, CREATE_KEY, input);
    let key = d["create_api_key"]["key"].as_str().unwrap().to_owned();
    a.ok(&key, AUTH_INFO, json!({}));
    a.clock.advance(Duration::minutes(59));
    a.ok(&key, AUTH_INFO, json!({}));
    a.clock.advance(Duration::minutes(1));
    snap!("expired_key", a.redact(&a.gql(&key, AUTH_INFO, json!({}))));
}

#[test]
fn without_a_key_only_introspection_runs() {
    let a = spawn_app();
    let r = a.gql_with(
        None,
        &[],
        "{ __schema { queryType { name } mutationType { name } } }",
        json!({}),
    );
    assert_eq!(
        r.json(),
        json!({ "data": { "__schema": { "queryType": { "name": "Query" }, "mutationType": { "name": "Mutation" } } } })
    );
    let r = a.gql_with(None, &[], "{ __typename auth_info { user_id } }", json!({}));
    snap!("no_key_non_introspection", r.json());
    let r = a.gql_with(
        None,
        &[],
        CREATE_KEY,
        json!({ "input": { "user_id": a.admin_id, "name": "sneaky" } }),
    );
    assert_eq!(
        r.json()["errors"][0]["extensions"]["code"],
        json!("UNAUTHENTICATED")
    );
    assert_eq!(
        a.ok(&a.admin_key, "{ auth_api_key { name } }", json!({}))["auth_api_key"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn last_used_at_is_written_in_batches() {
    let a = spawn_app();
    let (_, key) = a.create_key(&a.admin_key, &a.admin_id, "used");
    let used = |a: &crate::helpers::TestApp| {
        let d = a.ok(
            &a.admin_key,
            "{ auth_api_key(order_by: {name: desc}) { name last_used_at } }",
            json!({}),
        );
        d["auth_api_key"][0]["last_used_at"].clone()
    };
    a.ok(&key, AUTH_INFO, json!({}));
    assert_eq!(used(&a), json!(null), "no write per request");
    a.clock.advance(Duration::seconds(30));
    a.ok(&key, AUTH_INFO, json!({}));
    // One flush writes each key once, with its latest use.
    assert!(a.verifier.flush_last_used().unwrap() >= 1);
    assert_eq!(used(&a), json!("2030-01-01T00:00:31.000000Z"));
    assert_eq!(
        a.verifier.flush_last_used().unwrap(),
        1,
        "only the admin's listing was used since"
    );
}
