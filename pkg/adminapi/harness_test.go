package adminapi_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/adminapi"
	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/workbench/ddblocal/ddblocaltest"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

func TestMain(m *testing.M) { os.Exit(ddblocaltest.Run(m)) }

// stack is the key service over real DynamoDB Local tables built from
// template.yaml and a local KMS endpoint, reached through the real SDK clients,
// with the four functions' routers in front of it.
type stack struct {
	keys    *keywardtest.Stack
	svc     *apikey.Service
	logs    *keywardtest.LogBuffer
	routers map[string]*apigw.Router // function name → its router
	secrets []string                 // every secret and token issued, to check none is logged
}

func newStack(t *testing.T) *stack {
	t.Helper()
	keys := keywardtest.Keys(t)
	svc := keys.Service
	keys.StoreAdmins(t)
	logs := &keywardtest.LogBuffer{}
	log := logs.Logger()
	s := &stack{keys: keys, svc: svc, logs: logs, routers: map[string]*apigw.Router{
		"create": apigw.NewRouter(log, adminapi.CreateRoutes(svc)...),
		"list":   apigw.NewRouter(log, adminapi.ListRoutes(svc)...),
		"edit":   apigw.NewRouter(log, adminapi.EditRoutes(svc)...),
		"revoke": apigw.NewRouter(log, adminapi.RevokeRoutes(svc)...),
		"policy": apigw.NewRouter(log, adminapi.PolicyRoutes(svc)...),
	}}
	logs.CheckNoSecrets(t, &s.secrets)
	return s
}

// functionFor names the function serving a method and resource, as template.yaml does.
func functionFor(method, resource string) string {
	switch {
	case resource == adminapi.ResourcePolicy:
		return "policy"
	case method == "POST" && resource == adminapi.ResourceKeys:
		return "create"
	case method == "GET":
		return "list"
	case method == "PATCH" || resource == adminapi.ResourceRotate:
		return "edit"
	default:
		return "revoke"
	}
}

// admin is a caller of tenant with keys:admin (a non-default key newStack
// stores; acme's is the one the events/ fixtures name).
func admin(tenant string) apikey.Caller { return keywardtest.Admin(tenant) }

// seed creates a key through the service and remembers its secret.
func (s *stack) seed(t *testing.T, c apikey.Caller, name string) *apikey.Issued {
	t.Helper()
	iss, err := s.svc.Create(context.Background(), c, apikey.CreateInput{Name: name, Scopes: []string{"recordings:read"}})
	if err != nil {
		t.Fatalf("seed %q: %v", name, err)
	}
	s.secrets = append(s.secrets, iss.Secret, iss.Token)
	return iss
}

// serve sends req to the router of the function that owns its route.
func (s *stack) serve(t *testing.T, req events.APIGatewayProxyRequest) response {
	t.Helper()
	resp, err := s.routers[functionFor(req.HTTPMethod, req.Resource)].Handle(context.Background(), req)
	if err != nil {
		t.Fatalf("Handle returned an error: %v", err)
	}
	r := response{APIGatewayProxyResponse: resp}
	if err := json.Unmarshal([]byte(resp.Body), &r.body); err != nil {
		t.Fatalf("response body %q is not JSON: %v", resp.Body, err)
	}
	if resp.Headers["Content-Type"] != "application/json" || resp.Headers["Cache-Control"] != "no-store" {
		t.Errorf("headers = %v", resp.Headers)
	}
	if sec, ok := r.body["secret"].(string); ok {
		s.secrets = append(s.secrets, sec, r.body["token"].(string))
	}
	return r
}

// response is a proxy response with its JSON body decoded.
type response struct {
	events.APIGatewayProxyResponse
	body map[string]any
}

func (r response) errorCode() string {
	e, _ := r.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (r response) errorField() string {
	e, _ := r.body["error"].(map[string]any)
	f, _ := e["field"].(string)
	return f
}

// check fails t unless r has status and, for errors, code and field.
func (r response) check(t *testing.T, status int, code, field string) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status = %d, want %d: %s", r.StatusCode, status, r.Body)
	}
	if code != "" && (r.errorCode() != code || r.errorField() != field) {
		t.Fatalf("error = %q field %q, want %q field %q: %s", r.errorCode(), r.errorField(), code, field, r.Body)
	}
}
