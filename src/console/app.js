// The keyward web console: plain DOM and the GraphQL API, no framework, no
// build step. The page's Content-Security-Policy forbids inline script and
// form posts, so every form is handled here and text only ever enters the
// page as text (textContent, never innerHTML).

const STORAGE_KEY = 'keyward.apiKey';
const DAY_MS = 24 * 60 * 60 * 1000;
const ROLE_LABELS = {
  TENANT_ADMIN: 'Tenant admin',
  USER: 'User',
  READ_ONLY_USER: 'Read-only user',
};
const KEY_FIELDS = 'id name user_id default_tenant_id created expires_at last_used_at';

const Q = {
  whoami: `{
    auth_info { user_id tenant_id api_key_id role account_type expires_at }
    tenant(order_by: [{ name: asc }]) { id name slug }
  }`,
  members: `{ membership { id role user { id name email account_type } } }`,
  myKeys: `{ auth_api_key(order_by: [{ created: desc }]) { ${KEY_FIELDS} } }`,
  serviceAccounts: `{ service_account { id name role created api_keys { ${KEY_FIELDS} } } }`,
  invitations: `{ membership_invitation { id email role created expires_at accepted_at revoked_at } }`,
  createKey: `mutation ($input: create_api_key_input!) { create_api_key(input: $input) { id key } }`,
  deleteKey: `mutation ($input: delete_api_key_input!) { delete_api_key(input: $input) { success } }`,
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
  acceptInvitation: `mutation ($input: accept_membership_invitation_input!) {
    accept_membership_invitation(input: $input) { key } }`,
};

// ---------------------------------------------------------------- the DOM

let idCounter = 0;
const uid = (prefix) => `${prefix}-${++idCounter}`;

/** Builds an element. Strings among the children become text nodes. */
function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value == null || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else if (name === 'class') el.className = value;
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child != null && child !== false) el.append(child);
  }
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
const TRASH = 'M9 3h6m-10 4h14m-2 0-.8 12.1A2 2 0 0 1 14.2 21H9.8a2 2 0 0 1-2-1.9L7 7m3 4v6m4-6v6';

function trashIcon() {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS(SVG_NS, 'path');
  path.setAttribute('d', TRASH);
  svg.append(path);
  return svg;
}

/** A labelled form field: the label is always tied to its control. */
function field(labelText, control, hint) {
  control.id ||= uid('f');
  const hintEl = hint && h('p', { class: 'hint', id: uid('hint') }, hint);
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, labelText), control, hintEl);
}

function select(options, value) {
  return h('select', {}, options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)));
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function when(iso, none) {
  if (!iso) return none;
  return h('time', { datetime: iso, title: iso }, dateTime.format(new Date(iso)));
}

function expires(iso) {
  if (!iso) return 'Never';
  const t = when(iso);
  return new Date(iso) <= new Date() ? h('span', { class: 'expired' }, 'Expired ', t) : t;
}

const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

let toastTimer;
/** Says something to everyone, screen readers included. */
function announce(message) {
  const status = document.getElementById('status');
  status.textContent = message;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { status.textContent = ''; }, 6000);
}

// ------------------------------------------------------------- the server

class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

/** One GraphQL request; errors become an ApiError with the server's message. */
async function request(query, variables, key) {
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

/** A request with the session's key; a key that stopped working ends the session. */
async function call(query, variables = {}) {
  try {
    return await request(query, variables, session.key);
  } catch (e) {
    if (e.code === 'UNAUTHENTICATED') signOut(`You were signed out: ${e.message}`);
    throw e;
  }
}

// --------------------------------------------------------------- session

const session = { key: null, me: null, tenants: [], name: '' };

const isAdmin = () => session.me?.role === 'TENANT_ADMIN';
const tenantName = (id) => session.tenants.find((t) => t.id === id)?.name ?? id;

async function signIn(key) {
  const data = await request(Q.whoami, {}, key);
  let name = '';
  try {
    const members = await request(Q.members, {}, key);
    const mine = members.membership.find((m) => m.user.id === data.auth_info.user_id);
    name = mine ? mine.user.email ?? mine.user.name : '';
  } catch {
    // A policy may hide the member list; the console works without a name.
  }
  Object.assign(session, { key, me: data.auth_info, tenants: data.tenant, name });
  sessionStorage.setItem(STORAGE_KEY, key);
  renderTopbar();
  if (!location.hash.startsWith('#/')) history.replaceState(null, '', '#/keys');
  await route();
}

function signOut(message) {
  sessionStorage.removeItem(STORAGE_KEY);
  Object.assign(session, { key: null, me: null, tenants: [], name: '' });
  document.querySelectorAll('dialog').forEach((d) => d.close());
  history.replaceState(null, '', location.pathname);
  renderSignIn(message);
}

// ---------------------------------------------------------------- dialogs

// Controls that a re-render replaces carry `data-focus`, so the focus can
// find their successor instead of falling back to the top of the page.
const focusName = (el) => el?.closest?.('[data-focus]')?.dataset.focus;

function refocus(name) {
  const successor = name && document.querySelector(`[data-focus="${CSS.escape(name)}"]`);
  (successor ?? document.querySelector('main h1'))?.focus();
}

/** A modal dialog that returns focus to whatever opened it. */
function modal(title) {
  const opener = document.activeElement;
  const heading = h('h2', { id: uid('dialog-title') }, title);
  const dialog = h('dialog', { 'aria-labelledby': heading.id }, heading);
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (opener?.isConnected) opener.focus();
    else refocus(focusName(opener));
  });
  document.body.append(dialog);
  return dialog;
}

/** Resolves true only when the person confirms; Cancel has the focus. */
function confirmAction({ title, message, detail, confirm }) {
  return new Promise((resolve) => {
    const dialog = modal(title);
    let confirmed = false;
    const cancel = h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel');
    const ok = h('button', {
      type: 'button',
      class: 'danger',
      onclick: () => { confirmed = true; dialog.close(); },
    }, confirm);
    dialog.append(
      h('p', { class: 'confirm-message' }, message),
      detail && h('p', { class: 'muted' }, detail),
      h('div', { class: 'actions' }, cancel, ok),
    );
    dialog.addEventListener('close', () => resolve(confirmed));
    dialog.showModal();
    cancel.focus();
  });
}

/**
 * A form handled in script (the CSP forbids posting one): its submit button
 * is disabled while `action` runs, and what `action` throws is shown in the
 * form, in the words of `explain`.
 */
function scriptForm(content, actions, action, explain = (e) => e.message) {
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', {
    onsubmit: async (event) => {
      event.preventDefault();
      const button = form.querySelector('button[type="submit"]');
      error.textContent = '';
      button.disabled = true;
      try {
        await action();
      } catch (e) {
        error.textContent = explain(e);
      } finally {
        button.disabled = false;
      }
    },
  }, content, error, actions);
  return form;
}

/** A form in a dialog: `submit` returns normally to close it or throws to show why not. */
function formDialog(title, fields, submitLabel, submit) {
  const dialog = modal(title);
  dialog.append(scriptForm(fields, h('div', { class: 'actions' },
    h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel'),
    h('button', { type: 'submit', class: 'primary' }, submitLabel)), () => submit(dialog)));
  dialog.showModal();
  return dialog;
}

/** Replaces a dialog's content with a secret, shown this once. */
function showSecret(dialog, { title, label, secret, note, then }) {
  const heading = dialog.querySelector('h2');
  heading.textContent = title;
  const input = h('input', {
    id: uid('secret'), readonly: true, class: 'secret', spellcheck: 'false', autocomplete: 'off', value: secret,
  });
  const copied = h('p', { class: 'hint', role: 'status' });
  const copy = h('button', {
    type: 'button',
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(input.value);
      } catch {
        // Without the Clipboard API (plain http to another host), fall back.
        input.select();
        if (!document.execCommand('copy')) {
          copied.textContent = 'Copying was refused: select the key and copy it by hand.';
          return;
        }
      }
      copied.textContent = 'Copied to the clipboard.';
    },
  }, 'Copy');
  const done = then
    ? h('button', { type: 'button', class: 'primary', onclick: () => { dialog.close(); then.action(); } }, then.label)
    : h('button', { type: 'button', class: 'primary', onclick: () => dialog.close() }, 'Done');
  dialog.replaceChildren(
    heading,
    h('p', { class: 'warning' }, h('strong', {}, 'Copy it now: it will not be shown again. '),
      'keyward keeps only a hash of it.'),
    note && h('p', {}, note),
    h('div', { class: 'field' }, h('label', { for: input.id }, label),
      h('div', { class: 'secret-row' }, input, copy)),
    copied,
    h('div', { class: 'actions' }, done),
  );
  input.focus();
  input.select();
}

/** Asks for a key's name, expiry and (for people) tenant, then shows the secret. */
function createKeyDialog({ ownerId, title, tenants, onCreated }) {
  const name = h('input', { required: true, maxlength: '200', autocomplete: 'off' });
  const expiry = select([['never', 'Never'], ['30', 'In 30 days'], ['90', 'In 90 days'], ['date', 'On a date']], 'never');
  const now = new Date();
  const today = [now.getFullYear(), now.getMonth() + 1, now.getDate()].map((n) => String(n).padStart(2, '0')).join('-');
  const date = h('input', { type: 'date', min: today });
  const dateField = field('Expiration date', date, 'The key stops working at the end of this day, your time.');
  dateField.hidden = true;
  expiry.addEventListener('change', () => {
    dateField.hidden = expiry.value !== 'date';
    date.required = expiry.value === 'date';
  });
  const tenant = tenants && select(tenants.map((t) => [t.id, t.name]), session.me.tenant_id);
  const fields = [
    field('Name', name, 'What the key is for, such as "laptop" or "CI".'),
    field('Expiration', expiry),
    dateField,
    tenant && field('Tenant', tenant, 'The one tenant the key works in.'),
  ];
  formDialog(title, fields, 'Create', async (dialog) => {
    let expiresAt = null;
    if (expiry.value === 'date') {
      const end = new Date(`${date.value}T23:59:59`);
      if (Number.isNaN(end.getTime())) throw new Error('Choose an expiration date.');
      expiresAt = end.toISOString();
    } else if (expiry.value !== 'never') {
      expiresAt = new Date(Date.now() + Number(expiry.value) * DAY_MS).toISOString();
    }
    const input = { user_id: ownerId, name: name.value.trim(), expires_at: expiresAt };
    if (tenant) input.default_tenant_id = tenant.value;
    const data = await call(Q.createKey, { input });
    showSecret(dialog, {
      title: 'Your new API key',
      label: 'API key',
      secret: data.create_api_key.key,
      note: `Use it as "Authorization: Bearer <key>". Its name is ${input.name}.`,
    });
    onCreated();
  });
  name.focus();
}

async function deleteKey(key, { owner, onDeleted }) {
  const current = key.id === session.me.api_key_id;
  const confirmed = await confirmAction({
    title: 'Delete API key',
    message: `Are you sure you want to delete ${key.name}?`,
    detail: current
      ? 'You are signed in with this key: deleting it signs you out.'
      : `Every client using it${owner ? ` as ${owner}` : ''} fails from its next request on.`,
    confirm: 'Delete',
  });
  if (!confirmed) return;
  await call(Q.deleteKey, { input: { key_id: key.id } });
  if (current) {
    signOut('You deleted the key you were signed in with.');
    return;
  }
  announce(`Deleted the API key ${key.name}.`);
  onDeleted();
}

/** A table of keys; `onDelete` puts a trash button on each row. */
function keysTable(keys, { caption, showTenant, onDelete }) {
  if (keys.length === 0) return h('p', { class: 'empty' }, 'No API keys.');
  const columns = ['Name', showTenant && 'Tenant', 'Created', 'Expires', 'Last used', 'Actions'].filter(Boolean);
  const rows = keys.map((k) => h('tr', { 'data-key-id': k.id },
    h('th', { scope: 'row', 'data-label': 'Name' }, k.name,
      k.id === session.me.api_key_id && [' ', h('span', { class: 'badge' }, 'this session')]),
    showTenant && h('td', { 'data-label': 'Tenant' }, tenantName(k.default_tenant_id)),
    h('td', { 'data-label': 'Created' }, when(k.created)),
    h('td', { 'data-label': 'Expires' }, expires(k.expires_at)),
    h('td', { 'data-label': 'Last used' }, when(k.last_used_at, 'Not yet')),
    h('td', { 'data-label': 'Actions' }, h('button', {
      type: 'button',
      class: 'icon',
      'data-focus': `delete-key-${k.id}`,
      'aria-label': `Delete ${k.name}`,
      title: `Delete ${k.name}`,
      onclick: (e) => guard(e.currentTarget, () => onDelete(k)),
    }, trashIcon())),
  ));
  return table(caption, columns, rows);
}

/** A table with a caption for screen readers; narrow screens stack its rows. */
function table(caption, columns, rows) {
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('caption', { class: 'sr-only' }, caption),
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows)));
}

/**
 * A button that asks first (`confirm`: confirmAction's options), then runs
 * `action`. Its accessible name adds `whom` to the visible label.
 */
function confirmingButton({ label, whom, focus, confirm, action }) {
  return h('button', {
    type: 'button',
    class: 'danger-outline',
    'data-focus': focus,
    onclick: (e) => guard(e.currentTarget, async () => {
      if (await confirmAction(confirm)) await action();
    }),
  }, label, h('span', { class: 'sr-only' }, ` ${whom}`));
}

/** Runs an action from a button, reporting a failure instead of dropping it. */
async function guard(button, action) {
  button.disabled = true;
  try {
    await action();
  } catch (e) {
    if (session.key) announce(e.message);
  } finally {
    button.disabled = false;
  }
}

// ------------------------------------------------------------------ pages

function pageHeader(title, lead, ...actions) {
  return h('div', { class: 'page-header' },
    h('div', {}, h('h1', { tabindex: '-1' }, title), lead && h('p', { class: 'lead' }, lead)),
    actions.length > 0 && h('div', { class: 'page-actions' }, actions));
}

async function keysPage() {
  const data = await call(Q.myKeys);
  const mine = data.auth_api_key.filter((k) => k.user_id === session.me.user_id);
  const create = h('button', {
    type: 'button',
    class: 'primary',
    'data-focus': 'create-key',
    onclick: () => createKeyDialog({
      ownerId: session.me.user_id,
      title: 'Create an API Key',
      tenants: session.me.account_type === 'USER' ? session.tenants : null,
      onCreated: refresh,
    }),
  }, 'Create an API Key');
  return [
    pageHeader('API Keys', 'Keys that act as you. Each works in one tenant, until it expires or you delete it.', create),
    keysTable(mine, {
      caption: 'Your API keys',
      showTenant: session.tenants.length > 1,
      onDelete: (k) => deleteKey(k, { onDeleted: refresh }),
    }),
    h('p', { class: 'hint' }, '"Last used" is written periodically (every minute by default), not on every request.'),
  ];
}

async function serviceAccountsPage() {
  const data = await call(Q.serviceAccounts);
  const create = h('button', {
    type: 'button',
    class: 'primary',
    'data-focus': 'create-service-account',
    onclick: () => {
      const name = h('input', { required: true, maxlength: '200', autocomplete: 'off' });
      const role = select(Object.entries(ROLE_LABELS), 'TENANT_ADMIN');
      formDialog('Create a service account', [
        field('Name', name, 'A name for the client it stands for, such as "ci".'),
        field('Role', role, 'Its keys carry this role, never their creator\'s.'),
      ], 'Create', async (dialog) => {
        const r = await call(Q.createServiceAccount, { input: { name: name.value.trim(), role: role.value } });
        dialog.close();
        announce(`Created the service account ${r.create_service_account.name}.`);
        refresh();
      });
      name.focus();
    },
  }, 'Create a service account');
  const accounts = data.service_account.map((sa) => {
    const keys = [...sa.api_keys].sort((a, b) => b.created.localeCompare(a.created));
    const headingId = uid('sa');
    return h('section', { class: 'card', 'aria-labelledby': headingId, 'data-account-id': sa.id },
      h('div', { class: 'card-header' },
        h('div', {},
          h('h2', { id: headingId }, sa.name),
          h('p', { class: 'muted' }, `${ROLE_LABELS[sa.role] ?? 'No role'} · ${plural(keys.length, 'API key')} · created `,
            when(sa.created))),
        h('div', { class: 'page-actions' },
          h('button', {
            type: 'button',
            'data-focus': `create-key-${sa.id}`,
            onclick: () => createKeyDialog({
              ownerId: sa.id, title: `Create an API key for ${sa.name}`, tenants: null, onCreated: refresh,
            }),
          }, 'Create an API key', h('span', { class: 'sr-only' }, ` for ${sa.name}`)),
          confirmingButton({
            label: 'Delete account',
            whom: sa.name,
            focus: `delete-account-${sa.id}`,
            confirm: {
              title: 'Delete service account',
              message: `Are you sure you want to delete ${sa.name}?`,
              detail: keys.length === 0
                ? 'It has no API keys.'
                : `Its ${plural(keys.length, 'API key')} will stop working at once.`,
              confirm: 'Delete service account',
            },
            action: async () => {
              await call(Q.deleteServiceAccount, { input: { user_id: sa.id } });
              announce(`Deleted the service account ${sa.name}.`);
              refresh();
            },
          }))),
      keysTable(keys, {
        caption: `API keys of ${sa.name}`,
        onDelete: (k) => deleteKey(k, { owner: sa.name, onDeleted: refresh }),
      }));
  });
  return [
    pageHeader('Service Accounts',
      'Accounts for programs rather than people: CI jobs, agents, other services.', create),
    accounts.length ? accounts : h('p', { class: 'empty' }, 'No service accounts yet.'),
  ];
}

async function membersPage() {
  const [members, invitations] = await Promise.all([call(Q.members), call(Q.invitations)]);
  const tenant = tenantName(session.me.tenant_id);
  const rows = members.membership.map((m) => {
    const who = m.user.email ?? m.user.name;
    const role = select(Object.entries(ROLE_LABELS), m.role);
    role.setAttribute('aria-label', `Role of ${who}`);
    role.dataset.focus = `role-${m.id}`;
    role.addEventListener('change', () => guard(role, async () => {
      try {
        await call(Q.setRole, { input: { membership_id: m.id, role: role.value } });
        announce(`${who} is now ${ROLE_LABELS[role.value].toLowerCase()}.`);
      } catch (e) {
        role.value = m.role;
        throw e;
      }
      m.role = role.value;
    }));
    return h('tr', { 'data-membership-id': m.id },
      h('th', { scope: 'row', 'data-label': 'Member' }, who,
        m.user.id === session.me.user_id && [' ', h('span', { class: 'badge' }, 'you')]),
      h('td', { 'data-label': 'Type' }, m.user.account_type === 'SERVICE' ? 'Service account' : 'Person'),
      h('td', { 'data-label': 'Role' }, role),
      h('td', { 'data-label': 'Actions' }, confirmingButton({
        label: 'Remove',
        whom: who,
        focus: `remove-${m.id}`,
        confirm: {
          title: 'Remove member',
          message: `Are you sure you want to remove ${who} from ${tenant}?`,
          detail: 'Their API keys for this tenant are revoked.',
          confirm: 'Remove',
        },
        action: async () => {
          await call(Q.deleteMembership, { input: { membership_id: m.id } });
          if (m.user.id === session.me.user_id) {
            signOut(`You left ${tenant}.`);
            return;
          }
          announce(`Removed ${who}.`);
          refresh();
        },
      })));
  });
  const invite = h('button', { type: 'button', class: 'primary', 'data-focus': 'invite', onclick: inviteDialog },
    'Invite a member');
  return [
    pageHeader('Members', `Who is in ${tenant}, and with which role.`, invite),
    table(`Members of ${tenant}`, ['Member', 'Type', 'Role', 'Actions'], rows),
    h('h2', {}, 'Invitations'),
    invitationsTable(invitations.membership_invitation),
  ];
}

function invitationStatus(inv) {
  if (inv.accepted_at) return ['Accepted ', when(inv.accepted_at)];
  if (inv.revoked_at) return ['Revoked ', when(inv.revoked_at)];
  if (new Date(inv.expires_at) <= new Date()) return ['Expired ', when(inv.expires_at)];
  return ['Pending, until ', when(inv.expires_at)];
}

function invitationsTable(invitations) {
  if (invitations.length === 0) return h('p', { class: 'empty' }, 'No invitations.');
  const rows = invitations.map((inv) => {
    const status = invitationStatus(inv);
    const pending = status[0].startsWith('Pending');
    return h('tr', { 'data-invitation-id': inv.id },
      h('th', { scope: 'row', 'data-label': 'E-mail' }, inv.email),
      h('td', { 'data-label': 'Role' }, ROLE_LABELS[inv.role]),
      h('td', { 'data-label': 'Status' }, h('span', {}, status)),
      h('td', { 'data-label': 'Actions' }, pending && confirmingButton({
        label: 'Revoke',
        whom: `the invitation for ${inv.email}`,
        focus: `revoke-${inv.id}`,
        confirm: {
          title: 'Revoke invitation',
          message: `Are you sure you want to revoke the invitation for ${inv.email}?`,
          detail: 'Its token stops working at once.',
          confirm: 'Revoke',
        },
        action: async () => {
          await call(Q.deleteInvitation, { input: { invitation_id: inv.id } });
          announce(`Revoked the invitation for ${inv.email}.`);
          refresh();
        },
      })));
  });
  return table('Invitations', ['E-mail', 'Role', 'Status', 'Actions'], rows);
}

function inviteDialog() {
  const email = h('input', { type: 'email', required: true, autocomplete: 'off' });
  const role = select(Object.entries(ROLE_LABELS), 'USER');
  formDialog('Invite a member', [field('E-mail', email), field('Role', role)], 'Invite', async (dialog) => {
    const data = await call(Q.invite, { input: { email: email.value.trim(), role: role.value } });
    const inv = data.create_membership_invitation;
    showSecret(dialog, {
      title: 'Invitation created',
      label: 'Invitation token',
      secret: inv.token,
      note: `Give it to ${email.value.trim()}: it works once, until ${dateTime.format(new Date(inv.expires_at))}, `
        + 'on this console\'s sign-in page ("Join with an invitation").',
    });
    refresh();
  });
  email.focus();
}

function notForYou() {
  return [
    pageHeader('Not available', null),
    h('p', {}, 'Team pages are for tenant admins. Ask an admin of your tenant if you need a service account or a change of role.'),
    h('p', {}, h('a', { href: '#/keys' }, 'Back to your API keys')),
  ];
}

// ------------------------------------------------------------ navigation

const PAGES = {
  '#/keys': { title: 'API Keys', render: keysPage },
  '#/team/service-accounts': { title: 'Service Accounts', render: serviceAccountsPage, admin: true },
  '#/team/members': { title: 'Members', render: membersPage, admin: true },
};

let renderCount = 0;

/** Renders the page the address names; only the latest of overlapping renders lands. */
async function route({ focus = true } = {}) {
  if (!session.key) return;
  let hash = location.hash;
  if (!PAGES[hash]) {
    hash = '#/keys';
    history.replaceState(null, '', hash);
  }
  const page = PAGES[hash];
  const mine = ++renderCount;
  const main = document.getElementById('main');
  document.title = `${page.title} · keyward`;
  for (const link of document.querySelectorAll('#topbar nav a')) {
    if (link.getAttribute('href') === hash) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  main.setAttribute('aria-busy', 'true');
  let content;
  try {
    content = page.admin && !isAdmin() ? notForYou() : await page.render();
  } catch (e) {
    if (!session.key) return;
    content = [pageHeader(page.title, null), h('p', { class: 'error', role: 'alert' }, `Could not load this page: ${e.message}`),
      h('button', { type: 'button', onclick: () => route() }, 'Try again')];
  }
  if (mine !== renderCount || !session.key) return;
  const focused = main.contains(document.activeElement) || document.activeElement === document.body;
  const had = focusName(document.activeElement);
  main.replaceChildren(...[content].flat(2));
  main.removeAttribute('aria-busy');
  if (focus) main.querySelector('h1')?.focus();
  else if (focused) refocus(had);
}

/** Re-renders the current page after a change, keeping the focus where it is. */
function refresh() {
  return route({ focus: false });
}

function renderTopbar() {
  const bar = document.getElementById('topbar');
  const link = (href, text) => h('li', {}, h('a', { href }, text));
  bar.replaceChildren(
    h('a', { class: 'brand', href: '#/keys' }, 'keyward'),
    h('nav', { 'aria-label': 'Main' }, h('ul', {},
      link('#/keys', 'API Keys'),
      isAdmin() && h('li', { class: 'group' }, h('span', { class: 'group-label', id: 'team-label' }, 'Team'),
        h('ul', { 'aria-labelledby': 'team-label' },
          link('#/team/service-accounts', 'Service Accounts'),
          link('#/team/members', 'Members'))))),
    h('div', { class: 'who' },
      h('span', {}, session.name && h('span', { class: 'who-name' }, session.name),
        h('span', { class: 'muted' }, `${tenantName(session.me.tenant_id)} · ${ROLE_LABELS[session.me.role]}`)),
      h('button', { type: 'button', onclick: () => signOut('You signed out.') }, 'Sign out')),
  );
  bar.hidden = false;
}

function renderSignIn(message) {
  document.getElementById('topbar').hidden = true;
  document.title = 'Sign in · keyward';
  const main = document.getElementById('main');
  const key = h('input', { type: 'password', required: true, autocomplete: 'off', spellcheck: 'false', class: 'secret' });
  const form = scriptForm(
    field('API key', key,
      'Paste a key (kwu_… or kws_…). It stays in this browser tab only and is forgotten when you sign out or close the tab.'),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
    () => signIn(key.value.trim()),
    (e) => {
      key.focus();
      return e.code === 'NETWORK' ? e.message : `That key was not accepted: ${e.message}`;
    },
  );
  main.replaceChildren(h('div', { class: 'signin' },
    h('h1', { tabindex: '-1' }, 'Sign in to keyward'),
    message && h('p', { class: 'notice', role: 'status' }, message),
    form,
    joinSection()));
  key.focus();
}

/** Accepting an invitation needs no key; the new member gets a first key, once. */
function joinSection() {
  const token = h('input', { type: 'password', required: true, autocomplete: 'off', spellcheck: 'false', class: 'secret' });
  const keyName = h('input', { autocomplete: 'off', maxlength: '200', placeholder: 'first key' });
  const form = scriptForm([
    field('Invitation token', token, 'The kwi_… token an admin gave you. It works once.'),
    field('Name of your first key (optional)', keyName),
  ], h('button', { type: 'submit' }, 'Join'), async () => {
    const input = { token: token.value.trim() };
    if (keyName.value.trim()) input.key_name = keyName.value.trim();
    const data = await request(Q.acceptInvitation, { input });
    const { key } = data.accept_membership_invitation;
    token.value = '';
    const dialog = modal('Your first API key');
    showSecret(dialog, {
      title: 'Welcome: your first API key',
      label: 'API key',
      secret: key,
      note: 'Sign in with it now; create more keys once you are in.',
      then: { label: 'Sign in with this key', action: () => signIn(key).catch((e) => announce(e.message)) },
    });
    dialog.showModal();
    dialog.querySelector('input').select();
  }, (e) => `That invitation was not accepted: ${e.message}`);
  return h('details', { class: 'join' }, h('summary', {}, 'Join with an invitation'), form);
}

// ------------------------------------------------------------------ start

document.getElementById('skip-link').addEventListener('click', (event) => {
  event.preventDefault();
  document.getElementById('main').focus();
});
window.addEventListener('hashchange', () => route());

const saved = sessionStorage.getItem(STORAGE_KEY);
if (saved) {
  signIn(saved).catch((e) => {
    sessionStorage.removeItem(STORAGE_KEY);
    renderSignIn(`Please sign in again: ${e.message}`);
  });
} else {
  renderSignIn();
}
