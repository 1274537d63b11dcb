//! Tenant isolation: the two escalation chains found against an earlier main,
//! step by step (each step that used to succeed now gets the documented
//! refusal), and hidden ids answering exactly as missing ones.
use keyward::domain::model::Role;
use serde_json::{Value, json};

use crate::helpers::{
    ACCEPT, AUTH_INFO, CREATE_KEY, CREATE_SERVICE_ACCOUNT, CREATE_TENANT, DELETE_MEMBERSHIP,
    DELETE_SERVICE_ACCOUNT, INVITATIONS, INVITE, MEMBERS, RENAME_SERVICE_ACCOUNT, SERVICE_ACCOUNTS,
    SET_ROLE, TestApp, input, spawn_app,
};
use crate::snap;
use crate::world::world;

fn error(body: &Value) -> (&str, &str) {
    let e = &body["errors"][0];
    (
        e["extensions"]["code"].as_str().unwrap_or("ok"),
        e["message"].as_str().unwrap_or(""),
    )
}

/// Every key `account` holds, as (tenant id, key id), from the database itself.
fn keys_of(a: &TestApp, account: &str) -> Vec<(String, String)> {
    a.store
        .read(|c| {
            c.query(
                "SELECT tenant_id, id FROM api_keys WHERE account_id = ?1 ORDER BY tenant_id, id",
                keyward::params![account],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
        .unwrap()
}

fn count(a: &TestApp, sql: &str, arg: &str) -> i64 {
    a.store
        .read(|c| c.query_one(sql, keyward::params![arg], |r| r.get(0)))
        .unwrap()
}

/// Chain 1: the admin of tenant B invites the e-mail of someone in tenant A
/// and accepts the token themselves, to get a key for the existing account.
#[test]
fn an_invitation_never_hands_out_an_existing_account() {
    let a = spawn_app();
    let victim = a.admin_id.clone(); // admin@localhost: TENANT_ADMIN of A and server admin
    let victim_keys = keys_of(&a, &victim);
    let (b_tenant, _, b_key) = a.other_tenant("b");
    let b_robot = a.service_account(&b_key, "b robot");
    let (_, b_robot_key) = a.create_key(&b_key, &b_robot, "b robot key");

    // 1. Inviting an e-mail is allowed: it says nothing about the account.
    let inv = a.ok(
        &b_key,
        INVITE,
        input(json!({ "email": "Admin@Localhost", "role": "TENANT_ADMIN" })),
    );
    let token = inv["create_membership_invitation"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let accept = |key: Option<&str>| {
        let r = a.gql_with(
            key,
            &[],
            ACCEPT,
            input(json!({ "token": token, "key_name": "stolen" })),
        );
        r.json()
    };

    // 2. Accepting without a key used to add the existing account to B and
    //    hand out its key. Now: refused, and the token is not used up.
    let anonymous = accept(None);
    assert_eq!(
        error(&anonymous),
        (
            "UNAUTHENTICATED",
            "This invitation is for admin@localhost, who already has an account: sign in as admin@localhost to accept it (send one of that account's API keys as `Authorization: Bearer <key>`)."
        )
    );
    // 3. A key of any other account is refused too, people and robots alike.
    let with_attackers_key = accept(Some(&b_key));
    let with_robot_key = accept(Some(&b_robot_key));
    for body in [&with_attackers_key, &with_robot_key] {
        let (code, msg) = error(body);
        assert_eq!(code, "UNAUTHENTICATED", "{body}");
        assert!(msg.contains("belongs to another account"), "{body}");
    }
    // 4. The key that step 2 used to return minted a key for the victim in
    //    A; the attacker's own key cannot name the victim at all.
    let mint = a.gql(
        &b_key,
        CREATE_KEY,
        input(json!({ "user_id": victim, "name": "x", "default_tenant_id": a.tenant_id })),
    );
    assert_eq!(error(&mint), ("NOT_FOUND", "account not found"), "{mint}");
    // ...nor create tenants, which the victim (a server admin) may.
    let tenant = a.gql(
        &b_key,
        CREATE_TENANT,
        input(json!({ "name": "X", "slug": "x" })),
    );
    assert_eq!(error(&tenant).0, "FORBIDDEN", "{tenant}");

    // No key exists for the victim anywhere but where it was, and the
    // invitation is still pending.
    assert_eq!(keys_of(&a, &victim), victim_keys);
    assert_eq!(
        count(
            &a,
            "SELECT count(*) FROM memberships WHERE tenant_id = ?1",
            &b_tenant
        ),
        2,
        "B has its admin and its robot, nobody else"
    );
    let pending = a.ok(&b_key, INVITATIONS, json!({}));
    assert_eq!(
        pending["membership_invitation"][0]["accepted_at"],
        json!(null)
    );

    // 5. The invited person accepts with a key of their own: they join B
    //    with the invitation's role and get a first key bound to B.
    let own = accept(Some(&a.admin_key));
    let joined = &own["data"]["accept_membership_invitation"];
    assert_eq!(joined["user_id"], json!(victim), "{own}");
    assert_eq!(joined["tenant_id"], json!(b_tenant), "{own}");
    let b_member_key = joined["key"].as_str().unwrap();
    let me = a.ok(b_member_key, AUTH_INFO, json!({}));
    assert_eq!(me["auth_info"]["tenant_id"], json!(b_tenant));
    assert_eq!(me["auth_info"]["role"], json!("TENANT_ADMIN"));
    // Their first key still works in A only, with their role there.
    let first = a.ok(&a.admin_key, AUTH_INFO, json!({}));
    assert_eq!(first["auth_info"]["tenant_id"], json!(a.tenant_id));
    assert_eq!(keys_of(&a, &victim).len(), victim_keys.len() + 1);
    // 6. The token is now used.
    let again = accept(Some(&a.admin_key));
    assert!(
        error(&again)
            .1
            .starts_with("This invitation was already accepted"),
        "{again}"
    );
    snap!(
        "invitation_for_an_existing_account",
        json!({
            "anonymous": a.redact(&anonymous),
            "with_another_accounts_key": a.redact(&with_attackers_key),
            "with_a_service_account_key": a.redact(&with_robot_key),
            "mint_for_the_victim": a.redact(&mint),
            "with_the_invitees_key": a.redact(&own),
            "again": a.redact(&again),
        })
    );
}

/// Chain 2: Bob is TENANT_ADMIN of B and READ_ONLY_USER of A. His B key's
/// admin role must not act on A, and his A key stays read-only.
#[test]
fn admin_rights_in_one_tenant_never_act_on_another() {
    let a = spawn_app();
    let (b_tenant, bob, bob_b) = a.other_tenant("b");
    let bob_a = a.join("admin@b", &a.tenant_id, Role::ReadOnlyUser);
    let bob_in_a = a.membership_of(&bob);
    let keys_before = keys_of(&a, &bob);
    let t = &a.tenant_id;

    let attempts: Vec<(&str, &str, &str, Value)> = vec![
        (
            "b_key_creates_a_service_account_in_a",
            &bob_b,
            CREATE_SERVICE_ACCOUNT,
            input(json!({ "name": "x", "tenant_id": t })),
        ),
        (
            "b_key_invites_an_admin_to_a",
            &bob_b,
            INVITE,
            input(json!({ "tenant_id": t, "email": "mallory@b", "role": "TENANT_ADMIN" })),
        ),
        (
            // Used to answer CONFLICT "already a member": an existence oracle.
            "b_key_invites_an_existing_member_of_a",
            &bob_b,
            INVITE,
            input(json!({ "tenant_id": t, "email": "admin@localhost" })),
        ),
        (
            "b_key_mints_bob_a_key_in_a",
            &bob_b,
            CREATE_KEY,
            input(json!({ "user_id": bob, "name": "x", "default_tenant_id": t })),
        ),
        (
            "b_key_promotes_bob_in_a",
            &bob_b,
            SET_ROLE,
            input(json!({ "membership_id": bob_in_a, "role": "TENANT_ADMIN" })),
        ),
        (
            "a_key_creates_a_service_account",
            &bob_a,
            CREATE_SERVICE_ACCOUNT,
            input(json!({ "name": "x" })),
        ),
        (
            "a_key_invites",
            &bob_a,
            INVITE,
            input(json!({ "email": "mallory@b", "role": "TENANT_ADMIN" })),
        ),
        (
            "a_key_mints_bob_a_key_in_b",
            &bob_a,
            CREATE_KEY,
            input(json!({ "user_id": bob, "name": "x", "default_tenant_id": b_tenant })),
        ),
        (
            "a_key_promotes_itself",
            &bob_a,
            SET_ROLE,
            input(json!({ "membership_id": bob_in_a, "role": "TENANT_ADMIN" })),
        ),
    ];
    let mut out = serde_json::Map::new();
    for (name, key, query, vars) in attempts {
        let body = a.gql(key, query, vars);
        let (code, _) = error(&body);
        assert!(
            code == "FORBIDDEN" || code == "NOT_FOUND",
            "{name} was not refused: {body}"
        );
        out.insert(name.to_owned(), a.redact(&body));
    }
    snap!("cross_tenant_escalation", Value::Object(out));

    // Nothing changed in A, and Bob holds the same keys as before.
    assert_eq!(
        a.ok(&a.admin_key, SERVICE_ACCOUNTS, json!({}))["service_account"],
        json!([])
    );
    assert_eq!(
        a.ok(&a.admin_key, INVITATIONS, json!({}))["membership_invitation"],
        json!([])
    );
    let members = a.ok(&a.admin_key, MEMBERS, json!({}));
    let bob_row = members["membership"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"]["id"] == json!(bob))
        .unwrap();
    assert_eq!(bob_row["role"], json!("READ_ONLY_USER"));
    assert_eq!(keys_of(&a, &bob), keys_before);
    // What Bob's B key may still do: list the tenants he belongs to.
    let tenants = a.ok(&bob_b, crate::helpers::TENANTS, json!({}));
    assert_eq!(tenants["tenant"].as_array().unwrap().len(), 2);
}

/// Existence is never checked before visibility: an account of another
/// tenant and an account that does not exist answer byte for byte alike,
/// whatever tenant the input names.
#[test]
fn a_hidden_account_answers_as_a_missing_one_whatever_else_is_given() {
    let w = world();
    let a = &w.app;
    let missing = uuid::Uuid::new_v4().to_string();
    let random_tenant = uuid::Uuid::new_v4().to_string();
    let ask = |user: &str, tenant: Option<&str>| {
        let mut i = json!({ "user_id": user, "name": "x" });
        if let Some(t) = tenant {
            i["default_tenant_id"] = json!(t);
        }
        a.gql_with(Some(&a.admin_key), &[], CREATE_KEY, input(i))
            .text
    };
    let reference = ask(&missing, None);
    assert!(reference.contains("account not found"), "{reference}");
    for (user, tenant) in [
        (&w.other_sa_id, Some(random_tenant.as_str())),
        (&w.other_sa_id, Some(w.other_tenant_id.as_str())),
        (&w.other_sa_id, None),
        (&missing, Some(random_tenant.as_str())),
        (&missing, Some(w.other_tenant_id.as_str())),
    ] {
        assert_eq!(ask(user, tenant), reference, "{user} in {tenant:?}");
    }
    // A visible account with a tenant the caller may not see, or that does
    // not exist: one answer as well.
    let hidden_tenant = ask(&a.admin_id, Some(&w.other_tenant_id));
    assert!(
        hidden_tenant.contains("tenant not found"),
        "{hidden_tenant}"
    );
    assert_eq!(ask(&a.admin_id, Some(&random_tenant)), hidden_tenant);
}

/// A tenant's creator gets the one key that acts there; the calling key
/// stays bound to its own tenant.
#[test]
fn a_new_tenants_creator_gets_its_first_key_and_nothing_else_crosses() {
    let a = spawn_app();
    let d = a.ok(
        &a.admin_key,
        "mutation($input: create_tenant_input!) { create_tenant(input: $input) { id key } }",
        input(json!({ "name": "Ops", "slug": "ops" })),
    );
    let ops = d["create_tenant"]["id"].as_str().unwrap().to_owned();
    let key = d["create_tenant"]["key"].as_str().unwrap().to_owned();
    let me = a.ok(&key, AUTH_INFO, json!({}));
    assert_eq!(me["auth_info"]["tenant_id"], json!(ops));
    assert_eq!(me["auth_info"]["role"], json!("TENANT_ADMIN"));
    // The Default key cannot mint there, even for its own owner.
    let mint = a.gql(
        &a.admin_key,
        CREATE_KEY,
        input(json!({ "user_id": a.admin_id, "name": "x", "default_tenant_id": ops })),
    );
    assert_eq!(error(&mint).0, "FORBIDDEN", "{mint}");
    assert_eq!(
        mint["errors"][0]["extensions"]["policies"],
        json!(["keys-in-own-tenant"])
    );
    // With the Ops key, it can.
    let (_, ops_key) = {
        let d = a.ok(
            &key,
            CREATE_KEY,
            input(json!({ "user_id": a.admin_id, "name": "ops laptop" })),
        );
        (
            d["create_api_key"]["id"].clone(),
            d["create_api_key"]["key"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(
        a.ok(&ops_key, AUTH_INFO, json!({}))["auth_info"]["tenant_id"],
        json!(ops)
    );
}

/// Two Authorization headers are refused, not resolved first-wins.
#[test]
fn two_authorization_headers_are_refused() {
    let a = spawn_app();
    let bearer = format!("Bearer {}", a.admin_key);
    let two = [
        ("authorization", bearer.as_str()),
        ("authorization", bearer.as_str()),
    ];
    let r = a.post(
        "/graphql",
        &two,
        "application/json",
        &json!({ "query": AUTH_INFO }).to_string(),
    );
    assert_eq!(r.status, 200);
    let body = r.json();
    assert_eq!(error(&body).0, "UNAUTHENTICATED", "{body}");
    assert!(
        error(&body)
            .1
            .contains("More than one Authorization header"),
        "{body}"
    );
    assert!(
        body.get("data").is_none() || body["data"].is_null(),
        "{body}"
    );
    let v = a.get_with("/auth/verify", &two);
    assert_eq!(v.status, 401);
    assert!(
        v.headers["www-authenticate"].contains("More than one Authorization header"),
        "{:?}",
        v.headers
    );
    // One header still works.
    assert_eq!(
        a.get_with("/auth/verify", &[("authorization", &bearer)])
            .status,
        200
    );
}

/// Every mutation only a tenant admin may make, on the world's tenant:
/// (name, document, variables); `SELF` in the variables stands for the
/// caller's own membership.
pub fn admin_mutations(w: &crate::world::World) -> Vec<(&'static str, &'static str, Value)> {
    let a = &w.app;
    let admin_membership = a.membership_of(&a.admin_id);
    let inv = a.ok(
        &a.admin_key,
        INVITE,
        input(json!({ "email": "new@default" })),
    );
    let inv_id = inv["create_membership_invitation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    a.label(&inv_id, "invitation");
    vec![
        (
            "create_service_account",
            crate::helpers::CREATE_SERVICE_ACCOUNT,
            input(json!({ "name": "n" })),
        ),
        (
            "delete_service_account",
            DELETE_SERVICE_ACCOUNT,
            input(json!({ "user_id": w.sa_id })),
        ),
        (
            "update_service_account",
            RENAME_SERVICE_ACCOUNT,
            input(json!({ "user_id": w.sa_id, "name": "n" })),
        ),
        (
            "create_api_key_for_service_account",
            CREATE_KEY,
            input(json!({ "user_id": w.sa_id, "name": "n" })),
        ),
        (
            "create_tenant",
            CREATE_TENANT,
            input(json!({ "name": "N", "slug": "n" })),
        ),
        (
            "create_membership_invitation",
            INVITE,
            input(json!({ "email": "x@default", "role": "TENANT_ADMIN" })),
        ),
        (
            "delete_membership_invitation",
            crate::helpers::DELETE_INVITATION,
            input(json!({ "invitation_id": inv_id })),
        ),
        (
            "set_own_role",
            SET_ROLE,
            input(json!({ "membership_id": "SELF", "role": "TENANT_ADMIN" })),
        ),
        (
            "set_admins_role",
            SET_ROLE,
            input(json!({ "membership_id": admin_membership, "role": "USER" })),
        ),
        (
            "delete_admins_membership",
            DELETE_MEMBERSHIP,
            input(json!({ "membership_id": admin_membership })),
        ),
    ]
}

#[test]
fn every_admin_mutation_refused_to_users_and_read_only_users() {
    let w = world();
    let a = &w.app;
    let attempts = admin_mutations(&w);
    let mut out = serde_json::Map::new();
    for (caller, key, me) in [
        ("user", &w.user_key, &w.user_id),
        ("readonly", &w.readonly_key, &w.readonly_id),
    ] {
        let own = a.membership_of(me);
        let mut per = serde_json::Map::new();
        for (name, query, vars) in &attempts {
            let vars: Value =
                serde_json::from_str(&vars.to_string().replace("SELF", &own)).unwrap();
            let body = a.gql(key, query, vars);
            let code = body["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or("ok");
            assert!(
                code == "FORBIDDEN" || code == "NOT_FOUND",
                "{caller} {name}: {body}"
            );
            per.insert(name.to_string(), a.redact(&body));
        }
        out.insert(caller.to_owned(), Value::Object(per));
    }
    snap!("admin_mutations_refused", Value::Object(out));
    // Nothing changed.
    let members = a.ok(&a.admin_key, MEMBERS, json!({}));
    let roles: Vec<_> = members["membership"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        roles.iter().filter(|r| *r == "TENANT_ADMIN").count(),
        2,
        "admin + robot: {members}"
    );
    let invs = a.ok(&a.admin_key, INVITATIONS, json!({}));
    assert_eq!(invs["membership_invitation"][0]["revoked_at"], json!(null));
    assert!(
        a.ok(&a.admin_key, SERVICE_ACCOUNTS, json!({}))["service_account"][0]["name"]
            == json!("robot")
    );
}

#[test]
fn ids_from_another_tenant_are_not_found_and_change_nothing() {
    let w = world();
    let a = &w.app;
    let other_admin_membership = {
        let d = a.ok(&w.other_key, MEMBERS, json!({}));
        d["membership"][0]["id"].as_str().unwrap().to_owned()
    };
    let other_inv = a.ok(&w.other_key, INVITE, input(json!({ "email": "x@other" })));
    let other_inv_id = other_inv["create_membership_invitation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let t = &w.other_tenant_id;
    let attempts: Vec<(&str, &str, Value)> = vec![
        (
            "set_membership_role",
            SET_ROLE,
            input(json!({ "membership_id": other_admin_membership, "role": "USER" })),
        ),
        (
            "delete_membership",
            DELETE_MEMBERSHIP,
            input(json!({ "membership_id": other_admin_membership })),
        ),
        (
            "delete_membership_invitation",
            crate::helpers::DELETE_INVITATION,
            input(json!({ "invitation_id": other_inv_id })),
        ),
        (
            "create_membership_invitation",
            INVITE,
            input(json!({ "tenant_id": t, "email": "y@other" })),
        ),
        (
            "update_service_account",
            RENAME_SERVICE_ACCOUNT,
            input(json!({ "user_id": w.other_sa_id, "name": "n" })),
        ),
        (
            "create_service_account",
            crate::helpers::CREATE_SERVICE_ACCOUNT,
            input(json!({ "tenant_id": t, "name": "n" })),
        ),
    ];
    let mut out = serde_json::Map::new();
    for (name, query, vars) in attempts {
        let body = a.gql(&a.admin_key, query, vars);
        assert_eq!(
            body["errors"][0]["extensions"]["code"],
            json!("NOT_FOUND"),
            "{name}: {body}"
        );
        out.insert(name.to_owned(), a.redact(&body));
    }
    // Lists scoped to another tenant come back empty.
    for (name, query) in [
        ("membership", MEMBERS),
        ("membership_invitation", INVITATIONS),
        ("service_account", SERVICE_ACCOUNTS),
    ] {
        let d = a.ok(&a.admin_key, query, json!({ "t": t }));
        assert_eq!(d[name], json!([]), "{name}");
    }
    snap!("cross_tenant_ids", Value::Object(out));
    let d = a.ok(&w.other_key, MEMBERS, json!({}));
    assert_eq!(d["membership"][0]["role"], json!("TENANT_ADMIN"));
    let d = a.ok(&w.other_key, INVITATIONS, json!({}));
    assert_eq!(d["membership_invitation"][0]["revoked_at"], json!(null));
}
