package dynamostore

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyward/keyward/pkg/apikey"
)

var _ apikey.GuardedStore = (*Store)(nil)

// CreateKeyGuarded is CreateKey with condition checks in the same
// transaction: the calling key's item (active, unexpired, in its own tenant
// and as the create judged it), the copy of the suspended-tenants set the
// calling key reads (its tenant not in it) and, when policy is not nil, the
// tenant's policy item (at the version the create applied). A check that
// fails, or whose item another transaction holds, is apikey.ErrCallerChanged
// or apikey.ErrPolicyChanged, whatever else failed.
func (s *Store) CreateKeyGuarded(ctx context.Context, k *apikey.StoredKey, caller apikey.CallerCheck, policy *apikey.PolicyCheck) error {
	w, items, onFail, err := s.createItems(k)
	if err != nil {
		return err
	}
	checks, err := s.callerChecks(caller)
	if err != nil {
		return err
	}
	items = append(items, checks...)
	onFail = append(onFail, apikey.ErrCallerChanged, apikey.ErrCallerChanged)
	if policy != nil {
		check, err := s.policyCheck(*policy)
		if err != nil {
			return err
		}
		items = append(items, check)
		onFail = append(onFail, apikey.ErrPolicyChanged)
	}
	return s.transact(ctx, w, items, onFail, "create key %s", k.ID)
}

// callerChecks are the checks of the calling key's item and of its copy of
// the suspended-tenants set.
func (s *Store) callerChecks(c apikey.CallerCheck) ([]types.TransactWriteItem, error) {
	key, err := s.conditionCheck(keyOf(keyPK(c.KeyID), skKey), callerCondition(c))
	if err != nil {
		return nil, err
	}
	set := expression.Name(attrSuspendedTenants)
	notSuspended := expression.Or(expression.AttributeNotExists(set), expression.Not(expression.Contains(set, c.TenantID)))
	susp, err := s.conditionCheck(keyOf(suspendedPK(suspendedShardOf(c.KeyID)), skSuspended), notSuspended)
	if err != nil {
		return nil, err
	}
	return []types.TransactWriteItem{key, susp}, nil
}

// callerCondition holds when the calling key is active at c.At in its own
// tenant and, as the create judged it, at c.Version, or else holding c.Scopes,
// expiring no earlier than c.Until and without an allow-list. (Times are
// fixed-width strings, so they compare as strings.)
func callerCondition(c apikey.CallerCheck) expression.ConditionBuilder {
	expiresAt := expression.Name("expiresAt")
	noExpiry := expression.AttributeNotExists(expiresAt)
	cond := expression.And(
		expression.Name("tenantId").Equal(expression.Value(c.TenantID)),
		expression.Name("status").Equal(expression.Value(string(apikey.StatusActive))),
		expression.Or(noExpiry, expiresAt.GreaterThan(expression.Value(fmtTime(c.At)))))
	if c.Version != 0 {
		return cond.And(expression.Name("version").Equal(expression.Value(c.Version)))
	}
	until := noExpiry
	if c.Until != nil {
		until = expression.Or(noExpiry, expiresAt.GreaterThanEqual(expression.Value(fmtTime(*c.Until))))
	}
	cond = cond.And(until,
		expression.Size(expression.Name("allowIps")).Equal(expression.Value(0)),
		expression.Size(expression.Name("allowOrigins")).Equal(expression.Value(0)))
	for _, sc := range c.Scopes {
		cond = cond.And(expression.Contains(expression.Name("scopes"), sc))
	}
	return cond
}

// policyCheck holds when the tenant's policy item is at p.Version (0: there
// is none).
func (s *Store) policyCheck(p apikey.PolicyCheck) (types.TransactWriteItem, error) {
	cond := expression.AttributeNotExists(expression.Name("pk"))
	if p.Version != 0 {
		cond = expression.Name("version").Equal(expression.Value(p.Version))
	}
	return s.conditionCheck(keyOf(policyPK(p.TenantID), skPolicy), cond)
}

func (s *Store) conditionCheck(key map[string]types.AttributeValue, cond expression.ConditionBuilder) (types.TransactWriteItem, error) {
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("build condition check: %w", err)
	}
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName: &s.table, Key: key, ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}}, nil
}

// guardFailure is the check failure (apikey.ErrCallerChanged or
// apikey.ErrPolicyChanged) among items cancelled with code, nil if none.
func guardFailure(reasons []types.CancellationReason, onFail []error, code string) error {
	for i, r := range reasons {
		if i < len(onFail) && derefCode(r) == code && (onFail[i] == apikey.ErrCallerChanged || onFail[i] == apikey.ErrPolicyChanged) {
			return onFail[i]
		}
	}
	return nil
}
