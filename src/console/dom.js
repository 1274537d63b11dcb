// Building the page: elements, form fields, tables and how values read.
// Text only ever enters the page as text (textContent, never innerHTML).

export const ROLE_LABELS = {
  TENANT_ADMIN: 'Tenant admin',
  USER: 'User',
  READ_ONLY_USER: 'Read-only user',
};

let idCounter = 0;
export const uid = (prefix) => `${prefix}-${++idCounter}`;

/** Builds an element. Strings among the children become text nodes. */
export function h(tag, props = {}, ...children) {
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

export function trashIcon() {
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
export function field(labelText, control, hint) {
  control.id ||= uid('f');
  const hintEl = hint && h('p', { class: 'hint', id: uid('hint') }, hint);
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, labelText), control, hintEl);
}

export function select(options, value) {
  return h('select', {}, options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)));
}

export const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function when(iso, none) {
  if (!iso) return none;
  return h('time', { datetime: iso, title: iso }, dateTime.format(new Date(iso)));
}

export function expires(iso) {
  if (!iso) return 'Never';
  const t = when(iso);
  const left = new Date(iso) - new Date();
  if (left <= 0) return h('span', { class: 'expired' }, 'Expired ', t);
  if (left > 7 * 86400000) return t;
  // Within a week: say so, before it breaks a pipeline (rounded up, so a
  // key made to last 3 days says 3).
  const hours = Math.ceil(left / 3600000);
  const days = Math.ceil(left / 86400000);
  const soon = left <= 86400000 ? `expires in ${hours} hour${hours === 1 ? '' : 's'}` : `expires in ${days} days`;
  return h('span', { class: 'expiring' }, t, ' ', h('strong', {}, `(${soon})`));
}

export const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

let toastTimer;
/** Says something to everyone, screen readers included. */
export function announce(message) {
  const status = document.getElementById('status');
  status.textContent = message;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { status.textContent = ''; }, 6000);
}

/**
 * A table with a caption for screen readers; narrow screens stack its rows.
 * Its wrapper scrolls sideways when the table is wide, so it takes the
 * keyboard focus (arrow keys scroll it) and is named after the table.
 */
export function table(caption, columns, rows) {
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'group', 'aria-label': caption }, h('table', {},
    h('caption', { class: 'sr-only' }, caption),
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows)));
}

export function pageHeader(title, lead, ...actions) {
  return h('div', { class: 'page-header' },
    h('div', {}, h('h1', { tabindex: '-1' }, title), lead && h('p', { class: 'lead' }, lead)),
    actions.length > 0 && h('div', { class: 'page-actions' }, actions));
}
