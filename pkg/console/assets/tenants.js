// The Tenants view (platform keys holding tenants:admin): list, create (the
// new tenant's default key shown once, in the one-time dialog), suspend and
// resume.
import { h, replace, when, field, announce } from './dom.js';
import { call, describe } from './api.js';
import { openDialog, confirmDialog } from './dialog.js';
import { showSecret } from './secret.js';

// tenantsView renders the view into root.
export function tenantsView(root) {
  const st = { cursors: [null], page: 0, next: null };
  const message = h('p', { class: 'message', role: 'alert', hidden: true });
  const tbody = h('tbody');
  const info = h('span', { class: 'page-info' });
  const prev = h('button', { type: 'button', onclick: () => { st.page -= 1; load(); } }, '← Previous');
  const next = h('button', { type: 'button', onclick: () => { st.cursors[st.page + 1] = st.next; st.page += 1; load(); } }, 'Next →');
  replace(root,
    h('div', { class: 'view-head' }, h('h1', null, 'Tenants'),
      h('button', { type: 'button', class: 'primary', id: 'create-tenant', onclick: () => createTenant() }, '+ Create tenant')),
    message,
    h('div', { class: 'table-wrap' }, h('table', { class: 'tenants' },
      h('caption', { class: 'visually-hidden' }, 'Tenants, newest first'),
      h('thead', null, h('tr', null, ['ID', 'Name', 'Status', 'Created', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
      tbody)),
    h('nav', { class: 'pager', 'aria-label': 'Pages of tenants' }, prev, info, next));

  let latest = 0;
  async function load() {
    const mine = ++latest;
    message.hidden = true;
    let items = []; let failure = null; let nextCursor = null;
    try {
      const { data } = await call('GET', '/tenants', { home: true, query: { limit: 20, cursor: st.cursors[st.page] } });
      items = data.items || []; nextCursor = data.nextCursor || null;
    } catch (err) { failure = err; }
    if (mine !== latest) return;
    st.next = nextCursor;
    if (failure) { message.textContent = describe(failure); message.hidden = false; }
    const focusKey = tbody.contains(document.activeElement) ? document.activeElement.dataset.focusKey : undefined;
    replace(tbody, items.length ? items.map(row) : h('tr', null, h('td', { colspan: '5', class: 'empty' }, 'No tenants.')));
    if (focusKey) { const again = tbody.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`); (again || document.getElementById('main')).focus(); }
    prev.disabled = st.page === 0; next.disabled = !st.next; info.textContent = `Page ${st.page + 1}`;
  }

  function row(tn) {
    const suspended = tn.status === 'suspended';
    const verb = suspended ? 'Resume' : 'Suspend';
    return h('tr', { 'data-tenant-id': tn.id },
      h('th', { scope: 'row', class: 'mono' }, tn.id),
      h('td', null, tn.name || ''),
      h('td', null, h('span', { class: 'badge status-' + (suspended ? 'revoked' : 'active') }, suspended ? '⏸ Suspended' : '● Active'), tn.isOperator ? h('span', { class: 'badge default' }, '★ Operator') : null),
      h('td', null, when(tn.createdAt)),
      h('td', { class: 'actions' }, tn.isOperator ? null : h('button', { type: 'button', class: suspended ? '' : 'danger', 'aria-label': `${verb} ${tn.id}`,
        'data-focus-key': 'tenant:' + tn.id, onclick: () => toggle(tn, suspended) }, verb)));
  }

  async function toggle(tn, suspended) {
    if (!suspended) {
      const ok = await confirmDialog({ title: `Suspend “${tn.id}”?`, danger: true, confirmLabel: `Suspend “${tn.id}”`,
        message: `Every key of tenant “${tn.id}” will be refused within seconds until it is resumed.` });
      if (!ok) return;
    }
    try {
      await call('POST', `/tenants/${encodeURIComponent(tn.id)}/${suspended ? 'resume' : 'suspend'}`, { home: true });
      announce(`Tenant ${tn.id} ${suspended ? 'resumed' : 'suspended'}.`);
      load();
    } catch (err) { message.textContent = describe(err); message.hidden = false; }
  }

  function createTenant() {
    const id = field('Tenant ID (required)', h('input', { id: 'tenant-id', type: 'text', required: true, autocomplete: 'off', class: 'mono' }),
      'Lower-case letters, digits and -, 2–63 characters. It never changes.');
    const name = field('Name', h('input', { id: 'tenant-name', type: 'text', autocomplete: 'off' }));
    const error = h('p', { class: 'message', role: 'alert', hidden: true });
    const save = h('button', { type: 'submit', class: 'primary' }, 'Create tenant');
    const form = h('form', { novalidate: true }, error, id.wrap, name.wrap,
      h('div', { class: 'form-actions' }, h('button', { type: 'button', onclick: () => d.close() }, 'Cancel'), save));
    const d = openDialog({ title: 'Create a tenant', body: form });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const v = id.control.value.trim();
      id.setError(/^[a-z0-9][a-z0-9-]{1,62}$/.test(v) ? '' : 'Use 2–63 lower-case letters, digits and -, starting with a letter or digit.');
      if (id.control.getAttribute('aria-invalid')) { id.control.focus(); return; }
      save.disabled = true;
      try {
        const { data } = await call('POST', '/tenants', { home: true, body: { id: v, name: name.control.value.trim() } });
        d.close();
        announce(`Tenant ${data.id} created.`);
        await showSecret(data.defaultKey, { title: `Tenant “${data.id}” created: its default key` });
        st.cursors = [null]; st.page = 0; load();
      } catch (err) {
        if (err.code === 'tenant_exists' || err.field === 'id') id.setError(err.code === 'tenant_exists' ? 'A tenant with this ID exists.' : err.message);
        else { error.textContent = describe(err); error.hidden = false; }
      } finally { save.disabled = false; }
    });
  }

  load();
}
