package authorizer_test

import (
	"context"
	"crypto/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/oklog/ulid/v2"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/authorizer"
)

func mustRouteScopes(t testing.TB) []apikey.RouteScope {
	t.Helper()
	rs, err := authorizer.ParseRouteScopes(routeScopes)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func defaultConfig(t testing.TB) authorizer.Config {
	return authorizer.Config{KeyCacheTTL: authorizer.DefaultKeyCacheTTL, RouteScopes: mustRouteScopes(t)}
}

func strp(s string) *string { return &s }
func intp(i int) *int       { return &i }

// randomToken is a well-formed token (valid checksum) for a key that does not exist.
func randomToken(t testing.TB) string {
	t.Helper()
	sec, err := apikey.NewSecret(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return apikey.FormatToken("kw", apikey.KeyIDPrefix+ulid.Make().String(), sec)
}

// TestRefusals covers every refusal path and which kind it is: Unauthorized
// (401) for credentials, a Deny policy (403) for the allow-list.
func TestRefusals(t *testing.T) {
	s := newStack(t, defaultConfig(t))
	ctx := context.Background()

	type prepared struct {
		req   events.APIGatewayCustomAuthorizerRequestTypeRequest
		reset func()
	}
	cases := []struct {
		name      string
		prepare   func(t *testing.T) prepared
		kind      string
		reason    string
		storeGets int64
	}{
		{"NoHeaderIs401", func(t *testing.T) prepared {
			return prepared{req: request("", "GET", "/v1/whoami")}
		}, "401", "no_credentials", 0},
		{"EmptyHeaderIs401", func(t *testing.T) prepared {
			return prepared{req: request("   ", "GET", "/v1/whoami")}
		}, "401", "no_credentials", 0},
		{"BadBase64Is401", func(t *testing.T) prepared {
			return prepared{req: request("Basic a2V5X!!not-base64", "GET", "/v1/whoami")}
		}, "401", "malformed", 0},
		{"BasicWithoutSecretIs401", func(t *testing.T) prepared {
			return prepared{req: request("Basic "+b64("key_01JD6B0C3XH5Q2M9T7R4W8N1PA"), "GET", "/v1/whoami")}
		}, "401", "malformed", 0},
		{"BadChecksumIs401", func(t *testing.T) prepared {
			iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}})
			tok := iss.Token
			last := tok[len(tok)-1]
			flipped := byte('A')
			if last == 'A' {
				flipped = 'B'
			}
			return prepared{req: request(bearer(tok[:len(tok)-1]+string(flipped)), "GET", "/v1/whoami")}
		}, "401", "malformed", 0},
		{"OtherPrefixIs401", func(t *testing.T) prepared {
			iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}})
			return prepared{req: request(bearer("xx"+strings.TrimPrefix(iss.Token, "kw")), "GET", "/v1/whoami")}
		}, "401", "malformed", 0},
		{"UnknownSchemeIs401", func(t *testing.T) prepared {
			iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}})
			return prepared{req: request("Token "+iss.Token, "GET", "/v1/whoami")}
		}, "401", "malformed", 0},
		{"TwoAuthorizationHeadersAre401", func(t *testing.T) prepared {
			iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}})
			req := request(bearer(iss.Token), "GET", "/v1/whoami")
			req.MultiValueHeaders = map[string][]string{"Authorization": {bearer(iss.Token), bearer(iss.Token)}}
			return prepared{req: req}
		}, "401", "malformed", 0},
		{"UnknownKeyIs401", func(t *testing.T) prepared {
			return prepared{req: request(bearer(randomToken(t)), "GET", "/v1/whoami")}
		}, "401", "NOT_FOUND", 1},
		{"UnknownKeyWithBasicIs401", func(t *testing.T) prepared {
			sec, _ := apikey.NewSecret(rand.Reader)
			return prepared{req: request(basic(apikey.KeyIDPrefix+ulid.Make().String(), sec), "GET", "/v1/whoami")}
		}, "401", "NOT_FOUND", 1},
		{"WrongSecretIs401", func(t *testing.T) prepared {
			iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}})
			sec, _ := apikey.NewSecret(rand.Reader)
			return prepared{req: request(bearer(apikey.FormatToken("kw", iss.ID, sec)), "GET", "/v1/whoami")}
		}, "401", "INVALID_SECRET", 1},
		{"WrongSecretWithBasicIs401", func(t *testing.T) prepared {
			iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}})
			sec, _ := apikey.NewSecret(rand.Reader)
			return prepared{req: request(basic(iss.ID, sec), "GET", "/v1/whoami")}
		}, "401", "INVALID_SECRET", 1},
		{"RevokedKeyIs401", func(t *testing.T) prepared {
			iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}})
			if _, err := s.svc.Revoke(ctx, admin("acme"), iss.ID); err != nil {
				t.Fatal(err)
			}
			return prepared{req: request(bearer(iss.Token), "GET", "/v1/whoami")}
		}, "401", "REVOKED", 1},
		{"ExpiredAtExactlyExpiresAtIs401", func(t *testing.T) prepared {
			at := t0.Add(time.Hour)
			iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}, ExpiresAt: strp(at.Format(time.RFC3339))})
			s.clock.Set(at)
			return prepared{req: request(bearer(iss.Token), "GET", "/v1/whoami"), reset: func() { s.clock.Set(t0) }}
		}, "401", "EXPIRED", 1},
		{"PreviousSecretAfterGraceIs401", func(t *testing.T) prepared {
			iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}})
			rot, err := s.svc.Rotate(ctx, admin("acme"), iss.ID, apikey.RotateInput{GracePeriodSeconds: intp(60)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			s.remember(rot)
			s.clock.Set(t0.Add(60 * time.Second))
			return prepared{req: request(bearer(iss.Token), "GET", "/v1/whoami"), reset: func() { s.clock.Set(t0) }}
		}, "401", "INVALID_SECRET", 1},
		{"IPOutsideTheAllowListIsDenied", func(t *testing.T) prepared {
			iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}, AllowList: &apikey.AllowList{IPs: []string{"198.51.100.0/24", "2001:db8::/32"}}})
			return prepared{req: request(bearer(iss.Token), "GET", "/v1/whoami")}
		}, "403", "ip_not_allowed", 1},
		{"IPv6OutsideTheAllowListIsDenied", func(t *testing.T) prepared {
			iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}, AllowList: &apikey.AllowList{IPs: []string{"2001:db8::/32"}}})
			req := request(bearer(iss.Token), "GET", "/v1/whoami")
			req.RequestContext.Identity.SourceIP = "2001:db9::1"
			return prepared{req: req}
		}, "403", "ip_not_allowed", 1},
		{"OriginOutsideTheAllowListIsDenied", func(t *testing.T) prepared {
			iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}, AllowList: &apikey.AllowList{Origins: []string{"https://crm.example.com", "*.example.org"}}})
			req := request(bearer(iss.Token), "GET", "/v1/whoami")
			req.Headers["Origin"] = "https://crm.example.com.evil.net"
			return prepared{req: req}
		}, "403", "origin_not_allowed", 1},
		{"HTTPOriginIsDenied", func(t *testing.T) prepared {
			iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}, AllowList: &apikey.AllowList{Origins: []string{"https://crm.example.com"}}})
			req := request(bearer(iss.Token), "GET", "/v1/whoami")
			req.Headers["origin"] = "http://crm.example.com"
			return prepared{req: req}
		}, "403", "origin_not_allowed", 1},
		{"RefererOutsideTheAllowListIsDenied", func(t *testing.T) prepared {
			iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}, AllowList: &apikey.AllowList{Origins: []string{"https://crm.example.com"}}})
			req := request(bearer(iss.Token), "GET", "/v1/whoami")
			req.Headers["Referer"] = "https://evil.example.net/crm.example.com"
			return prepared{req: req}
		}, "403", "origin_not_allowed", 1},
		{"OriginMissingWithAnAllowListIsDenied", func(t *testing.T) prepared {
			iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}, AllowList: &apikey.AllowList{Origins: []string{"https://crm.example.com"}}})
			return prepared{req: request(bearer(iss.Token), "GET", "/v1/whoami")}
		}, "403", "origin_missing", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := c.prepare(t)
			if p.reset != nil {
				defer p.reset()
			}
			a := s.newAuthorizer(s.cfg, s.hasher) // a fresh container: nothing cached
			gets := s.store.gets.Load()
			before := len(s.logs.lines(t))
			r := s.call(t, a, p.req)
			if got := r.kind(); got != c.kind {
				t.Fatalf("kind = %s, want %s (resp %+v, err %v)", got, c.kind, r.resp, r.err)
			}
			if got := s.store.gets.Load() - gets; got != c.storeGets {
				t.Errorf("store reads = %d, want %d", got, c.storeGets)
			}
			if c.kind == "403" {
				if r.resp.PrincipalID == "" || len(r.resp.Context) != 2 || r.resp.Context["denyReason"] != c.reason || r.resp.Context["denyMessage"] == "" {
					t.Errorf("deny response = %+v, want a principal and a context naming the rule %q and nothing else", r.resp, c.reason)
				}
				if allows(r.resp.PolicyDocument, methodARN("GET", "/v1/whoami")) {
					t.Errorf("deny policy allows a route: %+v", r.resp.PolicyDocument)
				}
			}
			lines := s.logs.lines(t)[before:]
			if len(lines) != 1 {
				t.Fatalf("log lines = %d, want 1: %v", len(lines), lines)
			}
			if lines[0]["reason"] != c.reason {
				t.Errorf("logged reason = %v, want %s", lines[0]["reason"], c.reason)
			}
		})
	}
}

// TestAccepted covers the forms of credentials and allow-list matches that
// must be let through.
func TestAccepted(t *testing.T) {
	s := newStack(t, defaultConfig(t))
	cases := []struct {
		name    string
		allow   *apikey.AllowList
		request func(iss *apikey.Issued) events.APIGatewayCustomAuthorizerRequestTypeRequest
	}{
		{"BearerToken", nil, func(iss *apikey.Issued) events.APIGatewayCustomAuthorizerRequestTypeRequest {
			return request(bearer(iss.Token), "GET", "/v1/whoami")
		}},
		{"BasicCredentials", nil, func(iss *apikey.Issued) events.APIGatewayCustomAuthorizerRequestTypeRequest {
			return request(basic(iss.ID, iss.Secret), "GET", "/v1/whoami")
		}},
		{"SchemeInAnyCase", nil, func(iss *apikey.Issued) events.APIGatewayCustomAuthorizerRequestTypeRequest {
			req := request("", "GET", "/v1/whoami")
			req.Headers["authorization"] = "bEARER " + iss.Token
			return req
		}},
		{"MultiValueHeader", nil, func(iss *apikey.Issued) events.APIGatewayCustomAuthorizerRequestTypeRequest {
			req := request("", "GET", "/v1/whoami")
			req.MultiValueHeaders = map[string][]string{"AUTHORIZATION": {bearer(iss.Token)}}
			return req
		}},
		{"IPv4InsideTheAllowList", &apikey.AllowList{IPs: []string{"198.51.100.0/24", "203.0.113.0/24"}}, func(iss *apikey.Issued) events.APIGatewayCustomAuthorizerRequestTypeRequest {
			return request(bearer(iss.Token), "GET", "/v1/whoami")
		}},
		{"IPv6InsideTheAllowList", &apikey.AllowList{IPs: []string{"2001:db8::/32"}}, func(iss *apikey.Issued) events.APIGatewayCustomAuthorizerRequestTypeRequest {
			req := request(bearer(iss.Token), "GET", "/v1/whoami")
			req.RequestContext.Identity.SourceIP = "2001:db8:1::7"
			return req
		}},
		{"SingleAddressAllowList", &apikey.AllowList{IPs: []string{"203.0.113.7"}}, func(iss *apikey.Issued) events.APIGatewayCustomAuthorizerRequestTypeRequest {
			return request(bearer(iss.Token), "GET", "/v1/whoami")
		}},
		{"ExactOrigin", &apikey.AllowList{Origins: []string{"https://crm.example.com"}}, func(iss *apikey.Issued) events.APIGatewayCustomAuthorizerRequestTypeRequest {
			req := request(bearer(iss.Token), "GET", "/v1/whoami")
			req.Headers["Origin"] = "https://CRM.example.com:443"
			return req
		}},
		{"OriginWithPort", &apikey.AllowList{Origins: []string{"https://crm.example.com:8443"}}, func(iss *apikey.Issued) events.APIGatewayCustomAuthorizerRequestTypeRequest {
			req := request(bearer(iss.Token), "GET", "/v1/whoami")
			req.Headers["Origin"] = "https://crm.example.com:8443"
			return req
		}},
		{"WildcardOrigin", &apikey.AllowList{Origins: []string{"*.example.com"}}, func(iss *apikey.Issued) events.APIGatewayCustomAuthorizerRequestTypeRequest {
			req := request(bearer(iss.Token), "GET", "/v1/whoami")
			req.Headers["Origin"] = "https://eu.app.example.com"
			return req
		}},
		{"RefererWhenNoOrigin", &apikey.AllowList{Origins: []string{"https://crm.example.com"}}, func(iss *apikey.Issued) events.APIGatewayCustomAuthorizerRequestTypeRequest {
			req := request(bearer(iss.Token), "GET", "/v1/whoami")
			req.Headers["Referer"] = "https://crm.example.com/contacts?id=7"
			return req
		}},
		{"IPAndOriginBothInside", &apikey.AllowList{IPs: []string{"203.0.113.0/24"}, Origins: []string{"*.example.com"}}, func(iss *apikey.Issued) events.APIGatewayCustomAuthorizerRequestTypeRequest {
			req := request(bearer(iss.Token), "GET", "/v1/whoami")
			req.Headers["Origin"] = "https://crm.example.com"
			return req
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}, AllowList: c.allow})
			r := s.call(t, s.auth, c.request(iss))
			if r.kind() != "allow" {
				t.Fatalf("kind = %s (%v), want allow", r.kind(), r.err)
			}
			if r.resp.PrincipalID != iss.ID {
				t.Errorf("principalId = %q, want %q", r.resp.PrincipalID, iss.ID)
			}
		})
	}
}

// TestAllowResponse checks what API Gateway passes to the integration, and
// that the Allow names the route asked for and nothing else.
func TestAllowResponse(t *testing.T) {
	s := newStack(t, defaultConfig(t))
	iss := s.issue(t, apikey.CreateInput{Name: "CRM sync", Type: "integration", Scopes: []string{"keys:read", "recordings:read"}})
	r := s.call(t, s.auth, routeRequest(bearer(iss.Token), "GET", "/recordings/{recordingId}", "/recordings/rec-1"))
	if r.kind() != "allow" {
		t.Fatalf("kind = %s (%v)", r.kind(), r.err)
	}
	want := map[string]string{"tenantId": "acme", "keyId": iss.ID, "keyName": "CRM sync", "keyType": "integration", "scopes": "keys:read recordings:read", "metadata": "{}"}
	if len(r.resp.Context) != len(want) {
		t.Errorf("context = %v, want exactly %v", r.resp.Context, want)
	}
	for k, w := range want {
		got, ok := r.resp.Context[k].(string)
		if !ok || got != w {
			t.Errorf("context[%s] = %#v, want the string %q", k, r.resp.Context[k], w)
		}
	}
	if r.resp.PolicyDocument.Version != "2012-10-17" || len(r.resp.PolicyDocument.Statement) != 1 {
		t.Fatalf("policy = %+v", r.resp.PolicyDocument)
	}
	st := r.resp.PolicyDocument.Statement[0]
	if st.Effect != "Allow" || len(st.Action) != 1 || st.Action[0] != "execute-api:Invoke" {
		t.Errorf("statement = %+v", st)
	}
	wantRes := []string{methodARN("GET", "/recordings/*")}
	if strings.Join(st.Resource, " ") != strings.Join(wantRes, " ") {
		t.Errorf("resources =\n%s\nwant\n%s", strings.Join(st.Resource, "\n"), strings.Join(wantRes, "\n"))
	}
}

// TestDecidesPerRoute asks the authorizer for every admin and protected
// route with keys of many scope sets: the answer is an Allow naming exactly
// that route's method ARN pattern when the key's scopes allow the route, and
// a Deny (route_not_in_scopes) otherwise, whatever routes share a prefix.
func TestDecidesPerRoute(t *testing.T) {
	s := newStack(t, defaultConfig(t))
	type call struct{ method, resource, path string }
	var calls []call
	want := map[call]apikey.RouteScope{}
	concrete := strings.NewReplacer("{keyId}", "key_01JD6B0C3XH5Q2M9T7R4W8N1PA", "{recordingId}", "rec-42",
		"{tenantId}", "t-7", "{invoiceId}", "inv-9", "{proxy+}", "2026/q3/summary")
	for _, r := range append(apikey.AdminRoutes(), mustRouteScopes(t)...) {
		methods := []string{r.Method}
		if r.Method == "ANY" {
			methods = []string{"GET", "POST", "DELETE"}
		}
		for _, m := range methods {
			c := call{m, r.Path, concrete.Replace(r.Path)}
			calls = append(calls, c)
			want[c] = r
		}
	}
	keys := map[string]string{} // scope set → Authorization header
	for _, scopes := range [][]string{
		{"keys:read"}, {"keys:write"}, {"keys:revoke"}, {"keys:verify"}, {"audit:read", "keys:read"},
		{"recordings:read"}, {"recordings:audio"}, {"recordings:*"}, {"reports:read", "recordings:write"},
		{"profile:read"}, {"billing:read"},
	} {
		keys[strings.Join(scopes, "+")] = bearer(s.issue(t, apikey.CreateInput{Scopes: scopes}).Token)
	}
	_, adm := s.keys.Bootstrap(t, "acme-admin", "system:test")
	s.remember(adm)
	keys["keys:admin"] = bearer(adm.Token)
	for name, authz := range keys {
		scopes := strings.Split(name, "+")
		t.Run(name, func(t *testing.T) {
			for _, c := range calls {
				r := s.call(t, s.auth, routeRequest(authz, c.method, c.resource, c.path))
				allowed := want[c].Allows(scopes)
				switch {
				case allowed && r.kind() != "allow":
					t.Errorf("%s %s: kind = %s (%v), want allow", c.method, c.resource, r.kind(), r.err)
				case !allowed && r.kind() != "403":
					t.Errorf("%s %s: kind = %s (%v), want 403", c.method, c.resource, r.kind(), r.err)
				case allowed:
					res := r.resp.PolicyDocument.Statement[0].Resource
					wantARN := methodARN(c.method, pathParamsAsStars(c.resource))
					if len(res) != 1 || res[0] != wantARN {
						t.Errorf("%s %s: Allow names %v, want only %s", c.method, c.resource, res, wantARN)
					}
					if !allows(r.resp.PolicyDocument, methodARN(c.method, c.path)) {
						t.Errorf("%s %s: the Allow does not cover %s", c.method, c.resource, c.path)
					}
				default:
					if allows(r.resp.PolicyDocument, methodARN(c.method, c.path)) {
						t.Errorf("%s %s: the Deny policy allows the route: %+v", c.method, c.resource, r.resp.PolicyDocument)
					}
				}
			}
		})
	}
	t.Run("OnlyTheStageItCameThrough", func(t *testing.T) {
		r := s.call(t, s.auth, request(keys["keys:admin"], "GET", "/v1/keys"))
		other := "arn:aws:execute-api:eu-west-1:123456789012:abc123def4/staging/GET/v1/keys"
		if r.kind() != "allow" || allows(r.resp.PolicyDocument, other) {
			t.Errorf("kind = %s; the policy allows another stage: %v", r.kind(), allows(r.resp.PolicyDocument, other))
		}
	})
}

// pathParamsAsStars turns every {param} of a resource path into *.
func pathParamsAsStars(resource string) string {
	parts := strings.Split(resource, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, "{") {
			parts[i] = "*"
		}
	}
	return strings.Join(parts, "/")
}

// TestNestedRouteIsNotOpenedByItsParent is the regression test for a
// key reaching a route whose scope it lacks because it shares a prefix with
// one it holds: GET /recordings/{id} became GET/recordings/* in the Allow,
// IAM's * spans /, so GET /recordings/{id}/audio was allowed to a key with
// only recordings:read (and GET /tenants/{id} opened its billing route).
func TestNestedRouteIsNotOpenedByItsParent(t *testing.T) {
	s := newStack(t, defaultConfig(t))
	for _, c := range []struct {
		scope                                string
		parent, parentPath, child, childPath string
	}{
		{"recordings:read", "/recordings/{recordingId}", "/recordings/r1", "/recordings/{recordingId}/audio", "/recordings/r1/audio"},
		{"profile:read", "/tenants/{tenantId}", "/tenants/t1", "/tenants/{tenantId}/billing/{invoiceId}", "/tenants/t1/billing/inv-1"},
	} {
		t.Run(c.scope, func(t *testing.T) {
			iss := s.issue(t, apikey.CreateInput{Scopes: []string{c.scope}})
			parent := s.call(t, s.auth, routeRequest(bearer(iss.Token), "GET", c.parent, c.parentPath))
			if parent.kind() != "allow" || !allows(parent.resp.PolicyDocument, methodARN("GET", c.parentPath)) {
				t.Fatalf("GET %s: kind = %s, want an Allow covering it", c.parent, parent.kind())
			}
			before := len(s.logs.lines(t))
			child := s.call(t, s.auth, routeRequest(bearer(iss.Token), "GET", c.child, c.childPath))
			if allows(child.resp.PolicyDocument, methodARN("GET", c.childPath)) || child.kind() != "403" {
				t.Errorf("GET %s with only %s: kind = %s, policy %+v; want a Deny", c.child, c.scope, child.kind(), child.resp.PolicyDocument)
			}
			lines := s.logs.lines(t)[before:]
			if len(lines) != 1 || lines[0]["decision"] != "deny" || lines[0]["reason"] != "route_not_in_scopes" || lines[0]["route"] != "GET "+c.child {
				t.Errorf("log = %v, want one deny line with reason route_not_in_scopes naming GET %s", lines, c.child)
			}
		})
	}
}

// TestUnconfiguredRouteIsDenied: a route that no entry matches is refused
// (default deny), and an event without a method or resource path is a
// failure, never an Allow.
func TestUnconfiguredRouteIsDenied(t *testing.T) {
	s := newStack(t, defaultConfig(t))
	iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:*", "reports:read"}})
	for _, c := range []struct{ method, resource, path, kind, reason string }{
		{"GET", "/recordings", "/recordings", "403", "route_not_configured"},
		{"DELETE", "/recordings/{recordingId}", "/recordings/r1", "403", "route_not_configured"},
		{"GET", "/recordings/{recordingId}/video", "/recordings/r1/video", "403", "route_not_configured"},
		{"GET", "/reports", "/reports", "403", "route_not_configured"},
		{"GET", "/reports/{proxy+}", "/reports/a/b", "allow", ""},
		{"GET", "", "/recordings/r1", "500", "bad_route"},
		{"", "/recordings/{recordingId}", "/recordings/r1", "500", "bad_route"},
	} {
		before := len(s.logs.lines(t))
		r := s.call(t, s.auth, routeRequest(bearer(iss.Token), c.method, c.resource, c.path))
		if r.kind() != c.kind {
			t.Errorf("%s %s: kind = %s, want %s", c.method, c.resource, r.kind(), c.kind)
		}
		lines := s.logs.lines(t)[before:]
		if len(lines) != 1 || (c.reason != "" && lines[0]["reason"] != c.reason) {
			t.Errorf("%s %s: log = %v, want reason %q", c.method, c.resource, lines, c.reason)
		}
	}
}

// TestCacheLimitsStoreReads checks that a malformed token reads nothing and
// that a key, or its absence, is read once per KEY_CACHE_TTL.
func TestCacheLimitsStoreReads(t *testing.T) {
	s := newStack(t, defaultConfig(t))
	reads := func(f func()) int64 {
		before := s.store.gets.Load()
		f()
		return s.store.gets.Load() - before
	}
	t.Run("MalformedTokenCausesNoRead", func(t *testing.T) {
		tok := randomToken(t)
		n := reads(func() {
			for _, h := range []string{bearer(tok[:len(tok)-1]), bearer(tok + "x"), "Basic !!!", "Bearer", bearer(strings.ToUpper(tok))} {
				if r := s.call(t, s.auth, request(h, "GET", "/v1/whoami")); r.kind() != "401" {
					t.Errorf("%q: kind = %s", h, r.kind())
				}
			}
		})
		if n != 0 {
			t.Errorf("store reads = %d, want 0", n)
		}
	})
	t.Run("UnknownKeyTwiceWithinTTLIsReadOnce", func(t *testing.T) {
		tok := randomToken(t)
		n := reads(func() {
			s.call(t, s.auth, request(bearer(tok), "GET", "/v1/whoami"))
			s.clock.Advance(authorizer.DefaultKeyCacheTTL - time.Millisecond)
			s.call(t, s.auth, request(bearer(tok), "GET", "/v1/keys"))
		})
		if n != 1 {
			t.Errorf("store reads = %d, want 1", n)
		}
		s.clock.Advance(time.Millisecond)
		if n := reads(func() { s.call(t, s.auth, request(bearer(tok), "GET", "/v1/whoami")) }); n != 1 {
			t.Errorf("after the TTL: store reads = %d, want 1", n)
		}
	})
	t.Run("KnownKeyIsReadOncePerTTL", func(t *testing.T) {
		iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}})
		n := reads(func() {
			for i := 0; i < 5; i++ {
				if r := s.call(t, s.auth, request(bearer(iss.Token), "GET", "/v1/whoami")); r.kind() != "allow" {
					t.Fatalf("kind = %s", r.kind())
				}
			}
		})
		if n != 1 {
			t.Errorf("store reads = %d, want 1", n)
		}
	})
	t.Run("ZeroTTLDisablesTheCache", func(t *testing.T) {
		a := s.newAuthorizer(authorizer.Config{KeyCacheTTL: 0}, s.hasher)
		tok := randomToken(t)
		if n := reads(func() {
			s.call(t, a, request(bearer(tok), "GET", "/v1/whoami"))
			s.call(t, a, request(bearer(tok), "GET", "/v1/whoami"))
		}); n != 2 {
			t.Errorf("store reads = %d, want 2", n)
		}
	})
}

// TestExpiryIsExactEvenWhenCached checks expiry against the clock on every
// call: a key cached for an hour still stops at exactly expiresAt.
func TestExpiryIsExactEvenWhenCached(t *testing.T) {
	s := newStack(t, authorizer.Config{KeyCacheTTL: authorizer.MaxKeyCacheTTL})
	at := t0.Add(10 * time.Minute)
	iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}, ExpiresAt: strp(at.Format(time.RFC3339))})
	s.clock.Set(at.Add(-time.Second))
	if r := s.call(t, s.auth, request(bearer(iss.Token), "GET", "/v1/whoami")); r.kind() != "allow" {
		t.Fatalf("one second before expiry: kind = %s", r.kind())
	}
	s.clock.Set(at.Add(-time.Nanosecond))
	if r := s.call(t, s.auth, request(bearer(iss.Token), "GET", "/v1/whoami")); r.kind() != "allow" {
		t.Fatalf("just before expiry: kind = %s", r.kind())
	}
	s.clock.Set(at)
	if r := s.call(t, s.auth, request(bearer(iss.Token), "GET", "/v1/whoami")); r.kind() != "401" {
		t.Fatalf("at expiresAt: kind = %s, want 401", r.kind())
	}
	if got := s.store.gets.Load(); got != 1 {
		t.Errorf("store reads = %d, want 1 (the cached key decides)", got)
	}
}

// TestPreviousSecretWorksUntilGraceEnds checks rotation with a grace period.
func TestPreviousSecretWorksUntilGraceEnds(t *testing.T) {
	s := newStack(t, authorizer.Config{KeyCacheTTL: 0})
	iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}})
	rot, err := s.svc.Rotate(context.Background(), admin("acme"), iss.ID, apikey.RotateInput{GracePeriodSeconds: intp(60)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.remember(rot)
	for _, c := range []struct {
		after time.Duration
		token string
		want  string
	}{
		{0, rot.Token, "allow"},
		{59 * time.Second, iss.Token, "allow"},
		{59 * time.Second, basic(iss.ID, iss.Secret), "allow"},
		{60 * time.Second, iss.Token, "401"},
		{60 * time.Second, rot.Token, "allow"},
	} {
		s.clock.Set(t0.Add(c.after))
		authz := c.token
		if !strings.HasPrefix(authz, "Basic ") {
			authz = bearer(authz)
		}
		if r := s.call(t, s.auth, request(authz, "GET", "/v1/whoami")); r.kind() != c.want {
			t.Errorf("at +%v: kind = %s, want %s", c.after, r.kind(), c.want)
		}
	}
}

// TestRevocationReachesTheAuthorizerWithinTheKeyCacheTTL: a revoked key is
// refused once the in-memory entry ages out (the gateway cache is flushed by
// the revoke function; see pkg/gwflush).
func TestRevocationReachesTheAuthorizerWithinTheKeyCacheTTL(t *testing.T) {
	s := newStack(t, defaultConfig(t))
	iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}})
	if r := s.call(t, s.auth, request(bearer(iss.Token), "GET", "/v1/whoami")); r.kind() != "allow" {
		t.Fatalf("kind = %s", r.kind())
	}
	if _, err := s.svc.Revoke(context.Background(), admin("acme"), iss.ID); err != nil {
		t.Fatal(err)
	}
	fresh := s.newAuthorizer(s.cfg, s.hasher)
	if r := s.call(t, fresh, request(bearer(iss.Token), "GET", "/v1/whoami")); r.kind() != "401" {
		t.Errorf("a container without the key cached: kind = %s, want 401", r.kind())
	}
	s.clock.Advance(authorizer.DefaultKeyCacheTTL)
	if r := s.call(t, s.auth, request(bearer(iss.Token), "GET", "/v1/whoami")); r.kind() != "401" {
		t.Errorf("after KEY_CACHE_TTL: kind = %s, want 401", r.kind())
	}
}

// TestConcurrentCallsAgree: one container answering many calls at once (as
// with AWS_LAMBDA_MAX_CONCURRENCY) gives each the right answer.
func TestConcurrentCallsAgree(t *testing.T) {
	s := newStack(t, defaultConfig(t))
	good := s.issue(t, apikey.CreateInput{Scopes: []string{"keys:read"}})
	fenced := s.issue(t, apikey.CreateInput{Scopes: []string{"keys:read"}, AllowList: &apikey.AllowList{IPs: []string{"198.51.100.0/24"}}})
	unknown := randomToken(t)
	cases := []struct{ authz, want string }{
		{bearer(good.Token), "allow"}, {basic(good.ID, good.Secret), "allow"},
		{bearer(fenced.Token), "403"}, {bearer(unknown), "401"}, {"Basic !!", "401"},
	}
	var wg sync.WaitGroup
	errs := make(chan string, 200)
	for i := 0; i < 200; i++ {
		c := cases[i%len(cases)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := s.call(t, s.auth, request(c.authz, "GET", "/v1/keys")).kind(); got != c.want {
				errs <- got + " for want " + c.want
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestWithTheGatewayCachingOnlyAbsentKeysAreCachedInMemory: every invocation
// is then a gateway cache miss (the first call of a token, or the first after
// a revocation flushed the stage), so a key served from memory after a
// revocation would be cached by the gateway again for its whole TTL.
func TestWithTheGatewayCachingOnlyAbsentKeysAreCachedInMemory(t *testing.T) {
	cfg := defaultConfig(t)
	cfg.GatewayCaches = true
	s := newStack(t, cfg)
	iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}})
	if r := s.call(t, s.auth, request(bearer(iss.Token), "GET", "/v1/whoami")); r.kind() != "allow" {
		t.Fatalf("kind = %s", r.kind())
	}
	if _, err := s.svc.Revoke(context.Background(), admin("acme"), iss.ID); err != nil {
		t.Fatal(err)
	}
	if r := s.call(t, s.auth, request(bearer(iss.Token), "GET", "/v1/whoami")); r.kind() != "401" {
		t.Fatalf("right after the revocation: kind = %s, want 401 (no key served from memory)", r.kind())
	}
	before := s.store.gets.Load()
	tok := randomToken(t)
	s.call(t, s.auth, request(bearer(tok), "GET", "/v1/whoami"))
	s.call(t, s.auth, request(bearer(tok), "GET", "/v1/whoami"))
	if n := s.store.gets.Load() - before; n != 1 {
		t.Errorf("unknown key twice: store reads = %d, want 1 (absent keys stay cached)", n)
	}
}

// TestARotatedSecretWorksAtOnceDespiteTheCache: a secret that does not match
// a cached key makes the authorizer read the key again (a rotation moments
// ago), at most once per minRefreshAge, so wrong secrets cannot hammer the table.
func TestARotatedSecretWorksAtOnceDespiteTheCache(t *testing.T) {
	s := newStack(t, defaultConfig(t))
	iss := s.issue(t, apikey.CreateInput{Scopes: []string{"recordings:read"}})
	if r := s.call(t, s.auth, request(bearer(iss.Token), "GET", "/v1/whoami")); r.kind() != "allow" {
		t.Fatalf("kind = %s", r.kind())
	}
	s.clock.Advance(300 * time.Millisecond)
	rot, err := s.svc.Rotate(context.Background(), admin("acme"), iss.ID, apikey.RotateInput{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.remember(rot)
	if r := s.call(t, s.auth, request(bearer(rot.Token), "GET", "/v1/whoami")); r.kind() != "allow" {
		t.Fatalf("new secret right after rotation: kind = %s, want allow", r.kind())
	}
	if r := s.call(t, s.auth, request(bearer(iss.Token), "GET", "/v1/whoami")); r.kind() != "401" {
		t.Fatalf("old secret after a rotation without grace: kind = %s, want 401", r.kind())
	}
	before := s.store.gets.Load()
	for i := 0; i < 10; i++ {
		s.call(t, s.auth, request(basic(iss.ID, strings.Repeat("A", apikey.SecretLen)), "GET", "/v1/whoami"))
	}
	if n := s.store.gets.Load() - before; n != 0 {
		t.Errorf("10 wrong secrets within %v of a read: store reads = %d, want 0", 250*time.Millisecond, n)
	}
}
