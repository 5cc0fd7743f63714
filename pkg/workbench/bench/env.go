package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
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
	Platform apikey.Caller // the operator tenant's platform key
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
	e.Hasher = kmspepper.New(keywardtest.FunctionKMS(e.Stack.KMSURL), e.Store, e.Settings.KMSKeyID)
	e.Service = apikey.NewService(e.Store, e.Hasher, unicoderules.Rules{}, e.Settings.Service)
	e.Audit = auditstore.New(e.DB, e.Stack.Tables["AuditTable"], 0)
	if e.Admin, e.Token, err = e.callerOf(e.Stack.TokenFile); err != nil {
		return fmt.Errorf("admin token: %w", err)
	}
	if e.Platform, _, err = e.callerOf(e.Stack.PlatformTokenFile); err != nil {
		return fmt.Errorf("platform token: %w", err)
	}
	return nil
}

// callerOf is the caller of the token in file, and the token.
func (e *Env) callerOf(file string) (apikey.Caller, string, error) {
	tok, err := os.ReadFile(file)
	if err != nil {
		return apikey.Caller{}, "", err
	}
	token := strings.TrimSpace(string(tok))
	id, _, err := apikey.ParseToken(e.Settings.Service.TokenPrefix, token)
	if err != nil {
		return apikey.Caller{}, "", err
	}
	k, err := e.Store.GetKey(context.Background(), id)
	if err != nil {
		return apikey.Caller{}, "", err
	}
	return apikey.Caller{TenantID: k.TenantID, KeyID: k.ID, Scopes: k.Scopes}, token, nil
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
		"AWS_ENDPOINT_URL_API_GATEWAY=" + e.Stack.LambdaURL, "AWS_ENDPOINT_URL_APIGATEWAYV2=" + e.Stack.LambdaURL,
		"AWS_ENDPOINT_URL_EVENTBRIDGE=" + e.Stack.EventsURL,
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

// Proxy is an API Gateway proxy event from caller (its authorizer
// context), with a JSON body.
func Proxy(c apikey.Caller, method, resource, path string, params, query map[string]string, body string) []byte {
	return Request(RequestSpec{
		Method: method, Resource: resource, Path: path, Params: params, Query: query, Body: body,
		Headers:    map[string]string{"Content-Type": "application/json", "Accept": "application/json"},
		Authorizer: map[string]any{"principalId": c.KeyID, "tenantId": c.TenantID, "keyId": c.KeyID, "scopes": strings.Join(c.Scopes, " ")},
	})
}

// RequestSpec is what an API Gateway proxy event carries.
type RequestSpec struct {
	Method, Resource, Path string
	Params, Query, Headers map[string]string
	Body                   string
	Authorizer             map[string]any // the authorizer's context; nil for an unauthorized route
}

// Request is the API Gateway proxy event of r.
func Request(r RequestSpec) []byte {
	req := events.APIGatewayProxyRequest{
		Resource: r.Resource, Path: r.Path, HTTPMethod: r.Method, PathParameters: r.Params, QueryStringParameters: r.Query,
		Headers: r.Headers, Body: r.Body,
		RequestContext: events.APIGatewayProxyRequestContext{
			AccountID: localaws.Account, APIID: "benchapi", Stage: "v1", ResourcePath: r.Resource, HTTPMethod: r.Method,
			RequestID: fmt.Sprintf("bench-%d", time.Now().UnixNano()), Identity: events.APIGatewayRequestIdentity{SourceIP: "127.0.0.1"},
			Authorizer: r.Authorizer,
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
