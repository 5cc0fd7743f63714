package authorizer_test

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

// The key the fixtures in events/ carry.
const fixtureKeyID = keywardtest.FixtureKeyID

// seedFixtureKey stores the fixtures' key in s's table.
func seedFixtureKey(t *testing.T, s *stack) {
	t.Helper()
	token := s.keys.SeedFixtureKey(t, t0)
	s.secrets = append(s.secrets, keywardtest.FixtureSecret, token)
}

// TestEventFixtures feeds every events/authorizer-*.json to the handler.
func TestEventFixtures(t *testing.T) {
	type outcome struct {
		kind      string
		storeGets int64
		check     func(t *testing.T, r result)
	}
	want := map[string]outcome{
		"authorizer-bearer.json": {kind: "allow", storeGets: 1, check: func(t *testing.T, r result) {
			if r.resp.PrincipalID != fixtureKeyID || r.resp.Context["keyName"] != "CRM sync" || r.resp.Context["tenantId"] != "acme" {
				t.Errorf("response = %+v", r.resp)
			}
			// The Allow names the route asked for (GET /recordings/{recordingId})
			// and nothing else: the gateway caches it for that route only.
			const stage = "arn:aws:execute-api:eu-west-1:123456789012:abc123def4/prod/"
			if !allows(r.resp.PolicyDocument, stage+"GET/recordings/rec-42") {
				t.Errorf("policy does not allow GET /recordings/rec-42")
			}
			if st := r.resp.PolicyDocument.Statement; len(st) != 1 || len(st[0].Resource) != 1 || st[0].Resource[0] != stage+"GET/recordings/*" {
				t.Errorf("policy = %+v, want one Allow of %sGET/recordings/*", r.resp.PolicyDocument, stage)
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
	files := keywardtest.EventFixtures(t, "authorizer-*.json")
	s := newStack(t, defaultConfig(t))
	seedFixtureKey(t, s)
	keywardtest.FeedEvents(t, files, want, func(t *testing.T, name string, raw []byte, w outcome) {
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
