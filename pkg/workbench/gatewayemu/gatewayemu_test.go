package gatewayemu_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"

	"github.com/keyward/keyward/pkg/workbench/gatewayemu"
)

const (
	apiID     = "abcdef1234"
	arnPrefix = "arn:aws:execute-api:us-east-1:000000000000:" + apiID + "/prod/"
)

// fakeLambda plays the functions: the authorizer answers from a table of
// tokens, the integration echoes the event it got.
type fakeLambda struct {
	mu         sync.Mutex
	authCalls  int
	authEvent  events.APIGatewayCustomAuthorizerRequestTypeRequest
	authRoutes []string // "METHOD resource" of every authorizer invocation
	lastEvent  events.APIGatewayProxyRequest
	// policies maps an Authorization value to the authorizer's output (a
	// string payload) or to an error message ("!msg").
	policies map[string]string
}

func (f *fakeLambda) invoke(_ context.Context, fn string, payload []byte) ([]byte, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch fn {
	case "Authz":
		f.authCalls++
		var ev events.APIGatewayCustomAuthorizerRequestTypeRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, false, err
		}
		f.authEvent = ev
		f.authRoutes = append(f.authRoutes, ev.HTTPMethod+" "+ev.Resource)
		if ev.Headers["Authorization"] == "Bearer perroute" {
			// Like keyward's authorizer: an Allow naming only the route
			// asked for, and only GET /v1/keys/{keyId} is allowed.
			if ev.HTTPMethod == "GET" && ev.Resource == "/v1/keys/{keyId}" {
				return []byte(allow("key_route", arnPrefix+"GET/v1/keys/*")), false, nil
			}
			return []byte(`{"principalId":"key_route","policyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"` + arnPrefix + `*"}]}}`), false, nil
		}
		out, ok := f.policies[ev.Headers["Authorization"]]
		if !ok || strings.HasPrefix(out, "!") {
			msg := "Unauthorized"
			if ok {
				msg = out[1:]
			}
			b, _ := json.Marshal(map[string]string{"errorMessage": msg, "errorType": "errorString"})
			return b, true, nil
		}
		return []byte(out), false, nil
	case "Echo":
		var ev events.APIGatewayProxyRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, false, err
		}
		f.lastEvent = ev
		b, _ := json.Marshal(events.APIGatewayProxyResponse{
			StatusCode: 200,
			Headers:    map[string]string{"X-Resource": ev.Resource},
			Body:       `{"ok":true}`,
		})
		return b, false, nil
	case "Crash":
		return []byte(`{"errorMessage":"boom"}`), true, nil
	case "Garbage":
		return []byte(`"not a response"`), false, nil
	case "Down":
		return nil, false, errors.New("not running")
	}
	return nil, false, errors.New("unknown function " + fn)
}

func (f *fakeLambda) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.authCalls
}

func allow(principal string, resources ...string) string {
	b, _ := json.Marshal(map[string]any{
		"principalId": principal,
		"policyDocument": map[string]any{
			"Version":   "2012-10-17",
			"Statement": []any{map[string]any{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": resources}},
		},
		"context": map[string]any{"tenantId": "acme", "scopes": "keys:read keys:write", "n": 3, "b": true},
	})
	return string(b)
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type harness struct {
	gw    *gatewayemu.Gateway
	srv   *httptest.Server
	mgmt  *httptest.Server
	fake  *fakeLambda
	clock *clock
	logs  *bytes.Buffer
}

// newHarness is a stage whose authorizer results are cached per
// Authorization header and source IP.
func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWith(t, []string{"identity.sourceIp"})
}

// newHarnessWith is a stage whose authorizer results are cached per
// Authorization header and the given $context identity sources.
func newHarnessWith(t *testing.T, identityContext []string) *harness {
	t.Helper()
	fake := &fakeLambda{policies: map[string]string{
		"Bearer all":    allow("key_all", arnPrefix+"*/*"),
		"Bearer reader": allow("key_reader", arnPrefix+"GET/v1/keys", arnPrefix+"GET/v1/keys/*"),
		"Bearer denied": `{"principalId":"key_x","policyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"*"}]}}`,
		"Bearer broken": "!database unavailable",
		"Bearer object": `{"principalId":"k","policyDocument":{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]},"context":{"o":{"a":1}}}`,
		"Bearer nopid":  `{"policyDocument":{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}}`,
	}}
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	logs := &bytes.Buffer{}
	var logMu sync.Mutex
	gw, err := gatewayemu.New(gatewayemu.Config{
		APIID: apiID,
		Stage: "prod",
		Routes: []gatewayemu.Route{
			{Method: "GET", Path: "/v1/keys", Function: "Echo", Authorizer: "Authz"},
			{Method: "POST", Path: "/v1/keys", Function: "Echo", Authorizer: "Authz"},
			{Method: "GET", Path: "/v1/keys/{keyId}", Function: "Echo", Authorizer: "Authz"},
			{Method: "GET", Path: "/v1/keys/special", Function: "Echo", Authorizer: "Authz"},
			{Method: "GET", Path: "/v1/keys/{keyId}/audio", Function: "Echo", Authorizer: "Authz"},
			{Method: "GET", Path: "/files/{path+}", Function: "Echo", Authorizer: "NONE"},
			{Method: "GET", Path: "/crash", Function: "Crash"},
			{Method: "GET", Path: "/garbage", Function: "Garbage"},
			{Method: "GET", Path: "/down", Function: "Down"},
		},
		Authorizers: map[string]gatewayemu.Authorizer{
			"Authz": {Function: "Authz", Type: "REQUEST", Headers: []string{"Authorization"}, Context: identityContext, TTL: time.Minute},
		},
		GatewayResponses: map[string]gatewayemu.GatewayResponse{
			"UNAUTHORIZED":                   {StatusCode: 401, Templates: map[string]string{"application/json": `{"error":{"code":"unauthorized"}}`}},
			"ACCESS_DENIED":                  {StatusCode: 403, Templates: map[string]string{"application/json": `{"error":{"code":"forbidden"}}`}},
			"MISSING_AUTHENTICATION_TOKEN":   {StatusCode: 404, Templates: map[string]string{"application/json": `{"error":{"code":"not_found"}}`}},
			"AUTHORIZER_CONFIGURATION_ERROR": {StatusCode: 500, Templates: map[string]string{"application/json": `{"error":{"code":"internal"}}`}},
			"DEFAULT_5XX":                    {Templates: map[string]string{"application/json": `{"error":{"code":"internal","id":"$context.requestId"}}`}},
			"DEFAULT_4XX":                    {Templates: map[string]string{"application/json": `{"message":$context.error.messageString}`}},
		},
		Invoke: fake.invoke,
		Now:    clk.Now,
		Logger: slog.New(slog.NewJSONHandler(lockedWriter{&logMu, logs}, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	mux := http.NewServeMux()
	(&gatewayemu.ManagementAPI{Gateways: []*gatewayemu.Gateway{gw}}).Register(mux)
	mgmt := httptest.NewServer(mux)
	t.Cleanup(mgmt.Close)
	return &harness{gw: gw, srv: srv, mgmt: mgmt, fake: fake, clock: clk, logs: logs}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (h *harness) do(t *testing.T, method, path, auth string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, h.srv.URL+path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestAuthorizer(t *testing.T) {
	t.Run("MissingIdentityIs401WithoutInvoking", func(t *testing.T) {
		h := newHarness(t)
		status, body, hdr := h.do(t, "GET", "/v1/keys", "")
		if status != 401 || body != `{"error":{"code":"unauthorized"}}` || hdr.Get("Content-Type") != "application/json" {
			t.Errorf("got %d %s", status, body)
		}
		if h.fake.calls() != 0 {
			t.Errorf("authorizer invoked %d times", h.fake.calls())
		}
	})
	t.Run("UnauthorizedErrorIs401", func(t *testing.T) {
		h := newHarness(t)
		if status, body, _ := h.do(t, "GET", "/v1/keys", "Bearer nobody"); status != 401 || !strings.Contains(body, "unauthorized") {
			t.Errorf("got %d %s", status, body)
		}
	})
	t.Run("OtherErrorsAndBadOutputAre500", func(t *testing.T) {
		h := newHarness(t)
		for _, auth := range []string{"Bearer broken", "Bearer object", "Bearer nopid"} {
			if status, body, _ := h.do(t, "GET", "/v1/keys", auth); status != 500 || body != `{"error":{"code":"internal"}}` {
				t.Errorf("%s: got %d %s", auth, status, body)
			}
		}
	})
	t.Run("DenyIs403", func(t *testing.T) {
		h := newHarness(t)
		if status, body, _ := h.do(t, "GET", "/v1/keys", "Bearer denied"); status != 403 || body != `{"error":{"code":"forbidden"}}` {
			t.Errorf("got %d %s", status, body)
		}
	})
	t.Run("RouteMissingFromPolicyIs403", func(t *testing.T) {
		h := newHarness(t)
		if status, _, _ := h.do(t, "GET", "/v1/keys/key_1", "Bearer reader"); status != 200 {
			t.Errorf("GET = %d, want 200", status)
		}
		if status, _, _ := h.do(t, "POST", "/v1/keys", "Bearer reader"); status != 403 {
			t.Errorf("POST = %d, want 403", status)
		}
		if got := h.fake.calls(); got != 1 {
			t.Errorf("authorizer invoked %d times, want 1 (the cached policy serves every route)", got)
		}
	})
	t.Run("EventAndContext", func(t *testing.T) {
		h := newHarness(t)
		status, _, hdr := h.do(t, "GET", "/v1/keys/key_01%2Fx?a=1&a=2&b=3", "Bearer all")
		if status != 200 || hdr.Get("X-Resource") != "/v1/keys/{keyId}" {
			t.Fatalf("got %d %v", status, hdr)
		}
		ae := h.fake.authEvent
		if ae.Type != "REQUEST" || ae.MethodArn != arnPrefix+"GET/v1/keys/key_01/x" || ae.Resource != "/v1/keys/{keyId}" ||
			ae.RequestContext.APIID != apiID || ae.RequestContext.Identity.SourceIP != "127.0.0.1" || ae.Headers["Authorization"] != "Bearer all" {
			t.Errorf("authorizer event = %+v", ae)
		}
		ev := h.fake.lastEvent
		if ev.PathParameters["keyId"] != "key_01/x" || ev.QueryStringParameters["a"] != "2" || len(ev.MultiValueQueryStringParameters["a"]) != 2 ||
			ev.RequestContext.Stage != "prod" || ev.RequestContext.RequestID == "" || ev.RequestContext.Identity.SourceIP != "127.0.0.1" ||
			ev.HTTPMethod != "GET" || ev.Resource != "/v1/keys/{keyId}" {
			t.Errorf("proxy event = %+v", ev)
		}
		auth := ev.RequestContext.Authorizer
		if auth["principalId"] != "key_all" || auth["tenantId"] != "acme" || auth["scopes"] != "keys:read keys:write" || auth["n"] != "3" || auth["b"] != "true" {
			t.Errorf("requestContext.authorizer = %v", auth)
		}
	})
	t.Run("CachedPerIdentityUntilTTL", func(t *testing.T) {
		h := newHarness(t)
		h.do(t, "GET", "/v1/keys", "Bearer all")
		h.do(t, "GET", "/v1/keys/x", "Bearer all")
		if got := h.fake.calls(); got != 1 {
			t.Fatalf("calls = %d, want 1", got)
		}
		h.do(t, "GET", "/v1/keys", "Bearer reader")
		if got := h.fake.calls(); got != 2 {
			t.Fatalf("another identity: calls = %d, want 2", got)
		}
		h.clock.advance(61 * time.Second)
		h.do(t, "GET", "/v1/keys", "Bearer all")
		if got := h.fake.calls(); got != 3 {
			t.Fatalf("after the TTL: calls = %d, want 3", got)
		}
	})
	t.Run("CachedPerMethodAndResourcePath", func(t *testing.T) {
		h := newHarnessWith(t, []string{"identity.sourceIp", "httpMethod", "resourcePath"})
		for _, c := range []struct {
			method, path string
			calls        int // authorizer invocations so far
		}{
			{"GET", "/v1/keys/k1", 1},
			{"GET", "/v1/keys/k2", 1},       // same resource path {keyId}: cached
			{"GET", "/v1/keys/special", 2},  // another resource path
			{"GET", "/v1/keys/k1/audio", 3}, // a nested one
			{"POST", "/v1/keys", 4},         // another method
			{"GET", "/v1/keys", 5},          // another method on that resource
			{"GET", "/v1/keys/k3/audio", 5}, // cached
			{"GET", "/v1/keys/special", 5},  // cached
		} {
			h.do(t, c.method, c.path, "Bearer all")
			if got := h.fake.calls(); got != c.calls {
				t.Errorf("after %s %s: authorizer invoked %d times, want %d", c.method, c.path, got, c.calls)
			}
		}
		want := []string{"GET /v1/keys/{keyId}", "GET /v1/keys/special", "GET /v1/keys/{keyId}/audio", "POST /v1/keys", "GET /v1/keys"}
		if got := h.fake.authRoutes; strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("authorizer asked for %v, want %v", got, want)
		}
	})
	t.Run("PolicyEvaluatedAsIAMDoes", func(t *testing.T) {
		// A per-route Allow of GET/v1/keys/* cached for GET /v1/keys/{keyId}:
		// with the route out of the cache key the gateway replays it for
		// GET /v1/keys/{keyId}/audio, and IAM's * spans /, so it lets the
		// nested route through, as AWS does; with the method and resource
		// path in the cache key the nested route is decided on its own.
		for _, c := range []struct {
			identity []string
			audio    int
		}{
			{[]string{"identity.sourceIp"}, 200},
			{[]string{"identity.sourceIp", "httpMethod", "resourcePath"}, 403},
		} {
			h := newHarnessWith(t, c.identity)
			if status, _, _ := h.do(t, "GET", "/v1/keys/k1", "Bearer perroute"); status != 200 {
				t.Fatalf("identity %v: GET /v1/keys/k1 = %d, want 200", c.identity, status)
			}
			if status, _, _ := h.do(t, "GET", "/v1/keys/k1/audio", "Bearer perroute"); status != c.audio {
				t.Errorf("identity %v: GET /v1/keys/k1/audio right after = %d, want %d", c.identity, status, c.audio)
			}
		}
	})
	t.Run("FlushStageAuthorizersCacheWithTheSDK", func(t *testing.T) {
		h := newHarness(t)
		h.do(t, "GET", "/v1/keys", "Bearer all")
		client := apigateway.New(apigateway.Options{
			Region:       "us-east-1",
			Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
			BaseEndpoint: aws.String(h.mgmt.URL),
		})
		if _, err := client.FlushStageAuthorizersCache(context.Background(), &apigateway.FlushStageAuthorizersCacheInput{
			RestApiId: aws.String(apiID), StageName: aws.String("prod"),
		}); err != nil {
			t.Fatal(err)
		}
		h.do(t, "GET", "/v1/keys", "Bearer all")
		if got := h.fake.calls(); got != 2 {
			t.Errorf("after the flush: calls = %d, want 2", got)
		}
		_, err := client.FlushStageAuthorizersCache(context.Background(), &apigateway.FlushStageAuthorizersCacheInput{
			RestApiId: aws.String("nope"), StageName: aws.String("prod"),
		})
		var nf interface{ ErrorCode() string }
		if !errors.As(err, &nf) || nf.ErrorCode() != "NotFoundException" {
			t.Errorf("unknown API: %v, want NotFoundException", err)
		}
	})
	t.Run("AuthorizationNeverLogged", func(t *testing.T) {
		h := newHarness(t)
		h.do(t, "GET", "/v1/keys", "Bearer all")
		h.do(t, "GET", "/v1/keys", "Bearer broken")
		if strings.Contains(h.logs.String(), "Bearer") {
			t.Errorf("log holds the Authorization header:\n%s", h.logs.String())
		}
	})
}

func TestRoutes(t *testing.T) {
	h := newHarness(t)
	for _, c := range []struct {
		method, path string
		status       int
		resource     string
	}{
		{"GET", "/v1/keys/special", 200, "/v1/keys/special"},
		{"GET", "/v1/keys/other", 200, "/v1/keys/{keyId}"},
		{"GET", "/files/a/b/c", 200, "/files/{path+}"},
		{"DELETE", "/v1/keys", 404, ""},
		{"GET", "/nope", 404, ""},
		{"GET", "/v1/keys/a/b", 404, ""},
	} {
		status, body, hdr := h.do(t, c.method, c.path, "Bearer all")
		if status != c.status || hdr.Get("X-Resource") != c.resource {
			t.Errorf("%s %s = %d %s (resource %q), want %d %q", c.method, c.path, status, body, hdr.Get("X-Resource"), c.status, c.resource)
		}
	}
	if h.fake.lastEvent.PathParameters["path"] != "a/b/c" {
		t.Errorf("greedy parameter = %q", h.fake.lastEvent.PathParameters["path"])
	}
}

func TestIntegrationFailures(t *testing.T) {
	h := newHarness(t)
	for path, want := range map[string]int{"/crash": 502, "/garbage": 502, "/down": 500} {
		status, body, _ := h.do(t, "GET", path, "")
		if status != want || !strings.Contains(body, `"code":"internal"`) || strings.Contains(body, "$context") {
			t.Errorf("%s = %d %s, want %d", path, status, body, want)
		}
	}
}

func TestRequestTooLarge(t *testing.T) {
	h := newHarness(t)
	req, _ := http.NewRequest("POST", h.srv.URL+"/v1/keys", bytes.NewReader(make([]byte, gatewayemu.MaxBodyBytes+1)))
	req.Header.Set("Authorization", "Bearer all")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 413 || string(b) != `{"message":"Request Too Long"}` {
		t.Errorf("got %d %s", resp.StatusCode, b)
	}
}

func TestUnknownContextIdentitySourceIsRejected(t *testing.T) {
	_, err := gatewayemu.New(gatewayemu.Config{
		APIID: apiID, Stage: "prod",
		Authorizers: map[string]gatewayemu.Authorizer{"A": {Function: "A", Type: "REQUEST", Context: []string{"authorizer.claims"}}},
		Invoke:      (&fakeLambda{}).invoke,
	})
	if err == nil || !strings.Contains(err.Error(), "not emulated") {
		t.Errorf("New = %v, want an error naming the source", err)
	}
}
