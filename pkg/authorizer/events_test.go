package authorizer_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/ddblocal"
)

// The key the fixtures in events/ carry. Its secret exists only in them and
// in the tables these tests create.
const (
	fixtureKeyID  = "key_01M844DZG00Y9TBV1NVT5ZM5VK"
	fixtureSecret = "da7tqmASI2k1CICyHn41pN6hkQLneEbiEgu1hph7cdk"
)

// seedFixtureKey stores the fixtures' key (tenant acme, "CRM sync",
// keys:read and recordings:read) in s's table.
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
	if err := s.raw.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	s.secrets = append(s.secrets, fixtureSecret, token)
}

// TestEventFixtures feeds every events/authorizer-*.json to the handler.
func TestEventFixtures(t *testing.T) {
	want := map[string]struct {
		kind      string
		storeGets int64
		check     func(t *testing.T, r result)
	}{
		"authorizer-bearer.json": {kind: "allow", storeGets: 1, check: func(t *testing.T, r result) {
			if r.resp.PrincipalID != fixtureKeyID || r.resp.Context["keyName"] != "CRM sync" || r.resp.Context["tenantId"] != "acme" {
				t.Errorf("response = %+v", r.resp)
			}
			for _, arn := range []string{
				"arn:aws:execute-api:eu-west-1:123456789012:abc123def4/prod/GET/recordings/rec-42",
				"arn:aws:execute-api:eu-west-1:123456789012:abc123def4/prod/GET/v1/keys",
			} {
				if !allows(r.resp.PolicyDocument, arn) {
					t.Errorf("policy does not allow %s", arn)
				}
			}
			if allows(r.resp.PolicyDocument, "arn:aws:execute-api:eu-west-1:123456789012:abc123def4/prod/POST/v1/keys") {
				t.Errorf("policy allows POST /v1/keys without keys:write")
			}
		}},
		"authorizer-basic.json": {kind: "allow", storeGets: 1, check: func(t *testing.T, r result) {
			if r.resp.PrincipalID != fixtureKeyID {
				t.Errorf("principalId = %q", r.resp.PrincipalID)
			}
		}},
		"authorizer-bad-checksum.json": {kind: "401"},
		"authorizer-bad-base64.json":   {kind: "401"},
		"authorizer-no-header.json":    {kind: "401"},
	}
	root, err := ddblocal.RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "events", "authorizer-*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no authorizer fixtures in events/: %v", err)
	}
	s := newStack(t, defaultConfig(t))
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
			var req events.APIGatewayCustomAuthorizerRequestTypeRequest
			if err := json.Unmarshal(raw, &req); err != nil || req.Type != "REQUEST" || req.MethodArn == "" {
				t.Fatalf("events/%s is not a REQUEST authorizer event: %v", name, err)
			}
			a := s.newAuthorizer(s.cfg, s.hasher)
			before := s.store.gets.Load()
			r := s.call(t, a, req)
			if r.kind() != w.kind {
				t.Fatalf("kind = %s (%v), want %s", r.kind(), r.err, w.kind)
			}
			if got := s.store.gets.Load() - before; got != w.storeGets {
				t.Errorf("store reads = %d, want %d", got, w.storeGets)
			}
			if w.check != nil {
				w.check(t, r)
			}
		})
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("events/%s is expected but missing", name)
		}
	}
}
