package auditapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/auditapi"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

// TestEventFixtures feeds every events/audit-*.json to the audit function's
// router, against a fresh audit table holding standardSeed, and checks the
// outcome each fixture shows.
func TestEventFixtures(t *testing.T) {
	type outcome struct {
		status      int
		code, field string
		items       []string // "action keyId", in order
		more        bool     // a nextCursor is expected
	}
	want := map[string]outcome{
		"audit-list.json":                  {status: 200, items: []string{"key.revoked " + keyB, "key.rotated " + keyA}, more: true},
		"audit-list-key.json":              {status: 200, items: []string{"key.updated " + keyA}},
		"audit-list-time-range.json":       {status: 200, items: []string{"key.updated " + keyA, "key.created " + keyB}},
		"audit-list-other-tenant-key.json": {status: 200, items: []string{}},
		"audit-list-bad-limit.json":        {status: 400, code: "invalid_request", field: "limit"},
		"audit-list-bad-action.json":       {status: 400, code: "invalid_request", field: "action"},
		"audit-list-forbidden.json":        {status: 403, code: "forbidden"},
		"audit-list-no-authorizer.json":    {status: 401, code: "unauthorized"},
		"audit-list-subject-tenant.json":   {status: 200, items: []string{"tenant.resumed ", "tenant.suspended ", "tenant.created "}},
	}
	files := keywardtest.EventFixtures(t, "audit-*.json")
	s := newStack(t)
	s.seed(t, standardSeed)
	s.seedTenants(t)
	keywardtest.FeedEvents(t, files, want, func(t *testing.T, name string, raw []byte, w outcome) {
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
