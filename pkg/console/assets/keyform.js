// The key form's fields (create and edit): building them, reading them into
// an API body, and putting the API's field errors on the field they name.
import { h, field, lines } from './dom.js';

const ORIGIN_RE = /^(https:\/\/[a-z0-9.-]+(:\d{1,5})?|\*\.[a-z0-9-]+(\.[a-z0-9-]+)+)$/i;
const IPV4_RE = /^(\d{1,3})(\.\d{1,3}){3}(\/\d{1,2})?$/;
const IPV6_RE = /^[0-9a-f:]*:[0-9a-f:.]*(\/\d{1,3})?$/i;

// ipProblem returns why an allow-list entry is not an address or CIDR, or ''.
export function ipProblem(s) {
  if (IPV4_RE.test(s)) {
    const [addr, bits] = s.split('/');
    if (addr.split('.').some((o) => Number(o) > 255)) return `${s}: each part of an IPv4 address is 0–255`;
    if (bits !== undefined && Number(bits) > 32) return `${s}: an IPv4 prefix is /0–/32`;
    return '';
  }
  if (IPV6_RE.test(s)) {
    const bits = s.split('/')[1];
    if (bits !== undefined && Number(bits) > 128) return `${s}: an IPv6 prefix is /0–/128`;
    return '';
  }
  return `${s} is not an IP address or CIDR (203.0.113.0/24, 2001:db8::/32)`;
}

// originProblem returns why an entry is not an origin pattern, or ''.
export function originProblem(s) {
  return ORIGIN_RE.test(s) ? '' : `${s} is not https://host[:port] or *.example.com`;
}

function metadataText(m) { return Object.entries(m || {}).map(([k, v]) => `${k}=${v}`).join('\n'); }

function localInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// keyFields returns the form's fields for who (whoami); key pre-fills them
// for an edit (then type and scopes are not shown: they never change).
export function keyFields(who, key) {
  const f = {};
  f.name = field('Name (required)', h('input', { id: 'key-name', type: 'text', required: true, maxlength: '128', autocomplete: 'off', value: key ? key.name : '' }));
  f.description = field('Description', h('textarea', { id: 'key-description', rows: '2', maxlength: '1024', value: key ? key.description || '' : '' }));
  if (!key) {
    const types = who.keyTypes || [];
    const control = types.length
      ? h('select', { id: 'key-type-input' }, types.map((t) => h('option', { value: t }, t)))
      : h('input', { id: 'key-type-input', type: 'text', value: 'client', pattern: '[a-z][a-z0-9_\\-]{0,31}', autocomplete: 'off' });
    f.type = field('Key type', control, types.length ? 'The types this deployment allows.' : 'Any type: lower-case letters, digits, _ and -.');
    f.scopes = scopeChecklist(who);
  }
  f.ips = field('IP allow-list', h('textarea', { id: 'key-ips', rows: '2', class: 'mono', value: key ? (key.allowList?.ips || []).join('\n') : '' }),
    'One IP address or CIDR per line. Blank: any address.');
  f.origins = field('Origin allow-list', h('textarea', { id: 'key-origins', rows: '2', class: 'mono', value: key ? (key.allowList?.origins || []).join('\n') : '' }),
    'One https://host[:port] or *.example.com per line. Blank: any origin.');
  f.metadata = field('Metadata', h('textarea', { id: 'key-metadata', rows: '2', class: 'mono', value: key ? metadataText(key.metadata) : '' }),
    'One key=value per line.');
  f.expiresAt = field('Expires', h('input', { id: 'key-expires', type: 'datetime-local', value: key ? localInput(key.expiresAt) : '' }),
    key ? 'It may only move earlier. Blank: as now.' : 'Blank: never (or when the key you are signed in with expires).');
  for (const [name, validate] of [['ips', ipProblem], ['origins', originProblem]]) {
    f[name].control.addEventListener('input', () => {
      const bad = lines(f[name].control.value).map(validate).find(Boolean);
      f[name].setError(bad || '');
    });
  }
  return f;
}

function scopeChecklist(who) {
  const g = who.grantableScopes || { admin: [], api: [] };
  const boxes = [];
  const group = (legend, scopes, empty) => h('fieldset', { class: 'scopes' }, h('legend', null, legend),
    scopes.length ? scopes.map((s) => {
      const box = h('input', { type: 'checkbox', value: s, id: 'scope-' + s.replace(/[^a-z0-9]/gi, '-') });
      boxes.push(box);
      return h('div', { class: 'check' }, box, h('label', { for: box.id, class: 'mono' }, s));
    }) : h('p', { class: 'hint' }, empty));
  const err = h('p', { class: 'error', hidden: true, id: 'scopes-error' });
  const wrap = h('div', { class: 'field', role: 'group', 'aria-labelledby': 'scopes-label' },
    h('p', { class: 'label', id: 'scopes-label' }, 'Scopes (at least one)'),
    group('Admin scopes', g.admin, 'None you may grant.'),
    group('Protected API scopes', g.api, 'None configured for this deployment (RouteScopes).'), err);
  return {
    wrap, boxes,
    control: boxes[0] || wrap,
    setError: (msg) => { err.hidden = !msg; err.textContent = msg ? '⚠ ' + msg : ''; },
  };
}

// readFields turns the form into an API body; it returns null after marking
// the fields that are wrong.
export function readFields(f, key) {
  let ok = true;
  const body = {};
  const name = f.name.control.value.trim();
  f.name.setError(name ? '' : 'A name is required.');
  if (!name) ok = false;
  if (!key || name !== key.name) body.name = name;
  const description = f.description.control.value;
  if (!key || description !== (key.description || '')) body.description = description;
  if (!key) {
    body.type = f.type.control.value.trim();
    body.scopes = f.scopes.boxes.filter((b) => b.checked).map((b) => b.value);
    f.scopes.setError(body.scopes.length ? '' : 'Choose at least one scope.');
    if (!body.scopes.length) ok = false;
  }
  const ips = lines(f.ips.control.value);
  const origins = lines(f.origins.control.value);
  const ipBad = ips.map(ipProblem).find(Boolean);
  const originBad = origins.map(originProblem).find(Boolean);
  f.ips.setError(ipBad || '');
  f.origins.setError(originBad || '');
  if (ipBad || originBad) ok = false;
  const before = key ? key.allowList || {} : {};
  if (!key || ips.join('\n') !== (before.ips || []).join('\n') || origins.join('\n') !== (before.origins || []).join('\n')) {
    body.allowList = { ips, origins };
  }
  const metadata = {};
  let metaBad = '';
  for (const l of lines(f.metadata.control.value)) {
    const i = l.indexOf('=');
    if (i <= 0) { metaBad = `"${l}" is not key=value`; break; }
    metadata[l.slice(0, i).trim()] = l.slice(i + 1).trim();
  }
  f.metadata.setError(metaBad);
  if (metaBad) ok = false;
  if (!key || metadataText(metadata) !== metadataText(key.metadata)) body.metadata = metadata;
  const exp = f.expiresAt.control.value;
  if (exp && (!key || localInput(key.expiresAt) !== exp)) body.expiresAt = new Date(exp).toISOString();
  return ok ? body : null;
}

// showApiError puts an API error on the field it names and returns true, or
// returns false when it names no field of the form.
export function showApiError(f, err) {
  let name = err.field || '';
  if (err.code === 'name_taken') name = 'name';
  if (name.startsWith('allowList.ips')) name = 'ips';
  else if (name.startsWith('allowList.origins')) name = 'origins';
  else if (name.startsWith('metadata')) name = 'metadata';
  else if (name.startsWith('scopes')) name = 'scopes';
  const target = f[name];
  if (!target) return false;
  target.setError(err.code === 'name_taken' ? 'An active key already has this name (names are compared ignoring case and look-alike letters).' : err.message);
  if (target.control.focus) target.control.focus();
  return true;
}
