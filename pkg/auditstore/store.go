// Package auditstore is the DynamoDB adapter of keyward's audit table: it
// implements audit.Store with conditional puts (so a redelivered stream record
// writes nothing new) and Query only, never Scan. Records are append-only:
// this package has no update or delete; DynamoDB TTL removes records after the
// retention. The table layout and its access patterns are documented beside
// AuditTable in template.yaml.
package auditstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/audit"
)

// API is the part of the DynamoDB client the store uses: PutItem (the stream
// function) and Query (the audit function), nothing that updates or deletes.
type API interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// DefaultRetention is how long records are kept when New is given none
// (the template's AuditRetentionDays default).
const DefaultRetention = 400 * 24 * time.Hour

// Read budget of one Query call of the store: filtered reads evaluate at most
// maxPages pages of filteredPageSize items before giving up on filling a page.
const (
	maxPages         = 20
	filteredPageSize = 1000
)

// Store is the audit table.
type Store struct {
	db        API
	table     string
	retention time.Duration

	// The read budget of one filtered query (tests shrink it).
	maxPages, pageSize int
}

var _ audit.Store = (*Store)(nil)

// New returns a Store over the named table; records written through it are
// kept for retention (DefaultRetention when not positive).
func New(db API, table string, retention time.Duration) *Store {
	if retention <= 0 {
		retention = DefaultRetention
	}
	return &Store{db: db, table: table, retention: retention, maxPages: maxPages, pageSize: filteredPageSize}
}

// Table returns the table name.
func (s *Store) Table() string { return s.table }

// Put writes r on the condition that no record has its key (tenant, time and
// ID); it reports false, with no error, when one already does.
func (s *Store) Put(ctx context.Context, r audit.Record) (bool, error) {
	it, err := toItem(r, s.retention)
	if err != nil {
		return false, err
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return false, fmt.Errorf("encode audit record %s: %w", r.ID, err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("put audit record %s: %w", r.ID, err)
	}
	return true, nil
}

// plan is how one query reads: the index (or the table), its partition and
// what is left to filter.
type plan struct {
	index     string // "" for the table
	partAttr  string
	partValue string
	filter    *expression.ConditionBuilder
}

// planFor picks the most selective index for q: a key's records, else an
// actor's records of one action, else an actor's, else an action's, else
// the tenant's. Every query without a key ID is then served by its index
// alone, and one with a key ID reads that key's history (its handful of
// changes), so the read budget below is not met on realistic data.
func planFor(q audit.Query) plan {
	var p plan
	switch {
	case q.KeyID != "":
		p = plan{index: indexByKey, partAttr: attrKeyPK, partValue: keyPK(q.TenantID, q.KeyID)}
	case q.Actor != "" && q.Action != "":
		p = plan{index: indexByActorAction, partAttr: attrActorActionPK, partValue: actorActionPK(q.TenantID, q.Actor, string(q.Action))}
	case q.Actor != "":
		p = plan{index: indexByActor, partAttr: attrActorPK, partValue: actorPK(q.TenantID, q.Actor)}
	case q.Action != "":
		p = plan{index: indexByAction, partAttr: attrActionPK, partValue: actionPK(q.TenantID, string(q.Action))}
	default:
		p = plan{partAttr: attrPK, partValue: tenantPK(q.TenantID)}
	}
	var conds []expression.ConditionBuilder
	if q.Actor != "" && p.index != indexByActor && p.index != indexByActorAction {
		conds = append(conds, expression.Name("actor").Equal(expression.Value(q.Actor)))
	}
	if q.Action != "" && p.index != indexByAction && p.index != indexByActorAction {
		conds = append(conds, expression.Name("action").Equal(expression.Value(string(q.Action))))
	}
	switch len(conds) {
	case 1:
		p.filter = &conds[0]
	case 2:
		c := expression.And(conds[0], conds[1])
		p.filter = &c
	}
	return p
}

// Query returns up to q.Limit records newest first. It reads one record past
// the page, so the continuation token (the last returned record's sort key)
// is set only when another matching record exists. Filters the chosen index
// cannot serve (only a key's action or actor) are applied while reading,
// within a read budget of 20 reads of 1,000 items; a budget spent without
// any match is apikey's unavailable (503 "narrow from and to"), which takes
// a key with over 20,000 changes to meet. Errors: invalid_request
// for a continuation token that is not a sort key.
func (s *Store) Query(ctx context.Context, q audit.Query) ([]audit.Record, string, error) {
	if q.Limit < 1 {
		return nil, "", fmt.Errorf("audit query: limit %d", q.Limit)
	}
	p := planFor(q)
	in, err := p.input(s.table, q)
	if err != nil {
		return nil, "", err
	}
	items, start, err := s.read(ctx, in, q.Limit+1, p.filter != nil) // one more than the page, to know whether another exists
	if err != nil {
		return nil, "", err
	}
	next := ""
	switch {
	case len(items) > q.Limit:
		items = items[:q.Limit]
		next = items[len(items)-1].SK
	case start != nil:
		// The read budget ran out: the cursor resumes where reading stopped.
		next = stringAttr(start, attrSK)
	}
	recs, err := decode(items)
	if err != nil {
		return nil, "", err
	}
	return recs, next, nil
}

// input is the first page's Query: the plan's partition, the from/to range
// on the sort key, the filter the index cannot serve, and the start after
// the continuation token.
func (p plan) input(table string, q audit.Query) (*dynamodb.QueryInput, error) {
	kc := expression.Key(p.partAttr).Equal(expression.Value(p.partValue))
	switch {
	case !q.From.IsZero() && !q.To.IsZero():
		kc = kc.And(expression.Key(attrSK).Between(expression.Value(timeKey(q.From)), expression.Value(timeKey(q.To))))
	case !q.From.IsZero():
		kc = kc.And(expression.Key(attrSK).GreaterThanEqual(expression.Value(timeKey(q.From))))
	case !q.To.IsZero():
		kc = kc.And(expression.Key(attrSK).LessThan(expression.Value(timeKey(q.To))))
	}
	b := expression.NewBuilder().WithKeyCondition(kc)
	if p.filter != nil {
		b = b.WithFilter(*p.filter)
	}
	expr, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("build audit query: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 &table,
		KeyConditionExpression:    expr.KeyCondition(),
		FilterExpression:          expr.Filter(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ScanIndexForward:          aws.Bool(false),
	}
	if p.index != "" {
		in.IndexName = aws.String(p.index)
	}
	if q.After != "" {
		if !validSortKey(q.After) {
			return nil, apikey.Invalid("cursor", "is not a cursor this list issued")
		}
		in.ExclusiveStartKey = map[string]types.AttributeValue{
			attrPK: &types.AttributeValueMemberS{Value: tenantPK(q.TenantID)},
			attrSK: &types.AttributeValueMemberS{Value: q.After},
		}
		if p.index != "" {
			in.ExclusiveStartKey[p.partAttr] = &types.AttributeValueMemberS{Value: p.partValue}
		}
	}
	return in, nil
}

// read pages through in until it holds want items, the partition ends or the
// read budget (maxPages) is spent. It returns the items and the key reading
// stopped at (nil at the partition's end). A budget spent without any item
// is apikey's unavailable.
func (s *Store) read(ctx context.Context, in *dynamodb.QueryInput, want int, filtered bool) ([]recordItem, map[string]types.AttributeValue, error) {
	var items []recordItem
	start := in.ExclusiveStartKey
	for pages := 0; ; pages++ {
		if pages == s.maxPages {
			if len(items) == 0 {
				return nil, nil, apikey.Errorf(apikey.ECodeUnavailable, "these filters match too few records to fill a page quickly; narrow from and to")
			}
			return items, start, nil
		}
		limit := int32(want - len(items))
		if filtered {
			limit = int32(s.pageSize)
		}
		page := *in
		page.ExclusiveStartKey, page.Limit = start, aws.Int32(limit)
		out, err := s.db.Query(ctx, &page)
		if err != nil {
			return nil, nil, fmt.Errorf("query audit records: %w", err)
		}
		for _, m := range out.Items {
			var it recordItem
			if err := attributevalue.UnmarshalMap(m, &it); err != nil {
				return nil, nil, fmt.Errorf("decode audit record: %w", err)
			}
			items = append(items, it)
		}
		start = out.LastEvaluatedKey
		if len(items) >= want || start == nil {
			return items, start, nil
		}
	}
}

func decode(items []recordItem) ([]audit.Record, error) {
	out := make([]audit.Record, len(items))
	for i := range items {
		r, err := fromItem(&items[i])
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

func stringAttr(m map[string]types.AttributeValue, name string) string {
	if s, ok := m[name].(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}
