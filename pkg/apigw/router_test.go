package apigw

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/keyward/keyward/pkg/apikey"
)

// logLines returns the JSON log lines written to buf.
func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

const secretToken = "kw_01JD5Z8K3N4Q7R2T6V9W0X1Y2Z_s3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cr3tS3cABCDEF"

func newTestRouter(buf *bytes.Buffer, h Handler) *Router {
	log := slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return NewRouter(log,
		Route{Method: "GET", Resource: "/v1/keys/{keyId}", Handler: h},
		Route{Method: "PATCH", Resource: "/v1/keys/{keyId}", Handler: h},
	)
}

func request(method, resource string) events.APIGatewayProxyRequest {
	req := authorized("keys:admin")
	req.HTTPMethod, req.Resource = method, resource
	req.Headers = map[string]string{"Authorization": "Bearer " + secretToken}
	req.Body = `{"secret":"` + secretToken + `"}`
	return req
}

func TestRouter(t *testing.T) {
	ok := func(ctx context.Context, req events.APIGatewayProxyRequest, c apikey.Caller) (events.APIGatewayProxyResponse, error) {
		return JSONVersioned(200, map[string]string{"tenant": c.TenantID}, 2)
	}
	cases := []struct {
		name      string
		method    string
		resource  string
		edit      func(*events.APIGatewayProxyRequest)
		handler   Handler
		status    int
		code      string
		level     string
		errorText string
	}{
		{name: "MatchedRouteServes", method: "GET", resource: "/v1/keys/{keyId}", handler: ok, status: 200, level: "INFO"},
		{name: "MethodIsCaseInsensitive", method: "get", resource: "/v1/keys/{keyId}", handler: ok, status: 200, level: "INFO"},
		{name: "UnknownResourceIsNotFound", method: "GET", resource: "/v1/nope", handler: ok, status: 404, code: "not_found", level: "INFO"},
		{name: "EmptyResourceIsNotFound", method: "GET", resource: "", handler: ok, status: 404, code: "not_found", level: "INFO"},
		{name: "WrongMethodIsNotAllowed", method: "DELETE", resource: "/v1/keys/{keyId}", handler: ok, status: 405, code: "method_not_allowed", level: "INFO"},
		{name: "MissingAuthorizerContextIsUnauthorized", method: "GET", resource: "/v1/keys/{keyId}",
			edit: func(r *events.APIGatewayProxyRequest) { r.RequestContext.Authorizer = nil }, handler: ok, status: 401, code: "unauthorized", level: "INFO"},
		{name: "DomainErrorMapsToStatus", method: "PATCH", resource: "/v1/keys/{keyId}",
			handler: func(context.Context, events.APIGatewayProxyRequest, apikey.Caller) (events.APIGatewayProxyResponse, error) {
				return events.APIGatewayProxyResponse{}, apikey.ErrPrecondition
			}, status: 412, code: "precondition_failed", level: "INFO"},
		{name: "InternalErrorIsHiddenAndLoggedOnce", method: "GET", resource: "/v1/keys/{keyId}",
			handler: func(context.Context, events.APIGatewayProxyRequest, apikey.Caller) (events.APIGatewayProxyResponse, error) {
				return events.APIGatewayProxyResponse{}, fmt.Errorf("get key: %w", errors.New("operation error DynamoDB: GetItem, https response error StatusCode: 400"))
			}, status: 500, code: "internal", level: "ERROR", errorText: "get key: operation error DynamoDB: GetItem, https response error StatusCode: 400"},
		{name: "PanicIsHiddenAndLoggedOnce", method: "GET", resource: "/v1/keys/{keyId}",
			handler: func(context.Context, events.APIGatewayProxyRequest, apikey.Caller) (events.APIGatewayProxyResponse, error) {
				panic("index out of range [3] with length 3")
			}, status: 500, code: "internal", level: "ERROR", errorText: "panic: index out of range [3] with length 3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			called := false
			h := func(ctx context.Context, req events.APIGatewayProxyRequest, c apikey.Caller) (events.APIGatewayProxyResponse, error) {
				called = true
				return tc.handler(ctx, req, c)
			}
			r := newTestRouter(&buf, h)
			req := request(tc.method, tc.resource)
			if tc.edit != nil {
				tc.edit(&req)
			}
			ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "lambda-req-9"})
			resp, err := r.Handle(ctx, req)
			if err != nil {
				t.Fatalf("Handle returned an error: %v", err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d (%s)", resp.StatusCode, tc.status, resp.Body)
			}
			if resp.Headers["Cache-Control"] != "no-store" || resp.Headers["Content-Type"] != "application/json" {
				t.Errorf("headers = %v", resp.Headers)
			}
			if tc.code != "" {
				if got := wireErrorOf(t, resp)["code"]; got != tc.code {
					t.Errorf("code = %q, want %q", got, tc.code)
				}
				if tc.status == 401 && called {
					t.Error("handler ran for an unauthenticated request")
				}
			}
			if tc.status == 500 && resp.Body != `{"error":{"code":"internal","message":"internal error"}}` {
				t.Errorf("500 body leaks detail: %s", resp.Body)
			}

			lines := logLines(t, &buf)
			if len(lines) != 1 {
				t.Fatalf("%d log lines, want exactly 1:\n%s", len(lines), buf.String())
			}
			l := lines[0]
			want := map[string]any{
				"level": tc.level, "requestId": "req-1", "lambdaRequestId": "lambda-req-9",
				"tenantId": testTenant, "keyId": testKey, "method": tc.method, "resource": tc.resource,
				"status": float64(tc.status),
			}
			if tc.name == "MissingAuthorizerContextIsUnauthorized" {
				delete(want, "tenantId")
				delete(want, "keyId")
			}
			for k, v := range want {
				if l[k] != v {
					t.Errorf("log %s = %v, want %v", k, l[k], v)
				}
			}
			if _, ok := l["durationMs"].(float64); !ok {
				t.Errorf("log has no durationMs: %v", l)
			}
			if tc.code != "" && l["code"] != tc.code {
				t.Errorf("log code = %v, want %s", l["code"], tc.code)
			}
			if got, _ := l["error"].(string); got != tc.errorText {
				t.Errorf("log error = %q, want %q", got, tc.errorText)
			}
			if strings.Contains(buf.String(), "s3cr3t") || strings.Contains(buf.String(), "Bearer") {
				t.Errorf("log holds the Authorization header or body: %s", buf.String())
			}
		})
	}
}

func TestRouterMethodNotAllowedListsAllow(t *testing.T) {
	var buf bytes.Buffer
	r := newTestRouter(&buf, func(context.Context, events.APIGatewayProxyRequest, apikey.Caller) (events.APIGatewayProxyResponse, error) {
		return JSON(200, nil)
	})
	resp, _ := r.Handle(context.Background(), request("POST", "/v1/keys/{keyId}"))
	if resp.StatusCode != 405 || resp.Headers["Allow"] != "GET, PATCH" {
		t.Fatalf("status %d, Allow %q", resp.StatusCode, resp.Headers["Allow"])
	}
}

// TestNewRouterRefusesWiringBugs: a duplicate route, or one apikey's route
// table lacks, panics when the router is built.
func TestNewRouterRefusesWiringBugs(t *testing.T) {
	h := func(context.Context, events.APIGatewayProxyRequest, apikey.Caller) (events.APIGatewayProxyResponse, error) {
		return JSON(200, nil)
	}
	for name, routes := range map[string][]Route{
		"Duplicate":     {{"GET", "/v1/keys", h}, {"get", "/v1/keys", h}},
		"OutsideTable":  {{"PUT", "/v1/keys", h}},
		"WithoutMethod": {{"", "/v1/keys", h}},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			NewRouter(nil, routes...)
		})
	}
}

// TestRouterChecksTheTableScopeBeforeTheHandler: a key without the route's
// scope is refused before the handler reads the body, so a malformed body
// tells it nothing; a route whose scope is empty admits any valid key.
func TestRouterChecksTheTableScopeBeforeTheHandler(t *testing.T) {
	reached := 0
	h := func(context.Context, events.APIGatewayProxyRequest, apikey.Caller) (events.APIGatewayProxyResponse, error) {
		reached++
		return JSON(200, nil)
	}
	r := NewRouter(slog.New(slog.DiscardHandler), Route{"PATCH", "/v1/keys/{keyId}", h}, Route{"GET", "/v1/whoami", h})
	for _, c := range []struct {
		method, resource, scopes string
		status                   int
	}{
		{"PATCH", "/v1/keys/{keyId}", "keys:read", 403},
		{"PATCH", "/v1/keys/{keyId}", "keys:write", 200},
		{"PATCH", "/v1/keys/{keyId}", "keys:admin", 200},
		{"GET", "/v1/whoami", "audit:read", 200},
	} {
		reached = 0
		req := authorized(c.scopes)
		req.HTTPMethod, req.Resource, req.Body = c.method, c.resource, "{not json"
		resp, _ := r.Handle(context.Background(), req)
		if resp.StatusCode != c.status || (reached == 1) != (c.status == 200) {
			t.Errorf("%s %s with %s: %d (handler ran %d times), want %d", c.method, c.resource, c.scopes, resp.StatusCode, reached, c.status)
		}
	}
}

func TestPublicRouteNeedsNoAuthorizerContext(t *testing.T) {
	var got apikey.Caller
	h := func(_ context.Context, _ events.APIGatewayProxyRequest, c apikey.Caller) (events.APIGatewayProxyResponse, error) {
		got = c
		return JSON(200, map[string]string{"ok": "yes"})
	}
	r := NewRouter(nil,
		Route{Method: "GET", Resource: "/v1/openapi.json", Handler: h}, // Public in apikey's route table
		Route{Method: "GET", Resource: "/v1/keys", Handler: h})
	resp, _ := r.Handle(context.Background(), events.APIGatewayProxyRequest{HTTPMethod: "GET", Resource: "/v1/openapi.json"})
	if resp.StatusCode != 200 || got.KeyID != "" || got.TenantID != "" {
		t.Errorf("public route: %d, caller %+v", resp.StatusCode, got)
	}
	resp, _ = r.Handle(context.Background(), events.APIGatewayProxyRequest{HTTPMethod: "GET", Resource: "/v1/keys"})
	if resp.StatusCode != 401 {
		t.Errorf("a route that is not public, without an authorizer context: %d, want 401", resp.StatusCode)
	}
}
