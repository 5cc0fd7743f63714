package verifyapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"path/filepath"
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
	"github.com/oklog/ulid/v2"

	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/authorizer"
	"github.com/keyward/keyward/pkg/ddblocal"
	"github.com/keyward/keyward/pkg/ddblocal/ddblocaltest"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/kmspepper"
	"github.com/keyward/keyward/pkg/localkms"
	"github.com/keyward/keyward/pkg/verifyapi"
)

func TestMain(m *testing.M) { os.Exit(ddblocaltest.Run(m)) }

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

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// stack is the verify function's router over DynamoDB Local and a local KMS
// endpoint through the real SDK clients, beside the key service.
type stack struct {
	svc     *apikey.Service
	store   *dynamostore.Store
	table   string
	hasher  *kmspepper.Hasher
	clock   *clock
	logs    *syncBuffer
	log     *slog.Logger
	router  *apigw.Router
	secrets []string
}

func newStack(t *testing.T) *stack {
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
	t.Cleanup(func() { _ = stop() })
	kc := kms.New(kms.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	store := dynamostore.New(db, tables["KeysTable"])
	hasher := kmspepper.New(kc, store, keyARN)
	if _, err := hasher.EnsureCurrent(context.Background()); err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: t0}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := &stack{
		svc: apikey.NewService(store, hasher, apikey.Config{}, apikey.WithClock(clk.Now)), store: store, table: tables["KeysTable"],
		hasher: hasher, clock: clk, logs: logs, log: log,
		router: apigw.NewRouter(log, verifyapi.Routes(verifyapi.New(store, hasher, "kw", verifyapi.WithClock(clk.Now)))...),
	}
	t.Cleanup(func() {
		out := logs.String()
		for _, sec := range s.secrets {
			if strings.Contains(out, sec) {
				t.Errorf("a secret or token reached the logs:\n%s", out)
				return
			}
		}
	})
	return s
}

func admin(tenant string) apikey.Caller {
	return apikey.Caller{TenantID: tenant, KeyID: "key_01JD5Z8K3N4Q7R2T6V9W0X1Y2Z", Scopes: []string{apikey.ScopeAdmin}}
}

var seq atomic.Int64

func (s *stack) issue(t *testing.T, tenant string, in apikey.CreateInput) *apikey.Issued {
	t.Helper()
	in.Name = "key " + strconv.FormatInt(seq.Add(1), 10)
	if in.Scopes == nil {
		in.Scopes = []string{"recordings:read"}
	}
	iss, err := s.svc.Create(context.Background(), admin(tenant), in)
	if err != nil {
		t.Fatal(err)
	}
	s.secrets = append(s.secrets, iss.Secret, iss.Token)
	return iss
}

// call sends a proxy request for a caller of tenant acme with scopes.
func (s *stack) call(t *testing.T, method, resource, scopes, body string) (int, map[string]any) {
	t.Helper()
	req := events.APIGatewayProxyRequest{HTTPMethod: method, Resource: resource, Path: resource, Body: body}
	req.RequestContext.Authorizer = map[string]any{
		"tenantId": "acme", "keyId": "key_01JD5Z8K3N4Q7R2T6V9W0X1Y2Z", "keyName": "Billing service", "keyType": "service", "scopes": scopes,
	}
	return s.serve(t, req)
}

func (s *stack) serve(t *testing.T, req events.APIGatewayProxyRequest) (int, map[string]any) {
	t.Helper()
	resp, err := s.router.Handle(context.Background(), req)
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
		t.Fatalf("body %q: %v", resp.Body, err)
	}
	return resp.StatusCode, m
}

func tokenBody(tok string) string {
	b, _ := json.Marshal(verifyapi.VerifyInput{Token: tok})
	return string(b)
}

func strp(s string) *string { return &s }
func intp(i int) *int       { return &i }

func newSecret(t *testing.T) string {
	sec, err := apikey.NewSecret(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return sec
}

func b64(s string) string {
	return "Basic " + base64Std(s)
}

// TestVerifyCodes covers every code of POST /v1/verify.
func TestVerifyCodes(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	cases := []struct {
		name  string
		token func(t *testing.T) string
		code  string
		at    time.Time
	}{
		{"ValidToken", func(t *testing.T) string { return s.issue(t, "acme", apikey.CreateInput{}).Token }, "VALID", t0},
		{"ValidBearerHeaderValue", func(t *testing.T) string { return "Bearer " + s.issue(t, "acme", apikey.CreateInput{}).Token }, "VALID", t0},
		{"ValidBasicHeaderValue", func(t *testing.T) string {
			iss := s.issue(t, "acme", apikey.CreateInput{})
			return b64(iss.ID + ":" + iss.Secret)
		}, "VALID", t0},
		{"GarbageIsMalformed", func(t *testing.T) string { return "not a token" }, "MALFORMED", t0},
		{"BadChecksumIsMalformed", func(t *testing.T) string {
			tok := s.issue(t, "acme", apikey.CreateInput{}).Token
			return tok[:len(tok)-1] + map[bool]string{true: "B", false: "A"}[tok[len(tok)-1] == 'A']
		}, "MALFORMED", t0},
		{"UnknownKeyIsNotFound", func(t *testing.T) string {
			return apikey.FormatToken("kw", apikey.KeyIDPrefix+ulid.Make().String(), newSecret(t))
		}, "NOT_FOUND", t0},
		{"WrongSecretIsInvalidSecret", func(t *testing.T) string {
			return apikey.FormatToken("kw", s.issue(t, "acme", apikey.CreateInput{}).ID, newSecret(t))
		}, "INVALID_SECRET", t0},
		{"RevokedKeyIsRevoked", func(t *testing.T) string {
			iss := s.issue(t, "acme", apikey.CreateInput{})
			if _, err := s.svc.Revoke(ctx, admin("acme"), iss.ID); err != nil {
				t.Fatal(err)
			}
			return iss.Token
		}, "REVOKED", t0},
		{"ExpiredAtExactlyExpiresAt", func(t *testing.T) string {
			return s.issue(t, "acme", apikey.CreateInput{ExpiresAt: strp(t0.Add(time.Hour).Format(time.RFC3339))}).Token
		}, "EXPIRED", t0.Add(time.Hour)},
		{"ValidASecondBeforeExpiry", func(t *testing.T) string {
			return s.issue(t, "acme", apikey.CreateInput{ExpiresAt: strp(t0.Add(time.Hour).Format(time.RFC3339))}).Token
		}, "VALID", t0.Add(time.Hour - time.Second)},
		{"PreviousSecretWithinGrace", func(t *testing.T) string {
			iss := s.issue(t, "acme", apikey.CreateInput{})
			rot, err := s.svc.Rotate(ctx, admin("acme"), iss.ID, apikey.RotateInput{GracePeriodSeconds: intp(60)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			s.secrets = append(s.secrets, rot.Secret, rot.Token)
			return iss.Token
		}, "VALID", t0.Add(59 * time.Second)},
		{"PreviousSecretAfterGrace", func(t *testing.T) string {
			iss := s.issue(t, "acme", apikey.CreateInput{})
			rot, err := s.svc.Rotate(ctx, admin("acme"), iss.ID, apikey.RotateInput{GracePeriodSeconds: intp(60)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			s.secrets = append(s.secrets, rot.Secret, rot.Token)
			return iss.Token
		}, "INVALID_SECRET", t0.Add(60 * time.Second)},
		{"AnotherTenantsValidKeyIsNotFound", func(t *testing.T) string { return s.issue(t, "globex", apikey.CreateInput{}).Token }, "NOT_FOUND", t0},
		{"AnotherTenantsKeyWithAWrongSecretIsNotFound", func(t *testing.T) string {
			return apikey.FormatToken("kw", s.issue(t, "globex", apikey.CreateInput{}).ID, newSecret(t))
		}, "NOT_FOUND", t0},
		{"AnotherTenantsRevokedKeyIsNotFound", func(t *testing.T) string {
			iss := s.issue(t, "globex", apikey.CreateInput{})
			if _, err := s.svc.Revoke(ctx, admin("globex"), iss.ID); err != nil {
				t.Fatal(err)
			}
			return iss.Token
		}, "NOT_FOUND", t0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s.clock.Set(t0)
			tok := c.token(t)
			s.clock.Set(c.at)
			defer s.clock.Set(t0)
			status, body := s.call(t, "POST", verifyapi.ResourceVerify, "keys:verify", tokenBody(tok))
			if status != 200 {
				t.Fatalf("status = %d: %v", status, body)
			}
			if body["code"] != c.code || body["valid"] != (c.code == "VALID") {
				t.Fatalf("body = %v, want code %s", body, c.code)
			}
			switch c.code {
			case "VALID":
				if body["tenantId"] != "acme" || body["keyId"] == nil || body["name"] == nil || body["type"] != "client" {
					t.Errorf("valid body = %v", body)
				}
				if sc, _ := body["scopes"].([]any); len(sc) != 1 || sc[0] != "recordings:read" {
					t.Errorf("scopes = %v", body["scopes"])
				}
			case "REVOKED", "EXPIRED":
				if body["keyId"] == nil || len(body) != 3 {
					t.Errorf("body = %v, want valid, code and keyId only", body)
				}
			default:
				if len(body) != 2 {
					t.Errorf("body = %v, want valid and code only", body)
				}
			}
		})
	}
}

// TestVerifyRequests covers the route's validation and authorization.
func TestVerifyRequests(t *testing.T) {
	s := newStack(t)
	tok := s.issue(t, "acme", apikey.CreateInput{}).Token
	cases := []struct {
		name, scopes, body string
		status             int
		code, field        string
	}{
		{"AdminMayVerify", "keys:admin", tokenBody(tok), 200, "", ""},
		{"WithoutKeysVerifyIsForbidden", "keys:read recordings:read", tokenBody(tok), 403, "forbidden", ""},
		{"MissingTokenIsInvalid", "keys:verify", `{}`, 400, "invalid_request", "token"},
		{"BlankTokenIsInvalid", "keys:verify", `{"token":"  "}`, 400, "invalid_request", "token"},
		{"UnknownFieldIsInvalid", "keys:verify", `{"token":"x","tenantId":"globex"}`, 400, "invalid_request", "tenantId"},
		{"NoBodyIsInvalid", "keys:verify", ``, 400, "invalid_request", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := s.call(t, "POST", verifyapi.ResourceVerify, c.scopes, c.body)
			if status != c.status {
				t.Fatalf("status = %d, want %d: %v", status, c.status, body)
			}
			if c.code != "" {
				e, _ := body["error"].(map[string]any)
				if e["code"] != c.code || (c.field != "" && e["field"] != c.field) {
					t.Errorf("error = %v, want %s %s", e, c.code, c.field)
				}
			}
		})
	}
}

func deadEndpoint(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "http://" + addr
}

// TestStoreDownIsInternal: a failure is 500 internal, never a verdict.
func TestStoreDownIsInternal(t *testing.T) {
	s := newStack(t)
	tok := s.issue(t, "acme", apikey.CreateInput{}).Token
	dead := dynamostore.New(ddblocal.Client(deadEndpoint(t), func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 }), s.table)
	r := apigw.NewRouter(s.log, verifyapi.Routes(verifyapi.New(dead, s.hasher, "kw"))...)
	req := events.APIGatewayProxyRequest{HTTPMethod: "POST", Resource: verifyapi.ResourceVerify, Body: tokenBody(tok)}
	req.RequestContext.Authorizer = map[string]any{"tenantId": "acme", "keyId": "key_01JD5Z8K3N4Q7R2T6V9W0X1Y2Z", "scopes": "keys:verify"}
	resp, err := r.Handle(context.Background(), req)
	if err != nil || resp.StatusCode != 500 || !strings.Contains(resp.Body, `"internal"`) {
		t.Fatalf("response = %d %s, %v; want 500 internal", resp.StatusCode, resp.Body, err)
	}
}

// TestVerifyRecordsUse: a VALID verification writes lastUsedAt.
func TestVerifyRecordsUse(t *testing.T) {
	s := newStack(t)
	iss := s.issue(t, "acme", apikey.CreateInput{})
	if _, body := s.call(t, "POST", verifyapi.ResourceVerify, "keys:verify", tokenBody(iss.Token)); body["code"] != "VALID" {
		t.Fatalf("body = %v", body)
	}
	used, err := s.store.LastUsed(context.Background(), []string{iss.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got := used[iss.ID]; !got.Equal(t0) {
		t.Errorf("lastUsedAt = %v, want %v", got, t0)
	}
}

// TestWhoami returns the calling key as the authorizer described it.
func TestWhoami(t *testing.T) {
	s := newStack(t)
	status, body := s.call(t, "GET", verifyapi.ResourceWhoami, "keys:read recordings:read", "")
	if status != 200 {
		t.Fatalf("status = %d: %v", status, body)
	}
	want := `{"keyId":"key_01JD5Z8K3N4Q7R2T6V9W0X1Y2Z","name":"Billing service","scopes":["keys:read","recordings:read"],"tenantId":"acme","type":"service"}`
	got, _ := json.Marshal(body)
	if string(got) != want {
		t.Errorf("body = %s, want %s", got, want)
	}
	status, _ = s.call(t, "GET", verifyapi.ResourceWhoami, "", "")
	if status != 200 {
		t.Errorf("a key with no scopes: status = %d, want 200 (any valid key)", status)
	}
}

// TestVerifyAgreesWithTheAuthorizer: both use apikey.Verify, so a token is
// VALID at /v1/verify exactly when the authorizer lets it through.
func TestVerifyAgreesWithTheAuthorizer(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	a := authorizer.New(s.store, s.hasher, authorizer.Config{}, authorizer.WithClock(s.clock.Now), authorizer.WithLogger(s.log))
	revoked := s.issue(t, "acme", apikey.CreateInput{})
	if _, err := s.svc.Revoke(ctx, admin("acme"), revoked.ID); err != nil {
		t.Fatal(err)
	}
	expiring := s.issue(t, "acme", apikey.CreateInput{ExpiresAt: strp(t0.Add(time.Minute).Format(time.RFC3339))})
	valid := s.issue(t, "acme", apikey.CreateInput{})
	tokens := []string{valid.Token, revoked.Token, expiring.Token, apikey.FormatToken("kw", valid.ID, newSecret(t)),
		apikey.FormatToken("kw", apikey.KeyIDPrefix+ulid.Make().String(), newSecret(t)), valid.Token + "x"}
	for _, at := range []time.Time{t0, t0.Add(time.Minute)} {
		s.clock.Set(at)
		for i, tok := range tokens {
			_, body := s.call(t, "POST", verifyapi.ResourceVerify, "keys:verify", tokenBody(tok))
			req := events.APIGatewayCustomAuthorizerRequestTypeRequest{
				Type: "REQUEST", MethodArn: "arn:aws:execute-api:eu-west-1:123456789012:abc123def4/prod/GET/v1/whoami",
				Headers: map[string]string{"Authorization": "Bearer " + tok},
			}
			resp, err := a.Handle(ctx, req)
			allowed := err == nil && len(resp.PolicyDocument.Statement) > 0 && resp.PolicyDocument.Statement[0].Effect == "Allow"
			if (body["code"] == "VALID") != allowed {
				t.Errorf("token %d at %v: verify says %v, authorizer allowed = %v (%v)", i, at, body["code"], allowed, err)
			}
		}
	}
}

// TestEventFixtures feeds every events/verify*.json and events/whoami*.json
// to the verify function's router.
func TestEventFixtures(t *testing.T) {
	want := map[string]struct {
		status int
		code   string // the verify code, or the error code
	}{
		"whoami.json":               {200, ""},
		"whoami-no-authorizer.json": {401, "unauthorized"},
		"verify.json":               {200, "VALID"},
		"verify-malformed.json":     {200, "MALFORMED"},
		"verify-unknown-key.json":   {200, "NOT_FOUND"},
		"verify-forbidden.json":     {403, "forbidden"},
		"verify-no-token.json":      {400, "invalid_request"},
	}
	root, err := ddblocal.RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, pat := range []string{"verify*.json", "whoami*.json"} {
		m, err := filepath.Glob(filepath.Join(root, "events", pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	s := newStack(t)
	seedFixtureKey(t, s)
	seen := map[string]bool{}
	for _, path := range files {
		name := filepath.Base(path)
		seen[name] = true
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("events/%s has no expected outcome in this test: add one", name)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var req events.APIGatewayProxyRequest
			if err := json.Unmarshal(raw, &req); err != nil {
				t.Fatal(err)
			}
			status, body := s.serve(t, req)
			if status != w.status {
				t.Fatalf("status = %d, want %d: %v", status, w.status, body)
			}
			got, _ := body["code"].(string)
			if e, ok := body["error"].(map[string]any); ok {
				got, _ = e["code"].(string)
			}
			if got != w.code {
				t.Errorf("code = %q, want %q: %v", got, w.code, body)
			}
		})
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("events/%s is expected but missing", name)
		}
	}
}

// The key the verify fixtures carry (the authorizer fixtures' key).
const (
	fixtureKeyID  = "key_01M844DZG00Y9TBV1NVT5ZM5VK"
	fixtureSecret = "da7tqmASI2k1CICyHn41pN6hkQLneEbiEgu1hph7cdk"
)

func seedFixtureKey(t *testing.T, s *stack) {
	t.Helper()
	ctx := context.Background()
	h, err := s.hasher.Hash(ctx, []byte(fixtureSecret))
	if err != nil {
		t.Fatal(err)
	}
	token := apikey.FormatToken("kw", fixtureKeyID, fixtureSecret)
	k := &apikey.StoredKey{
		Key: apikey.Key{
			ID: fixtureKeyID, TenantID: "acme", Name: "CRM sync", Type: "integration",
			Scopes: []string{"keys:read", "recordings:read"}, AllowList: apikey.AllowList{IPs: []string{}, Origins: []string{}},
			Metadata: map[string]string{}, Status: apikey.StatusActive, Hint: apikey.Hint(token),
			CreatedAt: t0, CreatedBy: "system:test", UpdatedAt: t0, UpdatedBy: "system:test", Version: 1,
		},
		SecretHash: h,
		Change:     apikey.Change{Actor: "system:test"},
	}
	if err := s.store.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	s.secrets = append(s.secrets, fixtureSecret, token)
}

func base64Std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
