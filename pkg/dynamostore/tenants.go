package dynamostore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyward/keyward/pkg/apikey"
)

var _ apikey.TenantStore = (*Store)(nil)

// attrSuspendedTenants is the string set, in each copy of the
// suspended-tenants set, of the tenants that are suspended.
const attrSuspendedTenants = "tenants"

// tenantItem is a tenant as stored (pk=TENANT#<id>, sk=TENANT), listed in
// byTenant under gsi1pk=TENANTS by creation time.
type tenantItem struct {
	PK     string `dynamodbav:"pk"`
	SK     string `dynamodbav:"sk"`
	GSI1PK string `dynamodbav:"gsi1pk"`
	GSI1SK string `dynamodbav:"gsi1sk"`

	ID             string `dynamodbav:"id"`
	Name           string `dynamodbav:"name"`
	Status         string `dynamodbav:"status"`
	IsOperator     bool   `dynamodbav:"isOperator"`
	DefaultKeyID   string `dynamodbav:"defaultKeyId"`
	CreatedAt      string `dynamodbav:"createdAt"`
	CreatedBy      string `dynamodbav:"createdBy"`
	CreatedByKeyID string `dynamodbav:"createdByKeyId,omitempty"`
	UpdatedAt      string `dynamodbav:"updatedAt"`
	UpdatedBy      string `dynamodbav:"updatedBy"`
	UpdatedByKeyID string `dynamodbav:"updatedByKeyId,omitempty"`
	SuspendedAt    string `dynamodbav:"suspendedAt,omitempty"`
	Version        int64  `dynamodbav:"version"`
}

func toTenantItem(t *apikey.Tenant) tenantItem {
	return tenantItem{
		PK: tenantPK(t.ID), SK: skTenant, GSI1PK: gsiTenants, GSI1SK: fmtTime(t.CreatedAt) + "#" + t.ID,
		ID: t.ID, Name: t.Name, Status: string(t.Status), IsOperator: t.IsOperator, DefaultKeyID: t.DefaultKeyID,
		CreatedAt: fmtTime(t.CreatedAt), CreatedBy: t.CreatedBy, CreatedByKeyID: t.CreatedByKeyID,
		UpdatedAt: fmtTime(t.UpdatedAt), UpdatedBy: t.UpdatedBy, UpdatedByKeyID: t.UpdatedByKeyID,
		SuspendedAt: fmtTimePtr(t.SuspendedAt), Version: t.Version,
	}
}

func fromTenantItem(it *tenantItem) *apikey.Tenant {
	return &apikey.Tenant{
		ID: it.ID, Name: it.Name, Status: apikey.TenantStatus(it.Status), IsOperator: it.IsOperator, DefaultKeyID: it.DefaultKeyID,
		CreatedAt: parseTime(it.CreatedAt), CreatedBy: it.CreatedBy, CreatedByKeyID: it.CreatedByKeyID,
		UpdatedAt: parseTime(it.UpdatedAt), UpdatedBy: it.UpdatedBy, UpdatedByKeyID: it.UpdatedByKeyID,
		SuspendedAt: parseTimePtr(it.SuspendedAt), Version: it.Version,
	}
}

// CreateTenant writes the tenant item with its default key, the key's
// default and name claims in one transaction. Returns apikey.ErrTenantExists.
func (s *Store) CreateTenant(ctx context.Context, t *apikey.Tenant, k *apikey.StoredKey) error {
	w, items, onFail, err := s.createItems(k)
	if err != nil {
		return err
	}
	item, err := attributevalue.MarshalMap(toTenantItem(t))
	if err != nil {
		return fmt.Errorf("encode tenant: %w", err)
	}
	items = append(items, types.TransactWriteItem{Put: &types.Put{
		TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}})
	onFail = append(onFail, apikey.ErrTenantExists)
	return s.transact(ctx, w, items, onFail, "create tenant %s", t.ID)
}

// GetTenant reads a tenant item (consistent). Returns apikey.ErrTenantNotFound.
func (s *Store) GetTenant(ctx context.Context, id string) (*apikey.Tenant, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: keyOf(tenantPK(id), skTenant), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, wrap(err, "get tenant %s", id)
	}
	if out.Item == nil {
		return nil, apikey.ErrTenantNotFound
	}
	var it tenantItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return nil, fmt.Errorf("decode tenant %s: %w", id, err)
	}
	return fromTenantItem(&it), nil
}

// ListTenants serves GET /v1/tenants: Query byTenant gsi1pk=TENANTS, newest
// first. Never a Scan.
func (s *Store) ListTenants(ctx context.Context, limit int, after string) ([]*apikey.Tenant, string, error) {
	in := &dynamodb.QueryInput{
		TableName: &s.table, IndexName: aws.String(indexByTenant),
		KeyConditionExpression:    aws.String("gsi1pk = :t"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberS{Value: gsiTenants}},
		ScanIndexForward:          aws.Bool(false), Limit: aws.Int32(int32(limit)),
	}
	if after != "" {
		var tok listToken
		if err := json.Unmarshal([]byte(after), &tok); err != nil || len(tok) == 0 {
			return nil, "", apikey.Invalid("cursor", "is not valid")
		}
		in.ExclusiveStartKey = map[string]types.AttributeValue{}
		for k, v := range tok {
			in.ExclusiveStartKey[k] = &types.AttributeValueMemberS{Value: v}
		}
	}
	res, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, "", wrap(err, "list tenants")
	}
	out := make([]*apikey.Tenant, 0, len(res.Items))
	for _, raw := range res.Items {
		var it tenantItem
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return nil, "", fmt.Errorf("decode listed tenant: %w", err)
		}
		out = append(out, fromTenantItem(&it))
	}
	next := ""
	if res.LastEvaluatedKey != nil {
		next = tokenFrom(res.LastEvaluatedKey)
	}
	return out, next, nil
}

// SetTenantStatus writes next over prev (condition: the stored version is
// prev's) and adds the tenant to, or removes it from, every copy of the
// suspended-tenants set, in one transaction: from its commit every key of a
// suspended tenant is refused, and no key item is touched.
// Returns apikey.ErrConflict or apikey.ErrUnavailable.
func (s *Store) SetTenantStatus(ctx context.Context, prev, next *apikey.Tenant) error {
	item, err := attributevalue.MarshalMap(toTenantItem(next))
	if err != nil {
		return fmt.Errorf("encode tenant: %w", err)
	}
	items := []types.TransactWriteItem{{Put: &types.Put{
		TableName: &s.table, Item: item, ConditionExpression: aws.String("version = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(prev.Version, 10)}},
	}}}
	op := "DELETE"
	if next.Status == apikey.TenantSuspended {
		op = "ADD"
	}
	for shard := range suspendedShards {
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName: &s.table, Key: keyOf(suspendedPK(shard), skSuspended),
			UpdateExpression:          aws.String(op + " #t :t"),
			ExpressionAttributeNames:  map[string]string{"#t": attrSuspendedTenants},
			ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberSS{Value: []string{next.ID}}},
		}})
	}
	for attempt := 1; ; attempt++ {
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			return nil
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return wrap(err, "set tenant %s status", next.ID)
		}
		switch {
		case hasReason(tce.CancellationReasons, "ConditionalCheckFailed"):
			return apikey.ErrConflict
		case hasReason(tce.CancellationReasons, "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"):
			return apikey.ErrUnavailable
		case hasReason(tce.CancellationReasons, "TransactionConflict") && attempt < conflictAttempts && pause(ctx, attempt) == nil:
			continue
		case hasReason(tce.CancellationReasons, "TransactionConflict"):
			return apikey.ErrUnavailable
		}
		return wrap(err, "set tenant %s status", next.ID)
	}
}

// DefaultKeyID reads the tenant's default claim. Returns apikey.ErrTenantNotFound.
func (s *Store) DefaultKeyID(ctx context.Context, tenant string) (string, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: keyOf(defaultPK(tenant), skDefault), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return "", wrap(err, "get default claim of %s", tenant)
	}
	var c claimItem
	if out.Item != nil {
		if err := attributevalue.UnmarshalMap(out.Item, &c); err != nil {
			return "", fmt.Errorf("decode default claim of %s: %w", tenant, err)
		}
	}
	if c.KeyID == "" {
		return "", apikey.ErrTenantNotFound
	}
	return c.KeyID, nil
}

// PutTenant writes a tenant item on its own (a tenant whose default key
// exists already). Returns apikey.ErrTenantExists.
func (s *Store) PutTenant(ctx context.Context, t *apikey.Tenant) error {
	item, err := attributevalue.MarshalMap(toTenantItem(t))
	if err != nil {
		return fmt.Errorf("encode tenant: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return apikey.ErrTenantExists
	}
	return wrap(err, "put tenant %s", t.ID)
}
