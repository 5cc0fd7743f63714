package dynamostore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyward/keyward/pkg/apikey"
)

// Stage and deadline items (template.yaml documents them beside KeysTable):
//
//	stage item     pk=STAGE     sk=<apiId>/<stage>         a stage the authorizer served (kind rest or http)
//	deadline item  pk=DEADLINE  sk=<time, to the ns>#<keyId> a cached Allow must not outlive it
//
// Both partitions stay small: a stage item per API stage, a deadline item
// per key whose expiry (or grace end) falls within a gateway cache TTL of a
// use. They carry a ttl so forgotten ones leave by themselves; neither has
// sk=KEY, so the stream's filter never passes them.
const (
	pkStage    = "STAGE"
	pkDeadline = "DEADLINE"

	// stageRetention is how long a stage is kept after the authorizer last
	// recorded it (each container records its stages once).
	stageRetention = 30 * 24 * time.Hour
	// deadlineRetention is how long a deadline item outlives its time, in
	// case the flusher was down.
	deadlineRetention = 24 * time.Hour
	deadlineLayout    = "2006-01-02T15:04:05.000000000Z"
)

func stageSK(s apikey.Stage) string { return s.APIID + "/" + s.Name }

func stageKind(s apikey.Stage) string {
	if s.HTTP {
		return "http"
	}
	return "rest"
}

func deadlineSK(d apikey.Deadline) string {
	return d.At.UTC().Format(deadlineLayout) + "#" + d.KeyID
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// RecordStage notes that the authorizer served stage s at now (one PutItem;
// writing it again only moves its ttl).
func (s *Store) RecordStage(ctx context.Context, st apikey.Stage, now time.Time) error {
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table,
		Item: map[string]types.AttributeValue{
			"pk": str(pkStage), "sk": str(stageSK(st)),
			"apiId": str(st.APIID), "stage": str(st.Name), "kind": str(stageKind(st)),
			"seenAt": str(fmtTime(now)), "ttl": num(now.Add(stageRetention).Unix()),
		},
	})
	return wrap(err, "record stage %s/%s", st.APIID, st.Name)
}

// ListStages returns every recorded stage (one Query of the STAGE partition,
// paged).
func (s *Store) ListStages(ctx context.Context) ([]apikey.Stage, error) {
	var out []apikey.Stage
	err := s.queryPartition(ctx, pkStage, "", func(it map[string]types.AttributeValue) {
		api, _ := it["apiId"].(*types.AttributeValueMemberS)
		st, _ := it["stage"].(*types.AttributeValueMemberS)
		kind, _ := it["kind"].(*types.AttributeValueMemberS)
		if api != nil && st != nil && api.Value != "" && st.Value != "" {
			out = append(out, apikey.Stage{APIID: api.Value, Name: st.Value, HTTP: kind != nil && kind.Value == "http"})
		}
	})
	return out, wrap(err, "list stages")
}

// RecordDeadline notes that a gateway may hold an Allow for a key until d.At,
// when its credential stops working by itself (one PutItem, idempotent).
func (s *Store) RecordDeadline(ctx context.Context, d apikey.Deadline) error {
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table,
		Item: map[string]types.AttributeValue{
			"pk": str(pkDeadline), "sk": str(deadlineSK(d)), "keyId": str(d.KeyID),
			"ttl": num(d.At.Add(deadlineRetention).Unix()),
		},
	})
	return wrap(err, "record deadline of %s", d.KeyID)
}

// DueDeadlines returns the recorded deadlines at or before until, oldest first.
func (s *Store) DueDeadlines(ctx context.Context, until time.Time) ([]apikey.Deadline, error) {
	var out []apikey.Deadline
	bound := until.UTC().Format(deadlineLayout) + "#~"
	err := s.queryPartition(ctx, pkDeadline, bound, func(it map[string]types.AttributeValue) {
		sk, _ := it["sk"].(*types.AttributeValueMemberS)
		if sk == nil {
			return
		}
		at, id, ok := strings.Cut(sk.Value, "#")
		t, err := time.Parse(deadlineLayout, at)
		if ok && err == nil {
			out = append(out, apikey.Deadline{KeyID: id, At: t})
		}
	})
	return out, wrap(err, "list deadlines")
}

// deleter is the DynamoDB client's DeleteItem, which only the flusher uses.
type deleter interface {
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// DeleteDeadline forgets a deadline once the caches have been flushed for it.
func (s *Store) DeleteDeadline(ctx context.Context, d apikey.Deadline) error {
	del, ok := s.db.(deleter)
	if !ok {
		return fmt.Errorf("delete deadline of %s: the DynamoDB client cannot delete items", d.KeyID)
	}
	_, err := del.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: keyOf(pkDeadline, deadlineSK(d))})
	return wrap(err, "delete deadline of %s", d.KeyID)
}

// queryPartition reads every item of partition pk (with sk <= skMax when
// set), page by page, consistently.
func (s *Store) queryPartition(ctx context.Context, pk, skMax string, each func(map[string]types.AttributeValue)) error {
	cond := "pk = :pk"
	vals := map[string]types.AttributeValue{":pk": str(pk)}
	if skMax != "" {
		cond += " AND sk <= :max"
		vals[":max"] = str(skMax)
	}
	var start map[string]types.AttributeValue
	for {
		res, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName: &s.table, ConsistentRead: aws.Bool(true),
			KeyConditionExpression: aws.String(cond), ExpressionAttributeValues: vals, ExclusiveStartKey: start,
		})
		if err != nil {
			return err
		}
		for _, it := range res.Items {
			each(it)
		}
		if len(res.LastEvaluatedKey) == 0 {
			return nil
		}
		start = res.LastEvaluatedKey
	}
}
