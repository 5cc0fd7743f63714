package dynamostore_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/dynamostore"
	"github.com/keyward/keyward/pkg/unicoderules"
	"github.com/keyward/keyward/pkg/workbench/keywardtest"
)

// A create reads neither the calling key nor the tenant's policy before its
// transaction: the transaction checks them. These tests change the caller
// or the policy in the gap between the service's decision and that
// transaction, where a read made before it could not see the change.

// hooked is DynamoDB Local as the store sees it, counting the reads made
// and running before, once, just ahead of the next TransactWriteItems.
type hooked struct {
	*dynamodb.Client
	reads  atomic.Int64
	txs    atomic.Int64
	mu     sync.Mutex
	before func()
}

func (h *hooked) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	h.reads.Add(1)
	return h.Client.GetItem(ctx, in, opts...)
}

func (h *hooked) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	h.reads.Add(1)
	return h.Client.BatchGetItem(ctx, in, opts...)
}

func (h *hooked) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	h.txs.Add(1)
	h.mu.Lock()
	before := h.before
	h.before = nil
	h.mu.Unlock()
	if before != nil {
		before()
	}
	return h.Client.TransactWriteItems(ctx, in, opts...)
}

// between arranges for change to run before the next transaction.
func (h *hooked) between(change func()) {
	h.mu.Lock()
	h.before = change
	h.mu.Unlock()
}

func (h *hooked) pending() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.before != nil
}

// counts returns the reads and transactions since the last call.
func (h *hooked) counts() (reads, txs int64) { return h.reads.Swap(0), h.txs.Swap(0) }

// guardedService is the create function's service over h (policies in the
// key store), on st's clock and pepper.
func guardedService(st *stack) (*apikey.Service, *hooked) {
	h := &hooked{Client: st.db}
	store := dynamostore.New(h, st.table)
	return apikey.NewService(store, st.hasher, unicoderules.Rules{}, apikey.Config{}, apikey.WithPolicies(store), apikey.WithClock(st.clock.Now)), h
}

// assertNoKeyNamed fails if the tenant holds a key named name.
func assertNoKeyNamed(t *testing.T, st *stack, admin apikey.Caller, name string) {
	t.Helper()
	page, err := st.svc.List(context.Background(), admin, apikey.ListInput{Q: name})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range page.Items {
		if k.Name == name {
			t.Fatalf("key %s named %q was created", k.ID, name)
		}
	}
}

func TestACreateReadsOnlyWhatItsChecksRefuse(t *testing.T) {
	ctx := context.Background()
	st := newStack(t, apikey.Config{})
	admin, _ := st.bootstrap(t, "acme")
	svc, h := guardedService(st)
	admin.KeyName = "default"
	k, err := svc.Create(ctx, admin, apikey.CreateInput{Name: "first", Scopes: []string{"x:read"}})
	if err != nil {
		t.Fatal(err)
	}
	if reads, txs := h.counts(); reads != 0 || txs != 1 {
		t.Fatalf("a create by an unrestricted key made %d reads and %d transactions, want 0 and 1", reads, txs)
	}
	if k.CreatedByKeyID != admin.KeyID || k.CreatedByKeyName != "default" || k.CreatedBy != admin.KeyID {
		t.Fatalf("created by %q (key %q, %q), want the calling key as the authorizer named it", k.CreatedBy, k.CreatedByKeyID, k.CreatedByKeyName)
	}

	// A key with an allow-list, which a check cannot compare, is read once
	// per container; then its version is checked.
	pinned := callerOf(mustCreate(t, st, admin, apikey.CreateInput{Name: "pinned", Scopes: []string{"keys:write", "x:read"},
		AllowList: &apikey.AllowList{IPs: []string{"10.0.0.0/8"}}}))
	h.counts()
	inside := &apikey.AllowList{IPs: []string{"10.1.0.0/16"}}
	for i, wantReads := range []int64{2, 0} {
		if _, err := svc.Create(ctx, pinned, apikey.CreateInput{Name: fmt.Sprint("pinned child ", i), Scopes: []string{"x:read"}, AllowList: inside}); err != nil {
			t.Fatal(err)
		}
		if reads, _ := h.counts(); reads != wantReads {
			t.Fatalf("create %d by a key with an allow-list made %d reads, want %d", i, reads, wantReads)
		}
	}

	// A tenant policy is read once per container too.
	if _, err := st.svc.PutPolicy(ctx, admin, apikey.Policy{AllowedTypes: []string{"client", "partner"}}, nil); err != nil {
		t.Fatal(err)
	}
	for i, wantReads := range []int64{2, 0} {
		if _, err := svc.Create(ctx, admin, apikey.CreateInput{Name: fmt.Sprint("after policy ", i), Scopes: []string{"x:read"}}); err != nil {
			t.Fatal(err)
		}
		if reads, _ := h.counts(); reads != wantReads {
			t.Fatalf("create %d under a policy made %d reads, want %d", i, reads, wantReads)
		}
	}
	if _, err := svc.Create(ctx, admin, apikey.CreateInput{Name: "wrong type", Type: "internal", Scopes: []string{"x:read"}}); code(err) != apikey.ECodeInvalid {
		t.Fatalf("a type the remembered policy refuses: err = %v, want invalid_request", err)
	}
}

func TestACallerChangedBeforeTheTransactionCreatesNothing(t *testing.T) {
	ctx := context.Background()
	st := newStack(t, apikey.Config{})
	admin, _ := st.bootstrap(t, "acme")
	platform, _ := st.bootstrap(t, apikey.DefaultOperatorTenant)
	in2h := "2h"
	tests := []struct {
		name   string
		scopes []string
		allow  *apikey.AllowList
		in     apikey.CreateInput
		change func(t *testing.T, caller *apikey.Issued)
		want   apikey.Code
	}{
		{name: "Revoked", want: apikey.ECodeUnauthorized, change: func(t *testing.T, caller *apikey.Issued) {
			if _, err := st.svc.Revoke(ctx, admin, caller.ID); err != nil {
				t.Error(err)
			}
		}},
		{name: "ExpiryMadeEarlierThanTheNewKeys", in: apikey.CreateInput{ExpiresIn: &in2h}, want: apikey.ECodeForbidden,
			change: func(t *testing.T, caller *apikey.Issued) {
				in1h := "1h"
				if _, err := st.svc.Update(ctx, admin, caller.ID, apikey.PatchInput{ExpiresIn: &in1h}, nil); err != nil {
					t.Error(err)
				}
			}},
		{name: "ScopesNarrowedWithAWSCredentials", want: apikey.ECodeForbidden, change: func(t *testing.T, caller *apikey.Issued) {
			prev, err := st.store.GetKey(ctx, caller.ID)
			if err != nil {
				t.Fatal(err)
			}
			next := prev.Clone()
			next.Scopes, next.Version = []string{"keys:write"}, prev.Version+1
			if err := st.store.UpdateKey(ctx, prev, next); err != nil {
				t.Error(err)
			}
		}},
		{name: "AllowListNarrowed", allow: &apikey.AllowList{IPs: []string{"10.0.0.0/8"}}, want: apikey.ECodeForbidden,
			in: apikey.CreateInput{AllowList: &apikey.AllowList{IPs: []string{"10.2.0.0/16"}}},
			change: func(t *testing.T, caller *apikey.Issued) {
				narrow := &apikey.AllowList{IPs: []string{"10.1.0.0/16"}}
				if _, err := st.svc.Update(ctx, admin, caller.ID, apikey.PatchInput{AllowList: narrow}, nil); err != nil {
					t.Error(err)
				}
			}},
		{name: "TenantSuspended", want: apikey.ECodeUnauthorized, change: func(t *testing.T, _ *apikey.Issued) {
			if _, err := st.svc.SetTenantStatus(ctx, platform, "acme", apikey.TenantSuspended); err != nil {
				t.Error(err)
			}
			t.Cleanup(func() { _, _ = st.svc.SetTenantStatus(ctx, platform, "acme", apikey.TenantActive) })
		}},
		{name: "PolicyTightened", want: apikey.ECodeInvalid, change: func(t *testing.T, _ *apikey.Issued) {
			if _, err := st.svc.PutPolicy(ctx, admin, apikey.Policy{RequireAllowList: true}, nil); err != nil {
				t.Error(err)
			}
			t.Cleanup(func() {
				if _, err := st.svc.PutPolicy(ctx, admin, apikey.DefaultPolicy(), nil); err != nil {
					t.Error(err)
				}
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, h := guardedService(st)
			caller := mustCreate(t, st, admin, apikey.CreateInput{Name: "caller " + tt.name, Scopes: []string{"keys:write", "x:read"}, AllowList: tt.allow})
			c := callerOf(caller)
			in := tt.in
			in.Scopes = []string{"x:read"}
			if tt.allow != nil {
				// Remember the caller's allow-list as a container would.
				in.Name = "before " + tt.name
				if _, err := svc.Create(ctx, c, in); err != nil {
					t.Fatal(err)
				}
			}
			h.between(func() { tt.change(t, caller) })
			in.Name = "during " + tt.name
			if _, err := svc.Create(ctx, c, in); code(err) != tt.want {
				t.Fatalf("err = %v, want %s", err, tt.want)
			}
			if h.pending() {
				t.Fatal("the create made no transaction after its decision")
			}
			assertNoKeyNamed(t, st, admin, in.Name)
		})
	}
}

func TestARefusedCallerIsNotToldANameIsTaken(t *testing.T) {
	ctx := context.Background()
	st := newStack(t, apikey.Config{})
	admin, _ := st.bootstrap(t, "acme")
	svc, _ := guardedService(st)
	writer := mustCreate(t, st, admin, apikey.CreateInput{Name: "writer", Scopes: []string{"keys:write", "x:read"}})
	mustCreate(t, st, admin, apikey.CreateInput{Name: "taken", Scopes: []string{"x:read"}})
	if _, err := svc.Create(ctx, callerOf(writer), apikey.CreateInput{Name: "Taken", Scopes: []string{"x:read"}}); code(err) != apikey.ECodeNameTaken {
		t.Fatalf("a live caller creating a taken name: err = %v, want name_taken", err)
	}
	if _, err := st.svc.Revoke(ctx, admin, writer.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(ctx, callerOf(writer), apikey.CreateInput{Name: "Taken", Scopes: []string{"x:read"}}); code(err) != apikey.ECodeUnauthorized {
		t.Fatalf("a revoked caller creating a taken name: err = %v, want unauthorized", err)
	}
}

func TestCreatesRacingTheirCallersRevocation(t *testing.T) {
	ctx := context.Background()
	st := newStack(t, apikey.Config{})
	admin, _ := st.bootstrap(t, "acme")
	svc, _ := guardedService(st)
	writer := mustCreate(t, st, admin, apikey.CreateInput{Name: "writer", Scopes: []string{"keys:write", "x:read"}})
	const n = 24
	created := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == n/2 {
				if _, err := st.svc.Revoke(ctx, admin, writer.ID); err != nil {
					t.Error(err)
				}
			}
			k, err := svc.Create(ctx, callerOf(writer), apikey.CreateInput{Name: fmt.Sprint("racing ", i), Scopes: []string{"x:read"}})
			switch code(err) {
			case "":
				created[i] = k.ID
			case apikey.ECodeUnauthorized:
			default:
				t.Errorf("create %d: %v, want success or unauthorized", i, err)
			}
		}()
	}
	wg.Wait()
	// Every key stored is one a create reported, and every one reported is stored.
	page, err := st.svc.List(ctx, admin, apikey.ListInput{Q: "racing", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	reported := map[string]bool{}
	for _, id := range created {
		if id != "" {
			reported[id] = true
		}
	}
	if len(page.Items) != len(reported) {
		t.Fatalf("%d keys stored, %d creates reported success", len(page.Items), len(reported))
	}
	for _, k := range page.Items {
		if !reported[k.ID] {
			t.Fatalf("key %s stored, but no create reported it", k.ID)
		}
	}
	if _, err := svc.Create(ctx, callerOf(writer), apikey.CreateInput{Name: "after", Scopes: []string{"x:read"}}); code(err) != apikey.ECodeUnauthorized {
		t.Fatalf("create after the revocation: err = %v, want unauthorized", err)
	}
}

// On DynamoDB another transaction holding the caller's item (another create
// by the same key, say) cancels a create's transaction; DynamoDB Local never
// does, so the faults stand in for it.
func TestACreateWhoseChecksAreContendedStillCreatesOnce(t *testing.T) {
	ctx := context.Background()
	fs := newFaultStack(t)
	tests := []struct {
		name      string
		conflicts int // transactions cancelled, from the first
		want      apikey.Code
	}{
		{"OnceThenChecked", 1, ""},
		{"TwiceThenWithoutChecks", 2, ""},
		{"Always", 0, apikey.ECodeUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "contended " + tt.name
			fs.f.Arm(keywardtest.Rule{Op: "TransactWriteItems", Body: unicoderules.NameKey(name), Times: tt.conflicts, Fault: keywardtest.TransactionConflict})
			defer fs.f.Clear()
			before := fs.keys.Mark(t)
			iss, err := fs.svc.Create(ctx, fs.admin, apikey.CreateInput{Name: name, Scopes: []string{"recordings:read"}})
			if code(err) != tt.want {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if err != nil {
				fs.expectDiff(t, before, counts{})
				return
			}
			fs.seen.add(iss)
			fs.expectDiff(t, before, counts{added: 2}) // the key item and its name claim
		})
	}
}
