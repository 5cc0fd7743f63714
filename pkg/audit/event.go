package audit

import (
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/keyward/keyward/pkg/apikey"
)

// EventKind is the kind of change a stream record describes.
type EventKind string

// Stream record kinds (DynamoDB Streams' eventName).
const (
	EventInsert EventKind = "INSERT"
	EventModify EventKind = "MODIFY"
	EventRemove EventKind = "REMOVE"
)

// KeyVersion is one version of a key item as the stream shows it: the public
// key fields as stored and the write that produced the version. It holds no
// secret material; whether the secret changed is Event.SecretChanged.
type KeyVersion struct {
	apikey.Key
	// Write is who made this version, with which request, from where.
	Write apikey.Change
}

// Event is one change of a key item, decoded from a stream record.
type Event struct {
	// ID and Sequence identify the stream record (its eventID and sequence
	// number); the audit record's ID derives from them.
	ID       string
	Sequence string
	Kind     EventKind
	// At is when the stream record was written (approximate, whole seconds);
	// a REMOVE has no better time.
	At time.Time
	// ByTTL reports a REMOVE made by DynamoDB's TTL process.
	ByTTL bool
	// Old and New are the item before and after (nil where the kind has none).
	Old, New *KeyVersion
	// SecretChanged reports that the secret hash differs between Old and New
	// (a rotation). The hashes themselves never reach this package.
	SecretChanged bool
}

// field is one field the audit trail reports, named as in the key resource.
type field struct {
	name  string
	value func(k *apikey.Key) any
}

// auditedFields are the only fields a record's Changes may name. Bookkeeping
// (version, updatedAt, updatedBy, requestId, sourceIp, ttl), use (lastUsedAt)
// and anything secret (hashes, pepper versions) are deliberately absent, as is
// any attribute added to the item later until it is listed here.
var auditedFields = []field{
	{"name", func(k *apikey.Key) any { return k.Name }},
	{"description", func(k *apikey.Key) any { return k.Description }},
	{"type", func(k *apikey.Key) any { return k.Type }},
	{"scopes", func(k *apikey.Key) any { return nonNil(k.Scopes) }},
	{"allowList", func(k *apikey.Key) any {
		return apikey.AllowList{IPs: nonNil(k.AllowList.IPs), Origins: nonNil(k.AllowList.Origins)}
	}},
	{"metadata", func(k *apikey.Key) any {
		if k.Metadata == nil {
			return map[string]string{}
		}
		return k.Metadata
	}},
	{"status", func(k *apikey.Key) any { return string(k.Status) }},
	{"isDefault", func(k *apikey.Key) any { return k.IsDefault }},
	{"hint", func(k *apikey.Key) any { return k.Hint }},
	{"expiresAt", func(k *apikey.Key) any { return timeValue(k.ExpiresAt) }},
	{"revokedAt", func(k *apikey.Key) any { return timeValue(k.RevokedAt) }},
	{"revokedBy", func(k *apikey.Key) any { return stringValue(k.RevokedBy) }},
	{"rotatedAt", func(k *apikey.Key) any { return timeValue(k.RotatedAt) }},
	{"leak", func(k *apikey.Key) any {
		if k.Leak == nil {
			return nil
		}
		return map[string]any{"reportedAt": timeValue(&k.Leak.ReportedAt), "url": k.Leak.URL, "source": k.Leak.Source}
	}},
	{"previousSecretExpiresAt", func(k *apikey.Key) any { return timeValue(k.PreviousSecretExpiresAt) }},
}

// AuditedFields returns the names of the fields a record's Changes may hold.
func AuditedFields() []string {
	out := make([]string, len(auditedFields))
	for i, f := range auditedFields {
		out[i] = f.name
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// timeValue renders a time as the key resource does (RFC 3339, UTC); nil is absent.
func timeValue(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func stringValue(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// isEmpty reports whether a field value says nothing worth recording about a
// key that is being created or purged.
func isEmpty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case bool:
		return !v
	case []string:
		return len(v) == 0
	case map[string]string:
		return len(v) == 0
	case apikey.AllowList:
		return len(v.IPs) == 0 && len(v.Origins) == 0
	}
	return false
}

// diff returns the audited fields whose values differ between old and new
// (either may be nil: every non-empty field of the other is reported).
func diff(old, new *apikey.Key) map[string]FieldChange {
	out := map[string]FieldChange{}
	for _, f := range auditedFields {
		var from, to any
		if old != nil {
			from = f.value(old)
		}
		if new != nil {
			to = f.value(new)
		}
		switch {
		case old == nil && isEmpty(to), new == nil && isEmpty(from):
			continue
		case old == nil:
			from = nil
		case new == nil:
			to = nil
		case reflect.DeepEqual(from, to):
			continue
		}
		out[f.name] = FieldChange{From: from, To: to}
	}
	return out
}

// errMalformed marks an event no record can be made from (a poison record).
var errMalformed = errors.New("malformed key change")

// RecordOf turns one key change into its audit record. It reports false when
// the change is not worth a record: nothing audited changed (a lastUsedAt or
// bookkeeping-only write). An error means the event cannot be recorded as it
// is (a poison record): it names the problem, never a value.
//
// A MODIFY is key.revoked when the status becomes revoked, else key.rotated
// when the secret or rotatedAt changed, else key.updated. Every REMOVE is
// key.purged: by ActorSystem when DynamoDB's TTL made it, else by
// ActorUnknown.
func RecordOf(e Event) (Record, bool, error) {
	if e.ID == "" && e.Sequence == "" {
		return Record{}, false, fmt.Errorf("%w: no event ID or sequence number", errMalformed)
	}
	var r Record
	var cur *KeyVersion
	switch e.Kind {
	case EventInsert:
		if e.New == nil {
			return Record{}, false, fmt.Errorf("%w: INSERT without a new image", errMalformed)
		}
		cur = e.New
		r.Action = ActionCreated
		r.Changes = diff(nil, &e.New.Key)
	case EventModify:
		if e.New == nil || e.Old == nil {
			return Record{}, false, fmt.Errorf("%w: MODIFY without both images", errMalformed)
		}
		cur = e.New
		r.Changes = diff(&e.Old.Key, &e.New.Key)
		_, rotated := r.Changes["rotatedAt"]
		switch {
		case e.New.Status == apikey.StatusRevoked && e.Old.Status != apikey.StatusRevoked:
			r.Action = ActionRevoked
		case rotated || e.SecretChanged:
			r.Action = ActionRotated
		case e.New.Leak != nil && e.Old.Leak == nil:
			r.Action = ActionLeaked
		case len(r.Changes) > 0:
			r.Action = ActionUpdated
		default:
			return Record{}, false, nil
		}
	case EventRemove:
		if e.Old == nil {
			return Record{}, false, fmt.Errorf("%w: REMOVE without an old image", errMalformed)
		}
		cur = e.Old
		r.Action = ActionPurged
		r.Changes = diff(&e.Old.Key, nil)
	default:
		return Record{}, false, fmt.Errorf("%w: unknown event kind %q", errMalformed, truncate(string(e.Kind), 16))
	}

	r.ID = RecordID(e.ID, e.Sequence)
	r.TenantID, r.KeyID, r.KeyName = cur.TenantID, cur.ID, cur.Name
	if !apikey.ValidTenantID(r.TenantID) {
		return Record{}, false, fmt.Errorf("%w: the image has no valid tenantId", errMalformed)
	}
	if !apikey.ValidKeyID(r.KeyID) {
		return Record{}, false, fmt.Errorf("%w: the image has no valid key id", errMalformed)
	}

	r.attribute(e, cur)
	if r.At.IsZero() {
		return Record{}, false, fmt.Errorf("%w: no time for the change", errMalformed)
	}
	r.At = r.At.Truncate(time.Millisecond)
	return r, true, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// attribute sets who made the change and when: a removal is keyward's (TTL)
// or unknown, at the stream's time; any other change is the write's own
// actor, key, request and updatedAt, to the millisecond (the stream's time is
// only approximate).
func (r *Record) attribute(e Event, cur *KeyVersion) {
	if e.Kind == EventRemove {
		r.Actor = ActorUnknown
		if e.ByTTL {
			r.Actor = ActorSystem
		}
		r.At = e.At.UTC()
		return
	}
	r.Actor = cur.Write.Actor
	if r.Actor == "" {
		r.Actor = ActorUnknown
	}
	r.ActorKeyID = optional(cur.Write.ActorKeyID)
	if r.ActorKeyID != nil {
		r.ActorKeyName = &cur.Write.ActorKeyName
	}
	r.RequestID = optional(cur.Write.RequestID)
	r.SourceIP = optional(cur.Write.SourceIP)
	r.At = cur.UpdatedAt.UTC()
	if r.At.IsZero() {
		r.At = e.At.UTC()
	}
}
