package gatewayemu_test

import (
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
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"

	"github.com/keyward/keyward/pkg/workbench/gatewayemu"
)

// fakeV2 plays an HTTP API's functions: the authorizer answers a simple
// response from the Authorization header, the integration echoes.
type fakeV2 struct {
	mu        sync.Mutex
	authCalls int
	authEvent events.APIGatewayV2CustomAuthorizerV2Request
	lastEvent events.APIGatewayV2HTTPRequest
}

func (f *fakeV2) invoke(_ context.Context, fn string, payload []byte) ([]byte, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch fn {
	case "Authz":
		f.authCalls++
		if err := json.Unmarshal(payload, &f.authEvent); err != nil {
			return nil, false, err
		}
		switch f.authEvent.Headers["authorization"] {
		case "Bearer good":
			// Only GET routes, like a key with a read scope.
			ok := strings.HasPrefix(f.authEvent.RouteKey, "GET ")
			return []byte(`{"isAuthorized":` + map[bool]string{true: "true", false: "false"}[ok] + `,"context":{"tenantId":"acme","n":3,"scopes":["r"]}}`), false, nil
		case "Bearer crash":
			return []byte(`{"errorMessage":"boom"}`), true, nil
		case "Bearer policy":
			return []byte(`{"principalId":"x"}`), false, nil
		}
		return []byte(`{"errorMessage":"Unauthorized"}`), true, nil
	case "Echo":
		if err := json.Unmarshal(payload, &f.lastEvent); err != nil {
			return nil, false, err
		}
		if f.lastEvent.RawPath == "/bare" {
			return []byte(`{"bare":true}`), false, nil
		}
		return []byte(`{"statusCode":201,"headers":{"X-Route":"` + f.lastEvent.RouteKey + `"},"body":"{}","cookies":["a=1"]}`), false, nil
	}
	return nil, false, errors.New("unknown function " + fn)
}

func (f *fakeV2) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.authCalls
}

func newV2(t *testing.T, fake *fakeV2, a gatewayemu.Authorizer) (*httptest.Server, *httptest.Server) {
	t.Helper()
	a.Function, a.Type, a.PayloadFormatVersion, a.SimpleResponses = "Authz", "REQUEST", "2.0", true
	g, err := gatewayemu.New(gatewayemu.Config{
		HTTP: true, APIID: apiID, Stage: "v1",
		Routes: []gatewayemu.Route{
			{Method: "GET", Path: "/items", Function: "Echo", Authorizer: "K"},
			{Method: "GET", Path: "/items/{id}", Function: "Echo", Authorizer: "K"},
			{Method: "POST", Path: "/items", Function: "Echo", Authorizer: "K"},
			{Method: "GET", Path: "/bare", Function: "Echo"},
		},
		Authorizers: map[string]gatewayemu.Authorizer{"K": a},
		Invoke:      fake.invoke,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	mux := http.NewServeMux()
	(&gatewayemu.ManagementAPI{Gateways: []*gatewayemu.Gateway{g}}).Register(mux)
	mgmt := httptest.NewServer(mux)
	t.Cleanup(func() { srv.Close(); mgmt.Close() })
	return srv, mgmt
}

func v2do(t *testing.T, srv *httptest.Server, method, path, auth string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Cookie", "c=1; d=2")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestHTTPAPI(t *testing.T) {
	identity := gatewayemu.Authorizer{Headers: []string{"Authorization"}, Context: []string{"routeKey", "identity.sourceIp"}, TTL: time.Minute}

	t.Run("PayloadFormat2AndLambdaContext", func(t *testing.T) {
		fake := &fakeV2{}
		srv, _ := newV2(t, fake, identity)
		status, h, _ := v2do(t, srv, "GET", "/items/a%2Fb?x=1&x=2", "Bearer good")
		if status != 201 || h.Get("X-Route") != "GET /items/{id}" || h.Get("Set-Cookie") != "a=1" {
			t.Fatalf("status %d, headers %v", status, h)
		}
		ev := fake.lastEvent
		if ev.Version != "2.0" || ev.RouteKey != "GET /items/{id}" || ev.PathParameters["id"] != "a/b" || ev.QueryStringParameters["x"] != "1,2" {
			t.Errorf("integration event %+v", ev)
		}
		if ev.Headers["authorization"] != "Bearer good" || len(ev.Cookies) != 2 || ev.RequestContext.HTTP.SourceIP != "127.0.0.1" {
			t.Errorf("headers %v, cookies %v, http %+v", ev.Headers, ev.Cookies, ev.RequestContext.HTTP)
		}
		lambda := ev.RequestContext.Authorizer.Lambda
		if lambda["tenantId"] != "acme" || lambda["n"] != float64(3) {
			t.Errorf("requestContext.authorizer.lambda = %v, want the context with its JSON types", lambda)
		}
		a := fake.authEvent
		want := []string{"Bearer good", "GET /items/{id}", "127.0.0.1"}
		if a.Version != "2.0" || a.Type != "REQUEST" || strings.Join(a.IdentitySource, "|") != strings.Join(want, "|") || !strings.HasSuffix(a.RouteArn, apiID+"/v1/GET/items/{id}") {
			t.Errorf("authorizer event: version %q, identitySource %q, routeArn %s", a.Version, a.IdentitySource, a.RouteArn)
		}
	})
	t.Run("CacheKeyedByIdentitySources", func(t *testing.T) {
		fake := &fakeV2{}
		srv, _ := newV2(t, fake, identity)
		v2do(t, srv, "GET", "/items/1", "Bearer good")
		v2do(t, srv, "GET", "/items/2", "Bearer good")
		if fake.calls() != 1 {
			t.Errorf("same identity values: %d calls, want 1", fake.calls())
		}
		// Another route key is another cache entry: POST is refused.
		if status, _, body := v2do(t, srv, "POST", "/items", "Bearer good"); status != 403 || body != `{"message":"Forbidden"}` {
			t.Errorf("POST /items = %d %s, want 403 Forbidden", status, body)
		}
		// Without the route key among them, the cached allow serves POST.
		fake2 := &fakeV2{}
		srv2, _ := newV2(t, fake2, gatewayemu.Authorizer{Headers: []string{"Authorization"}, TTL: time.Minute})
		v2do(t, srv2, "GET", "/items", "Bearer good")
		if status, _, _ := v2do(t, srv2, "POST", "/items", "Bearer good"); status != 201 || fake2.calls() != 1 {
			t.Errorf("identity without routeKey: POST = %d after %d calls, want the cached 201", status, fake2.calls())
		}
	})
	t.Run("Refusals", func(t *testing.T) {
		fake := &fakeV2{}
		srv, _ := newV2(t, fake, identity)
		for _, c := range []struct {
			method, path, auth string
			status             int
		}{
			{"GET", "/items", "", 401},
			{"GET", "/items", "Bearer nope", 401},
			{"GET", "/items", "Bearer crash", 500},
			{"GET", "/items", "Bearer policy", 500},
			{"GET", "/nowhere", "Bearer good", 404},
			{"DELETE", "/items", "Bearer good", 404},
		} {
			if status, _, _ := v2do(t, srv, c.method, c.path, c.auth); status != c.status {
				t.Errorf("%s %s %q = %d, want %d", c.method, c.path, c.auth, status, c.status)
			}
		}
		if fake.calls() != 3 {
			t.Errorf("authorizer calls = %d, want 3 (a missing identity source is refused without one)", fake.calls())
		}
		if status, _, body := v2do(t, srv, "GET", "/bare", ""); status != 200 || body != `{"bare":true}` {
			t.Errorf("an answer without statusCode = %d %s, want 200 with it as the body", status, body)
		}
	})
	t.Run("ResetAuthorizersCacheWithTheSDK", func(t *testing.T) {
		fake := &fakeV2{}
		srv, mgmt := newV2(t, fake, identity)
		v2do(t, srv, "GET", "/items", "Bearer good")
		client := apigatewayv2.New(apigatewayv2.Options{
			Region:       "us-east-1",
			Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
			BaseEndpoint: aws.String(mgmt.URL),
		})
		if _, err := client.ResetAuthorizersCache(context.Background(), &apigatewayv2.ResetAuthorizersCacheInput{ApiId: aws.String(apiID), StageName: aws.String("v1")}); err != nil {
			t.Fatal(err)
		}
		v2do(t, srv, "GET", "/items", "Bearer good")
		if fake.calls() != 2 {
			t.Errorf("after the reset: calls = %d, want 2", fake.calls())
		}
		_, err := client.ResetAuthorizersCache(context.Background(), &apigatewayv2.ResetAuthorizersCacheInput{ApiId: aws.String("nope"), StageName: aws.String("v1")})
		var nf interface{ ErrorCode() string }
		if !errors.As(err, &nf) || nf.ErrorCode() != "NotFoundException" {
			t.Errorf("unknown API: %v, want NotFoundException", err)
		}
	})
	t.Run("UnemulatedAuthorizersRefused", func(t *testing.T) {
		for _, a := range []gatewayemu.Authorizer{
			{Function: "Authz", Type: "REQUEST", PayloadFormatVersion: "1.0"},
			{Function: "Authz", Type: "REQUEST", PayloadFormatVersion: "2.0"},
			{Function: "Authz", Type: "REQUEST", PayloadFormatVersion: "2.0", SimpleResponses: true, Context: []string{"resourcePath"}},
		} {
			_, err := gatewayemu.New(gatewayemu.Config{HTTP: true, APIID: apiID, Stage: "v1", Invoke: (&fakeV2{}).invoke,
				Authorizers: map[string]gatewayemu.Authorizer{"K": a}})
			if err == nil {
				t.Errorf("authorizer %+v accepted", a)
			}
		}
	})
}
