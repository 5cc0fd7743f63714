package authorizer_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/authorizer"
	"github.com/keyward/keyward/pkg/ddblocal"
	"github.com/keyward/keyward/pkg/ddblocal/ddblocaltest"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/kmspepper"
	"github.com/keyward/keyward/pkg/localkms"
)

func TestMain(m *testing.M) { os.Exit(ddblocaltest.Run(m)) }

// syncBuffer collects log output written from any goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the JSON log lines written so far.
func (b *syncBuffer) lines(t testing.TB) []map[string]any {
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

// clock is an injectable clock tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
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
	svc     *apikey.Service
	store   *countingStore
	raw     *dynamostore.Store
	db      *dynamodb.Client
	table   string
	hasher  *kmspepper.Hasher
	kmsURL  string
	keyARN  string
	stopKMS func() error
	clock   *clock
	logs    *syncBuffer
	log     *slog.Logger
	auth    *authorizer.Authorizer
	cfg     authorizer.Config
	secrets []string // every secret and token issued, to check none is logged
}

// routeScopes are the protected API's routes the tests configure.
const routeScopes = `{"GET /recordings/{recordingId}": "recordings:read", "POST /recordings": "recordings:write", "ANY /reports/{proxy+}": "reports:read"}`

func newStack(t testing.TB, cfg authorizer.Config) *stack {
	t.Helper()
	tables := ddblocaltest.Tables(t)
	db := ddblocal.Client(ddblocaltest.Shared(t).Endpoint)
	srv, err := localkms.New()
	if err != nil {
		t.Fatal(err)
	}
	keyARN, err := srv.CreateKey("keyward")
	if err != nil {
		t.Fatal(err)
	}
	url, stop, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stopKMS := func() error {
		var err error
		once.Do(func() { err = stop() })
		return err
	}
	t.Cleanup(func() { _ = stopKMS() })
	raw := dynamostore.New(db, tables["KeysTable"])
	hasher := kmspepper.New(kmsClient(url), raw, keyARN)
	if _, err := hasher.EnsureCurrent(context.Background()); err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: t0}
	logs := &syncBuffer{}
	s := &stack{
		svc:   apikey.NewService(raw, hasher, apikey.Config{}, apikey.WithClock(clk.Now)),
		store: &countingStore{Store: raw}, raw: raw, db: db, table: tables["KeysTable"],
		hasher: hasher, kmsURL: url, keyARN: keyARN, stopKMS: stopKMS,
		clock: clk, logs: logs, log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		cfg: cfg,
	}
	s.auth = s.newAuthorizer(cfg, s.hasher)
	t.Cleanup(func() {
		out := logs.String()
		for _, sec := range s.secrets {
			if strings.Contains(out, sec) {
				t.Errorf("a secret, token or Authorization header reached the logs:\n%s", out)
				return
			}
		}
	})
	return s
}

func kmsClient(url string) *kms.Client {
	return kms.New(kms.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}

// newAuthorizer builds another authorizer (a fresh container) over the stack.
func (s *stack) newAuthorizer(cfg authorizer.Config, hasher apikey.Hasher) *authorizer.Authorizer {
	return authorizer.New(s.store, hasher, cfg, authorizer.WithClock(s.clock.Now), authorizer.WithLogger(s.log))
}

// admin is a caller of tenant with keys:admin; its key need not exist.
func admin(tenant string) apikey.Caller {
	return apikey.Caller{TenantID: tenant, KeyID: "key_01JD5Z8K3N4Q7R2T6V9W0X1Y2Z", Scopes: []string{apikey.ScopeAdmin}, RequestID: "seed", SourceIP: "198.51.100.7"}
}

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
// Authorization header ("" for none) from sourceIP.
func request(authz, method, path string) events.APIGatewayCustomAuthorizerRequestTypeRequest {
	req := events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type: "REQUEST", MethodArn: methodARN(method, path), HTTPMethod: method, Path: path, Resource: path,
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
