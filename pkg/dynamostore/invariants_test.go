package dynamostore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/keyward/keyward/pkg/apikey"
)

func TestConcurrentCreatesOfOneNameYieldOneKey(t *testing.T) {
	ctx := context.Background()
	st := newStack(t, apikey.Config{})
	admin, _ := st.bootstrap(t, "acme")
	const n = 50
	codes := make([]apikey.Code, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Different cases of one name: uniqueness is case-insensitive.
			name := "QA export"
			if i%2 == 1 {
				name = "qa EXPORT"
			}
			_, err := st.svc.Create(ctx, admin, apikey.CreateInput{Name: name, Scopes: []string{"qa:read"}})
			codes[i] = code(err)
		}()
	}
	wg.Wait()
	counts := map[apikey.Code]int{}
	for _, c := range codes {
		counts[c]++
	}
	if counts[""] != 1 || counts[apikey.ECodeNameTaken] != n-1 {
		t.Fatalf("outcomes = %v, want exactly 1 success and %d name_taken", counts, n-1)
	}
}

func TestConcurrentEditsWithOneIfMatchHaveOneWinner(t *testing.T) {
	ctx := context.Background()
	st := newStack(t, apikey.Config{})
	admin, _ := st.bootstrap(t, "acme")
	k, err := st.svc.Create(ctx, admin, apikey.CreateInput{Name: "WFM", Scopes: []string{"wfm:read"}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	codes := make([]apikey.Code, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Half rename (a transaction), half edit the description (a conditional put).
			in := apikey.PatchInput{Description: strp(fmt.Sprint("edit ", i))}
			if i%2 == 0 {
				in = apikey.PatchInput{Name: strp(fmt.Sprint("WFM ", i))}
			}
			_, err := st.svc.Update(ctx, admin, k.ID, in, i64p(k.Version))
			codes[i] = code(err)
		}()
	}
	wg.Wait()
	counts := map[apikey.Code]int{}
	for _, c := range codes {
		counts[c]++
	}
	if counts[""] != 1 || counts[apikey.ECodePreconditionFailed] != n-1 {
		t.Fatalf("outcomes = %v, want exactly 1 success and %d precondition_failed", counts, n-1)
	}
	got, _ := st.svc.Get(ctx, admin, k.ID)
	if got.Version != 2 {
		t.Fatalf("version = %d, want 2", got.Version)
	}
}

func TestRenameFreesTheOldName(t *testing.T) {
	ctx := context.Background()
	st := newStack(t, apikey.Config{})
	admin, _ := st.bootstrap(t, "acme")
	a, err := st.svc.Create(ctx, admin, apikey.CreateInput{Name: "BI feed", Scopes: []string{"bi:read"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.svc.Create(ctx, admin, apikey.CreateInput{Name: "Other", Scopes: []string{"bi:read"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.svc.Update(ctx, admin, b.ID, apikey.PatchInput{Name: strp("bi FEED")}, nil); code(err) != apikey.ECodeNameTaken {
		t.Fatalf("rename onto a taken name: err = %v, want name_taken", err)
	}
	if _, err := st.svc.Update(ctx, admin, a.ID, apikey.PatchInput{Name: strp("BI feed v2")}, nil); err != nil {
		t.Fatalf("rename: %v", err)
	}
	if _, err := st.svc.Create(ctx, admin, apikey.CreateInput{Name: "BI feed", Scopes: []string{"bi:read"}}); err != nil {
		t.Fatalf("old name after rename: %v, want it free", err)
	}
	if _, err := st.svc.Create(ctx, admin, apikey.CreateInput{Name: "bi feed V2", Scopes: []string{"bi:read"}}); code(err) != apikey.ECodeNameTaken {
		t.Fatalf("new name after rename: err = %v, want name_taken", err)
	}
	// Changing only the case of a name keeps the claim.
	if _, err := st.svc.Update(ctx, admin, a.ID, apikey.PatchInput{Name: strp("BI FEED V2")}, nil); err != nil {
		t.Fatalf("case-only rename: %v", err)
	}
	// Revoking frees a name too.
	if _, err := st.svc.Revoke(ctx, admin, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.svc.Create(ctx, admin, apikey.CreateInput{Name: "other", Scopes: []string{"bi:read"}}); err != nil {
		t.Fatalf("name of a revoked key: %v, want it free", err)
	}
	// Names are per tenant.
	globex, _ := st.bootstrap(t, "globex")
	if _, err := st.svc.Create(ctx, globex, apikey.CreateInput{Name: "BI feed", Scopes: []string{"bi:read"}}); err != nil {
		t.Fatalf("same name in another tenant: %v", err)
	}
}

func TestAnotherTenantsKeyIsNotFound(t *testing.T) {
	ctx := context.Background()
	st := newStack(t, apikey.Config{})
	acme, _ := st.bootstrap(t, "acme")
	globex, _ := st.bootstrap(t, "globex")
	k, err := st.svc.Create(ctx, acme, apikey.CreateInput{Name: "CRM", Scopes: []string{"crm:read"}})
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"Get": func() error { _, err := st.svc.Get(ctx, globex, k.ID); return err },
		"Edit": func() error {
			_, err := st.svc.Update(ctx, globex, k.ID, apikey.PatchInput{Name: strp("x")}, nil)
			return err
		},
		"Rotate": func() error { _, err := st.svc.Rotate(ctx, globex, k.ID, apikey.RotateInput{}, nil); return err },
		"Revoke": func() error { _, err := st.svc.Revoke(ctx, globex, k.ID); return err },
		"BatchRevoke": func() error {
			res, err := st.svc.BatchRevoke(ctx, globex, []string{k.ID})
			if err != nil {
				return err
			}
			return &apikey.Error{Code: apikey.Code(res[0].Error.Code)}
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			if err := call(); code(err) != apikey.ECodeNotFound {
				t.Fatalf("err = %v, want not_found", err)
			}
		})
	}
	page, err := st.svc.List(ctx, globex, apikey.ListInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range page.Items {
		if it.TenantID != "globex" {
			t.Fatalf("globex lists acme's key %s", it.ID)
		}
	}
	got, err := st.svc.Get(ctx, acme, k.ID)
	if err != nil || got.Version != 1 || got.Status != apikey.StatusActive {
		t.Fatalf("acme's key changed: %+v, %v", got, err)
	}
}

func TestScopesLimitWhatAKeyCanGrantAndDo(t *testing.T) {
	ctx := context.Background()
	st := newStack(t, apikey.Config{})
	admin, _ := st.bootstrap(t, "acme")
	w, err := st.svc.Create(ctx, admin, apikey.CreateInput{Name: "writer", Scopes: []string{"keys:write", "recordings:read"}})
	if err != nil {
		t.Fatal(err)
	}
	writer := apikey.Caller{TenantID: "acme", KeyID: w.ID, Scopes: w.Scopes}
	tests := []struct {
		name   string
		scopes []string
		code   apikey.Code
	}{
		{"CannotGrantAdmin", []string{"keys:admin"}, apikey.ECodeForbidden},
		{"CannotGrantAScopeItLacks", []string{"recordings:write"}, apikey.ECodeForbidden},
		{"CannotGrantRevoke", []string{"keys:revoke"}, apikey.ECodeForbidden},
		{"CanGrantAScopeItHolds", []string{"recordings:read"}, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := st.svc.Create(ctx, writer, apikey.CreateInput{Name: fmt.Sprint("k", i), Scopes: tt.scopes})
			if got := code(err); got != tt.code {
				t.Fatalf("code = %q, want %q (%v)", got, tt.code, err)
			}
		})
	}
	if _, err := st.svc.Revoke(ctx, writer, w.ID); code(err) != apikey.ECodeForbidden {
		t.Fatalf("revoke without keys:revoke: err = %v, want forbidden", err)
	}
	if _, err := st.svc.List(ctx, writer, apikey.ListInput{}); code(err) != apikey.ECodeForbidden {
		t.Fatalf("list without keys:read: err = %v, want forbidden", err)
	}
}

func TestTheDefaultKey(t *testing.T) {
	ctx := context.Background()
	st := newStack(t, apikey.Config{})
	admin, def := st.bootstrap(t, "acme")
	if !def.IsDefault || len(def.Scopes) != 1 || def.Scopes[0] != apikey.ScopeAdmin {
		t.Fatalf("default key = %+v", def.Key)
	}
	if _, err := st.svc.Bootstrap(ctx, "acme", "system:test"); code(err) != apikey.ECodeTenantAlreadyExists {
		t.Fatalf("second bootstrap: err = %v, want tenant_exists", err)
	}
	if _, err := st.svc.Update(ctx, admin, def.ID, apikey.PatchInput{Description: strp("x")}, nil); code(err) != apikey.ECodeDefaultImmutable {
		t.Fatalf("edit default: err = %v, want default_key_immutable", err)
	}
	if _, err := st.svc.Revoke(ctx, admin, def.ID); code(err) != apikey.ECodeDefaultImmutable {
		t.Fatalf("revoke default: err = %v, want default_key_immutable", err)
	}
	rot, err := st.svc.Rotate(ctx, admin, def.ID, apikey.RotateInput{}, nil)
	if err != nil {
		t.Fatalf("rotate default: %v", err)
	}
	if _, c, _ := st.svc.Verify(ctx, def.ID, rot.Secret); c != apikey.CodeValid {
		t.Fatalf("rotated default key verifies as %s", c)
	}
}

func TestPaginationVisitsEveryKeyOnce(t *testing.T) {
	ctx := context.Background()
	st := newStack(t, apikey.Config{})
	admin, def := st.bootstrap(t, "acme")
	const n = 250
	ids := make([]string, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			typ := "client"
			if i%3 == 0 {
				typ = "partner"
			}
			k, err := st.svc.Create(ctx, admin, apikey.CreateInput{Name: fmt.Sprintf("Key %03d", i), Type: typ, Scopes: []string{"x:read"}})
			if err != nil {
				errs <- err
				return
			}
			ids[i] = k.ID
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	walk := func(in apikey.ListInput) []apikey.Key {
		t.Helper()
		var all []apikey.Key
		for pages := 0; ; pages++ {
			if pages > n {
				t.Fatal("pagination does not end")
			}
			page, err := st.svc.List(ctx, admin, in)
			if err != nil {
				t.Fatalf("list %+v: %v", in, err)
			}
			all = append(all, page.Items...)
			if page.NextCursor == nil {
				return all
			}
			in.Cursor = *page.NextCursor
		}
	}
	check := func(name string, got []apikey.Key, want int, newestFirst bool) {
		t.Helper()
		seen := map[string]int{}
		for i, k := range got {
			seen[k.ID]++
			if newestFirst && i > 0 && got[i-1].ID < k.ID {
				t.Errorf("%s: not newest first at %d", name, i)
			}
		}
		if len(got) != want || len(seen) != want {
			t.Errorf("%s: visited %d keys (%d distinct), want %d each once", name, len(got), len(seen), want)
		}
	}
	check("limit 7", walk(apikey.ListInput{Limit: 7}), n+1, true)
	check("limit 100", walk(apikey.ListInput{Limit: 100}), n+1, true)
	check("type filter", walk(apikey.ListInput{Limit: 9, Type: "partner"}), 84, true)
	check("name prefix", walk(apikey.ListInput{Limit: 11, Q: "key 1"}), 100, false)
	_ = def

	// A tampered cursor, or one replayed with other filters or by another tenant, is a 400.
	page, err := st.svc.List(ctx, admin, apikey.ListInput{Limit: 5})
	if err != nil || page.NextCursor == nil {
		t.Fatalf("first page: %v", err)
	}
	cur := *page.NextCursor
	globex, _ := st.bootstrap(t, "globex")
	tampered := []struct {
		name   string
		caller apikey.Caller
		in     apikey.ListInput
	}{
		{"FlippedCharacter", admin, apikey.ListInput{Limit: 5, Cursor: flip(cur, 3)}},
		{"FlippedTag", admin, apikey.ListInput{Limit: 5, Cursor: flip(cur, len(cur)-2)}},
		{"Garbage", admin, apikey.ListInput{Limit: 5, Cursor: "not-a-cursor"}},
		{"OtherFilters", admin, apikey.ListInput{Limit: 5, Cursor: cur, Status: "active"}},
		{"OtherTenant", globex, apikey.ListInput{Limit: 5, Cursor: cur}},
	}
	for _, tt := range tampered {
		t.Run(tt.name, func(t *testing.T) {
			_, err := st.svc.List(ctx, tt.caller, tt.in)
			if e, ok := apikey.AsError(err); !ok || e.Code != apikey.ECodeInvalid || e.Field != "cursor" {
				t.Fatalf("err = %v, want invalid_request naming cursor", err)
			}
		})
	}
}

func flip(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func TestBatchRevokeReportsEachID(t *testing.T) {
	ctx := context.Background()
	st := newStack(t, apikey.Config{})
	admin, def := st.bootstrap(t, "acme")
	globex, _ := st.bootstrap(t, "globex")
	a, _ := st.svc.Create(ctx, admin, apikey.CreateInput{Name: "a", Scopes: []string{"x:read"}})
	b, _ := st.svc.Create(ctx, admin, apikey.CreateInput{Name: "b", Scopes: []string{"x:read"}})
	if _, err := st.svc.Revoke(ctx, admin, b.ID); err != nil {
		t.Fatal(err)
	}
	foreign, _ := st.svc.Create(ctx, globex, apikey.CreateInput{Name: "g", Scopes: []string{"x:read"}})
	unknown := "key_01JD0000000000000000000000"
	res, err := st.svc.BatchRevoke(ctx, admin, []string{a.ID, b.ID, def.ID, foreign.ID, unknown, "garbage", a.ID})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ id, status, code string }{
		{a.ID, "revoked", ""},
		{b.ID, "revoked", ""},
		{def.ID, "error", string(apikey.ECodeDefaultImmutable)},
		{foreign.ID, "error", string(apikey.ECodeNotFound)},
		{unknown, "error", string(apikey.ECodeNotFound)},
		{"garbage", "error", string(apikey.ECodeNotFound)},
	}
	if len(res) != len(want) {
		t.Fatalf("got %d results, want %d (duplicates reported once)", len(res), len(want))
	}
	for i, w := range want {
		r := res[i]
		c := ""
		if r.Error != nil {
			c = r.Error.Code
		}
		if r.ID != w.id || r.Status != w.status || c != w.code {
			t.Errorf("result %d = %+v (code %q), want %+v", i, r, c, w)
		}
	}
	got, _ := st.svc.Get(ctx, globex, foreign.ID)
	if got.Status != apikey.StatusActive {
		t.Fatalf("another tenant's key was revoked")
	}
	if !strings.HasPrefix(a.Token, "kw_") {
		t.Fatal("token prefix")
	}
}

func TestAnEditThatChangesNothingWritesNothing(t *testing.T) {
	ctx := context.Background()
	st := newStack(t, apikey.Config{})
	admin, _ := st.bootstrap(t, "acme")
	k, err := st.svc.Create(ctx, admin, apikey.CreateInput{Name: "QA", Description: "d", Scopes: []string{"qa:read"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []apikey.PatchInput{{}, {Name: strp("QA"), Description: strp("d")}} {
		got, err := st.svc.Update(ctx, admin, k.ID, in, i64p(1))
		if err != nil || got.Version != 1 {
			t.Fatalf("no-op edit = version %d, %v; want version 1 unchanged", got.Version, err)
		}
	}
}
