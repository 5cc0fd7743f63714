// Package dynamostore is the DynamoDB adapter of keyward's keys table: it
// implements apikey.Store and apikey.PepperStore with conditional writes and
// transactions, so DynamoDB enforces every invariant. The table layout and
// its access patterns are documented beside KeysTable in template.yaml.
package dynamostore

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/keyward/keyward/pkg/apikey"
	"github.com/keyward/keyward/pkg/retry"
)

// API is the part of the DynamoDB client the store uses.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// Store is the keys table.
type Store struct {
	db    API
	table string
}

var (
	_ apikey.Store       = (*Store)(nil)
	_ apikey.PepperStore = (*Store)(nil)
)

// New returns a Store over the named table.
func New(db API, table string) *Store { return &Store{db: db, table: table} }

// Table returns the table name.
func (s *Store) Table() string { return s.table }

func keyOf(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: pk},
		"sk": &types.AttributeValueMemberS{Value: sk},
	}
}

// GetKey reads a key item and whether its tenant is suspended in one
// round trip: a consistent BatchGetItem of the key item and the copy of the
// suspended-tenants set its key ID hashes to. Returns apikey.ErrNotFound.
func (s *Store) GetKey(ctx context.Context, id string) (*apikey.StoredKey, error) {
	keyKey, setKey := keyOf(keyPK(id), skKey), keyOf(suspendedPK(suspendedShardOf(id)), skSuspended)
	req := map[string]types.KeysAndAttributes{s.table: {
		Keys: []map[string]types.AttributeValue{keyKey, setKey}, ConsistentRead: aws.Bool(true),
	}}
	var item map[string]types.AttributeValue
	var suspended []string
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt > 0 {
			if attempt > 4 {
				return nil, apikey.ErrUnavailable
			}
			if err := retry.Sleep(ctx, time.Duration(attempt)*10*time.Millisecond); err != nil {
				return nil, wrap(err, "get key %s", id)
			}
		}
		out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, wrap(err, "get key %s", id)
		}
		for _, raw := range out.Responses[s.table] {
			if sk, _ := raw["sk"].(*types.AttributeValueMemberS); sk != nil && sk.Value == skSuspended {
				if ss, ok := raw[attrSuspendedTenants].(*types.AttributeValueMemberSS); ok {
					suspended = ss.Value
				}
				continue
			}
			item = raw
		}
		req = out.UnprocessedKeys
	}
	if item == nil {
		return nil, apikey.ErrNotFound
	}
	var it keyItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return nil, fmt.Errorf("decode key %s: %w", id, err)
	}
	k := fromItem(&it)
	k.TenantSuspended = slices.Contains(suspended, k.TenantID)
	return k, nil
}

// CreateKey writes the key, its name claim and (for a default key) the
// tenant's default claim in one transaction. A retry of the transaction that
// fails its conditions after the first attempt committed (its answer was
// lost) is recognised by the write's own token and reported as success.
// Returns apikey.ErrNameTaken, apikey.ErrTenantExists, apikey.ErrConflict or
// apikey.ErrUnavailable.
func (s *Store) CreateKey(ctx context.Context, k *apikey.StoredKey) error {
	w, items, onFail, err := s.createItems(k)
	if err != nil {
		return err
	}
	return s.transact(ctx, w, items, onFail, "create key %s", k.ID)
}

// createItems is the transaction that creates k: the key item first, then
// the default claim (for a default key) and the name claim, with the domain
// error of each item's failed condition.
func (s *Store) createItems(k *apikey.StoredKey) (write, []types.TransactWriteItem, []error, error) {
	w := newWrite(k.ID)
	item, err := w.encode(k)
	if err != nil {
		return w, nil, nil, err
	}
	notExists := aws.String("attribute_not_exists(pk)")
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: notExists,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
	}
	onFail := []error{apikey.ErrConflict}
	if k.IsDefault {
		claim, err := s.claim(defaultPK(k.TenantID), skDefault, k)
		if err != nil {
			return w, nil, nil, err
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: claim, ConditionExpression: notExists}})
		onFail = append(onFail, apikey.ErrTenantExists)
	}
	claim, err := s.claim(namePK(k.TenantID, k.NameKey), skName, k)
	if err != nil {
		return w, nil, nil, err
	}
	items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: claim, ConditionExpression: notExists}})
	onFail = append(onFail, apikey.ErrNameTaken)
	return w, items, onFail, nil
}

func (s *Store) claim(pk, sk string, k *apikey.StoredKey) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMap(claimItem{PK: pk, SK: sk, KeyID: k.ID, TenantID: k.TenantID})
	if err != nil {
		return nil, fmt.Errorf("encode claim: %w", err)
	}
	return item, nil
}

// nameClaim is the claim a key holds: its name, while it is active.
func nameClaim(k *apikey.StoredKey) string {
	if k.Status != apikey.StatusActive {
		return ""
	}
	return namePK(k.TenantID, k.NameKey)
}

// UpdateKey replaces prev by next on the condition that the stored version is
// still prev.Version; when the name claim changes (rename, revoke) the new
// claim is taken and the old released in the same transaction. A retry that
// fails the condition after the first attempt committed (its answer was lost)
// is recognised by the write's own token and reported as success.
// Returns apikey.ErrConflict, apikey.ErrNameTaken or apikey.ErrUnavailable.
func (s *Store) UpdateKey(ctx context.Context, prev, next *apikey.StoredKey) error {
	w := newWrite(next.ID)
	item, err := w.encode(next)
	if err != nil {
		return err
	}
	cond := expression.Name("version").Equal(expression.Value(prev.Version))
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("build condition: %w", err)
	}
	put := &types.Put{
		TableName: &s.table, Item: item, ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	oldClaim, newClaim := nameClaim(prev), nameClaim(next)
	if oldClaim == newClaim {
		return s.put(ctx, w, &dynamodb.PutItemInput{
			TableName: put.TableName, Item: put.Item, ConditionExpression: put.ConditionExpression,
			ExpressionAttributeNames: put.ExpressionAttributeNames, ExpressionAttributeValues: put.ExpressionAttributeValues,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}, "update key %s", next.ID)
	}
	items := []types.TransactWriteItem{{Put: put}}
	onFail := []error{apikey.ErrConflict}
	if newClaim != "" {
		claim, err := s.claim(newClaim, skName, next)
		if err != nil {
			return err
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{
			TableName: &s.table, Item: claim, ConditionExpression: aws.String("attribute_not_exists(pk)"),
		}})
		onFail = append(onFail, apikey.ErrNameTaken)
	}
	if oldClaim != "" {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{
			TableName: &s.table, Key: keyOf(oldClaim, skName),
			ConditionExpression:       aws.String("keyId = :id"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":id": &types.AttributeValueMemberS{Value: prev.ID}},
		}})
		onFail = append(onFail, apikey.ErrConflict)
	}
	return s.transact(ctx, w, items, onFail, "update key %s", next.ID)
}

// write is one call of CreateKey or UpdateKey: the key it writes and a token
// unique to the call, stored in the key item with the write. The SDK retries
// a request whose answer was lost; when that retry fails the write's own
// condition, the token found in the item proves the first attempt committed.
// (A request ID would not do: a caller may repeat a request with the same one.)
type write struct {
	keyID string
	token string
}

func newWrite(keyID string) write { return write{keyID: keyID, token: rand.Text()} }

func (w write) encode(k *apikey.StoredKey) (map[string]types.AttributeValue, error) {
	if k.NameKey == "" {
		// The service sets it; without it the name index and claim would be wrong.
		return nil, fmt.Errorf("encode key %s: no NameKey", k.ID)
	}
	it := toItem(k)
	it.WriteID = w.token
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return item, nil
}

// Bounds of what a write does beyond the SDK's own retries.
const (
	// conflictAttempts bounds the attempts of a write DynamoDB cancels because
	// another transaction holds one of its items (nothing was written).
	conflictAttempts = 3
	// readBackTimeout bounds the read that settles a write whose outcome
	// is unknown; the request's own deadline may have passed.
	readBackTimeout = time.Second
)

// put makes a conditional PutItem of w's key item.
func (s *Store) put(ctx context.Context, w write, in *dynamodb.PutItemInput, format string, args ...any) error {
	for attempt := 1; ; attempt++ {
		_, err := s.db.PutItem(ctx, in)
		if err == nil {
			return nil
		}
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			ours, rerr := s.holds(ctx, w, ccf.Item)
			if rerr != nil {
				return wrap(rerr, format, args...)
			}
			if ours {
				return nil
			}
			return apikey.ErrConflict
		}
		if errorCode(err) == "TransactionConflictException" {
			if attempt < conflictAttempts && pause(ctx, attempt) == nil {
				continue
			}
			return s.settle(ctx, w, apikey.ErrUnavailable, format, args...)
		}
		return s.settle(ctx, w, err, format, args...)
	}
}

// transact runs a transaction whose first item is w's key item, onFail
// naming the domain error of each item's failed condition.
func (s *Store) transact(ctx context.Context, w write, items []types.TransactWriteItem, onFail []error, format string, args ...any) error {
	for attempt := 1; ; attempt++ {
		// The SDK gives each call a ClientRequestToken and keeps it across its
		// retries, so DynamoDB answers a retry of a committed call with success
		// for as long as it remembers the token; w's token covers the rest.
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			return nil
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return s.settle(ctx, w, err, format, args...)
		}
		reasons := tce.CancellationReasons
		if len(reasons) > 0 && aws.ToString(reasons[0].Code) == "ConditionalCheckFailed" {
			ours, rerr := s.holds(ctx, w, reasons[0].Item)
			if rerr != nil {
				return wrap(rerr, format, args...)
			}
			if ours {
				return nil // every item of the transaction committed with the key item
			}
		}
		if e := failedCondition(reasons, onFail); e != nil {
			return e
		}
		switch {
		case hasReason(reasons, "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"):
			return apikey.ErrUnavailable
		case hasReason(reasons, "TransactionConflict"):
			// A check held by another transaction is left to the caller,
			// which reads what was checked instead.
			if e := guardFailure(reasons, onFail, "TransactionConflict"); e != nil {
				return e
			}
			if attempt < conflictAttempts && pause(ctx, attempt) == nil {
				continue
			}
			return apikey.ErrUnavailable
		}
		return wrap(err, format, args...)
	}
}

// failedCondition maps a cancelled transaction to the domain error of the
// item whose condition failed: a guarded create's check of the caller or the
// policy first (nothing else counts once the create is judged again), then a
// claim's failure, which says more than the key item's version check.
func failedCondition(reasons []types.CancellationReason, onFail []error) error {
	if e := guardFailure(reasons, onFail, "ConditionalCheckFailed"); e != nil {
		return e
	}
	var found error
	for i, r := range reasons {
		if derefCode(r) == "ConditionalCheckFailed" && i < len(onFail) {
			if found == nil || found == apikey.ErrConflict {
				found = onFail[i]
			}
		}
	}
	return found
}

func derefCode(r types.CancellationReason) string { return aws.ToString(r.Code) }

func hasReason(reasons []types.CancellationReason, codes ...string) bool {
	for _, r := range reasons {
		if slices.Contains(codes, aws.ToString(r.Code)) {
			return true
		}
	}
	return false
}

// holds reports whether item, the key item a failed condition returned, holds
// w (its write committed earlier); with no item, it reads the key item.
func (s *Store) holds(ctx context.Context, w write, item map[string]types.AttributeValue) (bool, error) {
	if len(item) == 0 {
		var err error
		if item, err = s.readWriteID(ctx, w.keyID); err != nil {
			return false, fmt.Errorf("read back key %s: %w", w.keyID, err)
		}
	}
	var it struct {
		WriteID string `dynamodbav:"writeId"`
	}
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return false, fmt.Errorf("decode key %s: %w", w.keyID, err)
	}
	return it.WriteID == w.token, nil
}

// settle decides a write that failed without a definite answer (a lost
// response, a timeout, throttling after attempts that may have been
// processed): one consistent read, within its own short deadline, finds
// whether it committed. If it did, the write succeeded; else (or if the read
// fails too) err stands.
func (s *Store) settle(ctx context.Context, w write, err error, format string, args ...any) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readBackTimeout)
	defer cancel()
	item, rerr := s.readWriteID(rctx, w.keyID, func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
	if rerr == nil && len(item) > 0 {
		if ours, _ := s.holds(rctx, w, item); ours {
			return nil
		}
	}
	return wrap(err, format, args...)
}

// readWriteID reads the token of the write that made a key item's current
// version (consistent read; nil for no item).
func (s *Store) readWriteID(ctx context.Context, keyID string, opts ...func(*dynamodb.Options)) (map[string]types.AttributeValue, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: keyOf(keyPK(keyID), skKey), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("writeId"),
	}, opts...)
	if err != nil {
		return nil, err
	}
	return out.Item, nil
}

// pause waits before another attempt of a write DynamoDB cancelled for a
// conflict with another transaction.
func pause(ctx context.Context, attempt int) error {
	return retry.Sleep(ctx, time.Duration(attempt)*25*time.Millisecond)
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// wrap adds context to an AWS error; throttling becomes unavailable (503).
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if _, ok := apikey.AsError(err); ok {
		return err
	}
	switch errorCode(err) {
	case "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded":
		return apikey.ErrUnavailable
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// maxListReads bounds the DynamoDB pages one list call reads while filters
// discard items, so a rare filter costs a short page, not a long scan.
const maxListReads = 10

type listToken map[string]string

// ListKeys serves GET /v1/keys: Query byTenant (newest first) or byName (name
// prefix), with status and type as filters. Never a Scan.
func (s *Store) ListKeys(ctx context.Context, q apikey.ListQuery) ([]*apikey.StoredKey, string, error) {
	var keyCond expression.KeyConditionBuilder
	index, forward := indexByTenant, false
	if q.NamePrefix != "" {
		index, forward = indexByName, true
		keyCond = expression.Key("gsi2pk").Equal(expression.Value(tenantPK(q.TenantID))).
			And(expression.Key("gsi2sk").BeginsWith(q.NamePrefix))
	} else {
		keyCond = expression.Key("gsi1pk").Equal(expression.Value(tenantPK(q.TenantID)))
	}
	b := expression.NewBuilder().WithKeyCondition(keyCond)
	filtered := false
	if f, ok := filterFor(q); ok {
		b = b.WithFilter(f)
		filtered = true
	}
	expr, err := b.Build()
	if err != nil {
		return nil, "", fmt.Errorf("build list query: %w", err)
	}
	var start map[string]types.AttributeValue
	if q.After != "" {
		var tok listToken
		if err := json.Unmarshal([]byte(q.After), &tok); err != nil || len(tok) == 0 {
			return nil, "", apikey.Invalid("cursor", "is not valid")
		}
		start = make(map[string]types.AttributeValue, len(tok))
		for k, v := range tok {
			start[k] = &types.AttributeValueMemberS{Value: v}
		}
	}
	var out []*apikey.StoredKey
	var last *keyItem
	for reads := 0; ; reads++ {
		want := int32(q.Limit - len(out))
		if filtered {
			want = max(want*2, 25)
		}
		res, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName: &s.table, IndexName: aws.String(index),
			KeyConditionExpression: expr.KeyCondition(), FilterExpression: expr.Filter(),
			ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
			ScanIndexForward: aws.Bool(forward), Limit: aws.Int32(want), ExclusiveStartKey: start,
		})
		if err != nil {
			return nil, "", wrap(err, "list keys of %s", q.TenantID)
		}
		for i, raw := range res.Items {
			var it keyItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return nil, "", fmt.Errorf("decode listed key: %w", err)
			}
			out = append(out, fromItem(&it))
			last = &it
			if len(out) == q.Limit {
				if i < len(res.Items)-1 || res.LastEvaluatedKey != nil {
					return out, tokenAfter(last, index), nil
				}
				return out, "", nil
			}
		}
		if res.LastEvaluatedKey == nil {
			return out, "", nil
		}
		start = res.LastEvaluatedKey
		if reads+1 >= maxListReads {
			return out, tokenFrom(start), nil
		}
	}
}

// tokenAfter is the ExclusiveStartKey that resumes right after it.
func tokenAfter(it *keyItem, index string) string {
	tok := listToken{"pk": it.PK, "sk": it.SK}
	if index == indexByName {
		tok["gsi2pk"], tok["gsi2sk"] = it.GSI2PK, it.GSI2SK
	} else {
		tok["gsi1pk"], tok["gsi1sk"] = it.GSI1PK, it.GSI1SK
	}
	b, _ := json.Marshal(tok)
	return string(b)
}

func tokenFrom(lek map[string]types.AttributeValue) string {
	tok := listToken{}
	for k, v := range lek {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			tok[k] = s.Value
		}
	}
	b, _ := json.Marshal(tok)
	return string(b)
}

func filterFor(q apikey.ListQuery) (expression.ConditionBuilder, bool) {
	var conds []expression.ConditionBuilder
	now := expression.Value(fmtTime(q.Now))
	switch q.Status {
	case apikey.StatusActive:
		conds = append(conds, expression.Name("status").Equal(expression.Value(string(apikey.StatusActive))),
			expression.Or(expression.AttributeNotExists(expression.Name("expiresAt")),
				expression.Name("expiresAt").GreaterThan(now)))
	case apikey.StatusExpired:
		conds = append(conds, expression.Name("status").Equal(expression.Value(string(apikey.StatusActive))),
			expression.Name("expiresAt").LessThanEqual(now))
	case apikey.StatusRevoked:
		conds = append(conds, expression.Name("status").Equal(expression.Value(string(apikey.StatusRevoked))))
	}
	if q.Type != "" {
		conds = append(conds, expression.Name("type").Equal(expression.Value(q.Type)))
	}
	switch len(conds) {
	case 0:
		return expression.ConditionBuilder{}, false
	case 1:
		return conds[0], true
	}
	return expression.And(conds[0], conds[1], conds[2:]...), true
}

// LastUsed reads the usage items of the given keys with BatchGetItem.
func (s *Store) LastUsed(ctx context.Context, ids []string) (map[string]time.Time, error) {
	out := make(map[string]time.Time, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), 100)
		keys := make([]map[string]types.AttributeValue, 0, n)
		for _, id := range ids[:n] {
			keys = append(keys, keyOf(keyPK(id), skUsage))
		}
		ids = ids[n:]
		req := map[string]types.KeysAndAttributes{s.table: {Keys: keys}}
		for attempt := 0; len(req) > 0; attempt++ {
			if attempt > 0 {
				if err := retry.Sleep(ctx, time.Duration(attempt)*20*time.Millisecond); err != nil {
					return nil, err
				}
			}
			if attempt > 8 {
				return nil, apikey.ErrUnavailable
			}
			res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, wrap(err, "read usage")
			}
			for _, raw := range res.Responses[s.table] {
				var u usageItem
				if err := attributevalue.UnmarshalMap(raw, &u); err != nil {
					return nil, fmt.Errorf("decode usage: %w", err)
				}
				if t := parseTime(u.LastUsedAt); !t.IsZero() && len(u.PK) > 4 {
					out[u.PK[len("KEY#"):]] = t
				}
			}
			req = res.UnprocessedKeys
		}
	}
	return out, nil
}

// TouchLastUsed records that a key was used at, unless it was recorded less
// than minInterval before (one conditional write to the key's usage item,
// never the key item). It returns whether it wrote.
func (s *Store) TouchLastUsed(ctx context.Context, id string, at time.Time, minInterval time.Duration) (bool, error) {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: keyOf(keyPK(id), skUsage),
		UpdateExpression:         aws.String("SET #u = :at"),
		ConditionExpression:      aws.String("attribute_not_exists(#u) OR #u < :before"),
		ExpressionAttributeNames: map[string]string{"#u": "lastUsedAt"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":at":     &types.AttributeValueMemberS{Value: fmtTime(at)},
			":before": &types.AttributeValueMemberS{Value: fmtTime(at.Add(-minInterval))},
		},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, wrap(err, "touch key %s", id)
	}
	return true, nil
}

// ListPeppers returns the stored pepper versions, oldest first.
func (s *Store) ListPeppers(ctx context.Context) ([]apikey.PepperRecord, error) {
	res, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: &s.table, ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pkPepper}},
	})
	if err != nil {
		return nil, wrap(err, "list peppers")
	}
	out := make([]apikey.PepperRecord, 0, len(res.Items))
	for _, raw := range res.Items {
		var p pepperItem
		if err := attributevalue.UnmarshalMap(raw, &p); err != nil {
			return nil, fmt.Errorf("decode pepper: %w", err)
		}
		out = append(out, apikey.PepperRecord{Version: p.Version, Ciphertext: p.Ciphertext, KMSKeyID: p.KMSKeyID, CreatedAt: parseTime(p.CreatedAt)})
	}
	return out, nil
}

// PutPepper stores a pepper version's ciphertext unless the version exists
// (apikey.ErrConflict).
func (s *Store) PutPepper(ctx context.Context, rec apikey.PepperRecord) error {
	item, err := attributevalue.MarshalMap(pepperItem{
		PK: pkPepper, SK: pepperSK(rec.Version), Version: rec.Version,
		Ciphertext: rec.Ciphertext, KMSKeyID: rec.KMSKeyID, CreatedAt: fmtTime(rec.CreatedAt),
	})
	if err != nil {
		return fmt.Errorf("encode pepper: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return apikey.ErrConflict
	}
	return wrap(err, "put pepper v%d", rec.Version)
}
