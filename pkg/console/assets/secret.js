// The one-time secret dialog: a key's ID, secret and token, shown once after
// create and rotate. Close stays disabled until the person confirms the
// secret is stored; until then neither Escape nor a click outside closes it.
// Closing removes the dialog from the page, and no other part of the console
// ever receives the secret, so afterwards nothing on the page or in storage
// holds it.
import { h, uid, announce } from './dom.js';
import { openDialog } from './dialog.js';

function copyRow(label, value, what) {
  const id = uid('secret');
  const status = h('span', { class: 'copy-status', role: 'status' });
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      status.textContent = '✓ Copied';
      announce(`${what} copied to the clipboard.`);
    } catch {
      status.textContent = 'Copy failed: select the text and press Ctrl+C.';
    }
  };
  return h('div', { class: 'secret-row' },
    h('label', { for: id }, label),
    h('div', { class: 'secret-value' },
      h('input', { id, type: 'text', readonly: true, value, spellcheck: 'false', autocomplete: 'off', class: 'mono' }),
      h('button', { type: 'button', onclick: copy, 'aria-label': `Copy ${what}` }, 'Copy'),
      status));
}

// showSecret shows key (a create or rotate response) once; it resolves when
// the dialog is closed.
export function showSecret(key, { title }) {
  return new Promise((resolve) => {
    const base = location.origin + location.pathname.replace(/\/console\/?$/, '');
    const basic = btoa(`${key.id}:${key.secret}`);
    const stored = h('input', { type: 'checkbox', id: uid('stored') });
    const close = h('button', { type: 'button', class: 'primary', disabled: true }, 'Close');
    const example = `curl ${base}/v1/whoami \\\n  -H 'Authorization: Basic ${basic}'`;
    const d = openDialog({
      title,
      wide: true,
      dismissable: () => stored.checked,
      body: [
        h('p', { class: 'warning' }, h('strong', null, 'Copy the secret now. '),
          'This is the only time keyward shows it: it is not stored and cannot be shown again.'),
        copyRow('Key ID', key.id, 'key ID'),
        copyRow('Secret', key.secret, 'secret'),
        copyRow('Token (Authorization: Bearer …)', key.token, 'token'),
        h('div', { class: 'secret-row' },
          h('p', { class: 'label' }, 'Basic authentication example'),
          h('pre', { class: 'mono example', tabindex: '0', 'aria-label': 'Basic authentication example' }, example),
          h('button', { type: 'button', 'aria-label': 'Copy example (Basic authentication)',
            onclick: () => navigator.clipboard.writeText(example).then(() => announce('Example copied.'), () => announce('Copy failed.')) }, 'Copy example')),
        h('p', { class: 'check' }, stored, h('label', { for: stored.id }, 'I have stored the secret in a safe place')),
      ],
      actions: [close],
      onClose: resolve,
    });
    stored.addEventListener('change', () => { close.disabled = !stored.checked; d.sync(); });
    close.addEventListener('click', () => { if (stored.checked) d.close(); });
  });
}
