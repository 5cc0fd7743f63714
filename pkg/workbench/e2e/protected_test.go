package e2e_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/pkg/workbench/localstack"
)

// The sample protected API and the keyward parameters its walkthrough uses.
var (
	sampleTemplate = filepath.Join("..", "..", "..", "scripts", "examples", "recordings", "template.yaml")
	sampleParams   = filepath.Join("..", "..", "..", "scripts", "examples", "recordings", "keyward-params.json")
)

func sampleParameters() (map[string]string, error) {
	b, err := os.ReadFile(sampleParams)
	if err != nil {
		return nil, err
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", sampleParams, err)
	}
	return m, nil
}

// sampleAPI is the client of one of the sample's APIs (RecordingsApi, the
// REST API, or RecordingsHttpApi), served by the stack.
func sampleAPI(t *testing.T, st *localstack.Stack, logicalID string) *api {
	t.Helper()
	for _, a := range st.APIs {
		if a.LogicalID == logicalID {
			return &api{t: t, base: a.URL}
		}
	}
	t.Fatalf("the stack serves no %s: %+v", logicalID, st.APIs)
	return nil
}

// refusedOnAll waits until auth is refused (401) on keyward's API and on
// the sample's REST and HTTP APIs, within revocationTarget of from, and
// checks it stays so.
func refusedOnAll(t *testing.T, kw, rec, hrec *api, auth string, from time.Time, what string) {
	t.Helper()
	for _, c := range []struct {
		a    *api
		path string
	}{{kw, "/v1/whoami"}, {rec, "/recordings/rec-1"}, {hrec, "/recordings/rec-1"}} {
		for c.a.do("GET", c.path, auth, nil).status != 401 {
			if time.Since(from) > revocationTarget {
				t.Fatalf("%s: still accepted on %s%s %v after it", what, c.a.base, c.path, time.Since(from).Round(time.Millisecond))
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("%s: refused on %s%s %v after it", what, c.a.base, c.path, time.Since(from).Round(time.Millisecond))
	}
	for range 5 {
		time.Sleep(200 * time.Millisecond)
		for _, a := range []*api{rec, hrec} {
			if r := a.do("GET", "/recordings/rec-1", auth, nil); r.status != 401 {
				t.Fatalf("%s: refused on %s, then accepted again (%d)", what, a.base, r.status)
			}
		}
	}
}

// TestProtectedAPI is the README's walkthrough against the sample API:
// a key with recordings:read calls its routes (200), gets 403 naming the
// rule on a route it lacks, and once revoked gets 401 on keyward's API and
// on the sample's REST and HTTP APIs within 5 s; a key past its expiresAt
// likewise, with every gateway caching for 300 s.
func TestProtectedAPI(t *testing.T) {
	st := startStack(t)
	raw, err := os.ReadFile(st.TokenFile)
	if err != nil {
		t.Fatal(err)
	}
	admin := bearer(strings.TrimSpace(string(raw)))
	kw := &api{t: t, base: st.APIURL}
	rec := sampleAPI(t, st, "RecordingsApi")
	hrec := sampleAPI(t, st, "RecordingsHttpApi")

	create := func(t *testing.T, body map[string]any) issued {
		t.Helper()
		return issuedFrom(t, kw.expect(201, "POST", "/v1/keys", admin, body))
	}

	t.Run("ScopesDecideEachRoute", func(t *testing.T) {
		k := create(t, map[string]any{"name": "recordings reader", "scopes": []string{"recordings:read"}, "metadata": map[string]string{"team": "qa"}})
		m := rec.expect(200, "GET", "/recordings/rec-1", bearer(k.Token), nil).json(t)
		caller, _ := m["caller"].(map[string]any)
		if caller["keyId"] != k.ID || caller["tenantId"] != "local" {
			t.Errorf("the integration got caller %v, want key %s of tenant local", caller, k.ID)
		}
		rec.expect(200, "GET", "/recordings", bearer(k.Token), nil)
		r := rec.expect(403, "GET", "/recordings/rec-1/audio", bearer(k.Token), nil)
		if r.errorCode(t) != "forbidden" || !strings.Contains(string(r.body), "route_not_in_scopes") {
			t.Errorf("403 body %s, want forbidden naming route_not_in_scopes", r.body)
		}
		rec.expect(401, "GET", "/recordings/rec-1", "", nil)
	})

	t.Run("HTTPAPIScopesDecideEachRoute", func(t *testing.T) {
		k := create(t, map[string]any{"name": "http reader", "scopes": []string{"recordings:read"}, "metadata": map[string]string{"team": "qa"}})
		for range 2 { // the second answer comes from the gateway's cache
			m := hrec.expect(200, "GET", "/recordings/rec-1", bearer(k.Token), nil).json(t)
			caller, _ := m["caller"].(map[string]any)
			if caller["keyId"] != k.ID || caller["tenantId"] != "local" || caller["keyName"] != "http reader" {
				t.Errorf("the integration got caller %v (requestContext.authorizer.lambda), want key %s of tenant local", caller, k.ID)
			}
		}
		hrec.expect(200, "GET", "/recordings", bearer(k.Token), nil)
		// A cached allow of GET /recordings/{recordingId} is not replayed on
		// another route: the route key is an identity source.
		r := hrec.expect(403, "GET", "/recordings/rec-1/audio", bearer(k.Token), nil)
		if m := r.json(t); m["message"] != "Forbidden" {
			t.Errorf("403 body %s, want the HTTP API's {\"message\":\"Forbidden\"}", r.body)
		}
		hrec.expect(403, "POST", "/recordings", bearer(k.Token), map[string]any{"title": "x"})
		hrec.expect(401, "GET", "/recordings/rec-1", "", nil)
		hrec.expect(401, "GET", "/recordings/rec-1", "Bearer kw_not_a_key", nil)
		hrec.expect(404, "GET", "/nowhere", bearer(k.Token), nil)
	})

	t.Run("ATypoScopeIsRefusedAtCreate", func(t *testing.T) {
		r := kw.expect(400, "POST", "/v1/keys", admin, map[string]any{"name": "typo", "scopes": []string{"recording:read"}})
		if r.errorCode(t) != "invalid_request" || !strings.Contains(string(r.body), "scopes[0]") {
			t.Errorf("400 body %s, want invalid_request naming scopes[0]", r.body)
		}
	})

	t.Run("RevokedKeyIsRefusedOnEveryAPIWithin5s", func(t *testing.T) {
		k := create(t, map[string]any{"name": "to revoke", "scopes": []string{"recordings:read"}})
		// Cached as allowed on both gateways first.
		kw.expect(200, "GET", "/v1/whoami", bearer(k.Token), nil)
		rec.expect(200, "GET", "/recordings/rec-1", bearer(k.Token), nil)
		rec.expect(200, "GET", "/recordings/rec-1", bearer(k.Token), nil)
		hrec.expect(200, "GET", "/recordings/rec-1", bearer(k.Token), nil)
		hrec.expect(200, "GET", "/recordings/rec-1", bearer(k.Token), nil)
		kw.expect(200, "DELETE", "/v1/keys/"+k.ID, admin, nil)
		refusedOnAll(t, kw, rec, hrec, bearer(k.Token), time.Now(), "revoked key")
	})

	t.Run("ExpiredKeyIsRefusedOnEveryAPIWithin5s", func(t *testing.T) {
		expiresAt := time.Now().Add(6 * time.Second).UTC().Truncate(time.Second).Add(time.Second)
		k := create(t, map[string]any{"name": "short lived", "scopes": []string{"recordings:read"}, "expiresAt": expiresAt.Format(time.RFC3339)})
		kw.expect(200, "GET", "/v1/whoami", bearer(k.Token), nil)
		rec.expect(200, "GET", "/recordings/rec-1", bearer(k.Token), nil)
		hrec.expect(200, "GET", "/recordings/rec-1", bearer(k.Token), nil)
		time.Sleep(time.Until(expiresAt))
		refusedOnAll(t, kw, rec, hrec, bearer(k.Token), expiresAt, "expired key")
	})
}
