package ddblocal

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// indexUpdater is a TablesAPI that can also add indexes (*dynamodb.Client).
type indexUpdater interface {
	UpdateTable(ctx context.Context, in *dynamodb.UpdateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTableOutput, error)
}

// addMissingIndexes adds to an existing table the global secondary indexes
// the template declares and the table lacks (a data directory made before
// the template gained them), one UpdateTable each, waiting for each to be
// ACTIVE. Other schema differences are left alone.
func addMissingIndexes(ctx context.Context, client TablesAPI, in *dynamodb.CreateTableInput) error {
	up, ok := client.(indexUpdater)
	if !ok || len(in.GlobalSecondaryIndexes) == 0 {
		return nil
	}
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName})
	if err != nil {
		return fmt.Errorf("describe: %w", err)
	}
	have := map[string]bool{}
	for _, g := range out.Table.GlobalSecondaryIndexes {
		have[aws.ToString(g.IndexName)] = true
	}
	attrs := map[string]types.AttributeDefinition{}
	for _, a := range in.AttributeDefinitions {
		attrs[aws.ToString(a.AttributeName)] = a
	}
	for _, g := range in.GlobalSecondaryIndexes {
		if have[aws.ToString(g.IndexName)] {
			continue
		}
		var defs []types.AttributeDefinition
		for _, k := range g.KeySchema {
			defs = append(defs, attrs[aws.ToString(k.AttributeName)])
		}
		if _, err := up.UpdateTable(ctx, &dynamodb.UpdateTableInput{
			TableName: in.TableName, AttributeDefinitions: defs,
			GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Create: &types.CreateGlobalSecondaryIndexAction{
				IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection, ProvisionedThroughput: g.ProvisionedThroughput,
			}}},
		}); err != nil {
			return fmt.Errorf("add index %s: %w", aws.ToString(g.IndexName), err)
		}
		if err := waitActive(ctx, client, aws.ToString(in.TableName)); err != nil {
			return err
		}
	}
	return nil
}
