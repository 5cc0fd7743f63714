package ddbstream_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/keyward/keyward/pkg/workbench/ddbstream"
)

func TestAttributeValueConvertsEveryType(t *testing.T) {
	cases := []struct {
		name string
		in   types.AttributeValue
		want string // the Lambda event's JSON
	}{
		{"String", &types.AttributeValueMemberS{Value: "KEY"}, `{"S":"KEY"}`},
		{"Number", &types.AttributeValueMemberN{Value: "42"}, `{"N":"42"}`},
		{"Binary", &types.AttributeValueMemberB{Value: []byte{1, 2}}, `{"B":"AQI="}`},
		{"Bool", &types.AttributeValueMemberBOOL{Value: true}, `{"BOOL":true}`},
		{"Null", &types.AttributeValueMemberNULL{Value: true}, `{"NULL":true}`},
		{"StringSet", &types.AttributeValueMemberSS{Value: []string{"a", "b"}}, `{"SS":["a","b"]}`},
		{"NumberSet", &types.AttributeValueMemberNS{Value: []string{"1", "2"}}, `{"NS":["1","2"]}`},
		{"BinarySet", &types.AttributeValueMemberBS{Value: [][]byte{{1}}}, `{"BS":["AQ=="]}`},
		{"List", &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: "x"}, &types.AttributeValueMemberN{Value: "1"}}}, `{"L":[{"S":"x"},{"N":"1"}]}`},
		{"Map", &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"owner": &types.AttributeValueMemberS{Value: "ops"}}}, `{"M":{"owner":{"S":"ops"}}}`},
		{"EmptyList", &types.AttributeValueMemberL{Value: []types.AttributeValue{}}, `{"L":[]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := json.Marshal(ddbstream.AttributeValue(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != c.want {
				t.Errorf("got %s, want %s", b, c.want)
			}
		})
	}
}

func TestRecordCarriesWhatALambdaEventCarries(t *testing.T) {
	when := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	in := types.Record{
		AwsRegion: aws.String("eu-west-1"), EventID: aws.String("e1"), EventName: types.OperationTypeRemove,
		EventSource: aws.String("aws:dynamodb"), EventVersion: aws.String("1.1"),
		UserIdentity: &types.Identity{Type: aws.String("Service"), PrincipalId: aws.String("dynamodb.amazonaws.com")},
		Dynamodb: &types.StreamRecord{
			ApproximateCreationDateTime: &when,
			Keys:                        map[string]types.AttributeValue{"sk": &types.AttributeValueMemberS{Value: "KEY"}},
			OldImage:                    map[string]types.AttributeValue{"status": &types.AttributeValueMemberS{Value: "revoked"}},
			SequenceNumber:              aws.String("000000000000000000007"), SizeBytes: aws.Int64(99),
			StreamViewType: types.StreamViewTypeNewAndOldImages,
		},
	}
	got := ddbstream.Record(in, "arn:aws:dynamodb:eu-west-1:1:table/K/stream/x")
	// Round-trip through JSON, as Lambda delivers it.
	b, err := json.Marshal(ddbstream.Event([]events.DynamoDBEventRecord{got}))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	r := ev.Records[0]
	if r.EventID != "e1" || r.EventName != "REMOVE" || r.AWSRegion != "eu-west-1" || r.EventSourceArn != "arn:aws:dynamodb:eu-west-1:1:table/K/stream/x" {
		t.Errorf("record = %+v", r)
	}
	if r.UserIdentity == nil || r.UserIdentity.Type != "Service" || r.UserIdentity.PrincipalID != "dynamodb.amazonaws.com" {
		t.Errorf("userIdentity = %+v", r.UserIdentity)
	}
	if r.Change.SequenceNumber != "000000000000000000007" || r.Change.SizeBytes != 99 || r.Change.StreamViewType != "NEW_AND_OLD_IMAGES" ||
		!r.Change.ApproximateCreationDateTime.Equal(when) {
		t.Errorf("change = %+v", r.Change)
	}
	if r.Change.Keys["sk"].String() != "KEY" || r.Change.OldImage["status"].String() != "revoked" || r.Change.NewImage != nil {
		t.Errorf("images: keys %v old %v new %v", r.Change.Keys, r.Change.OldImage, r.Change.NewImage)
	}
}

// expiringStreams serves one shard of two records whose first iterator
// expires after the first record was read: the failure DynamoDB Local cannot
// be made to produce on demand.
type expiringStreams struct {
	iterators []*dynamodbstreams.GetShardIteratorInput
	reads     int
}

func (s *expiringStreams) DescribeStream(context.Context, *dynamodbstreams.DescribeStreamInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error) {
	return &dynamodbstreams.DescribeStreamOutput{StreamDescription: &types.StreamDescription{
		Shards: []types.Shard{{ShardId: aws.String("shard-1")}},
	}}, nil
}

func (s *expiringStreams) GetShardIterator(_ context.Context, in *dynamodbstreams.GetShardIteratorInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error) {
	s.iterators = append(s.iterators, in)
	return &dynamodbstreams.GetShardIteratorOutput{ShardIterator: aws.String(fmt.Sprintf("it-%d", len(s.iterators)))}, nil
}

func (s *expiringStreams) GetRecords(_ context.Context, in *dynamodbstreams.GetRecordsInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error) {
	s.reads++
	rec := func(seq string) types.Record {
		return types.Record{EventID: aws.String("e" + seq), EventName: types.OperationTypeInsert, Dynamodb: &types.StreamRecord{SequenceNumber: aws.String(seq)}}
	}
	switch aws.ToString(in.ShardIterator) {
	case "it-1":
		return &dynamodbstreams.GetRecordsOutput{Records: []types.Record{rec("1")}, NextShardIterator: aws.String("it-1-next")}, nil
	case "it-1-next":
		return nil, &types.ExpiredIteratorException{Message: aws.String("expired")}
	case "it-2":
		return &dynamodbstreams.GetRecordsOutput{Records: []types.Record{rec("2")}}, nil // closed
	}
	return nil, fmt.Errorf("unexpected iterator %s", aws.ToString(in.ShardIterator))
}

func TestReaderRenewsAnExpiredIteratorAfterTheLastRecord(t *testing.T) {
	api := &expiringStreams{}
	r := ddbstream.NewReader(api, "arn:stream")
	recs, err := r.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Change.SequenceNumber != "1" || recs[1].Change.SequenceNumber != "2" {
		t.Fatalf("records %+v, want 1 then 2, each once", recs)
	}
	if len(api.iterators) != 2 || api.iterators[0].ShardIteratorType != types.ShardIteratorTypeTrimHorizon ||
		api.iterators[1].ShardIteratorType != types.ShardIteratorTypeAfterSequenceNumber || aws.ToString(api.iterators[1].SequenceNumber) != "1" {
		t.Fatalf("iterators %+v, want TRIM_HORIZON then AFTER_SEQUENCE_NUMBER 1", api.iterators)
	}
	// The shard is closed: a later call reads nothing more.
	reads := api.reads
	if more, err := r.Next(context.Background()); err != nil || len(more) != 0 || api.reads != reads {
		t.Fatalf("after close: %v, %v, %d reads", more, err, api.reads-reads)
	}
}
