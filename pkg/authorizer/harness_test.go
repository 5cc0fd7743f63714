package authorizer_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/authorizer"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/kmsclient"
	"github.com/keyward/keyward/pkg/kmspepper"
	"github.com/keyward/keyward/pkg/workbench/ddblocal/ddblocaltest"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

func TestMain(m *testing.M) { os.Exit(ddblocaltest.Run(m)) }

// logBuffer is the authorizer's log, read back line by line.
type logBuffer struct{ keywardtest.LogBuffer }

// lines returns the JSON log lines written so far.
func (b *logBuffer) lines(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// t0 is when every test's clock starts (and when the fixture keys are made).
var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// countingStore counts the authorizer's calls to the real store, and can
// make them fail.
type countingStore struct {
	*dynamostore.Store
	gets, touches atomic.Int64
	failTouch     atomic.Bool
}

func (s *countingStore) GetKey(ctx context.Context, id string) (*apikey.StoredKey, error) {
	s.gets.Add(1)
	return s.Store.GetKey(ctx, id)
}

func (s *countingStore) TouchLastUsed(ctx context.Context, id string, at time.Time, minInterval time.Duration) (bool, error) {
	s.touches.Add(1)
	if s.failTouch.Load() {
		return false, errors.New("touch: injected failure")
	}
	return s.Store.TouchLastUsed(ctx, id, at, minInterval)
}

// stack is the authorizer over real DynamoDB Local tables built from
// template.yaml and a local KMS endpoint, reached through the real SDK
// clients, next to the key service that issues and revokes its keys.
type stack struct {
	keys    *keywardtest.Stack
	svc     *apikey.Service
	store   *countingStore
	raw     *dynamostore.Store
	db      *dynamodb.Client
	table   string
	hasher  *kmspepper.Hasher
	kmsURL  string
	keyARN  string
	stopKMS func() error
	clock   *keywardtest.Clock
	logs    *logBuffer
	log     *slog.Logger
	auth    *authorizer.Authorizer
	cfg     authorizer.Config
	secrets []string // every secret and token issued, to check none is logged
}

// routeScopes are the protected API's routes the tests configure, nested
// ones among them: a route's scope must not open the routes below it.
const routeScopes = `{
	"GET /recordings/{recordingId}": "recordings:read",
	"GET /recordings/{recordingId}/audio": "recordings:audio",
	"POST /recordings": "recordings:write",
	"GET /tenants/{tenantId}": "profile:read",
	"GET /tenants/{tenantId}/billing/{invoiceId}": "billing:read",
	"ANY /reports/{proxy+}": "reports:read"
}`

func newStack(t testing.TB, cfg authorizer.Config) *stack {
	t.Helper()
	clk := keywardtest.NewClock(t0)
	keys := keywardtest.Keys(t, keywardtest.WithClock(clk))
	keys.StoreAdmins(t)
	logs := &logBuffer{}
	s := &stack{
		keys: keys, svc: keys.Service,
		store: &countingStore{Store: keys.Store}, raw: keys.Store, db: keys.DB, table: keys.Tables["KeysTable"],
		hasher: keys.Hasher, kmsURL: keys.KMS.URL, keyARN: keys.KMS.KeyARN, stopKMS: keys.KMS.Stop,
		clock: clk, logs: logs, log: logs.Logger(),
		cfg: cfg,
	}
	s.auth = s.newAuthorizer(cfg, s.hasher)
	logs.CheckNoSecrets(t, &s.secrets)
	return s
}

func kmsClient(url string) *kmsclient.Client {
	return keywardtest.FunctionKMS(url, func(o *kmsclient.Options) { o.RetryMaxAttempts = 1 })
}

// newAuthorizer builds another authorizer (a fresh container) over the stack.
func (s *stack) newAuthorizer(cfg authorizer.Config, hasher apikey.Hasher) *authorizer.Authorizer {
	return authorizer.New(s.store, hasher, cfg, authorizer.WithClock(s.clock.Now), authorizer.WithLogger(s.log))
}

// admin is a caller of tenant with keys:admin (a key newStack stores).
func admin(tenant string) apikey.Caller { return keywardtest.Admin(tenant) }

var keySeq atomic.Int64

// issue creates a key of tenant acme with the given scopes.
func (s *stack) issue(t testing.TB, in apikey.CreateInput) *apikey.Issued {
	t.Helper()
	return s.issueWith(t, s.svc, "acme", in)
}

func (s *stack) issueWith(t testing.TB, svc *apikey.Service, tenant string, in apikey.CreateInput) *apikey.Issued {
	t.Helper()
	if in.Name == "" {
		in.Name = "key " + strconv.FormatInt(keySeq.Add(1), 10)
	}
	iss, err := svc.Create(context.Background(), admin(tenant), in)
	if err != nil {
		t.Fatalf("create key: %v", err)
	}
	s.remember(iss)
	return iss
}

func (s *stack) remember(iss *apikey.Issued) {
	s.secrets = append(s.secrets, iss.Secret, iss.Token, basic(iss.ID, iss.Secret))
}

// methodARN is the ARN API Gateway sends for a call of method on path.
func methodARN(method, path string) string {
	return "arn:aws:execute-api:eu-west-1:123456789012:abc123def4/prod/" + method + path
}

// request is an authorizer event for method and path carrying the given
// Authorization header ("" for none) from sourceIP. Its resource path is
// the path itself (a route without parameters).
func request(authz, method, path string) events.APIGatewayCustomAuthorizerRequestTypeRequest {
	return routeRequest(authz, method, path, path)
}

// routeRequest is an authorizer event for a call of method on path, which
// API Gateway routed to the resource path template resource
// ("/recordings/{id}").
func routeRequest(authz, method, resource, path string) events.APIGatewayCustomAuthorizerRequestTypeRequest {
	req := events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type: "REQUEST", MethodArn: methodARN(method, path), HTTPMethod: method, Path: path, Resource: resource,
		Headers: map[string]string{"Accept": "application/json"},
	}
	if authz != "" {
		req.Headers["Authorization"] = authz
	}
	req.RequestContext.Identity.SourceIP = "203.0.113.7"
	req.RequestContext.RequestID = "req-1"
	req.RequestContext.APIID, req.RequestContext.Stage = "abc123def4", "prod"
	return req
}

func bearer(token string) string { return "Bearer " + token }

func basic(id, secret string) string {
	return "Basic " + b64(id+":"+secret)
}

// result is what the authorizer answered, classified as API Gateway would.
type result struct {
	resp events.APIGatewayCustomAuthorizerResponse
	err  error
}

// kind is "401", "403" (an explicit Deny), "500" (any other error) or "allow".
func (r result) kind() string {
	switch {
	case r.err == nil && effect(r.resp) == "Deny":
		return "403"
	case r.err == nil && effect(r.resp) == "Allow":
		return "allow"
	case r.err != nil && r.err.Error() == "Unauthorized":
		return "401"
	case r.err != nil:
		return "500"
	}
	return "invalid response"
}

func effect(resp events.APIGatewayCustomAuthorizerResponse) string {
	effects := map[string]bool{}
	for _, st := range resp.PolicyDocument.Statement {
		effects[st.Effect] = true
	}
	switch {
	case effects["Deny"]:
		return "Deny"
	case effects["Allow"]:
		return "Allow"
	}
	return ""
}

func (s *stack) call(t testing.TB, a *authorizer.Authorizer, req events.APIGatewayCustomAuthorizerRequestTypeRequest) result {
	t.Helper()
	resp, err := a.Handle(context.Background(), req)
	return result{resp: resp, err: err}
}

// allows reports whether policy lets a request for arn through, as API
// Gateway evaluates it: an explicit Deny wins, else any Allow, else no.
func allows(policy events.APIGatewayCustomAuthorizerPolicy, arn string) bool {
	allowed := false
	for _, st := range policy.Statement {
		for _, res := range st.Resource {
			if !globMatch(res, arn) {
				continue
			}
			switch st.Effect {
			case "Deny":
				return false
			case "Allow":
				allowed = true
			}
		}
	}
	return allowed
}

// globMatch matches IAM resource patterns: * is any run of characters
// (slashes included), ? any one character.
func globMatch(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if globMatch(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && globMatch(pattern[1:], s[1:])
	}
	return s != "" && s[0] == pattern[0] && globMatch(pattern[1:], s[1:])
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
