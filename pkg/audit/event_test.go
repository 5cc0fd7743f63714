package audit_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/audit"
)

const (
	keyID  = "key_01JD6B0C3XH5Q2M9T7R4W8N1PA"
	actor  = "key_01JD5Z8K3N4Q7R2T6V9W0X1Y2Z"
	tenant = "acme"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// version returns an active key version written by actor at t0, changed by edit.
func version(edit func(v *audit.KeyVersion)) *audit.KeyVersion {
	v := &audit.KeyVersion{
		Key: apikey.Key{
			ID: keyID, TenantID: tenant, Name: "CRM sync", Type: "client",
			Scopes:    []string{"recordings:read"},
			AllowList: apikey.AllowList{IPs: []string{}, Origins: []string{}},
			Metadata:  map[string]string{}, Status: apikey.StatusActive, Hint: "kw_01JD6B0C…x7Qa",
			CreatedAt: t0, CreatedBy: actor, UpdatedAt: t0, UpdatedBy: actor, Version: 1,
		},
		Write: apikey.Change{Actor: actor, RequestID: "req-1", SourceIP: "198.51.100.7"},
	}
	if edit != nil {
		edit(v)
	}
	return v
}

// next is v's successor: version+1, written a second later by the same actor.
func next(v *audit.KeyVersion, edit func(v *audit.KeyVersion)) *audit.KeyVersion {
	n := *v
	n.Scopes = slices.Clone(v.Scopes)
	n.Version++
	n.UpdatedAt = v.UpdatedAt.Add(time.Second)
	n.Write.RequestID = "req-2"
	if edit != nil {
		edit(&n)
	}
	return &n
}

// changesJSON renders changes as the API does, for comparison.
func changesJSON(t *testing.T, c map[string]audit.FieldChange) string {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRecordOf(t *testing.T) {
	at := func(s string) *time.Time {
		x, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return &x
	}
	by := actor
	old := version(nil)
	cases := []struct {
		name        string
		event       audit.Event
		wantAction  audit.Action
		wantActor   string
		wantAt      time.Time
		wantChanges string // JSON; "" skips the check
		wantSkip    bool
	}{
		{
			name:       "InsertIsCreatedWithTheInitialValues",
			event:      audit.Event{ID: "e1", Sequence: "1", Kind: audit.EventInsert, New: old},
			wantAction: audit.ActionCreated, wantActor: actor, wantAt: t0,
			wantChanges: `{"hint":{"from":null,"to":"kw_01JD6B0C…x7Qa"},"name":{"from":null,"to":"CRM sync"},` +
				`"scopes":{"from":null,"to":["recordings:read"]},"status":{"from":null,"to":"active"},"type":{"from":null,"to":"client"}}`,
		},
		{
			name: "RenameIsUpdatedWithOnlyTheName",
			event: audit.Event{ID: "e2", Sequence: "2", Kind: audit.EventModify, Old: old,
				New: next(old, func(v *audit.KeyVersion) { v.Name = "CRM sync (EU)" })},
			wantAction: audit.ActionUpdated, wantActor: actor, wantAt: t0.Add(time.Second),
			wantChanges: `{"name":{"from":"CRM sync","to":"CRM sync (EU)"}}`,
		},
		{
			name: "AllowListMetadataAndExpiryAreDiffedWhole",
			event: audit.Event{ID: "e3", Sequence: "3", Kind: audit.EventModify, Old: old,
				New: next(old, func(v *audit.KeyVersion) {
					v.AllowList = apikey.AllowList{IPs: []string{"203.0.113.0/24"}, Origins: []string{}}
					v.Metadata = map[string]string{"owner": "ops"}
					v.ExpiresAt = at("2027-01-01T00:00:00Z")
				})},
			wantAction: audit.ActionUpdated, wantActor: actor,
			wantChanges: `{"allowList":{"from":{"ips":[],"origins":[]},"to":{"ips":["203.0.113.0/24"],"origins":[]}},` +
				`"expiresAt":{"from":null,"to":"2027-01-01T00:00:00Z"},"metadata":{"from":{},"to":{"owner":"ops"}}}`,
		},
		{
			name: "NilAndEmptyListsAreTheSame",
			event: audit.Event{ID: "e4", Sequence: "4", Kind: audit.EventModify, Old: version(func(v *audit.KeyVersion) { v.AllowList = apikey.AllowList{}; v.Metadata = nil }),
				New: next(old, nil)},
			wantSkip: true,
		},
		{
			name:     "BookkeepingOnlyIsSkipped",
			event:    audit.Event{ID: "e5", Sequence: "5", Kind: audit.EventModify, Old: old, New: next(old, nil)},
			wantSkip: true,
		},
		{
			name: "LastUsedAtOnlyIsSkipped",
			event: audit.Event{ID: "e6", Sequence: "6", Kind: audit.EventModify, Old: old,
				New: version(func(v *audit.KeyVersion) { v.LastUsedAt = at("2026-11-23T13:00:00Z") })},
			wantSkip: true,
		},
		{
			name: "RotationIsRotated",
			event: audit.Event{ID: "e7", Sequence: "7", Kind: audit.EventModify, Old: old, SecretChanged: true,
				New: next(old, func(v *audit.KeyVersion) {
					v.RotatedAt = &v.UpdatedAt
					v.Hint = "kw_01JD6B0C…Zz9Q"
					v.PreviousSecretExpiresAt = at("2026-11-23T13:00:01Z")
				})},
			wantAction: audit.ActionRotated, wantActor: actor,
			wantChanges: `{"hint":{"from":"kw_01JD6B0C…x7Qa","to":"kw_01JD6B0C…Zz9Q"},` +
				`"previousSecretExpiresAt":{"from":null,"to":"2026-11-23T13:00:01Z"},"rotatedAt":{"from":null,"to":"2026-11-23T12:00:01Z"}}`,
		},
		{
			name: "ASecretChangeAloneIsRotated",
			event: audit.Event{ID: "e8", Sequence: "8", Kind: audit.EventModify, Old: old, SecretChanged: true,
				New: next(old, nil)},
			wantAction: audit.ActionRotated, wantActor: actor, wantChanges: `{}`,
		},
		{
			name: "RevocationIsRevoked",
			event: audit.Event{ID: "e9", Sequence: "9", Kind: audit.EventModify, Old: old,
				New: next(old, func(v *audit.KeyVersion) {
					v.Status = apikey.StatusRevoked
					v.RevokedAt = &v.UpdatedAt
					v.RevokedBy = &by
				})},
			wantAction: audit.ActionRevoked, wantActor: actor,
			wantChanges: `{"revokedAt":{"from":null,"to":"2026-11-23T12:00:01Z"},"revokedBy":{"from":null,"to":"` + actor + `"},` +
				`"status":{"from":"active","to":"revoked"}}`,
		},
		{
			name: "TTLRemoveIsPurgedBySystem",
			event: audit.Event{ID: "e10", Sequence: "10", Kind: audit.EventRemove, ByTTL: true, At: t0.Add(90 * 24 * time.Hour),
				Old: version(func(v *audit.KeyVersion) { v.Status = apikey.StatusRevoked })},
			wantAction: audit.ActionPurged, wantActor: audit.ActorSystem, wantAt: t0.Add(90 * 24 * time.Hour),
		},
		{
			name:       "OtherRemoveIsPurgedByUnknown",
			event:      audit.Event{ID: "e11", Sequence: "11", Kind: audit.EventRemove, At: t0, Old: old},
			wantAction: audit.ActionPurged, wantActor: audit.ActorUnknown, wantAt: t0,
		},
		{
			name: "AnImageWithoutActorIsByUnknown",
			event: audit.Event{ID: "e12", Sequence: "12", Kind: audit.EventInsert,
				New: version(func(v *audit.KeyVersion) { v.Write = apikey.Change{} })},
			wantAction: audit.ActionCreated, wantActor: audit.ActorUnknown,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, ok, err := audit.RecordOf(c.event)
			if err != nil {
				t.Fatalf("RecordOf: %v", err)
			}
			if c.wantSkip {
				if ok {
					t.Fatalf("got a record %+v, want none", r)
				}
				return
			}
			if !ok {
				t.Fatal("got no record")
			}
			if r.Action != c.wantAction || r.Actor != c.wantActor || r.TenantID != tenant || r.KeyID != keyID {
				t.Errorf("record = %s by %s for %s/%s, want %s by %s", r.Action, r.Actor, r.TenantID, r.KeyID, c.wantAction, c.wantActor)
			}
			if !c.wantAt.IsZero() && !r.At.Equal(c.wantAt) {
				t.Errorf("at = %v, want %v", r.At, c.wantAt)
			}
			if c.wantChanges != "" {
				if got := changesJSON(t, r.Changes); got != c.wantChanges {
					t.Errorf("changes =\n%s\nwant\n%s", got, c.wantChanges)
				}
			}
			if r.ID != audit.RecordID(c.event.ID, c.event.Sequence) {
				t.Errorf("id = %s, not derived from the stream record", r.ID)
			}
			for name := range r.Changes {
				if !slices.Contains(audit.AuditedFields(), name) {
					t.Errorf("changes name %q, which is not an audited field", name)
				}
			}
			if c.event.Kind == audit.EventRemove {
				if r.RequestID != nil || r.SourceIP != nil {
					t.Errorf("a purge carries request %v and source %v", r.RequestID, r.SourceIP)
				}
			} else if c.wantActor == actor && (r.RequestID == nil || r.SourceIP == nil || *r.SourceIP != "198.51.100.7") {
				t.Errorf("request %v, source %v: want the write's", r.RequestID, r.SourceIP)
			}
		})
	}
}

func TestRecordOfRefusesMalformedEvents(t *testing.T) {
	good := version(nil)
	cases := []struct {
		name  string
		event audit.Event
		want  string
	}{
		{"NoIdentity", audit.Event{Kind: audit.EventInsert, New: good}, "no event ID"},
		{"InsertWithoutNewImage", audit.Event{ID: "e", Kind: audit.EventInsert}, "INSERT without"},
		{"ModifyWithoutOldImage", audit.Event{ID: "e", Kind: audit.EventModify, New: good}, "MODIFY without"},
		{"RemoveWithoutOldImage", audit.Event{ID: "e", Kind: audit.EventRemove}, "REMOVE without"},
		{"UnknownKind", audit.Event{ID: "e", Kind: "UPSERT", New: good}, "unknown event kind"},
		{"NoTenant", audit.Event{ID: "e", Kind: audit.EventInsert, New: version(func(v *audit.KeyVersion) { v.TenantID = "" })}, "tenantId"},
		{"BadKeyID", audit.Event{ID: "e", Kind: audit.EventInsert, New: version(func(v *audit.KeyVersion) { v.ID = "KEY#x" })}, "key id"},
		{"NoTime", audit.Event{ID: "e", Kind: audit.EventRemove, Old: good}, "no time"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, ok, err := audit.RecordOf(c.event)
			if err == nil || ok || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("RecordOf = %v, %v; want an error containing %q", ok, err, c.want)
			}
		})
	}
}

func TestRecordIDIsStableAndDistinct(t *testing.T) {
	a := audit.RecordID("3f46a9e0-399d-4306-b6a9-0ac41b6f812e", "000000000000000000001")
	if a != audit.RecordID("3f46a9e0-399d-4306-b6a9-0ac41b6f812e", "000000000000000000001") {
		t.Error("the same stream record gives different IDs")
	}
	if !strings.HasPrefix(a, audit.RecordIDPrefix) || len(a) != len(audit.RecordIDPrefix)+32 {
		t.Errorf("id %q: want aud_ and 32 hex characters", a)
	}
	for _, other := range [][2]string{{"3f46a9e0-399d-4306-b6a9-0ac41b6f812e", "000000000000000000002"}, {"other", "000000000000000000001"}, {"", "3f46a9e0"}} {
		if audit.RecordID(other[0], other[1]) == a {
			t.Errorf("%v collides", other)
		}
	}
}

func TestAuditedFieldsHoldNoSecretOrBookkeeping(t *testing.T) {
	for _, f := range audit.AuditedFields() {
		l := strings.ToLower(f)
		for _, bad := range []string{"hash", "secret", "pepper", "version", "updated", "request", "source", "ttl", "lastused"} {
			if strings.Contains(l, bad) && f != "previousSecretExpiresAt" {
				t.Errorf("audited field %q looks like %s", f, bad)
			}
		}
	}
	// Every audited field is a field of the key resource.
	keyFields := map[string]bool{}
	rt := reflect.TypeOf(apikey.Key{})
	for i := 0; i < rt.NumField(); i++ {
		keyFields[strings.Split(rt.Field(i).Tag.Get("json"), ",")[0]] = true
	}
	for _, f := range audit.AuditedFields() {
		if !keyFields[f] {
			t.Errorf("audited field %q is not a key resource field", f)
		}
	}
}

// TestRecordCarriesThePersonAndTheKey: a write by a key acting for a person
// is recorded with the person as actor and the key (and its name) beside it;
// a write no key made has neither.
func TestRecordCarriesThePersonAndTheKey(t *testing.T) {
	const jane, platformKey = "user:jane@acme.example", "key_01JD5Z8K3N4Q7R2T6V9W0X1Y4Z"
	v := version(func(v *audit.KeyVersion) {
		v.Write = apikey.Change{Actor: jane, ActorKeyID: platformKey, ActorKeyName: "console", RequestID: "req-1"}
	})
	r, ok, err := audit.RecordOf(audit.Event{ID: "p1", Sequence: "1", Kind: audit.EventInsert, New: v})
	if err != nil || !ok {
		t.Fatalf("RecordOf: %v %v", ok, err)
	}
	if r.Actor != jane || r.ActorKeyID == nil || *r.ActorKeyID != platformKey || r.ActorKeyName == nil || *r.ActorKeyName != "console" {
		t.Errorf("record = actor %q key %v name %v, want Jane by %s (console)", r.Actor, r.ActorKeyID, r.ActorKeyName, platformKey)
	}
	v = version(func(v *audit.KeyVersion) { v.Write = apikey.Change{Actor: "operator:local"} })
	if r, _, _ = audit.RecordOf(audit.Event{ID: "p2", Sequence: "2", Kind: audit.EventInsert, New: v}); r.ActorKeyID != nil || r.ActorKeyName != nil {
		t.Errorf("a write no key made names key %v (%v)", r.ActorKeyID, r.ActorKeyName)
	}
	b, _ := json.Marshal(r)
	if !strings.Contains(string(b), `"actorKeyId":null`) {
		t.Errorf("record JSON %s lacks actorKeyId: null", b)
	}
}
