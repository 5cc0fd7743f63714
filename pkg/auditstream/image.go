package auditstream

import (
	"fmt"
	"reflect"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keyward/keyward/pkg/audit"
	"github.com/keyward/keyward/pkg/dynamostore"
)

// The names the audit trail reads of the keys table's layout (template.yaml
// documents it beside KeysTable; pkg/dynamostore owns it and decodes images).
// The integration tests drive the real store, so a change there fails here.
const (
	attrSK     = "sk"
	skKeyItem  = "KEY"
	attrSecret = "secretHash"
	attrPepper = "pepperVersion"
)

// isKeyItem reports whether a stream record is about a key item (sk=KEY), as
// the event source's filter does in AWS; locally nothing filters.
func isKeyItem(r *events.DynamoDBEventRecord) bool {
	sk, ok := r.Change.Keys[attrSK]
	return ok && sk.DataType() == events.DataTypeString && sk.String() == skKeyItem
}

// decodeVersion decodes a key item image with the store's own decoder; nil
// stays nil. Only the public key and the write leave this function.
func decodeVersion(img map[string]events.DynamoDBAttributeValue, which string) (*audit.KeyVersion, error) {
	if img == nil {
		return nil, nil
	}
	k, err := dynamostore.DecodeKeyItem(dynamostore.FromStreamImage(img))
	if err != nil {
		// The decoder's message names types, never values.
		return nil, fmt.Errorf("decode %s image: %w", which, err)
	}
	return &audit.KeyVersion{Key: k.Key, Write: k.Change}, nil
}

// secretChanged reports whether the secret hash (or its pepper version)
// differs between two images. Only equality leaves this function.
func secretChanged(old, new map[string]events.DynamoDBAttributeValue) bool {
	if old == nil || new == nil {
		return false
	}
	for _, a := range []string{attrSecret, attrPepper} {
		o, oOK := old[a]
		n, nOK := new[a]
		if oOK != nOK || (oOK && !reflect.DeepEqual(dynamostore.FromStreamValue(o), dynamostore.FromStreamValue(n))) {
			return true
		}
	}
	return false
}

// IsKeyItem reports whether a stream record is about a key item (sk=KEY);
// other consumers of the keys stream (lifecycle events) skip the rest.
func IsKeyItem(r *events.DynamoDBEventRecord) bool { return isKeyItem(r) }

// Decode decodes a key item's stream record into an audit event with the
// same decoder the audit trail uses: no secret hash leaves it.
func Decode(r *events.DynamoDBEventRecord) (audit.Event, error) { return eventOf(r) }

// skPolicy is the sort key of a tenant's key policy item, whose changes are
// audited as policy.updated.
const skPolicy = "POLICY"

// isPolicyItem reports whether a stream record is about a tenant's policy item.
func isPolicyItem(r *events.DynamoDBEventRecord) bool {
	sk, ok := r.Change.Keys[attrSK]
	return ok && sk.DataType() == events.DataTypeString && sk.String() == skPolicy
}

// policyVersion reads a policy item image (nil stays nil): the document and
// the write's actor, request ID and source IP.
func policyVersion(img map[string]events.DynamoDBAttributeValue) *audit.PolicyVersion {
	if img == nil {
		return nil
	}
	str := func(name string) string {
		if v, ok := img[name]; ok && v.DataType() == events.DataTypeString {
			return v.String()
		}
		return ""
	}
	return &audit.PolicyVersion{TenantID: str("tenantId"), Document: str("policy"), Actor: str("updatedBy"),
		RequestID: str("requestId"), SourceIP: str("sourceIp")}
}
