//! The web console: served from the binary with its security headers, and
//! driven through every flow in a real browser (tests/ui, Playwright and
//! Debian's chromium; `.ci/run` installs them, `make ui-deps` the npm part).
use std::path::Path;

use serde_json::json;
use std::process::Command;

use keyward::clock::Clock;

use crate::helpers::{console_documents, printed, spawn_app, spawn_app_on};

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

#[test]
fn the_page_and_its_assets_come_from_the_binary_with_security_headers() {
    let a = spawn_app();
    for (path, content_type) in [
        ("/", "text/html; charset=utf-8"),
        ("/console/app.js", "text/javascript; charset=utf-8"),
        ("/console/app.css", "text/css; charset=utf-8"),
        ("/console/favicon.svg", "image/svg+xml"),
    ] {
        let r = a.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.headers["content-type"], content_type, "{path}");
        assert_eq!(r.headers["content-security-policy"], CSP, "{path}");
        assert_eq!(r.headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(r.headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(r.headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(r.headers["cache-control"], "no-cache", "{path}");
        // Unchanged since the browser's copy: no body.
        let etag = r.headers["etag"].clone();
        let again = a.get_with(path, &[("if-none-match", &etag)]);
        assert_eq!((again.status, again.text.as_str()), (304, ""), "{path}");
        assert_eq!(again.headers["etag"], etag);
    }
    let page = a.get("/").text;
    assert!(page.contains(r#"<script type="module" src="/console/app.js"></script>"#));
    assert_eq!(page.matches("<script").count(), 1, "no inline script");
    // Every module the page imports, and what they import, is served.
    let mut seen = std::collections::BTreeSet::new();
    let mut todo = vec!["app.js".to_owned()];
    while let Some(module) = todo.pop() {
        if !seen.insert(module.clone()) {
            continue;
        }
        let r = a.get(&format!("/console/{module}"));
        assert_eq!(r.status, 200, "{module} is imported but not served");
        assert_eq!(r.headers["content-type"], "text/javascript; charset=utf-8");
        for import in r.text.split("from './").skip(1) {
            todo.push(import[..import.find('\'').unwrap()].to_owned());
        }
    }
    assert!(seen.len() >= 7, "{seen:?}");
    assert_eq!(a.get("/console/nope.js").status, 404);
    assert_eq!(a.get("/console/../Cargo.toml").status, 404);
    // The API's answers are not frameable either; GraphiQL stays at /graphql.
    let graphiql = a.get("/graphql");
    assert_eq!(graphiql.headers["x-frame-options"], "DENY");
    assert!(graphiql.text.contains("GraphiQL") || graphiql.text.contains("graphiql"));
}

#[test]
fn every_console_flow_in_headless_chromium() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ui = root.join("tests/ui");
    assert!(
        ui.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed: run `make ui-deps` (npm ci in tests/ui)"
    );
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "chromium is not installed: apt-get install chromium chromium-driver (.ci/run does)"
    );
    // The browser computes expiries from its own clock, so the server runs on
    // the system clock too; last use is written every second so the page can
    // show it.
    let a = spawn_app_on(|c| c.last_used_interval = 1, Clock::system());
    let shots = root.join("target/ui-screenshots");
    let out = Command::new("node")
        .args(["--test", "--test-reporter=spec", "console.test.mjs"])
        .current_dir(&ui)
        .env("KEYWARD_URL", &a.url)
        .env("KEYWARD_ADMIN_KEY", &a.admin_key)
        .env("KEYWARD_SCREENSHOTS", &shots)
        .output()
        .expect("node runs (the machine's Node.js, 20 or later)");
    let report = printed(&out);
    assert!(out.status.success(), "the browser tests failed:\n{report}");
    // Every flow ran: a file that defined no tests would exit 0 too.
    let defined = std::fs::read_to_string(ui.join("console.test.mjs"))
        .unwrap()
        .matches("\ntest(")
        .count();
    assert!(defined >= 7, "{defined} tests in console.test.mjs");
    assert!(report.contains(&format!("ℹ pass {defined}\n")), "{report}");
}

/// The console keeps its own GraphQL documents (src/console/api.js); each
/// must fit the schema as served. They are sent without a key: a document
/// that fits is refused for the key (or for a variable it was not given),
/// one that does not is refused for the document.
#[test]
fn the_consoles_documents_fit_the_schema() {
    let a = spawn_app();
    let documents = console_documents();
    assert!(documents.len() >= 14, "{documents:?}");
    let check = |name: &str, doc: &str| -> Result<(), String> {
        let body = a.gql_with(None, &[], doc, json!({})).json();
        for e in body["errors"].as_array().into_iter().flatten() {
            let code = e["extensions"]["code"].as_str().unwrap_or("");
            let message = e["message"].as_str().unwrap_or("");
            let about_variables = message.starts_with("Variable \"$");
            if code.starts_with("GRAPHQL_") && !about_variables {
                return Err(format!("{name}: {message}"));
            }
        }
        Ok(())
    };
    for (name, doc) in &documents {
        check(name, doc).unwrap_or_else(|e| panic!("{e}\n{doc}"));
    }
    // And the check can fail: a field the schema does not have.
    assert!(check("broken", "{ auth_info { user_id no_such_field } }").is_err());
}
