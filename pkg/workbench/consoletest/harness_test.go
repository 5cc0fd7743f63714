package consoletest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/keyward/keyward/pkg/workbench/browser"
	"github.com/keyward/keyward/pkg/workbench/localstack"
)

// env is the stack, the browser and one tab, shared by the workflows.
type env struct {
	t        *testing.T
	stack    *localstack.Stack
	tab      *browser.Tab
	admin    string // the tenant's default key's token
	platform string // the operator tenant's platform key's token
	axe      string // axe-core's source
	root     string
	// broken names the first workflow that failed: the ones after it
	// would start from a page in an unknown state.
	broken string
}

// repoRoot is the repository's root (this package is three levels down).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// start brings up the stack and the browser. A missing browser or axe-core
// fails, naming the install command.
func start(t *testing.T) *env {
	t.Helper()
	root := repoRoot(t)
	chromium, err := browser.Find(root)
	if err != nil {
		t.Fatal(err)
	}
	axe, err := os.ReadFile(filepath.Join(root, "scripts", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core is missing (%v): %s", err, browser.InstallHint)
	}
	dir := t.TempDir()
	logs := &syncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st, err := localstack.Start(ctx, localstack.Options{
		DataDir: dir, Output: logs, Terminal: io.Discard,
		// No gateway cache: the console's calls reach the authorizer each
		// time, as they would after any revocation flush.
		Parameters: map[string]string{"AuthorizerCacheTtl": "0"},
	})
	if err != nil {
		t.Fatalf("the local stack did not start: %v\n%s", err, logs.String())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("stack logs (last 150 lines):\n%s", logs.tail(150))
		}
		if err := st.Close(); err != nil {
			t.Errorf("stop the stack: %v", err)
		}
	})
	token, err := os.ReadFile(st.TokenFile)
	if err != nil {
		t.Fatal(err)
	}
	platform, err := os.ReadFile(st.PlatformTokenFile)
	if err != nil {
		t.Fatal(err)
	}
	b, err := browser.Launch(chromium)
	if err != nil {
		t.Fatalf("%v (%s)", err, browser.InstallHint)
	}
	t.Cleanup(b.Close)
	return &env{t: t, stack: st, tab: b.NewTab(t), admin: strings.TrimSpace(string(token)), platform: strings.TrimSpace(string(platform)), axe: string(axe), root: root}
}

// step runs one workflow as a subtest; a failure saves a screenshot and the
// console log of that moment.
func (e *env) step(name string, fn func(t *testing.T)) {
	e.t.Run(name, func(t *testing.T) {
		if e.broken != "" {
			t.Fatalf("not run: workflow %s failed, and this one starts where it should have left the page", e.broken)
		}
		parent := e.t
		e.t = t
		restore := e.tab.Bind(t)
		defer func() { restore(); e.t = parent }()
		t.Cleanup(func() {
			if t.Failed() {
				e.tab.SaveArtifactsFor(t)
				e.broken = name
			}
		})
		fn(t)
	})
}

// accessible fails t when axe-core finds a serious or critical violation on
// the screen as it is.
func (e *env) accessible(t *testing.T, screen string) {
	t.Helper()
	for _, v := range e.tab.Axe(e.axe) {
		t.Errorf("%s: axe %s (%s): %s at %v", screen, v.ID, v.Impact, v.Help, v.Nodes)
	}
}

// js runs a statement in the page.
func (e *env) js(expr string) { e.t.Helper(); e.tab.Eval("(() => { " + expr + " })()") }

func (e *env) text(sel string) string {
	e.t.Helper()
	return e.tab.EvalString(fmt.Sprintf(`(document.querySelector(%q)?.textContent ?? '').trim()`, sel))
}

func (e *env) click(sel string) {
	e.t.Helper()
	e.tab.Do("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// typeInto focuses a field and types v, as a person would.
func (e *env) typeInto(sel, v string) {
	e.t.Helper()
	e.js(fmt.Sprintf(`const el = document.querySelector(%q); el.value = ''; el.dispatchEvent(new Event('input', {bubbles: true})); el.focus();`, sel))
	e.tab.Do("type into "+sel, chromedp.KeyEvent(v))
}

func (e *env) key(keys string) { e.t.Helper(); e.tab.Do("press keys", chromedp.KeyEvent(keys)) }

func (e *env) shiftTab() {
	e.t.Helper()
	e.tab.Do("shift+tab", chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
}

// focused describes the focused element (its id, else its text).
func (e *env) focused() string {
	e.t.Helper()
	return e.tab.EvalString(`(() => { const a = document.activeElement; return a ? (a.id || a.getAttribute('aria-label') || a.textContent.trim()) : ''; })()`)
}

// dialogOpen reports whether a dialog whose heading contains title is open.
func (e *env) dialogOpen(title string) bool {
	e.t.Helper()
	return e.tab.EvalBool(fmt.Sprintf(`[...document.querySelectorAll('dialog[open] h2')].some(h => h.textContent.includes(%q))`, title))
}

// call is a direct API call (to arrange data or check an outcome).
func (e *env) call(method, path, token string, body any, headers ...string) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.stack.APIURL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := (&http.Client{Timeout: 40 * time.Second}).Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// createKey creates a key through the API and returns its ID and token.
func (e *env) createKey(body map[string]any) (string, string) {
	e.t.Helper()
	status, m := e.call("POST", "/v1/keys", e.admin, body)
	if status != 201 {
		e.t.Fatalf("create %v: %d %v", body, status, m)
	}
	return m["id"].(string), m["token"].(string)
}

// syncBuffer collects the stack's logs from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }

func (b *syncBuffer) tail(n int) string {
	lines := strings.Split(b.String(), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
