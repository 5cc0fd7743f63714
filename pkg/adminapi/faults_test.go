package adminapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/adminapi"
	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/kmspepper"
	"github.com/keyward/keyward/pkg/unicoderules"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

// faultStack is the four admin functions wired as their main.go wires them,
// over the real SDK clients
// reaching DynamoDB Local and the local KMS through an injecting transport.
type faultStack struct {
	keys    *keywardtest.Stack // clean clients, to check outcomes with
	f       *keywardtest.Faults
	caller  apikey.Caller
	logs    *keywardtest.LogBuffer
	routers map[string]func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)
	secrets []string
	seq     int
}

func newFaultStack(t *testing.T) *faultStack {
	t.Helper()
	keys := keywardtest.Keys(t)
	caller, def := keys.Bootstrap(t, "acme", "system:test")
	f := keywardtest.NewFaults(t)
	s := &faultStack{keys: keys, f: f, caller: caller, logs: &keywardtest.LogBuffer{}, secrets: []string{def.Secret, def.Token}}
	s.logs.CheckNoSecrets(t, &s.secrets)
	// The service logs through slog's default logger, as awsenv sets it.
	prev := slog.Default()
	slog.SetDefault(s.logs.Logger())
	t.Cleanup(func() { slog.SetDefault(prev) })
	s.wire(keys.WithFaults(t, f).Service)
	return s
}

// logged counts the log lines since mark whose message is msg.
func (s *faultStack) logged(mark int, msg string) int {
	return strings.Count(s.logs.String()[mark:], `"msg":"`+msg+`"`)
}

// wire mounts the functions over svc.
func (s *faultStack) wire(svc *apikey.Service) {
	log := s.logs.Logger()
	s.routers = map[string]func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error){
		"create": apigw.NewRouter(log, adminapi.CreateRoutes(svc)...).Handle,
		"list":   apigw.NewRouter(log, adminapi.ListRoutes(svc)...).Handle,
		"edit":   apigw.NewRouter(log, adminapi.EditRoutes(svc)...).Handle,
		"revoke": apigw.NewRouter(log, adminapi.RevokeRoutes(svc)...).Handle,
	}
}

// key creates a key through the clean service.
func (s *faultStack) key(t *testing.T) *apikey.Issued {
	t.Helper()
	s.seq++
	iss, err := s.keys.Service.Create(context.Background(), s.caller, apikey.CreateInput{Name: fmt.Sprintf("fault key %d", s.seq), Scopes: []string{"recordings:read"}})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	s.secrets = append(s.secrets, iss.Secret, iss.Token)
	return iss
}

// serve sends r as the caller through stage prod, within timeout.
func (s *faultStack) serve(t *testing.T, r req, timeout time.Duration) response {
	t.Helper()
	ev := r.as(s.caller)
	ev.RequestContext.APIID, ev.RequestContext.Stage = "abc123def4", "prod"
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	resp, err := s.routers[functionFor(ev.HTTPMethod, ev.Resource)](ctx, ev)
	if err != nil {
		t.Fatalf("handler error: %v", err)
	}
	out := response{APIGatewayProxyResponse: resp}
	if err := json.Unmarshal([]byte(resp.Body), &out.body); err != nil {
		t.Fatalf("body %q: %v", resp.Body, err)
	}
	if sec, ok := out.body["secret"].(string); ok {
		s.secrets = append(s.secrets, sec, out.body["token"].(string))
	}
	return out
}

func (s *faultStack) verify(t *testing.T, id, secret string) apikey.VerifyCode {
	t.Helper()
	_, code, err := s.keys.Service.Verify(context.Background(), id, secret)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return code
}

// writeOp is one write route: what it sends, which DynamoDB call makes its
// write, what a committed write
// changes in the table, and how to check the committed outcome.
type writeOp struct {
	name    string
	call    string // the operation that writes: PutItem or TransactWriteItems
	commit  counts
	request func(s *faultStack, t *testing.T) (r req, target string, k *apikey.Issued)
	check   func(s *faultStack, t *testing.T, r response, k *apikey.Issued)
}

// counts is how many items a write adds, removes and changes.
type counts struct{ added, removed, changed int }

var writeOps = []writeOp{
	{name: "create", call: "TransactWriteItems", commit: counts{added: 2},
		request: func(s *faultStack, t *testing.T) (req, string, *apikey.Issued) {
			s.seq++
			name := fmt.Sprintf("created %d", s.seq)
			return req{method: "POST", resource: adminapi.ResourceKeys, body: map[string]any{"name": name, "scopes": []string{"recordings:read"}}}, unicoderules.NameKey(name), nil
		},
		check: func(s *faultStack, t *testing.T, r response, _ *apikey.Issued) {
			id, _ := r.body["id"].(string)
			list := s.serve(t, req{method: "GET", resource: adminapi.ResourceKeys, query: map[string]string{"q": r.body["name"].(string)}}, 5*time.Second)
			items, _ := list.body["items"].([]any)
			if len(items) != 1 || items[0].(map[string]any)["id"] != id {
				t.Errorf("listed %d keys by the created name, want exactly the created one: %s", len(items), list.Body)
			}
			if c := s.verify(t, id, r.body["secret"].(string)); c != apikey.CodeValid {
				t.Errorf("the created key verifies as %s", c)
			}
		}},
	{name: "edit", call: "PutItem", commit: counts{changed: 1},
		request: func(s *faultStack, t *testing.T) (req, string, *apikey.Issued) {
			k := s.key(t)
			return req{method: "PATCH", resource: adminapi.ResourceKey, keyID: k.ID, body: map[string]any{"description": "edited"}, headers: map[string]string{"If-Match": apigw.ETag(k.Version)}}, k.ID, k
		},
		check: func(s *faultStack, t *testing.T, r response, k *apikey.Issued) {
			if r.body["description"] != "edited" || r.body["version"] != float64(k.Version+1) {
				t.Errorf("edited key = %s", r.Body)
			}
		}},
	{name: "rename", call: "TransactWriteItems", commit: counts{added: 1, removed: 1, changed: 1},
		request: func(s *faultStack, t *testing.T) (req, string, *apikey.Issued) {
			k := s.key(t)
			return req{method: "PATCH", resource: adminapi.ResourceKey, keyID: k.ID, body: map[string]any{"name": "renamed " + k.Name}, headers: map[string]string{"If-Match": apigw.ETag(k.Version)}}, k.ID, k
		},
		check: func(s *faultStack, t *testing.T, r response, k *apikey.Issued) {
			if r.body["name"] != "renamed "+k.Name || r.body["version"] != float64(k.Version+1) {
				t.Errorf("renamed key = %s", r.Body)
			}
		}},
	{name: "allow-list", call: "PutItem", commit: counts{changed: 1},
		request: func(s *faultStack, t *testing.T) (req, string, *apikey.Issued) {
			k := s.key(t)
			return req{method: "PATCH", resource: adminapi.ResourceKey, keyID: k.ID, body: map[string]any{"allowList": map[string]any{"ips": []string{"203.0.113.0/24"}, "origins": []string{}}}}, k.ID, k
		},
		check: func(s *faultStack, t *testing.T, r response, k *apikey.Issued) {
			if !strings.Contains(r.Body, "203.0.113.0/24") || r.body["version"] != float64(k.Version+1) {
				t.Errorf("edited key = %s", r.Body)
			}
		}},
	{name: "rotate", call: "PutItem", commit: counts{changed: 1},
		request: func(s *faultStack, t *testing.T) (req, string, *apikey.Issued) {
			k := s.key(t)
			return req{method: "POST", resource: adminapi.ResourceRotate, keyID: k.ID, headers: map[string]string{"If-Match": apigw.ETag(k.Version)}}, k.ID, k
		},
		check: func(s *faultStack, t *testing.T, r response, k *apikey.Issued) {
			if c := s.verify(t, k.ID, r.body["secret"].(string)); c != apikey.CodeValid {
				t.Errorf("the new secret verifies as %s, want VALID", c)
			}
			if c := s.verify(t, k.ID, k.Secret); c != apikey.CodeInvalidSecret {
				t.Errorf("the old secret verifies as %s, want INVALID_SECRET", c)
			}
		}},
	{name: "revoke", call: "TransactWriteItems", commit: counts{removed: 1, changed: 1},
		request: func(s *faultStack, t *testing.T) (req, string, *apikey.Issued) {
			k := s.key(t)
			return req{method: "DELETE", resource: adminapi.ResourceKey, keyID: k.ID}, k.ID, k
		},
		check: func(s *faultStack, t *testing.T, r response, k *apikey.Issued) {
			if r.body["status"] != "revoked" {
				t.Errorf("revoked key = %s", r.Body)
			}
			if c := s.verify(t, k.ID, k.Secret); c != apikey.CodeRevoked {
				t.Errorf("the key verifies as %s, want REVOKED", c)
			}
		}},
}

// fault is one fault of the matrix, on the write's own call unless op says
// otherwise, and what the route must answer.
type fault struct {
	name   string
	rule   keywardtest.Rule
	forget bool          // DynamoDB no longer recognises the SDK's idempotency token
	ops    string        // only for write calls of this kind ("" for all)
	status int           // 2xx: the write committed once
	within time.Duration // the request's deadline (5 s when 0)
}

var faults = []fault{
	{name: "none", status: 0},
	{name: "refused-once", rule: keywardtest.Rule{Times: 1, Fault: keywardtest.Refuse}},
	{name: "refused", rule: keywardtest.Rule{Fault: keywardtest.Refuse}, status: 500},
	{name: "answer-lost-once", rule: keywardtest.Rule{Times: 1, Fault: keywardtest.Drop}},
	{name: "answer-lost-token-forgotten", rule: keywardtest.Rule{Times: 1, Fault: keywardtest.Drop}, forget: true, ops: "TransactWriteItems"},
	{name: "every-answer-lost", rule: keywardtest.Rule{Fault: keywardtest.Drop}},
	{name: "every-answer-lost-token-forgotten", rule: keywardtest.Rule{Fault: keywardtest.Drop}, forget: true, ops: "TransactWriteItems"},
	{name: "delayed", rule: keywardtest.Rule{Times: 1, Fault: keywardtest.Delay, Delay: 20 * time.Millisecond}},
	{name: "delayed-past-deadline", rule: keywardtest.Rule{Fault: keywardtest.Delay, Delay: time.Minute}, status: 500, within: 150 * time.Millisecond},
	{name: "throttled-once", rule: keywardtest.Rule{Times: 1, Fault: keywardtest.Throttle}},
	{name: "throttled", rule: keywardtest.Rule{Fault: keywardtest.Throttle}, status: 503},
	{name: "throughput-exceeded", rule: keywardtest.Rule{Fault: keywardtest.ProvisionedThroughput}, status: 503},
	{name: "transaction-conflict-once", rule: keywardtest.Rule{Times: 1, Fault: keywardtest.TransactionConflict}, ops: "TransactWriteItems"},
	{name: "transaction-conflict", rule: keywardtest.Rule{Fault: keywardtest.TransactionConflict}, status: 503, ops: "TransactWriteItems"},
	{name: "server-error", rule: keywardtest.Rule{Fault: keywardtest.ServerError}, status: 500},
	// A key is read with one BatchGetItem (the key item and the suspended-tenants set).
	{name: "read-refused", rule: keywardtest.Rule{Op: "BatchGetItem", Fault: keywardtest.Refuse}, status: 500, ops: "key"},
	{name: "read-throttled", rule: keywardtest.Rule{Op: "BatchGetItem", Fault: keywardtest.Throttle}, status: 503, ops: "key"},
	{name: "usage-read-refused", rule: keywardtest.Rule{Op: "BatchGetItem", Body: "USAGE", Fault: keywardtest.Refuse}, ops: "key"},
}

// TestFaultMatrix sends every write route through every fault, with the
// real SDK against DynamoDB Local, and checks each outcome: a failed write
// changed nothing (the whole table scanned before and after) and answers
// 500 (503 with Retry-After when throttled) with no AWS text; a committed
// write answers 2xx, is made once and works (the gateway caches are flushed
// from the keys table's stream, so only a committed write flushes: see
// pkg/gwflush). It logs the matrix.
func TestFaultMatrix(t *testing.T) {
	s := newFaultStack(t)
	var matrix []string
	for _, op := range writeOps {
		for _, fa := range faults {
			switch {
			case fa.ops == "key" && op.name == "create": // no key to read before a create
				continue
			case fa.ops != "" && fa.ops != "key" && fa.ops != op.call:
				continue
			}
			t.Run(op.name+"/"+fa.name, func(t *testing.T) {
				r, target, k := op.request(s, t)
				rule := fa.rule
				if rule.Op == "" {
					rule.Op = op.call
				}
				if rule.Body == "" {
					rule.Body = target
				}
				if fa.name != "none" {
					s.f.Arm(rule)
				}
				s.f.ForgetTokens(fa.forget)
				defer s.f.Clear()
				before := s.keys.Mark(t)
				mark := len(s.logs.String())
				within := fa.within
				if within == 0 {
					within = 5 * time.Second
				}
				resp := s.serve(t, r, within)
				s.f.Clear()
				d := before.Diff(t)
				matrix = append(matrix, fmt.Sprintf("%-10s × %-34s → %d %-12s table: %s", op.name, fa.name, resp.StatusCode, resp.errorCode(), d))

				want := fa.status
				if want == 0 {
					want = http.StatusOK
					if op.name == "create" {
						want = http.StatusCreated
					}
				}
				if resp.StatusCode != want {
					t.Fatalf("status = %d, want %d: %s", resp.StatusCode, want, resp.Body)
				}
				if want < 300 {
					if got := (counts{len(d.Added), len(d.Removed), len(d.Changed)}); got != op.commit {
						t.Errorf("table change = %v, want %+v (the write made once)", d, op.commit)
					}
					op.check(s, t, resp, k)
					if fa.name == "usage-read-refused" {
						if resp.body["lastUsedAt"] != nil {
							t.Errorf("lastUsedAt = %v, want it left out", resp.body["lastUsedAt"])
						}
						if n := s.logged(mark, "lastUsedAt left out of a committed write's answer"); n != 1 {
							t.Errorf("warnings = %d, want 1", n)
						}
					}
				} else {
					if !d.Empty() {
						t.Errorf("a failed write changed the table: %v", d)
					}
					code, msg := "internal", apikey.InternalMessage
					if want == http.StatusServiceUnavailable {
						code, msg = "unavailable", apikey.ErrUnavailable.Message
						if resp.Headers["Retry-After"] == "" {
							t.Errorf("503 without Retry-After: %v", resp.Headers)
						}
					}
					e, _ := resp.body["error"].(map[string]any)
					if resp.errorCode() != code || e["message"] != msg {
						t.Errorf("error = %s, want code %s with message %q", resp.Body, code, msg)
					}
				}
			})
		}
	}
	t.Logf("fault matrix (route × fault → status code, table change):\n%s", strings.Join(matrix, "\n"))
}

// TestBatchRevokeFaults: a batch revoke goes on past one ID's failure,
// reports each ID's outcome (internal errors as code internal with a
// generic message) and changes only what it reports revoked.
func TestBatchRevokeFaults(t *testing.T) {
	s := newFaultStack(t)
	cases := []struct {
		fault    keywardtest.Rule
		forget   bool
		code     string // the first ID's error code, "" if it is revoked
		revoked  int    // keys revoked
		wantNote string
	}{
		{keywardtest.Rule{Fault: keywardtest.Refuse}, false, "internal", 2, "refused"},
		{keywardtest.Rule{Fault: keywardtest.ServerError}, false, "internal", 2, "server error"},
		{keywardtest.Rule{Fault: keywardtest.Throttle}, false, "unavailable", 2, "throttled"},
		{keywardtest.Rule{Fault: keywardtest.TransactionConflict}, false, "unavailable", 2, "conflict"},
		{keywardtest.Rule{Op: "BatchGetItem", Fault: keywardtest.Refuse}, false, "internal", 2, "read refused"},
		{keywardtest.Rule{Times: 1, Fault: keywardtest.Drop}, true, "", 3, "answer lost, token forgotten"},
		{keywardtest.Rule{Fault: keywardtest.Drop}, false, "", 3, "every answer lost"},
		{keywardtest.Rule{Op: "BatchGetItem", Body: "USAGE", Fault: keywardtest.Refuse}, false, "", 3, "usage read refused"},
	}
	for _, c := range cases {
		t.Run(c.wantNote, func(t *testing.T) {
			a, b, d := s.key(t), s.key(t), s.key(t)
			rule := c.fault
			if rule.Op == "" {
				rule.Op = "TransactWriteItems"
			}
			if rule.Body == "" {
				rule.Body = a.ID
			}
			s.f.Arm(rule)
			s.f.ForgetTokens(c.forget)
			defer s.f.Clear()
			before := s.keys.Mark(t)
			mark := len(s.logs.String())
			resp := s.serve(t, req{method: "POST", resource: adminapi.ResourceBatchRevoke, body: map[string]any{"ids": []string{a.ID, b.ID, d.ID}}}, 5*time.Second)
			s.f.Clear()
			resp.check(t, 200, "", "")
			var out struct {
				Results []struct {
					ID, Status string
					Error      *struct{ Code, Message string }
				}
			}
			if err := json.Unmarshal([]byte(resp.Body), &out); err != nil || len(out.Results) != 3 {
				t.Fatalf("body = %s", resp.Body)
			}
			first := out.Results[0]
			switch {
			case c.code == "" && first.Status != "revoked":
				t.Errorf("first result = %+v, want revoked", first)
			case c.code != "" && (first.Status != "error" || first.Error == nil || first.Error.Code != c.code):
				t.Errorf("first result = %+v %+v, want error %s", first, first.Error, c.code)
			case c.code == "internal" && first.Error.Message != apikey.InternalMessage:
				t.Errorf("internal message = %q", first.Error.Message)
			}
			for i, id := range []string{b.ID, d.ID} {
				if r := out.Results[i+1]; r.ID != id || r.Status != "revoked" {
					t.Errorf("result %d = %+v, want %s revoked", i+1, r, id)
				}
			}
			diff := before.Diff(t)
			if len(diff.Changed) != c.revoked || len(diff.Removed) != c.revoked || len(diff.Added) != 0 {
				t.Errorf("table change = %v, want %d keys revoked", diff, c.revoked)
			}
			if c.code != "" {
				if v := s.verify(t, a.ID, a.Secret); v != apikey.CodeValid {
					t.Errorf("the key that failed to revoke verifies as %s", v)
				}
				if n := s.logged(mark, "batch revoke: key not revoked"); n != 1 {
					t.Errorf("log lines for the failed ID = %d, want 1", n)
				}
			}
		})
	}
}

// TestColdContainerWithKMSDown: a container whose pepper is not loaded yet
// cannot reach KMS; a create answers 500 (503 with Retry-After when KMS
// throttles) and writes nothing.
func TestColdContainerWithKMSDown(t *testing.T) {
	s := newFaultStack(t)
	for _, fa := range []keywardtest.Fault{keywardtest.Refuse, keywardtest.Throttle, keywardtest.Drop} {
		t.Run(fa.String(), func(t *testing.T) {
			cold := kmspepper.New(keywardtest.FunctionKMS(s.keys.KMS.URL, s.f.KMS), s.keys.Store, s.keys.KMS.KeyARN)
			s.wire(apikey.NewService(s.keys.Store, cold, unicoderules.Rules{}, apikey.Config{}))
			s.f.Arm(keywardtest.Rule{Op: "Decrypt", Fault: fa})
			defer s.f.Clear()
			before := s.keys.Mark(t)
			resp := s.serve(t, req{method: "POST", resource: adminapi.ResourceKeys, body: map[string]any{"name": "cold " + fa.String(), "scopes": []string{"recordings:read"}}}, 5*time.Second)
			if fa == keywardtest.Throttle {
				resp.check(t, 503, "unavailable", "")
				if resp.Headers["Retry-After"] == "" {
					t.Errorf("503 without Retry-After: %v", resp.Headers)
				}
			} else {
				resp.check(t, 500, "internal", "")
			}
			if d := before.Diff(t); !d.Empty() {
				t.Errorf("table changed: %v", d)
			}
			if strings.Contains(resp.Body, "KMS") || strings.Contains(resp.Body, "Decrypt") {
				t.Errorf("body leaks the cause: %s", resp.Body)
			}
		})
	}
}
