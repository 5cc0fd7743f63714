package auditapi_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/keyward/keyward/pkg/audit"
)

// reversed returns ids newest first (seeded oldest first).
func reversed(ids []string, keep ...int) []string {
	var out []string
	for i := len(ids) - 1; i >= 0; i-- {
		if len(keep) == 0 || slices.Contains(keep, i) {
			out = append(out, ids[i])
		}
	}
	return out
}

func TestListAudit(t *testing.T) {
	s := newStack(t)
	ids := s.seed(t, standardSeed)

	t.Run("NewestFirstWithEveryField", func(t *testing.T) {
		r := s.serve(t, get("acme", acmeAdmin, "audit:read", nil))
		r.check(t, 200, "", "")
		got, next := r.items(t)
		if want := reversed(ids, 0, 1, 2, 3, 4); !slices.Equal(got, want) || next != "" {
			t.Fatalf("items %v next %q, want %v and no cursor", got, next, want)
		}
		first := r.body["items"].([]any)[0].(map[string]any)
		for _, f := range []string{"id", "tenantId", "keyId", "action", "actor", "at", "requestId", "sourceIp", "changes"} {
			if _, ok := first[f]; !ok {
				t.Errorf("record lacks %s: %v", f, first)
			}
		}
		if first["action"] != "key.revoked" || first["at"] != "2026-11-23T12:04:00Z" || first["tenantId"] != "acme" {
			t.Errorf("newest record %v", first)
		}
		if r.body["nextCursor"] != nil {
			t.Errorf("nextCursor = %v, want null", r.body["nextCursor"])
		}
	})

	filters := []struct {
		name  string
		query map[string]string
		want  []int // indexes into the seed
	}{
		{"ByKey", map[string]string{"keyId": keyA}, []int{0, 2, 3}},
		{"ByAction", map[string]string{"action": "key.created"}, []int{0, 1}},
		{"ByActor", map[string]string{"actor": keyA}, []int{3}},
		{"ByKeyAndActor", map[string]string{"keyId": keyA, "actor": acmeAdmin}, []int{0, 2}},
		{"ByTimeRange", map[string]string{"from": "2026-11-23T12:01:00Z", "to": "2026-11-23T12:04:00Z"}, []int{1, 2, 3}},
		{"AnotherTenantsKeyIsEmpty", map[string]string{"keyId": "key_01JD7C1D4YJ6R3N0V8S5X9P2QB"}, nil},
	}
	for _, f := range filters {
		t.Run(f.name, func(t *testing.T) {
			r := s.serve(t, get("acme", acmeAdmin, "audit:read", f.query))
			r.check(t, 200, "", "")
			got, next := r.items(t)
			want := reversed(ids, f.want...)
			if f.want == nil {
				want = nil
			}
			if !slices.Equal(got, want) || next != "" {
				t.Fatalf("items %v next %q, want %v", got, next, want)
			}
		})
	}

	t.Run("TenantIsolation", func(t *testing.T) {
		r := s.serve(t, get("globex", globexAdmin, "keys:admin", nil))
		r.check(t, 200, "", "")
		if got, _ := r.items(t); !slices.Equal(got, []string{ids[5]}) {
			t.Errorf("globex sees %v, want only its own record", got)
		}
		r = s.serve(t, get("globex", globexAdmin, "keys:admin", map[string]string{"keyId": keyA}))
		r.check(t, 200, "", "")
		if got, _ := r.items(t); len(got) != 0 {
			t.Errorf("globex sees acme's key A: %v", got)
		}
	})

	for _, limit := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("PagesOf%dWalkEverything", limit), func(t *testing.T) {
			var got []string
			q := map[string]string{"limit": fmt.Sprint(limit)}
			for pages := 0; ; pages++ {
				if pages > 10 {
					t.Fatal("too many pages")
				}
				r := s.serve(t, get("acme", acmeAdmin, "audit:read", q))
				r.check(t, 200, "", "")
				page, next := r.items(t)
				if len(page) == 0 && next != "" {
					t.Fatal("an empty page with a cursor")
				}
				got = append(got, page...)
				if next == "" {
					break
				}
				q = map[string]string{"limit": fmt.Sprint(limit), "cursor": next}
			}
			if want := reversed(ids, 0, 1, 2, 3, 4); !slices.Equal(got, want) {
				t.Errorf("walked %v, want %v", got, want)
			}
		})
	}

	t.Run("CursorsAreBoundToTenantAndFilters", func(t *testing.T) {
		r := s.serve(t, get("acme", acmeAdmin, "audit:read", map[string]string{"limit": "1", "keyId": keyA}))
		_, cursor := r.items(t)
		if cursor == "" {
			t.Fatal("no cursor")
		}
		if strings.Contains(cursor, "TENANT#") || strings.Contains(cursor, "aud_") {
			t.Errorf("cursor %q is not opaque", cursor)
		}
		for name, req := range map[string]map[string]string{
			"OtherFilters": {"cursor": cursor},
			"OtherKey":     {"cursor": cursor, "keyId": keyB},
			"Tampered":     {"cursor": cursor[:len(cursor)-2] + "xx", "keyId": keyA},
		} {
			r := s.serve(t, get("acme", acmeAdmin, "audit:read", req))
			if r.StatusCode != 400 {
				t.Errorf("%s: status %d, want 400: %s", name, r.StatusCode, r.Body)
			}
			r.check(t, 400, "invalid_request", "cursor")
		}
		r = s.serve(t, get("globex", globexAdmin, "audit:read", map[string]string{"cursor": cursor, "keyId": keyA}))
		r.check(t, 400, "invalid_request", "cursor")
	})

	invalid := []struct {
		name, field string
		query       map[string]string
	}{
		{"LimitZero", "limit", map[string]string{"limit": "0"}},
		{"LimitTooHigh", "limit", map[string]string{"limit": "101"}},
		{"LimitNotANumber", "limit", map[string]string{"limit": "ten"}},
		{"MalformedKeyID", "keyId", map[string]string{"keyId": "abc"}},
		{"UnknownAction", "action", map[string]string{"action": "key.deleted"}},
		{"FromNotATime", "from", map[string]string{"from": "last week"}},
		{"ToBeforeFrom", "to", map[string]string{"from": "2026-11-23T12:00:00Z", "to": "2026-11-22T12:00:00Z"}},
		{"UnknownParameter", "status", map[string]string{"status": "active"}},
		{"MalformedSubjectTenant", "subjectTenantId", map[string]string{"subjectTenantId": "ACME"}},
		{"SubjectTenantWithKeyID", "subjectTenantId", map[string]string{"subjectTenantId": "acme", "keyId": keyA}},
	}
	for _, c := range invalid {
		t.Run("Invalid"+c.name, func(t *testing.T) {
			s.serve(t, get("acme", acmeAdmin, "audit:read", c.query)).check(t, 400, "invalid_request", c.field)
		})
	}

	t.Run("NoAuthorizerIsUnauthorized", func(t *testing.T) {
		s.serve(t, get("", "", "", nil)).check(t, 401, "unauthorized", "")
	})
	t.Run("WithoutAuditReadIsForbidden", func(t *testing.T) {
		for _, scopes := range []string{"keys:read keys:write keys:revoke", "", "audit:write"} {
			s.serve(t, get("acme", acmeAdmin, scopes, map[string]string{"limit": "bad"})).check(t, 403, "forbidden", "")
		}
	})
	t.Run("MethodNotAllowed", func(t *testing.T) {
		req := get("acme", acmeAdmin, "audit:read", nil)
		req.HTTPMethod = "DELETE"
		r := s.serve(t, req)
		if r.StatusCode != 405 || r.Headers["Allow"] != "GET" {
			t.Errorf("DELETE /v1/audit: %d %v", r.StatusCode, r.Headers)
		}
	})
}

func TestListAuditFiltersManyRecords(t *testing.T) {
	s := newStack(t)
	var seed []seedRecord
	for i := 0; i < 45; i++ {
		a := audit.ActionUpdated
		if i%9 == 0 {
			a = audit.ActionRevoked
		}
		seed = append(seed, seedRecord{"acme", i, keyA, a, acmeAdmin})
	}
	ids := s.seed(t, seed)
	var want []string
	for i := len(seed) - 1; i >= 0; i-- {
		if seed[i].action == audit.ActionRevoked {
			want = append(want, ids[i])
		}
	}
	var got []string
	q := map[string]string{"limit": "2", "action": "key.revoked", "actor": acmeAdmin}
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("too many pages")
		}
		r := s.serve(t, get("acme", acmeAdmin, "audit:read", q))
		r.check(t, 200, "", "")
		page, next := r.items(t)
		if next != "" && len(page) != 2 {
			t.Fatalf("page of %d with a cursor", len(page))
		}
		got = append(got, page...)
		if next == "" {
			break
		}
		q["cursor"] = next
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestListAuditOfTenants reads the operator tenant's tenant.* records: all of
// them, one tenant's (subjectTenantId), one tenant's of one action, paged;
// they are never in the subject tenant's own trail.
func TestListAuditOfTenants(t *testing.T) {
	s := newStack(t)
	s.seed(t, standardSeed)
	ids := s.seedTenants(t)
	const platform = "keys:admin tenants:admin tenants:act actors:assert"

	r := s.serve(t, get("operator", platformKey, platform, nil))
	r.check(t, 200, "", "")
	if got, _ := r.items(t); !slices.Equal(got, reversed(ids)) {
		t.Fatalf("operator's trail %v, want %v", got, reversed(ids))
	}
	first := r.body["items"].([]any)[0].(map[string]any)
	if first["action"] != "tenant.resumed" || first["subjectTenantId"] != "acme" || first["tenantId"] != "operator" ||
		first["actor"] != "user:ops@platform.example" || first["actorKeyId"] != platformKey || first["actorKeyName"] != "default" {
		t.Errorf("newest tenant record %v", first)
	}

	for name, c := range map[string]struct {
		query map[string]string
		want  []string
	}{
		"BySubject":          {map[string]string{"subjectTenantId": "acme"}, reversed(ids, 0, 1, 3)},
		"BySubjectAndAction": {map[string]string{"subjectTenantId": "acme", "action": "tenant.suspended"}, reversed(ids, 1)},
		"ByAction":           {map[string]string{"action": "tenant.created"}, reversed(ids, 0, 2)},
		"OtherSubject":       {map[string]string{"subjectTenantId": "globex"}, reversed(ids, 2)},
		"NoSuchSubject":      {map[string]string{"subjectTenantId": "initech"}, nil},
	} {
		t.Run(name, func(t *testing.T) {
			r := s.serve(t, get("operator", platformKey, platform, c.query))
			r.check(t, 200, "", "")
			if got, _ := r.items(t); !slices.Equal(got, c.want) {
				t.Errorf("items %v, want %v", got, c.want)
			}
		})
	}
	t.Run("PagesBySubject", func(t *testing.T) {
		var got []string
		q := map[string]string{"subjectTenantId": "acme", "limit": "1"}
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("too many pages")
			}
			r := s.serve(t, get("operator", platformKey, platform, q))
			r.check(t, 200, "", "")
			page, next := r.items(t)
			got = append(got, page...)
			if next == "" {
				break
			}
			q["cursor"] = next
		}
		if want := reversed(ids, 0, 1, 3); !slices.Equal(got, want) {
			t.Errorf("walked %v, want %v", got, want)
		}
	})
	t.Run("NotInTheSubjectsOwnTrail", func(t *testing.T) {
		for _, q := range []map[string]string{nil, {"subjectTenantId": "acme"}, {"action": "tenant.suspended"}} {
			r := s.serve(t, get("acme", acmeAdmin, "audit:read", q))
			r.check(t, 200, "", "")
			got, _ := r.items(t)
			for _, id := range got {
				if slices.Contains(ids, id) {
					t.Errorf("acme's trail (%v) holds tenant record %s", q, id)
				}
			}
		}
	})
}
