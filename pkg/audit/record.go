// Package audit is keyward's audit trail domain: the append-only
// record of who did what to which key, built from the keys table's stream
// images, and the tenant-scoped query over those records. It has no AWS
// imports: the stream adapter (auditstream) turns stream records into Events,
// and the store adapter (auditstore) persists Records.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Action names what happened to a key.
type Action string

// The actions of the audit trail.
const (
	ActionCreated Action = "key.created"
	ActionUpdated Action = "key.updated"
	ActionRotated Action = "key.rotated"
	ActionRevoked Action = "key.revoked"
	ActionPurged  Action = "key.purged"
	// ActionLeaked: a secret scanning service reported the key's token.
	ActionLeaked Action = "key.leaked"
)

// Actions lists every action, for validation and documentation.
var Actions = []Action{ActionCreated, ActionUpdated, ActionRotated, ActionRevoked, ActionPurged, ActionLeaked, ActionPolicyUpdated}

// ValidAction reports whether a is one of Actions.
func ValidAction(a Action) bool {
	for _, x := range Actions {
		if a == x {
			return true
		}
	}
	return false
}

// Actors of changes that no key made.
const (
	// ActorSystem made a TTL purge: DynamoDB deleted a revoked key after its
	// retention.
	ActorSystem = "system"
	// ActorUnknown made a change whose item image names no actor, or deleted a
	// key item other than through TTL (no keyward code path does).
	ActorUnknown = "unknown"
)

// FieldChange is one field's value before and after a change; nil stands for
// absent (a created key has no before, a purged key no after).
type FieldChange struct {
	From any `json:"from"`
	To   any `json:"to"`
}

// Record is one audit record: one meaningful change to one key. It never holds
// secret material; Changes only ever names the fields in auditedFields.
type Record struct {
	ID       string `json:"id"`
	TenantID string `json:"tenantId"`
	KeyID    string `json:"keyId"`
	Action   Action `json:"action"`
	Actor    string `json:"actor"`
	// ActorKeyID and ActorKeyName are the key that made the change and its
	// name at the time (null for a change no key made); Actor is the person
	// it asserted, else that key's ID.
	ActorKeyID   *string                `json:"actorKeyId"`
	ActorKeyName *string                `json:"actorKeyName"`
	At           time.Time              `json:"at"`
	RequestID    *string                `json:"requestId"`
	SourceIP     *string                `json:"sourceIp"`
	Changes      map[string]FieldChange `json:"changes"`
}

// RecordID derives a record's ID from the stream record it comes from, so a
// redelivered stream record maps to the same audit record (and the store's
// conditional put writes nothing new). eventID is globally unique per stream
// record; the sequence number is added for streams that reuse event IDs.
func RecordID(eventID, sequence string) string {
	sum := sha256.Sum256([]byte("keyward-audit\x00" + eventID + "\x00" + sequence))
	return RecordIDPrefix + hex.EncodeToString(sum[:16])
}

// RecordIDPrefix starts every audit record ID.
const RecordIDPrefix = "aud_"

// Store persists audit records. Records are append-only: a Store has no
// update or delete, and DynamoDB TTL is the only thing that removes them.
type Store interface {
	// Put writes r unless a record with its ID (and time) exists; it reports
	// whether it wrote. A redelivered stream record therefore writes nothing.
	Put(ctx context.Context, r Record) (bool, error)
	// Query returns up to q.Limit records of q.TenantID matching q, newest
	// first, and a continuation token that is "" unless more matching records
	// exist. Errors: unavailable when the filters match too sparsely to fill
	// a page within the store's read budget.
	Query(ctx context.Context, q Query) ([]Record, string, error)
}
