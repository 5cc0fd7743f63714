package auditapi_test

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/audit"
	"github.com/keyward/keyward/pkg/auditapi"
	"github.com/keyward/keyward/pkg/auditstore"
	"github.com/keyward/keyward/pkg/workbench/ddblocal/ddblocaltest"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

func TestMain(m *testing.M) { os.Exit(ddblocaltest.Run(m)) }

// Key IDs of the seeded records and of the fixtures' callers.
const (
	keyA        = "key_01JD6B0C3XH5Q2M9T7R4W8N1PA"
	keyB        = "key_01JD6B0C3XH5Q2M9T7R4W8N1PB"
	acmeAdmin   = "key_01JD5Z8K3N4Q7R2T6V9W0X1Y2Z"
	globexAdmin = "key_01JD7C1D4YJ6R3N0V8S5X9P2QA"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// stack is the audit function's router over the real audit table and the
// real pepper (keys table + local KMS) that MACs its cursors.
type stack struct {
	store  *auditstore.Store
	router *apigw.Router
	logs   *keywardtest.LogBuffer
}

func newStack(t *testing.T) *stack {
	t.Helper()
	keys := keywardtest.Keys(t)
	store := auditstore.New(keys.DB, keys.Tables["AuditTable"], 0)
	logs := &keywardtest.LogBuffer{}
	return &stack{store: store, router: apigw.NewRouter(logs.Logger(), auditapi.Routes(audit.NewService(store, keys.Hasher))...), logs: logs}
}

// seedRecord is one record to seed: minutes after t0, what, by whom.
type seedRecord struct {
	tenant string
	min    int
	key    string
	action audit.Action
	actor  string
}

// seed writes the records through the real store and returns their IDs.
func (s *stack) seed(t *testing.T, recs []seedRecord) []string {
	t.Helper()
	ids := make([]string, len(recs))
	for i, r := range recs {
		req, ip := "req-"+strconv.Itoa(i), "198.51.100.7"
		rec := audit.Record{
			ID: audit.RecordID("evt-"+strconv.Itoa(i), strconv.Itoa(i)), TenantID: r.tenant, KeyID: r.key,
			Action: r.action, Actor: r.actor, At: t0.Add(time.Duration(r.min) * time.Minute), RequestID: &req, SourceIP: &ip,
			Changes: map[string]audit.FieldChange{"name": {From: "a", To: "b"}},
		}
		if wrote, err := s.store.Put(context.Background(), rec); err != nil || !wrote {
			t.Fatalf("seed %d: %v, %v", i, wrote, err)
		}
		ids[i] = rec.ID
	}
	return ids
}

// standardSeed is what the fixtures expect: acme's keys A and B over five
// minutes, and one globex record about a key of its own.
var standardSeed = []seedRecord{
	{"acme", 0, keyA, audit.ActionCreated, acmeAdmin},
	{"acme", 1, keyB, audit.ActionCreated, acmeAdmin},
	{"acme", 2, keyA, audit.ActionUpdated, acmeAdmin},
	{"acme", 3, keyA, audit.ActionRotated, keyA},
	{"acme", 4, keyB, audit.ActionRevoked, acmeAdmin},
	{"globex", 2, "key_01JD7C1D4YJ6R3N0V8S5X9P2QB", audit.ActionCreated, globexAdmin},
}

// platformKey is the operator tenant's platform key the fixtures name.
const platformKey = "key_01JD5Z8K3N4Q7R2T6V9W0X1Y4Z"

// seedTenants writes, in the operator tenant's trail, acme's creation,
// suspension and resumption and globex's creation (minutes 10-13), as the
// stream function records tenant changes, and returns their IDs.
func (s *stack) seedTenants(t *testing.T) []string {
	t.Helper()
	var ids []string
	for i, c := range []struct {
		subject string
		action  audit.Action
	}{
		{"acme", audit.ActionTenantCreated}, {"acme", audit.ActionTenantSuspended},
		{"globex", audit.ActionTenantCreated}, {"acme", audit.ActionTenantResumed},
	} {
		subject, key, name := c.subject, platformKey, "default"
		rec := audit.Record{
			ID: audit.RecordID("tenant-evt-"+strconv.Itoa(i), strconv.Itoa(i)), TenantID: "operator",
			Action: c.action, Actor: "user:ops@platform.example", ActorKeyID: &key, ActorKeyName: &name,
			At: t0.Add(time.Duration(10+i) * time.Minute), SubjectTenantID: &subject,
			Changes: map[string]audit.FieldChange{"status": {From: nil, To: "active"}},
		}
		if wrote, err := s.store.Put(context.Background(), rec); err != nil || !wrote {
			t.Fatalf("seed tenant record %d: %v, %v", i, wrote, err)
		}
		ids = append(ids, rec.ID)
	}
	return ids
}

// response is a proxy response with its decoded JSON body.
type response struct {
	events.APIGatewayProxyResponse
	body map[string]any
}

func (s *stack) serve(t *testing.T, req events.APIGatewayProxyRequest) response {
	t.Helper()
	resp, err := s.router.Handle(context.Background(), req)
	if err != nil {
		t.Fatalf("Handle returned an error: %v", err)
	}
	r := response{APIGatewayProxyResponse: resp}
	if err := json.Unmarshal([]byte(resp.Body), &r.body); err != nil {
		t.Fatalf("response body %q is not JSON: %v", resp.Body, err)
	}
	return r
}

// check asserts the status and, for errors, the code and field.
func (r response) check(t *testing.T, status int, code, field string) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", r.StatusCode, status, r.Body)
	}
	if r.Headers["Content-Type"] != "application/json" || r.Headers["Cache-Control"] != "no-store" {
		t.Errorf("headers %v", r.Headers)
	}
	if code == "" {
		return
	}
	e, _ := r.body["error"].(map[string]any)
	if e["code"] != code || (field != "" && e["field"] != field) {
		t.Fatalf("error %v, want %s naming %q", e, code, field)
	}
}

// items returns the IDs of a page's items and its next cursor ("" for null).
func (r response) items(t *testing.T) ([]string, string) {
	t.Helper()
	list, ok := r.body["items"].([]any)
	if !ok {
		t.Fatalf("no items list: %s", r.Body)
	}
	ids := make([]string, len(list))
	for i, x := range list {
		ids[i] = x.(map[string]any)["id"].(string)
	}
	next, _ := r.body["nextCursor"].(string)
	return ids, next
}

// get builds GET /v1/audit for a caller of tenant with scopes and a query.
func get(tenant, keyID, scopes string, query map[string]string) events.APIGatewayProxyRequest {
	req := events.APIGatewayProxyRequest{
		Resource: auditapi.ResourceAudit, Path: "/v1/audit", HTTPMethod: "GET",
		QueryStringParameters: query,
		RequestContext: events.APIGatewayProxyRequestContext{
			RequestID: "req-test", Identity: events.APIGatewayRequestIdentity{SourceIP: "203.0.113.7"},
		},
	}
	if tenant != "" {
		req.RequestContext.Authorizer = map[string]any{"tenantId": tenant, "keyId": keyID, "scopes": scopes}
	}
	return req
}
