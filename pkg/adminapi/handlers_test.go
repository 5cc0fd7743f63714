package adminapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/adminapi"
	"github.com/keyward/keyward/pkg/apikey"
)

// req builds a proxy event for caller c. A nil body sends none.
type req struct {
	method, resource, keyID string
	body                    any
	query                   map[string]string
	headers                 map[string]string
}

func (r req) as(c apikey.Caller) events.APIGatewayProxyRequest {
	e := events.APIGatewayProxyRequest{
		HTTPMethod: r.method, Resource: r.resource,
		Path:                  strings.Replace(r.resource, "{keyId}", r.keyID, 1),
		Headers:               map[string]string{},
		QueryStringParameters: r.query,
		RequestContext: events.APIGatewayProxyRequestContext{
			RequestID: "req-test",
			Identity:  events.APIGatewayRequestIdentity{SourceIP: "203.0.113.7"},
			Authorizer: map[string]any{
				"principalId": c.KeyID, "tenantId": c.TenantID, "keyId": c.KeyID,
				"scopes": strings.Join(c.Scopes, " "),
			},
		},
	}
	if r.keyID != "" {
		e.PathParameters = map[string]string{"keyId": r.keyID}
	}
	for k, v := range r.headers {
		e.Headers[k] = v
	}
	switch b := r.body.(type) {
	case nil:
	case string:
		e.Body = b
	default:
		raw, _ := json.Marshal(b)
		e.Body = string(raw)
		e.Headers["Content-Type"] = "application/json"
	}
	return e
}

func scoped(tenant string, scopes ...string) apikey.Caller {
	c := admin(tenant)
	c.Scopes = scopes
	return c
}

func TestRoutes(t *testing.T) {
	s := newStack(t)
	acme, globex := admin("acme"), admin("globex")
	def, err := s.svc.Bootstrap(context.Background(), "acme", "system:test")
	if err != nil {
		t.Fatal(err)
	}
	s.secrets = append(s.secrets, def.Secret, def.Token)
	crm := s.seed(t, acme, "CRM sync")
	wfm := s.seed(t, acme, "WFM export")
	theirs := s.seed(t, globex, "Globex CRM")
	ctx := context.Background()

	t.Run("Create", func(t *testing.T) {
		keys := req{method: "POST", resource: adminapi.ResourceKeys}
		cases := []struct {
			name        string
			caller      apikey.Caller
			body        any
			headers     map[string]string
			status      int
			code, field string
		}{
			{"CreatesKeyWithSecretOnce", acme, map[string]any{"name": "QA robot", "scopes": []string{"recordings:read"}}, nil, 201, "", ""},
			{"NameTakenCaseInsensitively", acme, map[string]any{"name": "crm SYNC", "scopes": []string{"recordings:read"}}, nil, 409, "name_taken", ""},
			{"OtherTenantMayReuseName", globex, map[string]any{"name": "CRM sync", "scopes": []string{"recordings:read"}}, nil, 201, "", ""},
			{"NoBodyIsInvalid", acme, nil, nil, 400, "invalid_request", ""},
			{"WrongTypeNamesField", acme, map[string]any{"name": "x", "scopes": "recordings:read"}, nil, 400, "invalid_request", "scopes"},
			{"BadScopeNamesField", acme, map[string]any{"name": "x", "scopes": []string{"Bad Scope"}}, nil, 400, "invalid_request", "scopes[0]"},
			{"PastExpiryNamesField", acme, map[string]any{"name": "x", "scopes": []string{"a:b"}, "expiresAt": "2001-01-01T00:00:00Z"}, nil, 400, "invalid_request", "expiresAt"},
			{"FormBodyIsUnsupported", acme, "name=x", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type", ""},
			{"OversizeBodyIsTooLarge", acme, `{"name":"` + strings.Repeat("x", 70000) + `"}`, nil, 413, "payload_too_large", ""},
			{"ReadOnlyKeyIsForbiddenBeforeValidation", scoped("acme", "keys:read"), map[string]any{"name": ""}, nil, 403, "forbidden", ""},
			{"CannotGrantScopeNotHeld", scoped("acme", "keys:write", "recordings:read"), map[string]any{"name": "y", "scopes": []string{"recordings:write"}}, nil, 403, "forbidden", "scopes"},
			{"UnauthenticatedIsRefused", apikey.Caller{}, map[string]any{"name": "z", "scopes": []string{"a"}}, nil, 401, "unauthorized", ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := keys
				r.body, r.headers = tc.body, tc.headers
				resp := s.serve(t, r.as(tc.caller))
				resp.check(t, tc.status, tc.code, tc.field)
				if tc.status == 201 {
					if resp.Headers["ETag"] != `"1"` || resp.body["secret"] == nil || !strings.HasPrefix(resp.body["token"].(string), "kw_") {
						t.Fatalf("created: %v %s", resp.Headers, resp.Body)
					}
					got := s.serve(t, req{method: "GET", resource: adminapi.ResourceKey, keyID: resp.body["id"].(string)}.as(tc.caller))
					got.check(t, 200, "", "")
					if got.body["secret"] != nil || got.body["token"] != nil || strings.Contains(got.Body, resp.body["secret"].(string)) {
						t.Fatalf("GET returned the secret again: %s", got.Body)
					}
				}
			})
		}
	})

	t.Run("List", func(t *testing.T) {
		cases := []struct {
			name        string
			caller      apikey.Caller
			query       map[string]string
			status      int
			code, field string
			items       int
		}{
			{"ListsOwnTenantOnly", scoped("globex", "keys:read"), nil, 200, "", "", 3}, // its two keys and the calling key
			{"SearchesNamePrefixCaseInsensitively", acme, map[string]string{"q": "wfm"}, 200, "", "", 1},
			{"FiltersByStatus", acme, map[string]string{"status": "revoked"}, 200, "", "", 0},
			{"ZeroLimitIsInvalid", acme, map[string]string{"limit": "0"}, 400, "invalid_request", "limit", 0},
			{"NonNumericLimitIsInvalid", acme, map[string]string{"limit": "ten"}, 400, "invalid_request", "limit", 0},
			{"LimitOverMaxIsInvalid", acme, map[string]string{"limit": "101"}, 400, "invalid_request", "limit", 0},
			{"UnknownStatusIsInvalid", acme, map[string]string{"status": "paused"}, 400, "invalid_request", "status", 0},
			{"MisspeltParameterIsInvalid", acme, map[string]string{"stauts": "active"}, 400, "invalid_request", "stauts", 0},
			{"TamperedCursorIsInvalid", acme, map[string]string{"cursor": "eyJhIjoieCJ9.AAAA"}, 400, "invalid_request", "cursor", 0},
			{"KeyWithoutReadScopeIsForbidden", scoped("acme", "keys:write"), nil, 403, "forbidden", "", 0},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				resp := s.serve(t, req{method: "GET", resource: adminapi.ResourceKeys, query: tc.query}.as(tc.caller))
				resp.check(t, tc.status, tc.code, tc.field)
				if tc.status == 200 {
					if items, _ := resp.body["items"].([]any); len(items) != tc.items {
						t.Fatalf("%d items, want %d: %s", len(items), tc.items, resp.Body)
					}
				}
			})
		}
		t.Run("PagesWithOpaqueCursor", func(t *testing.T) {
			seen := map[string]bool{}
			query := map[string]string{"limit": "1"}
			for page := 0; ; page++ {
				resp := s.serve(t, req{method: "GET", resource: adminapi.ResourceKeys, query: query}.as(acme))
				resp.check(t, 200, "", "")
				for _, it := range resp.body["items"].([]any) {
					seen[it.(map[string]any)["id"].(string)] = true
				}
				next, _ := resp.body["nextCursor"].(string)
				if next == "" || page > 10 {
					break
				}
				query = map[string]string{"limit": "1", "cursor": next}
			}
			if !seen[crm.ID] || !seen[wfm.ID] || !seen[def.ID] || seen[theirs.ID] {
				t.Fatalf("pages saw %v", seen)
			}
		})
	})

	t.Run("Get", func(t *testing.T) {
		cases := []struct {
			name   string
			caller apikey.Caller
			id     string
			status int
			code   string
		}{
			{"GetsOwnKeyWithETag", acme, crm.ID, 200, ""},
			{"OtherTenantsKeyIsNotFound", acme, theirs.ID, 404, "not_found"},
			{"MalformedIDIsNotFound", acme, "key_nope", 404, "not_found"},
			{"UnknownIDIsNotFound", acme, "key_01JD6B0C3XH5Q2M9T7R4W8N1PZ", 404, "not_found"},
			{"KeyWithoutReadScopeIsForbidden", scoped("acme", "keys:revoke"), crm.ID, 403, "forbidden"},
			{"UnauthenticatedIsRefused", apikey.Caller{TenantID: "acme"}, crm.ID, 401, "unauthorized"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				resp := s.serve(t, req{method: "GET", resource: adminapi.ResourceKey, keyID: tc.id}.as(tc.caller))
				resp.check(t, tc.status, tc.code, "")
				if tc.status == 200 && (resp.Headers["ETag"] != fmt.Sprintf(`"%v"`, resp.body["version"]) || resp.body["id"] != tc.id) {
					t.Fatalf("get: %v %s", resp.Headers, resp.Body)
				}
			})
		}
	})

	t.Run("Patch", func(t *testing.T) {
		k := s.seed(t, acme, "Patch me")
		patch := func(c apikey.Caller, id string, body any, ifMatch string) response {
			r := req{method: "PATCH", resource: adminapi.ResourceKey, keyID: id, body: body}
			if ifMatch != "" {
				r.headers = map[string]string{"if-match": ifMatch}
			}
			return s.serve(t, r.as(c))
		}
		cases := []struct {
			name        string
			caller      apikey.Caller
			id          string
			body        any
			ifMatch     string
			status      int
			code, field string
		}{
			{"EditsWithMatchingIfMatch", acme, k.ID, map[string]any{"description": "v2"}, `"1"`, 200, "", ""},
			{"StaleIfMatchIsPreconditionFailed", acme, k.ID, map[string]any{"description": "v3"}, `"1"`, 412, "precondition_failed", ""},
			{"WeakIfMatchAccepted", acme, k.ID, map[string]any{"description": "v3"}, `W/"2"`, 200, "", ""},
			{"StarIfMatchAccepted", acme, k.ID, map[string]any{"description": "v4"}, `*`, 200, "", ""},
			{"MalformedIfMatchIsInvalid", acme, k.ID, map[string]any{"description": "v5"}, `"two"`, 400, "invalid_request", "If-Match"},
			{"NoIfMatchEdits", acme, k.ID, map[string]any{"name": "Patched"}, "", 200, "", ""},
			{"RenameToTakenNameIsConflict", acme, k.ID, map[string]any{"name": "crm sync"}, "", 409, "name_taken", ""},
			{"TypeNeverChanges", acme, k.ID, map[string]any{"type": "server"}, "", 400, "invalid_request", "type"},
			{"UnknownFieldIsInvalid", acme, k.ID, map[string]any{"status": "active"}, "", 400, "invalid_request", "status"},
			{"EmptyBodyIsInvalid", acme, k.ID, nil, "", 400, "invalid_request", ""},
			{"DefaultKeyIsImmutable", acme, def.ID, map[string]any{"description": "mine now"}, "", 409, "default_key_immutable", ""},
			{"OtherTenantsKeyIsNotFound", acme, theirs.ID, map[string]any{"description": "mine now"}, "", 404, "not_found", ""},
			{"KeyWithoutWriteScopeIsForbidden", scoped("acme", "keys:read"), k.ID, map[string]any{"description": "x"}, "", 403, "forbidden", ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				resp := patch(tc.caller, tc.id, tc.body, tc.ifMatch)
				resp.check(t, tc.status, tc.code, tc.field)
				if tc.status == 200 && resp.Headers["ETag"] != fmt.Sprintf(`"%v"`, resp.body["version"]) {
					t.Fatalf("ETag %q for version %v", resp.Headers["ETag"], resp.body["version"])
				}
			})
		}
	})

	t.Run("Rotate", func(t *testing.T) {
		k := s.seed(t, acme, "Rotate me")
		cases := []struct {
			name        string
			caller      apikey.Caller
			id          string
			body        any
			ifMatch     string
			status      int
			code, field string
		}{
			{"EmptyBodyRotatesWithoutGrace", acme, k.ID, nil, "", 200, "", ""},
			{"GracePeriodKeepsPreviousSecret", acme, k.ID, map[string]any{"gracePeriodSeconds": 60}, `"2"`, 200, "", ""},
			{"StaleIfMatchIsPreconditionFailed", acme, k.ID, nil, `"1"`, 412, "precondition_failed", ""},
			{"GraceOutOfRangeIsInvalid", acme, k.ID, map[string]any{"gracePeriodSeconds": 604801}, "", 400, "invalid_request", "gracePeriodSeconds"},
			{"GraceOfWrongTypeIsInvalid", acme, k.ID, map[string]any{"gracePeriodSeconds": "60"}, "", 400, "invalid_request", "gracePeriodSeconds"},
			{"DefaultKeyMayRotateItself", apikey.Caller{TenantID: "acme", KeyID: def.ID, Scopes: def.Scopes}, def.ID, nil, "", 200, "", ""},
			{"OnlyTheDefaultKeyRotatesItself", acme, def.ID, nil, "", 403, "forbidden", "keyId"},
			{"OtherTenantsKeyIsNotFound", acme, theirs.ID, nil, "", 404, "not_found", ""},
			{"KeyWithoutWriteScopeIsForbidden", scoped("acme", "keys:read"), k.ID, nil, "", 403, "forbidden", ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := req{method: "POST", resource: adminapi.ResourceRotate, keyID: tc.id, body: tc.body}
				if tc.ifMatch != "" {
					r.headers = map[string]string{"If-Match": tc.ifMatch}
				}
				resp := s.serve(t, r.as(tc.caller))
				resp.check(t, tc.status, tc.code, tc.field)
				if tc.status == 200 {
					_, grace := tc.body.(map[string]any)
					if resp.body["secret"] == nil || (resp.body["previousSecretExpiresAt"] != nil) != grace {
						t.Fatalf("rotate: %s", resp.Body)
					}
				}
			})
		}
	})

	t.Run("Revoke", func(t *testing.T) {
		k := s.seed(t, acme, "Revoke me")
		cases := []struct {
			name   string
			caller apikey.Caller
			id     string
			status int
			code   string
		}{
			{"RevokesKey", acme, k.ID, 200, ""},
			{"RevokingAgainIsIdempotent", acme, k.ID, 200, ""},
			{"DefaultKeyIsImmutable", acme, def.ID, 409, "default_key_immutable"},
			{"OtherTenantsKeyIsNotFound", acme, theirs.ID, 404, "not_found"},
			{"KeyWithoutRevokeScopeIsForbidden", scoped("acme", "keys:write", "keys:read"), crm.ID, 403, "forbidden"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				resp := s.serve(t, req{method: "DELETE", resource: adminapi.ResourceKey, keyID: tc.id}.as(tc.caller))
				resp.check(t, tc.status, tc.code, "")
				if tc.status == 200 && (resp.body["status"] != "revoked" || resp.Headers["ETag"] != `"2"`) {
					t.Fatalf("revoke: %v %s", resp.Headers, resp.Body)
				}
			})
		}
		if _, err := s.svc.Get(ctx, globex, theirs.ID); err != nil {
			t.Fatalf("other tenant's key was touched: %v", err)
		}
	})

	t.Run("BatchRevoke", func(t *testing.T) {
		a, b := s.seed(t, acme, "Batch A"), s.seed(t, acme, "Batch B")
		batch := func(c apikey.Caller, body any) response {
			return s.serve(t, req{method: "POST", resource: adminapi.ResourceBatchRevoke, body: body}.as(c))
		}
		t.Run("ReportsEachOutcomeWithoutLeakingOtherTenants", func(t *testing.T) {
			resp := batch(acme, map[string]any{"ids": []string{a.ID, b.ID, a.ID, theirs.ID, def.ID}})
			resp.check(t, 200, "", "")
			var out adminapi.BatchRevokeOutput
			if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range out.Results {
				s := r.ID + "=" + r.Status
				if r.Error != nil {
					s += ":" + r.Error.Code
				}
				got = append(got, s)
			}
			want := []string{a.ID + "=revoked", b.ID + "=revoked", theirs.ID + "=error:not_found", def.ID + "=error:default_key_immutable"}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("results\n got %v\nwant %v", got, want)
			}
			if k, err := s.svc.Get(ctx, globex, theirs.ID); err != nil || k.Status != apikey.StatusActive {
				t.Fatalf("other tenant's key: %v %v", k, err)
			}
		})
		tooMany := make([]string, 101)
		for i := range tooMany {
			tooMany[i] = a.ID
		}
		cases := []struct {
			name        string
			caller      apikey.Caller
			body        any
			status      int
			code, field string
		}{
			{"TooManyIDsIsInvalid", acme, map[string]any{"ids": tooMany}, 400, "invalid_request", "ids"},
			{"MissingIDsIsInvalid", acme, map[string]any{}, 400, "invalid_request", "ids"},
			{"IDsOfWrongTypeIsInvalid", acme, map[string]any{"ids": a.ID}, 400, "invalid_request", "ids"},
			{"KeyWithoutRevokeScopeIsForbidden", scoped("acme", "keys:write"), map[string]any{"ids": []string{crm.ID}}, 403, "forbidden", ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				batch(tc.caller, tc.body).check(t, tc.status, tc.code, tc.field)
			})
		}
	})
}
