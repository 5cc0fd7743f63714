package dynamostore

import (
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyward/keyward/pkg/apikey"
)

// DecodeStreamKey decodes a key item's stream image (nil stays nil).
func DecodeStreamKey(img map[string]events.DynamoDBAttributeValue) (*apikey.StoredKey, error) {
	if img == nil {
		return nil, nil
	}
	return DecodeKeyItem(FromStreamImage(img))
}

// FromStreamImage converts a Lambda event image (a stream record's old or new image) into the SDK's attribute values, which
// the attributevalue decoder reads.
func FromStreamImage(m map[string]events.DynamoDBAttributeValue) map[string]types.AttributeValue {
	out := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		out[k] = FromStreamValue(v)
	}
	return out
}

// FromStreamValue converts one attribute value of a Lambda stream event.
func FromStreamValue(v events.DynamoDBAttributeValue) types.AttributeValue {
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
			out[i] = FromStreamValue(e)
		}
		return &types.AttributeValueMemberL{Value: out}
	case events.DataTypeMap:
		return &types.AttributeValueMemberM{Value: FromStreamImage(v.Map())}
	default:
		return &types.AttributeValueMemberNULL{Value: true}
	}
}

// TenantStatusChanged reports whether a stream record is about a tenant item
// (sk=TENANT) and, if so, whether its status changed between the images (a
// suspension or a resumption: every key of the tenant is refused, or
// accepted again).
func TenantStatusChanged(keys, old, new map[string]events.DynamoDBAttributeValue) (isTenant, changed bool) {
	sk, ok := keys["sk"]
	if !ok || sk.DataType() != events.DataTypeString || sk.String() != skTenant {
		return false, false
	}
	return true, streamString(old, "status") != streamString(new, "status")
}

func streamString(img map[string]events.DynamoDBAttributeValue, name string) string {
	if v, ok := img[name]; ok && v.DataType() == events.DataTypeString {
		return v.String()
	}
	return ""
}
