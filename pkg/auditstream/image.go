package auditstream

import (
	"fmt"
	"reflect"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/audit"
)

// The keys table's item layout as far as the audit trail reads it (template.yaml
// documents it beside KeysTable; pkg/dynamostore writes it). The integration
// tests drive the real store, so a change of layout there fails them here.
const (
	attrSK       = "sk"
	skKeyItem    = "KEY"
	attrSecret   = "secretHash"
	attrPepper   = "pepperVersion"
	storedLayout = "2006-01-02T15:04:05.000Z"
)

// keyImage is what the audit trail decodes of a key item image: the public
// fields and the write's actor, request and source. Secret hashes are not
// decoded into it; secretChanged compares them without copying them out.
type keyImage struct {
	ID                      string            `dynamodbav:"id"`
	TenantID                string            `dynamodbav:"tenantId"`
	Name                    string            `dynamodbav:"name"`
	Description             string            `dynamodbav:"description"`
	Type                    string            `dynamodbav:"type"`
	Scopes                  []string          `dynamodbav:"scopes"`
	AllowIPs                []string          `dynamodbav:"allowIps"`
	AllowOrigins            []string          `dynamodbav:"allowOrigins"`
	Metadata                map[string]string `dynamodbav:"metadata"`
	Status                  string            `dynamodbav:"status"`
	IsDefault               bool              `dynamodbav:"isDefault"`
	Hint                    string            `dynamodbav:"hint"`
	CreatedAt               string            `dynamodbav:"createdAt"`
	CreatedBy               string            `dynamodbav:"createdBy"`
	UpdatedAt               string            `dynamodbav:"updatedAt"`
	UpdatedBy               string            `dynamodbav:"updatedBy"`
	ExpiresAt               string            `dynamodbav:"expiresAt"`
	RevokedAt               string            `dynamodbav:"revokedAt"`
	RevokedBy               string            `dynamodbav:"revokedBy"`
	RotatedAt               string            `dynamodbav:"rotatedAt"`
	PreviousSecretExpiresAt string            `dynamodbav:"previousSecretExpiresAt"`
	Version                 int64             `dynamodbav:"version"`
	RequestID               string            `dynamodbav:"requestId"`
	SourceIP                string            `dynamodbav:"sourceIp"`
}

// isKeyItem reports whether a stream record is about a key item (sk=KEY), as
// the event source's filter does in AWS; locally nothing filters.
func isKeyItem(r *events.DynamoDBEventRecord) bool {
	sk, ok := r.Change.Keys[attrSK]
	return ok && sk.DataType() == events.DataTypeString && sk.String() == skKeyItem
}

// decodeVersion decodes a key item image; nil stays nil.
func decodeVersion(img map[string]events.DynamoDBAttributeValue, which string) (*audit.KeyVersion, error) {
	if img == nil {
		return nil, nil
	}
	var it keyImage
	if err := attributevalue.UnmarshalMap(toSDK(img), &it); err != nil {
		// The decoder's message names types, never values.
		return nil, fmt.Errorf("decode %s image: %w", which, err)
	}
	k := apikey.Key{
		ID: it.ID, TenantID: it.TenantID, Name: it.Name, Description: it.Description, Type: it.Type,
		Scopes:    it.Scopes,
		AllowList: apikey.AllowList{IPs: it.AllowIPs, Origins: it.AllowOrigins},
		Metadata:  it.Metadata, Status: apikey.Status(it.Status), IsDefault: it.IsDefault, Hint: it.Hint,
		CreatedBy: it.CreatedBy, UpdatedBy: it.UpdatedBy, Version: it.Version,
	}
	var err error
	times := []struct {
		name string
		raw  string
		dst  **time.Time
	}{
		{"expiresAt", it.ExpiresAt, &k.ExpiresAt},
		{"revokedAt", it.RevokedAt, &k.RevokedAt},
		{"rotatedAt", it.RotatedAt, &k.RotatedAt},
		{"previousSecretExpiresAt", it.PreviousSecretExpiresAt, &k.PreviousSecretExpiresAt},
	}
	for _, f := range times {
		if *f.dst, err = parseTime(f.raw, f.name, which); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		name string
		raw  string
		dst  *time.Time
	}{{"createdAt", it.CreatedAt, &k.CreatedAt}, {"updatedAt", it.UpdatedAt, &k.UpdatedAt}} {
		t, err := parseTime(f.raw, f.name, which)
		if err != nil {
			return nil, err
		}
		if t != nil {
			*f.dst = *t
		}
	}
	if it.RevokedBy != "" {
		by := it.RevokedBy
		k.RevokedBy = &by
	}
	return &audit.KeyVersion{
		Key:   k,
		Write: apikey.Change{Actor: it.UpdatedBy, RequestID: it.RequestID, SourceIP: it.SourceIP},
	}, nil
}

func parseTime(s, name, which string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(storedLayout, s)
	if err != nil {
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return nil, fmt.Errorf("decode %s image: %s is not a time", which, name)
		}
	}
	t = t.UTC()
	return &t, nil
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
		if oOK != nOK || (oOK && !reflect.DeepEqual(toSDKValue(o), toSDKValue(n))) {
			return true
		}
	}
	return false
}

// toSDK converts a Lambda event image into the SDK's attribute values, which
// the attributevalue decoder reads.
func toSDK(m map[string]events.DynamoDBAttributeValue) map[string]types.AttributeValue {
	out := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		out[k] = toSDKValue(v)
	}
	return out
}

func toSDKValue(v events.DynamoDBAttributeValue) types.AttributeValue {
	switch v.DataType() {
	case events.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}
	case events.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: v.Number()}
	case events.DataTypeBinary:
		return &types.AttributeValueMemberB{Value: v.Binary()}
	case events.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}
	case events.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: v.StringSet()}
	case events.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: v.NumberSet()}
	case events.DataTypeBinarySet:
		return &types.AttributeValueMemberBS{Value: v.BinarySet()}
	case events.DataTypeList:
		l := v.List()
		out := make([]types.AttributeValue, len(l))
		for i, e := range l {
			out[i] = toSDKValue(e)
		}
		return &types.AttributeValueMemberL{Value: out}
	case events.DataTypeMap:
		return &types.AttributeValueMemberM{Value: toSDK(v.Map())}
	default:
		return &types.AttributeValueMemberNULL{Value: true}
	}
}
