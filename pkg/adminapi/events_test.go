package adminapi_test

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

// Key IDs the fixtures in events/ use. The test creates real keys and puts
// their IDs in place of fixtureKeyA and fixtureKeyB; fixtureMissing never exists.
const (
	fixtureKeyA    = "key_01JD6B0C3XH5Q2M9T7R4W8N1PA"
	fixtureKeyB    = "key_01JD6B0C3XH5Q2M9T7R4W8N1PB"
	fixtureMissing = "key_01JD6B0C3XH5Q2M9T7R4W8N1PZ"
)

// fixtureFunctions maps a fixture's name prefix to the function that serves it.
var fixtureFunctions = []struct{ prefix, function string }{
	{"create-key", "create"},
	{"list-keys", "list"},
	{"get-key", "list"},
	{"edit-key", "edit"},
	{"rotate-key", "edit"},
	{"revoke-key", "revoke"},
	{"batch-revoke", "revoke"},
	{"policy-", "policy"},
}

// otherFixtures are the name prefixes of fixtures that other functions'
// packages feed to their own handlers (authorizer, verify, audit, tenants, console, events,
// leaks, reminders, flush).
var otherFixtures = []string{"authorizer-", "verify", "whoami", "audit", "tenants-", "console-", "events-", "leaks-", "reminders-", "flush-"}

func servedElsewhere(name string) bool {
	for _, p := range otherFixtures {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// TestEventFixtures feeds every events/*.json to the router of the function
// its name names, against a fresh table holding two keys of tenant acme
// ("CRM sync" and "WFM export"), and checks the outcome each fixture shows.
func TestEventFixtures(t *testing.T) {
	type outcome struct {
		status      int
		code, field string
		check       func(t *testing.T, r response)
	}
	want := map[string]outcome{
		"create-key.json": {status: 201, check: func(t *testing.T, r response) {
			if r.Headers["ETag"] != `"1"` || r.body["secret"] == nil || r.body["token"] == nil || r.body["tenantId"] != "acme" || r.body["name"] != "BI export" {
				t.Errorf("created: %v %s", r.Headers, r.Body)
			}
		}},
		"create-key-invalid-name.json":  {status: 400, code: "invalid_request", field: "name"},
		"create-key-unknown-field.json": {status: 400, code: "invalid_request", field: "tenantId"},
		"create-key-forbidden.json":     {status: 403, code: "forbidden"},
		"create-key-for-tenant.json": {status: 201, check: func(t *testing.T, r response) {
			if r.body["tenantId"] != "acme" || r.body["createdBy"] != "user:jane@acme.example" ||
				r.body["createdByKeyId"] != keywardtest.PlatformKeyID || r.body["createdByKeyName"] != "default" {
				t.Errorf("created for Jane in acme: %s", r.Body)
			}
		}},
		"create-key-tenant-header-forbidden.json": {status: 403, code: "forbidden", field: "Keyward-Tenant"},
		"list-keys.json": {status: 200, check: func(t *testing.T, r response) {
			if items, _ := r.body["items"].([]any); len(items) != 3 || r.body["nextCursor"] != nil { // two seeded keys and the calling key
				t.Errorf("list: %s", r.Body)
			}
		}},
		"list-keys-search.json": {status: 200, check: func(t *testing.T, r response) {
			items, _ := r.body["items"].([]any)
			if len(items) != 1 || items[0].(map[string]any)["name"] != "CRM sync" {
				t.Errorf("search: %s", r.Body)
			}
		}},
		"list-keys-bad-limit.json": {status: 400, code: "invalid_request", field: "limit"},
		"get-key.json": {status: 200, check: func(t *testing.T, r response) {
			if r.Headers["ETag"] != `"1"` || r.body["name"] != "CRM sync" || r.body["secret"] != nil || r.body["token"] != nil {
				t.Errorf("get: %v %s", r.Headers, r.Body)
			}
		}},
		"get-key-other-tenant.json":  {status: 404, code: "not_found"},
		"get-key-no-authorizer.json": {status: 401, code: "unauthorized"},
		"edit-key.json": {status: 200, check: func(t *testing.T, r response) {
			if r.Headers["ETag"] != `"2"` || r.body["name"] != "CRM sync (EU)" {
				t.Errorf("edit: %v %s", r.Headers, r.Body)
			}
		}},
		"edit-key-stale-if-match.json": {status: 412, code: "precondition_failed"},
		"edit-key-scopes.json":         {status: 400, code: "invalid_request", field: "scopes"},
		"rotate-key.json": {status: 200, check: func(t *testing.T, r response) {
			if r.Headers["ETag"] != `"2"` || r.body["secret"] == nil || r.body["previousSecretExpiresAt"] == nil {
				t.Errorf("rotate: %v %s", r.Headers, r.Body)
			}
		}},
		"rotate-key-no-body.json": {status: 200, check: func(t *testing.T, r response) {
			if r.body["secret"] == nil || r.body["previousSecretExpiresAt"] != nil {
				t.Errorf("rotate without grace: %s", r.Body)
			}
		}},
		"revoke-key.json": {status: 200, check: func(t *testing.T, r response) {
			if r.body["status"] != "revoked" || r.body["revokedAt"] == nil {
				t.Errorf("revoke: %s", r.Body)
			}
		}},
		"revoke-key-forbidden.json": {status: 403, code: "forbidden"},
		"batch-revoke.json": {status: 200, check: func(t *testing.T, r response) {
			results, _ := r.body["results"].([]any)
			var got []string
			for _, x := range results {
				m := x.(map[string]any)
				s := m["status"].(string)
				if e, ok := m["error"].(map[string]any); ok {
					s += ":" + e["code"].(string)
				}
				got = append(got, s)
			}
			if strings.Join(got, ",") != "revoked,revoked,error:not_found" {
				t.Errorf("batch results %v: %s", got, r.Body)
			}
		}},
		"batch-revoke-empty.json": {status: 400, code: "invalid_request", field: "ids"},
		"policy-get.json": {status: 200, check: func(t *testing.T, r response) {
			if r.Headers["ETag"] != `"0"` || r.body["version"] != 0.0 || r.body["leakAction"] != "revoke" {
				t.Errorf("default policy: %v %s", r.Headers, r.Body)
			}
		}},
		"policy-put.json": {status: 200, check: func(t *testing.T, r response) {
			if r.Headers["ETag"] != `"1"` || r.body["maxLifetimeDays"] != 90.0 || r.body["updatedBy"] != "key_01JD5Z8K3N4Q7R2T6V9W0X1Y2Z" {
				t.Errorf("put policy: %v %s", r.Headers, r.Body)
			}
		}},
		"policy-put-bad-field.json":  {status: 400, code: "invalid_request", field: "maxLifetime"},
		"policy-stale-if-match.json": {status: 412, code: "precondition_failed"},
	}

	files := keywardtest.EventFixtures(t, "*.json")
	maps.DeleteFunc(files, func(name, _ string) bool { return servedElsewhere(name) })
	keywardtest.FeedEvents(t, files, want, func(t *testing.T, name string, raw []byte, w outcome) {
		function := ""
		for _, f := range fixtureFunctions {
			if strings.HasPrefix(name, f.prefix) {
				function = f.function
			}
		}
		if function == "" {
			t.Fatalf("events/%s: the name's prefix names no function", name)
		}

		s := newStack(t)
		if name == "create-key-for-tenant.json" { // the platform key acts in tenant acme, which must exist
			s.keys.StorePlatform(t)
			s.keys.Bootstrap(t, "acme", "system:test")
		}
		a := s.seed(t, admin("acme"), "CRM sync")
		b := s.seed(t, admin("acme"), "WFM export")
		text := strings.NewReplacer(fixtureKeyA, a.ID, fixtureKeyB, b.ID).Replace(string(raw))
		var req events.APIGatewayProxyRequest
		if err := json.Unmarshal([]byte(text), &req); err != nil {
			t.Fatalf("events/%s is not a proxy event: %v", name, err)
		}
		if got := functionFor(req.HTTPMethod, req.Resource); got != function {
			t.Fatalf("events/%s is %s %s, served by %s, but its name says %s", name, req.HTTPMethod, req.Resource, got, function)
		}
		r := s.serve(t, req)
		r.check(t, w.status, w.code, w.field)
		if w.check != nil {
			w.check(t, r)
		}
	})
}
