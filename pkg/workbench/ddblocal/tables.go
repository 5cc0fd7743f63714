package ddblocal

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keyward/keyward/pkg/workbench/samtemplate"
)

// TablesAPI is the part of the DynamoDB API CreateTables uses;
// *dynamodb.Client implements it.
type TablesAPI interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	DescribeTimeToLive(ctx context.Context, in *dynamodb.DescribeTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

var _ TablesAPI = (*dynamodb.Client)(nil)

// tableWaitLimit bounds the wait for a table to become ACTIVE when ctx has
// no deadline of its own.
const tableWaitLimit = time.Minute

// CreateTables creates every AWS::DynamoDB::Table of tmpl (see
// samtemplate.Template.DynamoDBTables for what is applied), enables the TTL
// its TimeToLiveSpecification names, waits until each table and its indexes
// are ACTIVE, and returns the table names keyed by logical ID.
//
// nameFor names tables whose TableName is not a plain string; nil names them
// after their logical IDs. Parameters take the template's defaults.
//
// CreateTables is idempotent: a table that already exists is kept as it is
// (its schema is not compared), except that global secondary indexes the
// template added since are created; TTL already enabled is left alone.
func CreateTables(ctx context.Context, client TablesAPI, tmpl *samtemplate.Template, nameFor func(logicalID string) string) (map[string]string, error) {
	var opts []samtemplate.TableOption
	if nameFor != nil {
		opts = append(opts, samtemplate.WithTableNames(nameFor))
	}
	inputs, err := tmpl.DynamoDBTables(nil, opts...)
	if err != nil {
		return nil, fmt.Errorf("ddblocal: %w", err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, tableWaitLimit)
		defer cancel()
	}

	ids := make([]string, 0, len(inputs))
	for id := range inputs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	names := make(map[string]string, len(ids))
	for _, id := range ids {
		in := inputs[id]
		name := aws.ToString(in.TableName)
		if _, err := client.CreateTable(ctx, in); err != nil {
			var inUse *types.ResourceInUseException
			if !errors.As(err, &inUse) {
				return nil, fmt.Errorf("ddblocal: create table %s (%s): %w", name, id, err)
			}
			if err := addMissingIndexes(ctx, client, in); err != nil {
				return nil, fmt.Errorf("ddblocal: table %s (%s): %w", name, id, err)
			}
		}
		if err := waitActive(ctx, client, name); err != nil {
			return nil, fmt.Errorf("ddblocal: table %s (%s): %w", name, id, err)
		}
		attr, enabled, err := tmpl.TTLAttribute(id, nil)
		if err != nil {
			return nil, fmt.Errorf("ddblocal: %w", err)
		}
		if enabled {
			if err := enableTTL(ctx, client, name, attr); err != nil {
				return nil, fmt.Errorf("ddblocal: table %s (%s): %w", name, id, err)
			}
		}
		names[id] = name
	}
	return names, nil
}

// waitActive polls DescribeTable until the table and all its global
// secondary indexes are ACTIVE. DynamoDB Local creates them ACTIVE unless
// started with -delayTransientStatuses, so this normally returns at once.
func waitActive(ctx context.Context, client TablesAPI, name string) error {
	delay := 20 * time.Millisecond
	for {
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			return fmt.Errorf("describe: %w", err)
		}
		if active(out.Table) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ACTIVE (status %s): %w", out.Table.TableStatus, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}

func active(t *types.TableDescription) bool {
	if t == nil || t.TableStatus != types.TableStatusActive {
		return false
	}
	for _, g := range t.GlobalSecondaryIndexes {
		if g.IndexStatus != types.IndexStatusActive {
			return false
		}
	}
	return true
}

// enableTTL turns on TTL for attr unless it already is (DynamoDB refuses to
// enable it twice).
func enableTTL(ctx context.Context, client TablesAPI, name, attr string) error {
	cur, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("describe TTL: %w", err)
	}
	if d := cur.TimeToLiveDescription; d != nil && aws.ToString(d.AttributeName) == attr &&
		(d.TimeToLiveStatus == types.TimeToLiveStatusEnabled || d.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
		return nil
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(attr), Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("enable TTL on %s: %w", attr, err)
	}
	return nil
}
