package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/auditstore"
	"github.com/keyward/keyward/pkg/awsenv"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/kmspepper"
	"github.com/keyward/keyward/pkg/unicoderules"
	"github.com/keyward/keyward/pkg/workbench/ddblocal"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
	"github.com/keyward/keyward/pkg/workbench/localaws"
	"github.com/keyward/keyward/pkg/workbench/localstack"
)

// Env is the local stack the benchmarks run against (DynamoDB Local, the
// local KMS, the functions behind the stream poller) and in-process
// clients of the same tables.
type Env struct {
	Stack    *localstack.Stack
	Settings awsenv.Settings
	DB       *dynamodb.Client
	Store    *dynamostore.Store
	Hasher   *kmspepper.Hasher
	Service  *apikey.Service
	Audit    *auditstore.Store
	Admin    apikey.Caller // the stack's tenant's default key
	Token    string        // its token
}

// Start brings the local stack up in dir (its data directory), writing its
// logs to logs.
func Start(ctx context.Context, root, dir string, logs io.Writer) (*Env, error) {
	st, err := localstack.Start(ctx, localstack.Options{RepoRoot: root, DataDir: dir, Output: logs, Terminal: logs})
	if err != nil {
		return nil, err
	}
	e := &Env{Stack: st}
	if err := e.init(); err != nil {
		_ = st.Close()
		return nil, err
	}
	return e, nil
}

func (e *Env) init() error {
	state, err := localstack.ReadState(e.Stack.DataDir)
	if err != nil {
		return err
	}
	if e.Settings, err = awsenv.ReadSettings(func(k string) string { return state.KeysEnv[k] }); err != nil {
		return err
	}
	e.DB = ddblocal.Client(e.Stack.DynamoDBURL)
	e.Store = dynamostore.New(e.DB, e.Settings.Table)
	e.Hasher = kmspepper.New(keywardtest.KMSClient(e.Stack.KMSURL), e.Store, e.Settings.KMSKeyID)
	e.Service = apikey.NewService(e.Store, e.Hasher, unicoderules.Rules{}, e.Settings.Service)
	e.Audit = auditstore.New(e.DB, e.Stack.Tables["AuditTable"], 0)
	tok, err := os.ReadFile(e.Stack.TokenFile)
	if err != nil {
		return err
	}
	e.Token = strings.TrimSpace(string(tok))
	id, _, err := apikey.ParseToken(e.Settings.Service.TokenPrefix, e.Token)
	if err != nil {
		return fmt.Errorf("admin token: %w", err)
	}
	k, err := e.Store.GetKey(context.Background(), id)
	if err != nil {
		return err
	}
	e.Admin = apikey.Caller{TenantID: k.TenantID, KeyID: k.ID, Scopes: k.Scopes}
	return nil
}

// Close stops the stack.
func (e *Env) Close() error { return e.Stack.Close() }

// FunctionEnv is a function's environment as Lambda would give it, pointed
// at the stack: the keys settings, the audit table, AWS region, credentials
// and endpoints.
func (e *Env) FunctionEnv(extra ...string) []string {
	state, _ := localstack.ReadState(e.Stack.DataDir)
	env := []string{
		"AWS_REGION=" + localaws.Region, "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local", "AWS_SESSION_TOKEN=local",
		"AWS_ENDPOINT_URL_DYNAMODB=" + e.Stack.DynamoDBURL, "AWS_ENDPOINT_URL_KMS=" + e.Stack.KMSURL,
		"AWS_ENDPOINT_URL_API_GATEWAY=" + e.Stack.LambdaURL,
		"AUDIT_TABLE=" + e.Stack.Tables["AuditTable"], "LOG_LEVEL=WARN",
		"STAGE=" + e.Stack.Stage, "API_ID=" + e.Stack.APIID,
	}
	if state != nil {
		for k, v := range state.KeysEnv {
			env = append(env, k+"="+v)
		}
	}
	return append(env, extra...)
}

// Proxy is an API Gateway proxy event from caller.
func Proxy(c apikey.Caller, method, resource, path string, params, query map[string]string, body string) []byte {
	req := events.APIGatewayProxyRequest{
		Resource: resource, Path: path, HTTPMethod: method, PathParameters: params, QueryStringParameters: query,
		Headers: map[string]string{"Content-Type": "application/json", "Accept": "application/json"},
		Body:    body,
		RequestContext: events.APIGatewayProxyRequestContext{
			AccountID: localaws.Account, APIID: "benchapi", Stage: "v1", ResourcePath: resource, HTTPMethod: method,
			RequestID: fmt.Sprintf("bench-%d", time.Now().UnixNano()), Identity: events.APIGatewayRequestIdentity{SourceIP: "127.0.0.1"},
			Authorizer: map[string]any{"principalId": c.KeyID, "tenantId": c.TenantID, "keyId": c.KeyID, "scopes": strings.Join(c.Scopes, " ")},
		},
	}
	b, _ := json.Marshal(req)
	return b
}

// AuthorizerEvent is a REQUEST authorizer event presenting token.
func AuthorizerEvent(token string) []byte {
	req := events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type: "REQUEST", MethodArn: "arn:aws:execute-api:" + localaws.Region + ":" + localaws.Account + ":benchapi/v1/GET/v1/keys",
		Resource: "/v1/keys", Path: "/v1/keys", HTTPMethod: "GET",
		Headers:           map[string]string{"Authorization": "Bearer " + token},
		MultiValueHeaders: map[string][]string{"Authorization": {"Bearer " + token}},
		RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{
			AccountID: localaws.Account, APIID: "benchapi", Stage: "v1", ResourcePath: "/v1/keys", HTTPMethod: "GET",
			Identity: events.APIGatewayCustomAuthorizerRequestTypeRequestIdentity{SourceIP: "127.0.0.1"},
		},
	}
	b, _ := json.Marshal(req)
	return b
}

// Status2xx refuses a proxy answer whose status is not 2xx.
func Status2xx(a Answer) error {
	if a.Failed {
		return fmt.Errorf("function error: %s", a.Payload)
	}
	var r struct {
		StatusCode int `json:"statusCode"`
	}
	if err := json.Unmarshal(a.Payload, &r); err != nil || r.StatusCode < 200 || r.StatusCode > 299 {
		return fmt.Errorf("answer %.300s", a.Payload)
	}
	return nil
}

// Allowed refuses an authorizer answer that is not an Allow.
func Allowed(a Answer) error {
	if a.Failed || !strings.Contains(string(a.Payload), `"Allow"`) {
		return fmt.Errorf("answer %.300s", a.Payload)
	}
	return nil
}

// NoFailure refuses a function error.
func NoFailure(a Answer) error {
	if a.Failed {
		return fmt.Errorf("function error: %.300s", a.Payload)
	}
	return nil
}

// ColdCases are the cold-start cases of every function, each invoked with
// a request that succeeds. Keys the requests need are created first.
func (e *Env) ColdCases(ctx context.Context, bins map[string]string, root string, runs int) ([]ColdCase, error) {
	env := e.FunctionEnv()
	mk := func(name string) (*apikey.Issued, error) {
		return e.Service.Create(ctx, e.Admin, apikey.CreateInput{Name: name, Scopes: []string{"keys:read"}})
	}
	probe, err := mk(fmt.Sprintf("cold-probe-%d", time.Now().UnixNano()))
	if err != nil {
		return nil, err
	}
	var victims []*apikey.Issued
	for i := range runs {
		k, err := mk(fmt.Sprintf("cold-revoke-%d-%d", time.Now().UnixNano(), i))
		if err != nil {
			return nil, err
		}
		victims = append(victims, k)
	}
	stream, err := os.ReadFile(filepath.Join(root, "events", "auditstream-insert.json"))
	if err != nil {
		return nil, err
	}
	a := e.Admin
	keyPath := "/v1/keys/" + probe.ID
	fixed := func(b []byte) func(int) ([]byte, error) { return func(int) ([]byte, error) { return b, nil } }
	cases := []ColdCase{
		{Name: "authorizer", Slack: 15 * time.Millisecond, Check: Allowed, Event: fixed(AuthorizerEvent(probe.Token))},
		{Name: "verify", Slack: 25 * time.Millisecond, Check: Status2xx,
			Event: fixed(Proxy(a, "POST", "/v1/verify", "/v1/verify", nil, nil, `{"token":"`+probe.Token+`"}`))},
		{Name: "create", Slack: 25 * time.Millisecond, Check: Status2xx, Event: func(i int) ([]byte, error) {
			return Proxy(a, "POST", "/v1/keys", "/v1/keys", nil, nil, fmt.Sprintf(`{"name":"cold-create-%d-%d","scopes":["keys:read"]}`, time.Now().UnixNano(), i)), nil
		}},
		{Name: "list", Slack: 25 * time.Millisecond, Check: Status2xx, Event: fixed(Proxy(a, "GET", "/v1/keys", "/v1/keys", nil, map[string]string{"limit": "50"}, ""))},
		{Name: "edit", Slack: 25 * time.Millisecond, Check: Status2xx, Event: func(i int) ([]byte, error) {
			return Proxy(a, "PATCH", "/v1/keys/{keyId}", keyPath, map[string]string{"keyId": probe.ID}, nil, fmt.Sprintf(`{"description":"run %d"}`, i)), nil
		}},
		{Name: "revoke", Slack: 25 * time.Millisecond, Check: Status2xx, Event: func(i int) ([]byte, error) {
			v := victims[i]
			return Proxy(a, "DELETE", "/v1/keys/{keyId}", "/v1/keys/"+v.ID, map[string]string{"keyId": v.ID}, nil, ""), nil
		}},
		{Name: "audit", Slack: 25 * time.Millisecond, Check: Status2xx, Event: fixed(Proxy(a, "GET", "/v1/audit", "/v1/audit", nil, map[string]string{"limit": "50"}, ""))},
		{Name: "auditstream", Slack: 25 * time.Millisecond, Check: NoFailure, Event: fixed(stream)},
	}
	for i := range cases {
		cases[i].Bin, cases[i].Env = bins[cases[i].Name], env
	}
	return cases, nil
}
