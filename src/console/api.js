// The GraphQL API: the documents the console sends, and one request.

const KEY_FIELDS = 'id name user_id default_tenant_id created expires_at last_used_at role disabled_at replaced_by grace_until';

export const Q = {
  whoami: `{
    auth_info { user_id tenant_id api_key_id role account_type expires_at }
    tenant(order_by: [{ name: asc }]) { id name slug }
  }`,
  members: `{ membership { id role user { id name email account_type } } }`,
  myKeys: `query ($me: uuid!) {
    auth_api_key(where: { user_id: { _eq: $me } }, order_by: [{ created: desc }]) { ${KEY_FIELDS} } }`,
  serviceAccounts: `{ service_account { id name role created api_keys { ${KEY_FIELDS} } } }`,
  invitations: `{ membership_invitation { id email role created expires_at accepted_at revoked_at } }`,
  createKey: `mutation ($input: create_api_key_input!) { create_api_key(input: $input) { id key } }`,
  deleteKey: `mutation ($input: delete_api_key_input!) { delete_api_key(input: $input) { success } }`,
  rotateKey: `mutation ($input: rotate_api_key_input!) {
    rotate_api_key(input: $input) { id key old_key_works_until } }`,
  updateKey: `mutation ($input: update_api_key_input!) { update_api_key(input: $input) { id disabled_at } }`,
  audit: `query ($where: audit_event_bool_exp) {
    audit_event(where: $where, limit: 100) {
      id at actor_key_id action resource_type resource_id outcome determining_policies details message } }`,
  createServiceAccount: `mutation ($input: create_service_account_input!) {
    create_service_account(input: $input) { id name } }`,
  deleteServiceAccount: `mutation ($input: delete_service_account_input!) {
    delete_service_account(input: $input) { success } }`,
  setRole: `mutation ($input: set_membership_role_input!) { set_membership_role(input: $input) { id role } }`,
  deleteMembership: `mutation ($input: delete_membership_input!) { delete_membership(input: $input) { success } }`,
  invite: `mutation ($input: create_membership_invitation_input!) {
    create_membership_invitation(input: $input) { id token expires_at } }`,
  deleteInvitation: `mutation ($input: delete_membership_invitation_input!) {
    delete_membership_invitation(input: $input) { success } }`,
  webhooks: `{ webhook { id url description events created } }`,
  deliveries: `{ webhook_delivery(limit: 50) {
    id webhook_id event status attempts last_status_code last_error created delivered_at } }`,
  createWebhook: `mutation ($input: create_webhook_input!) {
    create_webhook(input: $input) { id secret } }`,
  deleteWebhook: `mutation ($input: delete_webhook_input!) { delete_webhook(input: $input) { success } }`,
  redeliver: `mutation ($input: redeliver_webhook_delivery_input!) {
    redeliver_webhook_delivery(input: $input) { id status } }`,
  acceptInvitation: `mutation ($input: accept_membership_invitation_input!) {
    accept_membership_invitation(input: $input) { key } }`,
};

export class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

/** One GraphQL request; errors become an ApiError with the server's message. */
export async function request(query, variables, key) {
  const headers = { 'content-type': 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  let response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers,
      body: JSON.stringify({ query, variables }),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError('The keyward server cannot be reached. Is it running?', 'NETWORK');
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`The server answered HTTP ${response.status} without a GraphQL body.`, 'HTTP');
  }
  if (body.errors?.length) {
    const [first] = body.errors;
    throw new ApiError(first.message, first.extensions?.code ?? 'ERROR');
  }
  return body.data;
}
