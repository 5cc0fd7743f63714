// Small DOM helpers. Text is always set as text (never parsed as HTML), so
// nothing an API returns can become markup.

// h creates an element: attributes (on* become listeners; value, checked,
// disabled, hidden are set as properties) and children (strings become text).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'hidden') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

// replace empties el and puts children in it.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let ids = 0;
// uid returns a fresh element ID with a readable prefix.
export function uid(prefix) { ids += 1; return `${prefix}-${ids}`; }

// announce tells screen-reader users what just happened (never a secret).
export function announce(message) {
  const s = document.getElementById('status');
  s.textContent = '';
  setTimeout(() => { s.textContent = message; }, 30);
}

// when formats an RFC 3339 time as a <time> element ("never" when empty).
export function when(iso, empty = '—') {
  if (!iso) return h('span', { class: 'muted' }, empty);
  const d = new Date(iso);
  return h('time', { datetime: iso, title: iso }, d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }));
}

// field builds a labelled control with a hint and an error slot; it returns
// the wrapper, the control and a function setting (or clearing) its error.
export function field(label, control, hint) {
  const id = control.id || uid('f');
  control.id = id;
  const err = h('p', { class: 'error', id: id + '-error', hidden: true });
  const hintEl = hint ? h('p', { class: 'hint', id: id + '-hint' }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  const wrap = h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl, err);
  const setError = (msg) => {
    err.hidden = !msg;
    err.textContent = msg ? '⚠ ' + msg : '';
    if (msg) {
      control.setAttribute('aria-invalid', 'true');
      control.setAttribute('aria-describedby', [hintEl && hintEl.id, err.id].filter(Boolean).join(' '));
    } else {
      control.removeAttribute('aria-invalid');
      if (hintEl) control.setAttribute('aria-describedby', hintEl.id); else control.removeAttribute('aria-describedby');
    }
  };
  return { wrap, control, setError };
}

// lines splits a textarea's value into trimmed, non-empty lines.
export function lines(s) { return s.split('\n').map((l) => l.trim()).filter(Boolean); }
