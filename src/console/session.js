// Who is signed in. The key lives in this tab's sessionStorage only; a key
// that stops working (revoked, expired) ends the session with the reason.
import { request } from './api.js';

const STORAGE_KEY = 'keyward.apiKey';

export const session = { key: null, me: null, tenants: [], name: '' };

export const savedKey = () => sessionStorage.getItem(STORAGE_KEY);

export const isAdmin = () => session.me?.role === 'TENANT_ADMIN';
export const tenantName = (id) => session.tenants.find((t) => t.id === id)?.name ?? id;

let onEnd = () => {};

/** What happens when a session ends (app.js shows the sign-in page). */
export function whenSessionEnds(handler) {
  onEnd = handler;
}

export function startSession(key, me, tenants, name) {
  Object.assign(session, { key, me, tenants, name });
  sessionStorage.setItem(STORAGE_KEY, key);
}

export function endSession(message) {
  sessionStorage.removeItem(STORAGE_KEY);
  Object.assign(session, { key: null, me: null, tenants: [], name: '' });
  onEnd(message);
}

/** A request with the session's key; a key that stopped working ends the session. */
export async function call(query, variables = {}) {
  try {
    return await request(query, variables, session.key);
  } catch (e) {
    if (e.code === 'UNAUTHENTICATED') endSession(`You were signed out: ${e.message}`);
    throw e;
  }
}
