package auditstream_test

import (
	"context"
	"testing"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/audit"
)

func TestPolicyChangesAreAuditedWithTheirFieldsAndActor(t *testing.T) {
	s := newStack(t)
	boot := s.bootstrap(t, "acme")
	admin := caller("acme", boot.ID, "req-policy")
	ctx := context.Background()
	days := 30
	if _, err := s.svc.PutPolicy(ctx, admin, apikey.Policy{MaxLifetimeDays: &days}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.PutPolicy(ctx, admin, apikey.Policy{MaxLifetimeDays: &days, LeakAction: apikey.LeakFlag}, nil); err != nil {
		t.Fatal(err)
	}
	recs := s.next(t)
	if failed := s.handle(t, recs); len(failed) != 0 {
		t.Fatalf("failed records %v", failed)
	}
	s.handle(t, recs) // a redelivery writes nothing new
	var got []audit.Record
	for _, r := range s.records(t, "acme") {
		if r.Action == audit.ActionPolicyUpdated {
			got = append(got, r)
		}
	}
	if len(got) != 2 {
		t.Fatalf("%d policy records, want 2: %+v", len(got), got)
	}
	// Both writes share the test clock's instant: tell them apart by content.
	first, second := got[0], got[1]
	if _, ok := first.Changes["maxLifetimeDays"]; !ok {
		first, second = second, first
	}
	if c, ok := first.Changes["maxLifetimeDays"]; !ok || c.From != nil || c.To != float64(30) {
		t.Errorf("first policy's changes %+v, want maxLifetimeDays null → 30", first.Changes)
	}
	if c, ok := second.Changes["leakAction"]; !ok || c.From != "revoke" || c.To != "flag" || len(second.Changes) != 1 {
		t.Errorf("second policy's changes %+v, want leakAction revoke → flag only", second.Changes)
	}
	for _, r := range got {
		if r.Actor != boot.ID || r.RequestID == nil || *r.RequestID != "req-policy" || r.KeyID != "" {
			t.Errorf("record %+v", r)
		}
	}
}
