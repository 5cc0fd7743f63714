package dynamostore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/unicoderules"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

// faultStack is the lifecycle over the same tables reached through an SDK
// transport that injects faults (keywardtest.Faults), beside the clean stack
// the test checks the outcome with.
type faultStack struct {
	*stack
	f     *keywardtest.Faults
	svc   *apikey.Service // through the faults
	admin apikey.Caller
	seen  *secrets
}

func newFaultStack(t *testing.T) *faultStack {
	t.Helper()
	st := newStack(t, apikey.Config{})
	admin, def := st.bootstrap(t, "acme")
	f := keywardtest.NewFaults(t)
	fs := &faultStack{stack: st, f: f, svc: st.keys.WithFaults(t, f).Service, admin: admin, seen: &secrets{}}
	fs.seen.add(def)
	t.Cleanup(func() { assertNoSecretsAtRest(t, st, fs.seen.vals) })
	return fs
}

// key creates a key through the clean stack.
func (fs *faultStack) key(t *testing.T, name string) *apikey.Issued {
	t.Helper()
	iss, err := fs.stack.svc.Create(context.Background(), fs.admin, apikey.CreateInput{Name: name, Scopes: []string{"recordings:read"}})
	if err != nil {
		t.Fatalf("create %q: %v", name, err)
	}
	fs.seen.add(iss)
	return iss
}

// verify checks a key's secret through the clean stack.
func (fs *faultStack) verify(t *testing.T, id, secret string) apikey.VerifyCode {
	t.Helper()
	_, code, err := fs.stack.svc.Verify(context.Background(), id, secret)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return code
}

// counts says how many items a write added, removed and changed.
type counts struct{ added, removed, changed int }

func (fs *faultStack) expectDiff(t *testing.T, before *keywardtest.Mark, want counts) {
	t.Helper()
	d := before.Diff(t)
	if got := (counts{len(d.Added), len(d.Removed), len(d.Changed)}); got != want {
		t.Fatalf("table change = %v, want %d added, %d removed, %d changed", d, want.added, want.removed, want.changed)
	}
}

// TestACommittedWriteWhoseAnswerWasLostIsReportedAsCommitted: the SDK
// retries a write whose answer was lost after DynamoDB committed it; the
// retry fails the write's own condition, and the store recognises the
// committed version as its own (the write's token in the item), so the
// caller gets success, and the write is made once.
func TestACommittedWriteWhoseAnswerWasLostIsReportedAsCommitted(t *testing.T) {
	ctx := context.Background()
	fs := newFaultStack(t)

	t.Run("RotateWithIfMatch", func(t *testing.T) {
		k := fs.key(t, "rotate if-match")
		fs.f.Arm(keywardtest.Rule{Op: "PutItem", Body: k.ID, Times: 1, Fault: keywardtest.Drop})
		defer fs.f.Clear()
		before := fs.keys.Mark(t)
		puts := fs.f.Calls("PutItem")
		got, err := fs.svc.Rotate(ctx, fs.admin, k.ID, apikey.RotateInput{}, i64p(k.Version))
		if err != nil {
			t.Fatalf("rotate = %v, want success (the write committed)", err)
		}
		fs.seen.add(got)
		if n := fs.f.Calls("PutItem") - puts; n != 2 {
			t.Errorf("PutItem calls = %d, want 2 (the lost answer and the SDK's retry)", n)
		}
		if got.Version != k.Version+1 {
			t.Errorf("version = %d, want %d", got.Version, k.Version+1)
		}
		fs.expectDiff(t, before, counts{changed: 1})
		if c := fs.verify(t, k.ID, got.Secret); c != apikey.CodeValid {
			t.Errorf("the new secret verifies as %s, want VALID", c)
		}
		if c := fs.verify(t, k.ID, k.Secret); c != apikey.CodeInvalidSecret {
			t.Errorf("the old secret verifies as %s, want INVALID_SECRET", c)
		}
	})

	t.Run("EditWithoutIfMatchWritesOnce", func(t *testing.T) {
		k := fs.key(t, "edit once")
		fs.f.Arm(keywardtest.Rule{Op: "PutItem", Body: k.ID, Times: 1, Fault: keywardtest.Drop})
		defer fs.f.Clear()
		got, err := fs.svc.Update(ctx, fs.admin, k.ID, apikey.PatchInput{Description: strp("once")}, nil)
		if err != nil {
			t.Fatalf("update = %v", err)
		}
		if got.Version != k.Version+1 || got.Description != "once" {
			t.Errorf("version %d, description %q; want %d (one write, not a second on re-read), %q", got.Version, got.Description, k.Version+1, "once")
		}
	})

	t.Run("EveryAnswerLost", func(t *testing.T) {
		// The first attempt commits; every retry's answer (a failed
		// condition) is lost too. A consistent read settles it.
		k := fs.key(t, "every answer lost")
		fs.f.Arm(keywardtest.Rule{Op: "PutItem", Body: k.ID, Fault: keywardtest.Drop})
		defer fs.f.Clear()
		got, err := fs.svc.Rotate(ctx, fs.admin, k.ID, apikey.RotateInput{}, i64p(k.Version))
		if err != nil {
			t.Fatalf("rotate = %v, want success (the write committed)", err)
		}
		fs.seen.add(got)
		if c := fs.verify(t, k.ID, got.Secret); c != apikey.CodeValid {
			t.Errorf("the new secret verifies as %s, want VALID", c)
		}
	})

	// DynamoDB answers a retried transaction with success while it remembers
	// the SDK's ClientRequestToken; ForgetTokens makes the retry one it does
	// not recognise, so it fails on the transaction's own conditions (the
	// name claim is taken — by this very write).
	transactions := []struct {
		name  string
		token bool   // DynamoDB remembers the token
		key   string // the key to write, made first ("" for a create)
		write func(t *testing.T, k *apikey.Issued) (check func(t *testing.T), err error)
		want  counts
	}{
		{"CreateTokenRemembered", true, "", func(t *testing.T, _ *apikey.Issued) (func(*testing.T), error) {
			return fs.create(t, "created remembered")
		}, counts{added: 2}},
		{"CreateTokenForgotten", false, "", func(t *testing.T, _ *apikey.Issued) (func(*testing.T), error) {
			return fs.create(t, "created forgotten")
		}, counts{added: 2}},
		{"RenameTokenForgotten", false, "before rename", func(t *testing.T, k *apikey.Issued) (func(*testing.T), error) {
			fs.arm(k.ID)
			got, err := fs.svc.Update(ctx, fs.admin, k.ID, apikey.PatchInput{Name: strp("after rename")}, i64p(k.Version))
			return func(t *testing.T) {
				if got.Name != "after rename" || got.Version != k.Version+1 {
					t.Errorf("renamed key = %q v%d", got.Name, got.Version)
				}
			}, err
		}, counts{added: 1, removed: 1, changed: 1}},
		{"RevokeTokenForgotten", false, "to revoke", func(t *testing.T, k *apikey.Issued) (func(*testing.T), error) {
			fs.arm(k.ID)
			got, err := fs.svc.Revoke(ctx, fs.admin, k.ID)
			return func(t *testing.T) {
				if got.Status != apikey.StatusRevoked {
					t.Errorf("status = %s", got.Status)
				}
				if c := fs.verify(t, k.ID, k.Secret); c != apikey.CodeRevoked {
					t.Errorf("the revoked key verifies as %s", c)
				}
			}, err
		}, counts{removed: 1, changed: 1}},
	}
	for _, c := range transactions {
		t.Run(c.name, func(t *testing.T) {
			var k *apikey.Issued
			if c.key != "" {
				k = fs.key(t, c.key)
			}
			fs.f.ForgetTokens(!c.token)
			defer fs.f.Clear()
			before := fs.keys.Mark(t)
			check, err := c.write(t, k)
			if err != nil {
				t.Fatalf("err = %v, want success (the transaction committed)", err)
			}
			check(t)
			fs.expectDiff(t, before, c.want)
		})
	}

	t.Run("AnotherWritersVersionIsAConflict", func(t *testing.T) {
		k := fs.key(t, "raced")
		if _, err := fs.stack.svc.Update(ctx, fs.admin, k.ID, apikey.PatchInput{Description: strp("first")}, nil); err != nil {
			t.Fatal(err)
		}
		_, err := fs.svc.Update(ctx, fs.admin, k.ID, apikey.PatchInput{Description: strp("second")}, i64p(k.Version))
		if code(err) != apikey.ECodePreconditionFailed {
			t.Fatalf("err = %v, want precondition_failed", err)
		}
	})
}

// arm loses the first answer to a transaction naming id.
func (fs *faultStack) arm(id string) {
	fs.f.Arm(keywardtest.Rule{Op: "TransactWriteItems", Body: id, Times: 1, Fault: keywardtest.Drop})
}

// create makes a key through the faults, losing the answer to its
// transaction (which names the key's name claim), and checks it is listed once.
func (fs *faultStack) create(t *testing.T, name string) (func(*testing.T), error) {
	fs.f.Arm(keywardtest.Rule{Op: "TransactWriteItems", Body: unicoderules.NameKey(name), Times: 1, Fault: keywardtest.Drop})
	iss, err := fs.svc.Create(context.Background(), fs.admin, apikey.CreateInput{Name: name, Scopes: []string{"recordings:read"}})
	return func(t *testing.T) {
		fs.seen.add(iss)
		page, err := fs.stack.svc.List(context.Background(), fs.admin, apikey.ListInput{Q: name})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 1 || page.Items[0].ID != iss.ID {
			t.Errorf("listed %d keys named %q, want exactly the created one", len(page.Items), name)
		}
		if c := fs.verify(t, iss.ID, iss.Secret); c != apikey.CodeValid {
			t.Errorf("the new key verifies as %s", c)
		}
	}, err
}

// TestAFailedReadAfterACommittedWriteLeavesOutLastUsedAt: the usage read
// that decorates a write's answer fails; the write is still reported as
// made (a rotation's new secret returned), without lastUsedAt, with one
// warning logged.
func TestAFailedReadAfterACommittedWriteLeavesOutLastUsedAt(t *testing.T) {
	ctx := context.Background()
	fs := newFaultStack(t)
	k := fs.key(t, "used")
	if _, err := fs.store.TouchLastUsed(ctx, k.ID, fs.clock.Now(), time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := fs.svc.Update(ctx, fs.admin, k.ID, apikey.PatchInput{Description: strp("with usage")}, nil)
	if err != nil || got.LastUsedAt == nil {
		t.Fatalf("update = %v, lastUsedAt %v; want it shown when the read works", err, got.LastUsedAt)
	}

	fs.f.Arm(keywardtest.Rule{Op: "BatchGetItem", Body: "USAGE", Fault: keywardtest.Refuse})
	defer fs.f.Clear()
	cases := []struct {
		name  string
		write func() (*apikey.Key, string, error)
	}{
		{"Rotate", func() (*apikey.Key, string, error) {
			iss, err := fs.svc.Rotate(ctx, fs.admin, k.ID, apikey.RotateInput{}, nil)
			if err != nil {
				return nil, "", err
			}
			fs.seen.add(iss)
			return &iss.Key, iss.Secret, nil
		}},
		{"Edit", func() (*apikey.Key, string, error) {
			got, err := fs.svc.Update(ctx, fs.admin, k.ID, apikey.PatchInput{Description: strp("edited")}, nil)
			return got, "", err
		}},
		{"Revoke", func() (*apikey.Key, string, error) {
			got, err := fs.svc.Revoke(ctx, fs.admin, k.ID)
			return got, "", err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mark := len(logs.String())
			got, secret, err := c.write()
			if err != nil {
				t.Fatalf("err = %v, want success (the write committed)", err)
			}
			if got.LastUsedAt != nil {
				t.Errorf("lastUsedAt = %v, want it left out", got.LastUsedAt)
			}
			if secret != "" {
				if c := fs.verify(t, k.ID, secret); c != apikey.CodeValid {
					t.Errorf("the returned secret verifies as %s, want VALID", c)
				}
			}
			if n := strings.Count(logs.String()[mark:], "lastUsedAt left out"); n != 1 {
				t.Errorf("warnings = %d, want 1:\n%s", n, logs.String()[mark:])
			}
		})
	}
}

// TestBatchRevokeCarriesOnPastAFailure: one ID's write fails; the batch
// revokes the others and reports every ID's own outcome, the internal one
// with a generic message.
func TestBatchRevokeCarriesOnPastAFailure(t *testing.T) {
	ctx := context.Background()
	fs := newFaultStack(t)
	a, b, c, d := fs.key(t, "a"), fs.key(t, "b"), fs.key(t, "c"), fs.key(t, "d")
	fs.f.Arm(keywardtest.Rule{Op: "TransactWriteItems", Body: b.ID, Fault: keywardtest.Refuse})
	fs.f.Arm(keywardtest.Rule{Op: "TransactWriteItems", Body: c.ID, Fault: keywardtest.Throttle})
	defer fs.f.Clear()
	before := fs.keys.Mark(t)
	mark := len(logs.String())
	res, err := fs.svc.BatchRevoke(ctx, fs.admin, []string{a.ID, b.ID, c.ID, d.ID})
	if err != nil {
		t.Fatalf("batch = %v, want a result per ID", err)
	}
	want := []apikey.BatchResult{
		{ID: a.ID, Status: "revoked"},
		{ID: b.ID, Status: "error", Error: &apikey.ErrorBody{Code: "internal", Message: "internal error"}},
		{ID: c.ID, Status: "error", Error: &apikey.ErrorBody{Code: "unavailable", Message: apikey.ErrUnavailable.Message}},
		{ID: d.ID, Status: "revoked"},
	}
	if len(res) != len(want) {
		t.Fatalf("results = %+v", res)
	}
	for i, w := range want {
		r := res[i]
		if r.ID != w.ID || r.Status != w.Status || (r.Error == nil) != (w.Error == nil) || r.Error != nil && *r.Error != *w.Error {
			t.Errorf("result %d = %+v %+v, want %+v %+v", i, r, r.Error, w, w.Error)
		}
	}
	fs.expectDiff(t, before, counts{removed: 2, changed: 2})
	for _, k := range []*apikey.Issued{b, c} {
		if c := fs.verify(t, k.ID, k.Secret); c != apikey.CodeValid {
			t.Errorf("the key that failed to revoke verifies as %s, want VALID (unchanged)", c)
		}
	}
	if n := strings.Count(logs.String()[mark:], "batch revoke: key not revoked"); n != 2 {
		t.Errorf("log lines = %d, want one per failed ID:\n%s", n, logs.String()[mark:])
	}
}

// TestThrottlingIsUnavailable: a throttled write (after the SDK's retries)
// or one kept in conflict with other transactions is unavailable, with no
// AWS text, and changes nothing; a throttle the SDK's retry gets past is
// success.
func TestThrottlingIsUnavailable(t *testing.T) {
	ctx := context.Background()
	fs := newFaultStack(t)
	cases := []struct {
		name  string
		rule  keywardtest.Rule
		write string
		want  apikey.Code
	}{
		{"ThrottledUpdate", keywardtest.Rule{Op: "PutItem", Fault: keywardtest.Throttle}, "edit", apikey.ECodeUnavailable},
		{"ProvisionedThroughputUpdate", keywardtest.Rule{Op: "PutItem", Fault: keywardtest.ProvisionedThroughput}, "rotate", apikey.ECodeUnavailable},
		{"ThrottledRead", keywardtest.Rule{Op: "BatchGetItem", Fault: keywardtest.Throttle}, "rotate", apikey.ECodeUnavailable},
		{"ThrottledTransaction", keywardtest.Rule{Op: "TransactWriteItems", Fault: keywardtest.Throttle}, "rename", apikey.ECodeUnavailable},
		{"ConflictingTransaction", keywardtest.Rule{Op: "TransactWriteItems", Fault: keywardtest.TransactionConflict}, "revoke", apikey.ECodeUnavailable},
		{"ConflictOnce", keywardtest.Rule{Op: "TransactWriteItems", Times: 1, Fault: keywardtest.TransactionConflict}, "rename", ""},
		{"ThrottledOnce", keywardtest.Rule{Op: "PutItem", Times: 1, Fault: keywardtest.Throttle}, "rotate", ""},
		{"ServerErrors", keywardtest.Rule{Op: "PutItem", Fault: keywardtest.ServerError}, "edit", apikey.ECodeInternal},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := fs.key(t, "throttled "+c.name)
			r := c.rule
			if r.Op != "BatchGetItem" {
				r.Body = k.ID
			}
			fs.f.Arm(r)
			defer fs.f.Clear()
			before := fs.keys.Mark(t)
			var err error
			switch c.write {
			case "edit":
				_, err = fs.svc.Update(ctx, fs.admin, k.ID, apikey.PatchInput{Description: strp("x")}, nil)
			case "rename":
				_, err = fs.svc.Update(ctx, fs.admin, k.ID, apikey.PatchInput{Name: strp("renamed " + c.name)}, nil)
			case "rotate":
				var iss *apikey.Issued
				if iss, err = fs.svc.Rotate(ctx, fs.admin, k.ID, apikey.RotateInput{}, nil); err == nil {
					fs.seen.add(iss)
				}
			case "revoke":
				_, err = fs.svc.Revoke(ctx, fs.admin, k.ID)
			}
			if code(err) != c.want {
				t.Fatalf("case %d: err = %v, want %q", i, err, c.want)
			}
			if c.want == apikey.ECodeUnavailable && err.Error() != apikey.ErrUnavailable.Error() {
				t.Errorf("err = %q, want %q (no AWS text)", err, apikey.ErrUnavailable)
			}
			if c.want != "" {
				if d := before.Diff(t); !d.Empty() {
					t.Errorf("a failed write changed the table: %v", d)
				}
			}
		})
	}
}
