package audit_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/audit"
)

// macHasher is an apikey.Hasher whose MAC is a fixed-key HMAC: enough to seal
// cursors without KMS. Hash and Verify are unused here.
type macHasher struct{ key []byte }

func (h macHasher) Hash(context.Context, []byte) (apikey.Hash, error) { return apikey.Hash{}, nil }
func (h macHasher) Verify(context.Context, []byte, apikey.Hash) (bool, error) {
	return false, nil
}
func (h macHasher) MAC(_ context.Context, purpose string, data []byte) ([]byte, error) {
	m := hmac.New(sha256.New, append(h.key, purpose...))
	m.Write(data)
	return m.Sum(nil), nil
}

// recordingStore is an audit.Store port that remembers the last query and
// answers with a fixed page; the DynamoDB adapter has its own tests.
type recordingStore struct {
	last  audit.Query
	items []audit.Record
	next  string
}

func (s *recordingStore) Put(context.Context, audit.Record) (bool, error) { return true, nil }
func (s *recordingStore) Query(_ context.Context, q audit.Query) ([]audit.Record, string, error) {
	s.last = q
	return s.items, s.next, nil
}

func reader(tenant string) apikey.Caller {
	return apikey.Caller{TenantID: tenant, KeyID: actor, Scopes: []string{apikey.ScopeAuditRead}}
}

func TestListValidatesItsParameters(t *testing.T) {
	cases := []struct {
		name      string
		in        audit.ListInput
		wantField string
		check     func(t *testing.T, q audit.Query)
	}{
		{name: "DefaultsApply", check: func(t *testing.T, q audit.Query) {
			if q.TenantID != tenant || q.Limit != audit.DefaultLimit || q.KeyID != "" || q.Action != "" || !q.From.IsZero() || !q.To.IsZero() {
				t.Errorf("query = %+v", q)
			}
		}},
		{name: "EveryFilterIsPassedOn", in: audit.ListInput{KeyID: keyID, Action: "key.revoked", Actor: "system", From: "2026-11-01T00:00:00Z", To: "2026-11-23T13:00:00+01:00", Limit: 100},
			check: func(t *testing.T, q audit.Query) {
				if q.KeyID != keyID || q.Action != audit.ActionRevoked || q.Actor != "system" || q.Limit != 100 ||
					!q.From.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) || !q.To.Equal(t0) || q.To.Location() != time.UTC {
					t.Errorf("query = %+v", q)
				}
			}},
		{name: "SubjectTenantIsPassedOn", in: audit.ListInput{SubjectTenantID: "acme", Action: "tenant.suspended"},
			check: func(t *testing.T, q audit.Query) {
				if q.SubjectTenantID != "acme" || q.Action != audit.ActionTenantSuspended || q.KeyID != "" {
					t.Errorf("query = %+v", q)
				}
			}},
		{name: "MalformedSubjectTenant", in: audit.ListInput{SubjectTenantID: "Acme!"}, wantField: "subjectTenantId"},
		{name: "SubjectTenantWithKeyID", in: audit.ListInput{SubjectTenantID: "acme", KeyID: keyID}, wantField: "subjectTenantId"},
		{name: "LimitAboveMax", in: audit.ListInput{Limit: 101}, wantField: "limit"},
		{name: "NegativeLimit", in: audit.ListInput{Limit: -1}, wantField: "limit"},
		{name: "MalformedKeyID", in: audit.ListInput{KeyID: "KEY#key_01JD6B0C3XH5Q2M9T7R4W8N1PA"}, wantField: "keyId"},
		{name: "UnknownAction", in: audit.ListInput{Action: "key.deleted"}, wantField: "action"},
		{name: "ActorWithControlCharacters", in: audit.ListInput{Actor: "a\x00b"}, wantField: "actor"},
		{name: "ActorTooLong", in: audit.ListInput{Actor: string(make([]byte, 300))}, wantField: "actor"},
		{name: "FromNotATime", in: audit.ListInput{From: "yesterday"}, wantField: "from"},
		{name: "ToWithoutZone", in: audit.ListInput{To: "2026-11-23T12:00:00"}, wantField: "to"},
		{name: "ToNotAfterFrom", in: audit.ListInput{From: "2026-11-23T12:00:00Z", To: "2026-11-23T12:00:00Z"}, wantField: "to"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			store := &recordingStore{}
			svc := audit.NewService(store, macHasher{key: []byte("k")})
			_, err := svc.List(context.Background(), reader(tenant), c.in)
			if c.wantField != "" {
				e, ok := apikey.AsError(err)
				if !ok || e.Code != apikey.ECodeInvalid || e.Field != c.wantField {
					t.Fatalf("err = %v, want invalid_request naming %s", err, c.wantField)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, store.last)
		})
	}
}

func TestListNeedsAuditRead(t *testing.T) {
	svc := audit.NewService(&recordingStore{}, macHasher{key: []byte("k")})
	for _, scopes := range [][]string{{}, {apikey.ScopeRead, apikey.ScopeWrite}} {
		_, err := svc.List(context.Background(), apikey.Caller{TenantID: tenant, KeyID: actor, Scopes: scopes}, audit.ListInput{})
		if apikey.ErrorCode(err) != apikey.ECodeForbidden {
			t.Errorf("scopes %v: err = %v, want forbidden", scopes, err)
		}
	}
	if _, err := svc.List(context.Background(), apikey.Caller{TenantID: tenant, KeyID: actor, Scopes: []string{apikey.ScopeAdmin}}, audit.ListInput{}); err != nil {
		t.Errorf("keys:admin: %v", err)
	}
}

func TestCursors(t *testing.T) {
	ctx := context.Background()
	h := macHasher{key: []byte("k")}
	store := &recordingStore{items: []audit.Record{{ID: "aud_1"}}, next: "2026-11-23T12:00:00.000Z#aud_1"}
	svc := audit.NewService(store, h)
	in := audit.ListInput{Action: "key.updated", Limit: 1}
	page, err := svc.List(ctx, reader(tenant), in)
	if err != nil || page.NextCursor == nil {
		t.Fatalf("first page: %+v, %v", page, err)
	}
	cursor := *page.NextCursor

	t.Run("OpensForTheSameTenantAndFilters", func(t *testing.T) {
		in := in
		in.Cursor = cursor
		in.Limit = 5 // the page size may change between pages
		if _, err := svc.List(ctx, reader(tenant), in); err != nil {
			t.Fatal(err)
		}
		if store.last.After != store.next {
			t.Errorf("After = %q, want %q", store.last.After, store.next)
		}
	})
	refused := []struct {
		name   string
		caller apikey.Caller
		in     audit.ListInput
	}{
		{"OtherTenant", reader("globex"), audit.ListInput{Action: "key.updated", Cursor: cursor}},
		{"OtherFilters", reader(tenant), audit.ListInput{Action: "key.revoked", Cursor: cursor}},
		{"Tampered", reader(tenant), audit.ListInput{Action: "key.updated", Cursor: "x" + cursor}},
		{"Garbage", reader(tenant), audit.ListInput{Action: "key.updated", Cursor: "not-a-cursor"}},
	}
	for _, c := range refused {
		t.Run(c.name+"IsRefused", func(t *testing.T) {
			_, err := svc.List(ctx, c.caller, c.in)
			if e, ok := apikey.AsError(err); !ok || e.Field != "cursor" {
				t.Fatalf("err = %v, want invalid_request naming cursor", err)
			}
		})
	}
	t.Run("AKeysListCursorIsRefused", func(t *testing.T) {
		keysCursor, err := apikey.SealCursor(ctx, h, store.next, tenant+"\x00\x00\x00")
		if err != nil {
			t.Fatal(err)
		}
		_, err = svc.List(ctx, reader(tenant), audit.ListInput{Cursor: keysCursor})
		if e, ok := apikey.AsError(err); !ok || e.Field != "cursor" {
			t.Fatalf("err = %v, want invalid_request naming cursor", err)
		}
	})
	t.Run("NoCursorWithoutItems", func(t *testing.T) {
		svc := audit.NewService(&recordingStore{next: "2026-11-23T12:00:00.000Z#aud_1"}, h)
		page, err := svc.List(ctx, reader(tenant), audit.ListInput{})
		if err != nil || page.NextCursor != nil || page.Items == nil || len(page.Items) != 0 {
			t.Fatalf("page = %+v, %v; want an empty list and no cursor", page, err)
		}
	})
}
