package audit

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"time"
)

// ActionPolicyUpdated: a tenant's key policy was set (PUT /v1/policy).
const ActionPolicyUpdated Action = "policy.updated"

// policyBookkeeping are the policy document's fields that say who and when,
// not what: they are the record's actor and time, never its changes.
var policyBookkeeping = map[string]bool{"version": true, "updatedAt": true, "updatedBy": true}

// PolicyVersion is one stored version of a tenant's key policy as the
// stream shows it: the policy document (JSON) and the write that made it.
type PolicyVersion struct {
	TenantID  string
	Document  string
	Actor     string
	RequestID string
	SourceIP  string
}

// PolicyRecordOf turns a change of a tenant's policy item into its audit
// record (keyId empty): changes are the document's fields that differ. It
// reports false when nothing but bookkeeping changed; an error means a
// malformed image.
func PolicyRecordOf(eventID, sequence string, at time.Time, old, new *PolicyVersion) (Record, bool, error) {
	if new == nil {
		return Record{}, false, nil // policies are never deleted by keyward
	}
	var before, after map[string]any
	if old != nil {
		if err := json.Unmarshal([]byte(old.Document), &before); err != nil {
			return Record{}, false, fmt.Errorf("%w: old policy is not JSON", errMalformed)
		}
	}
	if err := json.Unmarshal([]byte(new.Document), &after); err != nil {
		return Record{}, false, fmt.Errorf("%w: new policy is not JSON", errMalformed)
	}
	changes := map[string]FieldChange{}
	names := map[string]bool{}
	for k := range before {
		names[k] = true
	}
	for k := range after {
		names[k] = true
	}
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if policyBookkeeping[k] || reflect.DeepEqual(before[k], after[k]) {
			continue
		}
		changes[k] = FieldChange{From: before[k], To: after[k]}
	}
	if len(changes) == 0 && old != nil {
		return Record{}, false, nil
	}
	if u, ok := after["updatedAt"].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, u); err == nil {
			at = t
		}
	}
	r := Record{
		ID: RecordID(eventID, sequence), TenantID: new.TenantID, Action: ActionPolicyUpdated,
		Actor: new.Actor, At: at.UTC(), Changes: changes,
	}
	if r.Actor == "" {
		r.Actor = ActorUnknown
	}
	if new.RequestID != "" {
		r.RequestID = &new.RequestID
	}
	if new.SourceIP != "" {
		r.SourceIP = &new.SourceIP
	}
	return r, true, nil
}
