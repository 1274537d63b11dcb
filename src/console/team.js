// Team pages, for tenant admins: service accounts with their keys, and
// members with their roles and invitations.
import { Q } from './api.js';
import { confirmingButton, formDialog, guard, showSecret } from './dialogs.js';
import { announce, dateTime, field, h, pageHeader, plural, ROLE_LABELS, select, table, uid, when } from './dom.js';
import { createKeyDialog, deleteKey, keysTable } from './keys.js';
import { call, endSession, session, tenantName } from './session.js';

export async function serviceAccountsPage(refresh) {
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
              ownerId: sa.id, title: `Create an API key for ${sa.name}`, otherTenants: null, onCreated: refresh,
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
        onChange: refresh,
      }));
  });
  return [
    pageHeader('Service Accounts',
      'Accounts for programs rather than people: CI jobs, agents, other services.', create),
    accounts.length ? accounts : h('p', { class: 'empty' }, 'No service accounts yet.'),
  ];
}

export async function membersPage(refresh) {
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
            endSession(`You left ${tenant}.`);
            return;
          }
          announce(`Removed ${who}.`);
          refresh();
        },
      })));
  });
  const invite = h('button', { type: 'button', class: 'primary', 'data-focus': 'invite', onclick: () => inviteDialog(refresh) },
    'Invite a member');
  return [
    pageHeader('Members', `Who is in ${tenant}, and with which role.`, invite),
    table(`Members of ${tenant}`, ['Member', 'Type', 'Role', 'Actions'], rows),
    h('h2', {}, 'Invitations'),
    invitationsTable(invitations.membership_invitation, refresh),
  ];
}

function invitationStatus(inv) {
  if (inv.accepted_at) return ['Accepted ', when(inv.accepted_at)];
  if (inv.revoked_at) return ['Revoked ', when(inv.revoked_at)];
  if (new Date(inv.expires_at) <= new Date()) return ['Expired ', when(inv.expires_at)];
  return ['Pending, until ', when(inv.expires_at)];
}

function invitationsTable(invitations, refresh) {
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

function inviteDialog(refresh) {
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
        + 'on this console\'s sign-in page ("Join with an invitation"), or, if they already have an account, '
        + 'signed in, with "Join another tenant" on API Keys.',
    });
    refresh();
  });
  email.focus();
}

export function notForYou() {
  return [
    pageHeader('Not available', null),
    h('p', {}, 'Team pages are for tenant admins. Ask an admin of your tenant if you need a service account or a change of role.'),
    h('p', {}, h('a', { href: '#/keys' }, 'Back to your API keys')),
  ];
}
