package dynamostore_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyward/keyward/pkg/apikey"
)

// No key acts above itself: every refusal below is a 403 that leaves the
// target key exactly as it was (same version, so no stream record and no
// audit record) and mints nothing.

// callerOf returns the Caller an authorizer would pass for an issued key.
func callerOf(k *apikey.Issued) apikey.Caller {
	return apikey.Caller{TenantID: k.TenantID, KeyID: k.ID, Scopes: k.Scopes, RequestID: "req-" + k.ID, SourceIP: "10.1.2.3"}
}

// mustCreate creates a key as the caller or fails the test.
func mustCreate(t *testing.T, st *stack, c apikey.Caller, in apikey.CreateInput) *apikey.Issued {
	t.Helper()
	k, err := st.svc.Create(context.Background(), c, in)
	if err != nil {
		t.Fatalf("create %q: %v", in.Name, err)
	}
	return k
}

// assertUnchanged fails unless the key is still at version want and active.
func assertUnchanged(t *testing.T, st *stack, admin apikey.Caller, id string, want int64) {
	t.Helper()
	k, err := st.svc.Get(context.Background(), admin, id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	if k.Version != want || k.Status != apikey.StatusActive {
		t.Fatalf("key %s is at version %d (%s), want untouched version %d", id, k.Version, k.Status, want)
	}
}

// assertKeyCount fails unless the tenant lists exactly n keys.
func assertKeyCount(t *testing.T, st *stack, admin apikey.Caller, n int) {
	t.Helper()
	page, err := st.svc.List(context.Background(), admin, apikey.ListInput{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != n {
		t.Fatalf("tenant has %d keys, want %d (a refused create wrote something)", len(page.Items), n)
	}
}

func TestAWriteKeyCannotTakeOverTheDefaultKey(t *testing.T) {
	ctx := context.Background()
	st := newStack(t, apikey.Config{})
	admin, def := st.bootstrap(t, "acme")
	writer := callerOf(mustCreate(t, st, admin, apikey.CreateInput{Name: "writer", Scopes: []string{"keys:write", "keys:read", "keys:revoke"}}))

	if _, err := st.svc.Rotate(ctx, writer, def.ID, apikey.RotateInput{}, nil); code(err) != apikey.ECodeForbidden {
		t.Fatalf("keys:write rotating the default key: err = %v, want forbidden", err)
	}
	// The default key is never edited or revoked through the API, whoever asks.
	if _, err := st.svc.Update(ctx, writer, def.ID, apikey.PatchInput{Description: strp("mine")}, nil); code(err) != apikey.ECodeDefaultImmutable {
		t.Fatalf("keys:write editing the default key: err = %v, want default_key_immutable", err)
	}
	if _, err := st.svc.Revoke(ctx, writer, def.ID); code(err) != apikey.ECodeDefaultImmutable {
		t.Fatalf("keys:revoke revoking the default key: err = %v, want default_key_immutable", err)
	}
	assertUnchanged(t, st, admin, def.ID, 1)
	if _, c, _ := st.svc.Verify(ctx, def.ID, def.Secret); c != apikey.CodeValid {
		t.Fatalf("the default key's secret no longer verifies: %s", c)
	}
	// The default key rotates itself.
	if _, err := st.svc.Rotate(ctx, admin, def.ID, apikey.RotateInput{}, nil); err != nil {
		t.Fatalf("the default key rotating itself: %v", err)
	}
}

func TestAWriteKeyCannotEditKeysAboveItself(t *testing.T) {
	ctx := context.Background()
	st := newStack(t, apikey.Config{})
	admin, _ := st.bootstrap(t, "acme")
	writer := callerOf(mustCreate(t, st, admin, apikey.CreateInput{Name: "writer", Scopes: []string{"keys:write", "recordings:read"}}))
	above := mustCreate(t, st, admin, apikey.CreateInput{
		Name: "ops", Scopes: []string{"keys:write", "keys:revoke", "recordings:read"},
		AllowList: &apikey.AllowList{IPs: []string{"203.0.113.0/24"}},
	})
	soon := st.clock.Now().Add(2 * time.Second).Format(time.RFC3339)
	tests := []struct {
		name string
		in   apikey.PatchInput
	}{
		{"RemoveItsAllowList", apikey.PatchInput{AllowList: &apikey.AllowList{}}},
		{"MoveItsExpiryTwoSecondsAhead", apikey.PatchInput{ExpiresAt: &soon}},
		{"RenameIt", apikey.PatchInput{Name: strp("pwned")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := st.svc.Update(ctx, writer, above.ID, tt.in, nil); code(err) != apikey.ECodeForbidden {
				t.Fatalf("err = %v, want forbidden", err)
			}
			assertUnchanged(t, st, admin, above.ID, 1)
		})
	}
	if _, err := st.svc.Rotate(ctx, writer, above.ID, apikey.RotateInput{}, nil); code(err) != apikey.ECodeForbidden {
		t.Fatalf("rotate a key above: err = %v, want forbidden", err)
	}
	assertUnchanged(t, st, admin, above.ID, 1)

	// A key the writer could have granted is its to edit and rotate.
	peer := mustCreate(t, st, admin, apikey.CreateInput{Name: "peer", Scopes: []string{"recordings:read"}})
	if _, err := st.svc.Update(ctx, writer, peer.ID, apikey.PatchInput{ExpiresAt: &soon}, nil); err != nil {
		t.Fatalf("edit a key below: %v", err)
	}
	if _, err := st.svc.Rotate(ctx, writer, peer.ID, apikey.RotateInput{}, nil); err != nil {
		t.Fatalf("rotate a key below: %v", err)
	}

	// keys:revoke alone does not reach a key holding scopes the revoker lacks.
	revoker := callerOf(mustCreate(t, st, admin, apikey.CreateInput{Name: "revoker", Scopes: []string{"keys:revoke", "keys:write"}}))
	if _, err := st.svc.Revoke(ctx, revoker, above.ID); code(err) != apikey.ECodeForbidden {
		t.Fatalf("revoke a key above: err = %v, want forbidden", err)
	}
	res, err := st.svc.BatchRevoke(ctx, revoker, []string{above.ID})
	if err != nil || len(res) != 1 || res[0].Error == nil || res[0].Error.Code != string(apikey.ECodeForbidden) {
		t.Fatalf("batch revoke a key above: %+v, %v; want one forbidden result", res, err)
	}
	assertUnchanged(t, st, admin, above.ID, 1)
}

func TestNobodyGrantsKeysAdmin(t *testing.T) {
	ctx := context.Background()
	st := newStack(t, apikey.Config{})
	admin, _ := st.bootstrap(t, "acme")
	for _, scopes := range [][]string{{"keys:admin"}, {"keys:read", "keys:admin"}} {
		if _, err := st.svc.Create(ctx, admin, apikey.CreateInput{Name: "second-admin", Scopes: scopes}); code(err) != apikey.ECodeForbidden {
			t.Fatalf("keys:admin granting %v: err = %v, want forbidden", scopes, err)
		}
	}
	// keys:* is granted by keys:admin, but it does not imply keys:admin: it
	// neither grants keys:admin nor grants scopes it does not hold.
	star := callerOf(mustCreate(t, st, admin, apikey.CreateInput{Name: "star", Scopes: []string{"keys:*"}}))
	for _, scopes := range [][]string{{"keys:admin"}, {"recordings:read"}} {
		if _, err := st.svc.Create(ctx, star, apikey.CreateInput{Name: "escalated", Scopes: scopes}); code(err) != apikey.ECodeForbidden {
			t.Fatalf("keys:* granting %v: err = %v, want forbidden", scopes, err)
		}
	}
	if !apikey.HasScope([]string{"keys:*"}, "keys:write") || apikey.HasScope([]string{"keys:*"}, "keys:admin") {
		t.Fatal("keys:* must imply keys:write and not keys:admin")
	}
	assertKeyCount(t, st, admin, 2)
}

func TestARestrictedKeyCannotMintAnUnrestrictedCopy(t *testing.T) {
	ctx := context.Background()
	st := newStack(t, apikey.Config{})
	admin, _ := st.bootstrap(t, "acme")
	hour := st.clock.Now().Add(time.Hour)
	hourS := hour.Format(time.RFC3339)
	pinned := mustCreate(t, st, admin, apikey.CreateInput{
		Name: "pinned", Scopes: []string{"keys:write", "keys:read"}, ExpiresAt: &hourS,
		AllowList: &apikey.AllowList{IPs: []string{"10.1.2.3/32"}, Origins: []string{"*.example.com"}},
	})
	writer := callerOf(pinned)
	later := hour.Add(time.Second).Format(time.RFC3339)
	narrowIPs := &apikey.AllowList{IPs: []string{"10.1.2.3"}, Origins: []string{"https://crm.example.com"}}
	tests := []struct {
		name string
		in   apikey.CreateInput
	}{
		{"NoAllowListNoExpiry", apikey.CreateInput{Scopes: pinned.Scopes}},
		{"NoExpiry", apikey.CreateInput{Scopes: pinned.Scopes, AllowList: narrowIPs}},
		{"ExpiresAfterTheCaller", apikey.CreateInput{Scopes: pinned.Scopes, AllowList: narrowIPs, ExpiresAt: &later}},
		{"WiderCIDR", apikey.CreateInput{Scopes: pinned.Scopes, ExpiresAt: &hourS, AllowList: &apikey.AllowList{IPs: []string{"10.1.2.0/24"}, Origins: []string{"https://crm.example.com"}}}},
		{"AnyOrigin", apikey.CreateInput{Scopes: pinned.Scopes, ExpiresAt: &hourS, AllowList: &apikey.AllowList{IPs: []string{"10.1.2.3/32"}}}},
		{"OtherOrigin", apikey.CreateInput{Scopes: pinned.Scopes, ExpiresAt: &hourS, AllowList: &apikey.AllowList{IPs: []string{"10.1.2.3/32"}, Origins: []string{"https://evil.example.net"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Name = "copy"
			if _, err := st.svc.Create(ctx, writer, tt.in); code(err) != apikey.ECodeForbidden {
				t.Fatalf("err = %v, want forbidden", err)
			}
		})
	}
	assertKeyCount(t, st, admin, 2)

	// Inside every restriction, it may create.
	ok := mustCreate(t, st, writer, apikey.CreateInput{Name: "copy", Scopes: []string{"keys:read"}, ExpiresAt: &hourS, AllowList: narrowIPs})
	// It may not widen a key's allow-list beyond its own, nor rotate (and so
	// obtain a credential for) a key wider than itself.
	if _, err := st.svc.Update(ctx, writer, ok.ID, apikey.PatchInput{AllowList: &apikey.AllowList{}}, nil); code(err) != apikey.ECodeForbidden {
		t.Fatalf("widen an allow-list: err = %v, want forbidden", err)
	}
	free := mustCreate(t, st, admin, apikey.CreateInput{Name: "free", Scopes: []string{"keys:read"}})
	if _, err := st.svc.Rotate(ctx, writer, free.ID, apikey.RotateInput{}, nil); code(err) != apikey.ECodeForbidden {
		t.Fatalf("rotate an unrestricted key: err = %v, want forbidden", err)
	}
	assertUnchanged(t, st, admin, free.ID, 1)
	assertUnchanged(t, st, admin, ok.ID, 1)

	// Once the caller's key is revoked, it creates nothing, even if an
	// authorizer cache still lets it through.
	if _, err := st.svc.Revoke(ctx, admin, pinned.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.svc.Create(ctx, writer, apikey.CreateInput{Name: "late", Scopes: []string{"keys:read"}, ExpiresAt: &hourS, AllowList: narrowIPs}); code(err) != apikey.ECodeUnauthorized {
		t.Fatalf("create by a revoked key: err = %v, want unauthorized", err)
	}
}
