package auditstream_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/audit"
	"github.com/keyward/keyward/pkg/auditstream"
)

// tenantRecords returns trail's tenant.* records, newest first.
func tenantRecords(t *testing.T, s *stack, trail string) []audit.Record {
	t.Helper()
	var out []audit.Record
	for _, r := range s.records(t, trail) {
		if strings.HasPrefix(string(r.Action), "tenant.") {
			out = append(out, r)
		}
	}
	return out
}

// TestTenantChangesAreAuditedInTheOperatorTrail drives the operator's
// bootstrap and a platform key (acting for a person) creating, suspending
// and resuming acme through the real service and store, feeds the keys
// table's stream to the handler and checks the operator tenant's trail: one
// record per tenant change, with the person, the platform key and its name,
// the request, the subject tenant and the changed fields; none in acme's.
func TestTenantChangesAreAuditedInTheOperatorTrail(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	platform, iss := s.local.Bootstrap(t, apikey.DefaultOperatorTenant, "operator:local")
	s.remember(iss)
	platform.KeyName, platform.Actor, platform.RequestID = iss.Name, "user:ops@platform.example", "req-tenants"

	s.clock.Advance(time.Second)
	created, err := s.svc.CreateTenant(ctx, platform, apikey.CreateTenantInput{ID: "acme", Name: "Acme Contact Centre"})
	if err != nil {
		t.Fatal(err)
	}
	s.remember(created.DefaultKey)
	s.clock.Advance(time.Second)
	if _, err := s.svc.SetTenantStatus(ctx, platform, "acme", apikey.TenantSuspended); err != nil {
		t.Fatal(err)
	}
	suspendedAt := s.clock.Now()
	s.clock.Advance(time.Second)
	if _, err := s.svc.SetTenantStatus(ctx, platform, "acme", apikey.TenantActive); err != nil {
		t.Fatal(err)
	}
	// Setting the status a tenant has writes nothing, so records nothing.
	if _, err := s.svc.SetTenantStatus(ctx, platform, "acme", apikey.TenantActive); err != nil {
		t.Fatal(err)
	}

	recs := s.next(t)
	if failed := s.handle(t, recs); len(failed) != 0 {
		t.Fatalf("failed records %v", failed)
	}
	s.handle(t, recs) // a redelivery writes nothing new

	got := tenantRecords(t, s, "operator")
	var actions []string
	for _, r := range got {
		actions = append(actions, string(r.Action)+" "+*r.SubjectTenantID)
	}
	want := []string{"tenant.resumed acme", "tenant.suspended acme", "tenant.created acme", "tenant.created operator"}
	if !slices.Equal(actions, want) {
		t.Fatalf("operator's tenant records %v, want %v", actions, want)
	}
	for _, r := range got[:3] {
		if r.TenantID != "operator" || r.KeyID != "" || r.Actor != "user:ops@platform.example" ||
			r.ActorKeyID == nil || *r.ActorKeyID != iss.ID || r.ActorKeyName == nil || *r.ActorKeyName != "default" ||
			r.RequestID == nil || *r.RequestID != "req-tenants" || r.SourceIP == nil || *r.SourceIP != "198.51.100.7" {
			t.Errorf("record %+v: want the person, the platform key and its name, the request", r)
		}
	}
	if boot := got[3]; boot.Actor != "operator:local" || boot.ActorKeyID != nil || boot.ActorKeyName != nil {
		t.Errorf("bootstrap's record %+v, want actor operator:local and no key", boot)
	}
	at := suspendedAt.UTC().Format(time.RFC3339Nano)
	for i, w := range []string{
		`{"status":{"from":"suspended","to":"active"},"suspendedAt":{"from":"` + at + `","to":null}}`,
		`{"status":{"from":"active","to":"suspended"},"suspendedAt":{"from":null,"to":"` + at + `"}}`,
		`{"defaultKeyId":{"from":null,"to":"` + created.DefaultKey.ID + `"},"name":{"from":null,"to":"Acme Contact Centre"},"status":{"from":null,"to":"active"}}`,
	} {
		if c := changesOf(t, got[i]); c != w {
			t.Errorf("%s changes %s, want %s", got[i].Action, c, w)
		}
	}
	if !got[1].At.Equal(suspendedAt) {
		t.Errorf("suspension at %v, want the write's time %v", got[1].At, suspendedAt)
	}
	if n := len(tenantRecords(t, s, "acme")); n != 0 {
		t.Errorf("acme's own trail holds %d tenant records, want none", n)
	}

	// GET /v1/audit?subjectTenantId=acme reads them through the byKey index.
	page, next, err := s.audit.Query(ctx, audit.Query{TenantID: "operator", SubjectTenantID: "acme", Limit: 10})
	if err != nil || next != "" || len(page) != 3 || page[0].Action != audit.ActionTenantResumed {
		t.Fatalf("subject acme: %+v, %q, %v", page, next, err)
	}
	page, _, err = s.audit.Query(ctx, audit.Query{TenantID: "operator", SubjectTenantID: "acme", Action: audit.ActionTenantSuspended, Limit: 10})
	if err != nil || len(page) != 1 || page[0].ID != got[1].ID {
		t.Fatalf("subject acme, tenant.suspended: %+v, %v", page, err)
	}
	if page, _, err = s.audit.Query(ctx, audit.Query{TenantID: "acme", SubjectTenantID: "acme", Limit: 10}); err != nil || len(page) != 0 {
		t.Fatalf("acme's trail by subject acme: %+v, %v", page, err)
	}

	// Another operator tenant's handler writes the same changes to its trail.
	other := auditstream.New(s.audit, s.logs.Logger(), auditstream.WithOperatorTenant("platform-ops"))
	s.handler = other
	if failed := s.handle(t, recs); len(failed) != 0 {
		t.Fatalf("failed records %v", failed)
	}
	if n := len(tenantRecords(t, s, "platform-ops")); n != 4 {
		t.Errorf("platform-ops' trail holds %d tenant records, want 4", n)
	}
}
