// The API client. The token lives in this module's memory; only when the
// person asks to stay signed in is it also kept in sessionStorage (this tab
// only, gone when the tab closes). It is never put in localStorage, a cookie
// or a URL, and requests send no cookies and no Referer.

const STORAGE_KEY = 'keyward.token';

// The API sits beside the console on the same origin: /console → /v1,
// /prod/console → /prod/v1.
const base = location.pathname.replace(/\/console\/?$/, '') + '/v1';

let token = null;
let tenant = null;

// session holds who is signed in.
export const session = {
  // restore reads a token kept for this tab, if any.
  restore() {
    try { token = sessionStorage.getItem(STORAGE_KEY); } catch { token = null; }
    return token !== null;
  },
  signIn(t, remember) {
    token = t;
    try {
      if (remember) sessionStorage.setItem(STORAGE_KEY, t);
      else sessionStorage.removeItem(STORAGE_KEY);
    } catch { /* storage disabled: memory only */ }
  },
  signOut() {
    token = null;
    tenant = null;
    try { sessionStorage.removeItem(STORAGE_KEY); } catch { /* nothing kept */ }
  },
  get signedIn() { return token !== null; },
  // tenant is the tenant a platform key acts in (sent as Keyward-Tenant);
  // null acts in the key's own tenant.
  get tenant() { return tenant; },
  set tenant(t) { tenant = t || null; },
};

// ApiError is a refused or failed call: HTTP status, the API's error code,
// its message and, for a field error, the field it names.
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || '';
  }
}

// call sends one request and returns {data, etag}; it throws ApiError.
// home: true sends no Keyward-Tenant (the platform's own routes, /v1/tenants).
export async function call(method, path, { body, query, ifMatch, home = false } = {}) {
  if (token === null) throw new ApiError(401, 'unauthorized', 'Not signed in.');
  const url = new URL(base + path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  }
  const headers = { Authorization: 'Bearer ' + token, Accept: 'application/json' };
  if (tenant && !home) headers['Keyward-Tenant'] = tenant;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (ifMatch) headers['If-Match'] = ifMatch;
  let resp;
  try {
    resp = await fetch(url, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer',
    });
  } catch {
    throw new ApiError(0, 'network', 'The API could not be reached. Check your connection and try again.');
  }
  let data = null;
  const text = await resp.text();
  if (text) { try { data = JSON.parse(text); } catch { data = null; } }
  if (!resp.ok) {
    const e = (data && data.error) || {};
    throw new ApiError(resp.status, e.code || 'http_' + resp.status, e.message || resp.statusText || 'Request failed.', e.field);
  }
  return { data, etag: resp.headers.get('ETag') };
}

// describe turns an error into one sentence for a person.
export function describe(err) {
  if (!(err instanceof ApiError)) return 'Something went wrong: ' + String(err && err.message ? err.message : err);
  switch (err.status) {
    case 401: return 'Your token was not accepted (401): it may be revoked, expired or mistyped.';
    case 403: return 'This key may not do that (403): ' + err.message;
    case 412: return 'Someone changed this key after you opened it (412). Reload it to see their change, then edit again.';
    case 503: return 'The service is busy (503). Try again in a moment.';
    default: return err.message + (err.status ? ` (${err.status} ${err.code})` : '');
  }
}
