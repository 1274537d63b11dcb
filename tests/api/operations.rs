//! Running keyward as an operator does: backups, the systemd unit.
use std::process::Command;

use serde_json::json;

use crate::helpers::{DELETE_KEY, printed, serve_binary, spawn_app};

const BIN: &str = env!("CARGO_BIN_EXE_keyward");

/// A backup taken while the server serves is a database another server can
/// use as it is: the same keys work, the revoked one stays revoked.
#[test]
fn a_backup_taken_while_serving_restores_the_same_keys() {
    let app = spawn_app();
    let (_, live) = app.create_key(&app.admin_key, &app.admin_id, "live");
    let (gone_id, gone) = app.create_key(&app.admin_key, &app.admin_id, "gone");
    app.ok(
        &app.admin_key,
        DELETE_KEY,
        json!({ "input": { "key_id": gone_id } }),
    );
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("backup.db");
    let out = Command::new(BIN)
        .args([
            "backup",
            "--db",
            app.db.to_str().unwrap(),
            "--to",
            copy.to_str().unwrap(),
        ])
        .env_remove("KEYWARD_DB")
        .output()
        .unwrap();
    if app.on_postgres() {
        // PostgreSQL has its own tools; the command says so and makes nothing.
        assert!(!out.status.success());
        assert!(printed(&out).contains("pg_dump"), "{}", printed(&out));
        assert!(!copy.exists());
        return;
    }
    assert!(out.status.success(), "{}", printed(&out));
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode, 0o600,
            "a backup holds the webhooks' secrets: {mode:o}"
        );
    }
    // Never over an existing file.
    let again = Command::new(BIN)
        .args([
            "backup",
            "--db",
            app.db.to_str().unwrap(),
            "--to",
            copy.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(
        printed(&again).contains("never overwrites"),
        "{}",
        printed(&again)
    );

    // Restore: a server on the copy (nothing to bootstrap: it has a tenant).
    let restored = serve_binary(copy.to_str().unwrap());
    assert_eq!(restored.bootstrap_key(), None);
    let verify = |key: &str| {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        agent
            .get(restored.url.replace("/graphql", "/auth/verify"))
            .header("Authorization", &format!("Bearer {key}"))
            .call()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(verify(&app.admin_key), 200);
    assert_eq!(verify(&live), 200);
    assert_eq!(verify(&gone), 401);
    restored.stop();
}

/// The shipped unit file is one systemd accepts without a warning.
#[test]
fn the_systemd_unit_verifies() {
    let Ok(analyze) = which("systemd-analyze") else {
        eprintln!("systemd-analyze is not installed: skipping");
        return;
    };
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/systemd/keyward.service"
    ))
    .unwrap();
    for hardening in [
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "StateDirectory=keyward",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(unit.contains(hardening), "the unit lacks {hardening}");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyward.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/keyward", BIN)).unwrap();
    let out = Command::new(analyze)
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let said = printed(&out);
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
}

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or(())
}

/// The value of one sample line (`name{labels} value`) of a scrape, 0 when
/// absent.
fn sample(scrape: &str, series: &str) -> f64 {
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// `GET /metrics` on its own listener: the counters move with what happens.
#[test]
fn metrics_count_what_happens() {
    use crate::helpers::{AUTH_INFO, CREATE_SERVICE_ACCOUNT, spawn_app_with};
    use keyward::domain::model::Role;
    let app = spawn_app_with(|c| c.metrics_listen = Some("127.0.0.1:0".parse().unwrap()));
    let url = app.metrics_url.clone().unwrap();
    let scrape = || {
        let r = ureq::get(&url).call().unwrap();
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/openmetrics-text")
        );
        let mut r = r;
        r.body_mut().read_to_string().unwrap()
    };
    // Not on the public listener.
    assert_eq!(app.get("/metrics").status, 404);
    let before = scrape();

    let verify = |key: &str| {
        app.get_with(
            "/auth/verify",
            &[("authorization", &format!("Bearer {key}"))],
        )
        .status
    };
    assert_eq!(verify(&app.admin_key), 200); // miss, ok
    assert_eq!(verify(&app.admin_key), 200); // hit, ok
    assert_eq!(verify("not-a-key"), 401); // malformed
    let unknown =
        keyward::domain::api_key::Token::generate(keyward::domain::model::AccountKind::User);
    assert_eq!(verify(unknown.expose()), 401); // unknown
    let (id, key) = app.create_key(&app.admin_key, &app.admin_id, "doomed");
    assert_eq!(verify(&key), 200); // cached, so the revocation evicts it
    app.ok(
        &app.admin_key,
        DELETE_KEY,
        json!({ "input": { "key_id": id } }),
    );
    assert_eq!(verify(&key), 401); // revoked
    let soon = (app.clock.now() + chrono::Duration::seconds(10)).to_rfc3339();
    let short = app.ok(
        &app.admin_key,
        crate::helpers::CREATE_KEY,
        json!({ "input": { "user_id": app.admin_id, "name": "short", "expires_at": soon } }),
    )["create_api_key"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    app.clock.advance(chrono::Duration::seconds(11));
    assert_eq!(verify(&short), 401); // expired
    let (_, ro) = app.member("ro@default", Role::ReadOnlyUser);
    assert_eq!(
        app.code(
            &ro,
            CREATE_SERVICE_ACCOUNT,
            json!({ "input": { "name": "x" } })
        ),
        "FORBIDDEN"
    );
    app.ok(&app.admin_key, AUTH_INFO, json!({}));
    app.verifier.flush_last_used().unwrap();

    let after = scrape();
    let grew = |series: &str| sample(&after, series) - sample(&before, series);
    for (outcome, at_least) in [
        ("ok", 3.0),
        ("malformed", 1.0),
        ("unknown", 1.0),
        ("revoked", 1.0),
        ("expired", 1.0),
    ] {
        let series = format!("keyward_key_verifications_total{{outcome=\"{outcome}\"}}");
        assert!(
            grew(&series) >= at_least,
            "{series}: {}\n{after}",
            grew(&series)
        );
    }
    for series in [
        "keyward_key_cache_events_total{event=\"hit\"}",
        "keyward_key_cache_events_total{event=\"miss\"}",
        "keyward_key_cache_events_total{event=\"eviction\"}",
        "keyward_key_verification_seconds_count",
        "keyward_graphql_request_seconds_count",
        "keyward_cedar_decision_seconds_count",
        "keyward_denied_decisions_total{policy=\"role-ceiling-grants\"}",
        "keyward_db_pool_wait_seconds_count",
        "keyward_last_used_flushes_total",
        "keyward_last_used_keys_written_total",
    ] {
        assert!(grew(series) >= 1.0, "{series} did not move:\n{after}");
    }
}

/// A UNIQUE refusal inside a write is an answer, not the end of the
/// transaction: what follows in it still runs, on either backend.
#[test]
fn a_refused_insert_leaves_its_transaction_usable() {
    use keyward::error::AppError;
    let app = crate::helpers::spawn_app();
    let n: i64 = app
        .store
        .write(|w| {
            let again = w.insert(
                "INSERT INTO tenants (id, name, slug, created_at)
                 SELECT id, name, slug, created_at FROM tenants",
                &[],
                || AppError::Conflict("that tenant exists".into()),
            );
            assert!(matches!(again, Err(AppError::Conflict(_))), "{again:?}");
            w.query_one("SELECT count(*) FROM tenants", &[], |r| r.get(0))
        })
        .unwrap();
    assert_eq!(n, 1);
}

/// A database migrated by a newer keyward is refused, not downgraded or
/// half-read, on either backend.
#[test]
fn a_database_newer_than_the_binary_is_refused() {
    let app = crate::helpers::spawn_app();
    let newer = match app.store.dialect() {
        keyward::store::Dialect::Sqlite => "PRAGMA user_version = 99",
        keyward::store::Dialect::Postgres => "UPDATE keyward_schema SET version = 99",
    };
    app.store.write(|w| w.batch(newer)).unwrap();
    let Err(e) = keyward::store::Store::open(&app.db) else {
        panic!("a database at version 99 opened");
    };
    let chain = format!("{:?}", e);
    assert!(chain.contains("newer than this keyward"), "{chain}");
}
