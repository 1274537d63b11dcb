//! Lists as a client walks them: limit, offset, the `after` cursor, the
//! `where` filters; and the cost budget every document is held to.
use std::collections::BTreeSet;

use keyward::gql::cost::BUDGET;
use keyward::gql::prepared::Documents;
use serde_json::{Value, json};

use crate::helpers::{LIST_KEYS, MEMBERS, SERVICE_ACCOUNTS, TENANTS, TestApp, console_documents};
use crate::snap;
use crate::world::world;
use keyward::domain::model::Role;

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_owned())
        .collect()
}

/// `n` more keys for the admin, one a tick apart (and two in the same tick,
/// so cursors must break ties).
fn keys_for_admin(app: &TestApp, n: usize) {
    for i in 0..n {
        if i % 3 != 0 {
            app.tick();
        }
        app.create_key(&app.admin_key, &app.admin_id, &format!("walk {i:02}"));
    }
}

#[test]
fn a_cursor_walk_sees_every_key_once_in_either_order() {
    let w = world();
    let a = &w.app;
    keys_for_admin(a, 23);
    let all = ids(&a.ok(&a.admin_key, "{ auth_api_key { id } }", json!({}))["auth_api_key"]);
    assert!(all.len() >= 25, "{} keys", all.len());
    for order in ["asc", "desc"] {
        let q = format!(
            "query($c: String) {{ auth_api_key(order_by: {{created: {order}}}, limit: 4, after: $c) {{ id cursor }} }}"
        );
        let (mut walked, mut cursor) = (Vec::new(), Value::Null);
        loop {
            let page = a.ok(&a.admin_key, &q, json!({ "c": cursor }))["auth_api_key"].clone();
            let page = page.as_array().unwrap();
            if page.is_empty() {
                break;
            }
            walked.extend(page.iter().map(|k| k["id"].as_str().unwrap().to_owned()));
            cursor = page.last().unwrap()["cursor"].clone();
        }
        let mut expected = all.clone();
        if order == "desc" {
            let full = "{ auth_api_key(order_by: {created: desc}) { id } }";
            expected = ids(&a.ok(&a.admin_key, full, json!({}))["auth_api_key"]);
        }
        assert_eq!(walked, expected, "walking {order}");
        assert_eq!(walked.iter().collect::<BTreeSet<_>>().len(), walked.len());
    }
    // Offsets cut the same list.
    let page = a.ok(
        &a.admin_key,
        "{ auth_api_key(limit: 5, offset: 10) { id } }",
        json!({}),
    );
    assert_eq!(ids(&page["auth_api_key"]), all[10..15]);
    // A cursor that no list gave, and `after` with another order, are
    // refused with what to do instead.
    let bad = a.gql(
        &a.admin_key,
        "{ auth_api_key(after: \"yesterday\") { id } }",
        json!({}),
    );
    let mixed = a.gql(
        &a.admin_key,
        "{ auth_api_key(order_by: {name: asc}, after: \"2030-01-01T00:00:00.000000Z|1\") { id } }",
        json!({}),
    );
    let deep = a.gql(
        &a.admin_key,
        "{ auth_api_key(offset: 100001) { id } }",
        json!({}),
    );
    let negative = a.gql(
        &a.admin_key,
        "{ auth_api_key(offset: -1) { id } }",
        json!({}),
    );
    snap!(
        "list_bad_paging",
        json!({ "bad_cursor": bad, "after_with_name_order": mixed, "offset_too_deep": deep, "negative_offset": negative })
    );
}

#[test]
fn auth_api_key_where_user_id_asks_the_server_for_one_owner() {
    let w = world();
    let a = &w.app;
    let q = "query($u: uuid) { auth_api_key(where: {user_id: {_eq: $u}}) { user_id } }";
    let owners = |key: &str, u: &str| -> BTreeSet<String> {
        a.ok(key, q, json!({ "u": u }))["auth_api_key"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["user_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        owners(&a.admin_key, &a.admin_id),
        BTreeSet::from([a.admin_id.clone()])
    );
    assert_eq!(
        owners(&a.admin_key, &w.sa_id),
        BTreeSet::from([w.sa_id.clone()])
    );
    // Another's keys the caller may not see stay unseen.
    assert!(owners(&w.user_key, &a.admin_id).is_empty());
    assert!(owners(&a.admin_key, &w.user_id).is_empty());
}

#[test]
fn every_list_pages_with_limit_and_offset() {
    let w = world();
    let a = &w.app;
    for i in 0..4 {
        a.service_account(&a.admin_key, &format!("robot {i}"));
    }
    // Two more tenants for the world's user, so tenant lists have three.
    for slug in ["second", "third"] {
        let (t, ..) = a.other_tenant(slug);
        a.join("admin@localhost", &t, Role::User);
    }
    for (doc, field) in [
        ("{ membership ARGS { id } }", "membership"),
        ("{ service_account ARGS { id } }", "service_account"),
        ("{ tenant ARGS { id } }", "tenant"),
    ] {
        let all = ids(&a.ok(&a.admin_key, &doc.replace("ARGS", ""), json!({}))[field]);
        assert!(all.len() >= 3, "{field}: {all:?}");
        let paged = doc.replace("ARGS", "(limit: 2, offset: 1)");
        let page = ids(&a.ok(&a.admin_key, &paged, json!({}))[field]);
        let expected: Vec<String> = all.iter().skip(1).take(2).cloned().collect();
        assert_eq!(page, expected, "{field}: {paged}");
    }
    // A service account's keys: the first `limit`, oldest first.
    let robot = a.service_account(&a.admin_key, "many keys");
    for i in 0..4 {
        a.tick();
        a.create_key(&a.admin_key, &robot, &format!("robot key {i}"));
    }
    let d = a.ok(
        &a.admin_key,
        "{ service_account { id api_keys(limit: 2) { name } all: api_keys { name } } }",
        json!({}),
    );
    let sa = d["service_account"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == robot)
        .unwrap();
    assert_eq!(
        sa["api_keys"],
        json!([{ "name": "robot key 0" }, { "name": "robot key 1" }])
    );
    assert_eq!(sa["all"].as_array().unwrap().len(), 4);
    let too_many = a.gql(
        &a.admin_key,
        "{ service_account(limit: 1) { api_keys(limit: 101) { id } } }",
        json!({}),
    );
    assert_eq!(
        too_many["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{too_many}"
    );
}

#[test]
fn ordering_by_name_is_refused_past_what_may_be_sorted() {
    let w = world();
    let a = &w.app;
    let admin = keyward::domain::ids::AccountId::from(a.admin_id.parse::<uuid::Uuid>().unwrap());
    let tenant = keyward::domain::ids::TenantId::from(a.tenant_id.parse::<uuid::Uuid>().unwrap());
    let max = keyward::store::api_keys::MAX_SORTED;
    a.store
        .write(|w| {
            for i in 0..max {
                keyward::bootstrap::operator_key(
                    w,
                    (admin, keyward::domain::model::AccountKind::User),
                    tenant,
                    &format!("bulk {i}"),
                    a.clock.now(),
                )?;
            }
            let loaded = ("api_key", "bulk".to_owned());
            let details = json!({ "keys": max });
            keyward::bootstrap::operator_event(
                w,
                keyward::authz::Action::CreateApiKey,
                loaded,
                Some(tenant),
                details,
                a.clock.now(),
            )
        })
        .unwrap();
    let by_name = "{ auth_api_key(order_by: {name: asc}, limit: 3) { name } }";
    let refused = a.gql(&a.admin_key, by_name, json!({}));
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{refused}"
    );
    let message = refused["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("order by created"), "{message}");
    // Creation order is indexed: any size pages.
    let d = a.ok(
        &a.admin_key,
        "{ auth_api_key(order_by: {created: desc}, limit: 3) { name } }",
        json!({}),
    );
    assert_eq!(d["auth_api_key"].as_array().unwrap().len(), 3);
    // A user's own few keys still sort by name.
    let d = a.ok(&w.user_key, by_name, json!({}));
    assert!(!d["auth_api_key"].as_array().unwrap().is_empty());
}

/// `n` aliases of `field`.
fn aliases(n: usize, field: &str) -> String {
    let body: Vec<String> = (0..n).map(|i| format!("a{i}: {field}")).collect();
    format!("{{ {} }}", body.join(" "))
}

#[test]
fn documents_over_the_budget_are_refused_unrun_with_the_figures() {
    let w = world();
    let a = &w.app;
    let abusive = aliases(499, "auth_api_key { id }");
    let refused = a.gql(&w.readonly_key, &abusive, json!({}));
    snap!("over_budget", refused);
    // Fragments and variables are counted for what they stand for.
    let fragments = format!(
        "query($n: Int) {{ ...A ...A }} fragment A on Query {{ {} }}",
        (0..9)
            .map(|i| format!("x{i}: auth_api_key(limit: $n) {{ id }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let r = a.gql(&a.admin_key, &fragments, json!({ "n": 1000 }));
    assert_eq!(
        r["errors"][0]["extensions"]["code"], "QUERY_TOO_EXPENSIVE",
        "{r}"
    );
    assert_eq!(r["errors"][0]["extensions"]["cost"], 18 * 1020);
    let r = a.gql(&a.admin_key, &fragments, json!({ "n": 10 }));
    assert!(r.get("errors").is_none(), "{r}");
    // A variable left out runs with its default, and is costed with it.
    let deep = format!(
        "query($o: Int = 2000000000) {{ {} }}",
        (0..200)
            .map(|i| format!("a{i}: auth_api_key(offset: $o, limit: 1) {{ id }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let r = a.gql(&a.admin_key, &deep, json!({}));
    assert_eq!(
        r["errors"][0]["extensions"]["code"], "QUERY_TOO_EXPENSIVE",
        "{r}"
    );
    // The same document with a shallow offset supplied is within it.
    let r = a.gql(&a.admin_key, &deep, json!({ "o": 0 }));
    assert!(r.get("errors").is_none(), "{r}");
    let defaulted = "query($s: Int = 1000, $l: Int = 100) { service_account(limit: $s) { api_keys(limit: $l) { id } } }";
    let r = a.gql(&a.admin_key, defaulted, json!({}));
    assert_eq!(
        r["errors"][0]["extensions"]["code"], "QUERY_TOO_EXPENSIVE",
        "{r}"
    );
    // Nested lists multiply.
    let nested = "{ service_account(limit: 1000) { api_keys(limit: 100) { id } } }";
    let r = a.gql(&a.admin_key, nested, json!({}));
    assert_eq!(
        r["errors"][0]["extensions"]["code"], "QUERY_TOO_EXPENSIVE",
        "{r}"
    );
    // Many cheap fields are cheap; many writes are not.
    assert!(
        a.gql(
            &a.admin_key,
            &aliases(200, "auth_info { user_id }"),
            json!({})
        )
        .get("errors")
        .is_none()
    );
    let writes = format!(
        "mutation {{ {} }}",
        (0..11)
            .map(|i| format!(
                "d{i}: delete_api_key(input: {{key_id: \"{}\"}}) {{ success }}",
                uuid::Uuid::new_v4()
            ))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let r = a.gql(&a.admin_key, &writes, json!({}));
    assert_eq!(
        r["errors"][0]["extensions"]["code"], "QUERY_TOO_EXPENSIVE",
        "{r}"
    );
}

/// What the keyward CLI and the console send stays well under the budget
/// (at most half of it).
#[test]
fn the_clis_and_the_consoles_documents_cost_well_under_the_budget() {
    let docs = Documents::new(keyward::gql::schema());
    let console = console_documents().into_iter().map(|(_, doc)| doc);
    let cli = [LIST_KEYS, MEMBERS, SERVICE_ACCOUNTS, TENANTS].map(str::to_owned);
    let mut checked = 0;
    for doc in console.chain(cli) {
        let cost = docs
            .prepare(&doc, None, true)
            .unwrap_or_else(|e| panic!("{e}: {doc}"))
            .cost(&juniper::Variables::new())
            .unwrap();
        assert!(cost <= BUDGET / 2, "{cost}: {doc}");
        checked += 1;
    }
    assert!(checked >= 18, "{checked} documents");
}
