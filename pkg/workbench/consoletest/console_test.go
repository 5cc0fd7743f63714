package consoletest_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestConsole drives every workflow of the console in order on one tab.
func TestConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests start the local stack and Chromium")
	}
	e := start(t)
	consoleURL := e.stack.APIURL + "/console"

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
		e.accessible(t, "keys list")
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
