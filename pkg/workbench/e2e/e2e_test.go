package e2e_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/workbench/localstack"
)

// The stack is shared by every test of the binary: starting it (DynamoDB
// Local, a build of every function) is the slow part.
var (
	stackOnce sync.Once
	stack     *localstack.Stack
	stackErr  error
	stackLogs = &syncBuffer{}
)

func TestMain(m *testing.M) {
	code := m.Run()
	if stack != nil {
		if err := stack.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: stop the stack:", err)
		}
		_ = os.RemoveAll(stack.DataDir)
	}
	os.Exit(code)
}

// startStack starts the stack on first use, with the sample protected API
// (scripts/examples/recordings) beside keyward's, keyward's RouteScopes from
// its parameters file, and API Gateway's default cache TTL: the gateways
// cache authorizer results for 300 s (AuthorizerCacheTtl, and the sample's
// own) and the authorizer caches keys (KeyCacheTtl 2 s), so revocation and
// expiry are tested with caching on.
func startStack(t *testing.T) *localstack.Stack {
	t.Helper()
	stackOnce.Do(func() {
		dir, err := os.MkdirTemp("", "keyward-e2e-")
		if err != nil {
			stackErr = err
			return
		}
		var logs io.Writer = stackLogs
		if path := os.Getenv("KEYWARD_E2E_LOGS"); path != "" {
			// Every line of the stack's logs, for a closer look.
			f, err := os.Create(path)
			if err != nil {
				stackErr = err
				return
			}
			logs = io.MultiWriter(stackLogs, f)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		params, err := sampleParameters()
		if err != nil {
			stackErr = err
			return
		}
		params["AuthorizerCacheTtl"] = "300"
		// Leak reports are signed by a key pair the test made.
		params["LeakSigningKeys"] = string(leakSigner.doc())
		stack, stackErr = localstack.Start(ctx, localstack.Options{
			DataDir:    dir,
			Output:     logs,
			Terminal:   io.Discard, // the token is read from its file
			Parameters: params,
			APIs:       []string{sampleTemplate},
		})
	})
	if stackErr != nil {
		t.Fatalf("the local stack did not start: %v\n%s", stackErr, stackLogs.String())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("stack logs (last 200 lines):\n%s", stackLogs.tail(200))
		}
	})
	return stack
}

// api is an HTTP client of one of the stack's APIs. Every request it sends
// to keyward's own API and every response it receives there is checked
// against the OpenAPI document (contract_test.go).
type api struct {
	t    *testing.T
	base string
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response %d is not a JSON object: %s", r.status, r.body)
	}
	return m
}

// errorCode returns the error contract's code ({"error":{"code":…}}).
func (r *response) errorCode(t *testing.T) string {
	t.Helper()
	e, _ := r.json(t)["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func (a *api) do(method, path, auth string, body any, headers ...string) *response {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	var transport http.RoundTripper = http.DefaultTransport
	if stack != nil && a.base == stack.APIURL { // keyward's own API, not a protected one beside it
		transport = theContract(a.t, a.base).transport(a.t)
	}
	client := &http.Client{Timeout: 40 * time.Second, Transport: transport}
	resp, err := client.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	if resp.StatusCode/100 == 2 {
		driven.add(method, path)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}
}

// driven records which of keyward's routes (apikey.AdminRoutes) some test
// called with success.
var driven = &routeSet{m: map[string]bool{}}

type routeSet struct {
	mu sync.Mutex
	m  map[string]bool
}

// add records the table route a concrete path is served by: the one whose
// segments match, literal segments before {parameters}.
func (s *routeSet) add(method, path string) {
	path, _, _ = strings.Cut(path, "?")
	got := strings.Split(path, "/")
	best, bestLiterals := "", -1
	for _, r := range apikey.AdminRoutes() {
		want := strings.Split(r.Path, "/")
		if r.Method != method || len(want) != len(got) {
			continue
		}
		literals := 0
		for i := range want {
			switch {
			case strings.HasPrefix(want[i], "{"):
			case want[i] == got[i]:
				literals++
			default:
				literals = -1
			}
			if literals < 0 {
				break
			}
		}
		if literals > bestLiterals {
			best, bestLiterals = r.Method+" "+r.Path, literals
		}
	}
	if best != "" {
		s.mu.Lock()
		s.m[best] = true
		s.mu.Unlock()
	}
}

// expect checks the status and returns the response.
func (a *api) expect(status int, method, path, auth string, body any, headers ...string) *response {
	a.t.Helper()
	r := a.do(method, path, auth, body, headers...)
	if r.status != status {
		a.t.Fatalf("%s %s = %d %s, want %d", method, path, r.status, r.body, status)
	}
	return r
}

func bearer(token string) string { return "Bearer " + token }

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

// issued is a key returned by create or rotate.
type issued struct {
	ID     string
	Secret string
	Token  string
}

func issuedFrom(t *testing.T, r *response) issued {
	t.Helper()
	m := r.json(t)
	k := issued{}
	k.ID, _ = m["id"].(string)
	k.Secret, _ = m["secret"].(string)
	k.Token, _ = m["token"].(string)
	if k.ID == "" || k.Secret == "" || k.Token == "" {
		t.Fatalf("no id, secret and token in %s", r.body)
	}
	return k
}

// revocationTarget is the revocation bound: a revoked key (or a secret rotated
// away without grace) is refused everywhere within 5 s, caching on.
const revocationTarget = 5 * time.Second

// refusedWithin checks that auth is refused (401) within revocationTarget
// and stays refused: every authorizer process, and the gateway's cache, must
// have let go of it, not just the first one asked.
func refusedWithin(t *testing.T, a *api, auth, what string) {
	t.Helper()
	took := eventually(t, revocationTarget, what+" refused", func() bool {
		return a.do("GET", "/v1/keys", auth, nil).status == 401
	})
	t.Logf("%s refused after %v", what, took.Round(time.Millisecond))
	for i := 0; i < 15; i++ {
		time.Sleep(200 * time.Millisecond)
		if r := a.do("GET", "/v1/keys", auth, nil); r.status != 401 {
			t.Fatalf("%s: refused after %v, then accepted again (%d) %v later", what, took, r.status, time.Duration(i+1)*200*time.Millisecond)
		}
	}
}

// acceptedWithin checks that auth is accepted on GET /v1/keys at the first
// attempt, and says how long it took if it was refused at first. (It counts
// attempts, not milliseconds: a slow first call on a loaded machine is fine.)
func acceptedWithin(t *testing.T, a *api, auth, what string) {
	t.Helper()
	if a.do("GET", "/v1/keys", auth, nil).status == 200 {
		return
	}
	took := eventually(t, revocationTarget, what+" accepted", func() bool {
		return a.do("GET", "/v1/keys", auth, nil).status == 200
	})
	t.Errorf("%s was refused at first and accepted only %v later", what, took.Round(time.Millisecond))
}

// eventually polls cond until it holds or within passes, and returns how
// long it took.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if cond() {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var tokenRE = regexp.MustCompile(`^kw_[0-9A-HJKMNP-TV-Z]{26}_[0-9A-Za-z]{49}$`)

// TestEndToEnd drives every route through the gateway, the authorizer and
// the real function binaries, in the order a tenant's admin would.
func TestEndToEnd(t *testing.T) {
	st := startStack(t)
	raw, err := os.ReadFile(st.TokenFile)
	if err != nil {
		t.Fatal(err)
	}
	adminToken := strings.TrimSpace(string(raw))
	admin := bearer(adminToken)
	var adminID string

	t.Run("BootstrapTokenIsAnAdminKeyOfTenantLocal", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		if fi, err := os.Stat(st.TokenFile); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("token file: %v, mode %v; want mode 0600", err, fi.Mode().Perm())
		}
		if !tokenRE.MatchString(adminToken) {
			t.Errorf("admin token does not match the scanner regexp")
		}
		m := a.expect(200, "GET", "/v1/whoami", admin, nil).json(t)
		adminID, _ = m["keyId"].(string)
		if m["tenantId"] != "local" || !slices.Contains(anyStrings(m["scopes"]), "keys:admin") {
			t.Errorf("whoami = %v", m)
		}
	})
	if adminID == "" {
		t.FailNow()
	}

	t.Run("MissingOrBadCredentialsAre401", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		typo := []byte(adminToken)
		typo[len(typo)-1] ^= 1 // another letter or digit: the checksum no longer matches
		for _, auth := range []string{"", "Bearer nope", "Bearer " + string(typo), basic(adminID, "wrong-secret")} {
			r := a.do("GET", "/v1/keys", auth, nil)
			if r.status != 401 || r.errorCode(t) != "unauthorized" {
				t.Errorf("auth %.12q…: %d %s, want 401 unauthorized", auth, r.status, r.body)
			}
		}
	})

	t.Run("UnknownRouteIs404", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		if r := a.do("GET", "/v1/nope", admin, nil); r.status != 404 || r.errorCode(t) != "not_found" {
			t.Errorf("got %d %s", r.status, r.body)
		}
	})

	// The key the rest of the story is about.
	var crm issued
	t.Run("CreateReturnsTheSecretOnce", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		r := a.expect(201, "POST", "/v1/keys", admin, map[string]any{
			"name": "CRM sync", "type": "client", "scopes": []string{"keys:read", "keys:verify"},
			"metadata": map[string]string{"owner": "ops"},
		})
		crm = issuedFrom(t, r)
		if !tokenRE.MatchString(crm.Token) || !strings.Contains(crm.Token, crm.Secret) {
			t.Errorf("token %q does not match the format", crm.Token)
		}
		m := a.expect(200, "GET", "/v1/keys/"+crm.ID, admin, nil).json(t)
		if _, leaked := m["secret"]; leaked {
			t.Errorf("GET returns the secret")
		}
		if r := a.do("POST", "/v1/keys", admin, map[string]any{"name": "crm SYNC", "scopes": []string{"keys:read"}}); r.status != 409 || r.errorCode(t) != "name_taken" {
			t.Errorf("duplicate name: %d %s, want 409 name_taken", r.status, r.body)
		}
		if r := a.do("POST", "/v1/keys", admin, map[string]any{"name": "x", "scopes": []string{"keys:read"}, "bogus": 1}); r.status != 400 || r.errorCode(t) != "invalid_request" {
			t.Errorf("unknown field: %d %s, want 400 invalid_request", r.status, r.body)
		}
	})
	if crm.ID == "" {
		t.FailNow()
	}

	t.Run("KeyWorksWithBearerAndBasic", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		if m := a.expect(200, "GET", "/v1/whoami", bearer(crm.Token), nil).json(t); m["keyId"] != crm.ID || m["name"] != "CRM sync" {
			t.Errorf("whoami (Bearer) = %v", m)
		}
		r := a.expect(200, "GET", "/v1/keys/"+crm.ID, basic(crm.ID, crm.Secret), nil)
		if r.header.Get("ETag") != `"1"` {
			t.Errorf("ETag = %q, want \"1\"", r.header.Get("ETag"))
		}
		a.expect(200, "GET", "/v1/keys", basic(crm.ID, crm.Secret), nil)
	})

	t.Run("KeyWithoutTheRouteScopeIs403", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		for _, c := range []struct{ method, path string }{
			{"POST", "/v1/keys"}, {"DELETE", "/v1/keys/" + crm.ID}, {"PATCH", "/v1/keys/" + crm.ID},
			{"POST", "/v1/keys/" + crm.ID + "/rotate"}, {"POST", "/v1/keys/batch-revoke"}, {"GET", "/v1/audit"},
		} {
			r := a.do(c.method, c.path, bearer(crm.Token), map[string]any{})
			if r.status != 403 || r.errorCode(t) != "forbidden" {
				t.Errorf("%s %s = %d %s, want 403 forbidden", c.method, c.path, r.status, r.body)
			}
		}
	})

	t.Run("ListAndSearch", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		m := a.expect(200, "GET", "/v1/keys?q=crm&limit=10", admin, nil).json(t)
		if ids := itemIDs(m); !slices.Contains(ids, crm.ID) || slices.Contains(ids, adminID) {
			t.Errorf("q=crm lists %v", ids)
		}
		m = a.expect(200, "GET", "/v1/keys?limit=1", admin, nil).json(t)
		if len(itemIDs(m)) != 1 || m["nextCursor"] == nil {
			t.Errorf("limit=1: %v", m)
		}
		if r := a.do("GET", "/v1/keys?limit=1000", admin, nil); r.status != 400 {
			t.Errorf("limit=1000: %d, want 400", r.status)
		}
	})

	t.Run("VerifyAToken", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		m := a.expect(200, "POST", "/v1/verify", bearer(crm.Token), map[string]string{"token": crm.Token}).json(t)
		if m["valid"] != true || m["code"] != "VALID" {
			t.Errorf("verify = %v", m)
		}
		m = a.expect(200, "POST", "/v1/verify", admin, map[string]string{"token": "kw_nope"}).json(t)
		if m["valid"] != false || m["code"] != "MALFORMED" {
			t.Errorf("verify malformed = %v", m)
		}
	})

	t.Run("EditHonoursIfMatch", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		m := a.expect(200, "PATCH", "/v1/keys/"+crm.ID, admin, map[string]any{
			"description": "nightly CRM sync", "metadata": map[string]string{"owner": "crm-team"},
		}, "If-Match", `"1"`).json(t)
		if m["description"] != "nightly CRM sync" || m["version"] != float64(2) {
			t.Errorf("edited = %v", m)
		}
		if r := a.do("PATCH", "/v1/keys/"+crm.ID, admin, map[string]any{"description": "x"}, "If-Match", `"1"`); r.status != 412 || r.errorCode(t) != "precondition_failed" {
			t.Errorf("stale If-Match: %d %s, want 412", r.status, r.body)
		}
		if r := a.do("PATCH", "/v1/keys/"+crm.ID, admin, map[string]any{"scopes": []string{"keys:admin"}}); r.status != 400 {
			t.Errorf("scopes edit: %d %s, want 400", r.status, r.body)
		}
	})

	var graced issued
	t.Run("RotateWithGraceKeepsThePreviousSecret", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		r := a.expect(200, "POST", "/v1/keys/"+crm.ID+"/rotate", admin, map[string]any{"gracePeriodSeconds": 300})
		graced = issuedFrom(t, r)
		if graced.ID != crm.ID || graced.Token == crm.Token || r.json(t)["previousSecretExpiresAt"] == nil {
			t.Errorf("rotated = %s", r.body)
		}
		acceptedWithin(t, a, bearer(graced.Token), "the new secret")
		a.expect(200, "GET", "/v1/whoami", bearer(crm.Token), nil) // within its grace period
	})

	var current issued
	t.Run("RotateWithoutGraceRefusesThePreviousSecretsWithin5s", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		acceptedWithin(t, a, bearer(graced.Token), "the secret about to be replaced") // cached at the gateway
		current = issuedFrom(t, a.expect(200, "POST", "/v1/keys/"+crm.ID+"/rotate", admin, nil))
		refusedWithin(t, a, bearer(graced.Token), "the previous secret")
		refusedWithin(t, a, bearer(crm.Token), "the secret before it")
		acceptedWithin(t, a, bearer(current.Token), "the new secret")
	})

	t.Run("RevokedKeyIsRefusedWithin5s", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		acceptedWithin(t, a, bearer(current.Token), "the key about to be revoked") // cached at the gateway
		m := a.expect(200, "DELETE", "/v1/keys/"+crm.ID, admin, nil).json(t)
		if m["status"] != "revoked" || m["revokedBy"] != adminID {
			t.Errorf("revoked = %v", m)
		}
		refusedWithin(t, a, bearer(current.Token), "the revoked key")
		a.expect(200, "DELETE", "/v1/keys/"+crm.ID, admin, nil) // idempotent
		m = a.expect(200, "POST", "/v1/verify", admin, map[string]string{"token": current.Token}).json(t)
		if m["valid"] != false || m["code"] != "REVOKED" {
			t.Errorf("verify revoked = %v", m)
		}
	})

	t.Run("BatchRevokeReportsEachID", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		k1 := issuedFrom(t, a.expect(201, "POST", "/v1/keys", admin, map[string]any{"name": "batch one", "scopes": []string{"keys:read"}}))
		k2 := issuedFrom(t, a.expect(201, "POST", "/v1/keys", admin, map[string]any{"name": "batch two", "scopes": []string{"keys:read"}}))
		a.expect(200, "GET", "/v1/keys", bearer(k1.Token), nil)
		unknown := "key_01ARZ3NDEKTSV4RRFFQ69G5FAV"
		m := a.expect(200, "POST", "/v1/keys/batch-revoke", admin, map[string]any{"ids": []string{k1.ID, k2.ID, unknown}}).json(t)
		results, _ := m["results"].([]any)
		if len(results) != 3 {
			t.Fatalf("results = %v", m)
		}
		for i, want := range []string{"revoked", "revoked", ""} {
			res, _ := results[i].(map[string]any)
			if want != "" && res["status"] != want {
				t.Errorf("result %d = %v, want %s", i, res, want)
			}
			if want == "" && res["error"] == nil {
				t.Errorf("result for an unknown ID = %v, want an error", res)
			}
		}
		refusedWithin(t, a, bearer(k1.Token), "a batch-revoked key")
	})

	t.Run("AllowListsAreEnforced", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		create := func(name string, allow map[string][]string) issued {
			return issuedFrom(t, a.expect(201, "POST", "/v1/keys", admin, map[string]any{
				"name": name, "scopes": []string{"keys:read"}, "allowList": allow,
			}))
		}
		elsewhere := create("ip elsewhere", map[string][]string{"ips": {"203.0.113.0/24", "2001:db8::/32"}})
		if r := a.do("GET", "/v1/keys", bearer(elsewhere.Token), nil); r.status != 403 || r.errorCode(t) != "forbidden" {
			t.Errorf("key allowed only from 203.0.113.0/24, called from 127.0.0.1: %d %s", r.status, r.body)
		}
		here := create("ip here", map[string][]string{"ips": {"127.0.0.0/8"}})
		a.expect(200, "GET", "/v1/keys", bearer(here.Token), nil)

		origins := map[string][]string{"origins": {"https://crm.example.com", "*.partner.example"}}
		wrongOrigin := create("origin wrong", origins)
		a.expect(403, "GET", "/v1/keys", bearer(wrongOrigin.Token), nil, "Origin", "https://evil.example.com")
		rightOrigin := create("origin right", origins)
		a.expect(200, "GET", "/v1/keys", bearer(rightOrigin.Token), nil, "Origin", "https://crm.example.com")
		subdomain := create("origin wildcard", origins)
		a.expect(200, "GET", "/v1/keys", bearer(subdomain.Token), nil, "Origin", "https://app.partner.example")
	})

	t.Run("DefaultKeyCannotBeRevoked", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		if r := a.do("DELETE", "/v1/keys/"+adminID, admin, nil); r.status != 409 || r.errorCode(t) != "default_key_immutable" {
			t.Errorf("revoke default key: %d %s, want 409 default_key_immutable", r.status, r.body)
		}
	})

	t.Run("AnotherTenantsKeyIs404", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		other := bootstrapTenant(t, st, "other")
		if r := a.do("GET", "/v1/keys/"+crm.ID, bearer(other), nil); r.status != 404 || r.errorCode(t) != "not_found" {
			t.Errorf("other tenant GET: %d %s, want 404", r.status, r.body)
		}
		if r := a.do("DELETE", "/v1/keys/"+adminID, bearer(other), nil); r.status != 404 {
			t.Errorf("other tenant DELETE: %d %s, want 404", r.status, r.body)
		}
	})

	t.Run("AuditShowsTheWholeStory", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		want := []string{"key.revoked", "key.rotated", "key.rotated", "key.updated", "key.created"}
		var (
			items []any
			last  *response
		)
		deadline := time.Now().Add(15 * time.Second)
		for len(items) < len(want) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			last = a.do("GET", "/v1/audit?keyId="+crm.ID, admin, nil)
			if last.status == 200 {
				items, _ = last.json(t)["items"].([]any)
			}
		}
		if len(items) < len(want) {
			t.Fatalf("audit of the key within 15 s: %d %s; want %d records", last.status, last.body, len(want))
		}
		var actions []string
		for _, it := range items {
			m, _ := it.(map[string]any)
			actions = append(actions, fmt.Sprint(m["action"]))
			if m["actor"] != adminID || m["keyId"] != crm.ID || m["tenantId"] != "local" || m["requestId"] == nil || m["sourceIp"] != "127.0.0.1" {
				t.Errorf("audit record %v", m)
			}
			if strings.Contains(fmt.Sprint(m), crm.Secret) {
				t.Errorf("an audit record holds the secret")
			}
		}
		if !slices.Equal(actions, want) {
			t.Errorf("actions newest first = %v, want %v", actions, want)
		}
		var revoked []any
		deadline = time.Now().Add(10 * time.Second)
		for len(revoked) < 3 && time.Now().Before(deadline) {
			revoked, _ = a.expect(200, "GET", "/v1/audit?action=key.revoked", admin, nil).json(t)["items"].([]any)
			time.Sleep(100 * time.Millisecond)
		}
		if len(revoked) < 3 {
			t.Errorf("action=key.revoked lists %d records, want at least 3 (one key, then a batch of two)", len(revoked))
		}
	})

	t.Run("LambdaInvokeEndpoint", func(t *testing.T) {
		ev := `{"type":"REQUEST","methodArn":"arn:aws:execute-api:us-east-1:000000000000:` + st.APIID + `/` + st.Stage + `/GET/v1/keys",` +
			`"resource":"/v1/keys","path":"/v1/keys","httpMethod":"GET","headers":{"Authorization":"` + admin + `"},` +
			`"requestContext":{"identity":{"sourceIp":"127.0.0.1"},"stage":"` + st.Stage + `","apiId":"` + st.APIID + `"}}`
		resp, err := http.Post(st.LambdaURL+"/2015-03-31/functions/AuthorizerFunction/invocations", "application/json", strings.NewReader(ev))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Function-Error") != "" || !strings.Contains(string(b), `"principalId":"`+adminID+`"`) {
			t.Errorf("invoke = %d %v %s", resp.StatusCode, resp.Header, b)
		}
	})

	t.Run("TheOpenAPIDocumentNeedsNoKey", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		a.expect(200, "GET", "/v1/openapi.json", "", nil)
	})

	t.Run("TenantPolicy", func(t *testing.T) {
		a := &api{t: t, base: st.APIURL}
		p := a.expect(200, "GET", "/v1/policy", admin, nil)
		if m := p.json(t); m["leakAction"] != "revoke" || p.header.Get("ETag") == "" {
			t.Fatalf("default policy %s (ETag %q)", p.body, p.header.Get("ETag"))
		}
		set := a.expect(200, "PUT", "/v1/policy", admin, map[string]any{"maxLifetimeDays": 30, "allowedTypes": []string{"client", "ci"}})
		version := set.header.Get("ETag")
		r := a.expect(201, "POST", "/v1/keys", admin, map[string]any{"name": "policy bound", "scopes": []string{"keys:read"}})
		if exp, _ := r.json(t)["expiresAt"].(string); exp == "" {
			t.Errorf("a key created under maxLifetimeDays without an expiry has none: %s", r.body)
		}
		bad := a.expect(400, "POST", "/v1/keys", admin, map[string]any{"name": "too long", "scopes": []string{"keys:read"}, "expiresIn": "90d"})
		if !strings.Contains(string(bad.body), "maxLifetimeDays") {
			t.Errorf("refusal does not name the rule: %s", bad.body)
		}
		a.expect(400, "POST", "/v1/keys", admin, map[string]any{"name": "wrong type", "type": "server", "scopes": []string{"keys:read"}})
		a.expect(412, "PUT", "/v1/policy", admin, map[string]any{}, "If-Match", `"99"`)
		a.expect(200, "PUT", "/v1/policy", admin, map[string]any{}, "If-Match", version) // back to the defaults
	})

	t.Run("EveryRouteOfTheTableWasDriven", func(t *testing.T) {
		driven.mu.Lock()
		defer driven.mu.Unlock()
		for _, r := range apikey.AdminRoutes() {
			if !driven.m[r.Method+" "+r.Path] {
				t.Errorf("%s %s (%s) was never called with success", r.Method, r.Path, r.Function)
			}
		}
	})

	t.Run("NoSecretInTheLogs", func(t *testing.T) {
		logs := stackLogs.String()
		for name, s := range map[string]string{"admin token": adminToken, "a key's secret": crm.Secret, "a rotated secret": current.Secret} {
			if s != "" && strings.Contains(logs, s) {
				t.Errorf("the logs hold %s", name)
			}
		}
	})
}

// bootstrapTenant creates a tenant through the running stack's data
// endpoints, as `make bootstrap` does, and returns its admin token.
func bootstrapTenant(t *testing.T, st *localstack.Stack, tenant string) string {
	t.Helper()
	state, err := localstack.ReadState(st.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := awsenv.ReadSettings(func(k string) string { return state.KeysEnv[k] })
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := localstack.Service(s, state.DynamoDBURL, state.KMSURL)
	iss, err := svc.Bootstrap(context.Background(), tenant, "system:bootstrap")
	if err != nil {
		t.Fatal(err)
	}
	return iss.Token
}

func itemIDs(m map[string]any) []string {
	items, _ := m["items"].([]any)
	var ids []string
	for _, it := range items {
		if k, ok := it.(map[string]any); ok {
			ids = append(ids, fmt.Sprint(k["id"]))
		}
	}
	return ids
}

func anyStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		out = append(out, fmt.Sprint(e))
	}
	return out
}

// syncBuffer collects the stack's logs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) tail(n int) string {
	lines := strings.Split(s.String(), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func TestRouteSetFindsTheTableRoute(t *testing.T) {
	s := &routeSet{m: map[string]bool{}}
	s.add("GET", "/v1/keys/key_01JD5Z8K3N4Q7R2T6V9W0X1Y2Z?x=1")
	s.add("POST", "/v1/keys/key_01JD5Z8K3N4Q7R2T6V9W0X1Y2Z/rotate")
	s.add("POST", "/v1/keys/batch-revoke")
	s.add("GET", "/v1/nothing")
	want := []string{"GET /v1/keys/{keyId}", "POST /v1/keys/batch-revoke", "POST /v1/keys/{keyId}/rotate"}
	if got := slices.Sorted(maps.Keys(s.m)); !slices.Equal(got, want) {
		t.Fatalf("routes = %q, want %q", got, want)
	}
}
