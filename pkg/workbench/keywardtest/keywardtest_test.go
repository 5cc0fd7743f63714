package keywardtest_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/workbench/ddblocal/ddblocaltest"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

func TestMain(m *testing.M) { ddblocaltest.Main(m) }

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// TestKeysIssuesVerifiableKeysOnTheGivenClockAndConfig: the stack's service
// issues keys its store and pepper verify, stamped by the clock it was given,
// in the token format its config names.
func TestKeysIssuesVerifiableKeysOnTheGivenClockAndConfig(t *testing.T) {
	clk := keywardtest.NewClock(t0)
	s := keywardtest.Keys(t, keywardtest.WithClock(clk), keywardtest.WithConfig(apikey.Config{TokenPrefix: "acme"}))
	if s.Clock != clk {
		t.Errorf("Clock = %p, want the one given, %p", s.Clock, clk)
	}
	caller, iss := s.Bootstrap(t, "acme", "system:test")
	if caller.TenantID != "acme" || caller.KeyID != iss.ID || len(caller.Scopes) == 0 {
		t.Errorf("caller = %+v for key %s", caller, iss.ID)
	}
	if !strings.HasPrefix(iss.Token, "acme_") {
		t.Errorf("token %q does not start with the configured prefix", iss.Token)
	}
	if !iss.CreatedAt.Equal(t0) {
		t.Errorf("createdAt = %v, want the clock's %v", iss.CreatedAt, t0)
	}
	if _, code, err := s.Service.Verify(context.Background(), iss.ID, iss.Secret); err != nil || code != apikey.CodeValid {
		t.Errorf("Verify = %v, %v; want valid", code, err)
	}
	if _, err := s.Store.GetKey(context.Background(), iss.ID); err != nil {
		t.Errorf("the store over Tables[KeysTable] lacks the key: %v", err)
	}
}

// TestSeedFixtureKeyMatchesTheFixturesToken: the seeded key verifies with the
// secret the events/ fixtures carry.
func TestSeedFixtureKeyMatchesTheFixturesToken(t *testing.T) {
	s := keywardtest.Keys(t)
	token := s.SeedFixtureKey(t, t0)
	id, secret, err := apikey.ParseToken("kw", token)
	if err != nil || id != keywardtest.FixtureKeyID || secret != keywardtest.FixtureSecret {
		t.Fatalf("token %q parses to %s, %s, %v", token, id, secret, err)
	}
	if _, code, err := s.Service.Verify(context.Background(), id, secret); err != nil || code != apikey.CodeValid {
		t.Errorf("Verify = %v, %v; want valid", code, err)
	}
}

// TestKMSStopsOnce: a test may stop its KMS early; the cleanup then does
// nothing more, and the endpoint no longer answers.
func TestKMSStopsOnce(t *testing.T) {
	k := keywardtest.StartKMS(t)
	if !strings.HasPrefix(k.URL, "http://127.0.0.1:") || k.KeyARN == "" {
		t.Fatalf("URL %q, key %q", k.URL, k.KeyARN)
	}
	first := k.Stop()
	if err := k.Stop(); err != first {
		t.Errorf("second Stop = %v, want the first's %v", err, first)
	}
	if _, err := keywardtest.KMSClient(k.URL, func(o *kms.Options) { o.RetryMaxAttempts = 1 }).ListKeys(context.Background(), nil); err == nil {
		t.Error("a stopped KMS still answers")
	}
}

// TestClockMovesOnlyByHand.
func TestClockMovesOnlyByHand(t *testing.T) {
	c := keywardtest.NewClock(t0)
	c.Advance(time.Minute)
	if got := c.Now(); !got.Equal(t0.Add(time.Minute)) {
		t.Errorf("after Advance: %v", got)
	}
	c.Set(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Errorf("after Set: %v", got)
	}
}

// TestLogBufferTakesWritesFromManyGoroutines (run with -race).
func TestLogBufferTakesWritesFromManyGoroutines(t *testing.T) {
	var b keywardtest.LogBuffer
	log := b.Logger()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { log.Debug("line", "n", i) })
	}
	wg.Wait()
	if got := strings.Count(b.String(), "\n"); got != 8 {
		t.Errorf("%d lines, want 8:\n%s", got, b.String())
	}
	if !strings.Contains(b.String(), `"level":"DEBUG"`) {
		t.Errorf("the logger drops debug lines:\n%s", b.String())
	}
}
