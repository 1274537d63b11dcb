//! The GraphQL documents the keyward CLI sends; the black-box tests send the
//! same ones (the web console keeps its own, in src/console/api.js, and a
//! test checks those against the schema). List documents take an optional
//! `$t` (a tenant id; null: the calling key's tenant); mutations `$input`.

pub const AUTH_INFO: &str =
    "{ auth_info { user_id tenant_id api_key_id role account_type expires_at } }";
pub const TENANTS: &str = "{ tenant(order_by: {slug: asc}) { id name slug } }";
pub const TENANT_BY_ID: &str =
    "query($id: uuid) { tenant(where: {id: {_eq: $id}}) { id slug name } }";
pub const CREATE_TENANT: &str =
    "mutation($input: create_tenant_input!) { create_tenant(input: $input) { id name slug } }";

pub const LIST_KEYS: &str = "{ auth_api_key(order_by: {created: desc}) { id name expires_at user_id default_tenant_id created created_by { id } last_used_at role disabled_at replaced_by grace_until } }";
pub const CREATE_KEY: &str =
    "mutation($input: create_api_key_input!) { create_api_key(input: $input) { id token key } }";
pub const ROTATE_KEY: &str = "mutation($input: rotate_api_key_input!) { rotate_api_key(input: $input) { id token key old_key_works_until } }";
pub const UPDATE_KEY: &str = "mutation($input: update_api_key_input!) { update_api_key(input: $input) { id name disabled_at } }";
/// A page of the audit log: `$where` as `audit_event_bool_exp`.
pub const AUDIT: &str = "query($where: audit_event_bool_exp, $limit: Int) { audit_event(where: $where, limit: $limit) { id at request_id actor_key_id actor_account_id tenant_id action resource_type resource_id outcome determining_policies details message } }";
pub const DELETE_KEY: &str =
    "mutation($input: delete_api_key_input!) { delete_api_key(input: $input) { success } }";

/// One page of 100 (`$offset`: where it starts), each with its first keys.
pub const SERVICE_ACCOUNTS: &str = "query($t: uuid, $offset: Int) { service_account(where: {tenant_id: {_eq: $t}}, limit: 100, offset: $offset) { id name tenant_id role created api_keys { id name expires_at last_used_at } } }";
pub const CREATE_SERVICE_ACCOUNT: &str = "mutation($input: create_service_account_input!) { create_service_account(input: $input) { id account_type name email tenant_id } }";
pub const RENAME_SERVICE_ACCOUNT: &str = "mutation($input: update_service_account_input!) { update_service_account(input: $input) { id name } }";
pub const DELETE_SERVICE_ACCOUNT: &str = "mutation($input: delete_service_account_input!) { delete_service_account(input: $input) { success } }";

pub const MEMBERS: &str = "query($t: uuid) { membership(where: {tenant_id: {_eq: $t}}) { id role tenant_id user { id name email account_type } } }";
pub const SET_ROLE: &str = "mutation($input: set_membership_role_input!) { set_membership_role(input: $input) { id role user { id } } }";
pub const DELETE_MEMBERSHIP: &str =
    "mutation($input: delete_membership_input!) { delete_membership(input: $input) { success } }";

pub const INVITATIONS: &str = "query($t: uuid) { membership_invitation(where: {tenant_id: {_eq: $t}}) { id email role tenant_id created created_by { id } expires_at accepted_at revoked_at } }";
pub const INVITE: &str = "mutation($input: create_membership_invitation_input!) { create_membership_invitation(input: $input) { id token expires_at } }";
pub const DELETE_INVITATION: &str = "mutation($input: delete_membership_invitation_input!) { delete_membership_invitation(input: $input) { success } }";
pub const ACCEPT: &str = "mutation($input: accept_membership_invitation_input!) { accept_membership_invitation(input: $input) { user_id tenant_id key } }";

pub const WEBHOOKS: &str =
    "{ webhook { id tenant_id url description events created created_by { id } } }";
pub const CREATE_WEBHOOK: &str = "mutation($input: create_webhook_input!) { create_webhook(input: $input) { id secret url description events created } }";
pub const DELETE_WEBHOOK: &str =
    "mutation($input: delete_webhook_input!) { delete_webhook(input: $input) { success } }";
/// A page of deliveries: `$where` as `webhook_delivery_bool_exp`.
pub const DELIVERIES: &str = "query($where: webhook_delivery_bool_exp, $limit: Int) { webhook_delivery(where: $where, limit: $limit) { id webhook_id event status attempts next_attempt_at last_attempt_at last_status_code last_error created delivered_at payload } }";
pub const REDELIVER: &str = "mutation($input: redeliver_webhook_delivery_input!) { redeliver_webhook_delivery(input: $input) { id status next_attempt_at } }";
pub const REPORT_LEAKS: &str = "mutation($input: report_leaked_api_keys_input!) { report_leaked_api_keys(input: $input) { results { token_hash label revoked } } }";
