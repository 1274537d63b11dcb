// API keys: the create dialog (the secret shown once), the delete
// confirmation, the table, and the API Keys page.
import { Q } from './api.js';
import { confirmAction, formDialog, guard, showSecret } from './dialogs.js';
import { announce, expires, field, h, pageHeader, ROLE_LABELS, select, table, trashIcon, when } from './dom.js';
import { call, endSession, session, tenantName } from './session.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Asks for a key's name and expiry, then shows the secret. A key is made in
 * the tenant of the key the console is signed in with, and works there only;
 * `otherTenants` (people in more than one) get a note on how to make keys
 * for the others.
 */
export function createKeyDialog({ ownerId, title, otherTenants, onCreated }) {
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
  const here = tenantName(session.me.tenant_id);
  const fields = [
    field('Name', name, 'What the key is for, such as "laptop" or "CI".'),
    field('Expiration', expiry),
    dateField,
    otherTenants && h('p', { class: 'hint', 'data-tenant-note': '' },
      `The key will work in ${here}, the tenant you are signed in to. For a key in `
      + `${otherTenants.map((t) => t.name).join(', ')}, sign in with a key of that tenant `
      + '(the first key you got when you joined it, or any key of yours made there).'),
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

export async function deleteKey(key, { owner, onDeleted }) {
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
    endSession('You deleted the key you were signed in with.');
    return;
  }
  announce(`Deleted the API key ${key.name}.`);
  onDeleted();
}

/**
 * Asks how long the old key may keep working, rotates it, and shows the new
 * secret once.
 */
export function rotateKeyDialog(key, onRotated) {
  const grace = select([['0', 'Stop the old key now'], ['3600', 'For 1 hour'], ['86400', 'For 1 day'], ['604800', 'For 7 days']], '3600');
  formDialog(`Rotate ${key.name}`, [
    h('p', {}, 'A new key replaces this one, with the same name, owner, tenant and expiry.'),
    field('Keep the old key working', grace, 'Time to roll the new key out; then the old one fails, naming its replacement.'),
  ], 'Rotate', async (dialog) => {
    const data = await call(Q.rotateKey, { input: { key_id: key.id, grace_seconds: Number(grace.value) } });
    const made = data.rotate_api_key;
    showSecret(dialog, {
      title: 'The new API key',
      label: 'API key',
      secret: made.key,
      note: h('span', {}, 'The old key works until ', when(made.old_key_works_until), '.'),
    });
    if (key.id === session.me.api_key_id && grace.value === '0') {
      endSession('You rotated the key you were signed in with: sign in with the new one.');
      return;
    }
    onRotated();
  });
  grace.focus();
}

/** Disables an enabled key, enables a disabled one. */
export async function toggleKey(key, onDone) {
  const disable = !key.disabled_at;
  if (disable) {
    const confirmed = await confirmAction({
      title: 'Disable API key',
      message: `Disable ${key.name}?`,
      detail: key.id === session.me.api_key_id
        ? 'You are signed in with this key: disabling it signs you out.'
        : 'Every client using it fails at once, until you enable it again.',
      confirm: 'Disable',
    });
    if (!confirmed) return;
  }
  await call(Q.updateKey, { input: { key_id: key.id, disabled: disable } });
  if (disable && key.id === session.me.api_key_id) {
    endSession('You disabled the key you were signed in with.');
    return;
  }
  announce(`${disable ? 'Disabled' : 'Enabled'} the API key ${key.name}.`);
  onDone();
}

/** What a key's row says besides its times (text and <time> nodes). */
function status(k) {
  const parts = [];
  if (k.role) parts.push([`${ROLE_LABELS[k.role]} only`]);
  if (k.disabled_at) parts.push(['Disabled']);
  if (k.replaced_by) parts.push(['Rotated: works until ', when(k.grace_until)]);
  if (parts.length === 0) return ['Active'];
  return parts.flatMap((p, i) => (i === 0 ? p : [' · ', ...p]));
}

/**
 * A table of keys; `onDelete` puts a trash button on each row, `onChange`
 * (after a rotation or a toggle) rotate and disable/enable buttons.
 */
export function keysTable(keys, { caption, showTenant, onDelete, onChange }) {
  if (keys.length === 0) return h('p', { class: 'empty' }, 'No API keys.');
  const columns = ['Name', showTenant && 'Tenant', 'Created', 'Expires', 'Last used', 'Status', 'Actions'].filter(Boolean);
  const rows = keys.map((k) => h('tr', { 'data-key-id': k.id },
    h('th', { scope: 'row', 'data-label': 'Name' }, k.name,
      k.id === session.me.api_key_id && [' ', h('span', { class: 'badge' }, 'this session')]),
    showTenant && h('td', { 'data-label': 'Tenant' }, tenantName(k.default_tenant_id)),
    h('td', { 'data-label': 'Created' }, when(k.created)),
    h('td', { 'data-label': 'Expires' }, expires(k.expires_at)),
    h('td', { 'data-label': 'Last used' }, when(k.last_used_at, 'Not yet')),
    h('td', { 'data-label': 'Status', 'data-status': '' }, ...status(k)),
    h('td', { 'data-label': 'Actions', class: 'row-actions' },
      onChange && !k.replaced_by && h('button', {
        type: 'button',
        'data-focus': `rotate-key-${k.id}`,
        'aria-label': `Rotate ${k.name}`,
        onclick: () => rotateKeyDialog(k, onChange),
      }, 'Rotate'),
      onChange && h('button', {
        type: 'button',
        'data-focus': `toggle-key-${k.id}`,
        'aria-label': `${k.disabled_at ? 'Enable' : 'Disable'} ${k.name}`,
        onclick: (e) => guard(e.currentTarget, () => toggleKey(k, onChange)),
      }, k.disabled_at ? 'Enable' : 'Disable'),
      h('button', {
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

/**
 * An invitation for an account that already exists is accepted signed in,
 * with one of its own keys (the console's session key); the answer is the
 * account's first key for the new tenant.
 */
function joinTenantDialog(onJoined) {
  const token = h('input', { type: 'password', required: true, autocomplete: 'off', spellcheck: 'false', class: 'secret' });
  formDialog('Join another tenant', [
    field('Invitation token', token, 'The kwi_… token you were given. You join as yourself, with this account.'),
  ], 'Join', async (dialog) => {
    const data = await call(Q.acceptInvitation, { input: { token: token.value.trim() } });
    // The account now belongs to one more tenant: the keys table names it.
    session.tenants = (await call(Q.whoami)).tenant;
    showSecret(dialog, {
      title: 'Your first key for the new tenant',
      label: 'API key',
      secret: data.accept_membership_invitation.key,
      note: 'Sign in with it to act in that tenant: a key works in its own tenant only.',
    });
    onJoined();
  });
  token.focus();
}

export async function keysPage(refresh) {
  const data = await call(Q.myKeys, { me: session.me.user_id });
  const mine = data.auth_api_key;
  const create = h('button', {
    type: 'button',
    class: 'primary',
    'data-focus': 'create-key',
    onclick: () => createKeyDialog({
      ownerId: session.me.user_id,
      title: 'Create an API Key',
      otherTenants: session.tenants.length > 1
        ? session.tenants.filter((t) => t.id !== session.me.tenant_id)
        : null,
      onCreated: refresh,
    }),
  }, 'Create an API Key');
  const join = session.me.account_type === 'USER' && h('button', {
    type: 'button',
    'data-focus': 'join-tenant',
    onclick: () => joinTenantDialog(refresh),
  }, 'Join another tenant');
  return [
    pageHeader('API Keys', 'Keys that act as you. Each works in one tenant, until it expires or you delete it.',
      ...[join, create].filter(Boolean)),
    keysTable(mine, {
      caption: 'Your API keys',
      showTenant: session.tenants.length > 1,
      onDelete: (k) => deleteKey(k, { onDeleted: refresh }),
      onChange: refresh,
    }),
    h('p', { class: 'hint' }, '"Last used" is written periodically (every minute by default), not on every request.'),
  ];
}
