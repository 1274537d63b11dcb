//! `GET /auth/verify`, the verification cache and synchronous revocation,
//! Cedar's decision on each proxied request, Basic credentials.
use keyward::domain::model::Role;
use serde_json::json;

use crate::helpers::{
    DELETE_KEY, DELETE_MEMBERSHIP, DELETE_SERVICE_ACCOUNT, SET_ROLE, TestApp, spawn_app,
};

fn verify(a: &TestApp, key: Option<&str>) -> crate::helpers::Response {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = agent.get(format!("{}/auth/verify", a.url));
    if let Some(k) = key {
        req = req.header("Authorization", &format!("Bearer {k}"));
    }
    let mut r = req.call().unwrap();
    crate::helpers::Response {
        status: r.status().as_u16(),
        headers: r
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect(),
        text: r.body_mut().read_to_string().unwrap_or_default(),
    }
}

#[test]
fn verify_answers_with_the_identity_or_401() {
    let a = spawn_app();
    let r = verify(&a, Some(&a.admin_key));
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["x-keyward-user-id"], a.admin_id);
    assert_eq!(r.headers["x-keyward-tenant-id"], a.tenant_id);
    assert_eq!(r.headers["x-keyward-role"], "TENANT_ADMIN");
    assert_eq!(r.headers["x-keyward-key-id"].len(), 36);

    let r = verify(&a, None);
    assert_eq!(
        (r.status, r.headers["www-authenticate"].as_str()),
        (401, "Bearer realm=\"keyward\"")
    );
    let r = verify(&a, Some("kwu_nope"));
    assert_eq!(r.status, 401);
    assert!(
        r.headers["www-authenticate"]
            .starts_with("Bearer error=\"invalid_token\", error_description=\"Invalid API key")
    );
    assert!(!r.headers.contains_key("x-keyward-user-id"));
    assert_eq!(a.get("/livez").status, 200);
}

#[test]
fn cached_keys_still_expire_and_follow_role_changes() {
    let a = spawn_app();
    let (user_id, user_key) = a.member("u@default", keyward::domain::model::Role::User);
    let d = a.ok(
        &a.admin_key,
        crate::helpers::CREATE_KEY,
        json!({ "input": { "user_id": a.admin_id, "name": "hour", "expires_at": "2030-01-01T01:00:00+00:00" } }),
    );
    let hour = d["create_api_key"]["key"].as_str().unwrap().to_owned();
    let r = verify(&a, Some(&hour));
    assert_eq!(r.status, 200);
    // The key says when it stops working; a key that never expires does not.
    assert_eq!(
        r.headers["x-keyward-key-expires-at"],
        "2030-01-01T01:00:00Z"
    );
    assert!(
        !verify(&a, Some(&a.admin_key))
            .headers
            .contains_key("x-keyward-key-expires-at")
    );
    assert_eq!(
        verify(&a, Some(&user_key)).headers["x-keyward-role"],
        "USER"
    );
    assert!(a.verifier.cached_keys() >= 2, "both are cached now");
    a.clock.advance(chrono::Duration::hours(1));
    let r = verify(&a, Some(&hour));
    assert_eq!(r.status, 401);
    assert!(
        r.headers["www-authenticate"].contains("This API key expired at 2030-01-01T01:00:00Z.")
    );
    // A new role shows on the very next request.
    let m = a.membership_of(&user_id);
    a.ok(
        &a.admin_key,
        SET_ROLE,
        json!({ "input": { "membership_id": m, "role": "READ_ONLY_USER" } }),
    );
    assert_eq!(
        verify(&a, Some(&user_key)).headers["x-keyward-role"],
        "READ_ONLY_USER"
    );
    // Removing the member stops its cached key at once.
    a.ok(
        &a.admin_key,
        DELETE_MEMBERSHIP,
        json!({ "input": { "membership_id": m } }),
    );
    assert_eq!(verify(&a, Some(&user_key)).status, 401);
}

#[test]
fn deleting_a_service_account_stops_its_cached_keys_at_once() {
    let a = spawn_app();
    let sa = a.service_account(&a.admin_key, "robot");
    let (_, k1) = a.create_key(&a.admin_key, &sa, "one");
    let (_, k2) = a.create_key(&a.admin_key, &sa, "two");
    assert_eq!(
        (verify(&a, Some(&k1)).status, verify(&a, Some(&k2)).status),
        (200, 200)
    );
    a.ok(
        &a.admin_key,
        DELETE_SERVICE_ACCOUNT,
        json!({ "input": { "user_id": sa } }),
    );
    for k in [&k1, &k2] {
        let r = verify(&a, Some(k));
        assert_eq!(r.status, 401);
        assert!(r.headers["www-authenticate"].contains("its service account was deleted"));
    }
}

#[test]
fn not_one_request_succeeds_after_the_revoke_returns() {
    let a = spawn_app();
    let (key_id, key) = a.create_key(&a.admin_key, &a.admin_id, "hammered");
    let (before, after) = a.hammer(&key, || {
        a.ok(
            &a.admin_key,
            DELETE_KEY,
            json!({ "input": { "key_id": key_id } }),
        );
    });
    assert!(before >= 200);
    assert_eq!(
        after, 0,
        "a revoked key was served after delete_api_key returned"
    );
}

#[test]
fn pending_uses_are_written_at_graceful_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let server = crate::helpers::serve_binary(db.to_str().unwrap());
    let key = server.bootstrap_key().unwrap();
    let base = server.url.trim_end_matches("/graphql").to_owned();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let r = agent
        .get(format!("{base}/auth/verify"))
        .header("Authorization", &format!("Bearer {key}"))
        .call()
        .unwrap();
    assert_eq!(r.status(), 200);
    let last_used = || -> Option<String> {
        keyward::store::Store::open(&db)
            .unwrap()
            .read(|c| c.query_one("SELECT last_used_at FROM api_keys", &[], |r| r.get(0)))
            .unwrap()
    };
    assert_eq!(
        last_used(),
        None,
        "not written yet: the interval is a minute"
    );
    let (status, logs) = server.terminate();
    assert!(status.success(), "{logs}");
    assert!(
        last_used().is_some(),
        "the pending use was written at shutdown"
    );
}

/// `/auth/verify` as nginx calls it for `method uri` on prefect.local.
fn forwarded(a: &TestApp, auth: &str, method: &str, uri: &str) -> crate::helpers::Response {
    a.get_with(
        "/auth/verify",
        &[
            ("authorization", auth),
            ("x-original-method", method),
            ("x-original-uri", uri),
            ("x-forwarded-host", "prefect.local"),
        ],
    )
}

#[test]
fn the_policies_decide_each_proxied_request() {
    let policies = crate::helpers::policy_dir_with_example("prefect-read-only", &[]);
    let path = policies.path().to_owned();
    let a = crate::helpers::spawn_app_on(
        move |c| c.policies = Some(path),
        keyward::clock::Clock::system(),
    );
    let (reader_id, reader) = a.member("ro@default", Role::ReadOnlyUser);
    let bearer = format!("Bearer {reader}");
    let run = "/api/flow_runs/0b7e6f7e-1111-4000-8000-000000000000";

    for (method, uri) in [
        ("GET", run),
        ("POST", "/api/flows/filter"),
        ("POST", "/api/flow_runs/count?x=1"),
        ("GET", "/api/events/out"),
    ] {
        let r = forwarded(&a, &bearer, method, uri);
        assert_eq!(r.status, 200, "{method} {uri}: {}", r.text);
    }
    for (method, uri) in [
        ("POST", "/api/work_pools/"),
        ("DELETE", run),
        ("GET", "/api/events/in"),
        // Other spellings of the same path are the same route.
        ("GET", "/api/events/%69n"),
        ("POST", "/api/flows/filter/../../work_pools/"),
    ] {
        let r = forwarded(&a, &bearer, method, uri);
        assert_eq!(r.status, 403, "{method} {uri}");
        assert_eq!(r.headers["x-keyward-policies"], "prefect-read-only");
        assert_eq!(r.headers["x-keyward-reason"], "denied by prefect-read-only");
        assert_eq!(
            r.json(),
            json!({ "detail": "keyward: denied by prefect-read-only", "policies": ["prefect-read-only"] })
        );
        assert!(!r.headers.contains_key("x-keyward-user-id"));
    }
    // The same route for a USER key goes through: the policy reads the role.
    let (_, user) = a.member("u@default", Role::User);
    let r = forwarded(&a, &format!("Bearer {user}"), "POST", "/api/work_pools/");
    assert_eq!(r.status, 200);

    // A promotion changes the next decision (no stale cached verdict), and
    // a demotion changes it back.
    let membership = a.membership_of(&reader_id);
    let set = |role: &str| {
        a.ok(
            &a.admin_key,
            SET_ROLE,
            json!({ "input": { "membership_id": membership, "role": role } }),
        )
    };
    set("USER");
    assert_eq!(
        forwarded(&a, &bearer, "POST", "/api/work_pools/").status,
        200
    );
    set("READ_ONLY_USER");
    assert_eq!(
        forwarded(&a, &bearer, "POST", "/api/work_pools/").status,
        403
    );

    // The refusals are in the audit log, with the deciding policy.
    a.verifier.flush_refusals().unwrap();
    let events = a.ok(
        &a.admin_key,
        "query($where: audit_event_bool_exp) { audit_event(where: $where) { actor_account_id outcome determining_policies details message } }",
        json!({ "where": { "action": { "_eq": "Forward" } } }),
    )["audit_event"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["actor_account_id"], json!(reader_id));
    assert_eq!(events[0]["outcome"], "denied");
    assert_eq!(
        events[0]["determining_policies"],
        json!(["prefect-read-only"])
    );
    assert!(
        events[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("POST prefect.local/api/work_pools/: denied by prefect-read-only"),
        "{events:?}"
    );
    let attempts: serde_json::Value =
        serde_json::from_str(events[0]["details"].as_str().unwrap()).unwrap();
    assert_eq!(attempts["attempts"], 6);
}

#[test]
fn basic_credentials_carry_the_key_for_proxies_but_not_for_graphql() {
    use base64::Engine as _;
    let a = spawn_app();
    let basic = |s: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(s)
        )
    };
    for auth in [
        basic(&a.admin_key),
        basic(&format!("anyone:{}", a.admin_key)),
    ] {
        let r = forwarded(&a, &auth, "GET", "/api/admin/version");
        assert_eq!(r.status, 200, "{auth}: {}", r.text);
        assert_eq!(r.headers["x-keyward-user-id"], a.admin_id);
    }
    for auth in [basic("kwu_nope"), basic("user:"), "Basic !!!".to_owned()] {
        let r = forwarded(&a, &auth, "GET", "/api/admin/version");
        assert_eq!(r.status, 401, "{auth}");
        // A Bearer challenge: a browser shows no login dialog of its own.
        assert!(
            r.headers["www-authenticate"].starts_with("Bearer "),
            "{:?}",
            r.headers
        );
        assert!(
            r.json()["detail"]
                .as_str()
                .unwrap()
                .starts_with("keyward: ")
        );
    }
    // GraphQL keeps Bearer only.
    let r = a.gql_with(
        None,
        &[("authorization", &basic(&a.admin_key))],
        crate::helpers::AUTH_INFO,
        json!({}),
    );
    assert_eq!(
        r.json()["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
}

/// `/auth/verify` with exactly these header lines (raw bytes, duplicates
/// and all), as a proxy might send them; returns the status and the
/// `X-Keyward-Reason`.
fn raw_verify(a: &TestApp, auth: &str, lines: &[&[u8]]) -> (u16, String) {
    let addr = a
        .url
        .trim_start_matches("http://")
        .trim_end_matches("/graphql");
    let mut req = format!(
        "GET /auth/verify HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\nConnection: close\r\n"
    )
    .into_bytes();
    for l in lines {
        req.extend_from_slice(l);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"\r\n");
    let (status, text) = crate::helpers::raw_exchange(addr, &req);
    let reason = text
        .lines()
        .find_map(|l| l.strip_prefix("x-keyward-reason: "))
        .unwrap_or_default()
        .to_owned();
    (status, reason)
}

/// What cannot be read as one request is refused, never decided as
/// another: with a read-only key that may not open the events socket, no
/// spelling of it (nor a doubled or missing header) gets a 200.
#[test]
fn a_forwarded_request_that_cannot_be_read_is_refused() {
    let policies = crate::helpers::policy_dir_with_example("prefect-read-only", &[]);
    let path = policies.path().to_owned();
    let a = crate::helpers::spawn_app_with(move |c| c.policies = Some(path));
    let (_, reader) = a.member("ro@default", Role::ReadOnlyUser);
    let auth = format!("Bearer {reader}");
    let ok: &[&[u8]] = &[
        b"X-Original-Method: GET",
        b"X-Original-URI: /api/flows/42",
        b"X-Forwarded-Host: p",
    ];
    assert_eq!(raw_verify(&a, &auth, ok).0, 200);
    let cases: &[(&str, &[&[u8]])] = &[
        (
            "a target that is not ASCII",
            &[
                b"X-Original-Method: GET",
                b"X-Original-URI: /api/events/in?\xff",
                b"X-Forwarded-Host: p",
            ],
        ),
        (
            "a fragment",
            &[
                b"X-Original-Method: POST",
                b"X-Original-URI: /api/work_pools/filter#/queues/",
                b"X-Forwarded-Host: p",
            ],
        ),
        (
            "two targets",
            &[
                b"X-Original-Method: GET",
                b"X-Original-URI: /api/flows/42",
                b"X-Original-URI: /api/events/in",
                b"X-Forwarded-Host: p",
            ],
        ),
        (
            "two methods",
            &[
                b"X-Original-Method: GET",
                b"X-Original-Method: POST",
                b"X-Original-URI: /api/work_pools/",
                b"X-Forwarded-Host: p",
            ],
        ),
        (
            "two hosts",
            &[
                b"X-Original-Method: GET",
                b"X-Original-URI: /api/flows/42",
                b"X-Forwarded-Host: p",
                b"X-Forwarded-Host: q",
            ],
        ),
        (
            "a method that is not ASCII",
            &[
                b"X-Original-Method: G\xc9T",
                b"X-Original-URI: /api/events/in",
                b"X-Forwarded-Host: p",
            ],
        ),
        (
            "a path that is not UTF-8",
            &[
                b"X-Original-Method: GET",
                b"X-Original-URI: /api/events/%ff",
                b"X-Forwarded-Host: p",
            ],
        ),
        ("no method or target", &[b"X-Forwarded-Host: p"]),
    ];
    for (what, lines) in cases {
        let (status, reason) = raw_verify(&a, &auth, lines);
        assert_eq!(status, 403, "{what}");
        assert!(
            reason.starts_with("cannot decide this request: "),
            "{what}: {reason}"
        );
    }
    // A proxy that sends no method or target is `GET /` only when the
    // operator says so.
    let policies = crate::helpers::policy_dir_with_example("prefect-read-only", &[]);
    let path = policies.path().to_owned();
    let b = crate::helpers::spawn_app_with(move |c| {
        c.policies = Some(path);
        c.forward_default_route = true;
    });
    let (_, reader) = b.member("ro@default", Role::ReadOnlyUser);
    assert_eq!(
        raw_verify(&b, &format!("Bearer {reader}"), &[b"X-Forwarded-Host: p"]).0,
        200
    );
    // Under the default policies no route is needed, and none is asked for.
    let c = spawn_app();
    assert_eq!(
        raw_verify(&c, &format!("Bearer {}", c.admin_key), &[]).0,
        200
    );
}

/// Refused credentials gathered in memory reach the audit log at a
/// graceful shutdown, not only at the next flush.
#[test]
fn refused_credentials_are_written_at_graceful_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let server = crate::helpers::serve_binary(db.to_str().unwrap());
    let admin = server.bootstrap_key().unwrap();
    let base = server.url.trim_end_matches("/graphql").to_owned();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let gql = |query: &str, vars: serde_json::Value| -> serde_json::Value {
        agent
            .post(&server.url)
            .header("Authorization", &format!("Bearer {admin}"))
            .send_json(json!({ "query": query, "variables": vars }))
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap()
    };
    let me = gql("{ auth_info { user_id } }", json!({}))["data"]["auth_info"]["user_id"].clone();
    let made = gql(
        crate::helpers::CREATE_KEY,
        json!({ "input": { "user_id": me, "name": "gone" } }),
    );
    let (id, key) = (
        made["data"]["create_api_key"]["id"].clone(),
        made["data"]["create_api_key"]["key"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    gql(DELETE_KEY, json!({ "input": { "key_id": id } }));
    for _ in 0..50 {
        let r = agent
            .get(format!("{base}/auth/verify"))
            .header("Authorization", &format!("Bearer {key}"))
            .call()
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let (status, logs) = server.terminate();
    assert!(status.success(), "{logs}");
    let attempts: Vec<String> = keyward::store::Store::open(&db)
        .unwrap()
        .read(|c| {
            c.query(
                "SELECT details FROM audit_events WHERE action = 'Authenticate'",
                &[],
                |r| r.get(0),
            )
        })
        .unwrap();
    let total: i64 = attempts
        .iter()
        .map(|d| {
            serde_json::from_str::<serde_json::Value>(d).unwrap()["attempts"]
                .as_i64()
                .unwrap_or(0)
        })
        .sum();
    assert_eq!(total, 50, "{attempts:?}");
}
