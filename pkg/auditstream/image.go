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
