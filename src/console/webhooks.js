// Team > Webhooks: the tenant's endpoints (register, delete) and their
// latest deliveries (status, attempts, last answer; send again).
import { Q } from './api.js';
import { confirmingButton, formDialog, guard, showSecret } from './dialogs.js';
import { announce, field, h, pageHeader, table, when } from './dom.js';
import { call } from './session.js';

const EVENTS = [
  ['api_key.expiring', 'A key expires in 7 days, then in 1 day'],
  ['api_key.expired', 'A key expired'],
  ['api_key.leaked', 'A key was reported leaked and revoked'],
  ['api_key.created', 'A key was created'],
  ['api_key.revoked', 'A key was revoked'],
  ['api_key.rotated', 'A key was rotated'],
  ['api_key.disabled', 'A key was disabled'],
  ['service_account.deleted', 'A service account was deleted'],
  ['membership.removed', 'A member was removed'],
];

function registerDialog(refresh) {
  const url = h('input', { type: 'url', required: true, placeholder: 'https://hooks.example.com/keyward', autocomplete: 'off' });
  const description = h('input', { maxlength: '500', autocomplete: 'off' });
  const boxes = EVENTS.map(([name, label]) => {
    const box = h('input', { type: 'checkbox', value: name, checked: name.startsWith('api_key.ex') || name === 'api_key.leaked' });
    return h('label', { class: 'check' }, box, ` ${label} `, h('code', {}, name));
  });
  formDialog('Register a webhook', [
    field('URL', url, 'keyward POSTs each event here as JSON, signed with the secret shown next.'),
    h('fieldset', {}, h('legend', {}, 'Events'), boxes),
    field('Description', description),
  ], 'Register', async (dialog) => {
    const events = boxes.map((l) => l.querySelector('input')).filter((b) => b.checked).map((b) => b.value);
    if (events.length === 0) throw new Error('Choose at least one event.');
    const data = await call(Q.createWebhook, {
      input: { url: url.value.trim(), events, description: description.value.trim() || null },
    });
    showSecret(dialog, {
      title: 'The webhook\'s signing secret',
      label: 'Signing secret',
      secret: data.create_webhook.secret,
      note: 'Verify each delivery\'s keyward-signature header with it (see the README). It is shown this once.',
    });
    refresh();
  });
  url.focus();
}

function hookRow(w, refresh) {
  return h('tr', { 'data-webhook-id': w.id },
    h('th', { scope: 'row', 'data-label': 'URL' }, w.url),
    h('td', { 'data-label': 'Events' }, w.events.join(', ')),
    h('td', { 'data-label': 'Description' }, w.description ?? ''),
    h('td', { 'data-label': 'Created' }, when(w.created)),
    h('td', { 'data-label': 'Actions' }, confirmingButton({
      label: 'Delete',
      whom: w.url,
      focus: `delete-webhook-${w.id}`,
      confirm: {
        title: 'Delete webhook',
        message: `Stop sending events to ${w.url}?`,
        detail: 'Its deliveries are deleted with it.',
        confirm: 'Delete webhook',
      },
      action: async () => {
        await call(Q.deleteWebhook, { input: { webhook_id: w.id } });
        announce(`Deleted the webhook to ${w.url}.`);
        refresh();
      },
    })));
}

function deliveryRow(d, refresh) {
  const answer = d.last_status_code != null ? `HTTP ${d.last_status_code}` : (d.last_error ?? '');
  return h('tr', { 'data-delivery-id': d.id },
    h('td', { 'data-label': 'Created' }, when(d.created)),
    h('th', { scope: 'row', 'data-label': 'Event' }, d.event),
    h('td', { 'data-label': 'Status', 'data-status': d.status }, d.status),
    h('td', { 'data-label': 'Attempts' }, String(d.attempts)),
    h('td', { 'data-label': 'Last answer' }, answer),
    h('td', { 'data-label': 'Actions' }, h('button', {
      type: 'button',
      'data-focus': `redeliver-${d.id}`,
      onclick: (e) => guard(e.currentTarget, async () => {
        await call(Q.redeliver, { input: { delivery_id: d.id } });
        announce(`Delivery of ${d.event} queued again.`);
        refresh();
      }),
    }, 'Send again')));
}

export async function webhooksPage(refresh) {
  const [hooks, deliveries] = await Promise.all([call(Q.webhooks), call(Q.deliveries)]);
  const register = h('button', {
    type: 'button', class: 'primary', 'data-focus': 'register-webhook', onclick: () => registerDialog(refresh),
  }, 'Register a webhook');
  const list = hooks.webhook;
  const sent = deliveries.webhook_delivery;
  return [
    pageHeader('Webhooks', 'Tell your own systems when a key is about to expire, expired, leaked or changed.', register),
    list.length === 0
      ? h('p', { class: 'empty' }, 'No webhooks yet.')
      : table('Webhooks', ['URL', 'Events', 'Description', 'Created', 'Actions'], list.map((w) => hookRow(w, refresh))),
    h('h2', {}, 'Latest deliveries'),
    sent.length === 0
      ? h('p', { class: 'empty' }, 'Nothing sent yet.')
      : table('Webhook deliveries', ['Created', 'Event', 'Status', 'Attempts', 'Last answer', 'Actions'],
        sent.map((d) => deliveryRow(d, refresh))),
  ];
}
