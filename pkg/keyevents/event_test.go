package keyevents

import (
	"testing"
	"time"

	"github.com/keyward/keyward/pkg/audit"
)

// A tenant.* record lives in the operator tenant's trail; its event names
// the tenant it is about, so a rule can match one customer's suspension.
func TestATenantEventNamesTheTenantItIsAbout(t *testing.T) {
	subject, keyID, keyName := "acme", "key_01ARZ3NDEKTSV4RRFFQ69G5FAV", "platform"
	rec := audit.Record{
		ID: "aud_1", Action: "tenant.suspended", TenantID: "operator", SubjectTenantID: &subject,
		Actor: "user:ops@platform.example", ActorKeyID: &keyID, ActorKeyName: &keyName,
		At: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC),
	}
	e := FromRecord(rec)
	if e.Type != "tenant.suspended" || e.TenantID != "operator" || e.SubjectTenantID != "acme" ||
		e.ID != "aud_1" || e.ActorKeyID != keyID || e.ActorKeyName != keyName {
		t.Fatalf("event = %+v", e)
	}
	rec.SubjectTenantID = nil
	if e := FromRecord(rec); e.SubjectTenantID != "" {
		t.Fatalf("a record without a subject tenant gave %q", e.SubjectTenantID)
	}
}
