//! Members and roles: the list, role changes, removals, leaving, and the
//! last admin.
use serde_json::json;

use crate::helpers::{AUTH_INFO, DELETE_MEMBERSHIP, MEMBERS, SET_ROLE, input};
use crate::snap;
use crate::world::world;

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
        crate::helpers::CREATE_SERVICE_ACCOUNT,
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
