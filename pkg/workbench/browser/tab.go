package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Tab is one page of a Browser, bound to a test.
type Tab struct {
	t      testing.TB
	ctx    context.Context
	cancel func()

	mu       sync.Mutex
	console  []string // every console message, exception and log entry
	problems []string // exceptions and CSP or other security reports
	requests []string // every URL requested
}

// NewTab opens a tab for t; it is closed when t ends, after saving a
// screenshot and the console log if t failed.
func (b *Browser) NewTab(t testing.TB) *Tab {
	t.Helper()
	tab := &Tab{t: t}
	tab.ctx, tab.cancel = chromedp.NewContext(b.ctx, chromedp.WithListener(tab.listen))
	if err := chromedp.Do(tab.ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	if _, err := chromedp.Call(tab.ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("enable network events: %v", err)
	}
	if _, err := chromedp.Call(tab.ctx, log.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("enable log events: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			tab.SaveArtifacts()
		}
		tab.cancel()
	})
	return tab
}

func (tab *Tab) listen(ev any) {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var parts []string
		for _, a := range e.Args {
			if a.Value != nil {
				parts = append(parts, string(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		tab.console = append(tab.console, fmt.Sprintf("console.%s: %s", e.Type, strings.Join(parts, " ")))
	case *runtime.EventExceptionThrown:
		msg := e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			msg += " " + e.ExceptionDetails.Exception.Description
		}
		line := fmt.Sprintf("exception: %s (%s:%d)", msg, e.ExceptionDetails.URL, e.ExceptionDetails.LineNumber)
		tab.console = append(tab.console, line)
		tab.problems = append(tab.problems, line)
	case *log.EventEntryAdded:
		line := fmt.Sprintf("log %s %s: %s %s", e.Entry.Source, e.Entry.Level, e.Entry.Text, e.Entry.URL)
		tab.console = append(tab.console, line)
		if e.Entry.Source == log.EntrySourceSecurity || e.Entry.Source == log.EntrySourceJavascript && e.Entry.Level == log.EntryLevelError {
			tab.problems = append(tab.problems, line)
		}
	case *network.EventRequestWillBeSent:
		tab.requests = append(tab.requests, e.Request.URL)
	}
}

// Bind makes failures go to t (a subtest) until the returned func restores
// the previous test.
func (tab *Tab) Bind(t testing.TB) (restore func()) {
	prev := tab.t
	tab.t = t
	return func() { tab.t = prev }
}

// Do runs actions, failing the test on error.
func (tab *Tab) Do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tab.t.Fatalf("%s: %v", what, err)
	}
}

// Eval evaluates a JavaScript expression (promises awaited) and returns its
// value as JSON.
func (tab *Tab) Eval(expr string) []byte {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, 45*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tab.t.Fatalf("evaluate %s: %v", firstLine(expr), err)
	}
	return v
}

// EvalString evaluates an expression whose value is a string.
func (tab *Tab) EvalString(expr string) string {
	tab.t.Helper()
	var s string
	if err := json.Unmarshal(tab.Eval(expr), &s); err != nil {
		tab.t.Fatalf("evaluate %s: not a string: %v", firstLine(expr), err)
	}
	return s
}

// EvalBool evaluates an expression whose value is a boolean.
func (tab *Tab) EvalBool(expr string) bool {
	tab.t.Helper()
	var b bool
	if err := json.Unmarshal(tab.Eval(expr), &b); err != nil {
		tab.t.Fatalf("evaluate %s: not a boolean: %v", firstLine(expr), err)
	}
	return b
}

// Wait polls a JavaScript condition until it is true (at most 20 s).
func (tab *Tab) Wait(what, cond string) {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		tab.t.Fatalf("waiting for %s (%s): %v", what, cond, err)
	}
}

// Problems returns the exceptions and security (CSP) reports seen so far.
func (tab *Tab) Problems() []string {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	return append([]string(nil), tab.problems...)
}

// Requests returns every URL the page requested so far.
func (tab *Tab) Requests() []string {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	return append([]string(nil), tab.requests...)
}

// CheckOrigin fails the test if the page requested anything from another
// origin than base's.
func (tab *Tab) CheckOrigin(base string) {
	tab.t.Helper()
	want, err := url.Parse(base)
	if err != nil {
		tab.t.Fatal(err)
	}
	for _, r := range tab.Requests() {
		u, err := url.Parse(r)
		if err != nil || u.Scheme == "data" {
			continue
		}
		if u.Host != want.Host || u.Scheme != want.Scheme {
			tab.t.Errorf("the page requested %s, outside its own origin %s", r, base)
		}
	}
}

// Screenshot saves a PNG of the page to path.
func (tab *Tab) Screenshot(path string) error {
	ctx, cancel := context.WithTimeout(tab.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return err
	}
	return os.WriteFile(path, png, 0o644)
}

// SaveArtifacts writes a screenshot and the console log to a new directory
// under the system's temporary directory, kept after the run, and logs where.
func (tab *Tab) SaveArtifacts() { tab.SaveArtifactsFor(tab.t) }

// SaveArtifactsFor is SaveArtifacts, logged to (and named after) t.
func (tab *Tab) SaveArtifactsFor(t testing.TB) {
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	dir, err := os.MkdirTemp("", "keyward-browser-"+name+"-")
	if err != nil {
		t.Logf("save browser artifacts: %v", err)
		return
	}
	shot := filepath.Join(dir, "screenshot.png")
	if err := tab.Screenshot(shot); err != nil {
		t.Logf("screenshot: %v", err)
	}
	tab.mu.Lock()
	text := strings.Join(tab.console, "\n") + "\n\nrequests:\n" + strings.Join(tab.requests, "\n") + "\n"
	tab.mu.Unlock()
	logPath := filepath.Join(dir, "console.log")
	_ = os.WriteFile(logPath, []byte(text), 0o644)
	t.Logf("browser artifacts: screenshot %s, console log %s", shot, logPath)
}

// Violation is one axe-core rule a page breaks.
type Violation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// Axe injects axe-core (source axeJS) if the page lacks it and returns the
// serious and critical violations of the page as it is now. DevTools
// evaluation is not subject to the page's CSP, so the page itself needs no
// exception for it.
func (tab *Tab) Axe(axeJS string) []Violation {
	tab.t.Helper()
	if !tab.EvalBool(`typeof window.axe === 'object'`) {
		tab.EvalBool(axeJS + ";true")
	}
	raw := tab.EvalString(`axe.run(document, {resultTypes: ['violations']}).then(r => JSON.stringify(
		r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
		 .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))))`)
	var out []Violation
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		tab.t.Fatalf("axe result: %v", err)
	}
	return out
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + "…"
	}
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}
