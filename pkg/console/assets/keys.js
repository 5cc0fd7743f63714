// The Keys view: list (filters, search as you type, cursor pagination),
// create, edit, rotate, revoke and bulk revoke.
import { h, replace, when, announce, uid } from './dom.js';
import { call, describe } from './api.js';
import { openDialog, confirmDialog } from './dialog.js';
import { showSecret } from './secret.js';
import { keyFields, readFields, showApiError } from './keyform.js';
import { auditDialog } from './audit.js';
import { can } from './scopes.js';

const LOCKED = 'The default key cannot be edited or revoked: keyward minted it for the tenant. It can only be rotated, by itself.';

// keysView renders the view into root for who (whoami).
export function keysView(root, who) {
  const st = { status: '', type: '', q: '', cursors: [null], page: 0, next: null, items: [], selected: new Set() };
  const mayWrite = can(who, 'keys:write');
  const mayRevoke = can(who, 'keys:revoke');
  const mayAudit = can(who, 'audit:read');
  const message = h('p', { class: 'message', role: 'alert', hidden: true });
  const tbody = h('tbody');
  const pageInfo = h('span', { class: 'page-info' });
  const prev = h('button', { type: 'button', onclick: () => { st.page -= 1; load(); } }, '← Previous');
  const next = h('button', { type: 'button', onclick: () => { st.cursors[st.page + 1] = st.next; st.page += 1; load(); } }, 'Next →');
  const revokeSelected = h('button', { type: 'button', class: 'danger', disabled: true, onclick: () => bulkRevoke() }, 'Revoke selected');
  const selectAll = h('input', { type: 'checkbox', id: uid('all'), 'aria-label': 'Select every revocable key on this page' });

  const restart = () => { st.cursors = [null]; st.page = 0; st.selected.clear(); load(); };
  let timer;
  const search = h('input', { type: 'search', id: 'key-search', autocomplete: 'off', placeholder: 'Name starts with…',
    oninput: (e) => { clearTimeout(timer); timer = setTimeout(() => { st.q = e.target.value.trim(); restart(); }, 250); } });
  const status = h('select', { id: 'key-status', onchange: (e) => { st.status = e.target.value; restart(); } },
    ['', 'active', 'revoked', 'expired'].map((s) => h('option', { value: s }, s || 'Any status')));
  const types = who.keyTypes || [];
  const type = types.length
    ? h('select', { id: 'key-type', onchange: (e) => { st.type = e.target.value; restart(); } },
      h('option', { value: '' }, 'Any type'), types.map((t) => h('option', { value: t }, t)))
    : h('input', { id: 'key-type', type: 'text', autocomplete: 'off', placeholder: 'any',
      onchange: (e) => { st.type = e.target.value.trim(); restart(); } });

  selectAll.addEventListener('change', () => {
    for (const k of st.items) if (revocable(k)) { if (selectAll.checked) st.selected.add(k.id); else st.selected.delete(k.id); }
    renderRows();
  });

  replace(root,
    h('div', { class: 'view-head' }, h('h1', null, 'Keys'),
      mayWrite ? h('button', { type: 'button', class: 'primary', id: 'create-key', onclick: () => createKey() }, '+ Create key') : null),
    h('div', { class: 'filters', role: 'search', 'aria-label': 'Filter keys' },
      h('div', { class: 'field' }, h('label', { for: 'key-search' }, 'Search by name'), search),
      h('div', { class: 'field' }, h('label', { for: 'key-status' }, 'Status'), status),
      h('div', { class: 'field' }, h('label', { for: 'key-type' }, 'Type'), type),
      h('div', { class: 'field end' }, h('button', { type: 'button', id: 'refresh-keys', onclick: () => load() }, '↻ Refresh'), ' ',
        mayRevoke ? revokeSelected : null)),
    message,
    h('div', { class: 'table-wrap' }, h('table', { class: 'keys' },
      h('caption', { class: 'visually-hidden' }, 'Keys of this tenant, newest first'),
      h('thead', null, h('tr', null,
        mayRevoke ? h('th', { scope: 'col' }, selectAll) : null,
        ['Name', 'Type', 'Scopes', 'Status', 'Hint', 'Created', 'Last used', 'Expires', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
      tbody)),
    h('nav', { class: 'pager', 'aria-label': 'Pages of keys' }, prev, pageInfo, next));

  function revocable(k) { return mayRevoke && !k.isDefault && k.status !== 'revoked'; }

  function showMessage(text) { message.hidden = !text; message.textContent = text || ''; }

  // load fetches the current page; an answer that a newer load overtook
  // (typing fast in the search box) is dropped.
  let latest = 0;
  async function load() {
    const mine = ++latest;
    showMessage('');
    tbody.setAttribute('aria-busy', 'true');
    let items = []; let nextCursor = null; let failure = null;
    try {
      const { data } = await call('GET', '/keys', { query: { status: st.status, type: st.type, q: st.q, limit: 20, cursor: st.cursors[st.page] } });
      items = data.items || [];
      nextCursor = data.nextCursor || null;
    } catch (err) {
      failure = err;
    }
    if (mine !== latest) return;
    st.items = items; st.next = nextCursor;
    if (failure) showMessage(describe(failure));
    tbody.removeAttribute('aria-busy');
    renderRows();
  }

  function renderRows() {
    const cols = mayRevoke ? 10 : 9;
    // Re-rendering replaces the rows: keep focus on the same control.
    const focusKey = tbody.contains(document.activeElement) ? document.activeElement.dataset.focusKey : undefined;
    replace(tbody, st.items.length ? st.items.map(row) : h('tr', null, h('td', { colspan: String(cols), class: 'empty' }, 'No keys match.')));
    if (focusKey) {
      const again = tbody.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`);
      if (again) again.focus(); else main().focus();
    }
    prev.disabled = st.page === 0;
    next.disabled = !st.next;
    pageInfo.textContent = `Page ${st.page + 1}`;
    const n = st.selected.size;
    revokeSelected.disabled = n === 0;
    revokeSelected.textContent = n ? `Revoke selected (${n})` : 'Revoke selected';
    const candidates = st.items.filter(revocable);
    selectAll.checked = candidates.length > 0 && candidates.every((k) => st.selected.has(k.id));
  }

  function row(k) {
    const cells = [];
    if (mayRevoke) {
      const box = h('input', { type: 'checkbox', 'aria-label': `Select ${k.name}`, checked: st.selected.has(k.id), disabled: !revocable(k),
        'data-focus-key': 'select:' + k.id,
        onchange: (e) => { if (e.target.checked) st.selected.add(k.id); else st.selected.delete(k.id); renderRows(); } });
      cells.push(h('td', null, box));
    }
    cells.push(h('th', { scope: 'row' }, h('span', { class: 'name' }, k.name),
      k.isDefault ? h('span', { class: 'badge default' }, '★ Default') : null,
      k.description ? h('span', { class: 'desc' }, k.description) : null));
    cells.push(h('td', null, k.type));
    cells.push(h('td', null, h('ul', { class: 'scope-list' }, (k.scopes || []).map((s) => h('li', { class: 'mono' }, s)))));
    cells.push(h('td', null, h('span', { class: 'badge status-' + k.status }, statusLabel(k.status))));
    cells.push(h('td', { class: 'mono' }, k.hint));
    cells.push(h('td', null, when(k.createdAt), h('span', { class: 'by' }, 'by ', h('span', { class: 'mono' }, k.createdBy || 'keyward'))));
    cells.push(h('td', null, when(k.lastUsedAt, 'never')));
    cells.push(h('td', null, when(k.expiresAt, 'never')));
    cells.push(h('td', { class: 'actions' }, actions(k)));
    return h('tr', { 'data-key-id': k.id }, cells);
  }

  function actions(k) {
    const out = [];
    const btn = (label, verb, fn, cls) => h('button', { type: 'button', class: cls, 'aria-label': `${label} ${k.name}`, 'data-focus-key': verb + ':' + k.id, onclick: fn }, label);
    const active = k.status === 'active';
    if (k.isDefault) {
      out.push(h('span', { class: 'locked', tabindex: '0', title: LOCKED, 'aria-label': 'Locked: ' + LOCKED }, '🔒 Locked'));
      if (mayWrite && active && k.id === who.keyId) out.push(btn('Rotate', 'rotate', () => rotateKey(k)));
    } else if (active) {
      if (mayWrite) out.push(btn('Edit', 'edit', () => editKey(k)), btn('Rotate', 'rotate', () => rotateKey(k)));
      if (mayRevoke) out.push(btn('Revoke', 'revoke', () => revokeKey(k), 'danger'));
    }
    if (mayAudit) out.push(btn('Audit', 'audit', () => auditDialog(k)));
    return out;
  }

  function formDialog({ title, fields, submitLabel, submit, extra = [] }) {
    const error = h('p', { class: 'message', role: 'alert', hidden: true });
    const form = h('form', { novalidate: true }, error, extra, Object.values(fields).map((f) => f.wrap));
    const save = h('button', { type: 'submit', class: 'primary' }, submitLabel);
    form.append(h('div', { class: 'form-actions' }, h('button', { type: 'button', onclick: () => d.close() }, 'Cancel'), save));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      error.hidden = true;
      save.disabled = true;
      try { await submit(error); } finally { save.disabled = false; }
    });
    const d = openDialog({ title, body: form, wide: true });
    return d;
  }

  function createKey() {
    const fields = keyFields(who);
    const d = formDialog({
      title: 'Create a key', fields, submitLabel: 'Create key',
      submit: async (error) => {
        const body = readFields(fields);
        if (!body) return;
        try {
          const { data } = await call('POST', '/keys', { body });
          d.close();
          announce(`Key ${data.name} created.`);
          await showSecret(data, { title: `Key “${data.name}” created` });
          restart();
        } catch (err) {
          if (!showApiError(fields, err)) { error.textContent = describe(err); error.hidden = false; }
        }
      },
    });
  }

  async function editKey(k) {
    let fresh; let etag;
    try { ({ data: fresh, etag } = await call('GET', '/keys/' + encodeURIComponent(k.id))); } catch (err) { showMessage(describe(err)); return; }
    const fields = keyFields(who, fresh);
    const advanced = h('details', { class: 'advanced' }, h('summary', null, 'Advanced: allow-lists, metadata, expiry'),
      fields.ips.wrap, fields.origins.wrap, fields.metadata.wrap, fields.expiresAt.wrap);
    const shown = { name: fields.name, description: fields.description };
    const d = formDialog({
      title: `Edit “${fresh.name}”`, fields: shown, submitLabel: 'Save changes',
      submit: async (error) => {
        const body = readFields(fields, fresh);
        if (!body) { if (!advanced.open && advanced.querySelector('[aria-invalid]')) advanced.open = true; return; }
        if (Object.keys(body).length === 0) { d.close(); return; }
        try {
          await call('PATCH', '/keys/' + encodeURIComponent(k.id), { body, ifMatch: etag });
          d.close();
          announce(`Key ${body.name || fresh.name} saved.`);
          load();
        } catch (err) {
          if (err.status === 412 || !showApiError(fields, err)) {
            if (fields[err.field] === undefined && err.field && !advanced.open) advanced.open = true;
            error.textContent = describe(err); error.hidden = false;
          }
        }
      },
    });
    d.el.querySelector('form .form-actions').before(advanced);
  }

  function rotateKey(k) {
    const name = uid('grace');
    const options = [['0', 'None: the old secret stops now'], ['3600', '1 hour'], ['86400', '24 hours'], ['604800', '7 days']];
    const radios = options.map(([v, label], i) => {
      const r = h('input', { type: 'radio', name, value: v, id: `${name}-${v}`, checked: i === 0 });
      return h('div', { class: 'check' }, r, h('label', { for: r.id }, label));
    });
    const error = h('p', { class: 'message', role: 'alert', hidden: true });
    const go = h('button', { type: 'button', class: 'primary' }, 'Rotate');
    const d = openDialog({
      title: `Rotate “${k.name}”`,
      body: [h('p', null, 'Rotating issues a new secret. How long should the current secret keep working?'),
        h('fieldset', null, h('legend', null, 'Grace period for the old secret'), radios), error],
      actions: [h('button', { type: 'button', onclick: () => d.close() }, 'Cancel'), go],
    });
    go.addEventListener('click', async () => {
      const grace = Number(d.el.querySelector(`input[name="${name}"]:checked`).value);
      go.disabled = true;
      try {
        const { data } = await call('POST', `/keys/${encodeURIComponent(k.id)}/rotate`, { body: { gracePeriodSeconds: grace } });
        d.close();
        announce(`Key ${k.name} rotated.`);
        await showSecret(data, { title: `Key “${k.name}” rotated` });
        load();
      } catch (err) {
        error.textContent = describe(err); error.hidden = false; go.disabled = false;
      }
    });
  }

  async function revokeKey(k) {
    const ok = await confirmDialog({
      title: `Revoke “${k.name}”?`,
      message: `Key “${k.name}” (${k.hint}) will stop working within seconds, everywhere. This cannot be undone.`,
      confirmLabel: `Revoke “${k.name}”`, danger: true,
    });
    if (!ok) return;
    try {
      await call('DELETE', '/keys/' + encodeURIComponent(k.id));
      announce(`Key ${k.name} revoked.`);
      st.selected.delete(k.id);
      await load();
    } catch (err) { showMessage(describe(err)); }
  }

  async function bulkRevoke() {
    const names = new Map(st.items.map((k) => [k.id, k.name]));
    const ids = [...st.selected];
    const label = (id) => names.get(id) || id;
    const ok = await confirmDialog({
      title: `Revoke ${ids.length} key${ids.length === 1 ? '' : 's'}?`,
      message: `These keys will stop working within seconds: ${ids.map(label).join(', ')}. This cannot be undone.`,
      confirmLabel: `Revoke ${ids.length} key${ids.length === 1 ? '' : 's'}`, danger: true,
    });
    if (!ok) return;
    let results;
    try {
      ({ data: { results } } = await call('POST', '/keys/batch-revoke', { body: { ids } }));
    } catch (err) { showMessage(describe(err)); return; }
    st.selected.clear();
    const failed = results.filter((r) => r.status !== 'revoked').length;
    const d = openDialog({
      title: 'Bulk revoke: results',
      body: [h('p', null, `${results.length - failed} revoked, ${failed} failed.`),
        h('ul', { class: 'results' }, results.map((r) => h('li', { class: r.status === 'revoked' ? 'ok' : 'failed' },
          r.status === 'revoked' ? '✓ ' : '✗ ', h('strong', null, label(r.id)), ': ',
          r.status === 'revoked' ? 'revoked' : `failed (${r.error ? r.error.code + ': ' + r.error.message : r.status})`)))],
      actions: [h('button', { type: 'button', class: 'primary', onclick: () => d.close() }, 'Close')],
    });
    load();
  }

  load();
}

function main() { return document.getElementById('main'); }

function statusLabel(s) {
  return { active: '● Active', revoked: '✕ Revoked', expired: '◌ Expired' }[s] || s;
}
