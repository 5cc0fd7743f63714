// Modal dialogs on the native <dialog> element: the rest of the page is inert
// while one is open, Tab and Shift+Tab cycle inside it, and closing returns
// focus to the control that opened it (or, when a re-render replaced that
// control, to its successor with the same data-focus-key).
import { h, uid } from './dom.js';

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex="-1"])';

function focusables(root) {
  return [...root.querySelectorAll(FOCUSABLE)].filter((el) => !el.closest('[hidden]') && el.getClientRects().length > 0);
}

// openDialog shows a modal. title: heading text; body: nodes; actions: the
// footer's buttons. dismissable() says whether Escape may close it now (a
// click outside never does). onClose runs after it is removed from the page.
export function openDialog({ title, body, actions = [], dismissable = () => true, onClose, wide = false, role }) {
  const opener = document.activeElement;
  const focusKey = opener && opener.dataset ? opener.dataset.focusKey : undefined;
  const titleId = uid('dlg-title');
  const dlg = h('dialog', { class: wide ? 'dialog wide' : 'dialog', 'aria-labelledby': titleId, role },
    h('h2', { id: titleId }, title),
    h('div', { class: 'dialog-body' }, body),
    h('div', { class: 'dialog-actions' }, actions));
  const sync = () => dlg.setAttribute('closedby', dismissable() ? 'closerequest' : 'none');
  sync();
  dlg.addEventListener('cancel', (e) => { if (!dismissable()) e.preventDefault(); });
  dlg.addEventListener('keydown', (e) => {
    if (e.key !== 'Tab') return;
    const els = focusables(dlg);
    if (els.length === 0) { e.preventDefault(); return; }
    const first = els[0];
    const last = els[els.length - 1];
    if (e.shiftKey && (document.activeElement === first || !dlg.contains(document.activeElement))) {
      e.preventDefault(); last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault(); first.focus();
    }
  });
  let closed = false;
  dlg.addEventListener('close', () => {
    if (closed) return;
    closed = true;
    dlg.remove();
    let target = opener && opener.isConnected ? opener : null;
    if (!target && focusKey) target = document.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`);
    if (!target) target = document.getElementById('main');
    target.focus();
    if (onClose) onClose();
  });
  document.body.append(dlg);
  dlg.showModal();
  const first = dlg.querySelector('[autofocus]') || focusables(dlg.querySelector('.dialog-body'))[0] || focusables(dlg)[0];
  if (first) first.focus();
  return { el: dlg, close: () => dlg.close(), sync };
}

// confirm asks a yes/no question; it resolves true when confirmed.
export function confirmDialog({ title, message, confirmLabel, danger = false }) {
  return new Promise((resolve) => {
    let ok = false;
    const d = openDialog({
      title,
      role: 'alertdialog',
      body: h('p', null, message),
      actions: [
        h('button', { type: 'button', onclick: () => d.close() }, 'Cancel'),
        h('button', { type: 'button', class: danger ? 'danger' : 'primary', onclick: () => { ok = true; d.close(); } }, confirmLabel),
      ],
      onClose: () => resolve(ok),
    });
  });
}
