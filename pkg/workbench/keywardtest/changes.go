package keywardtest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/keyward/keyward/pkg/workbench/ddblocal"
	"github.com/keyward/keyward/pkg/workbench/ddbstream"
)

// Mark is a position in the keys table's stream (NEW_AND_OLD_IMAGES): Diff
// reads what was written after it. It tells "nothing changed" from the
// writes themselves, without reading the whole table.
type Mark struct {
	streams *dynamodbstreams.Client
	arn     string
	iters   map[string]string // shard ID → iterator just past its latest record
}

// Mark positions a Mark at the end of every shard of the keys table's
// stream, through clients of its own, so armed faults do not touch it.
func (s *Stack) Mark(tb testing.TB) *Mark {
	tb.Helper()
	ctx := context.Background()
	desc, err := ddblocal.Client(s.Endpoint).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.Tables["KeysTable"])})
	if err != nil || desc.Table.LatestStreamArn == nil {
		tb.Fatalf("keywardtest: the keys table's stream: %v", err)
	}
	m := &Mark{streams: ddblocal.StreamsClient(s.Endpoint), arn: *desc.Table.LatestStreamArn, iters: map[string]string{}}
	for _, id := range m.shards(tb) {
		it, err := m.streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
			StreamArn: aws.String(m.arn), ShardId: aws.String(id), ShardIteratorType: types.ShardIteratorTypeLatest})
		if err != nil {
			tb.Fatalf("keywardtest: shard iterator: %v", err)
		}
		m.iters[id] = aws.ToString(it.ShardIterator)
	}
	return m
}

func (m *Mark) shards(tb testing.TB) []string {
	tb.Helper()
	var ids []string
	in := &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(m.arn)}
	for {
		out, err := m.streams.DescribeStream(context.Background(), in)
		if err != nil {
			tb.Fatalf("keywardtest: describe stream: %v", err)
		}
		for _, sh := range out.StreamDescription.Shards {
			ids = append(ids, aws.ToString(sh.ShardId))
		}
		if out.StreamDescription.LastEvaluatedShardId == nil {
			return ids
		}
		in.ExclusiveStartShardId = out.StreamDescription.LastEvaluatedShardId
	}
}

// Diff is what changed in the keys table since m, as a comparison of whole
// snapshots would report it: an item is added, removed or changed when its
// image before its first write since m differs from its image after its
// last (an item written back as it was is unchanged).
func (m *Mark) Diff(tb testing.TB) Diff {
	tb.Helper()
	first := map[string]events.DynamoDBEventRecord{}
	last := map[string]events.DynamoDBEventRecord{}
	for _, id := range m.shards(tb) {
		for _, r := range m.records(tb, id) {
			k := fmt.Sprint(r.Change.Keys["pk"].String(), "|", r.Change.Keys["sk"].String())
			if _, ok := first[k]; !ok {
				first[k] = r
			}
			last[k] = r
		}
	}
	var d Diff
	for k, f := range first {
		before, after := f.Change.OldImage, last[k].Change.NewImage
		switch {
		case len(before) == 0 && len(after) > 0:
			d.Added = append(d.Added, k)
		case len(before) > 0 && len(after) == 0:
			d.Removed = append(d.Removed, k)
		case len(before) > 0 && !reflect.DeepEqual(before, after):
			d.Changed = append(d.Changed, k)
		}
	}
	slices.Sort(d.Added)
	slices.Sort(d.Removed)
	slices.Sort(d.Changed)
	return d
}

// records reads a shard from m's position (from its start if the shard is
// newer than m) to its current end.
func (m *Mark) records(tb testing.TB, shard string) []events.DynamoDBEventRecord {
	tb.Helper()
	ctx := context.Background()
	it, ok := m.iters[shard]
	if !ok {
		out, err := m.streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
			StreamArn: aws.String(m.arn), ShardId: aws.String(shard), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			tb.Fatalf("keywardtest: shard iterator: %v", err)
		}
		it = aws.ToString(out.ShardIterator)
	}
	var recs []events.DynamoDBEventRecord
	for it != "" {
		out, err := m.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: aws.String(it)})
		if err != nil {
			tb.Fatalf("keywardtest: read the stream: %v", err)
		}
		for _, r := range out.Records {
			recs = append(recs, ddbstream.Record(r, m.arn))
		}
		if len(out.Records) == 0 {
			break // the open end of the shard
		}
		it = aws.ToString(out.NextShardIterator)
	}
	return recs
}
