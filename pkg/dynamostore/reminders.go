package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyward/keyward/pkg/apikey"
)

// DueKey is a key as the reminders job reads it from a schedule index.
type DueKey struct {
	ID          string
	TenantID    string
	Name        string
	Status      apikey.Status
	CreatedAt   time.Time
	ExpiresAt   *time.Time
	IdleCheckAt time.Time
}

// dueItem is what the schedule indexes project.
type dueItem struct {
	ID        string `dynamodbav:"id"`
	TenantID  string `dynamodbav:"tenantId"`
	Name      string `dynamodbav:"name"`
	Status    string `dynamodbav:"status"`
	CreatedAt string `dynamodbav:"createdAt"`
	ExpiresAt string `dynamodbav:"expiresAt"`
	IdlePK    string `dynamodbav:"idlePk"`
}

// ExpiringOn returns the active keys whose expiry falls on day (UTC), with
// expiresAt at or before until: Query byExpiry, one partition per day.
func (s *Store) ExpiringOn(ctx context.Context, day, until time.Time) ([]DueKey, error) {
	return s.queryDue(ctx, indexByExpiry, "expPk = :pk AND expSk <= :until", map[string]types.AttributeValue{
		":pk":    &types.AttributeValueMemberS{Value: expiryPK(day)},
		":until": &types.AttributeValueMemberS{Value: fmtTime(until) + "#~"},
	})
}

// IdleCheckOn returns the active keys due for a disuse check on day: Query
// byIdle, one partition per day.
func (s *Store) IdleCheckOn(ctx context.Context, day time.Time) ([]DueKey, error) {
	return s.queryDue(ctx, indexByIdle, "idlePk = :pk", map[string]types.AttributeValue{
		":pk": &types.AttributeValueMemberS{Value: idlePK(day)},
	})
}

func (s *Store) queryDue(ctx context.Context, index, cond string, values map[string]types.AttributeValue) ([]DueKey, error) {
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: &s.table, IndexName: aws.String(index),
		KeyConditionExpression: aws.String(cond), ExpressionAttributeValues: values,
	})
	var out []DueKey
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap(err, "query %s", index)
		}
		var items []dueItem
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &items); err != nil {
			return nil, fmt.Errorf("decode %s: %w", index, err)
		}
		for _, it := range items {
			d := DueKey{ID: it.ID, TenantID: it.TenantID, Name: it.Name, Status: apikey.Status(it.Status),
				CreatedAt: parseTime(it.CreatedAt), ExpiresAt: parseTimePtr(it.ExpiresAt)}
			if t, err := time.Parse(dayLayout, it.IdlePK[min(len(it.IdlePK), len(idlePrefix)):]); err == nil {
				d.IdleCheckAt = t
			}
			out = append(out, d)
		}
	}
	return out, nil
}

// RescheduleIdleCheck moves a key's next disuse check from the day it is
// scheduled on to at, or takes the key off the schedule when at is zero.
// A key whose schedule moved meanwhile (or that is gone) is left alone.
func (s *Store) RescheduleIdleCheck(ctx context.Context, id string, from, at time.Time) error {
	in := &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: keyOf(keyPK(id), skKey),
		ConditionExpression:       aws.String("idlePk = :from"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":from": &types.AttributeValueMemberS{Value: idlePK(from)}},
	}
	if at.IsZero() {
		in.UpdateExpression = aws.String("REMOVE idlePk, idleSk")
	} else {
		in.UpdateExpression = aws.String("SET idlePk = :to")
		in.ExpressionAttributeValues[":to"] = &types.AttributeValueMemberS{Value: idlePK(at)}
	}
	_, err := s.db.UpdateItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil
	}
	return wrap(err, "reschedule key %s", id)
}

// MarkReminder records that a reminder (its marker: type, threshold and
// reference time) was sent for a key, unless it was; it reports whether it
// recorded it. Markers expire with DynamoDB TTL after keep.
func (s *Store) MarkReminder(ctx context.Context, id, marker string, now time.Time, keep time.Duration) (bool, error) {
	item := keyOf(remindPK(id), marker)
	item["ttl"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(keep).Unix(), 10)}
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, wrap(err, "mark reminder of %s", id)
	}
	return true, nil
}

// UnmarkReminder forgets a marker whose event could not be published, so
// the next run sends it again.
func (s *Store) UnmarkReminder(ctx context.Context, id, marker string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: keyOf(remindPK(id), marker)})
	return wrap(err, "unmark reminder of %s", id)
}
