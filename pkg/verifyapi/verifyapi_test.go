package verifyapi_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/oklog/ulid/v2"

	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/authorizer"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/kmspepper"
	"github.com/keyward/keyward/pkg/verifyapi"
	"github.com/keyward/keyward/pkg/workbench/ddblocal"
	"github.com/keyward/keyward/pkg/workbench/ddblocal/ddblocaltest"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

func TestMain(m *testing.M) { os.Exit(ddblocaltest.Run(m)) }

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// stack is the verify function's router over DynamoDB Local and a local KMS
// endpoint through the real SDK clients, beside the key service.
type stack struct {
	keys    *keywardtest.Stack
	svc     *apikey.Service
	store   *dynamostore.Store
	table   string
	hasher  *kmspepper.Hasher
	clock   *keywardtest.Clock
	logs    *keywardtest.LogBuffer
	log     *slog.Logger
	router  *apigw.Router
	secrets []string
}

func newStack(t *testing.T) *stack {
	t.Helper()
	clk := keywardtest.NewClock(t0)
	keys := keywardtest.Keys(t, keywardtest.WithClock(clk))
	keys.StoreAdmins(t)
	store, hasher := keys.Store, keys.Hasher
	logs := &keywardtest.LogBuffer{}
	log := logs.Logger()
	s := &stack{
		keys: keys, svc: keys.Service, store: store, table: keys.Tables["KeysTable"],
		hasher: hasher, clock: clk, logs: logs, log: log,
		router: apigw.NewRouter(log, verifyapi.Routes(verifyapi.New(store, hasher, "kw", verifyapi.WithClock(clk.Now),
			verifyapi.WithKeyTypes([]string{"client", "service"}),
			verifyapi.WithRouteScopes([]apikey.RouteScope{
				{Method: "GET", Path: "/recordings/{id}", Scope: "recordings:read"},
				{Method: "GET", Path: "/recordings/{id}/audio", Scope: "recordings:audio"},
				{Method: "GET", Path: "/reports", Scope: "reports:read"},
			})))...),
	}
	logs.CheckNoSecrets(t, &s.secrets)
	return s
}

// admin is a caller of tenant with keys:admin (a key newStack stores).
func admin(tenant string) apikey.Caller { return keywardtest.Admin(tenant) }

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

// TestStoreDownIsInternal: a failure is 500 internal, never a verdict.
func TestStoreDownIsInternal(t *testing.T) {
	s := newStack(t)
	tok := s.issue(t, "acme", apikey.CreateInput{}).Token
	dead := dynamostore.New(ddblocal.Client(keywardtest.DeadEndpoint(t), func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 }), s.table)
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

// TestWhoamiGrantableScopes: whoami offers exactly what apikey.CanGrant
// allows: keys:admin grants every admin scope but itself and every protected
// API scope; another key only what it holds (wildcards included).
func TestWhoamiGrantableScopes(t *testing.T) {
	s := newStack(t)
	for _, tc := range []struct{ name, scopes, want string }{
		{"AdminGrantsAllButAdmin", "keys:admin", `{"admin":["keys:read","keys:write","keys:revoke","keys:verify","audit:read"],"api":["recordings:audio","recordings:read","reports:read"]}`},
		{"WildcardGrantsWhatItCovers", "keys:* recordings:*", `{"admin":["keys:read","keys:write","keys:revoke","keys:verify","keys:*"],"api":["recordings:*","recordings:audio","recordings:read"]}`},
		{"HolderOnlyScopesOnlyFromHolder", "keys:write tenants:admin", `{"admin":["keys:write","tenants:admin"],"api":[]}`},
		{"NoScopesGrantNothing", "", `{"admin":[],"api":[]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := s.call(t, "GET", verifyapi.ResourceWhoami, tc.scopes, "")
			if status != 200 {
				t.Fatalf("status = %d: %v", status, body)
			}
			got, _ := json.Marshal(body["grantableScopes"])
			if string(got) != tc.want {
				t.Errorf("grantableScopes = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestWhoami returns the calling key as the authorizer described it.
func TestWhoami(t *testing.T) {
	s := newStack(t)
	status, body := s.call(t, "GET", verifyapi.ResourceWhoami, "keys:read recordings:read", "")
	if status != 200 {
		t.Fatalf("status = %d: %v", status, body)
	}
	want := `{"grantableScopes":{"admin":["keys:read"],"api":["recordings:read"]},"keyId":"key_01JD5Z8K3N4Q7R2T6V9W0X1Y2Z","keyTypes":["client","service"],"name":"Billing service","scopes":["keys:read","recordings:read"],"tenantId":"acme","type":"service"}`
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
				HTTPMethod: "GET", Resource: "/v1/whoami", Path: "/v1/whoami",
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
	type outcome struct {
		status int
		code   string // the verify code, or the error code
	}
	want := map[string]outcome{
		"whoami.json":               {200, ""},
		"whoami-no-authorizer.json": {401, "unauthorized"},
		"verify.json":               {200, "VALID"},
		"verify-malformed.json":     {200, "MALFORMED"},
		"verify-unknown-key.json":   {200, "NOT_FOUND"},
		"verify-forbidden.json":     {403, "forbidden"},
		"verify-no-token.json":      {400, "invalid_request"},
		// GET /v1/openapi.json: public, so no authorizer context
		"verify-openapi-document.json": {200, ""},
	}
	files := keywardtest.EventFixtures(t, "verify*.json", "whoami*.json")
	s := newStack(t)
	seedFixtureKey(t, s)
	keywardtest.FeedEvents(t, files, want, func(t *testing.T, name string, raw []byte, w outcome) {
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

// seedFixtureKey stores the key the verify fixtures carry (the authorizer
// fixtures' key).
func seedFixtureKey(t *testing.T, s *stack) {
	t.Helper()
	token := s.keys.SeedFixtureKey(t, t0)
	s.secrets = append(s.secrets, keywardtest.FixtureSecret, token)
}

func base64Std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
