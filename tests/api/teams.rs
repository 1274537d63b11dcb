//! Tenants, members and roles, service-account management (issue: teams).
use serde_json::{Value, json};

use crate::helpers::{
    AUTH_INFO, CREATE_KEY, CREATE_TENANT, DELETE_MEMBERSHIP, DELETE_SA, INVITATIONS, INVITE,
    MEMBERS, RENAME_SA, SERVICE_ACCOUNTS, SET_ROLE,
};
use crate::snap;
use crate::world::world;

fn input(v: Value) -> Value {
    json!({ "input": v })
}

#[test]
fn every_admin_mutation_refused_to_users_and_read_only_users() {
    let w = world();
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
    let attempts: Vec<(&str, &str, Value)> = vec![
        (
            "create_service_account",
            crate::helpers::CREATE_SA,
            input(json!({ "name": "n" })),
        ),
        (
            "delete_service_account",
            DELETE_SA,
            input(json!({ "user_id": w.sa_id })),
        ),
        (
            "update_service_account",
            RENAME_SA,
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
    ];
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
            RENAME_SA,
            input(json!({ "user_id": w.other_sa_id, "name": "n" })),
        ),
        (
            "create_service_account",
            crate::helpers::CREATE_SA,
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

#[test]
fn members_and_roles() {
    let w = world();
    let a = &w.app;
    snap!(
        "membership_list",
        a.redact(&a.gql(&w.readonly_key, MEMBERS, json!({})))
    );
    let user_m = a.membership_of(&w.user_id);
    let promoted = a.gql(
        &a.admin_key,
        SET_ROLE,
        input(json!({ "membership_id": user_m, "role": "TENANT_ADMIN" })),
    );
    snap!("set_membership_role", a.redact(&promoted));
    // The key carries the new role from its next request.
    let me = a.ok(&w.user_key, AUTH_INFO, json!({}));
    assert_eq!(me["auth_info"]["role"], json!("TENANT_ADMIN"));
    a.ok(
        &w.user_key,
        crate::helpers::CREATE_SA,
        input(json!({ "name": "by promoted user" })),
    );
}

#[test]
fn the_last_admin_cannot_be_demoted_or_removed() {
    let w = world();
    let a = &w.app;
    let admin_m = a.membership_of(&a.admin_id);
    // The robot is a TENANT_ADMIN too, but only people count.
    let demote = a.gql(
        &a.admin_key,
        SET_ROLE,
        input(json!({ "membership_id": admin_m, "role": "USER" })),
    );
    let remove = a.gql(
        &a.admin_key,
        DELETE_MEMBERSHIP,
        input(json!({ "membership_id": admin_m })),
    );
    snap!(
        "last_admin",
        json!({ "demote": a.redact(&demote), "remove": a.redact(&remove) })
    );
    assert_eq!(
        a.ok(&a.admin_key, AUTH_INFO, json!({}))["auth_info"]["role"],
        json!("TENANT_ADMIN")
    );
    // With a second admin, the first may step down.
    let user_m = a.membership_of(&w.user_id);
    a.ok(
        &a.admin_key,
        SET_ROLE,
        input(json!({ "membership_id": user_m, "role": "TENANT_ADMIN" })),
    );
    a.ok(
        &a.admin_key,
        SET_ROLE,
        input(json!({ "membership_id": admin_m, "role": "USER" })),
    );
    assert_eq!(
        a.ok(&a.admin_key, AUTH_INFO, json!({}))["auth_info"]["role"],
        json!("USER")
    );
}

#[test]
fn removing_a_member_revokes_its_keys_for_that_tenant_only() {
    let w = world();
    let a = &w.app;
    // user@default is also a member of the other tenant, with a key there.
    let other_key = a.join(
        "user@default",
        &w.other_tenant_id,
        keyward::domain::model::Role::User,
    );
    let user_m = a.membership_of(&w.user_id);
    let out = json!({
        "delete_membership": a.redact(&a.gql(&a.admin_key, DELETE_MEMBERSHIP, input(json!({ "membership_id": user_m })))),
        "removed_members_key": a.redact(&a.gql(&w.user_key, AUTH_INFO, json!({}))),
    });
    snap!("delete_membership", out);
    a.ok(&other_key, AUTH_INFO, json!({}));
    let members = a.ok(&a.admin_key, MEMBERS, json!({})).to_string();
    assert!(!members.contains(&w.user_id));
}

#[test]
fn a_member_may_leave_and_a_service_account_membership_is_not_removable() {
    let w = world();
    let a = &w.app;
    let own = a.membership_of(&w.readonly_id);
    a.ok(
        &w.readonly_key,
        DELETE_MEMBERSHIP,
        input(json!({ "membership_id": own })),
    );
    let sa_m = a.membership_of(&w.sa_id);
    let body = a.gql(
        &a.admin_key,
        DELETE_MEMBERSHIP,
        input(json!({ "membership_id": sa_m })),
    );
    snap!("delete_service_account_membership", a.redact(&body));
}

#[test]
fn service_accounts_listed_renamed_and_deleted() {
    let w = world();
    let a = &w.app;
    let out = json!({
        "admin_sees_keys": a.redact(&a.gql(&a.admin_key, SERVICE_ACCOUNTS, json!({}))),
        "user_sees_no_keys": a.redact(&a.gql(&w.user_key, SERVICE_ACCOUNTS, json!({}))),
        "rename": a.redact(&a.gql(&a.admin_key, RENAME_SA, input(json!({ "user_id": w.sa_id, "name": "deploy bot" })))),
        "rename_empty": a.redact(&a.gql(&a.admin_key, RENAME_SA, input(json!({ "user_id": w.sa_id, "name": "" })))),
    });
    snap!("service_account_management", out);
    a.ok(
        &a.admin_key,
        DELETE_SA,
        input(json!({ "user_id": w.sa_id })),
    );
    assert_eq!(
        a.ok(&a.admin_key, SERVICE_ACCOUNTS, json!({}))["service_account"],
        json!([])
    );
    assert_eq!(a.code(&w.sa_key, AUTH_INFO, json!({})), "UNAUTHENTICATED");
}

#[test]
fn server_admins_create_tenants() {
    let w = world();
    let a = &w.app;
    let made = a.gql(
        &a.admin_key,
        "mutation($input: create_tenant_input!) { create_tenant(input: $input) { id name slug key } }",
        input(json!({ "name": "Research", "slug": "research" })),
    );
    let tenant_id = made["data"]["create_tenant"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    a.label(&tenant_id, "tenant research");
    let out = json!({
        "server_admin": a.redact(&made),
        "duplicate_slug": a.redact(&a.gql(&a.admin_key, CREATE_TENANT, input(json!({ "name": "R", "slug": "research" })))),
        "bad_slug": a.redact(&a.gql(&a.admin_key, CREATE_TENANT, input(json!({ "name": "R", "slug": "Not A Slug" })))),
        "tenant_admin_not_server_admin": a.redact(&a.gql(&w.other_key, CREATE_TENANT, input(json!({ "name": "X", "slug": "x" })))),
        "service_account": a.redact(&a.gql(&w.sa_key, CREATE_TENANT, input(json!({ "name": "Y", "slug": "y" })))),
    });
    snap!("create_tenant", out);
    // The creator administers it, with the first key it got for it.
    let key = made["data"]["create_tenant"]["key"].as_str().unwrap();
    let me = a.ok(key, AUTH_INFO, json!({}));
    assert_eq!(
        (
            me["auth_info"]["tenant_id"].as_str(),
            me["auth_info"]["role"].as_str()
        ),
        (Some(tenant_id.as_str()), Some("TENANT_ADMIN"))
    );
}
