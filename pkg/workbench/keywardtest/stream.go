package keywardtest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// KeyImage reads key id's item as stored, in the shape a stream record's
// image has.
func KeyImage(tb testing.TB, s *Stack, id string) map[string]events.DynamoDBAttributeValue {
	tb.Helper()
	return ItemImage(tb, s, "KEY#"+id, "KEY")
}

// ItemImage reads the keys table's item pk, sk (consistently) as a stream
// image.
func ItemImage(tb testing.TB, s *Stack, pk, sk string) map[string]events.DynamoDBAttributeValue {
	tb.Helper()
	out, err := s.DB.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(s.Tables["KeysTable"]), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}},
	})
	if err != nil || out.Item == nil {
		tb.Fatalf("keywardtest: read item %s %s: %v", pk, sk, err)
	}
	b, err := json.Marshal(wireMap(out.Item))
	if err != nil {
		tb.Fatal(err)
	}
	var img map[string]events.DynamoDBAttributeValue
	if err := json.Unmarshal(b, &img); err != nil {
		tb.Fatalf("keywardtest: item %s %s as a stream image: %v", pk, sk, err)
	}
	return img
}

// wireMap renders attribute values in DynamoDB's JSON wire form, which a
// stream image decodes from.
func wireMap(m map[string]types.AttributeValue) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = wire(v)
	}
	return out
}

func wire(v types.AttributeValue) any {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return map[string]any{"S": x.Value}
	case *types.AttributeValueMemberN:
		return map[string]any{"N": x.Value}
	case *types.AttributeValueMemberB:
		return map[string]any{"B": x.Value}
	case *types.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": x.Value}
	case *types.AttributeValueMemberSS:
		return map[string]any{"SS": x.Value}
	case *types.AttributeValueMemberNS:
		return map[string]any{"NS": x.Value}
	case *types.AttributeValueMemberL:
		l := make([]any, len(x.Value))
		for i, e := range x.Value {
			l[i] = wire(e)
		}
		return map[string]any{"L": l}
	case *types.AttributeValueMemberM:
		return map[string]any{"M": wireMap(x.Value)}
	}
	return map[string]any{"NULL": true}
}

// ModifyRecord is the stream record of a key item's change from old to new.
func ModifyRecord(old, new map[string]events.DynamoDBAttributeValue) events.DynamoDBEventRecord {
	return events.DynamoDBEventRecord{
		EventName: "MODIFY", EventSource: "aws:dynamodb",
		Change: events.DynamoDBStreamRecord{
			Keys:     map[string]events.DynamoDBAttributeValue{"pk": new["pk"], "sk": new["sk"]},
			OldImage: old, NewImage: new, StreamViewType: "NEW_AND_OLD_IMAGES",
		},
	}
}
