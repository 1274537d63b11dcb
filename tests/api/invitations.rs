//! The invitation lifecycle: invite, list, accept once, expiry, revocation.
use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::{ACCEPT, AUTH_INFO, DELETE_INVITATION, INVITATIONS, INVITE, TestApp};
use crate::snap;
use crate::world::world;

fn invite(a: &TestApp, key: &str, v: Value) -> (String, String) {
    let d = a.ok(key, INVITE, json!({ "input": v }));
    let inv = &d["create_membership_invitation"];
    (
        inv["id"].as_str().unwrap().to_owned(),
        inv["token"].as_str().unwrap().to_owned(),
    )
}

fn accept(a: &TestApp, token: &str) -> Value {
    a.anonymous(
        ACCEPT,
        json!({ "input": { "token": token, "key_name": "laptop" } }),
    )
}

#[test]
fn invite_accept_once_and_use_the_key() {
    let w = world();
    let a = &w.app;
    let created = a.gql(
        &a.admin_key,
        INVITE,
        json!({ "input": { "email": "New@Default", "role": "READ_ONLY_USER" } }),
    );
    let token = created["data"]["create_membership_invitation"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(token.starts_with("kwi_"));
    a.label(
        created["data"]["create_membership_invitation"]["id"]
            .as_str()
            .unwrap(),
        "invitation",
    );
    let listed = a.gql(&a.admin_key, INVITATIONS, json!({}));
    assert!(
        !listed.to_string().contains(&token[4..]),
        "a list never shows the token"
    );
    // An invitation is not an API key.
    let as_bearer = a.gql(&token, AUTH_INFO, json!({}));
    let accepted = accept(a, &token);
    let key = accepted["data"]["accept_membership_invitation"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let user_id = accepted["data"]["accept_membership_invitation"]["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    a.label(&user_id, "new@default");
    let me = a.gql(&key, AUTH_INFO, json!({}));
    let again = accept(a, &token);
    let after = a.gql(&a.admin_key, INVITATIONS, json!({}));
    snap!(
        "invitation_lifecycle",
        json!({
            "create": a.redact(&created),
            "list": a.redact(&listed),
            "used_as_bearer": a.redact(&as_bearer),
            "accept": a.redact(&accepted),
            "new_members_auth_info": a.redact(&me),
            "accept_again": a.redact(&again),
            "list_after": a.redact(&after),
        })
    );
    assert_eq!(me["data"]["auth_info"]["role"], json!("READ_ONLY_USER"));
    assert_eq!(
        again["errors"][0]["extensions"]["code"],
        json!("UNAUTHENTICATED")
    );
}

#[test]
fn late_revoked_and_wrong_tokens_fail_clearly() {
    let w = world();
    let a = &w.app;
    let (_, late) = invite(a, &a.admin_key, json!({ "email": "late@default" }));
    let (revoked_id, revoked) = invite(a, &a.admin_key, json!({ "email": "revoked@default" }));
    let revoke = a.gql(
        &a.admin_key,
        DELETE_INVITATION,
        json!({ "input": { "invitation_id": revoked_id } }),
    );
    a.clock.advance(Duration::days(7) - Duration::seconds(1));
    let (_, fresh) = invite(a, &a.admin_key, json!({ "email": "fresh@default" }));
    a.clock.advance(Duration::seconds(2));
    let random = keyward::domain::api_key::Token::invitation();
    let out = json!({
        "revoke": a.redact(&revoke),
        "revoked": a.redact(&accept(a, &revoked)),
        "expired": a.redact(&accept(a, &late)),
        "unknown": a.redact(&accept(a, random.expose())),
        "not_a_token": a.redact(&accept(a, "let me in")),
        "an_api_key": a.redact(&accept(a, &a.admin_key)),
    });
    snap!("invitation_refusals", out);
    // One that is still within its 7 days works.
    let ok = accept(a, &fresh);
    assert!(ok.get("errors").is_none(), "{ok}");
}

#[test]
fn an_existing_user_joins_a_second_tenant_with_their_own_key() {
    let w = world();
    let a = &w.app;
    let (_, token) = invite(
        a,
        &w.other_key,
        json!({ "email": "user@default", "role": "TENANT_ADMIN" }),
    );
    // Not without a key: the account exists, so its owner must sign in.
    let anonymous = accept(a, &token);
    assert_eq!(
        anonymous["errors"][0]["extensions"]["code"],
        json!("UNAUTHENTICATED")
    );
    let d = a.gql(
        &w.user_key,
        ACCEPT,
        json!({ "input": { "token": token, "key_name": "laptop" } }),
    );
    let joined = &d["data"]["accept_membership_invitation"];
    assert_eq!(
        joined["user_id"],
        json!(w.user_id),
        "the same account, not a new one"
    );
    assert_eq!(joined["tenant_id"], json!(w.other_tenant_id));
    let me = a.ok(joined["key"].as_str().unwrap(), AUTH_INFO, json!({}));
    assert_eq!(me["auth_info"]["role"], json!("TENANT_ADMIN"));
    // The first key is still bound to the first tenant, with its own role.
    assert_eq!(
        a.ok(&w.user_key, AUTH_INFO, json!({}))["auth_info"]["role"],
        json!("USER")
    );
    // Inviting someone who is already a member is refused.
    let dup = a.gql(
        &a.admin_key,
        INVITE,
        json!({ "input": { "email": "user@default" } }),
    );
    snap!("invite_existing_member", a.redact(&dup));
}
