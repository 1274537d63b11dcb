// Team > Audit log: the tenant's events, newest first, with filters.
import { Q } from './api.js';
import { field, h, pageHeader, select, table, when } from './dom.js';
import { call } from './session.js';

// The filters survive re-renders of the page.
const filters = { outcome: '', action: '' };

const UUID = /^[0-9a-f]{8}-[0-9a-f-]{27}$/;

/** An id, short, with the whole of it on hover. */
const shortId = (id) => (id ? h('span', { title: id }, UUID.test(id) ? `${id.slice(0, 8)}…` : id) : 'none');

/** The event's arguments as "name: value" pairs, ids shortened, nulls left out. */
function details(json) {
  const pairs = Object.entries(JSON.parse(json)).filter(([, v]) => v !== null);
  return pairs.map(([k, v]) => `${k}: ${typeof v === 'string' && UUID.test(v) ? `${v.slice(0, 8)}…` : v}`).join(', ');
}

function row(e) {
  return h('tr', { 'data-event-id': String(e.id) },
    h('td', { 'data-label': 'At' }, when(e.at)),
    h('th', { scope: 'row', 'data-label': 'Action' }, e.action),
    h('td', { 'data-label': 'Outcome', 'data-outcome': e.outcome }, e.outcome),
    h('td', { 'data-label': 'Resource' }, e.resource_type, ' ', shortId(e.resource_id)),
    h('td', { 'data-label': 'By key' }, shortId(e.actor_key_id)),
    h('td', { 'data-label': 'Policies' }, e.determining_policies.join(', ') || 'none'),
    h('td', { 'data-label': 'Details', class: 'details' }, [e.message, details(e.details)].filter(Boolean).join(' · ')));
}

export async function auditPage(refresh) {
  const where = {};
  if (filters.outcome) where.outcome = { _eq: filters.outcome };
  if (filters.action) where.action = { _eq: filters.action };
  const data = await call(Q.audit, { where });
  const outcome = select([['', 'Any outcome'], ['allowed', 'Allowed'], ['denied', 'Denied'], ['failed', 'Failed']], filters.outcome);
  const action = h('input', { value: filters.action, placeholder: 'CreateApiKey', autocomplete: 'off', 'data-focus': 'audit-action' });
  const apply = () => {
    filters.outcome = outcome.value;
    filters.action = action.value.trim();
    refresh();
  };
  outcome.dataset.focus = 'audit-outcome';
  outcome.addEventListener('change', apply);
  action.addEventListener('change', apply);
  const events = data.audit_event;
  return [
    pageHeader('Audit log', 'Every change in this tenant and every refused request, with the policies that decided it. Newest first.'),
    h('div', { class: 'filters' },
      field('Outcome', outcome),
      field('Action', action, 'A Cedar action, such as RotateApiKey, or Authenticate.')),
    events.length === 0
      ? h('p', { class: 'empty' }, 'No events.')
      : table('Audit events', ['At', 'Action', 'Outcome', 'Resource', 'By key', 'Policies', 'Details'], events.map(row)),
  ];
}
