package auditapi_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/auditapi"
	"github.com/keyward/keyward/pkg/ddblocal"
)

// TestEventFixtures feeds every events/audit-*.json to the audit function's
// router, against a fresh audit table holding standardSeed, and checks the
// outcome each fixture shows.
func TestEventFixtures(t *testing.T) {
	want := map[string]struct {
		status      int
		code, field string
		items       []string // "action keyId", in order
		more        bool     // a nextCursor is expected
	}{
		"audit-list.json":                  {status: 200, items: []string{"key.revoked " + keyB, "key.rotated " + keyA}, more: true},
		"audit-list-key.json":              {status: 200, items: []string{"key.updated " + keyA}},
		"audit-list-time-range.json":       {status: 200, items: []string{"key.updated " + keyA, "key.created " + keyB}},
		"audit-list-other-tenant-key.json": {status: 200, items: []string{}},
		"audit-list-bad-limit.json":        {status: 400, code: "invalid_request", field: "limit"},
		"audit-list-bad-action.json":       {status: 400, code: "invalid_request", field: "action"},
		"audit-list-forbidden.json":        {status: 403, code: "forbidden"},
		"audit-list-no-authorizer.json":    {status: 401, code: "unauthorized"},
	}
	root, err := ddblocal.RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "events", "audit-*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no audit fixtures in events/: %v", err)
	}
	s := newStack(t)
	s.seed(t, standardSeed)
	seen := map[string]bool{}
	for _, path := range files {
		name := filepath.Base(path)
		seen[name] = true
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("events/%s has no expected outcome in this test: add one", name)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var req events.APIGatewayProxyRequest
			if err := json.Unmarshal(raw, &req); err != nil {
				t.Fatalf("events/%s is not a proxy event: %v", name, err)
			}
			if req.HTTPMethod != "GET" || req.Resource != auditapi.ResourceAudit {
				t.Fatalf("events/%s is %s %s, not served by the audit function", name, req.HTTPMethod, req.Resource)
			}
			r := s.serve(t, req)
			r.check(t, w.status, w.code, w.field)
			if w.status != 200 {
				return
			}
			list := r.body["items"].([]any)
			got := make([]string, len(list))
			for i, x := range list {
				m := x.(map[string]any)
				got[i] = m["action"].(string) + " " + m["keyId"].(string)
			}
			if strings.Join(got, ",") != strings.Join(w.items, ",") {
				t.Errorf("items %v, want %v", got, w.items)
			}
			if _, more := r.body["nextCursor"].(string); more != w.more {
				t.Errorf("nextCursor = %v, want one: %v", r.body["nextCursor"], w.more)
			}
		})
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("events/%s is expected but missing", name)
		}
	}
}
