// The web console in a real browser: Debian's chromium, headless, driven by
// Playwright; every screenshot is also an accessibility audit (axe-core). tests/api/console.rs starts keyward (system clock, empty
// database) and runs this file with KEYWARD_URL and KEYWARD_ADMIN_KEY.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium } from 'playwright-core';

const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const BASE = process.env.KEYWARD_URL;
const ADMIN_KEY = process.env.KEYWARD_ADMIN_KEY;
const SHOTS = process.env.KEYWARD_SCREENSHOTS;
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
assert.ok(BASE && ADMIN_KEY && SHOTS, 'KEYWARD_URL, KEYWARD_ADMIN_KEY and KEYWARD_SCREENSHOTS must be set');

const TIMEOUT = { timeout: 90_000 };
let browser;

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  // launch() gives every run a fresh, empty profile directory.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
});

// ------------------------------------------------------------- helpers

async function gql(key, query, variables = {}) {
  const headers = { 'content-type': 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  const r = await fetch(`${BASE}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  assert.equal(r.status, 200);
  return r.json();
}

async function data(key, query, variables) {
  const body = await gql(key, query, variables);
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data;
}

/** What a proxy in front of an app would learn about `key`: the status and who it is. */
async function verify(key) {
  const r = await fetch(`${BASE}/auth/verify`, { headers: { authorization: `Bearer ${key}` } });
  return { status: r.status, userId: r.headers.get('x-keyward-user-id'), tenantId: r.headers.get('x-keyward-tenant-id') };
}

const whoami = async (key) => (await data(key, '{ auth_info { user_id tenant_id api_key_id role } }')).auth_info;

async function newKey(key, name) {
  const me = await whoami(key);
  const d = await data(key, 'mutation ($input: create_api_key_input!) { create_api_key(input: $input) { id key } }',
    { input: { user_id: me.user_id, name } });
  return d.create_api_key;
}

/**
 * A page in its own browser context (its own sessionStorage). Every request
 * it makes and every console error is recorded; `done` checks that nothing
 * left keyward's origin and that nothing broke (a CSP violation included).
 */
async function openPage(options = {}) {
  const context = await browser.newContext({ ...options, baseURL: BASE });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.problems = [];
  page.on('console', (m) => { if (m.type() === 'error') page.problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith(BASE) && !r.url().startsWith('data:')) page.problems.push(`request elsewhere: ${r.url()}`);
  });
  return page;
}

async function done(page) {
  assert.deepEqual(page.problems, []);
  await page.context().close();
}

/**
 * Saves a screenshot, and audits the page as it is with axe-core (WCAG 2.1
 * A and AA rules): any violation fails the test. axe is injected through the
 * DevTools protocol, which the page's CSP does not govern.
 */
async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] });
    return result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  assert.deepEqual(violations, [], `accessibility of ${name}`);
}

async function signIn(page, key) {
  await page.goto('/');
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'API Keys' }).waitFor();
}

const dialog = (page) => page.getByRole('dialog');
const row = (page, name) => page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: new RegExp(`^${name}\\b`) }) });

/** Fills the create-key dialog and returns the secret the page shows once. */
async function createKeyInPage(page, opener, name, expiry = 'Never') {
  await opener.click();
  const d = dialog(page);
  await d.getByLabel('Name', { exact: true }).fill(name);
  await d.getByLabel('Expiration', { exact: true }).selectOption({ label: expiry });
  await d.getByRole('button', { name: 'Create' }).click();
  await d.getByRole('heading', { name: 'Your new API key' }).waitFor();
  return d.getByLabel('API key').inputValue();
}

/** Asserts that `secret` is nowhere the page keeps things after its dialog closed. */
async function assertForgotten(page, secret) {
  assert.ok(!page.url().includes(secret), 'the secret is in the URL');
  const html = await page.content();
  const at = html.indexOf(secret);
  assert.ok(at < 0, `the secret is still in the page: ${html.slice(Math.max(0, at - 300), at + 60)}`);
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + document.cookie);
  assert.ok(!stored.includes(secret), 'the secret was stored');
}

const activeText = (page) => page.evaluate(() => {
  const el = document.activeElement;
  return el.labels?.[0]?.textContent ?? el.getAttribute('aria-label') ?? el.textContent;
});

/** Waits for the focus to settle on `name` (dialogs hand it back on their close event, a task later). */
async function expectFocus(page, name, why) {
  const deadline = Date.now() + 5000;
  let now = await activeText(page);
  while (now !== name && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    now = await activeText(page);
  }
  assert.equal(now, name, why);
}

// --------------------------------------------------------------- tests

test('sign in: a bad key gets a clear message, and nothing is kept', TIMEOUT, async () => {
  const page = await openPage();
  await page.goto('/');
  await page.getByRole('heading', { name: 'Sign in to keyward' }).waitFor();
  await expectFocus(page, 'API key', 'the key field has the focus');
  await page.keyboard.press('Tab');
  await expectFocus(page, 'Sign in', 'Tab goes from the key to the button');
  await shot(page, '01-sign-in');

  const bad = `kwu_${'A'.repeat(36)}`;
  await page.getByLabel('API key').fill(bad);
  await page.keyboard.press('Enter');
  const alert = page.getByRole('alert').filter({ hasText: 'not accepted' });
  await alert.waitFor();
  assert.match(await alert.textContent(), /That key was not accepted: Invalid API key: its checksum does not match/);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  assert.ok(!page.url().includes(bad));
  await shot(page, '02-sign-in-refused');

  // An invitation token is not an API key, and the page says so.
  const inv = await data(ADMIN_KEY, 'mutation { create_membership_invitation(input: { email: "nobody@example.test" }) { token } }');
  await page.getByLabel('API key').fill(inv.create_membership_invitation.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: /invitation/i }).waitFor();
  await done(page);
});

test('API Keys: create in the page, use over HTTP, delete in the page, fail on the next request', TIMEOUT, async () => {
  const admin = await whoami(ADMIN_KEY);
  const page = await openPage();
  await signIn(page, ADMIN_KEY);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('keyward.apiKey')), ADMIN_KEY);
  assert.ok(!page.url().includes(ADMIN_KEY));
  const bootstrap = row(page, 'bootstrap');
  assert.match(await bootstrap.textContent(), /this session/);
  assert.equal(await bootstrap.locator('[data-label="Expires"]').textContent(), 'Never');
  await shot(page, '03-api-keys');

  const opener = page.getByRole('button', { name: 'Create an API Key' });
  await opener.click();
  const d = dialog(page);
  assert.equal(await d.getByRole('heading').textContent(), 'Create an API Key');
  await expectFocus(page, 'Name', 'the dialog opens on its first field');
  assert.deepEqual(await d.getByLabel('Expiration', { exact: true }).locator('option').allTextContents(),
    ['Never', 'In 30 days', 'In 90 days', 'On a date']);
  assert.equal(await d.getByLabel('Tenant').count(), 0, 'a key is made in the signed-in tenant');
  assert.equal(await d.locator('[data-tenant-note]').count(), 0, 'nothing to say with one tenant');
  await d.getByLabel('Name', { exact: true }).fill('laptop');
  await d.getByLabel('Expiration', { exact: true }).selectOption({ label: 'In 30 days' });
  await shot(page, '04-create-key-dialog');
  const before = Date.now();
  await d.getByRole('button', { name: 'Create' }).click();
  await d.getByRole('heading', { name: 'Your new API key' }).waitFor();
  assert.match(await d.textContent(), /Copy it now: it will not be shown again/);
  const secret = await d.getByLabel('API key').inputValue();
  assert.match(secret, /^kwu_[0-9A-Za-z]{36}$/);
  await d.getByRole('button', { name: 'Copy' }).click();
  await d.getByText('Copied to the clipboard.').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
  await shot(page, '05-secret-shown-once');

  // The key the page made works, as the admin, over plain HTTP.
  assert.deepEqual(await verify(secret), { status: 200, userId: admin.user_id, tenantId: admin.tenant_id });
  const listed = (await data(ADMIN_KEY, '{ auth_api_key { name expires_at } }')).auth_api_key.find((k) => k.name === 'laptop');
  const lifetime = Date.parse(listed.expires_at) - before;
  assert.ok(Math.abs(lifetime - 30 * 86_400_000) < 120_000, `expires in 30 days, not ${lifetime} ms`);

  await d.getByRole('button', { name: 'Done' }).click();
  await d.waitFor({ state: 'detached' });
  await expectFocus(page, 'Create an API Key', 'the focus returns to the opener');
  const laptop = row(page, 'laptop');
  await laptop.waitFor();
  assert.notEqual(await laptop.locator('[data-label="Expires"]').textContent(), 'Never');
  await assertForgotten(page, secret);
  assert.equal(await laptop.locator('[data-label="Last used"]').textContent(), 'Not yet');
  // The server writes last use once per --last-used-interval (1 s here): the
  // page shows it after a reload that comes later than that.
  const lastUsed = laptop.locator('[data-label="Last used"] time');
  for (let tries = 0; tries < 30 && (await lastUsed.count()) === 0; tries += 1) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    await page.reload();
    await laptop.waitFor();
  }
  assert.match(await lastUsed.getAttribute('datetime'), /^\d{4}-\d\d-\d\dT/);

  // Cancel keeps the key...
  await page.getByRole('button', { name: 'Delete laptop' }).click();
  assert.equal(await dialog(page).locator('.confirm-message').textContent(), 'Are you sure you want to delete laptop?');
  await expectFocus(page, 'Cancel', 'a destructive dialog opens on Cancel');
  await shot(page, '06-confirm-delete-key');
  await dialog(page).getByRole('button', { name: 'Cancel' }).click();
  await dialog(page).waitFor({ state: 'detached' });
  assert.equal((await verify(secret)).status, 200);
  assert.equal(await laptop.count(), 1);

  // ...Delete revokes it before the page says so.
  await page.getByRole('button', { name: 'Delete laptop' }).click();
  await dialog(page).getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('status').filter({ hasText: 'Deleted the API key laptop.' }).waitFor();
  assert.equal((await verify(secret)).status, 401);
  await laptop.waitFor({ state: 'detached' });
  await expectFocus(page, 'API Keys', 'the focus moves to the page heading, not to nowhere');
  await done(page);
});

test('API Keys: rotate with a grace, disable and enable; the audit log shows it all', TIMEOUT, async () => {
  const page = await openPage();
  await signIn(page, ADMIN_KEY);
  const secret = await createKeyInPage(page, page.getByRole('button', { name: 'Create an API Key' }), 'rolling');
  await dialog(page).getByRole('button', { name: 'Done' }).click();
  await dialog(page).waitFor({ state: 'detached' });
  const rolling = row(page, 'rolling');
  assert.equal(await rolling.locator('[data-status]').textContent(), 'Active');

  // Rotate, keeping the old key an hour: the new secret shows once, both work.
  await page.getByRole('button', { name: 'Rotate rolling' }).click();
  const d = dialog(page);
  await expectFocus(page, 'Keep the old key working', 'the rotate dialog opens on its choice');
  assert.deepEqual(await d.getByLabel('Keep the old key working').locator('option').allTextContents(),
    ['Stop the old key now', 'For 1 hour', 'For 1 day', 'For 7 days']);
  await d.getByLabel('Keep the old key working').selectOption({ label: 'For 1 hour' });
  await shot(page, '18-rotate-dialog');
  await d.getByRole('button', { name: 'Rotate' }).click();
  await d.getByRole('heading', { name: 'The new API key' }).waitFor();
  const fresh = await d.getByLabel('API key').inputValue();
  assert.match(fresh, /^kwu_/);
  assert.notEqual(fresh, secret);
  assert.match(await d.textContent(), /The old key works until \w{3} \d+, \d{4}/);
  await d.getByRole('button', { name: 'Done' }).click();
  // A closed dialog leaves the page on its close event, a task later.
  await page.waitForFunction(() => !document.querySelector('dialog'));
  assert.equal((await verify(secret)).status, 200, 'the old key works during its grace');
  assert.equal((await verify(fresh)).status, 200);
  const rotatedRow = page.getByRole('row').filter({ hasText: 'Rotated: works until' });
  await rotatedRow.waitFor();
  assert.match(await rotatedRow.locator('[data-status]').textContent(), /^Rotated: works until \w{3} \d/);
  await assertForgotten(page, fresh);
  const rows = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: /^rolling\b/ }) });
  assert.equal(await rows.count(), 2, 'the old and the new key, both listed during the grace');
  assert.equal(await page.getByRole('button', { name: 'Rotate rolling' }).count(), 1, 'a rotated key is not rotated again');

  // Disable the new key: it fails at once; enable it: it works again.
  const fresher = rows.filter({ hasText: 'Active' });
  await fresher.getByRole('button', { name: 'Disable rolling' }).click();
  assert.equal(await dialog(page).locator('.confirm-message').textContent(), 'Disable rolling?');
  await dialog(page).getByRole('button', { name: 'Disable' }).click();
  await page.getByRole('status').filter({ hasText: 'Disabled the API key rolling.' }).waitFor();
  assert.equal((await verify(fresh)).status, 401);
  await page.getByRole('row').filter({ hasText: 'Disabled' }).waitFor();
  await shot(page, '19-disabled-key');
  await page.getByRole('button', { name: 'Enable rolling' }).click();
  await page.getByRole('status').filter({ hasText: 'Enabled the API key rolling.' }).waitFor();
  assert.equal((await verify(fresh)).status, 200);

  // Team > Audit log: newest first, with the deciding policies; filters narrow it.
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
  const events = page.getByRole('row').filter({ has: page.getByRole('rowheader') });
  // The refused use of the disabled key may land among them (refusals are
  // written in batches, at the time they happened).
  const actions = (await events.locator('th').allTextContents()).filter((a) => a !== 'Authenticate');
  assert.deepEqual(actions.slice(0, 4), ['UpdateApiKey', 'UpdateApiKey', 'RotateApiKey', 'CreateApiKey']);
  assert.match(await events.filter({ hasText: 'UpdateApiKey' }).first().textContent(), /self-manage-keys/);
  await shot(page, '20-audit-log');
  // At 1280 px (Playwright's default) every column, Details too, stays in
  // view, even for a 100-character name with no space to break at.
  await newKey(ADMIN_KEY, 'n'.repeat(100));
  await page.getByRole('link', { name: 'API Keys' }).click();
  await page.getByRole('link', { name: 'Audit log' }).click();
  await events.filter({ hasText: 'nnnnnnnnnn' }).first().waitFor();
  const overflow = await page.locator('.table-wrap').evaluate((w) => w.scrollWidth - w.clientWidth);
  assert.ok(overflow <= 0, `the audit table is ${overflow} px wider than its frame`);
  await page.getByLabel('Action').fill('RotateApiKey');
  await page.getByLabel('Action').press('Enter');
  await page.getByLabel('Action').blur();
  await page.waitForFunction(() => [...document.querySelectorAll('tbody th')].every((th) => th.textContent === 'RotateApiKey'));
  assert.equal(await events.count(), 1);
  await done(page);
});

test('API Keys: a dated key, a key that never expires, all from the keyboard', TIMEOUT, async () => {
  const page = await openPage();
  await signIn(page, ADMIN_KEY);
  const opener = page.getByRole('button', { name: 'Create an API Key' });

  // Escape closes the dialog without creating anything.
  await opener.focus();
  await page.keyboard.press('Enter');
  await page.keyboard.type('never-made');
  await page.keyboard.press('Escape');
  await dialog(page).waitFor({ state: 'detached' });
  assert.equal(await row(page, 'never-made').count(), 0);

  await opener.focus();
  await page.keyboard.press('Enter');
  await page.keyboard.type('dated');
  await page.keyboard.press('Tab');
  await expectFocus(page, 'Expiration');
  const d = dialog(page);
  await d.getByLabel('Expiration', { exact: true }).selectOption('date');
  const day = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
  await d.getByLabel('Expiration date').fill(day);
  await d.getByLabel('Name', { exact: true }).press('Enter');
  await d.getByRole('heading', { name: 'Your new API key' }).waitFor();
  const dated = await d.getByLabel('API key').inputValue();
  await page.keyboard.press('Escape');
  await d.waitFor({ state: 'detached' });
  assert.equal((await verify(dated)).status, 200);
  const expiresAt = (await data(ADMIN_KEY, '{ auth_api_key { name expires_at } }')).auth_api_key
    .find((k) => k.name === 'dated').expires_at;
  const local = await page.evaluate((iso) => {
    const t = new Date(iso);
    return `${t.getFullYear()}-${String(t.getMonth() + 1).padStart(2, '0')}-${String(t.getDate()).padStart(2, '0')} ${t.getHours()}:${t.getMinutes()}`;
  }, expiresAt);
  assert.equal(local, `${day} 23:59`, 'a dated key ends at the end of that day, the browser\'s time');

  const forever = await createKeyInPage(page, opener, 'forever');
  await dialog(page).getByRole('button', { name: 'Done' }).click();
  assert.equal(await row(page, 'forever').locator('[data-label="Expires"]').textContent(), 'Never');
  assert.equal((await verify(forever)).status, 200);

  // A date in the past is refused by the form before anything is sent.
  await opener.click();
  await dialog(page).getByLabel('Name', { exact: true }).fill('too-late');
  await dialog(page).getByLabel('Expiration', { exact: true }).selectOption('date');
  await dialog(page).getByLabel('Expiration date').fill('2001-01-01');
  await dialog(page).getByRole('button', { name: 'Create' }).click();
  assert.equal(await dialog(page).getByRole('heading').textContent(), 'Create an API Key');
  assert.equal(await dialog(page).getByLabel('Expiration date').evaluate((el) => el.validity.rangeUnderflow), true);
  await dialog(page).getByRole('button', { name: 'Cancel' }).click();
  await done(page);
});

test('expiry warnings, and Team > Webhooks: register with a secret shown once, see deliveries, delete', TIMEOUT, async () => {
  const me = await whoami(ADMIN_KEY);
  const soon = new Date(Date.now() + 3 * 86_400_000 - 3_600_000).toISOString();
  await data(ADMIN_KEY, 'mutation ($input: create_api_key_input!) { create_api_key(input: $input) { id } }',
    { input: { user_id: me.user_id, name: 'expiring-soon', expires_at: soon } });
  const page = await openPage();
  await signIn(page, ADMIN_KEY);
  // A key that expires within a week says so in its row.
  assert.match(await row(page, 'expiring-soon').locator('[data-label="Expires"]').textContent(), /\(expires in 3 days\)/);

  await page.getByRole('link', { name: 'Webhooks' }).click();
  await page.getByRole('heading', { level: 1, name: 'Webhooks' }).waitFor();
  assert.equal(await page.getByText('No webhooks yet.').count(), 1);
  await page.getByRole('button', { name: 'Register a webhook' }).click();
  const d = dialog(page);
  await d.getByLabel('URL').fill('http://127.0.0.1:9/keyward-hook');
  await d.getByLabel(/A key was created/).check();
  await shot(page, '25-register-webhook');
  await d.getByRole('button', { name: 'Register' }).click();
  await d.getByRole('heading', { name: 'The webhook\'s signing secret' }).waitFor();
  const secret = await d.getByLabel('Signing secret').inputValue();
  assert.match(secret, /^whsec_[0-9A-Za-z]{32}$/);
  await d.getByRole('button', { name: 'Done' }).click();
  await page.waitForFunction(() => !document.querySelector('dialog'));
  const hook = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'http://127.0.0.1:9/keyward-hook' }) });
  await hook.waitFor();
  assert.match(await hook.textContent(), /api_key\.expiring, api_key\.expired, api_key\.leaked, api_key\.created/);
  assert.ok(!(await page.content()).includes(secret), 'the secret is shown once, not listed');

  // A key made now is news for it: its delivery is listed (nothing listens there).
  await newKey(ADMIN_KEY, 'news');
  await page.getByRole('link', { name: 'API Keys' }).click();
  await page.getByRole('heading', { level: 1, name: 'API Keys' }).waitFor();
  await page.getByRole('link', { name: 'Webhooks' }).click();
  const delivery = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'api_key.created' }) });
  await delivery.waitFor();
  await shot(page, '26-webhooks');
  await page.getByRole('button', { name: 'Delete http://127.0.0.1:9/keyward-hook' }).click();
  await dialog(page).getByRole('button', { name: 'Delete webhook' }).click();
  await page.getByText('No webhooks yet.').waitFor();
  await done(page);
});

test('Team > Service Accounts: create, keys, revoke, delete with a count of keys', TIMEOUT, async () => {
  const page = await openPage();
  await signIn(page, ADMIN_KEY);
  await page.getByRole('navigation').getByRole('link', { name: 'Service Accounts' }).click();
  await page.getByRole('heading', { level: 1, name: 'Service Accounts' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Service Accounts' }).getAttribute('aria-current'), 'page');

  await page.getByRole('button', { name: 'Create a service account' }).click();
  await dialog(page).getByLabel('Name').fill('ci-bot');
  assert.equal(await dialog(page).getByLabel('Role').inputValue(), 'TENANT_ADMIN');
  await dialog(page).getByRole('button', { name: 'Create' }).click();
  const card = page.getByRole('region', { name: 'ci-bot' });
  await card.waitFor();
  assert.match(await card.textContent(), /Tenant admin · 0 API keys/);
  const accountId = await card.getAttribute('data-account-id');

  const opener = card.getByRole('button', { name: 'Create an API key for ci-bot' });
  await opener.click();
  assert.equal(await dialog(page).getByLabel('Tenant').count(), 0, 'a service account has one tenant');
  await dialog(page).getByRole('button', { name: 'Cancel' }).click();
  const secrets = {};
  for (const name of ['deploy', 'nightly', 'scratch']) {
    secrets[name] = await createKeyInPage(page, opener, name, name === 'nightly' ? 'In 90 days' : 'Never');
    await dialog(page).getByRole('button', { name: 'Done' }).click();
    await card.getByRole('rowheader', { name }).waitFor();
  }
  for (const secret of Object.values(secrets)) {
    assert.match(secret, /^kws_/);
    const who = await verify(secret);
    assert.deepEqual([who.status, who.userId], [200, accountId]);
  }
  await shot(page, '07-service-accounts');

  await card.getByRole('button', { name: 'Delete scratch' }).click();
  assert.equal(await dialog(page).locator('.confirm-message').textContent(), 'Are you sure you want to delete scratch?');
  await dialog(page).getByRole('button', { name: 'Delete' }).click();
  await card.getByRole('rowheader', { name: 'scratch' }).waitFor({ state: 'detached' });
  assert.equal((await verify(secrets.scratch)).status, 401);
  assert.equal((await verify(secrets.deploy)).status, 200);

  await card.getByRole('button', { name: 'Delete account ci-bot' }).click();
  const confirm = dialog(page);
  assert.equal(await confirm.locator('.confirm-message').textContent(), 'Are you sure you want to delete ci-bot?');
  assert.match(await confirm.textContent(), /Its 2 API keys will stop working at once\./);
  await shot(page, '08-confirm-delete-service-account');
  await confirm.getByRole('button', { name: 'Delete service account' }).click();
  await card.waitFor({ state: 'detached' });
  assert.equal((await verify(secrets.deploy)).status, 401);
  assert.equal((await verify(secrets.nightly)).status, 401);
  await page.getByText('No service accounts yet.').waitFor();
  await done(page);
});

test('Team > Members: invite, join in the page, change a role, remove; non-admins see no Team pages', TIMEOUT, async () => {
  const page = await openPage();
  await signIn(page, ADMIN_KEY);
  await page.getByRole('link', { name: 'Members' }).click();
  await page.getByRole('heading', { level: 1, name: 'Members' }).waitFor();
  const me = row(page, 'admin@localhost');
  assert.match(await me.textContent(), /you/);
  assert.equal(await me.getByLabel('Role of admin@localhost').inputValue(), 'TENANT_ADMIN');

  async function invite(email, role) {
    await page.getByRole('button', { name: 'Invite a member' }).click();
    await dialog(page).getByLabel('E-mail').fill(email);
    await dialog(page).getByLabel('Role').selectOption({ label: role });
    await dialog(page).getByRole('button', { name: 'Invite' }).click();
    await dialog(page).getByRole('heading', { name: 'Invitation created' }).waitFor();
    const token = await dialog(page).getByLabel('Invitation token').inputValue();
    assert.match(token, /^kwi_/);
    await dialog(page).getByRole('button', { name: 'Done' }).click();
    await row(page, email).waitFor();
    return token;
  }
  const devToken = await invite('dev@example.test', 'User');
  const tempToken = await invite('temp@example.test', 'Read-only user');
  assert.match(await row(page, 'dev@example.test').textContent(), /User.*Pending, until/);

  await page.getByRole('button', { name: 'Revoke the invitation for temp@example.test' }).click();
  assert.equal(await dialog(page).locator('.confirm-message').textContent(),
    'Are you sure you want to revoke the invitation for temp@example.test?');
  await dialog(page).getByRole('button', { name: 'Revoke' }).click();
  await row(page, 'temp@example.test').filter({ hasText: 'Revoked' }).waitFor();
  const refused = await gql(null, 'mutation ($t: String!) { accept_membership_invitation(input: { token: $t }) { key } }', { t: tempToken });
  assert.ok(refused.errors, 'a revoked invitation is refused');
  await shot(page, '09-members');

  // The invitee joins from the sign-in page, gets a first key once, and signs in with it.
  const dev = await openPage();
  await dev.goto('/');
  await dev.getByText('Join with an invitation').click();
  await dev.getByLabel('Invitation token').fill(devToken);
  await dev.getByLabel('Name of your first key (optional)').fill('dev laptop');
  await dev.getByRole('button', { name: 'Join' }).click();
  await dialog(dev).getByRole('heading', { name: 'Welcome: your first API key' }).waitFor();
  const devKey = await dialog(dev).getByLabel('API key').inputValue();
  await shot(dev, '10-join-with-invitation');
  await dialog(dev).getByRole('button', { name: 'Sign in with this key' }).click();
  await dev.getByRole('heading', { level: 1, name: 'API Keys' }).waitFor();
  assert.equal(await row(dev, 'dev laptop').count(), 1);
  assert.equal(await dev.getByRole('rowheader').count(), 1, 'a user sees only their own keys');
  assert.equal(await dev.getByRole('link', { name: 'Service Accounts' }).count(), 0);
  assert.equal(await dev.getByRole('link', { name: 'Members' }).count(), 0);
  assert.match(await dev.getByRole('banner').textContent(), /dev@example\.test.*Default · User/);
  await shot(dev, '11-non-admin-api-keys');
  await dev.goto('/#/team/service-accounts');
  await dev.getByRole('heading', { level: 1, name: 'Not available' }).waitFor();
  await shot(dev, '12-non-admin-team-page');
  // Hiding a page is a courtesy; the server is what refuses.
  const forbidden = await gql(devKey, 'mutation { create_service_account(input: { name: "sneaky" }) { id } }');
  assert.equal(forbidden.errors[0].extensions.code, 'FORBIDDEN');
  const invs = await data(devKey, '{ membership_invitation { id } }');
  assert.deepEqual(invs.membership_invitation, []);

  // Back to the admin: the new member is listed; demote, then remove.
  await page.reload();
  const devRow = row(page, 'dev@example.test').filter({ has: page.getByLabel('Role of dev@example.test') });
  await devRow.waitFor();
  await devRow.getByLabel('Role of dev@example.test').selectOption({ label: 'Read-only user' });
  await page.getByRole('status').filter({ hasText: 'dev@example.test is now read-only user.' }).waitFor();
  const roles = await data(ADMIN_KEY, '{ membership { role user { email } } }');
  assert.equal(roles.membership.find((m) => m.user.email === 'dev@example.test').role, 'READ_ONLY_USER');

  // The last admin cannot demote itself: the server says no and the page shows the role it kept.
  await me.getByLabel('Role of admin@localhost').selectOption({ label: 'User' });
  await page.getByRole('status').filter({ hasText: 'the last TENANT_ADMIN of a tenant cannot be demoted' }).waitFor();
  await page.waitForFunction(() => document.querySelector('[aria-label="Role of admin@localhost"]').value === 'TENANT_ADMIN');
  assert.equal((await whoami(ADMIN_KEY)).role, 'TENANT_ADMIN');

  await devRow.getByRole('button', { name: 'Remove dev@example.test' }).click();
  assert.equal(await dialog(page).locator('.confirm-message').textContent(),
    'Are you sure you want to remove dev@example.test from Default?');
  await dialog(page).getByRole('button', { name: 'Remove' }).click();
  await devRow.waitFor({ state: 'detached' });
  assert.equal((await verify(devKey)).status, 401);

  // The removed member's page ends its session on its next request.
  await dev.goto('/#/keys');
  await dev.getByRole('heading', { name: 'Sign in to keyward' }).waitFor();
  await dev.getByText(/Please sign in again|You were signed out/).waitFor();
  assert.equal(await dev.evaluate(() => sessionStorage.length), 0);
  await done(dev);
  await done(page);
});

test('Sign out forgets the key; a key revoked elsewhere or in the page ends the session', TIMEOUT, async () => {
  const page = await openPage();
  await signIn(page, ADMIN_KEY);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByText('You signed out.').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  await page.reload();
  await page.getByRole('heading', { name: 'Sign in to keyward' }).waitFor();

  // Revoked over HTTP while signed in: the next thing the page asks fails, and it signs out.
  const elsewhere = await newKey(ADMIN_KEY, 'revoked elsewhere');
  await signIn(page, elsewhere.key);
  await data(ADMIN_KEY, 'mutation ($id: uuid!) { delete_api_key(input: { key_id: $id }) { success } }', { id: elsewhere.id });
  await page.getByRole('link', { name: 'Members' }).click();
  await page.getByText(/You were signed out: This API key was revoked at/).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);

  // Deleting the very key the page is signed in with warns, then signs out.
  const own = await newKey(ADMIN_KEY, 'own session');
  await signIn(page, own.key);
  const ownRow = row(page, 'own session');
  assert.match(await ownRow.textContent(), /this session/);
  await ownRow.getByRole('button', { name: 'Delete own session' }).click();
  assert.match(await dialog(page).textContent(), /You are signed in with this key: deleting it signs you out\./);
  await dialog(page).getByRole('button', { name: 'Delete' }).click();
  await page.getByText('You deleted the key you were signed in with.').waitFor();
  assert.equal((await verify(own.key)).status, 401);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  await done(page);
});

test('names are text, never markup', TIMEOUT, async () => {
  const name = '<img src=x onerror="window.pwned = 1">';
  await newKey(ADMIN_KEY, name);
  const page = await openPage();
  await signIn(page, ADMIN_KEY);
  await page.getByRole('rowheader', { name, exact: true }).waitFor();
  assert.equal(await page.locator('main img').count(), 0);
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  await page.getByRole('button', { name: `Delete ${name}` }).click();
  assert.equal(await dialog(page).locator('.confirm-message').textContent(), `Are you sure you want to delete ${name}?`);
  await dialog(page).getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('rowheader', { name, exact: true }).waitFor({ state: 'detached' });
  await done(page);
});

test('a person in two tenants makes keys in the tenant they are signed in to', TIMEOUT, async () => {
  // Creating a tenant hands its creator the first key for it.
  const created = await data(ADMIN_KEY, 'mutation { create_tenant(input: { name: "Ops", slug: "ops" }) { id key } }');
  const opsId = created.create_tenant.id;
  const page = await openPage();
  await signIn(page, ADMIN_KEY);
  await page.getByRole('button', { name: 'Create an API Key' }).click();
  assert.equal(await dialog(page).getByLabel('Tenant').count(), 0, 'a key works in the signed-in tenant only');
  const note = await dialog(page).locator('[data-tenant-note]').textContent();
  assert.match(note, /work in Default, the tenant you are signed in to\. For a key in Ops, sign in with a key of that tenant/);
  await dialog(page).getByLabel('Name', { exact: true }).fill('default key');
  await dialog(page).getByRole('button', { name: 'Create' }).click();
  await dialog(page).getByRole('heading', { name: 'Your new API key' }).waitFor();
  const inDefault = await dialog(page).getByLabel('API key').inputValue();
  await dialog(page).getByRole('button', { name: 'Done' }).click();
  assert.notEqual((await verify(inDefault)).tenantId, opsId);
  await page.getByRole('button', { name: 'Sign out' }).click();

  // Signed in with the Ops key, new keys work in Ops.
  await signIn(page, created.create_tenant.key);
  await page.getByRole('button', { name: 'Create an API Key' }).click();
  assert.match(await dialog(page).locator('[data-tenant-note]').textContent(), /work in Ops/);
  await dialog(page).getByLabel('Name', { exact: true }).fill('ops key');
  await dialog(page).getByRole('button', { name: 'Create' }).click();
  await dialog(page).getByRole('heading', { name: 'Your new API key' }).waitFor();
  const secret = await dialog(page).getByLabel('API key').inputValue();
  await dialog(page).getByRole('button', { name: 'Done' }).click();
  assert.equal((await verify(secret)).tenantId, opsId);
  // Your keys in every tenant are listed, and any of them can be revoked from here.
  assert.equal(await row(page, 'ops key').locator('[data-label="Tenant"]').textContent(), 'Ops');
  assert.equal(await row(page, 'default key').locator('[data-label="Tenant"]').textContent(), 'Default');
  await shot(page, '16-two-tenants');
  await page.getByRole('button', { name: 'Delete default key' }).click();
  await dialog(page).getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('rowheader', { name: 'default key', exact: true }).waitFor({ state: 'detached' });
  assert.equal((await verify(inDefault)).status, 401);
  await done(page);
});

test('an existing account joins another tenant signed in, with its own key', TIMEOUT, async () => {
  const lab = (await data(ADMIN_KEY, 'mutation { create_tenant(input: { name: "Lab", slug: "lab" }) { id key } }')).create_tenant;
  const invite = async (key, email) => (await data(key,
    'mutation ($input: create_membership_invitation_input!) { create_membership_invitation(input: $input) { token } }',
    { input: { email } })).create_membership_invitation.token;
  const accept = (key, token) => gql(key,
    'mutation ($input: accept_membership_invitation_input!) { accept_membership_invitation(input: $input) { key } }',
    { input: { token } });
  // Pat joins Default as a new person (no key), then is invited to Lab.
  const patKey = (await accept(null, await invite(ADMIN_KEY, 'pat@example.test'))).data.accept_membership_invitation.key;
  const token = await invite(lab.key, 'pat@example.test');
  const anonymous = await accept(null, token);
  assert.match(anonymous.errors[0].message, /sign in as pat@example\.test to accept it/);

  const page = await openPage();
  await signIn(page, patKey);
  const opener = page.getByRole('button', { name: 'Join another tenant' });
  await opener.click();
  await expectFocus(page, 'Invitation token', 'the dialog opens on the token');
  await dialog(page).getByLabel('Invitation token').fill(token);
  await dialog(page).getByRole('button', { name: 'Join' }).click();
  await dialog(page).getByRole('heading', { name: 'Your first key for the new tenant' }).waitFor();
  const secret = await dialog(page).getByLabel('API key').inputValue();
  await shot(page, '17-join-another-tenant');
  await dialog(page).getByRole('button', { name: 'Done' }).click();
  assert.deepEqual(await verify(secret), { status: 200, userId: (await whoami(patKey)).user_id, tenantId: lab.id });
  assert.equal(await row(page, 'first key').filter({ hasText: 'Lab' }).count(), 1, 'the new key is listed with its tenant');
  await done(page);
});

test('a phone-sized window, in dark mode: no sideways scrolling, dialogs fit', TIMEOUT, async () => {
  const page = await openPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, colorScheme: 'dark' });
  await signIn(page, ADMIN_KEY);
  const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(await overflow() <= 0, 'the keys page scrolls sideways');
  await shot(page, '13-phone-api-keys');
  await page.getByRole('button', { name: 'Create an API Key' }).click();
  const box = await dialog(page).boundingBox();
  assert.ok(box.x >= 0 && box.x + box.width <= 390, `the dialog is ${JSON.stringify(box)}`);
  await shot(page, '14-phone-create-key');
  await dialog(page).getByRole('button', { name: 'Cancel' }).click();
  await page.getByRole('link', { name: 'Members' }).click();
  await page.getByRole('heading', { level: 1, name: 'Members' }).waitFor();
  assert.ok(await overflow() <= 0, 'the members page scrolls sideways');
  await shot(page, '15-phone-members');
  await done(page);
});
