// Audit views: the global one (filters by key, action, actor and time) and a
// per-key modal. Both list newest first and follow the API's cursors.
import { h, replace, when, uid } from './dom.js';
import { call, describe } from './api.js';
import { openDialog } from './dialog.js';

const ACTIONS = ['key.created', 'key.updated', 'key.rotated', 'key.revoked', 'key.leaked', 'key.purged', 'policy.updated', 'tenant.created', 'tenant.suspended', 'tenant.resumed'];

function show(v) {
  if (v === null || v === undefined || v === '') return '∅';
  if (Array.isArray(v)) return v.length ? v.join(', ') : '[]';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function changes(c) {
  const entries = Object.entries(c || {});
  if (!entries.length) return h('span', { class: 'muted' }, 'no field changes');
  return h('ul', { class: 'changes' }, entries.map(([f, { from, to }]) => h('li', null,
    h('span', { class: 'mono field-name' }, f), ': ', h('del', null, show(from)), ' → ', h('ins', null, show(to)))));
}

// auditTable returns a table of records fetched with query, its pager, and
// load(query) to (re)start from the first page.
function auditTable(caption, withKey) {
  const st = { query: {}, cursors: [null], page: 0, next: null };
  const message = h('p', { class: 'message', role: 'alert', hidden: true });
  const tbody = h('tbody');
  const info = h('span', { class: 'page-info' });
  const prev = h('button', { type: 'button', onclick: () => { st.page -= 1; fetchPage(); } }, '← Newer');
  const next = h('button', { type: 'button', onclick: () => { st.cursors[st.page + 1] = st.next; st.page += 1; fetchPage(); } }, 'Older →');
  const cols = ['When', 'Action', withKey ? 'Key' : null, 'Who', 'Changes'].filter(Boolean);
  const el = h('div', { class: 'audit' }, message,
    h('div', { class: 'table-wrap' }, h('table', { class: 'audit-table' }, h('caption', { class: 'visually-hidden' }, caption),
      h('thead', null, h('tr', null, cols.map((c) => h('th', { scope: 'col' }, c)))), tbody)),
    h('nav', { class: 'pager', 'aria-label': 'Pages of audit records' }, prev, info, next));

  let latest = 0; // answers overtaken by a newer request are dropped
  async function fetchPage() {
    const mine = ++latest;
    message.hidden = true;
    let items = []; let nextCursor = null; let failure = null;
    try {
      const { data } = await call('GET', '/audit', { query: { ...st.query, limit: 20, cursor: st.cursors[st.page] } });
      items = data.items || [];
      nextCursor = data.nextCursor || null;
    } catch (err) {
      failure = err;
    }
    if (mine !== latest) return;
    st.next = nextCursor;
    if (failure) { message.textContent = describe(failure); message.hidden = false; }
    replace(tbody, items.length ? items.map((r) => h('tr', null,
      h('td', null, when(r.at)),
      h('td', null, h('span', { class: 'badge action' }, r.action)),
      withKey ? h('td', { class: 'mono' }, r.keyId || (r.subjectTenantId ? 'tenant ' + r.subjectTenantId : '—')) : null,
      h('td', null, h('span', { class: 'mono actor' }, r.actor), r.actorKeyId && r.actorKeyId !== r.actor
        ? h('span', { class: 'by' }, 'with key ', r.actorKeyName ? `${r.actorKeyName} ` : '', h('span', { class: 'mono' }, r.actorKeyId)) : null),
      h('td', null, changes(r.changes)))) : h('tr', null, h('td', { colspan: String(cols.length), class: 'empty' }, 'No audit records match.')));
    prev.disabled = st.page === 0;
    next.disabled = !st.next;
    info.textContent = `Page ${st.page + 1}`;
  }
  return { el, load: (query) => { st.query = query; st.cursors = [null]; st.page = 0; return fetchPage(); } };
}

// auditView renders the global audit view into root.
export function auditView(root) {
  const table = auditTable('Audit records, newest first', true);
  const input = (id, label, attrs) => h('div', { class: 'field' }, h('label', { for: id }, label), h('input', { id, autocomplete: 'off', ...attrs }));
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter audit records' },
    input('audit-key', 'Key ID', { type: 'text', placeholder: 'key_…', class: 'mono' }),
    h('div', { class: 'field' }, h('label', { for: 'audit-action' }, 'Action'),
      h('select', { id: 'audit-action' }, h('option', { value: '' }, 'Any action'), ACTIONS.map((a) => h('option', { value: a }, a)))),
    input('audit-actor', 'Actor', { type: 'text', placeholder: 'key ID or person' }),
    input('audit-from', 'From', { type: 'datetime-local' }),
    input('audit-to', 'Until', { type: 'datetime-local' }),
    h('div', { class: 'field end' }, h('button', { type: 'submit', class: 'primary' }, 'Apply filters')));
  const iso = (v) => (v ? new Date(v).toISOString() : '');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = (id) => form.querySelector('#' + id).value.trim();
    table.load({ keyId: v('audit-key'), action: v('audit-action'), actor: v('audit-actor'), from: iso(v('audit-from')), to: iso(v('audit-to')) });
  });
  replace(root, h('div', { class: 'view-head' }, h('h1', null, 'Audit trail')), form, table.el);
  table.load({});
}

// auditDialog shows one key's audit records in a modal.
export function auditDialog(key) {
  const table = auditTable(`Audit records of ${key.name}, newest first`, false);
  const d = openDialog({
    title: `Audit: “${key.name}”`, wide: true,
    body: [h('p', { class: 'mono muted', id: uid('kid') }, key.id), table.el],
    actions: [h('button', { type: 'button', class: 'primary', onclick: () => d.close() }, 'Close')],
  });
  table.load({ keyId: key.id });
}
