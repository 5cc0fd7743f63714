// The console's shell: sign-in, the header (who is signed in, the tenant a
// platform key acts in, navigation, sign out) and the views. A view is one
// entry of `views`: what it is called, which keys may see it, and how it
// renders. The tenant picker (keys holding tenants:act) sets session.tenant,
// which every call then sends as Keyward-Tenant.
import { h, replace, announce, field } from './dom.js';
import { session, call, describe } from './api.js';
import { keysView } from './keys.js';
import { auditView } from './audit.js';
import { tenantsView } from './tenants.js';
import { can } from './scopes.js';

const views = [
  { id: 'keys', label: 'Keys', allowed: (who) => can(who, 'keys:read'), render: keysView },
  { id: 'audit', label: 'Audit', allowed: (who) => can(who, 'audit:read'), render: auditView },
  { id: 'tenants', label: 'Tenants', allowed: (who) => can(who, 'tenants:admin') && !who.actingTenantId, render: tenantsView },
];

const top = document.getElementById('top');
const main = document.getElementById('main');
let who = null;

function signInScreen(message) {
  who = null;
  document.title = 'Sign in · keyward console';
  replace(top, h('span', { class: 'brand' }, 'keyward'));
  const token = field('API token', h('input', { type: 'password', autocomplete: 'off', spellcheck: 'false', required: true, class: 'mono', id: 'token' }),
    'Paste a key\'s token (kw_…). It is kept in this page\'s memory only.');
  const remember = h('input', { type: 'checkbox', id: 'remember' });
  const error = h('p', { class: 'message', role: 'alert', hidden: !message }, message || '');
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h('form', { class: 'signin', novalidate: true }, h('h1', null, 'Sign in to the keyward console'), error, token.wrap,
    h('p', { class: 'check' }, remember, h('label', { for: 'remember' }, 'Stay signed in while this tab is open (sessionStorage)')),
    submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const t = token.control.value.trim();
    token.setError(t ? '' : 'Paste a token.');
    if (!t) { token.control.focus(); return; }
    submit.disabled = true;
    session.signIn(t, remember.checked);
    token.control.value = '';
    const ok = await start();
    if (!ok) submit.disabled = false;
  });
  replace(main, form);
  token.control.focus();
}

// start asks whoami and shows the console, or the sign-in screen on failure.
async function start() {
  try {
    ({ data: who } = await call('GET', '/whoami'));
  } catch (err) {
    session.signOut();
    signInScreen(describe(err));
    return false;
  }
  shell();
  return true;
}

function shell() {
  const allowed = views.filter((v) => v.allowed(who));
  const nav = h('nav', { 'aria-label': 'Console' }, h('ul', null, allowed.map((v) => h('li', null,
    h('a', { href: '#' + v.id, 'data-view': v.id }, v.label)))));
  const scopes = (who.scopes || []).join(' ');
  replace(top,
    h('span', { class: 'brand' }, 'keyward'), nav,
    h('div', { class: 'whoami' },
      h('span', null, 'Signed in as ', h('strong', { id: 'who-name' }, who.name || who.keyId)),
      can(who, 'tenants:act') ? tenantPicker() : h('span', null, 'Tenant ', h('strong', { id: 'who-tenant', class: 'mono' }, who.tenantId)),
      h('span', { class: 'scopes-held', title: 'Scopes of this key' }, 'Scopes: ', h('span', { class: 'mono' }, scopes))),
    h('button', { type: 'button', id: 'sign-out', onclick: signOut }, 'Sign out'));
  if (!allowed.length) {
    replace(main, h('h1', null, 'Nothing to manage'), h('p', null, `This key (${scopes || 'no scopes'}) may not read keys or the audit trail.`));
    return;
  }
  route();
}

// tenantPicker lets a platform key choose the tenant it acts in: its own,
// or one of the tenants it may list.
function tenantPicker() {
  const acting = who.actingTenantId || who.tenantId;
  const select = h('select', { id: 'acting-tenant' }, h('option', { value: who.tenantId }, `${who.tenantId} (own)`));
  if (who.actingTenantId) select.append(h('option', { value: who.actingTenantId }, who.actingTenantId));
  select.value = acting;
  // The choices are the tenants this key may list, read again whenever the
  // picker gets focus (tenants come and go in the Tenants view).
  const refresh = () => call('GET', '/tenants', { home: true, query: { limit: 100 } }).then(({ data }) => {
    const have = new Set([...select.options].map((o) => o.value));
    for (const tn of data.items || []) if (!have.has(tn.id)) select.append(h('option', { value: tn.id }, tn.id));
  }, () => { /* the list is a convenience: the current choice stays */ });
  if (can(who, 'tenants:admin')) {
    refresh();
    select.addEventListener('focus', refresh);
  }
  select.addEventListener('change', async () => {
    const before = session.tenant;
    session.tenant = select.value === who.tenantId ? null : select.value;
    try {
      ({ data: who } = await call('GET', '/whoami'));
    } catch (err) {
      session.tenant = before;
      select.value = acting;
      announce(describe(err));
      return;
    }
    const chosen = select.value;
    shell();
    announce(`Acting in tenant ${chosen}.`);
    document.getElementById('acting-tenant').focus();
  });
  return h('span', { class: 'picker' }, h('label', { for: 'acting-tenant' }, 'Acting in tenant'), select,
    h('strong', { id: 'who-tenant', class: 'visually-hidden' }, acting));
}

function route() {
  if (!who) return;
  const allowed = views.filter((v) => v.allowed(who));
  if (!allowed.length) return;
  const v = allowed.find((x) => '#' + x.id === location.hash) || allowed[0];
  for (const a of top.querySelectorAll('nav a')) {
    if (a.dataset.view === v.id) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  document.title = `${v.label} · keyward console`;
  v.render(main, who);
}

function signOut() {
  for (const d of document.querySelectorAll('dialog')) d.remove();
  session.signOut();
  history.replaceState(null, '', location.pathname);
  signInScreen();
  announce('Signed out.');
}

window.addEventListener('hashchange', () => { route(); main.focus(); });

if (session.restore()) start(); else signInScreen();
