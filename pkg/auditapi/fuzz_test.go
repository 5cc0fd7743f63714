package auditapi_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/apigw"
	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/audit"
	"github.com/keyward/keyward/pkg/auditapi"
)

// fuzzHasher is an apikey.Hasher whose MAC is a fixed-key HMAC-SHA256:
// enough to seal and open cursors without KMS.
type fuzzHasher struct{}

func (fuzzHasher) Hash(context.Context, []byte) (apikey.Hash, error) { return apikey.Hash{}, nil }
func (fuzzHasher) Verify(context.Context, []byte, apikey.Hash) (bool, error) {
	return false, nil
}
func (fuzzHasher) MAC(_ context.Context, purpose string, data []byte) ([]byte, error) {
	m := hmac.New(sha256.New, []byte("auditapi fuzz pepper/"+purpose))
	m.Write(data)
	return m.Sum(nil), nil
}

// pagingStore is an audit.Store port that remembers every query it was asked
// and answers one record with a continuation token naming the query, so the
// service issues a cursor. The DynamoDB adapter has its own tests.
type pagingStore struct {
	mu      sync.Mutex
	queries []audit.Query
}

func (s *pagingStore) Put(context.Context, audit.Record) (bool, error) { return true, nil }

func (s *pagingStore) Query(_ context.Context, q audit.Query) ([]audit.Record, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries = append(s.queries, q)
	rec := audit.Record{ID: "aud_0", TenantID: q.TenantID, KeyID: "key_01JD6B0C3XH5Q2M9T7R4W8N1PA", Action: audit.ActionCreated, Actor: "system", At: t0}
	return []audit.Record{rec}, "next-page-of-" + q.TenantID, nil
}

// last returns the query the store was asked last and forgets it.
func (s *pagingStore) last() (audit.Query, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queries) == 0 {
		return audit.Query{}, false
	}
	q := s.queries[len(s.queries)-1]
	s.queries = nil
	return q, true
}

var auditParams = []string{"keyId", "action", "actor", "from", "to", "limit", "cursor"}

// auditFilters is one fuzzed set of GET /v1/audit parameters.
type auditFilters struct {
	keyID, action, actor, from, to, limit string
}

func (f auditFilters) query(cursor, extra string) map[string]string {
	q := map[string]string{}
	for name, v := range map[string]string{
		"keyId": f.keyID, "action": f.action, "actor": f.actor, "from": f.from, "to": f.to, "limit": f.limit, "cursor": cursor,
	} {
		if v != "" {
			q[name] = v
		}
	}
	if extra != "" {
		q[extra] = "1"
	}
	return q
}

// sameFilters reports whether two queries select the same records (the
// limit aside), which is when a cursor of one may continue the other.
func sameFilters(a, b audit.Query) bool {
	return a.TenantID == b.TenantID && a.KeyID == b.KeyID && a.Action == b.Action && a.Actor == b.Actor &&
		a.From.Equal(b.From) && a.To.Equal(b.To)
}

// auditGet serves one GET /v1/audit as tenant's audit:read key and checks
// what holds for every answer: JSON, never a 5xx, and a 400 naming the
// parameter at fault. It returns the status, the error's field and the
// next cursor.
func auditGet(t *testing.T, r *apigw.Router, tenant string, query map[string]string) (status int, field, next string) {
	t.Helper()
	req := events.APIGatewayProxyRequest{
		HTTPMethod: "GET", Resource: auditapi.ResourceAudit, Path: auditapi.ResourceAudit,
		QueryStringParameters: query,
		RequestContext: events.APIGatewayProxyRequestContext{
			RequestID: "req-fuzz",
			Authorizer: map[string]any{
				"tenantId": tenant, "keyId": "key_01JD5Z8K3N4Q7R2T6V9W0X1Y2Z", "scopes": apikey.ScopeAuditRead,
			},
		},
	}
	resp, err := r.Handle(context.Background(), req)
	if err != nil {
		t.Fatalf("Handle returned an error: %v", err)
	}
	var body struct {
		Error *struct {
			Code, Message, Field string
		} `json:"error"`
		Items      []audit.Record `json:"items"`
		NextCursor *string        `json:"nextCursor"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("status %d with a body that is not JSON: %q", resp.StatusCode, resp.Body)
	}
	switch {
	case resp.StatusCode == 200:
		if body.Error != nil || body.Items == nil {
			t.Fatalf("200 with %s", resp.Body)
		}
		if body.NextCursor != nil {
			next = *body.NextCursor
		}
		return 200, "", next
	case resp.StatusCode == 400 && body.Error != nil && body.Error.Code == string(apikey.ECodeInvalid):
		f := body.Error.Field
		sent := false
		for name := range query {
			// JSON carries each byte of invalid UTF-8 as U+FFFD.
			if string([]rune(name)) == f {
				f, sent = name, true
			}
		}
		if !sent || !strings.HasPrefix(body.Error.Message, body.Error.Field+":") {
			t.Fatalf("400 names %q, which is not a parameter sent (%q): %s", f, query, resp.Body)
		}
		return 400, f, ""
	}
	t.Fatalf("status %d for %q: %s", resp.StatusCode, query, resp.Body)
	return 0, "", ""
}

// FuzzAuditQuery sends arbitrary GET /v1/audit parameters through the audit
// function's router and service: every query either is answered (its
// filters passed on as sent, the limit within bounds) or is a 400 naming
// the parameter at fault; a cursor continues exactly the filters it was
// issued for, and is refused (400 naming cursor) under other filters,
// another tenant, or when it is a keys-list cursor.
func FuzzAuditQuery(f *testing.F) {
	type seed struct {
		a, b  auditFilters
		extra string
	}
	key := "key_01JD6B0C3XH5Q2M9T7R4W8N1PA"
	for _, s := range []seed{
		{a: auditFilters{}, b: auditFilters{keyID: key}},
		{a: auditFilters{keyID: key, action: "key.revoked"}, b: auditFilters{keyID: key, action: "key.rotated"}},
		{a: auditFilters{actor: "system"}, b: auditFilters{actor: "System"}},
		{a: auditFilters{from: "2026-11-01T00:00:00Z"}, b: auditFilters{from: "2026-11-01T01:00:00+01:00"}},
		{a: auditFilters{from: "2026-11-01T00:00:00Z", to: "2026-11-02T00:00:00Z"}, b: auditFilters{from: "2026-11-01T00:00:00.000000001Z", to: "2026-11-02T00:00:00Z"}},
		{a: auditFilters{to: "2026-11-01T00:00:00Z", from: "2026-11-01T00:00:00Z"}, b: auditFilters{}},
		{a: auditFilters{limit: "100"}, b: auditFilters{limit: "1"}},
		{a: auditFilters{limit: "0"}, b: auditFilters{limit: "101"}, extra: "Limit"},
		{a: auditFilters{limit: "-1"}, b: auditFilters{limit: "1e2"}},
		{a: auditFilters{keyID: "key_01jd6b0c3xh5q2m9t7r4w8n1pa"}, b: auditFilters{keyID: "key_x"}},
		{a: auditFilters{action: "KEY.CREATED"}, b: auditFilters{action: "key.created "}},
		{a: auditFilters{actor: "a\x00b"}, b: auditFilters{actor: "a\u202eb"}},
		{a: auditFilters{actor: strings.Repeat("\u00e9", 257)}, b: auditFilters{actor: "\xff"}},
		{a: auditFilters{from: "0000-01-01T00:00:00Z"}, b: auditFilters{to: "10000-01-01T00:00:00Z"}},
		{a: auditFilters{from: "2026-11-01"}, b: auditFilters{to: "yesterday"}},
		{a: auditFilters{actor: "x"}, b: auditFilters{actor: "x"}, extra: "page"},
	} {
		f.Add(s.a.keyID, s.a.action, s.a.actor, s.a.from, s.a.to, s.a.limit,
			s.b.keyID, s.b.action, s.b.actor, s.b.from, s.b.to, s.b.limit, s.extra, "")
	}
	f.Add("", "", "", "", "", "", "", "", "", "", "", "", "", "eyJhIjoieCJ9.AAAA")
	f.Fuzz(func(t *testing.T, k1, a1, ac1, f1, t1, l1, k2, a2, ac2, f2, t2, l2, extra, junk string) {
		store := &pagingStore{}
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		r := apigw.NewRouter(log, auditapi.Routes(audit.NewService(store, fuzzHasher{}))...)
		fa := auditFilters{k1, a1, ac1, f1, t1, l1}
		fb := auditFilters{k2, a2, ac2, f2, t2, l2}

		// Any parameters: answered as sent, or a 400 naming one of them.
		if extra != "" && !slices.Contains(auditParams, extra) {
			if st, field, _ := auditGet(t, r, "acme", fa.query("", extra)); st != 400 || field != extra {
				t.Fatalf("unknown parameter %q: status %d naming %q", extra, st, field)
			}
		}
		if junk != "" {
			if st, _, _ := auditGet(t, r, "acme", fa.query(junk, "")); st == 200 {
				t.Fatalf("a cursor nobody issued, %q, was accepted", junk)
			}
			store.last()
		}
		st, _, cur := auditGet(t, r, "acme", fa.query("", ""))
		if st != 200 {
			if _, asked := store.last(); asked {
				t.Fatalf("a refused query reached the store")
			}
			return
		}
		qa, _ := store.last()
		if qa.TenantID != "acme" || qa.KeyID != k1 || string(qa.Action) != a1 || qa.Actor != ac1 || qa.Limit < 1 || qa.Limit > audit.MaxLimit || qa.After != "" {
			t.Fatalf("parameters %+v reached the store as %+v", fa, qa)
		}
		if cur == "" {
			t.Fatalf("no cursor although the store has more")
		}

		// The cursor continues the same filters.
		if st, field, _ := auditGet(t, r, "acme", fa.query(cur, "")); st != 200 {
			t.Fatalf("its own cursor refused: status %d naming %q", st, field)
		}
		if q, _ := store.last(); q.After != "next-page-of-acme" || !sameFilters(q, qa) {
			t.Fatalf("continued as %+v", q)
		}
		// Another tenant, same filters: refused.
		if st, field, _ := auditGet(t, r, "globex", fa.query(cur, "")); st != 400 || field != "cursor" {
			t.Fatalf("another tenant's cursor: status %d naming %q", st, field)
		}
		// A keys-list cursor for the same tenant: refused.
		keys, _ := apikey.SealCursor(context.Background(), fuzzHasher{}, "next-page-of-acme", strings.Join([]string{"acme", "", "", ""}, "\x00"))
		if st, field, _ := auditGet(t, r, "acme", fa.query(keys, "")); st != 400 || field != "cursor" {
			t.Fatalf("a keys-list cursor: status %d naming %q", st, field)
		}
		// Other filters: the cursor opens exactly when they select the same records.
		if st, _, _ := auditGet(t, r, "acme", fb.query("", "")); st != 200 {
			return
		}
		qb, _ := store.last()
		st, field, _ := auditGet(t, r, "acme", fb.query(cur, ""))
		switch same := sameFilters(qa, qb); {
		case same && st != 200:
			t.Fatalf("filters %+v and %+v select the same records, but the cursor was refused (%q)", fa, fb, field)
		case !same && (st != 400 || field != "cursor"):
			t.Fatalf("a cursor for %+v opened under %+v: status %d naming %q", fa, fb, st, field)
		}
	})
}
