package authorizer_test

import (
	"context"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/authorizer"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/kmspepper"
	"github.com/keyward/keyward/pkg/workbench/ddblocal"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

// TestFailsClosed: when the store or KMS cannot answer, nothing is allowed;
// the answer is an error other than Unauthorized (API Gateway's 500), logged
// once at ERROR.
func TestFailsClosed(t *testing.T) {
	s := newStack(t, defaultConfig(t))
	iss := s.issue(t, apikey.CreateInput{Scopes: []string{"keys:read"}})

	deadDB := ddblocal.Client(keywardtest.DeadEndpoint(t), func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
	deadStore := dynamostore.New(deadDB, s.table)

	cases := []struct {
		name  string
		build func(t *testing.T) *authorizer.Authorizer
	}{
		{"StoreDown", func(t *testing.T) *authorizer.Authorizer {
			return authorizer.New(deadStore, s.hasher, defaultConfig(t), authorizer.WithClock(s.clock.Now), authorizer.WithLogger(s.log))
		}},
		{"KMSDown", func(t *testing.T) *authorizer.Authorizer {
			// A fresh container: its pepper is not loaded, and KMS does not answer.
			h := kmspepper.New(kmsClient(keywardtest.DeadEndpoint(t)), s.raw, s.keyARN)
			return s.newAuthorizer(defaultConfig(t), h)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := c.build(t)
			for _, authz := range []string{bearer(iss.Token), basic(iss.ID, iss.Secret), bearer(randomToken(t))} {
				before := len(s.logs.lines(t))
				r := s.call(t, a, request(authz, "GET", "/v1/keys"))
				if r.kind() != "500" {
					t.Fatalf("kind = %s (resp %+v, err %v), want an error that is not Unauthorized", r.kind(), r.resp, r.err)
				}
				if len(r.resp.PolicyDocument.Statement) != 0 || r.resp.PrincipalID != "" {
					t.Errorf("a failed decision returned a policy: %+v", r.resp)
				}
				var lines []map[string]any
				for _, l := range s.logs.lines(t)[before:] {
					if l["msg"] != "stage not recorded" { // the stage's record fails too, as a warning
						lines = append(lines, l)
					}
				}
				if len(lines) != 1 || lines[0]["level"] != "ERROR" || lines[0]["decision"] != "error" || lines[0]["error"] == nil {
					t.Errorf("log lines = %v, want one ERROR line with the error", lines)
				}
			}
		})
	}
	t.Run("KMSStoppedAfterStart", func(t *testing.T) {
		h := kmspepper.New(kmsClient(s.kmsURL), s.raw, s.keyARN)
		a := s.newAuthorizer(authorizer.Config{}, h)
		if err := s.stopKMS(); err != nil {
			t.Fatal(err)
		}
		if r := s.call(t, a, request(bearer(iss.Token), "GET", "/v1/keys")); r.kind() != "500" {
			t.Errorf("kind = %s, want 500", r.kind())
		}
	})
	t.Run("BadMethodARN", func(t *testing.T) {
		req := request(bearer(iss.Token), "GET", "/v1/keys")
		req.MethodArn = "not-an-arn"
		if r := s.call(t, s.auth, req); r.kind() != "500" {
			t.Errorf("kind = %s, want 500", r.kind())
		}
	})
}

// recordingHasher records the calls the authorizer makes to the hasher.
type recordingHasher struct {
	apikey.Hasher
	mu    sync.Mutex
	calls []string
}

func (h *recordingHasher) Verify(ctx context.Context, secret []byte, hs apikey.Hash) (bool, error) {
	h.mu.Lock()
	h.calls = append(h.calls, "Verify(v"+itoa(hs.Version)+", "+itoa(len(hs.Sum))+" bytes)")
	h.mu.Unlock()
	return h.Hasher.Verify(ctx, secret, hs)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// TestUnknownKeyAndWrongSecretTakeTheSamePath: both read the store once and
// make one constant-time compare against a hash of the same version and
// size, and both answer Unauthorized.
func TestUnknownKeyAndWrongSecretTakeTheSamePath(t *testing.T) {
	s := newStack(t, authorizer.Config{})
	iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}})
	sec, err := apikey.NewSecret(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	trace := func(token string) (calls []string, reads int64, kind string) {
		h := &recordingHasher{Hasher: s.hasher}
		a := s.newAuthorizer(authorizer.Config{}, h)
		before := s.store.gets.Load()
		r := s.call(t, a, request(bearer(token), "GET", "/v1/whoami"))
		return h.calls, s.store.gets.Load() - before, r.kind()
	}
	unknownCalls, unknownReads, unknownKind := trace(randomToken(t))
	wrongCalls, wrongReads, wrongKind := trace(apikey.FormatToken("kw", iss.ID, sec))
	if unknownKind != "401" || wrongKind != "401" {
		t.Fatalf("kinds = %s, %s; want 401, 401", unknownKind, wrongKind)
	}
	if unknownReads != 1 || wrongReads != 1 {
		t.Errorf("store reads = %d, %d; want 1, 1", unknownReads, wrongReads)
	}
	if len(unknownCalls) != 1 || len(wrongCalls) != 1 || unknownCalls[0] != wrongCalls[0] {
		t.Errorf("hasher calls: unknown key %v, wrong secret %v; want the same single compare", unknownCalls, wrongCalls)
	}
}

// TestLastUsedAt: written on an Allow at most once a minute per key, and a
// failed write does not fail the request.
func TestLastUsedAt(t *testing.T) {
	s := newStack(t, authorizer.Config{KeyCacheTTL: time.Second})
	iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}})
	ctx := context.Background()
	allow := func() {
		t.Helper()
		if r := s.call(t, s.auth, request(bearer(iss.Token), "GET", "/v1/whoami")); r.kind() != "allow" {
			t.Fatalf("kind = %s", r.kind())
		}
	}
	lastUsed := func() time.Time {
		t.Helper()
		m, err := s.raw.LastUsed(ctx, []string{iss.ID})
		if err != nil {
			t.Fatal(err)
		}
		return m[iss.ID]
	}
	allow()
	allow()
	s.clock.Advance(59 * time.Second)
	allow()
	if got := s.store.touches.Load(); got != 1 {
		t.Errorf("writes within a minute = %d, want 1", got)
	}
	if got := lastUsed(); !got.Equal(t0) {
		t.Errorf("lastUsedAt = %v, want %v", got, t0)
	}
	s.clock.Advance(time.Second)
	allow()
	if got := s.store.touches.Load(); got != 1 {
		t.Errorf("writes exactly a minute later = %d, want 1", got)
	}
	s.clock.Advance(time.Millisecond)
	allow()
	if got := s.store.touches.Load(); got != 2 {
		t.Errorf("writes after a minute = %d, want 2", got)
	}
	if got, want := lastUsed(), t0.Add(time.Minute+time.Millisecond); !got.Equal(want) {
		t.Errorf("lastUsedAt = %v, want %v", got, want)
	}

	t.Run("AnotherContainerDoesNotWriteWithinTheMinute", func(t *testing.T) {
		other := s.newAuthorizer(authorizer.Config{}, s.hasher)
		if r := s.call(t, other, request(bearer(iss.Token), "GET", "/v1/whoami")); r.kind() != "allow" {
			t.Fatalf("kind = %s", r.kind())
		}
		if got, want := lastUsed(), t0.Add(time.Minute+time.Millisecond); !got.Equal(want) {
			t.Errorf("lastUsedAt = %v, want %v (the conditional write skips)", got, want)
		}
	})
	t.Run("FailedWriteDoesNotFailTheRequest", func(t *testing.T) {
		s.store.failTouch.Store(true)
		defer s.store.failTouch.Store(false)
		s.clock.Advance(2 * time.Minute)
		before := len(s.logs.lines(t))
		allow()
		lines := s.logs.lines(t)[before:]
		var warned bool
		for _, l := range lines {
			if l["level"] == "WARN" && l["keyId"] == iss.ID {
				warned = true
			}
		}
		if !warned {
			t.Errorf("no warning logged for the failed write: %v", lines)
		}
	})
	t.Run("RefusalsDoNotCount", func(t *testing.T) {
		denied := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}, AllowList: &apikey.AllowList{IPs: []string{"198.51.100.0/24"}}})
		before := s.store.touches.Load()
		if r := s.call(t, s.auth, request(bearer(denied.Token), "GET", "/v1/whoami")); r.kind() != "403" {
			t.Fatalf("kind = %s", r.kind())
		}
		if s.store.touches.Load() != before {
			t.Errorf("a denied request recorded use")
		}
	})
}
