package console

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

func mustLoad(t *testing.T) *Site {
	t.Helper()
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEveryImportAndReferenceIsFingerprinted(t *testing.T) {
	s := mustLoad(t)
	ref := regexp.MustCompile(`(?:src|href)="console/([^"]+)"`)
	refs := ref.FindAllStringSubmatch(string(s.Page.Body), -1)
	if len(refs) != 3 {
		t.Fatalf("page references %d assets, want 3 (icon, style, app):\n%s", len(refs), s.Page.Body)
	}
	for _, r := range refs {
		if _, ok := s.Assets[r[1]]; !ok {
			t.Errorf("page refers to %s, which is not served", r[1])
		}
	}
	imp := regexp.MustCompile(`(?m)(?:\sfrom\s*|^import\s*)'([^']+)'`)
	for name, a := range s.Assets {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		for _, m := range imp.FindAllStringSubmatch(string(a.Body), -1) {
			if _, ok := s.Assets[strings.TrimPrefix(m[1], "./")]; !ok {
				t.Errorf("%s imports %s, which is not a served asset", name, m[1])
			}
		}
		if strings.Contains(string(a.Body), "innerHTML") || strings.Contains(string(a.Body), "localStorage.") || strings.Contains(string(a.Body), "document.cookie") {
			t.Errorf("%s uses innerHTML, localStorage or cookies", name)
		}
	}
}

func TestFingerprintFollowsImports(t *testing.T) {
	fsys := fstest.MapFS{
		"assets/index.html": {Data: []byte(`<script type="module" src="a.js"></script>`)},
		"assets/a.js":       {Data: []byte(`import { b } from './b.js';`)},
		"assets/b.js":       {Data: []byte(`export const b = 1;`)},
	}
	s1, err := load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	fsys["assets/b.js"] = &fstest.MapFile{Data: []byte(`export const b = 2;`)}
	s2, err := load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if s1.Names["a.js"] == s2.Names["a.js"] {
		t.Errorf("a.js kept its name %s when the module it imports changed", s1.Names["a.js"])
	}
	fsys["assets/b.js"] = &fstest.MapFile{Data: []byte(`import './a.js';`)}
	if _, err := load(fsys); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("import cycle: err = %v", err)
	}
	fsys["assets/b.js"] = &fstest.MapFile{Data: []byte(`import './c.js';`)}
	if _, err := load(fsys); err == nil || !strings.Contains(err.Error(), "c.js") {
		t.Errorf("missing import: err = %v", err)
	}
}

func serve(t *testing.T, h *Handler, method, resource, asset string) events.APIGatewayProxyResponse {
	t.Helper()
	req := events.APIGatewayProxyRequest{HTTPMethod: method, Resource: resource}
	if asset != "" {
		req.PathParameters = map[string]string{"asset": asset}
	}
	resp, err := h.Handle(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestHandlerHeadersAndCaching(t *testing.T) {
	s := mustLoad(t)
	h := NewHandler(s, nil)
	page := serve(t, h, "GET", ResourcePage, "")
	if page.StatusCode != http.StatusOK || !strings.HasPrefix(page.Headers["Content-Type"], "text/html") || page.Headers["Cache-Control"] != "no-cache" {
		t.Fatalf("page: %d %v", page.StatusCode, page.Headers)
	}
	app := s.Names["app.js"]
	for _, asset := range []string{app, "console/" + app} {
		r := serve(t, h, "GET", ResourceAsset, asset)
		if r.StatusCode != http.StatusOK || r.Headers["Cache-Control"] != "public, max-age=31536000, immutable" || !strings.HasPrefix(r.Headers["Content-Type"], "text/javascript") {
			t.Errorf("asset %s: %d %v", asset, r.StatusCode, r.Headers)
		}
	}
	for _, r := range []events.APIGatewayProxyResponse{
		page,
		serve(t, h, "GET", ResourceAsset, "app.js"),        // not fingerprinted: 404
		serve(t, h, "POST", ResourcePage, ""),              // 405
		serve(t, h, "GET", ResourceAsset, "../etc/passwd"), // 404
	} {
		for k, want := range map[string]string{"Content-Security-Policy": CSP, "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"} {
			if r.Headers[k] != want {
				t.Errorf("%d response: %s = %q, want %q", r.StatusCode, k, r.Headers[k], want)
			}
		}
	}
	if !strings.Contains(CSP, "frame-ancestors 'none'") || strings.Contains(CSP, "unsafe-inline") {
		t.Errorf("CSP %q", CSP)
	}
	if r := serve(t, h, "GET", ResourceAsset, "app.js"); r.StatusCode != http.StatusNotFound {
		t.Errorf("unfingerprinted name: %d", r.StatusCode)
	}
	if r := serve(t, h, "DELETE", ResourcePage, ""); r.StatusCode != http.StatusMethodNotAllowed || r.Headers["Allow"] != "GET, HEAD" {
		t.Errorf("DELETE: %d %v", r.StatusCode, r.Headers)
	}
}

// TestPageHasNoInlineCode: the CSP refuses inline script and style, so the
// page must not need them.
func TestPageHasNoInlineCode(t *testing.T) {
	s := mustLoad(t)
	page := string(s.Page.Body)
	if regexp.MustCompile(`<script(?:[^>]*)>\s*[^<\s]`).MatchString(page) || strings.Contains(page, "<style") || strings.Contains(page, "style=") || regexp.MustCompile(`\son[a-z]+=`).MatchString(page) {
		t.Errorf("page has inline script, style or handlers:\n%s", page)
	}
	for name, a := range s.Assets {
		if strings.Contains(string(a.Body), "http://") && !strings.HasSuffix(name, ".svg") || strings.Contains(string(a.Body), "https://") && strings.HasSuffix(name, ".css") {
			t.Errorf("%s names another origin", name)
		}
	}
}

// JSBudget bounds the gzipped JavaScript the console ships (README states the figure).
const JSBudget = 24 << 10

func TestGzippedJavaScriptSize(t *testing.T) {
	s := mustLoad(t)
	total := 0
	for name, a := range s.Assets {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		var b bytes.Buffer
		w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		_, _ = w.Write(a.Body)
		_ = w.Close()
		total += b.Len()
	}
	t.Logf("JavaScript: %d bytes gzipped (each module on its own)", total)
	if total > JSBudget {
		t.Errorf("JavaScript is %d bytes gzipped, over the %d budget", total, JSBudget)
	}
}

// TestServesThePublicRoutes: the handler's resources are the route table's
// public routes (the template checks hold template.yaml to the same table).
func TestServesThePublicRoutes(t *testing.T) {
	want := map[string]bool{ResourcePage: true, ResourceAsset: true}
	for _, r := range apikey.PublicRoutes() {
		if r.Function != "ConsoleFunction" {
			continue
		}
		if !want[r.Path] || r.Method != http.MethodGet {
			t.Errorf("route table: %s %s is not served by the console handler", r.Method, r.Path)
		}
		delete(want, r.Path)
	}
	for p := range want {
		t.Errorf("the console serves %s, which the route table lacks", p)
	}
}

// TestEventFixtures feeds every events/console-*.json to the handler.
func TestEventFixtures(t *testing.T) {
	h := NewHandler(mustLoad(t), nil)
	files := keywardtest.EventFixtures(t, "console-*.json")
	want := map[string]int{"console-page.json": 200, "console-asset-unknown.json": 404, "console-post.json": 405}
	keywardtest.FeedEvents(t, files, want, func(t *testing.T, name string, raw []byte, status int) {
		var req events.APIGatewayProxyRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			t.Fatalf("events/%s is not a proxy event: %v", name, err)
		}
		resp, err := h.Handle(context.Background(), req)
		if err != nil || resp.StatusCode != status || resp.Headers["Content-Security-Policy"] != CSP {
			t.Errorf("status %d (want %d), CSP %q, err %v", resp.StatusCode, status, resp.Headers["Content-Security-Policy"], err)
		}
	})
}
