// Package ddbstream reads a DynamoDB table's stream through the DynamoDB
// Streams API and hands its records over as aws-lambda-go events, the shape a
// Lambda event source mapping delivers. Tests (and a local stack, which has no
// event source mapping) use it to feed real stream records to a stream
// handler; a deployed stack never needs it.
//
// aws-lambda-go has no converter from the SDK's dynamodbstreams types to
// events.DynamoDBEventRecord, so Record and AttributeValue are that converter.
package ddbstream

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// Record converts one stream record, read from the stream streamARN, into the
// record a Lambda function receives.
func Record(r types.Record, streamARN string) events.DynamoDBEventRecord {
	out := events.DynamoDBEventRecord{
		AWSRegion:      aws.ToString(r.AwsRegion),
		EventID:        aws.ToString(r.EventID),
		EventName:      string(r.EventName),
		EventSource:    aws.ToString(r.EventSource),
		EventVersion:   aws.ToString(r.EventVersion),
		EventSourceArn: streamARN,
	}
	if id := r.UserIdentity; id != nil {
		out.UserIdentity = &events.DynamoDBUserIdentity{Type: aws.ToString(id.Type), PrincipalID: aws.ToString(id.PrincipalId)}
	}
	if s := r.Dynamodb; s != nil {
		out.Change = events.DynamoDBStreamRecord{
			Keys:           attributeMap(s.Keys),
			NewImage:       attributeMap(s.NewImage),
			OldImage:       attributeMap(s.OldImage),
			SequenceNumber: aws.ToString(s.SequenceNumber),
			SizeBytes:      aws.ToInt64(s.SizeBytes),
			StreamViewType: string(s.StreamViewType),
		}
		if s.ApproximateCreationDateTime != nil {
			out.Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: *s.ApproximateCreationDateTime}
		}
	}
	return out
}

func attributeMap(m map[string]types.AttributeValue) map[string]events.DynamoDBAttributeValue {
	if m == nil {
		return nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(m))
	for k, v := range m {
		out[k] = AttributeValue(v)
	}
	return out
}

// AttributeValue converts one attribute value. An unknown member (a type
// added to the API after this SDK version) becomes NULL.
func AttributeValue(v types.AttributeValue) events.DynamoDBAttributeValue {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value)
	case *types.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value)
	case *types.AttributeValueMemberB:
		return events.NewBinaryAttribute(v.Value)
	case *types.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(v.Value)
	case *types.AttributeValueMemberSS:
		return events.NewStringSetAttribute(v.Value)
	case *types.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(v.Value)
	case *types.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(v.Value)
	case *types.AttributeValueMemberL:
		l := make([]events.DynamoDBAttributeValue, len(v.Value))
		for i, e := range v.Value {
			l[i] = AttributeValue(e)
		}
		return events.NewListAttribute(l)
	case *types.AttributeValueMemberM:
		return events.NewMapAttribute(attributeMap(v.Value))
	default:
		return events.NewNullAttribute()
	}
}

// API is the part of the DynamoDB Streams client a Reader uses.
type API interface {
	DescribeStream(ctx context.Context, in *dynamodbstreams.DescribeStreamInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, optFns ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

var _ API = (*dynamodbstreams.Client)(nil)

// Reader reads one stream from its trim horizon onwards, remembering its
// place in every shard, as an event source mapping with StartingPosition
// TRIM_HORIZON does. It is not safe for concurrent use.
type Reader struct {
	api       API
	streamARN string
	shards    map[string]*shard
	order     []string // shard IDs in the order first seen (parents before children)
}

type shard struct {
	iterator string // "" before the first read (or after it expired)
	last     string // sequence number of the last record read, "" for none
	closed   bool   // fully read and closed: nothing more will come
}

// NewReader returns a Reader of the stream streamARN.
func NewReader(api API, streamARN string) *Reader {
	return &Reader{api: api, streamARN: streamARN, shards: map[string]*shard{}}
}

// Next returns every record written to the stream since the previous call
// (since the trim horizon on the first call), shard by shard in the order the
// stream lists them and in sequence order within a shard.
func (r *Reader) Next(ctx context.Context) ([]events.DynamoDBEventRecord, error) {
	if err := r.discover(ctx); err != nil {
		return nil, err
	}
	var out []events.DynamoDBEventRecord
	for _, id := range r.order {
		sh := r.shards[id]
		if sh.closed {
			continue
		}
		recs, err := r.drain(ctx, id, sh)
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
	}
	return out, nil
}

// discover adds the shards the stream lists that the Reader has not seen.
func (r *Reader) discover(ctx context.Context) error {
	var start *string
	for {
		out, err := r.api.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{
			StreamArn: aws.String(r.streamARN), ExclusiveStartShardId: start,
		})
		if err != nil {
			return fmt.Errorf("describe stream: %w", err)
		}
		if out.StreamDescription == nil {
			return fmt.Errorf("describe stream: no description")
		}
		for _, s := range out.StreamDescription.Shards {
			id := aws.ToString(s.ShardId)
			if _, ok := r.shards[id]; !ok {
				r.shards[id] = &shard{}
				r.order = append(r.order, id)
			}
		}
		start = out.StreamDescription.LastEvaluatedShardId
		if start == nil {
			return nil
		}
	}
}

// maxEmptyReads bounds the reads of an open shard that return nothing: an
// open shard's iterator never ends, and a read may come back empty while
// records are still ahead of it.
const maxEmptyReads = 3

// drain reads one shard until it is caught up or closed. An iterator that
// expired (they last 15 minutes) is replaced by one after the last record read.
func (r *Reader) drain(ctx context.Context, id string, sh *shard) ([]events.DynamoDBEventRecord, error) {
	var out []events.DynamoDBEventRecord
	for empty, renewed := 0, false; empty < maxEmptyReads; {
		if sh.iterator == "" {
			in := &dynamodbstreams.GetShardIteratorInput{
				StreamArn: aws.String(r.streamARN), ShardId: aws.String(id), ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
			}
			if sh.last != "" {
				in.ShardIteratorType, in.SequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(sh.last)
			}
			it, err := r.api.GetShardIterator(ctx, in)
			if err != nil {
				return nil, fmt.Errorf("shard iterator of %s: %w", id, err)
			}
			sh.iterator = aws.ToString(it.ShardIterator)
		}
		page, err := r.api.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: aws.String(sh.iterator)})
		var expired *types.ExpiredIteratorException
		if errors.As(err, &expired) && !renewed {
			sh.iterator, renewed = "", true
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("get records of shard %s: %w", id, err)
		}
		renewed = false
		for _, rec := range page.Records {
			out = append(out, Record(rec, r.streamARN))
			if rec.Dynamodb != nil {
				sh.last = aws.ToString(rec.Dynamodb.SequenceNumber)
			}
		}
		if page.NextShardIterator == nil {
			sh.closed = true
			break
		}
		sh.iterator = aws.ToString(page.NextShardIterator)
		if len(page.Records) == 0 {
			empty++
		}
	}
	return out, nil
}

// Event wraps records into the event a Lambda function receives.
func Event(records []events.DynamoDBEventRecord) events.DynamoDBEvent {
	return events.DynamoDBEvent{Records: records}
}
