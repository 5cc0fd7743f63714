package dynamostore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyward/keyward/pkg/apikey"
)

// A tenant's key policy: pk=POLICY#<tenant>, sk=POLICY, the policy as JSON
// text, its version and the write (actor, request ID, source IP). Read with
// one consistent GetItem; written only over the version it replaces.
const skPolicy = "POLICY"

func policyPK(tenant string) string { return "POLICY#" + tenant }

var _ apikey.PolicyStore = (*Store)(nil)

// GetPolicy returns the tenant's policy, apikey.DefaultPolicy when none is stored.
func (s *Store) GetPolicy(ctx context.Context, tenant string) (apikey.Policy, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: keyOf(policyPK(tenant), skPolicy), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return apikey.Policy{}, wrap(err, "get policy of %s", tenant)
	}
	if out.Item == nil {
		return apikey.DefaultPolicy(), nil
	}
	doc, ok := out.Item["policy"].(*types.AttributeValueMemberS)
	if !ok {
		return apikey.Policy{}, fmt.Errorf("policy of %s: no policy attribute", tenant)
	}
	var p apikey.Policy
	if err := json.Unmarshal([]byte(doc.Value), &p); err != nil {
		return apikey.Policy{}, fmt.Errorf("decode policy of %s: %w", tenant, err)
	}
	return p, nil
}

// PutPolicy writes p as version p.Version over version p.Version-1 (or over
// nothing for version 1). Returns apikey.ErrConflict when another write came
// first.
func (s *Store) PutPolicy(ctx context.Context, tenant string, p apikey.Policy, ch apikey.Change) error {
	doc, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode policy: %w", err)
	}
	item := keyOf(policyPK(tenant), skPolicy)
	item["tenantId"] = &types.AttributeValueMemberS{Value: tenant}
	item["policy"] = &types.AttributeValueMemberS{Value: string(doc)}
	item["version"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(p.Version, 10)}
	item["updatedBy"] = &types.AttributeValueMemberS{Value: ch.Actor}
	for k, v := range map[string]string{"requestId": ch.RequestID, "sourceIp": ch.SourceIP} {
		if v != "" {
			item[k] = &types.AttributeValueMemberS{Value: v}
		}
	}
	in := &dynamodb.PutItemInput{TableName: &s.table, Item: item}
	if p.Version <= 1 {
		in.ConditionExpression = aws.String("attribute_not_exists(pk)")
	} else {
		in.ConditionExpression = aws.String("version = :prev")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{
			":prev": &types.AttributeValueMemberN{Value: strconv.FormatInt(p.Version-1, 10)},
		}
	}
	_, err = s.db.PutItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return apikey.ErrConflict
	}
	return wrap(err, "put policy of %s", tenant)
}
