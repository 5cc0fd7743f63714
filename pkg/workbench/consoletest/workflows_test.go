package consoletest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// rowNames lists the names in the keys table, top to bottom.
func (e *env) rowNames() []string {
	e.t.Helper()
	s := e.tab.EvalString(`[...document.querySelectorAll('table.keys tbody tr .name')].map(n => n.textContent).join('\n')`)
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// search types a name prefix and waits until the list shows only matches.
func (e *env) search(prefix string, want int) {
	e.t.Helper()
	e.typeInto("#key-search", prefix)
	e.tab.Wait(fmt.Sprintf("%d keys named %s…", want, prefix), fmt.Sprintf(
		`(() => { const n = [...document.querySelectorAll('table.keys tbody tr .name')].map(x => x.textContent);
		  return n.length === %d && n.every(x => x.toLowerCase().startsWith(%q)); })()`, want, strings.ToLower(prefix)))
}

func (e *env) keysList(t *testing.T) {
	for i := range 22 {
		typ := "client"
		if i%2 == 1 {
			typ = "service"
		}
		e.createKey(map[string]any{"name": fmt.Sprintf("list-%02d", i), "type": typ, "scopes": []string{"keys:read"}})
	}
	revoked, _ := e.createKey(map[string]any{"name": "list-revoked", "scopes": []string{"keys:read"}})
	if status, _ := e.call("DELETE", "/v1/keys/"+revoked, e.admin, nil); status != 200 {
		t.Fatalf("revoke: %d", status)
	}
	e.click("#refresh-keys")
	e.tab.Wait("a full first page", `document.querySelectorAll('table.keys tbody tr').length === 20`)

	heads := e.tab.EvalString(`[...document.querySelectorAll('table.keys thead th')].map(h => h.textContent).join('|')`)
	for _, col := range []string{"Name", "Type", "Scopes", "Status", "Hint", "Created", "Last used", "Expires", "Actions"} {
		if !strings.Contains(heads, col) {
			t.Errorf("no %q column in %s", col, heads)
		}
	}

	// Pagination follows the API's cursors.
	first := e.rowNames()
	e.click(".pager button:last-child")
	e.tab.Wait("the second page", `document.querySelector('.page-info').textContent === 'Page 2'`)
	e.tab.Wait("rows of the second page", `document.querySelectorAll('table.keys tbody tr .name').length > 0`)
	second := e.rowNames()
	for _, n := range second {
		for _, f := range first {
			if n == f {
				t.Errorf("%s is on both pages", n)
			}
		}
	}
	if len(first)+len(second) != 24 { // 22 + the revoked one + the default key
		t.Errorf("pages hold %d + %d keys, want 24 in all", len(first), len(second))
	}
	// The default key is marked and locked: no edit or revoke control, and a
	// tooltip saying why.
	def := e.tab.EvalString(`(() => { const r = [...document.querySelectorAll('table.keys tbody tr')].find(r => r.textContent.includes('Default'));
	  if (!r) return 'missing';
	  const labels = [...r.querySelectorAll('button')].map(b => b.textContent).join(',');
	  const lock = r.querySelector('.locked');
	  return labels + '|' + (lock ? lock.title : '') + '|' + r.querySelector('input[type=checkbox]').disabled; })()`)
	if def == "missing" {
		t.Fatalf("the default key is on neither page")
	}
	if parts := strings.Split(def, "|"); strings.Contains(parts[0], "Edit") || strings.Contains(parts[0], "Revoke") ||
		!strings.Contains(parts[1], "cannot be edited or revoked") || parts[2] != "true" {
		t.Errorf("default key row: buttons %q, tooltip %q, select disabled %s", parts[0], parts[1], parts[2])
	}
	e.click(".pager button:first-child")
	e.tab.Wait("the first page again", `document.querySelector('.page-info').textContent === 'Page 1'`)

	// Quick search by name as you type.
	e.search("list-1", 10)
	// Filters by status and type.
	e.typeInto("#key-search", "")
	e.js(`const s = document.querySelector('#key-status'); s.value = 'revoked'; s.dispatchEvent(new Event('change'));`)
	e.tab.Wait("revoked keys only", `(() => { const r = [...document.querySelectorAll('table.keys tbody tr')];
	  return r.length === 1 && r[0].textContent.includes('list-revoked') && r[0].textContent.includes('Revoked'); })()`)
	e.js(`const s = document.querySelector('#key-status'); s.value = ''; s.dispatchEvent(new Event('change'));`)
	e.typeInto("#key-type", "service")
	e.js(`document.querySelector('#key-type').dispatchEvent(new Event('change'));`)
	e.tab.Wait("service keys only", `(() => { const r = [...document.querySelectorAll('table.keys tbody tr')];
	  return r.length === 11 && r.every(x => x.children[2].textContent === 'service'); })()`)
	e.typeInto("#key-type", "")
	e.js(`document.querySelector('#key-type').dispatchEvent(new Event('change'));`)
	e.tab.Wait("every key", `document.querySelectorAll('table.keys tbody tr').length === 20`)
	e.accessible(t, "keys list")
	if os.Getenv("KEYWARD_UPDATE_SCREENSHOT") != "" {
		e.js(`document.activeElement.blur()`)
		if err := e.tab.Screenshot(filepath.Join(e.root, "pkg", "console", "testdata", "console.png")); err != nil {
			t.Fatal(err)
		}
	}
}

// secretNowhere fails t if secret is anywhere in the page or in storage.
func (e *env) secretNowhere(t *testing.T, secret, when string) {
	t.Helper()
	found := e.tab.EvalString(fmt.Sprintf(`(() => { const s = %q; const where = [];
	  if (document.documentElement.outerHTML.includes(s)) where.push('markup');
	  if (document.body.innerText.includes(s)) where.push('text');
	  if ([...document.querySelectorAll('input, textarea')].some(i => i.value.includes(s))) where.push('a field value');
	  for (const st of [sessionStorage, localStorage]) for (let i = 0; i < st.length; i++) if (st.getItem(st.key(i)).includes(s)) where.push('storage');
	  if (document.cookie.includes(s) || location.href.includes(s)) where.push('cookie or URL');
	  return where.join(', '); })()`, secret))
	if found != "" {
		t.Errorf("%s: the secret is still in the %s", when, found)
	}
}

// oneTimeDialog checks the one-time secret dialog's guarantees and closes it
// by keyboard. It returns the token shown.
func (e *env) oneTimeDialog(t *testing.T, title, opener string) string {
	t.Helper()
	e.tab.Wait("the one-time secret dialog", fmt.Sprintf(`[...document.querySelectorAll('dialog[open] h2')].some(h => h.textContent.includes(%q))`, title))
	e.accessible(t, "one-time secret dialog")
	secret := e.tab.EvalString(`document.querySelector('dialog[open] input[aria-describedby], dialog[open] .secret-row:nth-of-type(3) input')?.value ?? ''`)
	token := e.tab.EvalString(`[...document.querySelectorAll('dialog[open] .secret-row input')].map(i => i.value).find(v => v.startsWith('kw_')) ?? ''`)
	if token == "" || secret == "" {
		t.Fatalf("the dialog shows no token or secret")
	}
	if !e.tab.EvalBool(`document.querySelector('dialog[open] .dialog-actions button').disabled`) {
		t.Errorf("Close is enabled before 'I have stored the secret' is checked")
	}
	if !e.tab.EvalBool(`document.querySelector('dialog[open] pre.example').textContent.includes('Authorization: Basic ')`) {
		t.Errorf("no Basic-auth example")
	}
	// Neither Escape nor a click outside closes it.
	e.key(kb.Escape)
	e.tab.Do("click outside the dialog", chromedp.MouseClickXY(3, 3))
	time.Sleep(200 * time.Millisecond) // a close would have happened synchronously; give the page a turn
	if !e.dialogOpen(title) {
		t.Fatalf("the one-time dialog closed before the secret was confirmed stored")
	}
	// Focus is trapped: Tab from the last control wraps to the first, and
	// Shift+Tab from the first to the last.
	e.js(`document.querySelector('dialog[open] input[type=checkbox]').focus()`)
	e.key(kb.Tab)
	if !e.tab.EvalBool(`document.activeElement === document.querySelector('dialog[open] .secret-row input')`) {
		t.Errorf("Tab from the last control went to %q, not the first control of the dialog", e.focused())
	}
	e.shiftTab()
	if !e.tab.EvalBool(`document.activeElement === document.querySelector('dialog[open] input[type=checkbox]')`) {
		t.Errorf("Shift+Tab from the first control went to %q, not the last", e.focused())
	}
	e.key(" ") // check "I have stored the secret in a safe place"
	if e.tab.EvalBool(`document.querySelector('dialog[open] .dialog-actions button').disabled`) {
		t.Fatalf("Close stays disabled after the box is checked")
	}
	e.key(kb.Tab)
	e.key(kb.Enter)
	e.tab.Wait("the dialog closed", `document.querySelector('dialog') === null`)
	if got := e.focused(); got != opener {
		t.Errorf("focus returned to %q, want %q", got, opener)
	}
	e.secretNowhere(t, secret, "after Close")
	e.secretNowhere(t, token, "after Close")
	return token
}

func (e *env) create(t *testing.T) string {
	// By keyboard: the Create button, the form, the one-time dialog.
	e.js(`document.querySelector('#create-key').focus()`)
	e.key(kb.Enter)
	e.tab.Wait("the create dialog", `document.querySelector('dialog[open] form') !== null`)
	e.accessible(t, "create dialog")
	e.key(kb.Enter) // submit empty: errors on the fields
	e.tab.Wait("field errors", `document.querySelectorAll('dialog[open] .error:not([hidden])').length >= 2`)
	if !e.tab.EvalBool(`document.querySelector('#key-name').getAttribute('aria-invalid') === 'true'`) {
		t.Errorf("the empty name is not marked invalid")
	}
	e.accessible(t, "create dialog with errors")
	e.tab.Do("type the name", chromedp.KeyEvent("CRM sync"))
	// The scope checklist groups admin and API scopes.
	groups := e.tab.EvalString(`[...document.querySelectorAll('dialog[open] fieldset.scopes legend')].map(l => l.textContent).join('|')`)
	if groups != "Admin scopes|Protected API scopes" {
		t.Errorf("scope groups %q", groups)
	}
	e.js(`document.querySelector('#scope-keys-read').focus()`)
	e.key(" ")
	e.js(`document.querySelector('#scope-keys-verify').focus()`)
	e.key(" ")
	e.typeInto("#key-ips", "10.0.0.300")
	e.tab.Wait("inline IP validation", `document.querySelector('#key-ips').getAttribute('aria-invalid') === 'true'`)
	e.typeInto("#key-ips", "127.0.0.0/8")
	if e.tab.EvalBool(`document.querySelector('#key-ips').getAttribute('aria-invalid') === 'true'`) {
		t.Errorf("a valid CIDR is still marked invalid")
	}
	e.js(`document.querySelector('dialog[open] form').requestSubmit()`)
	token := e.oneTimeDialog(t, "created", "create-key")
	e.tab.Wait("the new key listed", `[...document.querySelectorAll('table.keys .name')].some(n => n.textContent === 'CRM sync')`)
	status, who := e.call("GET", "/v1/whoami", token, nil)
	if status != 200 || who["name"] != "CRM sync" {
		t.Errorf("the shown token: whoami %d %v", status, who)
	}
	return token
}

func (e *env) createNameTaken(t *testing.T) {
	e.click("#create-key")
	e.tab.Wait("the create dialog", `document.querySelector('dialog[open] form') !== null`)
	e.tab.Do("type the name", chromedp.KeyEvent("crm SYNC"))
	e.js(`document.querySelector('#scope-keys-read').click(); document.querySelector('dialog[open] form').requestSubmit()`)
	e.tab.Wait("the uniqueness error on the name", `(() => { const i = document.querySelector('#key-name');
	  const err = document.getElementById(i.id + '-error');
	  return i.getAttribute('aria-invalid') === 'true' && !err.hidden && err.textContent.includes('already has this name'); })()`)
	e.key(kb.Escape) // an ordinary dialog closes on Escape
	e.tab.Wait("the dialog closed", `document.querySelector('dialog') === null`)
	if got := e.focused(); got != "create-key" {
		t.Errorf("focus returned to %q", got)
	}
}

// keyID finds a key's ID by name through the API.
func (e *env) keyID(name string) string {
	e.t.Helper()
	_, m := e.call("GET", "/v1/keys?q="+strings.ReplaceAll(name, " ", "%20"), e.admin, nil)
	for _, it := range m["items"].([]any) {
		k := it.(map[string]any)
		if k["name"] == name && k["status"] == "active" {
			return k["id"].(string)
		}
	}
	e.t.Fatalf("no active key %q", name)
	return ""
}

func (e *env) edit(t *testing.T) {
	e.search("crm", 1)
	e.click(`button[aria-label="Edit CRM sync"]`)
	e.tab.Wait("the edit dialog", `document.querySelector('dialog[open] details.advanced') !== null`)
	e.accessible(t, "edit dialog")
	e.typeInto("#key-description", "nightly CRM sync")
	e.click(`dialog[open] details.advanced summary`)
	e.typeInto("#key-origins", "https://crm.example.com")
	e.accessible(t, "edit dialog, advanced open")
	e.js(`document.querySelector('dialog[open] form').requestSubmit()`)
	e.tab.Wait("the dialog closed", `document.querySelector('dialog') === null`)
	e.tab.Wait("the new description", `document.querySelector('table.keys .desc')?.textContent === 'nightly CRM sync'`)
	if got := e.focused(); got != "Edit CRM sync" {
		t.Errorf("focus returned to %q, want the Edit button", got)
	}
	_, k := e.call("GET", "/v1/keys/"+e.keyID("CRM sync"), e.admin, nil)
	if o, _ := k["allowList"].(map[string]any)["origins"].([]any); len(o) != 1 || o[0] != "https://crm.example.com" {
		t.Errorf("allowList after the edit: %v", k["allowList"])
	}
}

func (e *env) editConflict(t *testing.T) {
	e.click(`button[aria-label="Edit CRM sync"]`)
	e.tab.Wait("the edit dialog", `document.querySelector('dialog[open] details.advanced') !== null`)
	// Someone else edits the key meanwhile.
	if status, m := e.call("PATCH", "/v1/keys/"+e.keyID("CRM sync"), e.admin, map[string]any{"description": "changed elsewhere"}); status != 200 {
		t.Fatalf("concurrent edit: %d %v", status, m)
	}
	e.typeInto("#key-description", "my change")
	e.js(`document.querySelector('dialog[open] form').requestSubmit()`)
	e.tab.Wait("the conflict reported", `document.querySelector('dialog[open] [role=alert]:not([hidden])')?.textContent.includes('412')`)
	e.accessible(t, "edit conflict")
	e.key(kb.Escape)
	e.tab.Wait("the dialog closed", `document.querySelector('dialog') === null`)
	_, k := e.call("GET", "/v1/keys/"+e.keyID("CRM sync"), e.admin, nil)
	if k["description"] != "changed elsewhere" {
		t.Errorf("the other edit was overwritten: description %q", k["description"])
	}
}

func (e *env) rotate(t *testing.T, oldToken string) {
	e.click(`button[aria-label="Rotate CRM sync"]`)
	e.tab.Wait("the rotate dialog", `document.querySelector('dialog[open] input[type=radio]') !== null`)
	e.accessible(t, "rotate dialog")
	e.click(`dialog[open] input[type=radio][value="3600"]`)
	e.click(`dialog[open] .dialog-actions button.primary`)
	newToken := e.oneTimeDialog(t, "rotated", "Rotate CRM sync")
	// The edit limited the key to https://crm.example.com.
	if status, _ := e.call("GET", "/v1/whoami", newToken, nil, "Origin", "https://crm.example.com"); status != 200 {
		t.Errorf("the new token: whoami %d", status)
	}
	if status, _ := e.call("GET", "/v1/whoami", oldToken, nil, "Origin", "https://crm.example.com"); status != 200 {
		t.Errorf("the old token within its 1 h grace: whoami %d", status)
	}
	_, k := e.call("GET", "/v1/keys/"+e.keyID("CRM sync"), e.admin, nil)
	if k["previousSecretExpiresAt"] == nil {
		t.Errorf("no grace period recorded: %v", k)
	}
}

// refusedSoon waits until token is refused (revocation reaches the
// authorizer's in-memory cache within its KeyCacheTtl of 2 s).
func (e *env) refusedSoon(t *testing.T, token string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, _ := e.call("GET", "/v1/whoami", token, nil)
		if status == 401 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("a revoked key's token still gets %d", status)
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (e *env) revoke(t *testing.T) {
	_, token := e.createKey(map[string]any{"name": "to-revoke", "scopes": []string{"keys:read"}})
	e.search("to-", 1)
	e.click(`button[aria-label="Revoke to-revoke"]`)
	e.tab.Wait("the confirmation", `document.querySelector('dialog[open][role=alertdialog]') !== null`)
	if !e.dialogOpen("to-revoke") {
		t.Errorf("the confirmation does not name the key")
	}
	e.accessible(t, "revoke confirmation")
	if got := e.focused(); got != "Cancel" {
		t.Errorf("the confirmation opens on %q, want Cancel (the safe choice)", got)
	}
	e.click(`dialog[open] .dialog-actions button.danger`)
	e.tab.Wait("the key revoked", `document.querySelector('table.keys tbody tr')?.textContent.includes('Revoked')`)
	e.refusedSoon(t, token)
}

func (e *env) bulkRevoke(t *testing.T) {
	_, ta := e.createKey(map[string]any{"name": "bulk-a", "scopes": []string{"keys:read"}})
	_, tb := e.createKey(map[string]any{"name": "bulk-b", "scopes": []string{"keys:read"}})
	e.search("bulk-", 2)
	e.click(`input[aria-label="Select bulk-a"]`)
	e.click(`input[aria-label="Select bulk-b"]`)
	if got := e.text(".filters button.danger"); got != "Revoke selected (2)" {
		t.Errorf("bulk button reads %q", got)
	}
	e.click(".filters button.danger")
	e.tab.Wait("the confirmation", `document.querySelector('dialog[open][role=alertdialog]') !== null`)
	if !e.dialogOpen("Revoke 2 keys") || !strings.Contains(e.text("dialog[open] p"), "bulk-a, bulk-b") {
		t.Errorf("the confirmation does not list the keys: %q", e.text("dialog[open]"))
	}
	e.click(`dialog[open] .dialog-actions button.danger`)
	e.tab.Wait("the results", `document.querySelectorAll('dialog[open] .results li').length === 2`)
	e.accessible(t, "bulk revoke results")
	results := e.text("dialog[open] .results")
	if !strings.Contains(results, "bulk-a: revoked") || !strings.Contains(results, "bulk-b: revoked") {
		t.Errorf("results %q", results)
	}
	e.click(`dialog[open] .dialog-actions button`)
	e.tab.Wait("both revoked", `[...document.querySelectorAll('table.keys tbody tr')].filter(r => r.textContent.includes('Revoked')).length === 2`)
	e.refusedSoon(t, ta)
	e.refusedSoon(t, tb)
}

func (e *env) audit(t *testing.T) {
	id := e.keyID("CRM sync")
	// The stream delivers audit records within about 2 s.
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, m := e.call("GET", "/v1/audit?keyId="+id, e.admin, nil)
		if items, _ := m["items"].([]any); len(items) >= 4 { // created, updated twice, rotated
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit records of %s did not arrive: %v", id, m)
		}
		time.Sleep(300 * time.Millisecond)
	}
	// The per-key modal, from the keys list.
	e.search("crm", 1)
	e.click(`button[aria-label="Audit CRM sync"]`)
	e.tab.Wait("the key's audit records", `document.querySelectorAll('dialog[open] .audit-table tbody tr').length >= 4`)
	e.accessible(t, "per-key audit")
	actions := e.tab.EvalString(`[...document.querySelectorAll('dialog[open] .audit-table tbody tr')].map(r => r.children[1].textContent).join(',')`)
	if actions != "key.rotated,key.updated,key.updated,key.created" {
		t.Errorf("per-key audit, newest first: %s", actions)
	}
	changes := e.text("dialog[open] .audit-table tbody tr:nth-child(2) .changes")
	if !strings.Contains(changes, "description") || !strings.Contains(changes, "→ changed elsewhere") {
		t.Errorf("the edit's changes read %q, want description: from → to", changes)
	}
	e.click(`dialog[open] .dialog-actions button`)
	e.tab.Wait("the dialog closed", `document.querySelector('dialog') === null`)

	// The global view, filtered by action, once the four revocations
	// (list-revoked, to-revoke, bulk-a, bulk-b) are recorded.
	for {
		_, m := e.call("GET", "/v1/audit?action=key.revoked", e.admin, nil)
		if items, _ := m["items"].([]any); len(items) >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the revocations' audit records did not arrive: %v", m)
		}
		time.Sleep(300 * time.Millisecond)
	}
	e.click(`nav a[data-view="audit"]`)
	e.tab.Wait("the audit view", `document.querySelectorAll('.audit-table tbody tr td:nth-child(2)').length > 0`)
	e.accessible(t, "audit view")
	e.js(`document.querySelector('#audit-action').value = 'key.revoked'; document.querySelector('form.filters').requestSubmit()`)
	e.tab.Wait("revocations only", `(() => { const a = [...document.querySelectorAll('.audit-table tbody tr td:nth-child(2)')].map(x => x.textContent);
	  return a.length >= 4 && a.every(x => x === 'key.revoked'); })()`)
	e.typeInto("#audit-key", id)
	e.js(`document.querySelector('#audit-action').value = ''; document.querySelector('form.filters').requestSubmit()`)
	e.tab.Wait("one key's records", `(() => { const k = [...document.querySelectorAll('.audit-table tbody tr td:nth-child(3)')].map(x => x.textContent);
	  return k.length === 4 && k.every(x => x === '`+id+`'); })()`)
	who := e.text(".audit-table tbody tr td:nth-child(4) .actor")
	if !strings.HasPrefix(who, "key_") {
		t.Fatalf("who: %q", who)
	}
	// By actor and time: the admin's records since the test began.
	e.typeInto("#audit-key", "")
	e.typeInto("#audit-actor", who)
	e.js(`document.querySelector('#audit-from').value = '2000-01-01T00:00'; document.querySelector('form.filters').requestSubmit()`)
	e.tab.Wait("one actor's records", `(() => { const w = [...document.querySelectorAll('.audit-table tbody tr td:nth-child(4) .actor')].map(x => x.textContent);
	  return w.length > 4 && w.every(x => x === '`+who+`'); })()`)
	e.js(`document.querySelector('#audit-to').value = '2001-01-01T00:00'; document.querySelector('form.filters').requestSubmit()`)
	e.tab.Wait("no records before 2001", `document.querySelector('.audit-table tbody td.empty') !== null`)
	e.click(`nav a[data-view="keys"]`)
	e.tab.Wait("the keys view", `document.querySelector('#create-key') !== null`)
}

// signInAs signs out and in again with token.
func (e *env) signInAs(token string) {
	e.t.Helper()
	e.click("#sign-out")
	e.tab.Wait("the sign-in form", `document.querySelector('#token') !== null`)
	e.typeInto("#token", token)
	e.key(kb.Enter)
	e.tab.Wait("the console", `document.querySelector('#who-tenant') !== null`)
}

// readOnly: a key holding keys:read alone sees the list and nothing it may
// not use (no create, edit, rotate, revoke, selection or audit).
func (e *env) readOnly(t *testing.T) {
	_, token := e.createKey(map[string]any{"name": "viewer", "scopes": []string{"keys:read"}})
	e.signInAs(token)
	e.tab.Wait("the list", `document.querySelectorAll('table.keys tbody tr .name').length > 0`)
	got := e.tab.EvalString(`[
	  document.querySelector('#create-key') ? 'create' : '',
	  document.querySelector('nav a[data-view="audit"]') ? 'audit view' : '',
	  document.querySelector('table.keys input[type=checkbox]') ? 'selection' : '',
	  [...document.querySelectorAll('table.keys button')].map(b => b.textContent).filter(x => x !== '').join(' '),
	].filter(Boolean).join(', ')`)
	if got != "" {
		t.Errorf("a keys:read key is offered: %s", got)
	}
	if scopes := e.text(".scopes-held .mono"); scopes != "keys:read" {
		t.Errorf("scopes shown: %q", scopes)
	}
	e.accessible(t, "read-only keys list")
	e.signInAs(e.admin)
	e.tab.Wait("the admin's list", `document.querySelector('#create-key') !== null`)
}

// acceptedSoon waits until token is accepted again (after a resume).
func (e *env) acceptedSoon(t *testing.T, token string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, _ := e.call("GET", "/v1/whoami", token, nil)
		if status == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("a resumed tenant's key still gets %d", status)
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// tenants: a platform key lists, creates (the default key shown once),
// suspends and resumes tenants, and acts inside one through the picker.
func (e *env) tenants(t *testing.T) {
	e.signInAs(e.platform)
	e.click(`nav a[data-view="tenants"]`)
	e.tab.Wait("the tenants view", `document.querySelector('#create-tenant') !== null && document.querySelectorAll('table.tenants tbody tr').length > 0`)
	e.accessible(t, "tenants list")
	e.click("#create-tenant")
	e.tab.Wait("the create dialog", `document.querySelector('#tenant-id') !== null`)
	e.accessible(t, "create tenant dialog")
	e.typeInto("#tenant-id", "acme")
	e.typeInto("#tenant-name", "Acme Contact Centre")
	e.js(`document.querySelector('dialog[open] form').requestSubmit()`)
	token := e.oneTimeDialog(t, "created", "create-tenant")
	if status, who := e.call("GET", "/v1/whoami", token, nil); status != 200 || who["tenantId"] != "acme" {
		t.Fatalf("the new tenant's default key: %d %v", status, who)
	}
	row := `[...document.querySelectorAll('table.tenants tbody tr')].find(r => r.dataset.tenantId === 'acme')`
	e.tab.Wait("acme listed as active", row+`?.textContent.includes('Active')`)
	e.click(`button[aria-label="Suspend acme"]`)
	e.tab.Wait("the confirmation", `document.querySelector('dialog[open][role=alertdialog]') !== null`)
	e.click(`dialog[open] .dialog-actions button.danger`)
	e.tab.Wait("acme suspended", row+`?.textContent.includes('Suspended')`)
	e.refusedSoon(t, token)
	e.click(`button[aria-label="Resume acme"]`)
	e.tab.Wait("acme active again", row+`?.textContent.includes('Active')`)
	e.acceptedSoon(t, token)

	// The picker: act inside acme, then back in the operator tenant.
	e.js(`document.querySelector('#acting-tenant').focus()`)
	e.tab.Wait("acme in the picker", `[...document.querySelectorAll('#acting-tenant option')].some(o => o.value === 'acme')`)
	e.js(`const s = document.querySelector('#acting-tenant'); s.value = 'acme'; s.dispatchEvent(new Event('change'));`)
	e.tab.Wait("acting in acme", `document.querySelector('#who-tenant')?.textContent === 'acme' && !document.querySelector('nav a[data-view="tenants"]')`)
	e.click(`nav a[data-view="keys"]`)
	e.tab.Wait("acme's default key", `[...document.querySelectorAll('table.keys tbody tr')].length === 1 && document.querySelector('table.keys tbody tr').textContent.includes('Default')`)
	e.accessible(t, "keys of acme, acting")
	own := e.tab.EvalString(`document.querySelector('#acting-tenant option').value`)
	e.js(`const s = document.querySelector('#acting-tenant'); s.value = s.options[0].value; s.dispatchEvent(new Event('change'));`)
	e.tab.Wait("back in the operator tenant", `document.querySelector('#who-tenant')?.textContent === '`+own+`' && document.querySelector('nav a[data-view="tenants"]') !== null`)
	e.signInAs(e.admin)
}
