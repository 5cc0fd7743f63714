package auditstore

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/keyward/keyward/pkg/audit"
)

// Item keys and index names. Every key-builder of the audit table lives
// here; template.yaml documents the same layout beside AuditTable.
const (
	indexByKey    = "byKey"
	indexByActor  = "byActor"
	indexByAction = "byAction"
	// indexByActorAction serves the one two-filter query no single-filter
	// index bounds: an actor's records of one action (a busy automation's
	// rare revocations would otherwise be read through all its updates).
	indexByActorAction = "byActorAction"

	attrPK       = "pk"
	attrSK       = "sk"
	attrKeyPK    = "keyPk"
	attrActorPK  = "actorPk"
	attrActionPK = "actionPk"

	attrActorActionPK = "actorActionPk"
)

// timeLayout is fixed-width UTC to the millisecond, so sort keys order by time.
const timeLayout = "2006-01-02T15:04:05.000Z"

func tenantPK(tenant string) string         { return "TENANT#" + tenant }
func keyPK(tenant, keyID string) string     { return tenantPK(tenant) + "#KEY#" + keyID }
func actorPK(tenant, actor string) string   { return tenantPK(tenant) + "#ACTOR#" + actor }
func actionPK(tenant, action string) string { return tenantPK(tenant) + "#ACTION#" + action }
func actorActionPK(tenant, actor, action string) string {
	return actorPK(tenant, actor) + "#ACTION#" + action
}

// sortKey orders a tenant's records by time, then ID.
func sortKey(at time.Time, id string) string { return fmtTime(at) + "#" + id }

func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// timeKey is a bound on sort keys: t rounded up to the millisecond, since
// records are kept to the millisecond. A record at t sorts after it.
func timeKey(t time.Time) string {
	if r := t.Truncate(time.Millisecond); !r.Equal(t) {
		t = r.Add(time.Millisecond)
	}
	return fmtTime(t)
}

// validSortKey reports whether s has the shape sortKey gives, so a
// continuation token can be trusted as an ExclusiveStartKey.
func validSortKey(s string) bool {
	ts, id, ok := strings.Cut(s, "#")
	if !ok || len(ts) != len(timeLayout) || !strings.HasPrefix(id, audit.RecordIDPrefix) || len(id) > 64 {
		return false
	}
	_, err := time.Parse(timeLayout, ts)
	return err == nil
}

// recordItem is an audit record as stored. Changes is kept as JSON text so
// that it reads back exactly as written, whatever shapes its values take.
type recordItem struct {
	PK       string `dynamodbav:"pk"`
	SK       string `dynamodbav:"sk"`
	KeyPK    string `dynamodbav:"keyPk"`
	ActorPK  string `dynamodbav:"actorPk"`
	ActionPK string `dynamodbav:"actionPk"`

	ActorActionPK string `dynamodbav:"actorActionPk"`

	ID           string `dynamodbav:"id"`
	TenantID     string `dynamodbav:"tenantId"`
	KeyID        string `dynamodbav:"keyId"`
	Action       string `dynamodbav:"action"`
	Actor        string `dynamodbav:"actor"`
	ActorKeyID   string `dynamodbav:"actorKeyId,omitempty"`
	ActorKeyName string `dynamodbav:"actorKeyName,omitempty"`
	At           string `dynamodbav:"at"`
	RequestID    string `dynamodbav:"requestId,omitempty"`
	SourceIP     string `dynamodbav:"sourceIp,omitempty"`
	Changes      string `dynamodbav:"changes"`

	// TTL is when DynamoDB may delete the record (epoch seconds): its time
	// plus the retention.
	TTL int64 `dynamodbav:"ttl"`
}

func toItem(r audit.Record, retention time.Duration) (recordItem, error) {
	changes := r.Changes
	if changes == nil {
		changes = map[string]audit.FieldChange{}
	}
	js, err := json.Marshal(changes)
	if err != nil {
		return recordItem{}, fmt.Errorf("encode changes: %w", err)
	}
	it := recordItem{
		PK: tenantPK(r.TenantID), SK: sortKey(r.At, r.ID),
		KeyPK: keyPK(r.TenantID, r.KeyID), ActorPK: actorPK(r.TenantID, r.Actor), ActionPK: actionPK(r.TenantID, string(r.Action)),
		ActorActionPK: actorActionPK(r.TenantID, r.Actor, string(r.Action)),
		ID:            r.ID, TenantID: r.TenantID, KeyID: r.KeyID, Action: string(r.Action), Actor: r.Actor,
		At: fmtTime(r.At), Changes: string(js),
		TTL: r.At.Add(retention).Unix(),
	}
	if r.RequestID != nil {
		it.RequestID = *r.RequestID
	}
	if r.ActorKeyID != nil {
		it.ActorKeyID = *r.ActorKeyID
		if r.ActorKeyName != nil {
			it.ActorKeyName = *r.ActorKeyName
		}
	}
	if r.SourceIP != nil {
		it.SourceIP = *r.SourceIP
	}
	return it, nil
}

func fromItem(it *recordItem) (audit.Record, error) {
	at, err := time.Parse(timeLayout, it.At)
	if err != nil {
		return audit.Record{}, fmt.Errorf("record %s: bad time", it.ID)
	}
	r := audit.Record{
		ID: it.ID, TenantID: it.TenantID, KeyID: it.KeyID, Action: audit.Action(it.Action), Actor: it.Actor,
		At: at, Changes: map[string]audit.FieldChange{},
	}
	if it.RequestID != "" {
		id := it.RequestID
		r.RequestID = &id
	}
	if it.ActorKeyID != "" {
		id, name := it.ActorKeyID, it.ActorKeyName
		r.ActorKeyID, r.ActorKeyName = &id, &name
	}
	if it.SourceIP != "" {
		ip := it.SourceIP
		r.SourceIP = &ip
	}
	if it.Changes != "" {
		if err := json.Unmarshal([]byte(it.Changes), &r.Changes); err != nil {
			return audit.Record{}, fmt.Errorf("record %s: bad changes: %w", it.ID, err)
		}
	}
	return r, nil
}
