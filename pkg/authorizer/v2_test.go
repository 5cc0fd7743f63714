package authorizer_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/authorizer"
)

// v2Event is an HTTP API (payload format 2.0) authorizer event for routeKey,
// with identity values as the consumer template's identity sources give
// them (Authorization, route key, source IP) unless identity is set.
func v2Event(authz, routeKey string, identity ...string) events.APIGatewayV2CustomAuthorizerV2Request {
	const ip = "203.0.113.7"
	if identity == nil {
		identity = []string{authz, routeKey, ip}
	}
	ev := events.APIGatewayV2CustomAuthorizerV2Request{
		Version: "2.0", Type: "REQUEST", RouteKey: routeKey, IdentitySource: identity,
		RouteArn: "arn:aws:execute-api:eu-west-1:123456789012:httpapi01/$default/GET/recordings/rec-1",
		RawPath:  "/recordings/rec-1", Headers: map[string]string{"authorization": authz},
	}
	ev.RequestContext.HTTP.SourceIP = ip
	ev.RequestContext.APIID, ev.RequestContext.Stage = "httpapi01", "$default"
	return ev
}

func TestHTTPAPIEvents(t *testing.T) {
	s := newStack(t, defaultConfig(t))
	iss := s.issue(t, apikey.CreateInput{Name: "v2 reader", Scopes: []string{"recordings:read"}, Metadata: map[string]string{"owner": "ops"}})
	ctx := context.Background()

	t.Run("AllowedRouteGetsTheKeysContext", func(t *testing.T) {
		r, err := s.auth.HandleV2(ctx, v2Event(bearer(iss.Token), "GET /recordings/{recordingId}"))
		if err != nil || !r.IsAuthorized || r.Context["keyId"] != iss.ID || r.Context["tenantId"] != "acme" || r.Context["metadata"] != `{"owner":"ops"}` {
			t.Fatalf("response %+v, %v; want authorized with the key's context", r, err)
		}
	})
	t.Run("RouteOutsideTheScopesIsRefusedNamingTheRule", func(t *testing.T) {
		r, err := s.auth.HandleV2(ctx, v2Event(bearer(iss.Token), "GET /recordings/{recordingId}/audio"))
		if err != nil || r.IsAuthorized || r.Context["denyReason"] != "route_not_in_scopes" {
			t.Fatalf("response %+v, %v; want refused, route_not_in_scopes", r, err)
		}
	})
	t.Run("CacheKeyWithoutTheRouteIsAFailure", func(t *testing.T) {
		_, err := s.auth.HandleV2(ctx, v2Event(bearer(iss.Token), "GET /recordings/{recordingId}", bearer(iss.Token), "203.0.113.7"))
		if !errors.Is(err, authorizer.ErrFailure) {
			t.Fatalf("err = %v, want ErrFailure: an answer cached without the route would be replayed on every route", err)
		}
	})
	t.Run("CacheKeyWithoutTheSourceIPIsAFailure", func(t *testing.T) {
		_, err := s.auth.HandleV2(ctx, v2Event(bearer(iss.Token), "GET /recordings/{recordingId}", bearer(iss.Token), "GET /recordings/{recordingId}"))
		if !errors.Is(err, authorizer.ErrFailure) {
			t.Fatalf("err = %v, want ErrFailure", err)
		}
	})
	t.Run("DefaultRouteIsAFailure", func(t *testing.T) {
		_, err := s.auth.HandleV2(ctx, v2Event(bearer(iss.Token), "$default"))
		if !errors.Is(err, authorizer.ErrFailure) {
			t.Fatalf("err = %v, want ErrFailure", err)
		}
	})
	t.Run("RevokedKeyIsUnauthorized", func(t *testing.T) {
		if _, err := s.svc.Revoke(ctx, admin("acme"), iss.ID); err != nil {
			t.Fatal(err)
		}
		a := s.newAuthorizer(s.cfg, s.hasher)
		if _, err := a.HandleV2(ctx, v2Event(bearer(iss.Token), "GET /recordings/{recordingId}")); !errors.Is(err, authorizer.ErrUnauthenticated) {
			t.Fatalf("err = %v, want ErrUnauthenticated", err)
		}
	})
	t.Run("HandleEventTellsTheVersionsApart", func(t *testing.T) {
		other := s.issue(t, apikey.CreateInput{Name: "either", Scopes: []string{"recordings:read"}})
		v2, _ := json.Marshal(v2Event(bearer(other.Token), "GET /recordings/{recordingId}"))
		out, err := s.auth.HandleEvent(ctx, v2)
		if r, ok := out.(events.APIGatewayV2CustomAuthorizerSimpleResponse); err != nil || !ok || !r.IsAuthorized {
			t.Fatalf("v2 event: %#v, %v", out, err)
		}
		v1, _ := json.Marshal(routeRequest(bearer(other.Token), "GET", "/recordings/{recordingId}", "/recordings/r1"))
		out, err = s.auth.HandleEvent(ctx, v1)
		if r, ok := out.(events.APIGatewayCustomAuthorizerResponse); err != nil || !ok || effect(r) != "Allow" {
			t.Fatalf("REST event: %#v, %v", out, err)
		}
	})
}

// TestRecordsStagesAndDeadlines: the flusher learns every REST stage the
// authorizer serves, and when an Allow near a key's expiry must end.
func TestRecordsStagesAndDeadlines(t *testing.T) {
	s := newStack(t, defaultConfig(t))
	ctx := context.Background()
	soon := t0.Add(90 * time.Second)
	far := t0.Add(48 * time.Hour)
	near := s.issue(t, apikey.CreateInput{Name: "expires soon", Scopes: []string{"recordings:read"}, ExpiresAt: strp(soon.Format(time.RFC3339))})
	later := s.issue(t, apikey.CreateInput{Name: "expires later", Scopes: []string{"recordings:read"}, ExpiresAt: strp(far.Format(time.RFC3339))})
	for _, tok := range []string{near.Token, later.Token} {
		if r := s.call(t, s.auth, routeRequest(bearer(tok), "GET", "/recordings/{recordingId}", "/recordings/r1")); r.kind() != "allow" {
			t.Fatalf("kind = %s (%v)", r.kind(), r.err)
		}
	}
	stages, err := s.raw.ListStages(ctx)
	if err != nil || len(stages) != 1 || stages[0] != (apikey.Stage{APIID: "abc123def4", Name: "prod"}) {
		t.Fatalf("stages = %v, %v; want the one stage served", stages, err)
	}
	due, err := s.raw.DueDeadlines(ctx, t0.Add(authorizer.MaxGatewayCacheTTL))
	if err != nil || len(due) != 1 || due[0].KeyID != near.ID || !due[0].At.Equal(soon) {
		t.Fatalf("deadlines = %v, %v; want only the key expiring within a cache TTL", due, err)
	}
}
