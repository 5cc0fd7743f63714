package gwflush_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"

	"github.com/keyward/keyward/pkg/adminapi"
	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/gwflush"
	"github.com/keyward/keyward/pkg/workbench/ddblocal/ddblocaltest"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

func TestMain(m *testing.M) { os.Exit(ddblocaltest.Run(m)) }

// gateway is a loopback stand-in for API Gateway's control plane that
// records every call it gets.
type gateway struct {
	srv    *httptest.Server
	mu     sync.Mutex
	calls  []string
	status int
}

func newGateway(t *testing.T) *gateway {
	g := &gateway{status: http.StatusAccepted}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.calls = append(g.calls, r.Method+" "+r.URL.Path)
		status := g.status
		g.mu.Unlock()
		if status >= 300 {
			w.Header().Set("Content-Type", "application/json")
			errType := "BadRequestException"
			if status == http.StatusTooManyRequests {
				errType = "TooManyRequestsException"
			}
			w.Header().Set("X-Amzn-Errortype", errType)
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"message":"injected failure"}`))
			return
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gateway) take() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.calls
	g.calls = nil
	return c
}

func (g *gateway) fail(status int) {
	g.mu.Lock()
	g.status = status
	g.mu.Unlock()
}

func (g *gateway) client() *apigateway.Client {
	return apigateway.New(apigateway.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(g.srv.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}

// stack is the edit and revoke functions as their main.go wires them — the
// key service over DynamoDB Local and a local KMS, wrapped by a Flusher —
// with the flush going to a loopback gateway.
type stack struct {
	svc     *apikey.Service
	gw      *gateway
	logs    *keywardtest.LogBuffer
	edit    gwflush.ProxyHandler
	revoke  gwflush.ProxyHandler
	secrets []string
}

func newStack(t *testing.T, fallback gwflush.Stage) *stack {
	t.Helper()
	keys := keywardtest.Keys(t)
	svc := keys.Service
	keys.CallerKey(t, caller.TenantID, caller.KeyID, caller.Scopes...)
	logs := &keywardtest.LogBuffer{}
	log := logs.Logger()
	gw := newGateway(t)
	f := gwflush.New(gw.client(), fallback, log)
	s := &stack{
		svc: svc, gw: gw, logs: logs,
		edit:   f.Wrap(apigw.NewRouter(log, adminapi.EditRoutes(f.Editor(svc))...).Handle),
		revoke: f.Wrap(apigw.NewRouter(log, adminapi.RevokeRoutes(f.Revoker(svc))...).Handle),
	}
	logs.CheckNoSecrets(t, &s.secrets)
	return s
}

var caller = apikey.Caller{TenantID: "acme", KeyID: "key_01JD5Z8K3N4Q7R2T6V9W0X1Y2Z", Scopes: []string{apikey.ScopeAdmin}}

func (s *stack) seed(t *testing.T) *apikey.Issued {
	t.Helper()
	iss, err := s.svc.Create(context.Background(), caller, apikey.CreateInput{Name: "key " + time.Now().Format("150405.000000000"), Scopes: []string{"recordings:read"}})
	if err != nil {
		t.Fatal(err)
	}
	s.secrets = append(s.secrets, iss.Secret, iss.Token)
	return iss
}

// proxy is an admin request through stage prod of API abc123def4.
func proxy(method, resource, keyID, body string) events.APIGatewayProxyRequest {
	path := strings.ReplaceAll(resource, "{keyId}", keyID)
	req := events.APIGatewayProxyRequest{
		HTTPMethod: method, Resource: resource, Path: path, Body: body,
		Headers: map[string]string{"Content-Type": "application/json"},
	}
	if keyID != "" {
		req.PathParameters = map[string]string{"keyId": keyID}
	}
	req.RequestContext.APIID, req.RequestContext.Stage, req.RequestContext.RequestID = "abc123def4", "prod", "req-1"
	req.RequestContext.Authorizer = map[string]any{"tenantId": caller.TenantID, "keyId": caller.KeyID, "scopes": "keys:admin"}
	return req
}

const flushCall = "DELETE /restapis/abc123def4/stages/prod/cache/authorizers"

// TestChangesThatMustStopCredentialsFlush checks which admin calls flush the
// stage's authorizer cache, through the loopback gateway.
func TestChangesThatMustStopCredentialsFlush(t *testing.T) {
	s := newStack(t, gwflush.Stage{})
	future := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	cases := []struct {
		name    string
		request func(t *testing.T) (gwflush.ProxyHandler, events.APIGatewayProxyRequest)
		status  int
		flushes int
	}{
		{"RevokeFlushes", func(t *testing.T) (gwflush.ProxyHandler, events.APIGatewayProxyRequest) {
			return s.revoke, proxy("DELETE", adminapi.ResourceKey, s.seed(t).ID, "")
		}, 200, 1},
		{"RevokingAnUnknownKeyDoesNotFlush", func(t *testing.T) (gwflush.ProxyHandler, events.APIGatewayProxyRequest) {
			return s.revoke, proxy("DELETE", adminapi.ResourceKey, "key_01JD6B0C3XH5Q2M9T7R4W8N1PZ", "")
		}, 404, 0},
		{"BatchRevokeFlushesOnce", func(t *testing.T) (gwflush.ProxyHandler, events.APIGatewayProxyRequest) {
			a, b := s.seed(t), s.seed(t)
			return s.revoke, proxy("POST", adminapi.ResourceBatchRevoke, "", `{"ids":["`+a.ID+`","`+b.ID+`"]}`)
		}, 200, 1},
		{"BatchRevokeThatRevokesNothingDoesNotFlush", func(t *testing.T) (gwflush.ProxyHandler, events.APIGatewayProxyRequest) {
			return s.revoke, proxy("POST", adminapi.ResourceBatchRevoke, "", `{"ids":["key_01JD6B0C3XH5Q2M9T7R4W8N1PZ"]}`)
		}, 200, 0},
		{"RotateWithoutGraceFlushes", func(t *testing.T) (gwflush.ProxyHandler, events.APIGatewayProxyRequest) {
			return s.edit, proxy("POST", adminapi.ResourceRotate, s.seed(t).ID, "")
		}, 200, 1},
		{"RotateWithZeroGraceFlushes", func(t *testing.T) (gwflush.ProxyHandler, events.APIGatewayProxyRequest) {
			return s.edit, proxy("POST", adminapi.ResourceRotate, s.seed(t).ID, `{"gracePeriodSeconds":0}`)
		}, 200, 1},
		{"RotateWithGraceDoesNotFlush", func(t *testing.T) (gwflush.ProxyHandler, events.APIGatewayProxyRequest) {
			return s.edit, proxy("POST", adminapi.ResourceRotate, s.seed(t).ID, `{"gracePeriodSeconds":60}`)
		}, 200, 0},
		{"EditingTheAllowListFlushes", func(t *testing.T) (gwflush.ProxyHandler, events.APIGatewayProxyRequest) {
			return s.edit, proxy("PATCH", adminapi.ResourceKey, s.seed(t).ID, `{"allowList":{"ips":["203.0.113.0/24"],"origins":[]}}`)
		}, 200, 1},
		{"SettingAnExpiryFlushes", func(t *testing.T) (gwflush.ProxyHandler, events.APIGatewayProxyRequest) {
			return s.edit, proxy("PATCH", adminapi.ResourceKey, s.seed(t).ID, `{"expiresAt":"`+future+`"}`)
		}, 200, 1},
		{"RenamingDoesNotFlush", func(t *testing.T) (gwflush.ProxyHandler, events.APIGatewayProxyRequest) {
			return s.edit, proxy("PATCH", adminapi.ResourceKey, s.seed(t).ID, `{"name":"renamed `+time.Now().Format("150405.000000000")+`"}`)
		}, 200, 0},
		{"AFailedEditDoesNotFlush", func(t *testing.T) (gwflush.ProxyHandler, events.APIGatewayProxyRequest) {
			return s.edit, proxy("PATCH", adminapi.ResourceKey, s.seed(t).ID, `{"allowList":{"ips":["not a cidr"]}}`)
		}, 400, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, req := c.request(t)
			s.gw.take()
			resp, err := h(context.Background(), req)
			if err != nil || resp.StatusCode != c.status {
				t.Fatalf("status = %d, %v; want %d: %s", resp.StatusCode, err, c.status, resp.Body)
			}
			if sec := secretOf(resp.Body); sec != "" {
				s.secrets = append(s.secrets, sec)
			}
			calls := s.gw.take()
			if len(calls) != c.flushes {
				t.Fatalf("flush calls = %v, want %d", calls, c.flushes)
			}
			for _, call := range calls {
				if call != flushCall {
					t.Errorf("call = %q, want %q", call, flushCall)
				}
			}
		})
	}
}

func secretOf(body string) string {
	var m map[string]any
	_ = json.Unmarshal([]byte(body), &m)
	s, _ := m["secret"].(string)
	return s
}

// TestAFailedFlushIsLoggedNotFatal: the revoke is made and answered 200; the
// failure is one ERROR line.
func TestAFailedFlushIsLoggedNotFatal(t *testing.T) {
	s := newStack(t, gwflush.Stage{})
	s.gw.fail(http.StatusInternalServerError)
	resp, err := s.revoke(context.Background(), proxy("DELETE", adminapi.ResourceKey, s.seed(t).ID, ""))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("status = %d, %v: %s", resp.StatusCode, err, resp.Body)
	}
	if calls := s.gw.take(); len(calls) != 1 {
		t.Errorf("calls = %v, want one attempt", calls)
	}
	var failures int
	for _, l := range strings.Split(strings.TrimSpace(s.logs.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "authorizer cache not flushed" && m["level"] == "ERROR" {
			failures++
		}
	}
	if failures != 1 {
		t.Errorf("failure log lines = %d, want 1:\n%s", failures, s.logs.String())
	}
}

// TestStageComesFromTheRequestElseTheEnvironment.
func TestStageComesFromTheRequestElseTheEnvironment(t *testing.T) {
	s := newStack(t, gwflush.StageFromEnv(func(k string) string {
		return map[string]string{"API_ID": "envapi", "STAGE": "live"}[k]
	}))
	req := proxy("DELETE", adminapi.ResourceKey, s.seed(t).ID, "")
	req.RequestContext.APIID, req.RequestContext.Stage = "", ""
	if resp, err := s.revoke(context.Background(), req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status = %d, %v", resp.StatusCode, err)
	}
	if calls := s.gw.take(); len(calls) != 1 || calls[0] != "DELETE /restapis/envapi/stages/live/cache/authorizers" {
		t.Errorf("calls = %v, want the stage from API_ID and STAGE", calls)
	}
	if _, err := s.revoke(context.Background(), proxy("DELETE", adminapi.ResourceKey, s.seed(t).ID, "")); err != nil {
		t.Fatal(err)
	}
	if calls := s.gw.take(); len(calls) != 1 || calls[0] != flushCall {
		t.Errorf("calls = %v, want the request's own stage %q", calls, flushCall)
	}
}

// TestEndpointFromTheEnvironment: config.LoadDefaultConfig honours
// AWS_ENDPOINT_URL_API_GATEWAY, which points the functions at the local
// gateway emulator.
func TestEndpointFromTheEnvironment(t *testing.T) {
	gw := newGateway(t)
	t.Setenv("AWS_ENDPOINT_URL_API_GATEWAY", gw.srv.URL)
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f := gwflush.New(apigateway.NewFromConfig(cfg), gwflush.Stage{APIID: "abc123def4", Name: "prod"}, slog.New(slog.DiscardHandler))
	if !f.Flush(context.Background(), "test") {
		t.Fatal("flush failed")
	}
	if calls := gw.take(); len(calls) != 1 || calls[0] != flushCall {
		t.Errorf("calls = %v, want %q", calls, flushCall)
	}
}

// TestNoStageIsLogged: with neither a request stage nor API_ID/STAGE, the
// flush is skipped with an ERROR line.
func TestNoStageIsLogged(t *testing.T) {
	var buf keywardtest.LogBuffer
	f := gwflush.New(newGateway(t).client(), gwflush.Stage{}, slog.New(slog.NewJSONHandler(&buf, nil)))
	if f.Flush(context.Background(), "revoke") {
		t.Fatal("flush made without a stage")
	}
	if !strings.Contains(buf.String(), `"level":"ERROR"`) {
		t.Errorf("log = %s", buf.String())
	}
}
