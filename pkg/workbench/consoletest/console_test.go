package consoletest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/keyward/keyward/pkg/console"
)

// TestConsole drives every workflow of the console in order on one tab.
func TestConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests start the local stack and Chromium")
	}
	e := start(t)
	consoleURL := e.stack.APIURL + "/console"

	e.step("ServedWithStrictHeaders", func(t *testing.T) { e.headers(t, consoleURL) })
	e.step("SignIn", func(t *testing.T) {
		e.tab.Do("open the console", chromedp.Navigate(consoleURL))
		e.tab.Wait("the sign-in form", `document.querySelector('#token') !== null`)
		e.accessible(t, "sign-in")
		if got := e.focused(); got != "token" {
			t.Errorf("focus starts on %q, want the token field", got)
		}
		e.typeInto("#token", "kw_01ARZ3NDEKTSV4RRFFQ69G5FAV_notarealsecretnotarealsecretnotarealsecretxx")
		e.key(kb.Enter)
		e.tab.Wait("the refusal", `document.querySelector('.signin [role=alert]')?.textContent.includes('401')`)
		e.typeInto("#token", e.admin)
		e.key(kb.Enter)
		e.tab.Wait("the keys view", `document.querySelector('#who-tenant')?.textContent === 'local'`)
		if got := e.text("#who-name"); got == "" {
			t.Errorf("whoami shows no key name")
		}
		e.checkTokenNotStored(t, true)

		// Staying signed in keeps the token in sessionStorage (this tab only),
		// so a reload does not sign out; signing out forgets it.
		e.click("#sign-out")
		e.tab.Wait("the sign-in form", `document.querySelector('#token') !== null`)
		e.typeInto("#token", e.admin)
		e.click("#remember")
		e.key(kb.Enter)
		e.tab.Wait("the keys view", `document.querySelector('#who-tenant') !== null`)
		if !e.tab.EvalBool(`Object.values(sessionStorage).length === 1`) {
			t.Errorf("stay signed in: sessionStorage does not hold the token")
		}
		e.tab.Do("reload", chromedp.Reload())
		e.tab.Wait("the keys view after a reload", `document.querySelector('#who-tenant')?.textContent === 'local'`)
		e.click("#sign-out")
		e.tab.Wait("the sign-in form", `document.querySelector('#token') !== null`)
		e.checkTokenNotStored(t, true)
		if strings.Contains(e.tab.EvalString(`document.documentElement.outerHTML`), e.admin) {
			t.Errorf("the token is still in the page after signing out")
		}
		e.typeInto("#token", e.admin)
		e.key(kb.Enter)
		e.tab.Wait("the keys view", `document.querySelector('#who-tenant') !== null`)
		e.accessible(t, "keys list")
	})

	e.step("KeysList", func(t *testing.T) { e.keysList(t) })
	e.step("ReadOnlyKeySeesOnlyWhatItMay", func(t *testing.T) { e.readOnly(t) })
	var created string // the token of the key made in the browser
	e.step("CreateAndOneTimeSecret", func(t *testing.T) { created = e.create(t) })
	e.step("CreateNameTaken", func(t *testing.T) { e.createNameTaken(t) })
	e.step("Edit", func(t *testing.T) { e.edit(t) })
	e.step("EditConflict", func(t *testing.T) { e.editConflict(t) })
	e.step("Rotate", func(t *testing.T) { e.rotate(t, created) })
	e.step("Revoke", func(t *testing.T) { e.revoke(t) })
	e.step("BulkRevoke", func(t *testing.T) { e.bulkRevoke(t) })
	e.step("Audit", func(t *testing.T) { e.audit(t) })
	e.step("TenantsAndPicker", func(t *testing.T) { e.tenants(t) })
	e.step("NothingElse", func(t *testing.T) {
		e.tab.CheckOrigin(e.stack.APIURL)
		for _, p := range e.tab.Problems() {
			t.Errorf("page problem: %s", p)
		}
		e.click("#sign-out")
		e.tab.Wait("the sign-in form", `document.querySelector('#token') !== null`)
		e.checkTokenNotStored(t, true)
	})
}

// checkTokenNotStored: the token is never in localStorage, a cookie or the
// URL, and in sessionStorage only when the person asked to stay signed in.
func (e *env) checkTokenNotStored(t *testing.T, orSession bool) {
	t.Helper()
	if e.tab.EvalBool(`localStorage.length > 0`) {
		t.Errorf("localStorage is not empty")
	}
	if c := e.tab.EvalString(`document.cookie`); c != "" {
		t.Errorf("cookies set: %q", c)
	}
	if u := e.tab.EvalString(`location.href`); strings.Contains(u, e.admin[:20]) {
		t.Errorf("the URL holds the token: %s", u)
	}
	if orSession && e.tab.EvalBool(`sessionStorage.length > 0`) {
		t.Errorf("sessionStorage holds something though the person did not ask to stay signed in")
	}
}

// headers: the page and its assets come through the gateway with no
// credentials, under a CSP with no inline code and no framing; the page is
// revalidated, fingerprinted assets are cached for a year.
func (e *env) headers(t *testing.T, consoleURL string) {
	get := func(u string) *http.Response {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp
	}
	page := get(consoleURL)
	if page.StatusCode != 200 || page.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("GET /console: %d, Cache-Control %q", page.StatusCode, page.Header.Get("Cache-Control"))
	}
	csp := page.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %s", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q allows unsafe code", csp)
	}
	for h, want := range map[string]string{"Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"} {
		if got := page.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	site, err := console.Load()
	if err != nil {
		t.Fatal(err)
	}
	asset := get(consoleURL + "/" + site.Names["app.js"])
	if asset.StatusCode != 200 || asset.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
		!strings.HasPrefix(asset.Header.Get("Content-Type"), "text/javascript") {
		t.Errorf("GET app.js: %d %v", asset.StatusCode, asset.Header)
	}
	if r := get(consoleURL + "/app.js"); r.StatusCode != 404 {
		t.Errorf("an unfingerprinted name: %d, want 404", r.StatusCode)
	}
}
