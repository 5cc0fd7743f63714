// Package keyevents turns key changes and lifecycle moments into events on
// keyward's EventBridge bus: source "keyward", one detail-type per kind
// (key.created, key.expiring, ...), and a detail holding the tenant, the
// key's ID and name, the actor, the time and the changed fields — never a
// secret, hash or token. Change events follow the audit trail: each audit
// record becomes one event. Delivery is at least once: every event carries
// an eventId derived from what caused it (a change's event ID is its audit
// record's ID), the same on every redelivery, for consumers to deduplicate on.
package keyevents

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/keyward/keyward/pkg/audit"
)

// Source is the source of every keyward event.
const Source = "keyward"

// Type is an event's detail-type.
type Type string

// The detail-types keyward publishes.
const (
	KeyCreated  Type = "key.created"
	KeyUpdated  Type = "key.updated"
	KeyRotated  Type = "key.rotated"
	KeyRevoked  Type = "key.revoked"
	KeyPurged   Type = "key.purged"
	KeyExpired  Type = "key.expired"
	KeyExpiring Type = "key.expiring"
	KeyUnused   Type = "key.unused"
	KeyLeaked   Type = "key.leaked"
	// PolicyUpdated: a tenant's key policy was set (no key ID).
	PolicyUpdated Type = "policy.updated"
)

// IDPrefix starts every event ID.
const IDPrefix = "evt_"

// Event is one event's detail. Only public key fields appear in it.
type Event struct {
	// ID is stable across redeliveries of the same cause.
	ID       string `json:"eventId"`
	Type     Type   `json:"type"`
	TenantID string `json:"tenantId"`
	KeyID    string `json:"keyId,omitempty"`
	KeyName  string `json:"keyName,omitempty"`
	// SubjectTenantID is the tenant a tenant.* event is about (TenantID is
	// then the operator tenant, whose trail records tenant changes).
	SubjectTenantID string `json:"subjectTenantId,omitempty"`
	Actor           string `json:"actor"`
	// ActorKeyID and ActorKeyName are the key that made the change, if one did.
	ActorKeyID   string    `json:"actorKeyId,omitempty"`
	ActorKeyName string    `json:"actorKeyName,omitempty"`
	At           time.Time `json:"time"`
	// Changes are the changed fields, as the audit trail reports them.
	Changes map[string]audit.FieldChange `json:"changes,omitempty"`
	// ExpiresAt is the key's expiry (key.expiring, key.expired).
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	// Threshold is the reminder that fired: days before expiry
	// (key.expiring) or days unused (key.unused).
	Threshold int `json:"thresholdDays,omitempty"`
	// LastUsedAt is when the key was last used (key.unused), if ever.
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
	// URL and LeakSource say where a leaked key was found (key.leaked).
	URL        string `json:"url,omitempty"`
	LeakSource string `json:"leakSource,omitempty"`
	// Action is what keyward did about a leak: "revoke" or "flag".
	Action string `json:"action,omitempty"`
}

// ID derives an event ID from the parts that identify its cause (a key and
// a reminder threshold), so redelivering
// the cause yields the same ID.
func ID(parts ...string) string {
	sum := sha256.Sum256([]byte("keyward-event\x00" + strings.Join(parts, "\x00")))
	return IDPrefix + hex.EncodeToString(sum[:16])
}

// FromRecord is the event of an audit record: its detail-type is the
// record's action and its ID the record's ID, which derives from the change
// it records, so a redelivered audit record makes the same event.
func FromRecord(rec audit.Record) Event {
	e := Event{
		ID:       rec.ID,
		Type:     Type(rec.Action),
		TenantID: rec.TenantID,
		KeyID:    rec.KeyID,
		KeyName:  rec.KeyName,
		Actor:    rec.Actor,
		At:       rec.At.UTC(),
		Changes:  rec.Changes,
	}
	if rec.SubjectTenantID != nil {
		e.SubjectTenantID = *rec.SubjectTenantID
	}
	if rec.ActorKeyID != nil {
		e.ActorKeyID = *rec.ActorKeyID
		if rec.ActorKeyName != nil {
			e.ActorKeyName = *rec.ActorKeyName
		}
	}
	if rec.Action == audit.ActionLeaked {
		if leak, ok := rec.Changes["leak"].To.(map[string]any); ok {
			e.URL, _ = leak["url"].(string)
			e.LeakSource, _ = leak["source"].(string)
		}
	}
	return e
}

// Reminder is a key.expiring, key.expired or key.unused event for a key; its
// ID is fixed by the key, the type and the threshold (and the expiry it
// refers to), so each fires once per key and threshold.
func Reminder(t Type, tenant, keyID, name string, threshold int, ref time.Time, at time.Time) Event {
	return Event{
		ID:        ID(string(t), tenant, keyID, strconv.Itoa(threshold), ref.UTC().Format(time.RFC3339Nano)),
		Type:      t,
		TenantID:  tenant,
		KeyID:     keyID,
		KeyName:   name,
		Actor:     audit.ActorSystem,
		At:        at.UTC(),
		Threshold: threshold,
	}
}
