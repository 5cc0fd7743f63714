package leaks_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/leaks"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

// The signing key identifier the events/leaks-*.json reports name, and the
// signature value the test replaces with its own: no private key is
// committed, so the test generates the scanner's key pair and signs the
// sample's body itself.
const (
	fixtureSignerID = "bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c"
	signedByTheTest = "SIGNED-BY-THE-FIXTURE-TEST"
)

// TestEventFixtures feeds every events/leaks-*.json to the handler against
// a table holding the fixtures' key, whose token the reports carry.
func TestEventFixtures(t *testing.T) {
	type outcome struct {
		status      int
		code, field string
		revoked     bool // the fixtures' key is revoked, else the table is unchanged
	}
	want := map[string]outcome{
		"leaks-report.json":   {status: http.StatusOK, revoked: true},
		"leaks-unsigned.json": {status: http.StatusUnauthorized, code: "unauthorized"},
		"leaks-bad-json.json": {status: http.StatusBadRequest, code: "invalid_request", field: "body"},
	}
	files := keywardtest.EventFixtures(t, "leaks-*.json")
	keywardtest.FeedEvents(t, files, want, func(t *testing.T, name string, raw []byte, w outcome) {
		s := keywardtest.Keys(t, keywardtest.WithClock(keywardtest.NewClock(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))))
		token := s.SeedFixtureKey(t, time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC))
		logs := &keywardtest.LogBuffer{}
		secrets := []string{keywardtest.FixtureSecret, token}
		logs.CheckNoSecrets(t, &secrets)
		gh := newSigner(t, fixtureSignerID)
		keys, err := leaks.ParseKeys(gh.doc(t))
		if err != nil {
			t.Fatal(err)
		}
		flush := &countFlush{}
		h := leaks.New(leaks.StaticKeys(keys), s.Service, flush, 100, logs.Logger())

		var req events.APIGatewayProxyRequest
		if err := json.Unmarshal(raw, &req); err != nil || req.HTTPMethod != http.MethodPost || req.Resource != "/v1/leaks" {
			t.Fatalf("events/%s is not a POST /v1/leaks proxy event: %v", name, err)
		}
		if req.Headers[leaks.HeaderSignature] == signedByTheTest {
			req.Headers[leaks.HeaderSignature] = gh.request(t, req.Body).Headers[leaks.HeaderSignature]
		}
		before := s.Mark(t)
		resp, err := h.Handle(context.Background(), req)
		if err != nil {
			t.Fatalf("Handle returned an error: %v", err)
		}
		if resp.StatusCode != w.status {
			t.Fatalf("status = %d, want %d: %s", resp.StatusCode, w.status, resp.Body)
		}
		if w.code != "" {
			var e struct{ Error struct{ Code, Field string } }
			if err := json.Unmarshal([]byte(resp.Body), &e); err != nil || e.Error.Code != w.code || e.Error.Field != w.field {
				t.Fatalf("error = %+v, want %q field %q: %s", e.Error, w.code, w.field, resp.Body)
			}
		}
		if !w.revoked {
			if d := before.Diff(t); !d.Empty() || flush.n.Load() != 0 {
				t.Fatalf("a refused report changed the table (%s) or flushed (%d)", d, flush.n.Load())
			}
			return
		}
		var labels []leaks.Label
		if err := json.Unmarshal([]byte(resp.Body), &labels); err != nil || len(labels) != 1 ||
			labels[0] != (leaks.Label{TokenHash: hashOf(token), TokenType: "keyward_api_key", Label: "true_positive"}) {
			t.Fatalf("labels = %+v (%v): %s", labels, err, resp.Body)
		}
		if strings.Contains(resp.Body, keywardtest.FixtureSecret) {
			t.Fatal("the answer holds the secret")
		}
		k, err := s.Store.GetKey(context.Background(), keywardtest.FixtureKeyID)
		if err != nil {
			t.Fatal(err)
		}
		if k.Status != apikey.StatusRevoked || k.Leak == nil || !strings.HasPrefix(k.Leak.URL, "https://github.com/octo-org/") || flush.n.Load() != 1 {
			t.Fatalf("key after the report: status %s leak %+v, flushes %d", k.Status, k.Leak, flush.n.Load())
		}
	})
}
