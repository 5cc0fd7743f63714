package audit_test

import (
	"testing"
	"time"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/audit"
)

// acmeTenant is acme as created at t0 by a platform key for a person.
func acmeTenant() *apikey.Tenant {
	return &apikey.Tenant{
		ID: "acme", Name: "Acme", Status: apikey.TenantActive, DefaultKeyID: keyID,
		CreatedAt: t0, UpdatedAt: t0, Version: 1,
		Change: apikey.Change{Actor: "user:ops@platform.example", ActorKeyID: actor, ActorKeyName: "default", RequestID: "req-1"},
	}
}

func TestTenantRecordOf(t *testing.T) {
	old := acmeTenant()
	suspended := *old
	suspended.Status, suspended.Version, suspended.UpdatedAt = apikey.TenantSuspended, 2, t0.Add(time.Second)
	at := t0.Add(time.Second)
	suspended.SuspendedAt = &at
	renamed := *old
	renamed.Name, renamed.Version = "Acme Ltd", 2
	touched := *old
	touched.Version, touched.UpdatedAt = 2, t0.Add(time.Hour)

	cases := []struct {
		name     string
		e        audit.TenantEvent
		action   audit.Action
		skip     bool
		malforms bool
	}{
		{name: "Insert", e: audit.TenantEvent{ID: "e", Kind: audit.EventInsert, New: old}, action: audit.ActionTenantCreated},
		{name: "Suspend", e: audit.TenantEvent{ID: "e", Kind: audit.EventModify, Old: old, New: &suspended}, action: audit.ActionTenantSuspended},
		{name: "Resume", e: audit.TenantEvent{ID: "e", Kind: audit.EventModify, Old: &suspended, New: old}, action: audit.ActionTenantResumed},
		{name: "Rename", e: audit.TenantEvent{ID: "e", Kind: audit.EventModify, Old: old, New: &renamed}, action: audit.ActionTenantUpdated},
		{name: "BookkeepingOnlyIsSkipped", e: audit.TenantEvent{ID: "e", Kind: audit.EventModify, Old: old, New: &touched}, skip: true},
		{name: "RemoveIsSkipped", e: audit.TenantEvent{ID: "e", Kind: audit.EventRemove, Old: old}, skip: true},
		{name: "NoID", e: audit.TenantEvent{Kind: audit.EventInsert, New: old}, malforms: true},
		{name: "InsertWithoutImage", e: audit.TenantEvent{ID: "e", Kind: audit.EventInsert}, malforms: true},
		{name: "ModifyWithoutOld", e: audit.TenantEvent{ID: "e", Kind: audit.EventModify, New: old}, malforms: true},
		{name: "UnknownKind", e: audit.TenantEvent{ID: "e", Kind: "TRUNCATE", New: old}, malforms: true},
		{name: "BadTenantID", e: audit.TenantEvent{ID: "e", Kind: audit.EventInsert, New: &apikey.Tenant{ID: "Acme!", UpdatedAt: t0}}, malforms: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, ok, err := audit.TenantRecordOf("operator", c.e)
			switch {
			case c.malforms:
				if err == nil {
					t.Fatalf("no error for %+v", c.e)
				}
				return
			case err != nil:
				t.Fatal(err)
			case ok == c.skip:
				t.Fatalf("ok = %v, want %v", ok, !c.skip)
			case c.skip:
				return
			}
			if r.Action != c.action || r.TenantID != "operator" || r.KeyID != "" || r.SubjectTenantID == nil || *r.SubjectTenantID != "acme" {
				t.Errorf("record %+v", r)
			}
			if r.Actor != "user:ops@platform.example" || r.ActorKeyID == nil || *r.ActorKeyID != actor || *r.ActorKeyName != "default" || *r.RequestID != "req-1" || r.SourceIP != nil {
				t.Errorf("record's write %+v", r)
			}
			if !r.At.Equal(c.e.New.UpdatedAt) {
				t.Errorf("at %v, want the write's updatedAt %v", r.At, c.e.New.UpdatedAt)
			}
		})
	}
	t.Run("RenameNamesTheField", func(t *testing.T) {
		r, _, _ := audit.TenantRecordOf("operator", audit.TenantEvent{ID: "e", Kind: audit.EventModify, Old: old, New: &renamed})
		if got := changesJSON(t, r.Changes); got != `{"name":{"from":"Acme","to":"Acme Ltd"}}` {
			t.Errorf("changes %s", got)
		}
	})
	t.Run("NoActorIsUnknown", func(t *testing.T) {
		anon := *old
		anon.Change = apikey.Change{}
		r, _, _ := audit.TenantRecordOf("operator", audit.TenantEvent{ID: "e", Kind: audit.EventInsert, New: &anon})
		if r.Actor != audit.ActorUnknown || r.ActorKeyID != nil || r.ActorKeyName != nil || r.RequestID != nil {
			t.Errorf("record %+v", r)
		}
	})
	t.Run("EveryTenantActionIsValid", func(t *testing.T) {
		for _, a := range []audit.Action{audit.ActionTenantCreated, audit.ActionTenantUpdated, audit.ActionTenantSuspended, audit.ActionTenantResumed} {
			if !audit.ValidAction(a) {
				t.Errorf("%s is not a valid action", a)
			}
		}
	})
}
