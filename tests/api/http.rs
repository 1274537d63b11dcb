//! The transport: body forms, routes, limits, health.
use serde_json::json;

use crate::helpers::{AUTH_INFO, SERVICE_ACCOUNTS, spawn_app, spawn_app_with};
use crate::snap;

#[test]
fn variables_as_an_object_a_json_string_or_null() {
    let a = spawn_app();
    let auth = format!("Bearer {}", a.admin_key);
    let h = [("authorization", auth.as_str())];
    let q = "query($slug: String) { tenant(where: {slug: {_eq: $slug}}) { slug } }";
    for variables in [
        json!({ "slug": "default" }),
        json!("{\"slug\": \"default\"}"),
    ] {
        let body = json!({ "query": q, "variables": variables }).to_string();
        let r = a.post("/graphql", &h, "application/json", &body);
        assert_eq!(
            r.json(),
            json!({ "data": { "tenant": [{ "slug": "default" }] } }),
            "{variables}"
        );
    }
    // The Prefect client: variables "null", no operationName, posted to the bare host.
    let body = json!({ "query": AUTH_INFO, "variables": "null" }).to_string();
    let r = a.post("/", &h, "application/json", &body);
    assert!(r.json().get("errors").is_none(), "{}", r.text);
    // application/graphql: the body is the document.
    let r = a.post(
        "/graphql",
        &h,
        "application/graphql",
        "{ auth_info { role } }",
    );
    assert_eq!(
        r.json(),
        json!({ "data": { "auth_info": { "role": "TENANT_ADMIN" } } })
    );
}

#[test]
fn malformed_requests_get_clear_errors() {
    let a = spawn_app();
    let auth = format!("Bearer {}", a.admin_key);
    let h = [("authorization", auth.as_str())];
    let mut out = serde_json::Map::new();
    for (case, ct, body) in [
        ("not_json", "application/json", "{nope".to_owned()),
        (
            "batch",
            "application/json",
            "[{\"query\": \"{ auth_info { role } }\"}]".to_owned(),
        ),
        ("no_query", "application/json", "{}".to_owned()),
        (
            "variables_a_list",
            "application/json",
            "{\"query\": \"{ auth_info { role } }\", \"variables\": [1]}".to_owned(),
        ),
        (
            "wrong_content_type",
            "text/plain",
            "{ auth_info { role } }".to_owned(),
        ),
        (
            "too_large",
            "application/graphql",
            format!("{{ auth_info {{ role }} }} #{}", "x".repeat(70_000)),
        ),
        (
            "syntax_error",
            "application/graphql",
            "{ auth_info { role }".to_owned(),
        ),
        (
            "unknown_field",
            "application/graphql",
            "{ nope }".to_owned(),
        ),
    ] {
        let r = a.post("/graphql", &h, ct, &body);
        out.insert(
            case.to_owned(),
            json!({ "status": r.status, "body": r.json() }),
        );
    }
    snap!("malformed_requests", serde_json::Value::Object(out));
}

#[test]
fn documents_past_the_parse_limits_are_refused() {
    let a = spawn_app();
    let n = 20;
    let deep = format!(
        "{{ __schema {{ types {{ fields {{ type {}{{ name }}{} }} }} }} }}",
        "{ ofType ".repeat(n),
        " }".repeat(n)
    );
    let many_fields = format!(
        "{{ {} }}",
        (0..1100)
            .map(|i| format!("a{i}: __typename"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    // One field, but an argument list long enough to pass the token limit.
    let many_tokens = format!(
        "{{ tenant(order_by: [{}]) {{ slug }} }}",
        "{slug: asc} ".repeat(2000)
    );
    let mut out = serde_json::Map::new();
    for (case, q) in [
        ("too_deep", deep),
        ("too_many_fields", many_fields),
        ("too_many_tokens", many_tokens),
    ] {
        let r = a.post(
            "/graphql",
            &[("authorization", &format!("Bearer {}", a.admin_key))],
            "application/graphql",
            &q,
        );
        assert_eq!(r.status, 200);
        out.insert(case.to_owned(), r.json());
    }
    snap!("parse_limits", serde_json::Value::Object(out));
}

#[test]
fn graphiql_introspection_fits_the_limits() {
    let a = spawn_app();
    let r = a.post("/graphql", &[], "application/graphql", INTROSPECTION);
    let body = r.json();
    assert!(body.get("errors").is_none(), "{body}");
    assert!(body["data"]["__schema"]["types"].as_array().unwrap().len() > 10);
}

/// GET never executes, even an authorised, valid mutation.
#[test]
fn get_never_executes() {
    for app in [spawn_app(), spawn_app_with(|c| c.graphiql = true)] {
        let auth = format!("Bearer {}", app.admin_key);
        let r = app.get_with(
            "/graphql?query=mutation%7Bcreate_service_account(input%3A%7Bname%3A%22via-get%22%7D)%7Bid%7D%7D",
            &[("authorization", &auth)],
        );
        assert_eq!(r.status, 200);
        assert!(r.headers["content-type"].starts_with("text/html"));
        assert!(!r.text.contains("\"data\""));
        let sas = app.ok(&app.admin_key, SERVICE_ACCOUNTS, json!({}));
        assert_eq!(sas["service_account"], json!([]), "a GET created something");
    }
}

/// By default `GET /graphql` is keyward's own page (no CDN, the console's
/// CSP); GraphiQL, which loads from esm.sh, only with `--graphiql`, under a
/// CSP that names that CDN and nothing else.
#[test]
fn graphiql_only_on_request_and_never_from_anywhere_unnamed() {
    let page = spawn_app().get("/graphql");
    assert_eq!(
        page.headers["content-security-policy"],
        keyward::http::console::CONTENT_SECURITY_POLICY
    );
    assert!(!page.text.contains("https://") && !page.text.contains("http://"));
    assert!(page.text.contains("--graphiql"), "{}", page.text);
    let on = spawn_app_with(|c| c.graphiql = true).get("/graphql");
    assert!(on.text.contains("esm.sh"), "juniper's GraphiQL page");
    assert_eq!(
        on.headers["content-security-policy"],
        keyward::http::graphql::GRAPHIQL_CSP
    );
    // Every address the page loads (quoted in an attribute or the import map).
    for url in on.text.split("\"https://").skip(1) {
        assert!(url.starts_with("esm.sh/"), "GraphiQL loads from {url:.40}");
    }
}

#[test]
fn healthz_reports_the_database() {
    let a = spawn_app();
    let r = a.get("/healthz");
    let body = r.json();
    assert_eq!((r.status, &body["status"]), (200, &json!("ok")));
    assert_eq!(body["policies"]["source"], json!("embedded defaults"));
    assert_eq!(body["policies"]["hash"].as_str().map(str::len), Some(64));
    assert_eq!(body["policies"]["loaded_at"], json!(crate::helpers::START));
    // Every connection is taken and held: the database does not answer.
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let wait = std::sync::Arc::new(std::sync::Mutex::new(wait));
    let (held_tx, held) = std::sync::mpsc::channel();
    let holders: Vec<_> = (0..a.store.max_connections())
        .map(|_| {
            let (store, wait, held_tx) = (a.store.clone(), wait.clone(), held_tx.clone());
            std::thread::spawn(move || {
                store
                    .read(|_| {
                        held_tx.send(()).unwrap();
                        let _ = wait.lock().unwrap().recv();
                        Ok(())
                    })
                    .unwrap()
            })
        })
        .collect();
    for _ in &holders {
        held.recv().unwrap();
    }
    let r = a.get("/healthz");
    assert_eq!(
        (r.status, &r.json()["status"]),
        (503, &json!("unavailable"))
    );
    drop(release);
    for h in holders {
        h.join().unwrap();
    }
    assert_eq!(a.get("/healthz").status, 200);
}

/// The introspection query GraphiQL sends when it loads.
const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}
"#;

/// A test's server stops when the test is done with it.
#[test]
fn a_dropped_test_app_stops_serving() {
    let a = spawn_app();
    let addr = a.url.trim_start_matches("http://").to_owned();
    assert_eq!(a.get("/livez").status, 200);
    drop(a);
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "{addr} still accepts connections"
    );
}
