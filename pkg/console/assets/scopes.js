// Scope matching as the API does it: segments split by ':', a '*' segment
// matches any one segment and a trailing '*' any rest; keys:admin implies
// keyward's admin scopes; no wildcard implies keys:admin.
const adminImplied = ['keys:write', 'keys:read', 'keys:revoke', 'keys:verify', 'audit:read'];

function implies(held, want) {
  if (held === want) return true;
  if (want === 'keys:admin') return false;
  const h = held.split(':');
  const w = want.split(':');
  for (let i = 0; i < h.length; i++) {
    if (i >= w.length) return false;
    if (h[i] === '*') { if (i === h.length - 1) return true; continue; }
    if (h[i] !== w[i]) return false;
  }
  return h.length === w.length;
}

// can reports whether the signed-in key (whoami) holds scope.
export function can(who, scope) {
  return (who.scopes || []).some((s) => implies(s, scope) || (s === 'keys:admin' && adminImplied.includes(scope)));
}
