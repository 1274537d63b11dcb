//! Lists filtered in SQL, compared with the reference that loads every
//! candidate row and asks Cedar about each: for the default policies, every
//! example pack, and a pack the translator cannot fully express (so the
//! per-row fallback runs), every list field with every paging argument
//! answers the same rows in the same order, for every key in random data.
use std::path::Path;
use std::sync::Arc;

use keyward::authz::{Action, Authorizer};
use keyward::domain::api_key::Token;
use keyward::gql::{Context, schema};
use keyward::ops::Strategy;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

use super::model::Model;
use super::{load_model, ops, setup};
use crate::helpers::{TestApp, spawn_app};

/// A forbid whose residual the translator cannot write as SQL (`like`, and
/// the context, which the lists' partial evaluation leaves unknown): those
/// lists are read as a superset and decided row by row.
const UNTRANSLATABLE: &str = r#"
@id("no-admin-robot-keys-by-pattern")
forbid (principal, action == Keyward::Action::"ReadApiKey", resource)
when { resource.role like "TENANT_*" && resource.owner.kind == "SERVICE" };

@id("members-by-key-age")
forbid (principal, action == Keyward::Action::"ReadMembership", resource)
when { context.caller.key_age_seconds > 1000000000 || resource.role like "READ_*" };
"#;

/// Every list field, with paging, ordering and filters; `$t` is a tenant,
/// `$u` an account, `$c` a cursor.
const DOCUMENTS: &[&str] = &[
    "{ auth_api_key { id name user_id default_tenant_id created expires_at cursor } }",
    "{ auth_api_key(order_by: {created: desc}, limit: 7, offset: 3) { id cursor } }",
    "{ auth_api_key(order_by: [{name: asc}, {expires_at: desc}], limit: 20) { id name } }",
    "query($u: uuid) { auth_api_key(where: {user_id: {_eq: $u}}) { id } }",
    "query($c: String) { auth_api_key(after: $c, limit: 5) { id cursor } }",
    "query($c: String) { auth_api_key(order_by: {created: desc}, after: $c, limit: 5) { id } }",
    "query($t: uuid) { service_account(where: {tenant_id: {_eq: $t}}) { id name role created api_keys(limit: 3) { id } } }",
    "query($t: uuid) { service_account(where: {tenant_id: {_eq: $t}}, limit: 1, offset: 1) { id api_keys { id } } }",
    "query($t: uuid) { membership(where: {tenant_id: {_eq: $t}}) { id role user { id email } } }",
    "query($t: uuid) { membership(where: {tenant_id: {_eq: $t}}, limit: 3, offset: 2) { id } }",
    "query($t: uuid) { membership_invitation(where: {tenant_id: {_eq: $t}}) { id email role } }",
    "query($t: uuid) { membership_invitation(where: {tenant_id: {_eq: $t}}, limit: 2, offset: 1) { id } }",
    "{ tenant { id slug } }",
    "{ tenant(order_by: {name: desc}, limit: 1, offset: 1) { id } }",
    "query($t: uuid) { tenant(where: {id: {_eq: $t}}) { id } }",
];

/// Random data: the differential test's three tenants and people, a few
/// hundred random operations, then keys until there are a few hundred. The
/// model, and the secrets of the keys made after it.
fn random_data(app: &TestApp, rng: &mut StdRng) -> (Model, Vec<String>) {
    let initial = setup(app);
    let model = load_model(app, &initial);
    let mut run = ops::Run::new(app, model, StdRng::seed_from_u64(rng.random()));
    for _ in 0..400 {
        run.step();
    }
    let model = run.model;
    let live: Vec<_> = model
        .keys
        .values()
        .filter(|k| !k.revoked)
        .cloned()
        .collect();
    let mut secrets: Vec<String> = live.iter().map(|k| k.secret.clone()).collect();
    for i in 0..300 {
        let k = live.choose(rng).unwrap();
        let owner = if rng.random_bool(0.3) {
            model
                .accounts
                .keys()
                .collect::<Vec<_>>()
                .choose(rng)
                .unwrap()
                .to_string()
        } else {
            k.account.clone()
        };
        let expires = rng
            .random_bool(0.5)
            .then(|| format!("2031-0{}-01T00:00:00Z", 1 + i % 9));
        // Refusals are part of the data too: they leave nothing behind.
        let made = app.gql(
            &k.secret,
            "mutation($i: create_api_key_input!) { create_api_key(input: $i) { key } }",
            json!({ "i": { "user_id": owner, "name": format!("k{}", i % 17), "expires_at": expires } }),
        );
        if let Some(key) = made["data"]["create_api_key"]["key"].as_str() {
            secrets.push(key.to_owned());
        }
    }
    (model, secrets)
}

/// The policy sets to compare under: the defaults, each example pack added
/// to them, and the untranslatable pack.
fn policy_sets() -> Vec<(String, Authorizer)> {
    let mut sets = vec![("defaults".to_owned(), Authorizer::vetted(None).unwrap().0)];
    let examples = Path::new(crate::helpers::REPO_POLICIES).join("examples");
    let mut names: Vec<_> = std::fs::read_dir(&examples)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    for name in names {
        let dir = crate::helpers::policy_dir_with_example(&name, &[]);
        sets.push((name, Authorizer::vetted(Some(dir.path())).unwrap().0));
    }
    let dir = crate::helpers::policy_dir_with(&[("untranslatable.cedar", UNTRANSLATABLE)]);
    sets.push((
        "untranslatable".to_owned(),
        Authorizer::from_dir(dir.path()).unwrap(),
    ));
    sets
}

fn run(
    app: &TestApp,
    authz: &Arc<Authorizer>,
    p: &keyward::domain::principal::Principal,
    lists: Strategy,
    doc: &str,
    vars: &Value,
) -> Value {
    let env = keyward::ops::Env::new(
        app.store.clone(),
        authz.clone(),
        app.verifier.clone(),
        app.clock.now(),
    );
    let ctx = Context::new(Some(p.clone()), env).with_lists(lists);
    let vars: juniper::Variables = serde_json::from_value(vars.clone()).unwrap();
    let (data, errors) = juniper::execute_sync(doc, None, &schema(), &vars, &ctx).unwrap();
    let errors: Vec<String> = errors
        .iter()
        .map(|e| e.error().message().to_owned())
        .collect();
    json!({ "data": serde_json::to_value(&data).unwrap(), "errors": errors })
}

#[test]
fn sql_filtered_lists_equal_the_row_by_row_reference() {
    let seed = super::env_or("KEYWARD_SEED", super::DEFAULT_SEED);
    let mut rng = StdRng::seed_from_u64(seed);
    let app = spawn_app();
    let (model, secrets) = random_data(&app, &mut rng);
    let initial_keys = model.keys.values().filter(|k| !k.revoked).count();
    let keys: Vec<_> = app
        .store
        .read(|c| c.query_one("SELECT count(*) FROM api_keys", &[], |r| r.get::<i64>(0)))
        .map(|n| vec![n])
        .unwrap();
    assert!(keys[0] >= 200, "a few hundred keys, not {}", keys[0]);
    let tenants: Vec<String> = model.tenants.iter().map(|t| t.id.clone()).collect();
    let accounts: Vec<String> = model.accounts.keys().cloned().collect();
    let callers: Vec<_> = secrets
        .iter()
        .map(|s| Token::parse(s).unwrap().hash())
        .filter_map(|hash| app.verifier.verify(&hash, app.clock.now()).ok())
        .collect();
    assert!(callers.len() >= 100, "{} callers", callers.len());
    // Every key of the setup (each role and kind), then a random sample of
    // the rest (`KEYWARD_CALLERS`; `make differential` takes them all).
    let sample: usize = super::env_or("KEYWARD_CALLERS", 40);
    let (first, rest) = callers.split_at(initial_keys.min(callers.len()));
    let mut callers = first.to_vec();
    callers.extend(
        rest.sample(&mut rng, sample.saturating_sub(callers.len()))
            .cloned(),
    );
    let (mut compared, mut rows, mut fallback) = (0, 0, 0);
    let mut differences = Vec::new();
    for (name, authz) in policy_sets() {
        let authz = Arc::new(authz);
        for p in &callers {
            let inexact = [Action::ReadApiKey, Action::ReadMembership]
                .iter()
                .any(|a| !authz.list_filter(*a, p).unwrap().exact);
            if name == "untranslatable" {
                fallback += usize::from(inexact);
            } else {
                assert!(!inexact, "{name}: every shipped policy translates to SQL");
            }
            let first = run(&app, &authz, p, Strategy::Sql, DOCUMENTS[0], &json!({}));
            let cursors: Vec<Value> = first["data"]["auth_api_key"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["cursor"].clone())
                .collect();
            for doc in DOCUMENTS {
                let vars = json!({
                    "t": tenants.choose(&mut rng),
                    "u": if rng.random_bool(0.5) { json!(p.account_id.to_string()) } else { json!(accounts.choose(&mut rng)) },
                    "c": cursors.choose(&mut rng),
                });
                let sql = run(&app, &authz, p, Strategy::Sql, doc, &vars);
                let reference = run(&app, &authz, p, Strategy::RowByRow, doc, &vars);
                compared += 1;
                rows += sql["data"]
                    .as_object()
                    .and_then(|o| o.values().next())
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                if sql != reference {
                    differences.push(format!(
                        "{name}, key {} ({:?} {:?}), {doc} {vars}:\n  sql:       {sql}\n  reference: {reference}",
                        p.key_id, p.account_kind, p.role
                    ));
                }
            }
        }
    }
    println!(
        "seed {seed}: {compared} answers compared, {rows} rows, {fallback} callers through the fallback"
    );
    assert!(
        differences.is_empty(),
        "seed {seed}: {} of {compared} answers differ:\n{}",
        differences.len(),
        differences
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        fallback > 0,
        "the untranslatable pack went through the fallback"
    );
    assert!(
        rows > compared * 2,
        "the lists were not mostly empty: {rows} rows"
    );
}
