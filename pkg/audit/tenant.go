package audit

import (
	"fmt"
	"reflect"
	"time"

	"github.com/keyward/keyward/pkg/apikey"
)

// The actions of tenant changes. Their records are kept in the operator
// tenant's trail (tenants are administered there), keyId empty, the tenant
// changed in SubjectTenantID.
const (
	ActionTenantCreated   Action = "tenant.created"
	ActionTenantUpdated   Action = "tenant.updated"
	ActionTenantSuspended Action = "tenant.suspended"
	ActionTenantResumed   Action = "tenant.resumed"
)

// TenantEvent is one change of a tenant item, decoded from a stream record.
// Old and New carry the write that made them (Tenant.Change).
type TenantEvent struct {
	ID       string
	Sequence string
	Kind     EventKind
	At       time.Time
	Old, New *apikey.Tenant
}

// tenantField is one field of the tenant resource the audit trail reports.
type tenantField struct {
	name  string
	value func(t *apikey.Tenant) any
}

// auditedTenantFields are the only fields a tenant record's Changes may
// name: who made a version and when are the record's actor and time.
var auditedTenantFields = []tenantField{
	{"name", func(t *apikey.Tenant) any { return t.Name }},
	{"status", func(t *apikey.Tenant) any { return string(t.Status) }},
	{"isOperator", func(t *apikey.Tenant) any { return t.IsOperator }},
	{"defaultKeyId", func(t *apikey.Tenant) any { return t.DefaultKeyID }},
	{"suspendedAt", func(t *apikey.Tenant) any { return timeValue(t.SuspendedAt) }},
}

// tenantDiff returns the audited tenant fields that differ (old nil: every
// non-empty field of new, from null).
func tenantDiff(old, new *apikey.Tenant) map[string]FieldChange {
	out := map[string]FieldChange{}
	for _, f := range auditedTenantFields {
		to := f.value(new)
		if old == nil {
			if !isEmpty(to) {
				out[f.name] = FieldChange{From: nil, To: to}
			}
			continue
		}
		if from := f.value(old); !reflect.DeepEqual(from, to) {
			out[f.name] = FieldChange{From: from, To: to}
		}
	}
	return out
}

// TenantRecordOf turns one change of a tenant item into its audit record in
// trail (the operator tenant's): tenant.created for an INSERT; for a MODIFY
// tenant.suspended or tenant.resumed when the status changed, else
// tenant.updated when an audited field did. It reports false for a change of
// nothing audited and for a REMOVE (keyward never deletes a tenant). An error
// means a malformed record; it names the problem, never a value.
func TenantRecordOf(trail string, e TenantEvent) (Record, bool, error) {
	if e.ID == "" && e.Sequence == "" {
		return Record{}, false, fmt.Errorf("%w: no event ID or sequence number", errMalformed)
	}
	r := Record{ID: RecordID(e.ID, e.Sequence), TenantID: trail}
	switch e.Kind {
	case EventInsert:
		if e.New == nil {
			return Record{}, false, fmt.Errorf("%w: INSERT without a new image", errMalformed)
		}
		r.Action, r.Changes = ActionTenantCreated, tenantDiff(nil, e.New)
	case EventModify:
		if e.New == nil || e.Old == nil {
			return Record{}, false, fmt.Errorf("%w: MODIFY without both images", errMalformed)
		}
		r.Changes = tenantDiff(e.Old, e.New)
		switch {
		case e.Old.Status != e.New.Status && e.New.Status == apikey.TenantSuspended:
			r.Action = ActionTenantSuspended
		case e.Old.Status != e.New.Status && e.New.Status == apikey.TenantActive:
			r.Action = ActionTenantResumed
		case len(r.Changes) > 0:
			r.Action = ActionTenantUpdated
		default:
			return Record{}, false, nil
		}
	case EventRemove:
		return Record{}, false, nil
	default:
		return Record{}, false, fmt.Errorf("%w: unknown event kind %q", errMalformed, truncate(string(e.Kind), 16))
	}
	if !apikey.ValidTenantID(trail) {
		return Record{}, false, fmt.Errorf("%w: no valid operator tenant", errMalformed)
	}
	if !apikey.ValidTenantID(e.New.ID) {
		return Record{}, false, fmt.Errorf("%w: the image has no valid tenant id", errMalformed)
	}
	subject := e.New.ID
	r.SubjectTenantID = &subject
	w := e.New.Change
	r.Actor = w.Actor
	if r.Actor == "" {
		r.Actor = ActorUnknown
	}
	r.ActorKeyID = optional(w.ActorKeyID)
	if r.ActorKeyID != nil {
		name := w.ActorKeyName
		r.ActorKeyName = &name
	}
	r.RequestID, r.SourceIP = optional(w.RequestID), optional(w.SourceIP)
	// updatedAt is the write's own time; the stream's is only approximate.
	r.At = e.New.UpdatedAt.UTC()
	if e.New.UpdatedAt.IsZero() {
		r.At = e.At.UTC()
	}
	if r.At.IsZero() {
		return Record{}, false, fmt.Errorf("%w: no time for the change", errMalformed)
	}
	r.At = r.At.Truncate(time.Millisecond)
	return r, true, nil
}
