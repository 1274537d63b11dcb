// Dialogs (native <dialog>, modal: focus stays inside, Escape closes) and the
// buttons and forms that open or live in them.
import { announce, h, uid } from './dom.js';
import { session } from './session.js';

// Controls that a re-render replaces carry `data-focus`, so the focus can
// find their successor instead of falling back to the top of the page.
export const focusName = (el) => el?.closest?.('[data-focus]')?.dataset.focus;

export function refocus(name) {
  const successor = name && document.querySelector(`[data-focus="${CSS.escape(name)}"]`);
  (successor ?? document.querySelector('main h1'))?.focus();
}

/** A modal dialog that returns focus to whatever opened it. */
export function modal(title) {
  const opener = document.activeElement;
  const heading = h('h2', { id: uid('dialog-title') }, title);
  const dialog = h('dialog', { 'aria-labelledby': heading.id }, heading);
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (opener?.isConnected) opener.focus();
    // A session that just ended has put the sign-in page's focus where it belongs.
    else if (session.key) refocus(focusName(opener));
  });
  document.body.append(dialog);
  return dialog;
}

/** Resolves true only when the person confirms; Cancel has the focus. */
export function confirmAction({ title, message, detail, confirm }) {
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
export function scriptForm(content, actions, action, explain = (e) => e.message) {
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
export function formDialog(title, fields, submitLabel, submit) {
  const dialog = modal(title);
  dialog.append(scriptForm(fields, h('div', { class: 'actions' },
    h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel'),
    h('button', { type: 'submit', class: 'primary' }, submitLabel)), () => submit(dialog)));
  dialog.showModal();
  return dialog;
}

/** Replaces a dialog's content with a secret, shown this once. */
export function showSecret(dialog, { title, label, secret, note, then }) {
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

/**
 * A button that asks first (`confirm`: confirmAction's options), then runs
 * `action`. Its accessible name adds `whom` to the visible label.
 */
export function confirmingButton({ label, whom, focus, confirm, action }) {
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
export async function guard(button, action) {
  button.disabled = true;
  try {
    await action();
  } catch (e) {
    if (session.key) announce(e.message);
  } finally {
    button.disabled = false;
  }
}
