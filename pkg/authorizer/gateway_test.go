package authorizer_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/authorizer"
	"github.com/keyward/keyward/pkg/workbench/gatewayemu"
	"github.com/keyward/keyward/pkg/workbench/samtemplate"
)

// gateway is the authorizer behind the API Gateway emulator, with the
// template's authorizer identity sources and result caching on.
type gateway struct {
	srv   *httptest.Server
	calls atomic.Int64 // authorizer invocations
}

// templateAuthorizer is the API's default authorizer as template.yaml
// declares it (identity sources, TTL), with the parameters' defaults.
func templateAuthorizer(t *testing.T) samtemplate.LambdaAuthorizer {
	t.Helper()
	path, err := samtemplate.Find(".")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := samtemplate.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	apis, err := tmpl.ServerlessAPIs(tmpl.ParameterValues(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, api := range apis {
		if a, ok := api.Authorizers[api.DefaultAuthorizer]; ok {
			return a
		}
	}
	t.Fatal("template.yaml has no API with a default authorizer")
	return samtemplate.LambdaAuthorizer{}
}

// newGateway serves keyward's own routes and the protected routes of
// routeScopes through gatewayemu, every one behind a, which the gateway
// invokes in process as Lambda would (an error "Unauthorized" is a 401).
func newGateway(t *testing.T, a *authorizer.Authorizer) *gateway {
	t.Helper()
	az := templateAuthorizer(t)
	if az.ReauthorizeEvery <= 0 {
		t.Fatalf("the template's authorizer does not cache results (ReauthorizeEvery %d)", az.ReauthorizeEvery)
	}
	g := &gateway{}
	var routes []gatewayemu.Route
	for _, r := range append(apikey.AdminRoutes(), mustRouteScopes(t)...) {
		routes = append(routes, gatewayemu.Route{Method: r.Method, Path: r.Path, Function: "Backend", Authorizer: "Authz"})
	}
	invoke := func(ctx context.Context, fn string, payload []byte) ([]byte, bool, error) {
		if fn == "Backend" {
			out, err := json.Marshal(events.APIGatewayProxyResponse{StatusCode: 200, Body: `{"ok":true}`})
			return out, false, err
		}
		g.calls.Add(1)
		var ev events.APIGatewayCustomAuthorizerRequestTypeRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, false, err
		}
		resp, err := a.Handle(ctx, ev)
		if err != nil {
			msg := "internal"
			if errors.Is(err, authorizer.ErrUnauthenticated) {
				msg = "Unauthorized"
			}
			out, _ := json.Marshal(map[string]string{"errorMessage": msg})
			return out, true, nil
		}
		out, err := json.Marshal(resp)
		return out, false, err
	}
	gw, err := gatewayemu.New(gatewayemu.Config{
		APIID: "abc123def4", Stage: "prod",
		Routes: routes,
		Authorizers: map[string]gatewayemu.Authorizer{"Authz": {
			Function: "Authz", Type: az.PayloadType, Headers: az.Headers, QueryStrings: az.QueryStrings, Context: az.Context,
			TTL: time.Duration(az.ReauthorizeEvery) * time.Second,
		}},
		Invoke: invoke,
		Logger: (&logBuffer{}).Logger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	g.srv = httptest.NewServer(gw)
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gateway) status(t *testing.T, method, path, authz string) int {
	t.Helper()
	req, err := http.NewRequest(method, g.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", authz)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestNestedRoutesThroughTheGateway drives the authorizer through the
// gateway emulator configured from template.yaml (identity sources, result
// caching on): a key reaches exactly the routes its scopes allow, even right
// after the gateway cached an Allow for a route that is a prefix of the
// next one.
func TestNestedRoutesThroughTheGateway(t *testing.T) {
	cfg := defaultConfig(t)
	cfg.GatewayCaches = true
	s := newStack(t, cfg)
	g := newGateway(t, s.auth)
	reader := bearer(s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}}).Token)
	profile := bearer(s.issue(t, apikey.CreateInput{Scopes: []string{"profile:read"}}).Token)
	keysRead := s.issue(t, apikey.CreateInput{Scopes: []string{"keys:read"}})
	audio := bearer(s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:audio"}}).Token)
	for _, c := range []struct {
		method, path, authz string
		status              int
		invoked             bool // the authorizer ran (a gateway cache miss)
	}{
		{"GET", "/recordings/r1", reader, 200, true},
		{"GET", "/recordings/r1/audio", reader, 403, true}, // right after the cached Allow for /recordings/{recordingId}
		{"GET", "/recordings/r2", reader, 200, false},      // same route: the cached Allow
		{"GET", "/recordings/r2/audio", reader, 403, false},
		{"GET", "/tenants/t1", profile, 200, true},
		{"GET", "/tenants/t1/billing/inv-1", profile, 403, true},
		{"GET", "/tenants/t2", profile, 200, false},
		{"GET", "/v1/keys/" + keysRead.ID, bearer(keysRead.Token), 200, true},
		{"POST", "/v1/keys/" + keysRead.ID + "/rotate", bearer(keysRead.Token), 403, true},
		{"PATCH", "/v1/keys/" + keysRead.ID, bearer(keysRead.Token), 403, true},
		{"GET", "/v1/keys/" + keysRead.ID, bearer(keysRead.Token), 200, false},
		{"GET", "/recordings/r1/audio", audio, 200, true},
		{"GET", "/recordings/r1", audio, 403, true},
	} {
		before := g.calls.Load()
		if got := g.status(t, c.method, c.path, c.authz); got != c.status {
			t.Errorf("%s %s = %d, want %d", c.method, c.path, got, c.status)
		}
		if invoked := g.calls.Load() > before; invoked != c.invoked {
			t.Errorf("%s %s: authorizer invoked = %v, want %v", c.method, c.path, invoked, c.invoked)
		}
	}
}
