// The keyward web console: plain DOM and the GraphQL API, no framework, no
// build step. The page's Content-Security-Policy forbids inline script and
// form posts, so every form is handled in script. This module signs in and
// out, draws the bar at the top and routes between the pages, which are
// addressed by fragment (#/keys) and never hold a secret.
import { Q, request } from './api.js';
import { focusName, modal, refocus, scriptForm, showSecret } from './dialogs.js';
import { announce, field, h, pageHeader, ROLE_LABELS } from './dom.js';
import { auditPage } from './audit.js';
import { webhooksPage } from './webhooks.js';
import { keysPage } from './keys.js';
import {
  endSession, isAdmin, savedKey, session, startSession, tenantName, whenSessionEnds,
} from './session.js';
import { membersPage, notForYou, serviceAccountsPage } from './team.js';

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
  startSession(key, data.auth_info, data.tenant, name);
  renderTopbar();
  if (!location.hash.startsWith('#/')) history.replaceState(null, '', '#/keys');
  await route();
}

whenSessionEnds((message) => {
  document.querySelectorAll('dialog').forEach((d) => d.close());
  history.replaceState(null, '', location.pathname);
  renderSignIn(message);
});

// ------------------------------------------------------------ navigation

const PAGES = {
  '#/keys': { title: 'API Keys', render: keysPage },
  '#/team/service-accounts': { title: 'Service Accounts', render: serviceAccountsPage, admin: true },
  '#/team/members': { title: 'Members', render: membersPage, admin: true },
  '#/team/audit': { title: 'Audit log', render: auditPage, admin: true },
  '#/team/webhooks': { title: 'Webhooks', render: webhooksPage, admin: true },
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
    content = page.admin && !isAdmin() ? notForYou() : await page.render(refresh);
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
          link('#/team/members', 'Members'),
          link('#/team/audit', 'Audit log'),
          link('#/team/webhooks', 'Webhooks'))))),
    h('div', { class: 'who' },
      h('span', {}, session.name && h('span', { class: 'who-name' }, session.name),
        h('span', { class: 'muted' }, `${tenantName(session.me.tenant_id)} · ${ROLE_LABELS[session.me.role]}`)),
      h('button', { type: 'button', onclick: () => endSession('You signed out.') }, 'Sign out')),
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

const saved = savedKey();
if (saved) {
  signIn(saved).catch((e) => endSession(`Please sign in again: ${e.message}`));
} else {
  renderSignIn();
}

