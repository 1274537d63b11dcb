//! A randomized differential test: three tenants, people of every role,
//! people in two tenants with different roles, robots of both roles with
//! keys; thousands of random operations (every query and mutation, ids drawn
//! from all tenants, random callers, anonymous invitation accepts) sent to
//! the real server over HTTP and compared, answer by answer, with `model`.
//! It also counts every answer that read or changed another tenant's data,
//! and at the end compares the whole database with the model.
//!
//! `KEYWARD_SEED` and `KEYWARD_OPS` run it longer or elsewhere; a failure
//! prints the seed.
mod lists;
mod model;
mod ops;

use keyward::store::Value;
use std::collections::BTreeSet;

use keyward::domain::model::Role as ServerRole;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::json;

use self::model::{Account, Key, Kind, Membership, Model, Role, Tenant};
use crate::helpers::{TestApp, spawn_app};

const DEFAULT_SEED: u64 = 20_261_125;
const DEFAULT_OPS: usize = 3_000;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Rows of one query on the test's own view of the database.
fn rows(app: &TestApp, sql: &str) -> Vec<Vec<Option<String>>> {
    app.store
        .read(|c| {
            c.query(sql, &[], |r| {
                (0..r.len())
                    .map(|i| {
                        Ok(match r.get::<Value<'static>>(i)? {
                            Value::Null => None,
                            Value::Int(i) => Some(i.to_string()),
                            Value::Text(t) => Some(t.into_owned()),
                            other => Some(format!("{other:?}")),
                        })
                    })
                    .collect()
            })
        })
        .unwrap()
}

fn s(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// The database as the model sees it: every table, as sorted text rows.
fn snapshot_db(app: &TestApp) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for r in rows(app, "SELECT id, slug FROM tenants") {
        out.insert(format!("tenant {} {}", s(&r[0]), s(&r[1])));
    }
    for r in rows(app, "SELECT id, kind, email, server_admin FROM accounts") {
        out.insert(format!(
            "account {} {} {} {}",
            s(&r[0]),
            s(&r[1]),
            s(&r[2]),
            s(&r[3])
        ));
    }
    for r in rows(
        app,
        "SELECT id, account_id, tenant_id, role FROM memberships",
    ) {
        out.insert(format!(
            "membership {} {} {} {}",
            s(&r[0]),
            s(&r[1]),
            s(&r[2]),
            s(&r[3])
        ));
    }
    for r in rows(app, "SELECT id, account_id, tenant_id FROM api_keys") {
        out.insert(format!("key {} {} {}", s(&r[0]), s(&r[1]), s(&r[2])));
    }
    for r in rows(
        app,
        "SELECT id, tenant_id, email, role, accepted_at IS NOT NULL, revoked_at IS NOT NULL FROM invitations",
    ) {
        out.insert(format!(
            "invitation {} {} {} {} {} {}",
            s(&r[0]),
            s(&r[1]),
            s(&r[2]),
            s(&r[3]),
            s(&r[4]),
            s(&r[5])
        ));
    }
    out
}

fn snapshot_model(m: &Model) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for t in &m.tenants {
        out.insert(format!("tenant {} {}", t.id, t.slug));
    }
    for a in m.accounts.values() {
        let kind = match a.kind {
            Kind::Person => "USER",
            Kind::Robot => "SERVICE",
        };
        out.insert(format!(
            "account {} {kind} {} {}",
            a.id,
            a.email.clone().unwrap_or_default(),
            u8::from(a.server_admin)
        ));
    }
    for x in m.memberships.values() {
        out.insert(format!(
            "membership {} {} {} {}",
            x.id,
            x.account,
            x.tenant,
            x.role.wire()
        ));
    }
    for k in m.keys.values().filter(|k| !k.revoked) {
        out.insert(format!("key {} {} {}", k.id, k.account, k.tenant));
    }
    for i in m.invitations.values() {
        out.insert(format!(
            "invitation {} {} {} {} {} {}",
            i.id,
            i.tenant,
            i.email,
            i.role.wire(),
            u8::from(i.accepted),
            u8::from(i.revoked)
        ));
    }
    out
}

/// Reads the starting state back from the database; `secrets` are the keys
/// the setup was handed (the database holds only their hashes).
fn load_model(app: &TestApp, secrets: &[String]) -> Model {
    let mut m = Model::default();
    for r in rows(app, "SELECT id, slug FROM tenants") {
        m.tenants.push(Tenant {
            id: s(&r[0]),
            slug: s(&r[1]),
        });
    }
    for r in rows(app, "SELECT id, kind, email, server_admin FROM accounts") {
        let id = s(&r[0]);
        let kind = if s(&r[1]) == "USER" {
            Kind::Person
        } else {
            Kind::Robot
        };
        m.accounts.insert(
            id.clone(),
            Account {
                id,
                kind,
                email: r[2].clone(),
                server_admin: s(&r[3]) == "1",
            },
        );
    }
    for r in rows(
        app,
        "SELECT id, account_id, tenant_id, role FROM memberships",
    ) {
        m.memberships.insert(
            s(&r[0]),
            Membership {
                id: s(&r[0]),
                account: s(&r[1]),
                tenant: s(&r[2]),
                role: Role::from_wire(&s(&r[3])),
            },
        );
    }
    for secret in secrets {
        let me = app.ok(
            secret,
            "{ auth_info { api_key_id user_id tenant_id } }",
            json!({}),
        )["auth_info"]
            .clone();
        let id = me["api_key_id"].as_str().unwrap().to_owned();
        m.keys.insert(
            id.clone(),
            Key {
                id,
                secret: secret.clone(),
                account: me["user_id"].as_str().unwrap().to_owned(),
                tenant: me["tenant_id"].as_str().unwrap().to_owned(),
                revoked: false,
                ..Default::default()
            },
        );
    }
    assert_eq!(
        rows(app, "SELECT count(*) FROM api_keys")[0][0].as_deref(),
        Some(m.keys.len().to_string().as_str()),
        "every key of the setup is known"
    );
    assert!(m.invitations.is_empty());
    m
}

/// Three tenants; in each an admin, a user, a read-only user, an admin robot
/// and a user robot with a key; three people in two tenants each with
/// different roles.
fn setup(app: &TestApp) -> Vec<String> {
    let mut secrets = vec![app.admin_key.clone()];
    let mut tenants = vec![(app.tenant_id.clone(), app.admin_key.clone())];
    for slug in ["t1", "t2"] {
        let (t, _, key) = app.other_tenant(slug);
        secrets.push(key.clone());
        tenants.push((t, key));
    }
    for (i, (t, admin)) in tenants.iter().enumerate() {
        secrets.push(app.join(&format!("user{i}@x"), t, ServerRole::User));
        secrets.push(app.join(&format!("ro{i}@x"), t, ServerRole::ReadOnlyUser));
        for (name, role) in [("admin robot", "TENANT_ADMIN"), ("user robot", "USER")] {
            let d = app.ok(
                admin,
                "mutation($i: create_service_account_input!) { create_service_account(input: $i) { id } }",
                json!({ "i": { "name": name, "role": role } }),
            );
            let robot = d["create_service_account"]["id"].as_str().unwrap();
            secrets.push(app.create_key(admin, robot, &format!("{name} key")).1);
        }
    }
    let cross = [
        (
            "p01@x",
            0,
            ServerRole::TenantAdmin,
            1,
            ServerRole::ReadOnlyUser,
        ),
        ("p12@x", 1, ServerRole::User, 2, ServerRole::TenantAdmin),
        ("p20@x", 2, ServerRole::ReadOnlyUser, 0, ServerRole::User),
    ];
    for (email, a, ra, b, rb) in cross {
        secrets.push(app.join(email, &tenants[a].0, ra));
        secrets.push(app.join(email, &tenants[b].0, rb));
    }
    secrets
}

#[test]
fn random_operations_agree_with_an_independent_model() {
    let seed = env_or("KEYWARD_SEED", DEFAULT_SEED);
    let count = env_or("KEYWARD_OPS", DEFAULT_OPS);
    let app = spawn_app();
    let secrets = setup(&app);
    let model = load_model(&app, &secrets);
    assert_eq!(snapshot_db(&app), snapshot_model(&model), "the setup loads");
    let mut run = ops::Run::new(&app, model, StdRng::seed_from_u64(seed));
    for _ in 0..count {
        run.step();
    }
    let report = run.report();
    println!("seed {seed}, {count} operations: {report}");
    assert!(
        run.disagreements.is_empty(),
        "seed {seed}: {} disagreement(s) with the model (KEYWARD_SEED={seed} KEYWARD_OPS={count} reproduces):\n{}",
        run.disagreements.len(),
        run.disagreements.join("\n")
    );
    assert!(
        run.crossings.is_empty(),
        "seed {seed}: cross-tenant reads or writes:\n{}",
        run.crossings.join("\n")
    );
    let (db, model) = (snapshot_db(&app), snapshot_model(&run.model));
    assert!(
        db == model,
        "seed {seed}: the database differs from the model:\nonly in the database: {:#?}\nonly in the model: {:#?}",
        db.difference(&model).collect::<Vec<_>>(),
        model.difference(&db).collect::<Vec<_>>()
    );
    // The run must have exercised both sides of the rules, not only refusals.
    assert!(
        run.allowed_mutations > count / 50 && run.refused > count / 10,
        "a lopsided run: {report}"
    );
}

/// The served schema's queries and mutations, by name.
fn served_operations() -> Vec<String> {
    let sdl = keyward::gql::sdl();
    let mut out = Vec::new();
    for ty in ["type Query {", "type Mutation {"] {
        let body = sdl.split(ty).nth(1).unwrap();
        let body = &body[..body.find("\n}").unwrap()];
        out.extend(body.lines().filter_map(|l| {
            let name = l.strip_prefix("  ")?;
            let end = name.find(['(', ':'])?;
            let name = &name[..end];
            (!name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
                .then(|| name.to_owned())
        }));
    }
    out.sort();
    out
}

/// A query or mutation added to the schema without an arm in the model
/// fails here: the differential test must cover every one.
#[test]
fn the_differential_test_covers_every_query_and_mutation() {
    let mut covered: Vec<String> = ops::operations().into_iter().map(str::to_owned).collect();
    covered.sort();
    assert_eq!(served_operations(), covered);
}
